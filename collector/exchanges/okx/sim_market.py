"""The simulated OKX instrument: contract terms, 24 h statistics and derivative data over the neutral market.

:class:`OkxMarket` is a :class:`~collector.simulator.market.SymbolMarket` that also keeps
what OKX's tickers, funding, open-interest and liquidation channels report, drawn from a
random generator of its own so the book's walk is the same whatever is subscribed.
:func:`contract` gives an instrument's contract terms from its spec alone: linear contracts
are worth a power of ten of the base (``0.01`` BTC, ``0.1`` ETH, ``1`` SOL: about 1,000 USD
or less), inverse ones 100 USD (BTC) or 10 USD (others); sizes on the wire are contracts.
"""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime
from typing import NamedTuple

from ...errors import UnknownSymbol
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price

__all__ = [
    "FUNDING_MS",
    "Contract",
    "Liquidation",
    "OkxMarket",
    "contract",
    "decimal",
    "delivery_ms",
    "linear_face",
    "okx_spec",
]

FUNDING_MS = 8 * 3_600_000
"""Funding is settled every 8 hours (00:00, 08:00, 16:00 UTC)."""


class Contract(NamedTuple):
    """How OKX lists an instrument: ``instType``, ``ctType``, face value and the index it follows."""

    inst_type: str  # SPOT, SWAP, FUTURES
    ct_type: str  # "linear", "inverse", "" on spot
    face: float  # ctVal: base units (linear) or USD (inverse) per contract; 1 on spot
    face_text: str
    family: str  # instFamily / uly: "BTC-USDT"; "" on spot


class Liquidation(NamedTuple):
    """One simulated forced liquidation: ``side`` of the liquidation order, price in ticks, size in lots."""

    side: str
    ticks: int
    lots: int
    time_ms: int


def delivery_ms(expiry: str) -> int:
    """``YYMMDD`` -> 08:00 UTC of that day in ms, when OKX's expiry futures deliver."""
    return int(datetime.strptime(expiry, "%y%m%d").replace(hour=8, tzinfo=UTC).timestamp() * 1000)


def decimal(value: float, places: int = 8) -> str:
    """A float as OKX prints a decimal: no exponent, no trailing zeros."""
    text = f"{value:.{places}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def linear_face(start_ticks: int, price_decimals: int) -> tuple[float, str]:
    """The face value of a linear contract: the power of ten of the base worth at most about 1,000 USD."""
    exponent = math.floor(math.log10(1000.0 / (start_ticks / 10**price_decimals)))
    text = f"{10.0**exponent:.{-exponent}f}" if exponent < 0 else str(10**exponent)
    return float(text), text


def contract(spec: InstrumentSpec) -> Contract:
    """The contract terms of ``spec`` (derived from the spec alone, so every wire instance agrees)."""
    if spec.settle is None:
        return Contract("SPOT", "", 1.0, "1", "")
    inst_type = "FUTURES" if spec.expiry else "SWAP"
    family = f"{spec.base}-{spec.quote}"
    if spec.settle == spec.quote:
        face, text = linear_face(spec.start_ticks, spec.price_decimals)
        return Contract(inst_type, "linear", face, text, family)
    return Contract(inst_type, "inverse", spec.contract_size, decimal(spec.contract_size), family)


