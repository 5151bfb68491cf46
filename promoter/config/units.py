"""Sizes and durations as written in pipeline.yml: always with an explicit unit.

``500MB`` (powers of 1000) and ``500MiB`` (powers of 1024) are both fine; a
bare ``500`` or an ambiguous ``500M`` is refused with the two spellings that
would be right.
"""

from __future__ import annotations

import re

__all__ = ["DURATION_UNITS", "SIZE_UNITS", "UnitError", "parse_duration", "parse_size"]

SIZE_UNITS: dict[str, int] = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
}

DURATION_UNITS: dict[str, int] = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")


class UnitError(ValueError):
    """A size or duration that cannot be read; the message says how to write it."""


def parse_size(value: object) -> int:
    """``"500MiB"`` -> 524288000. Raises ``UnitError`` without an explicit unit."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UnitError("a size is a string like 500MiB or 500MB")
    match = _QUANTITY.match(str(value))
    if match is None:
        raise UnitError(f"'{value}' is not a size; write it like 500MiB or 500MB")
    number, unit = match.groups()
    if not unit:
        raise UnitError(f"'{value}' has no unit; write {number}MiB (1024-based) or {number}MB")
    if unit not in SIZE_UNITS:
        stem = unit[:1].upper()
        if stem in "KMGT" and unit.lower() in (stem.lower(), stem.lower() + "i"):
            binary = "KiB" if stem == "K" else f"{stem}iB"
            decimal = "kB" if stem == "K" else f"{stem}B"
            raise UnitError(
                f"'{value}' is ambiguous; write {number}{binary} (1024-based) or "
                f"{number}{decimal} (1000-based)"
            )
        raise UnitError(f"unknown size unit '{unit}'; use one of {', '.join(SIZE_UNITS)}")
    return int(float(number) * SIZE_UNITS[unit])


def parse_duration(value: object) -> int:
    """``"30d"`` -> seconds. Raises ``UnitError`` without a unit."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UnitError("a duration is a string like 30m, 12h or 30d")
    match = _QUANTITY.match(str(value))
    if match is None:
        raise UnitError(f"'{value}' is not a duration; write it like 30m, 12h or 30d")
    number, unit = match.groups()
    if not unit:
        raise UnitError(
            f"'{value}' has no unit; write {number}s, {number}m, {number}h or {number}d"
        )
    if unit not in DURATION_UNITS:
        raise UnitError(f"unknown duration unit '{unit}'; use one of {', '.join(DURATION_UNITS)}")
    return int(float(number) * DURATION_UNITS[unit])
