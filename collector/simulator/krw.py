"""Won markets in the simulator: a coin's price in KRW, won tick tables and the spec of a market.

Korean venues price a coin at its dollar start price times :data:`KRW_PER_USD`, times the
venue's premium (coins trade dearer in Korea than abroad, the "kimchi premium"); dollar
stablecoins (:data:`STABLECOINS`) sit at the rate. From 1,000 KRW up a price moves in whole
ticks of a won table (:data:`KRW_TICKS`, or the venue's own); a cheaper coin quotes decimals
by a :class:`Decimals` rule.

Nothing here knows an exchange: each exchange package passes its own premium, table,
decimals rule and native id. A venue that lists KRW markets only declares a
:class:`KrwMarkets` and calls :meth:`KrwMarkets.spec`; a venue with other quotes too prices
with :func:`krw_price` and builds the spec with :func:`spot_spec`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias

from ..errors import UnknownSymbol
from .market import DayStats, Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price

__all__ = [
    "KRW_PER_USD",
    "KRW_TICKS",
    "LEVEL_USD",
    "STABLECOINS",
    "Decimals",
    "KrwMarket",
    "KrwMarkets",
    "TickTable",
    "krw_price",
    "spot_spec",
]

TickTable: TypeAlias = tuple[tuple[int, int], ...]
"""A won tick table, highest band first: ``(price at or above, tick in KRW)``."""

KRW_PER_USD = 1400.0
"""The simulated exchange rate."""

STABLECOINS = frozenset({"USDT", "USDC"})
"""Dollar stablecoins: they trade at :data:`KRW_PER_USD`, without a premium."""

KRW_TICKS: TickTable = (
    (1_000_000, 1000),
    (500_000, 500),
    (100_000, 100),
    (50_000, 50),
    (10_000, 10),
    (5_000, 5),
    (1_000, 1),
)
"""The won tick table most KRW venues follow from 1,000 KRW up; a venue whose bands differ passes its own."""

LEVEL_USD = 3000.0
"""A typical book level holds about this many dollars' worth of the coin."""

_SIZE_DECIMALS = 8  # sizes in 10**-8 of the coin


@dataclass(frozen=True, slots=True)
class Decimals:
    """The price decimals of a market that quotes decimals (below its tick table, if any).

    ``at_one`` decimals for a price from 1 to 10, one more for each decade cheaper and one
    fewer for each decade dearer, from 0 to ``most``. Pass it to :func:`spot_spec`.
    """

    at_one: int
    most: int = 8

    def __call__(self, price: float) -> int:
        """The price decimals of a market starting at ``price``."""
        return min(self.most, max(0, self.at_one - math.floor(math.log10(price))))


def krw_price(base: str, rng: random.Random, premium: float) -> float:
    """The start price of ``base`` in won: its dollar start price (drawn from ``rng`` for an
    unknown coin) times :data:`KRW_PER_USD`, times ``premium`` unless it is a dollar stablecoin.
    Pass it to :func:`spot_spec`."""
    price = start_price(base, rng) * KRW_PER_USD
    if base not in STABLECOINS:
        price *= premium
    return price


def spot_spec(
    symbol: str,
    native: str,
    price: float,
    *,
    ticks: TickTable,
    decimals: Decimals,
    level_value: float,
    size_decimals: int = _SIZE_DECIMALS,
) -> tuple[InstrumentSpec, int]:
    """The spec of the spot market ``symbol`` (``BASE/QUOTE``) starting at ``price``, and its tick
    in whole units of the quote (0 when it quotes decimals).

    At and above the lowest band of ``ticks`` the spec counts whole units (0 decimals) and a
    tick is the returned number of them: keep it beside the spec to print prices. Below it
    (or with no ``ticks``) ``decimals`` sets the price decimals. ``level_value`` is a typical
    level's worth in the quote currency; sizes have ``size_decimals`` decimals (8 unless given).
    """
    base, quote, _, _ = split_symbol(symbol)
    unit = next((tick for floor, tick in ticks if price >= floor), 0)
    if unit:
        price_decimals = 0
        start_ticks = max(1, round(price / unit))
    else:
        price_decimals = decimals(price)
        start_ticks = round(price * 10**price_decimals)
    spec = InstrumentSpec(
        symbol=symbol,
        native=native,
        base=base,
        quote=quote,
        settle=None,
        expiry=None,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=start_ticks,
        mean_lots=max(1, round(level_value / price * 10**size_decimals)),
    )
    return spec, unit


@dataclass(frozen=True, slots=True)
class KrwMarkets:
    """How a venue that lists KRW markets only specifies ``BASE/KRW``: declare one per exchange
    package and call :meth:`spec` from the wire's ``instrument``.

    ``premium`` multiplies the won price of every coin but a dollar stablecoin; ``ticks`` is
    the venue's won tick table and ``decimals`` its rule below it; ``native`` turns a base
    (``BTC``) into the venue's market id; ``noun`` is what the venue calls a market, in errors.
    """

    premium: float
    ticks: TickTable
    decimals: Decimals
    native: Callable[[str], str]
    noun: str = "markets"

    def spec(self, exchange: str, symbol: str, seed: int) -> tuple[InstrumentSpec, int]:
        """The spec of ``BASE/KRW`` on ``exchange`` and its tick in whole won (0 when it quotes
        decimals); keep the tick beside the spec to print prices. Other symbols raise
        :class:`~collector.errors.UnknownSymbol`."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"{exchange}: {exc}") from None
        if settle is not None or quote != "KRW" or base == quote:
            noun = self.noun
            raise UnknownSymbol(f"{exchange} lists KRW {noun} only, not {symbol!r}; {noun} look like BTC/KRW")
        price = krw_price(base, random.Random(f"{seed}:{exchange}:{symbol}:spec"), self.premium)
        level_value = LEVEL_USD * KRW_PER_USD
        return spot_spec(
            symbol, self.native(base), price, ticks=self.ticks, decimals=self.decimals, level_value=level_value
        )


class KrwMarket(SymbolMarket):
    """A won market of the simulator: ``unit`` is its tick in whole won (0: it quotes decimals,
    as :meth:`KrwMarkets.spec` returns it). Keeps the 24 h statistics (``day``, its
    ``counter_volume`` in KRW; the window starts with the simulation, at the start price) and
    the last fill; :meth:`price` writes a price the venue's way, :meth:`value` reads it in won.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, unit: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=10**9)
        self.unit = unit
        self.day = DayStats(spec.start_ticks)
        self.last_fill: Fill | None = None

    def price(self, ticks: int) -> str:
        """The wire text of a price in ticks (whole won for markets with a won tick)."""
        return str(ticks * self.unit) if self.unit else self.spec.price(ticks)

    def value(self, ticks: int) -> float:
        """A price in ticks as KRW."""
        return float(ticks * self.unit) if self.unit else ticks / 10**self.spec.price_decimals

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the 24 h statistics."""
        update = super().step(time_ms)
        fills = update.fills
        if fills:
            scale = 10**self.spec.size_decimals
            self.day.add(fills, [self.value(f.ticks) * f.lots / scale for f in fills])
            self.last_fill = fills[-1]
        return update