class OkxMarket(SymbolMarket):
    """A market that also keeps the 24 h statistics, funding, open interest and liquidations OKX publishes.

    The 24 h statistics run from the start of the simulation (it stands in for "24 h ago").
    ``counter`` is ``volCcy24h``: quote units on spot, base units on contracts.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int, seed: str) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.terms = contract(spec)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.counter = 0.0
        self.last_lots = 0
        self.extra = random.Random(seed)  # funding, open interest, liquidations: not the book's rng
        self.funding_rate = 0.0001
        self.interest_lots = spec.mean_lots * 4000
        self.liquidations: list[Liquidation] = []
        self.book_ms = 0  # time of the last books push, for the "no change for ~60 s" heartbeat
        self.top5: tuple[list[tuple[int, int]], list[tuple[int, int]]] = ([], [])
        self.funding_ms = 0  # time of the last funding-rate push
        self.interest_ms = 0  # time of the last open-interest push
        self._lot = 10.0**-spec.size_decimals
        self._tick = 10.0**-spec.price_decimals

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update what the other channels report."""
        update = super().step(time_ms)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.last_lots = f.lots
            self.counter += self.counter_volume(f.lots, f.ticks)
        self.liquidations = []
        if self.terms.inst_type != "SPOT":
            extra = self.extra
            self.funding_rate = min(0.00375, max(-0.00375, self.funding_rate + extra.gauss(0.0, 0.000002)))
            self.interest_lots = max(1, self.interest_lots + int(extra.gauss(0.0, self.spec.mean_lots)))
            for f in update.fills:
                if extra.random() < 0.03:
                    # A liquidated long is sold, a liquidated short bought, at the fill's price.
                    side = "sell" if f.buyer_maker else "buy"
                    self.liquidations.append(Liquidation(side, f.ticks, max(1, f.lots // 2), time_ms))
        return update

    def mid_ticks(self) -> int:
        """The middle of the touch, in ticks (mark and index price of the simulation)."""
        bid, _, ask, _ = self.best()
        return (bid + ask) // 2

    def counter_volume(self, lots: int, ticks: int) -> float:
        """``volCcy`` of ``lots`` traded at ``ticks``: quote units on spot, base units on contracts."""
        size = lots * self._lot
        terms = self.terms
        if terms.inst_type == "SPOT":
            return size * ticks * self._tick
        if terms.ct_type == "linear":
            return size * terms.face
        return size * terms.face / (ticks * self._tick)


def okx_spec(symbol: str, seed: int) -> InstrumentSpec:
    """The simulated instrument of a unified symbol: ``BTC/USDT`` (BTC-USDT), ``BTC/USDT:USDT`` (BTC-USDT-SWAP),
    ``BTC/USD:BTC`` (BTC-USD-SWAP), ``BTC/USDT:USDT-250926`` (BTC-USDT-250926)."""
    try:
        base, quote, settle, expiry = split_symbol(symbol)
        if expiry:
            delivery_ms(expiry)
    except ValueError as exc:
        raise UnknownSymbol(f"okx: {exc}") from None
    if settle is not None and not (settle == quote or (settle == base and quote == "USD")):
        raise UnknownSymbol(f"okx lists no {symbol!r}; symbols look like BTC/USDT, BTC/USDT:USDT, BTC/USD:BTC")
    native = f"{base}-{quote}" if settle is None else f"{base}-{quote}-{expiry or 'SWAP'}"
    rng = random.Random(f"{seed}:okx:{symbol}:spec")
    price = start_price(base, rng)
    magnitude = math.floor(math.log10(price))
    price_decimals = min(8, max(0, 5 - magnitude))
    start_ticks = round(price * 10**price_decimals)
    face = 1.0
    if settle is None:
        size_decimals = min(8, max(0, magnitude + 4))
        mean_lots = max(1, round(3000.0 / price * 10**size_decimals))
    elif settle == quote:
        # Linear: lots of 0.01 contract, each worth linear_face() of the base.
        size_decimals = 2
        mean_lots = max(1, round(3000.0 / (linear_face(start_ticks, price_decimals)[0] * price))) * 100
    else:
        # Inverse: whole contracts of 100 USD (BTC) or 10 USD.
        size_decimals, face = 0, 100.0 if base == "BTC" else 10.0
        mean_lots = max(1, round(3000.0 / face))
    return InstrumentSpec(
        symbol=symbol,
        native=native,
        base=base,
        quote=quote,
        settle=settle,
        expiry=expiry,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=start_ticks,
        mean_lots=mean_lots,
        contract_size=face,
    )
