"""The Bybit simulator's market state: tickers' statistics per market and what each
``orderbook.<depth>`` topic has published (see :mod:`.sim` for the wire format itself)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ...simulator.market import (
    CandleState,
    DayStats,
    InstrumentSpec,
    SymbolMarket,
    TickDirection,
    Update,
    counter_value,
)

__all__ = [
    "BOOK_DEPTHS",
    "CATEGORIES",
    "DEFAULT_DEPTH",
    "BybitMarket",
    "View",
    "category_of",
    "delivery_ms",
    "dumps",
    "sorted_levels",
]

CATEGORIES = ("spot", "linear", "inverse")
"""The categories served, each on its own websocket path."""

BOOK_DEPTHS = (1, 50, 200, 1000)
"""``orderbook.<depth>`` topics Bybit offers for spot, linear and inverse."""

DEFAULT_DEPTH = 200
"""The book depth the collector's Bybit adapter subscribes by default (``true_book`` uses it)."""

_TICK_WORDS = ("PlusTick", "MinusTick", "ZeroPlusTick", "ZeroMinusTick")  # tickDirection: up, down, same after each


def dumps(obj: Any) -> str:
    """``obj`` as compact JSON text."""
    return orjson.dumps(obj).decode()


def category_of(spec: InstrumentSpec) -> str:
    """The Bybit category of a simulated instrument: ``spot``, ``linear`` or ``inverse``."""
    if spec.settle is None:
        return "spot"
    return "linear" if spec.settle == spec.quote else "inverse"


def delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> 08:00 UTC of that day in ms, when Bybit's dated contracts deliver."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=8, tzinfo=UTC).timestamp() * 1000)


class BybitMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps what Bybit's tickers and inverse klines report.

    ``day`` holds the 24 h statistics (its ``counter_volume`` is the turnover: quote units,
    the base coin on inverse); ``tick_direction.last`` is the last trade's ``PlusTick``/
    ``MinusTick``/``Zero...`` and ``directions`` those of the last step's fills.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, inverse: bool, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.inverse = inverse
        self.day = DayStats(spec.start_ticks)
        self.tick_direction = TickDirection(spec.start_ticks, _TICK_WORDS)
        self.directions: list[str] = []  # tick direction of each fill of the last step
        self._turnover = counter_value(spec, inverse=inverse)
        # The model sums price * size per bar; an inverse bar's turnover is size / price,
        # so it is kept here per (interval, bar start) while the bar is open.
        self._bar_turnover: dict[tuple[str, int], float] = {}
        self._closed: list[tuple[str, int]] = []

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the ticker statistics."""
        for key in self._closed:
            self._bar_turnover.pop(key, None)
        self._closed.clear()
        update = super().step(time_ms)
        fills = update.fills
        self.directions = self.tick_direction.advance(fills)
        step_turnover = self.day.add(fills, map(self._turnover, fills))
        for candle, closed in update.candles:
            key = (candle.interval, candle.start_ms)
            if closed:
                self._closed.append(key)
            elif self.inverse:
                self._bar_turnover[key] = self._bar_turnover.get(key, 0.0) + step_turnover
        return update

    def bar_turnover(self, candle: CandleState) -> float:
        """Turnover of ``candle``: quote units, or the base coin for inverse contracts."""
        if not self.inverse:
            return candle.counter_volume
        return self._bar_turnover.get((candle.interval, candle.start_ms), 0.0)


@dataclass(slots=True)
class View:
    """What ``orderbook.<depth>`` of one market has published: its best levels and ``u``."""

    depth: int
    u: int
    bids: dict[int, int]
    asks: dict[int, int]
    market_id: int = -1  # the market's last_id when the view was last brought up to date
    complete: bool = False  # the view held every level of the market then

    def sync(self, market: SymbolMarket) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Bring the view up to the market's best ``depth`` levels; return the changes (``u`` + 1 if any)."""
        new_bids, new_asks = market.levels(self.depth)
        bids = _diff(self.bids, new_bids, descending=True)
        asks = _diff(self.asks, new_asks, descending=False)
        self.bids = dict(new_bids)
        self.asks = dict(new_asks)
        return self._done(market, bids, asks)

    def advance(self, market: SymbolMarket, update: Update) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The changes one market step made to the view (cheap when the view holds the whole book)."""
        depth = self.depth
        if self.market_id == update.last_id:
            return [], []
        if not (self.complete and self.market_id == update.prev_id):
            return self.sync(market)
        if len(market.bids) > depth or len(market.asks) > depth:
            return self.sync(market)
        # The view held every level before and still does: the step's changes are the view's.
        for side, levels in ((self.bids, update.bids), (self.asks, update.asks)):
            for tick, lots in levels:
                if lots:
                    side[tick] = lots
                else:
                    side.pop(tick, None)
        return self._done(market, update.bids, update.asks)

    def _done(
        self, market: SymbolMarket, bids: list[tuple[int, int]], asks: list[tuple[int, int]]
    ) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        if bids or asks:
            self.u += 1
        self.market_id = market.last_id
        self.complete = len(market.bids) <= self.depth and len(market.asks) <= self.depth
        return bids, asks


def _diff(old: dict[int, int], new: list[tuple[int, int]], *, descending: bool) -> list[tuple[int, int]]:
    """Levels of ``new`` that differ from ``old``, and ``(tick, 0)`` for levels that left, best first."""
    changed = [(p, q) for p, q in new if old.get(p) != q]
    kept = {p for p, _ in new}
    changed += [(p, 0) for p in old if p not in kept]
    changed.sort(reverse=descending)
    return changed


def sorted_levels(side: dict[int, int], descending: bool) -> list[tuple[int, int]]:
    """A side's ``(tick, lots)`` levels, best first."""
    return sorted(side.items(), reverse=descending)
