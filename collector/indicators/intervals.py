"""Candle intervals: ``N`` followed by ``s``, ``m``, ``h`` or ``d`` (``1s``, ``5m``, ``4h``, ``1d``).

Bars are aligned to the Unix epoch in UTC, so a ``1d`` bar runs from midnight to midnight
UTC and a ``4h`` bar starts at 00:00, 04:00, ... UTC. Weeks and months are not offered:
they have no fixed length in seconds (months) or no agreed anchor (weeks).
"""

from __future__ import annotations

import re

from ..errors import UsageError

__all__ = ["canonical_interval", "interval_seconds", "parse_intervals"]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"\s*(\d+)\s*([smhd])\s*")


def interval_seconds(text: str) -> int:
    """Length in seconds of an interval like ``5m``; raises :class:`UsageError` for anything else."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        hint = " (months and weeks are not supported)" if text.strip()[-1:] in ("M", "w") else ""
        raise UsageError(f"bad candle interval {text!r}: use N followed by s, m, h or d, e.g. 1m, 15m, 4h{hint}")
    seconds = int(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise UsageError(f"bad candle interval {text!r}: it must be at least 1s")
    return seconds


def canonical_interval(text: str) -> str:
    """The interval's canonical name: the largest unit that divides it (``60s`` -> ``1m``, ``90s`` stays)."""
    seconds = interval_seconds(text)
    for unit in ("d", "h", "m"):
        size = _UNITS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_intervals(text: str) -> list[str]:
    """Split ``1m,5m`` into canonical interval names, without duplicates, shortest first."""
    names = [canonical_interval(part) for part in text.split(",") if part.strip()]
    if not names:
        raise UsageError("no candle interval given; e.g. --candles 1m,5m")
    return sorted(dict.fromkeys(names), key=interval_seconds)
