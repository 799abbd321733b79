"""ISO 8601 UTC times as epoch seconds, the way the routers read them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import speedups

__all__ = ["iso_reader", "parse_iso"]

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def iso_reader() -> Callable[[Any], float | None]:
    """:func:`parse_iso` in C when the C module is on, else itself: the same values (the tests
    compare them). Adapters that read ISO times on their own path take it once, at import."""
    return speedups.iso_parser() or parse_iso


def parse_iso(text: Any) -> float | None:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM:SS[.fraction][Z|+00:00]`` (UTC; a fraction past
    microseconds is cut off), or ``None`` for anything else. The C router reads times the same way."""
    if not isinstance(text, str) or len(text) < 19 or not text.isascii():
        return None
    head, rest = text[:19], text[19:]
    if head[4] != "-" or head[7] != "-" or head[10] != "T" or head[13] != ":" or head[16] != ":":
        return None
    digits = head[0:4] + head[5:7] + head[8:10] + head[11:13] + head[14:16] + head[17:19]
    if not digits.isdigit():
        return None
    year, month, day = int(head[0:4]), int(head[5:7]), int(head[8:10])
    hour, minute, second = int(head[11:13]), int(head[14:16]), int(head[17:19])
    micros = 0
    if rest.startswith("."):
        end = 1
        while end < len(rest) and rest[end].isdigit():
            end += 1
        fraction = rest[1:end]
        if not fraction or len(fraction) > 9:
            return None
        micros = int((fraction + "000000")[:6])
        rest = rest[end:]
    if rest not in ("", "Z", "+00:00"):
        return None
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    month_days = 29 if month == 2 and leap else _DAYS_IN_MONTH[month - 1] if 1 <= month <= 12 else 0
    if not (year >= 1970 and 1 <= day <= month_days and hour < 24 and minute < 60 and second < 60):
        return None
    days = _days_from_civil(year, month, day)
    return ((days * 86400 + hour * 3600 + minute * 60 + second) * 1_000_000 + micros) / 1_000_000.0


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to a proleptic Gregorian date (years from 1970 on)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
