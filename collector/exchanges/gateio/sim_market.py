"""The simulated Gate instruments and what Gate's channels report about them beyond the book.

Spot pairs are ``BASE_QUOTE`` with base-unit amounts. Perpetuals are ``BASE_USDT`` on the
``usdt`` path (linear: one contract is ``quanto_multiplier`` base units, picked so one
contract is worth a few USDT, as Gate's are) and ``BTC_USD`` on the ``btc`` path (inverse:
one contract is 1 USD); their sizes are whole contracts. :class:`GateMarket` adds the 24 h
statistics of ``spot.tickers``/``futures.tickers``, the open interest and the count of book
messages sent (every :data:`FULL_EVERY`-th one is a ``full`` book).
"""

from __future__ import annotations

import math
import random

from ...errors import UnknownSymbol
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price

__all__ = ["FULL_EVERY", "FUNDING_S", "GateMarket", "contract_route", "make_spec", "multiplier_of"]

FULL_EVERY = 500
"""Every this many book messages of a market, Gate's server pushes a ``full: true`` book instead of a diff."""

FUNDING_S = 8 * 3600
"""Seconds between fundings (``funding_interval``: 28800)."""


def contract_route(spec: InstrumentSpec) -> str:
    """The websocket path (settlement currency) a perpetual is served on: ``usdt`` or ``btc``."""
    return "btc" if spec.settle == spec.base else "usdt"


def multiplier_of(spec: InstrumentSpec) -> float:
    """Base units per contract of a linear perpetual (``quanto_multiplier``): about 5 USDT a contract."""
    return _multiplier(spec.start_ticks / 10**spec.price_decimals)


def _multiplier(price: float) -> float:
    return float(10.0 ** round(math.log10(5.0 / price)))


def make_spec(exchange: str, symbol: str, seed: int, futures: bool) -> InstrumentSpec:
    """The simulated instrument of ``symbol`` (``UnknownSymbol`` for one this market does not list)."""
    try:
        base, quote, settle, expiry = split_symbol(symbol)
    except ValueError as exc:
        raise UnknownSymbol(f"{exchange}: {exc}") from None
    if futures:
        linear = settle == quote == "USDT"
        inverse = settle == base == "BTC" and quote == "USD"
        if expiry or not (linear or inverse):
            raise UnknownSymbol(f"{exchange} lists no {symbol!r}; perpetuals look like BTC/USDT:USDT, BTC/USD:BTC")
    elif settle is not None:
        raise UnknownSymbol(f"{exchange} lists no {symbol!r}; spot pairs look like BTC/USDT")
    rng = random.Random(f"{seed}:{exchange}:{symbol}:spec")
    price = start_price(base, rng)
    magnitude = math.floor(math.log10(price))
    price_decimals = min(8, max(0, (5 if futures else 6) - magnitude))
    start_ticks = round(price * 10**price_decimals)
    if not futures:
        size_decimals = min(8, max(0, magnitude + 2))
        mean_lots = max(1, round(3000.0 / price * 10**size_decimals))
    elif settle == base:
        size_decimals, mean_lots = 0, 3000  # 1 USD contracts
    else:
        size_decimals = 0
        mean_lots = max(1, round(3000.0 / (price * _multiplier(start_ticks / 10**price_decimals))))
    return InstrumentSpec(
        symbol=symbol,
        native=f"{base}_{quote}",
        base=base,
        quote=quote,
        settle=settle,
        expiry=None,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=start_ticks,
        mean_lots=mean_lots,
    )


class GateMarket(SymbolMarket):
    """A :class:`SymbolMarket` with Gate's 24 h statistics (from the start of the simulation),
    open interest in contracts and the number of book messages sent."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.quote_volume = 0.0
        self.open_interest = spec.mean_lots * 2000
        self.book_messages = 0
        self._scale = 1.0 / 10.0 ** (spec.price_decimals + spec.size_decimals)

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        update = super().step(time_ms)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.quote_volume += f.ticks * f.lots * self._scale
            # Takers opening and closing positions move the open interest a little.
            self.open_interest = max(1, self.open_interest + (f.lots if f.agg_id % 2 else -f.lots))
        return update

    def next_book_is_full(self) -> bool:
        """Count one book message; whether it is the one that goes out as a ``full`` book."""
        self.book_messages += 1
        return self.book_messages % FULL_EVERY == 0
