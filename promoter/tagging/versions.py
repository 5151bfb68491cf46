"""Semantic versions (node-semver's strict reading) and PEP 440 versions.

:func:`parse_semver` accepts what ``semver.valid`` accepts: an optional
leading ``v``, ``MAJOR.MINOR.PATCH`` without leading zeros, an optional
pre-release (``-beta.67``) and build (``+sha.1``). PEP 440 parsing uses the
``packaging`` library; :func:`parse_pep440` exposes the fields the
``type=pep440`` patterns use.
"""

from __future__ import annotations

import re

from promoter.structs import struct

__all__ = ["Pep440Version", "SemVer", "parse_pep440", "parse_semver"]

_NUM = r"0|[1-9]\d*"
_PRE_ID = rf"(?:{_NUM}|\d*[a-zA-Z-][a-zA-Z0-9-]*)"
_SEMVER = re.compile(
    rf"^v?({_NUM})\.({_NUM})\.({_NUM})"
    rf"(?:-({_PRE_ID}(?:\.{_PRE_ID})*))?"
    r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)
_MAX_LENGTH = 256
_MAX_SAFE_INTEGER = 2**53 - 1


@struct(frozen=True)
class SemVer:
    """A parsed semantic version; ``version`` drops the build metadata like node-semver."""

    raw: str
    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...]
    build: tuple[str, ...]

    @property
    def version(self) -> str:
        """``MAJOR.MINOR.PATCH[-PRERELEASE]``."""
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{'.'.join(self.prerelease)}" if self.prerelease else core

    @property
    def is_prerelease(self) -> bool:
        """Whether the version carries a pre-release part."""
        return bool(self.prerelease)

    def template_context(self) -> dict[str, object]:
        """The values a ``type=semver`` pattern sees (``{{raw}}``, ``{{version}}``, ...)."""
        return {
            "raw": self.raw,
            "version": self.version,
            "major": self.major,
            "minor": self.minor,
            "patch": self.patch,
            "prerelease": list(self.prerelease),
            "build": list(self.build),
        }


def parse_semver(text: str) -> SemVer | None:
    """The semantic version in ``text``, or None when node-semver would call it invalid."""
    if len(text) > _MAX_LENGTH:
        return None
    match = _SEMVER.match(text.strip())
    if not match:
        return None
    major, minor, patch = (int(match.group(index)) for index in (1, 2, 3))
    if max(major, minor, patch) > _MAX_SAFE_INTEGER:
        return None
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    build = tuple(match.group(5).split(".")) if match.group(5) else ()
    return SemVer(text, major, minor, patch, pre, build)


@struct(frozen=True)
class Pep440Version:
    """A parsed PEP 440 version."""

    raw: str
    normalized: str
    release: tuple[int, ...]
    is_prerelease: bool
    is_postrelease: bool
    is_devrelease: bool

    @property
    def major(self) -> int:
        """The first release segment."""
        return self.release[0]

    @property
    def minor(self) -> int:
        """The second release segment (0 when absent)."""
        return self.release[1] if len(self.release) > 1 else 0

    @property
    def patch(self) -> int:
        """The third release segment (0 when absent)."""
        return self.release[2] if len(self.release) > 2 else 0

    @property
    def is_final(self) -> bool:
        """Neither a pre-, post- nor dev-release: the ones that may move ``latest``."""
        return not (self.is_prerelease or self.is_postrelease or self.is_devrelease)

    def template_context(self) -> dict[str, object]:
        """The values a ``type=pep440`` pattern sees."""
        return {
            "raw": self.raw,
            "version": self.normalized,
            "major": self.major,
            "minor": self.minor,
            "patch": self.patch,
        }


def parse_pep440(text: str) -> Pep440Version | None:
    """The PEP 440 version in ``text``, or None when it does not conform."""
    from packaging.version import InvalidVersion, Version

    try:
        parsed = Version(text)
    except InvalidVersion:
        return None
    return Pep440Version(
        raw=text,
        normalized=str(parsed),
        release=tuple(parsed.release),
        is_prerelease=parsed.pre is not None,
        is_postrelease=parsed.is_postrelease,
        is_devrelease=parsed.is_devrelease,
    )
