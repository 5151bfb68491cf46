"""``WWW-Authenticate`` challenges (RFC 7235) as registries send them.

``Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"``
or ``Basic realm="Registry Realm"``.
"""

from __future__ import annotations

import re

from promoter.structs import field, struct

__all__ = ["Challenge", "parse_challenge"]

#: A pattern's text: ``re`` compiles it at first use and keeps it (most runs never use it).
_PARAM = r'\s*([A-Za-z0-9_.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)\s*,?'


@struct(frozen=True)
class Challenge:
    """One authentication challenge: its scheme (lowercase) and parameters."""

    scheme: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def realm(self) -> str | None:
        return self.params.get("realm")

    @property
    def service(self) -> str | None:
        return self.params.get("service")

    @property
    def scopes(self) -> tuple[str, ...]:
        """Scopes the registry asked for (space-separated in the ``scope`` parameter)."""
        return tuple(self.params.get("scope", "").split())

    @property
    def insufficient_scope(self) -> bool:
        return self.params.get("error") == "insufficient_scope"


def parse_challenge(header: str | None) -> Challenge | None:
    """Parse the first challenge of a ``WWW-Authenticate`` header; None if absent or garbled."""
    if not header or not header.strip():
        return None
    scheme, _, rest = header.strip().partition(" ")
    if not scheme or "=" in scheme:
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = re.compile(_PARAM).match(rest, position)
        if match is None or match.end() == position:
            break
        key, value = match.group(1).lower(), match.group(2)
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        # A second challenge starts ("..., Basic realm=..."): stop at the first.
        params.setdefault(key, value)
        position = match.end()
    return Challenge(scheme.lower(), params)
