"""What the BitMEX simulator keeps beside the neutral market: contract terms, row ids, table views.

- :class:`Terms`: how one simulated instrument is listed (``typ``, multipliers, lot) and how
  many contracts a market-model lot is.
- :class:`BitmexMarket`: a :class:`~collector.simulator.market.SymbolMarket` that also keeps an
  opaque row id per price level (post-2023 ids "are arbitrary"), the latest trade rows (the
  ``trade`` image), the last closed bars (the ``tradeBin`` images) and the open liquidation
  orders.
- :class:`View`: what one book table (``orderBookL2`` or ``orderBookL2_25``) has published, and
  the ``delete``/``update``/``insert`` rows that bring it up to the market.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from ...simulator.market import DayStats, InstrumentSpec, SymbolMarket, TickDirection, Update

__all__ = ["XBT_USD", "BitmexMarket", "Changes", "Terms", "View", "iso"]

XBT_USD = 60_000.0
"""The bitcoin price quanto contracts are converted at (they pay satoshi per USD of price)."""

_TICK_WORDS = ("PlusTick", "MinusTick", "ZeroPlusTick", "ZeroMinusTick")  # tickDirection: up, down, same after each

_SECONDS: dict[int, str] = {}


def iso(ms: int) -> str:
    """Epoch milliseconds as BitMEX writes times: ``2023-05-19T08:51:43.911Z``."""
    second, milli = divmod(ms, 1000)
    text = _SECONDS.get(second)
    if text is None:
        if len(_SECONDS) > 10_000:
            _SECONDS.clear()
        text = _SECONDS[second] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{text}.{milli:03d}Z"


@dataclass(frozen=True, slots=True)
class Terms:
    """How a simulated instrument is listed. ``lot`` is contracts per market-model lot.

    ``kind`` is ``inverse`` (a contract is 1 quote unit), ``linear``/``spot``
    (``position_multiplier`` contracts per base unit) or ``quanto`` (``multiplier`` satoshi
    per quote unit of price).
    """

    kind: str
    typ: str
    lot: int
    multiplier: int
    position_multiplier: int | None
    settle: str  # the listing's settlCurrency ("XBt", "USDt", "" on spot)

    def home(self, contracts: int, price: float) -> float:
        """The base amount BitMEX reports as ``homeNotional``."""
        if self.kind == "inverse":
            return round(contracts / price, 8)
        if self.kind == "quanto":
            return contracts * self.multiplier * 1e-8 * XBT_USD
        assert self.position_multiplier is not None
        return contracts / self.position_multiplier


Changes = tuple[list[tuple[str, int, int]], list[tuple[str, int, int]], list[tuple[str, int, int]]]
"""``(deleted, updated, inserted)`` rows as ``(side, tick, contracts)``, side ``Buy``/``Sell``."""


@dataclass(slots=True)
class View:
    """What a book table of one market has published: every level, or the best ``depth``."""

    depth: int | None
    bids: dict[int, int] = field(default_factory=dict)  # tick -> lots
    asks: dict[int, int] = field(default_factory=dict)
    market_id: int = -1  # the market's last_id when the view was last brought up to date

    def image(self, market: SymbolMarket) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Bring the view up to the market and return its levels ``(bids, asks)``, best first."""
        self.sync(market)
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def sync(self, market: SymbolMarket) -> Changes:
        """The rows that turn the view into the market's best ``depth`` levels (or all of them)."""
        if self.depth is None:
            bids, asks = list(market.bids.items()), list(market.asks.items())
        else:
            bids, asks = market.levels(self.depth)
        changes: Changes = ([], [], [])
        for side, held, levels in (("Buy", self.bids, bids), ("Sell", self.asks, asks)):
            target = dict(levels)
            for tick in [t for t in held if t not in target]:
                del held[tick]
                changes[0].append((side, tick, 0))
            self._apply(side, held, target.items(), changes)
        self.market_id = market.last_id
        return changes

    def advance(self, market: SymbolMarket, update: Update) -> Changes:
        """The rows one market step makes (the step's own levels when the view holds the whole book)."""
        if self.market_id == update.last_id:
            return [], [], []
        if self.depth is not None or self.market_id != update.prev_id:
            return self.sync(market)
        changes: Changes = ([], [], [])
        self._apply("Buy", self.bids, update.bids, changes)
        self._apply("Sell", self.asks, update.asks, changes)
        self.market_id = market.last_id
        return changes

    @staticmethod
    def _apply(side: str, held: dict[int, int], levels: Any, changes: Changes) -> None:
        for tick, lots in levels:
            before = held.get(tick)
            if not lots:
                if before is not None:
                    del held[tick]
                    changes[0].append((side, tick, 0))
            elif before is None:
                held[tick] = lots
                changes[2].append((side, tick, lots))
            elif before != lots:
                held[tick] = lots
                changes[1].append((side, tick, lots))


