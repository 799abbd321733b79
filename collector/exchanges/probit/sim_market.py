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

from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Session

__all__ = ["RECENT", "ProbitMarket", "ProbitSession", "grouped"]

RECENT = 100
"""Trades a ``recent_trades`` reset holds."""


class ProbitMarket(SymbolMarket):
    """A market that also keeps its recent trades and the statistics of its ticker."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.recent: deque[tuple[Fill, str]] = deque(maxlen=RECENT)
        self.directions: list[str] = []  # tick direction of each fill of the last step
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.quote_volume = 0.0
        self.last_trade_ms: int | None = None
        self._direction = "zero"

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and record its trades."""
        previous = self.last_price
        update = super().step(time_ms)
        self.directions = []
        scale = 1.0 / 10.0 ** (self.spec.price_decimals + self.spec.size_decimals)
        for f in update.fills:
            # "Whether the transaction amount has risen or gone down compared to the previous
            # transaction: up | down | zero | zeroup | zerodown".
            if f.ticks > previous:
                self._direction = "up"
            elif f.ticks < previous:
                self._direction = "down"
            elif self._direction in ("up", "down"):
                self._direction = "zero" + self._direction
            previous = f.ticks
            self.directions.append(self._direction)
            self.recent.append((f, self._direction))
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.quote_volume += f.ticks * f.lots * scale
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
