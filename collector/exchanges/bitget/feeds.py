"""Per-symbol state of Bitget's trade and candle channels: what was already emitted.

- :class:`TradeFeed`: "After first subscription, it will push the recent snapshot data and
  then push the update data", newest first. Trades are emitted oldest first, and a
  snapshot re-sent after a reconnect skips the trades already out.
- :class:`CandleFeed`: a subscription starts with recent bars, then the forming bar is
  re-pushed as it changes; Bitget never marks a bar final, so a bar is closed when a
  later one starts (and a re-sent snapshot repeats no finished bar).
"""

from __future__ import annotations

import msgspec

from ...models import Candle, Trade
from . import parse as p
from .schemas import CandleRow, TradeData, TradeRow

__all__ = ["CandleFeed", "TradeFeed"]


class TradeFeed:
    """The newest trade emitted per symbol, to drop the ones a re-sent snapshot repeats."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._marks: dict[str, tuple[int, int]] = {}  # symbol -> (fill time, numeric id)

    def trades(
        self, symbol: str, rows: list[TradeData | TradeRow], snapshot: bool, received: float
    ) -> tuple[list[Trade], list[str], int]:
        """The trades of one push, oldest first; the sides that are no taker side (errors); how many
        trades a re-sent snapshot repeated (dropped)."""
        if len(rows) > 1:
            if isinstance(rows[0], tuple):
                if p.trade_time(rows[0]) > p.trade_time(rows[-1]):
                    rows = rows[::-1]  # snapshots come newest first; events go oldest first
            else:
                # Newest first, and fills of one taker order share their millisecond: the time and
                # then the id give the order (and the mark a re-sent snapshot is cut at).
                rows = sorted(rows, key=lambda r: p.trade_key(r.ts, r.tradeId))  # type: ignore[union-attr]
        mark = self._marks.get(symbol) if snapshot else None
        out: list[Trade] = []
        bad: list[str] = []
        repeated = 0
        newest: tuple[int, str] | None = None
        for row in rows:
            if isinstance(row, tuple):
                ts, price, amount, side_text = row
                trade_id = ""  # v1 trades carry no id
            else:
                ts, price, amount, side_text, trade_id = row.ts, row.price, row.size, row.side, row.tradeId
            side = p.SIDES.get(side_text)
            if side is None:
                bad.append(side_text)
                continue
            if mark is not None and p.trade_key(ts, trade_id) <= mark:
                repeated += 1
                continue
            out.append(Trade(self.exchange, symbol, ts / 1000.0, received, price, amount, side, trade_id))
            newest = (ts, trade_id)
        if newest is not None:
            self._marks[symbol] = p.trade_key(*newest)
        return out, bad, repeated


class CandleFeed:
    """The forming bar and the newest finished bar per (symbol, channel)."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._forming: dict[tuple[str, str], tuple[int, Candle]] = {}
        self._closed_until: dict[tuple[str, str], int] = {}  # start of the newest bar emitted closed

    def candles(
        self, symbol: str, channel: str, interval: str, rows: list[CandleRow], ts: float | None, received: float
    ) -> list[Candle]:
        """The candles of one push: earlier rows of a push are finished bars, the last one is forming."""
        if len(rows) > 1 and rows[0].start > rows[-1].start:
            rows = rows[::-1]
        key = (symbol, channel)
        closed_until = self._closed_until.get(key, -1)
        forming = self._forming.get(key)
        out: list[Candle] = []
        last = len(rows) - 1
        for i, row in enumerate(rows):
            start = row.start
            if start <= closed_until:
                continue  # history already emitted (a re-sent snapshot)
            if forming is not None and forming[0] == start:
                forming = None  # this row is the held bar, newer: it replaces what was held
            if forming is not None and forming[0] < start:
                # A later bar has started: the forming one is finished, as last seen.
                out.append(msgspec.structs.replace(forming[1], closed=True, received=received))
                closed_until = forming[0]
                forming = None
            candle = Candle(
                self.exchange,
                symbol,
                ts,
                received,
                interval,
                start / 1000.0,
                p.candle_end(start, interval) / 1000.0,
                row.open,
                row.high,
                row.low,
                row.close,
                row.volume,
                None,
                i < last,
            )
            out.append(candle)
            if i < last:
                closed_until = start
            else:
                forming = (start, candle)
        self._closed_until[key] = closed_until
        if forming is not None:
            self._forming[key] = forming
        else:
            self._forming.pop(key, None)
        return out
