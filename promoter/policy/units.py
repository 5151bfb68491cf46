"""Sizes (``500MiB``) and ages (``30d``) as written in policy options."""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["format_size", "parse_duration", "parse_size"]

_SIZE_UNITS = {
    "": 1,
    "B": 1,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "KIB": 1024,
    "MIB": 1024**2,
    "GIB": 1024**3,
    "TIB": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")

_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def parse_size(value: object) -> int:
    """Bytes from ``1234``, ``500MiB``, ``1.5GB`` (KiB/MiB/GiB are 1024-based, KB/MB/GB 1000).

    Raises ``ValueError`` with the reason on anything else.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a size: {value!r}")
    match = _SIZE.match(value)
    unit = match.group(2).upper() if match else None
    if match is None or unit not in _SIZE_UNITS:
        raise ValueError(f"not a size: {value!r} (write e.g. 500MiB, 1GB, 2048KiB)")
    return int(float(match.group(1)) * _SIZE_UNITS[unit])


def format_size(size: int) -> str:
    """``12.3 MiB``: the 1024-based form people read in registries' UIs."""
    amount = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{amount:.1f} GiB"  # pragma: no cover - the loop always returns


def parse_duration(value: object) -> timedelta:
    """A timedelta from ``90s``, ``15m``, ``12h``, ``30d``, ``2w`` (a bare number is seconds).

    Raises ``ValueError`` with the reason on anything else.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if not isinstance(value, str) or (match := _DURATION.match(value)) is None:
        raise ValueError(f"not an age: {value!r} (write e.g. 30d, 12h, 2w)")
    return timedelta(seconds=float(match.group(1)) * _DURATION_UNITS[match.group(2)])