class BitmexMarket(SymbolMarket):
    """A market that also keeps BitMEX's row ids, recent trades, closed bars and liquidation orders."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, terms: Terms, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.terms = terms
        self._ids: dict[tuple[str, int], int] = {}
        self._next_id = start_id * 7
        self.recent_trades: list[dict[str, Any]] = []  # the rows of the latest step with trades
        self.closed_bins: dict[str, dict[str, Any]] = {}  # interval -> the last closed bar's row
        self.liquidations: dict[str, dict[str, Any]] = {}  # orderID -> open liquidation order row
        self.done_liquidations: list[dict[str, Any]] = []  # liquidation orders whose rows are deleted now
        self.tick_direction = TickDirection(spec.start_ticks, _TICK_WORDS)
        self.instrument: dict[str, Any] = {}  # the instrument fields last published
        # 24 h statistics: counter_volume is foreignNotional; homeNotional is BitMEX's own.
        self.day = DayStats(spec.start_ticks)
        self.home_volume = 0.0

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and keep BitMEX's trade and liquidation rows."""
        update = super().step(time_ms)
        # The liquidation orders of the previous step are done: their rows leave the table now.
        self.done_liquidations = list(self.liquidations.values())
        self.liquidations = {}
        if not update.fills:
            return update
        stamp = iso(time_ms)
        spec, terms = self.spec, self.terms
        rows: list[dict[str, Any]] = []
        for f, direction in zip(update.fills, self.tick_direction.advance(update.fills), strict=True):
            price = float(spec.price(f.ticks))
            size = self.contracts(f.lots)
            home = terms.home(size, price)
            side = "Sell" if f.buyer_maker else "Buy"
            rows.append(
                {
                    "timestamp": stamp,
                    "symbol": spec.native,
                    "side": side,
                    "size": size,
                    "price": price,
                    "tickDirection": direction,
                    "trdMatchID": _uuid(f.agg_id),
                    "grossValue": round(home * 1e8) if terms.kind != "linear" else round(size * price),
                    "homeNotional": home,
                    "foreignNotional": size if terms.kind == "inverse" else home * price,
                    "trdType": "Regular",
                }
            )
            self.home_volume += home
            if f.agg_id % 25 == 0:
                # Now and then a fill is a liquidation order taking liquidity.
                order = _uuid(f.agg_id * 31 + 7)
                self.liquidations[order] = {
                    "orderID": order,
                    "symbol": spec.native,
                    "side": side,
                    "price": price,
                    "leavesQty": size,
                }
        self.day.add(update.fills, (row["foreignNotional"] for row in rows))
        self.recent_trades = rows
        return update

    def row_id(self, side: str, tick: int) -> int:
        """The opaque id of a price level (stable while the level exists, and after)."""
        key = (side, tick)
        found = self._ids.get(key)
        if found is None:
            self._next_id += 1 + (tick * 7919) % 13
            found = self._ids[key] = self._next_id
        return found

    def contracts(self, lots: int) -> int:
        """Market-model lots as contracts on the wire."""
        return lots * self.terms.lot


def _uuid(n: int) -> str:
    """A trade or order id shaped like BitMEX's (a UUID), derived from a number."""
    text = f"{n:032x}"[-32:]
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"
