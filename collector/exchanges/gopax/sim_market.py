"""What the GOPAX simulator keeps beyond the neutral market: entry ids, ticker statistics, sessions.

- :class:`EntryCounter`: GOPAX's ``entryId`` is one counter for the whole exchange, +1 per
  level change, so every market of the wire draws from the same counter and a pair's
  consecutive deltas skip the ids of the other pairs' changes.
- :class:`GopaxMarket`: a :class:`~collector.simulator.market.SymbolMarket` whose levels
  remember their last ``(entryId, updatedAt)``, plus the ticker's statistics.
- :class:`GopaxSession`: one connection's Primus heartbeat state and subscriptions. GOPAX
  closes a connection (code 1000) 30 s after a ping that got no pong, "even while data
  flows": :meth:`GopaxSession.ping` does that at the next heartbeat.
"""

from __future__ import annotations

import random

from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Session

__all__ = ["EntryCounter", "GopaxMarket", "GopaxSession"]


class EntryCounter:
    """The exchange-wide ``entryId`` counter; :attr:`value` is the latest id issued (``maxEntryId``)."""

    __slots__ = ("value",)

    def __init__(self, start: int) -> None:
        self.value = start

    def next(self) -> int:
        """A new entry id."""
        self.value += 1
        return self.value


class GopaxMarket(SymbolMarket):
    """A market whose levels carry GOPAX entry ids, with the statistics a ticker reports.

    After each :meth:`step`, :attr:`entries` lists ``(side, ticks, lots, entryId)`` of the
    step's level changes in id order; ``meta`` maps each resting level's ticks to its
    ``(entryId, updatedAt ms)``. The day (``open``) and the 24 h window start with the
    simulation.
    """

    def __init__(
        self, spec: InstrumentSpec, rng: random.Random, counter: EntryCounter, *, depth: int, start_id: int
    ) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.counter = counter
        self.entries: list[tuple[str, int, int, int]] = []
        # Levels resting since before the simulation started have ids but no known update time.
        self.meta: dict[str, dict[int, tuple[int, int | None]]] = {
            "bid": {tick: (counter.next(), None) for tick in sorted(self.bids)},
            "ask": {tick: (counter.next(), None) for tick in sorted(self.asks)},
        }
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.quote_volume = 0.0
        self.last_trade_ms: int | None = None
        self.ticker_due = False  # traded since the last TickerEvent
        self.ticker_ms = 0  # when the last TickerEvent went out

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`), numbering every level change."""
        update = super().step(time_ms)
        counter = self.counter
        changes = [("bid", tick, lots) for tick, lots in update.bids] + [("ask", t, q) for t, q in update.asks]
        # Removals first: every book between two of the step's entries is then a part of the
        # book after the step, so a client applying them one at a time never sees it crossed
        # (a matching engine takes liquidity before it rests the rest of an order).
        changes.sort(key=_removals_first)
        entries = []
        for side, tick, lots in changes:
            entry_id = counter.next()
            if lots:
                self.meta[side][tick] = (entry_id, time_ms)
            else:
                self.meta[side].pop(tick, None)
            entries.append((side, tick, lots, entry_id))
        self.entries = entries
        if update.fills:
            scale = 1.0 / 10.0 ** (self.spec.price_decimals + self.spec.size_decimals)
            for f in update.fills:
                self.high = max(self.high, f.ticks)
                self.low = min(self.low, f.ticks)
                self.volume_lots += f.lots
                self.quote_volume += f.ticks * f.lots * scale
            self.last_trade_ms = time_ms
            self.ticker_due = True
        return update

    def ticker_now(self, time_ms: int) -> bool:
        """Whether a ``TickerEvent`` is due: "in 1 second aggregates", after trades."""
        if self.ticker_due and time_ms - self.ticker_ms >= 1000:
            self.ticker_due = False
            self.ticker_ms = time_ms
            return True
        return False


def _removals_first(change: tuple[str, int, int]) -> bool:
    return change[2] != 0


class GopaxSession(Session):
    """One connection: its subscriptions and the Primus ping it has not answered yet."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.requests: set[tuple[str, str]] = set()  # (request name, pair) subscribed
        self.outstanding: int | None = None  # the stamp of the last ping, until its pong

    def ping(self, now_ms: int) -> int | None:
        """The stamp of the next ping, or ``None`` when the last one went unanswered (and the
        server closes the connection, code 1000: "No reply -> server disconnects")."""
        if self.outstanding is not None:
            self.close_code = 1000
            return None
        self.outstanding = now_ms
        return now_ms

    def pong(self, stamp: int) -> None:
        """A client's pong: it must echo the outstanding ping's number."""
        if stamp == self.outstanding:
            self.outstanding = None
