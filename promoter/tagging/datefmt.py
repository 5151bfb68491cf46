"""Dates formatted with moment.js format tokens, as ``{{date}}`` and ``{{commit_date}}`` do.

``format_moment(when, 'YYYYMMDD-HHmmss', 'Asia/Tokyo')`` gives what
``moment(when).tz(tz).format(fmt)`` gives in English: years, quarters,
months, days, ISO and locale weeks, hours, minutes, seconds, fractions,
AM/PM, offsets, Unix times, ``[escaped text]`` and ``\\x`` escapes. Without a
format, moment's ISO default: ``2020-01-10T00:30:00Z`` at offset zero, else
``2020-01-10T09:30:00+09:00``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promoter.errors import InputError

__all__ = ["format_moment", "to_zone"]

_TOKENS = re.compile(
    r"(\[[^\[]*\])|(\\)?(Hmmss|Hmm|hmmss|hmm|Mo|MMMM|MMM|MM|M|Do|DDDo|DDDD|DDD|DD|D|dddd|ddd|dd|do|d"
    r"|wo|ww|w|Wo|WW|W|Qo|Q|YYYYYY|YYYYY|YYYY|YY|Y|gggg|gg|GGGG|GG|e|E|a|A|hh|h|HH|H|kk|k"
    r"|mm|m|ss|s|S{1,9}|x|X|zz|z|ZZ|Z|LTS|LT|LLLL|LLL|LL|L|llll|lll|ll|l|.)",
    re.S,
)
_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
_LOCALE = {
    "LT": "h:mm A",
    "LTS": "h:mm:ss A",
    "L": "MM/DD/YYYY",
    "LL": "MMMM D, YYYY",
    "LLL": "MMMM D, YYYY h:mm A",
    "LLLL": "dddd, MMMM D, YYYY h:mm A",
    "l": "M/D/YYYY",
    "ll": "MMM D, YYYY",
    "lll": "MMM D, YYYY h:mm A",
    "llll": "ddd, MMM D, YYYY h:mm A",
}


def to_zone(when: datetime, tz: str) -> datetime:
    """``when`` in the IANA zone ``tz`` (an InputError names an unknown zone)."""
    if tz.upper() == "UTC":
        return when.astimezone(timezone.utc)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InputError(
            f"unknown time zone {tz!r}", hint="use an IANA name like Europe/Paris"
        ) from error
    return when.astimezone(zone)


def _ordinal(number: int) -> str:
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}" + {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")


def _offset(when: datetime, sep: str) -> str:
    delta = when.utcoffset() or timedelta(0)
    minutes = int(delta.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}{sep}{minutes % 60:02d}"


def _locale_week(when: datetime) -> tuple[int, int]:
    # en locale: weeks start on Sunday, week 1 holds January 1st (dow 0, doy 6).
    start = when.date() - timedelta(days=(when.isoweekday() % 7))
    year = (start + timedelta(days=6)).year
    first = datetime(year, 1, 1).date()
    first_week_start = first - timedelta(days=(first.isoweekday() % 7))
    return year, (start - first_week_start).days // 7 + 1


def _hour12(hour: int) -> int:
    return hour % 12 or 12


_SIMPLE: dict[str, Callable[[datetime], str]] = {
    "YYYYYY": lambda d: f"{'+' if d.year >= 0 else '-'}{abs(d.year):06d}",
    "YYYYY": lambda d: f"{d.year:05d}",
    "YYYY": lambda d: f"{d.year:04d}",
    "YY": lambda d: f"{d.year % 100:02d}",
    "Y": lambda d: str(d.year),
    "Q": lambda d: str((d.month - 1) // 3 + 1),
    "Qo": lambda d: _ordinal((d.month - 1) // 3 + 1),
    "M": lambda d: str(d.month),
    "Mo": lambda d: _ordinal(d.month),
    "MM": lambda d: f"{d.month:02d}",
    "MMM": lambda d: _MONTHS[d.month - 1][:3],
    "MMMM": lambda d: _MONTHS[d.month - 1],
    "D": lambda d: str(d.day),
    "Do": lambda d: _ordinal(d.day),
    "DD": lambda d: f"{d.day:02d}",
    "DDD": lambda d: str(d.timetuple().tm_yday),
    "DDDo": lambda d: _ordinal(d.timetuple().tm_yday),
    "DDDD": lambda d: f"{d.timetuple().tm_yday:03d}",
    "d": lambda d: str(d.isoweekday() % 7),
    "do": lambda d: _ordinal(d.isoweekday() % 7),
    "dd": lambda d: _DAYS[d.isoweekday() % 7][:2],
    "ddd": lambda d: _DAYS[d.isoweekday() % 7][:3],
    "dddd": lambda d: _DAYS[d.isoweekday() % 7],
    "e": lambda d: str(d.isoweekday() % 7),
    "E": lambda d: str(d.isoweekday()),
    "w": lambda d: str(_locale_week(d)[1]),
    "wo": lambda d: _ordinal(_locale_week(d)[1]),
    "ww": lambda d: f"{_locale_week(d)[1]:02d}",
    "W": lambda d: str(d.isocalendar()[1]),
    "Wo": lambda d: _ordinal(d.isocalendar()[1]),
    "WW": lambda d: f"{d.isocalendar()[1]:02d}",
    "gg": lambda d: f"{_locale_week(d)[0] % 100:02d}",
    "gggg": lambda d: f"{_locale_week(d)[0]:04d}",
    "GG": lambda d: f"{d.isocalendar()[0] % 100:02d}",
    "GGGG": lambda d: f"{d.isocalendar()[0]:04d}",
    "A": lambda d: "AM" if d.hour < 12 else "PM",
    "a": lambda d: "am" if d.hour < 12 else "pm",
    "H": lambda d: str(d.hour),
    "HH": lambda d: f"{d.hour:02d}",
    "h": lambda d: str(_hour12(d.hour)),
    "hh": lambda d: f"{_hour12(d.hour):02d}",
    "k": lambda d: str(d.hour or 24),
    "kk": lambda d: f"{d.hour or 24:02d}",
    "m": lambda d: str(d.minute),
    "mm": lambda d: f"{d.minute:02d}",
    "s": lambda d: str(d.second),
    "ss": lambda d: f"{d.second:02d}",
    "Hmm": lambda d: f"{d.hour}{d.minute:02d}",
    "Hmmss": lambda d: f"{d.hour}{d.minute:02d}{d.second:02d}",
    "hmm": lambda d: f"{_hour12(d.hour)}{d.minute:02d}",
    "hmmss": lambda d: f"{_hour12(d.hour)}{d.minute:02d}{d.second:02d}",
    "Z": lambda d: _offset(d, ":"),
    "ZZ": lambda d: _offset(d, ""),
    "z": lambda d: d.tzname() or "",
    "zz": lambda d: d.tzname() or "",
    "X": lambda d: str(int(d.timestamp())),
    "x": lambda d: str(int(d.timestamp() * 1000)),
}


def _token(token: str, when: datetime) -> str:
    if token in _SIMPLE:
        return _SIMPLE[token](when)
    if token in _LOCALE:
        return _format(_LOCALE[token], when)
    if token.startswith("S"):
        return f"{when.microsecond:06d}000"[: len(token)]
    return token


def _format(fmt: str, when: datetime) -> str:
    out: list[str] = []
    for match in _TOKENS.finditer(fmt):
        bracketed, escaped, token = match.groups()
        if bracketed is not None:
            out.append(bracketed[1:-1])
        elif escaped:
            out.append(token)
        else:
            out.append(_token(token, when))
    return "".join(out)


def format_moment(when: datetime, fmt: str | None, tz: str = "UTC") -> str:
    """Format ``when`` (timezone-aware) in zone ``tz`` with a moment.js format."""
    local = to_zone(when, tz)
    if fmt is None:
        zero = (local.utcoffset() or timedelta(0)) == timedelta(0)
        fmt = "YYYY-MM-DDTHH:mm:ss[Z]" if zero else "YYYY-MM-DDTHH:mm:ssZ"
    return _format(str(fmt), local)
