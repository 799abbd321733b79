"""State kept across Crypto.com pushes: the trade tape (snapshot repeats) and forming candles.

Both are plain state machines of their own, with no I/O: the adapter decodes a push and hands
the typed elements over.
"""

from __future__ import annotations

import calendar
import time
from typing import Any

from ...models import Candle, Side, Trade
from .schemas import CandleData, TradeData

__all__ = ["TIME_FRAMES", "CandleBars", "TradeTape", "bar_end"]

_SIDES: dict[str, Side] = {"BUY": "buy", "SELL": "sell"}

TIME_FRAMES: dict[str, tuple[str, int]] = {
    "1m": ("1m", 60_000),
    "5m": ("5m", 300_000),
    "15m": ("15m", 900_000),
    "30m": ("30m", 1_800_000),
    "1h": ("1h", 3_600_000),
    "2h": ("2h", 7_200_000),
    "4h": ("4h", 14_400_000),
    "12h": ("12h", 43_200_000),
    "1D": ("1d", 86_400_000),
    "7D": ("1w", 604_800_000),
    "14D": ("2w", 1_209_600_000),
    "1M": ("1M", 0),  # calendar months: see bar_end
}
"""Crypto.com time frame -> (unified interval, bar length in ms). "Timeframe: 1m, 5m, 15m, 30m,
1h, 2h, 4h, 12h, 1D, 7D, 14D, 1M"; the older names (``M1``, ``H1``, ``D1`` ...) are aliases."""

for _old, _new in (("M1", "1m"), ("M5", "5m"), ("M15", "15m"), ("M30", "30m"), ("H1", "1h"), ("H2", "2h")):
    TIME_FRAMES[_old] = TIME_FRAMES[_new]
for _old, _new in (("H4", "4h"), ("H12", "12h"), ("D1", "1D"), ("D7", "7D"), ("D14", "14D")):
    TIME_FRAMES[_old] = TIME_FRAMES[_new]


def bar_end(start_ms: int, length_ms: int) -> int:
    """The end (exclusive) of a bar starting at ``start_ms``; a length of 0 means one calendar month (UTC)."""
    if length_ms:
        return start_ms + length_ms
    day = time.gmtime(start_ms // 1000)
    year, month = (day.tm_year + 1, 1) if day.tm_mon == 12 else (day.tm_year, day.tm_mon + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000


def _id_order(trade_id: str | int) -> int:
    if isinstance(trade_id, int):
        return trade_id
    return int(trade_id) if trade_id.isdigit() else 0


class TradeTape:
    """Trades per symbol in time order, without the repeats of a (re)subscription.

    "Returns last 50 trades on subscribe": the first push after a subscribe repeats trades
    already delivered before a reconnect. The tape remembers, per symbol, the newest trade
    time and the ids seen at that time, and drops what is not newer from such a snapshot.
    Pushes are not documented to be in time order; one whose first trade is newer than its
    last is read backwards.
    """

    __slots__ = ("_last", "exchange")

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._last: dict[str, tuple[int, set[str]]] = {}

    def take(
        self,
        out: list[Any],
        symbol: str,
        contract: float,
        data: list[TradeData],
        snapshot: bool,
        received: float,
        bad: list[str],
    ) -> int:
        """Append the trades of one push; returns how many were repeats. Unknown sides go to ``bad``."""
        items = data
        if len(data) > 1:
            first, last = data[0], data[-1]
            if (first.t, _id_order(first.d)) > (last.t, _id_order(last.d)):
                items = data[::-1]
        newest = self._last.get(symbol)
        repeats = 0
        for t in items:
            side = _SIDES.get(t.s)
            if side is None:
                bad.append(t.s)
                continue
            trade_id = t.d if isinstance(t.d, str) else str(t.d)
            if newest is not None:
                if snapshot and (t.t < newest[0] or (t.t == newest[0] and trade_id in newest[1])):
                    repeats += 1
                    continue
                if t.t > newest[0]:
                    newest = (t.t, {trade_id})
                elif t.t == newest[0]:
                    newest[1].add(trade_id)
            else:
                newest = (t.t, {trade_id})
            out.append(Trade(self.exchange, symbol, t.t / 1000.0, received, t.p, t.q * contract, side, trade_id))
        if newest is not None:
            self._last[symbol] = newest
        return repeats


class CandleBars:
    """Candles per symbol and interval, and when each is final.

    Crypto.com never marks a bar final: pushes repeat the forming bar, and a bar is final
    once a later one appears (its last push held its final values), when it is emitted
    again with ``closed=True``. A push of several bars (the history sent on subscribe) has
    every bar but the newest closed. Bars older than what was emitted are repeats.
    """

    __slots__ = ("_closed", "_forming", "exchange")

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._forming: dict[tuple[str, str], CandleData] = {}
        self._closed: dict[tuple[str, str], int] = {}  # start of the last bar emitted closed

    def take(
        self,
        out: list[Any],
        symbol: str,
        interval: str,
        length_ms: int,
        contract: float,
        data: list[CandleData],
        received: float,
    ) -> int:
        """Append the candle events of one push; returns how many bars were repeats."""
        key = (symbol, interval)
        bars = sorted(data, key=_start) if len(data) > 1 else data
        repeats = 0
        newest = len(bars) - 1
        for n, bar in enumerate(bars):
            forming = self._forming.get(key)
            if bar.t <= self._closed.get(key, -1) or (forming is not None and bar.t < forming.t):
                repeats += 1
                continue
            if forming is not None and forming.t < bar.t:
                out.append(self._candle(symbol, interval, length_ms, contract, forming, True, received))
                self._closed[key] = forming.t
                del self._forming[key]
            if n < newest:
                out.append(self._candle(symbol, interval, length_ms, contract, bar, True, received))
                self._closed[key] = bar.t
            else:
                out.append(self._candle(symbol, interval, length_ms, contract, bar, False, received))
                self._forming[key] = bar
        return repeats

    def _candle(
        self,
        symbol: str,
        interval: str,
        length_ms: int,
        contract: float,
        bar: CandleData,
        closed: bool,
        received: float,
    ) -> Candle:
        end = bar_end(bar.t, length_ms)
        volume = bar.v * contract
        return Candle(
            self.exchange, symbol, None, received, interval, bar.t / 1000.0, end / 1000.0, bar.o, bar.h, bar.l, bar.c,
            volume, None, closed,
        )  # fmt: skip


def _start(bar: CandleData) -> int:
    return bar.t
