"""The ``flavor`` lines: ``latest=auto|true|false``, ``prefix=...``, ``suffix=...``, ``onlatest=``.

``onlatest=true`` applies to the ``prefix`` or ``suffix`` written before it on
the same line, and makes the ``latest`` tag carry it too
(``suffix=-alpine,onlatest=true`` -> ``latest-alpine``).
"""

from __future__ import annotations

from collections.abc import Iterable

from promoter.errors import InputError
from promoter.structs import struct
from promoter.tagging.rules import split_fields

__all__ = ["Flavor", "parse_flavor"]

_LATEST = ("auto", "true", "false")


@struct(frozen=True)
class Flavor:
    """How every tag is decorated, and whether ``latest`` is added."""

    latest: str = "auto"
    prefix: str = ""
    prefix_latest: bool = False
    suffix: str = ""
    suffix_latest: bool = False

    def to_dict(self) -> dict[str, object]:
        """The flavor with metadata-action's key names."""
        return {
            "latest": self.latest,
            "prefix": self.prefix,
            "prefixLatest": self.prefix_latest,
            "suffix": self.suffix,
            "suffixLatest": self.suffix_latest,
        }


def parse_flavor(lines: Iterable[str]) -> Flavor:
    """Parse flavor lines; an unknown key, a bare word or a bad value raises InputError."""
    values: dict[str, object] = Flavor().to_dict()
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        onlatest_for = ""
        for field_text in split_fields(line):
            parts = [part.strip() for part in field_text.split("=")]
            if len(parts) == 1:
                raise InputError(
                    f"invalid flavor {line!r}: {parts[0]!r} is not key=value",
                    hint="latest=auto|true|false, prefix=..., suffix=..., onlatest=true",
                )
            key, value = parts[0].lower(), parts[1]
            if key == "latest":
                if value not in _LATEST:
                    raise InputError(f"invalid flavor {line!r}: latest must be auto, true or false")
                values["latest"] = value
            elif key in ("prefix", "suffix"):
                values[key] = value
                onlatest_for = key
            elif key == "onlatest":
                if value not in ("true", "false"):
                    raise InputError(f"invalid flavor {line!r}: onlatest must be true or false")
                if onlatest_for:
                    values[f"{onlatest_for}Latest"] = value == "true"
            else:
                raise InputError(
                    f"invalid flavor {line!r}: unknown key {key!r}",
                    hint="latest, prefix, suffix or onlatest",
                )
    return Flavor(
        latest=str(values["latest"]),
        prefix=str(values["prefix"]),
        prefix_latest=bool(values["prefixLatest"]),
        suffix=str(values["suffix"]),
        suffix_latest=bool(values["suffixLatest"]),
    )
