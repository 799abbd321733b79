"""What the ProBit simulator keeps beyond the neutral market: recent trades, ticker statistics,
price-grouped books and per-connection subscriptions.

- :class:`ProbitMarket`: the last 100 trades ("It will return last 100 trades of the
  market. Old trade will be first") with their tick directions, and the ticker's 24 h
  statistics (the window starts with the simulation).
- :func:`grouped`: the book at ``order_books_l<n>``'s aggregation, price levels summed into
  groups of ``10**n`` ticks (bids down, asks up to the group's edge; ``l0`` is the raw book).
  The step per level is not documented; this one is the simulator's.
- :class:`ProbitSession`: the stream each market is subscribed with on one connection
  ("a repeated request on the same channel/market updates the existing subscription").
"""

from __future__ import annotations

import random
from collections import deque

from ...simulator.market import DayStats, Fill, InstrumentSpec, SymbolMarket, TickDirection, Update, counter_value
from ...simulator.wire import Session

__all__ = ["RECENT", "ProbitMarket", "ProbitSession", "grouped"]

RECENT = 100
"""Trades a ``recent_trades`` reset holds."""

# "Whether the transaction amount has risen or gone down compared to the previous
# transaction: up | down | zero | zeroup | zerodown" (``zero``: no move yet).
_TICK_WORDS = ("up", "down", "zeroup", "zerodown")


class ProbitMarket(SymbolMarket):
    """A market that also keeps its recent trades and the statistics of its ticker (``day``)."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.recent: deque[tuple[Fill, str]] = deque(maxlen=RECENT)
        self.directions: list[str] = []  # tick direction of each fill of the last step
        self.day = DayStats(spec.start_ticks)
        self.last_trade_ms: int | None = None
        self._tick_direction = TickDirection(spec.start_ticks, _TICK_WORDS, unmoved="zero")
        self._quote = counter_value(spec)

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and record its trades."""
        update = super().step(time_ms)
        fills = update.fills
        self.directions = self._tick_direction.advance(fills)
        self.recent.extend(zip(fills, self.directions, strict=True))
        self.day.add(fills, map(self._quote, fills))
        if fills:
            self.last_trade_ms = time_ms
        return update


def grouped(market: SymbolMarket, level: int) -> tuple[dict[int, int], dict[int, int]]:
    """The book grouped for ``order_books_l<level>``: ``{group ticks: lots}`` per side."""
    step = 10**level
    if step == 1:
        return dict(market.bids), dict(market.asks)
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for tick, lots in market.bids.items():
        group = tick - tick % step
        bids[group] = bids.get(group, 0) + lots
    for tick, lots in market.asks.items():
        group = -(-tick // step) * step
        asks[group] = asks.get(group, 0) + lots
    return bids, asks


class ProbitSession(Session):
    """One connection: the stream (``<market>|<filters>``) each market is subscribed with."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.current: dict[str, str] = {}  # market id -> stream
