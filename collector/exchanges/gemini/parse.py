"""Stateful pieces of the Gemini adapter that are not the book: trade ids and candle bars.

Both keep per-symbol state across reconnects, because Gemini repeats history on every
subscribe: the first ``l2_updates`` carries the last trades again, and the first
``candles_*_updates`` the recent bars again.
"""

from __future__ import annotations

from typing import Any

from ...models import Candle
from .schemas import Bar

__all__ = ["INTERVAL_SECONDS", "Bars", "TradeIds"]

INTERVAL_SECONDS: dict[str, int] = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "30m": 1800,
    "1h": 3600,
    "6h": 21_600,
    "1d": 86_400,
}
"""Gemini's candle feeds (``candles_1m`` ... ``candles_1d``) by unified interval, in seconds."""


class TradeIds:
    """The id of the last trade emitted per symbol, so a re-sent trade is not emitted twice.

    "The initial response message will show ... last 50 trades": every (re)subscription
    of ``l2`` repeats recent trades. Gemini's ``tid`` increases per symbol, so the last one
    emitted is all it takes to drop the repeats, in constant memory. Trade messages are
    never repeats: they only move :attr:`seen` on (the fast path writes it directly).
    """

    __slots__ = ("seen",)

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}
        """Symbol -> id of its last trade emitted."""

    def fresh(self, symbol: str, tid: int) -> bool:
        """Whether ``tid`` is newer than the last trade of ``symbol`` emitted (and remember it if so)."""
        if tid <= self.seen.get(symbol, -1):
            return False
        self.seen[symbol] = tid
        return True

    def high(self, symbol: str) -> int | None:
        """The id of the last trade of ``symbol`` emitted so far."""
        return self.seen.get(symbol)


class Bars:
    """The forming candle per (symbol, interval), and when it is final.

    Gemini marks no candle closed: a bar is final once a row of a later bar arrives (its
    last update held its final values). The first message of a subscription carries the
    recent history newest first; on a first subscription only its newest (forming) bar
    is emitted, on a resubscription the bars that closed meanwhile are emitted closed too.
    A row older than the forming bar is history already emitted.
    """

    __slots__ = ("_forming", "exchange", "stale")

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._forming: dict[tuple[str, str], Bar] = {}
        self.stale = 0  # rows older than the forming bar, dropped

    def take(self, out: list[Any], symbol: str, interval: str, rows: list[Bar], received: float) -> None:
        """Append the candle events of one message's ``rows`` (any order) to ``out``."""
        if not rows:
            return
        key = (symbol, interval)
        ordered = sorted(rows) if len(rows) > 1 else rows
        forming = self._forming.get(key)
        if forming is None:
            forming = ordered[-1]
            out.append(self._candle(symbol, interval, forming, False, received))
            self._forming[key] = forming
            return
        changed = False
        for row in ordered:
            if row[0] < forming[0]:
                self.stale += 1
                continue
            if row[0] > forming[0]:
                out.append(self._candle(symbol, interval, forming, True, received))
            elif row == forming:
                continue  # a repeat of the bar as it was
            forming = row
            changed = True
        if changed:
            self._forming[key] = forming
            out.append(self._candle(symbol, interval, forming, False, received))

    def _candle(self, symbol: str, interval: str, row: Bar, closed: bool, received: float) -> Candle:
        start = row[0] / 1000.0
        # Gemini's candle messages carry no time of their own: the event has no exchange timestamp.
        return Candle(
            self.exchange,
            symbol,
            None,
            received,
            interval,
            start,
            start + INTERVAL_SECONDS[interval],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            None,
            closed,
        )
