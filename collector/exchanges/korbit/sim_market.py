"""The simulated Korbit KRW market: prices in won on Korbit's tick policy, and the 24 h statistics.

Korbit lists KRW pairs only. A coin trades about 2.5 % dearer in Korea than abroad (the
"kimchi premium"), so a pair is priced at its USD start price times 1400 KRW/USD times
1.025; dollar stablecoins (``usdt_krw``) sit at 1400. Ticks follow ``GET /v2/tickSizePolicy``
("from 0.0001 below 1 KRW to 1000 from 1,000,000 KRW").
"""

from __future__ import annotations

import math
import random

from ...errors import UnknownSymbol
from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price

__all__ = ["BOOK_LEVELS", "KRW_PER_USD", "KorbitMarket", "krw_spec"]

BOOK_LEVELS = 30
"""Levels per side of every ``orderbook`` frame ("up to 30 prices for each side")."""

KRW_PER_USD = 1400.0
"""The simulated exchange rate."""

_KRW_PREMIUM = 1.025
_STABLE = frozenset({"USDT", "USDC"})
# tickSizePolicy at and above 1 KRW, highest band first: (priceGte, tickSize in KRW).
_KRW_TICKS = (
    (1_000_000, 1000),
    (500_000, 500),
    (100_000, 100),
    (50_000, 50),
    (10_000, 10),
    (5_000, 5),
    (1_000, 1),
)


def krw_spec(symbol: str, seed: int) -> tuple[InstrumentSpec, int]:
    """The spec of ``BASE/KRW`` (native ``base_krw``) and its tick in whole won (0: decimals)."""
    try:
        base, quote, settle, _ = split_symbol(symbol)
    except ValueError as exc:
        raise UnknownSymbol(f"korbit: {exc}") from None
    if settle is not None or quote != "KRW" or base == quote:
        raise UnknownSymbol(f"korbit lists KRW pairs only, not {symbol!r}; pairs look like BTC/KRW")
    rng = random.Random(f"{seed}:korbit:{symbol}:spec")
    price = start_price(base, rng) * KRW_PER_USD
    if base not in _STABLE:
        price *= _KRW_PREMIUM
    unit = next((tick for floor, tick in _KRW_TICKS if price >= floor), 0)
    if unit:
        price_decimals = 0
        start_ticks = max(1, round(price / unit))
    else:
        # Below 1,000 KRW the policy steps by decades: 100 -> 0.1, 10 -> 0.01, 1 -> 0.001.
        price_decimals = min(4, max(0, 3 - math.floor(math.log10(price))))
        start_ticks = round(price * 10**price_decimals)
    size_decimals = 8
    spec = InstrumentSpec(
        symbol=symbol,
        native=f"{base.lower()}_krw",
        base=base,
        quote="KRW",
        settle=None,
        expiry=None,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=start_ticks,
        # A typical level holds about 3000 USD worth of the coin.
        mean_lots=max(1, round(3000.0 * KRW_PER_USD / price * 10**size_decimals)),
    )
    return spec, unit


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
