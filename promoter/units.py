"""Sizes and durations, as written in pipeline.yml and in policy files: one set of rules.

A size has an explicit unit: ``500MB`` (powers of 1000) or ``500MiB``
(powers of 1024); ``B``, ``kB``/``KB``, ``MB``, ``GB``, ``TB``, ``KiB``,
``MiB``, ``GiB``, ``TiB``. A bare ``500`` or an ambiguous ``500M`` is refused
with the two spellings that would be right. A duration has one too: ``90s``,
``15m``, ``12h``, ``30d``, ``2w``. Both are bounded (a size to 8 EiB, a
duration to 100 years), so no spelling ends in an overflow.

``format_size`` is the one way promoter shows bytes to people: ``12.3 MiB``.
"""

from __future__ import annotations

import re

__all__ = [
    "DURATION_UNITS",
    "MAX_DURATION",
    "MAX_SIZE",
    "SIZE_UNITS",
    "UnitError",
    "format_size",
    "parse_duration",
    "parse_size",
]

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

#: The largest size and duration promoter takes: 8 EiB, 100 years.
MAX_SIZE = 2**63 - 1
MAX_DURATION = 100 * 365 * 86400

# At most 18 digits either side of the point: more is never meant, and could not be held.
# (The text: ``re`` compiles it at first use; a copy reads no size or duration.)
_QUANTITY = r"^\s*(\d{1,18}(?:\.\d{1,18})?)\s*([A-Za-z]*)\s*$"


class UnitError(ValueError):
    """A size or duration that cannot be read; the message says how to write it."""


def _quantity(value: object, what: str, example: str) -> tuple[str, str]:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise UnitError(f"a {what} is a string like {example}")
    match = re.match(_QUANTITY, str(value))
    if match is None:
        raise UnitError(f"'{value}' is not a {what}; write it like {example}")
    number, unit = match.groups()
    return number, unit


def parse_size(value: object) -> int:
    """``"500MiB"`` -> 524288000. ``UnitError`` without an explicit unit, or past 8 EiB."""
    number, unit = _quantity(value, "size", "500MiB or 500MB")
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
    size = int(float(number) * SIZE_UNITS[unit])
    if size > MAX_SIZE:
        raise UnitError(f"'{value}' is larger than any size promoter takes (8 EiB)")
    return size


def parse_duration(value: object) -> int:
    """``"30d"`` -> seconds. ``UnitError`` without a unit, or past 100 years."""
    number, unit = _quantity(value, "duration", "30m, 12h or 30d")
    if not unit:
        raise UnitError(
            f"'{value}' has no unit; write {number}s, {number}m, {number}h or {number}d"
        )
    if unit not in DURATION_UNITS:
        raise UnitError(f"unknown duration unit '{unit}'; use one of {', '.join(DURATION_UNITS)}")
    seconds = int(float(number) * DURATION_UNITS[unit])
    if seconds > MAX_DURATION:
        raise UnitError(f"'{value}' is longer than any duration promoter takes (100 years)")
    return seconds


def format_size(size: int | float) -> str:
    """``12.3 MiB``: 1024-based, as registries' UIs show sizes."""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"  # pragma: no cover - the loop always returns
