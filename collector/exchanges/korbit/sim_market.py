"""The simulated Korbit KRW market: prices in won on Korbit's tick policy, and the 24 h statistics.

Korbit lists KRW pairs only. A coin trades about 2.5 % dearer in Korea than abroad (the
"kimchi premium"), so a pair is priced at its USD start price times 1400 KRW/USD times
1.025; dollar stablecoins (``usdt_krw``) sit at 1400 (:mod:`collector.simulator.krw`). Ticks
follow ``GET /v2/tickSizePolicy`` ("from 0.0001 below 1 KRW to 1000 from 1,000,000 KRW").
"""

from __future__ import annotations

import random

from ...simulator.krw import KRW_TICKS, Decimals, KrwMarkets
from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update

__all__ = ["BOOK_LEVELS", "KRW_MARKETS", "KorbitMarket"]

BOOK_LEVELS = 30
"""Levels per side of every ``orderbook`` frame ("up to 30 prices for each side")."""

KRW_MARKETS = KrwMarkets(
    premium=1.025,
    # tickSizePolicy at and above 1 KRW, highest band first: (priceGte, tickSize in KRW); from
    # 1,000 KRW up it is the common won table.
    ticks=KRW_TICKS,
    # Below 1,000 KRW the policy steps by decades: 100 -> 0.1, 10 -> 0.01, 1 -> 0.001.
    decimals=Decimals(at_one=3, most=4),
    native=lambda base: f"{base.lower()}_krw",
    noun="pairs",
)
"""Korbit's ``BASE/KRW`` pairs (native ``base_krw``): call ``KRW_MARKETS.spec(exchange, symbol, seed)``."""


class KorbitMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps the 24 h statistics, the last fill and the last book sent.

    The 24 h window starts with the simulation, at the start price (the previous close).
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, unit: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=10**9)
        self.unit = unit
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.quote_volume = 0.0  # KRW
        self.last_fill: Fill | None = None
        # The last orderbook frame's levels and book time (ms).
        self.published: tuple[tuple[list[tuple[int, int]], list[tuple[int, int]]], int] | None = None

    def price(self, ticks: int) -> str:
        """The wire text of a price in ticks (whole won for pairs with a won tick)."""
        return str(ticks * self.unit) if self.unit else self.spec.price(ticks)

    def value(self, ticks: int) -> float:
        """A price in ticks as KRW."""
        return float(ticks * self.unit) if self.unit else ticks / 10**self.spec.price_decimals

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        update = super().step(time_ms)
        scale = 10**self.spec.size_decimals
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.quote_volume += self.value(f.ticks) * f.lots / scale
            self.last_fill = f
        return update
