"""The simulated Korbit KRW market: prices in won on Korbit's tick policy, and the 24 h statistics.

Korbit lists KRW pairs only. A coin trades about 2.5 % dearer in Korea than abroad (the
"kimchi premium"), so a pair is priced at its USD start price times 1400 KRW/USD times
1.025; dollar stablecoins (``usdt_krw``) sit at 1400 (:mod:`collector.simulator.krw`). Ticks
follow ``GET /v2/tickSizePolicy`` ("from 0.0001 below 1 KRW to 1000 from 1,000,000 KRW").
"""

from __future__ import annotations

import random

from ...simulator.krw import KRW_TICKS, Decimals, KrwMarket, KrwMarkets
from ...simulator.market import InstrumentSpec

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


class KorbitMarket(KrwMarket):
    """A :class:`~collector.simulator.krw.KrwMarket` that also keeps the last book sent."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, unit: int) -> None:
        super().__init__(spec, rng, depth=depth, unit=unit)
        # The last orderbook frame's levels and book time (ms).
        self.published: tuple[tuple[list[tuple[int, int]], list[tuple[int, int]]], int] | None = None
