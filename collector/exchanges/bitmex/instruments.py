"""BitMEX instruments from ``GET /api/v1/instrument/active``, and what a contract is worth.

Unified symbols come from the listing's fields, never from the native id (``shared/exchanges/bitmex.md``:
"never hard-code; build the map from /instrument/active"):

- ``typ`` ``FFWCSX``/``FFWCSF``: perpetual swap, ``FFCCSX``: dated future (its ``expiry``
  day is the symbol's ``YYMMDD``), ``IFXXXP``: spot; indices and other types are skipped.
- base ``underlying``, quote ``quoteCurrency``, settlement ``settlCurrency``; BitMEX's
  ``XBT`` is ``BTC`` and its minor units ``XBt``/``USDt`` are ``BTC``/``USDT``. So ``XBTUSD`` is
  ``BTC/USD:BTC``, ``XBTUSDT`` ``BTC/USDT:USDT``, ``XBTZ25`` ``BTC/USD:BTC-251226``,
  the quanto ``ETHUSD`` ``ETH/USD:BTC``, the spot pair ``XBT_USDT`` ``BTC/USDT``.

Sizes on the wire are contracts (:class:`Contract` converts them to base units):

- inverse (``isInverse``): a contract is worth ``multiplier / underlyingToSettleMultiplier``
  quote units (``XBTUSD``: -1e8 / -1e8 = 1 USD), so base = contracts * that / price;
- linear and spot: ``underlyingToPositionMultiplier`` contracts make one base unit
  (``XBTUSDT``: 1e6, so a contract is 0.000001 XBT);
- quanto (``isQuanto``) and anything without those multipliers: a contract's base amount
  depends on another price (``ETHUSD`` pays ``multiplier`` satoshi per USD), so the base
  amount is the ``homeNotional`` BitMEX computes for each trade.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ...symbols import Instrument, Kind, expiry_of, unified_symbol
from .schemas import InstrumentInfo

__all__ = ["INVERSE", "LINEAR", "NOTIONAL", "Contract", "asset", "parse_listing"]

LINEAR, INVERSE, NOTIONAL = 0, 1, 2
"""How a contract converts to base units (see the module docstring)."""

_KINDS: dict[str, Kind] = {"FFWCSX": "swap", "FFWCSF": "swap", "FFCCSX": "future", "IFXXXP": "spot"}
# BitMEX asset names -> the names unified symbols use (settlement currencies are minor units).
_ASSETS = {"XBT": "BTC", "XBt": "BTC", "USDt": "USDT", "Gwei": "ETH"}

_listing = msgspec.json.Decoder(list[InstrumentInfo], strict=False)


@dataclass(frozen=True, slots=True)
class Contract:
    """What one native instrument's contracts are worth.

    ``mode`` is :data:`LINEAR` (base = contracts * ``factor``), :data:`INVERSE` (base =
    contracts * ``factor`` / price, ``factor`` being the quote value of a contract) or
    :data:`NOTIONAL` (base amounts come from BitMEX's ``homeNotional``). ``value_divisor``
    turns ``openValue`` (settlement minor units) into quote units when settlement is in
    the quote currency's minor unit.
    """

    symbol: str
    mode: int
    factor: float
    value_divisor: float | None = None

    def base(self, contracts: float, price: float) -> float | None:
        """``contracts`` at ``price`` in base units (``None`` for :data:`NOTIONAL` contracts)."""
        mode = self.mode
        if mode == LINEAR:
            return contracts * self.factor
        if mode == INVERSE:
            return contracts * self.factor / price
        return None


def asset(code: str) -> str:
    """A BitMEX asset or currency code as unified symbols spell it (``XBt`` -> ``BTC``)."""
    return _ASSETS.get(code, code.upper())


def parse_listing(exchange: str, body: bytes) -> list[tuple[Instrument, Contract]]:
    """The tradeable instruments of a listing with their contract values; raises on a body that is not one.

    When two instruments would get the same unified symbol the shorter native id keeps it
    (``XBTUSD`` over a suffixed variant), the first listed on a tie.
    """
    infos = _listing.decode(body)
    chosen: dict[str, tuple[Instrument, Contract]] = {}
    for info in infos:
        parsed = _instrument(exchange, info)
        if parsed is None:
            continue
        held = chosen.get(parsed[0].symbol)
        if held is None or len(parsed[0].native) < len(held[0].native):
            chosen[parsed[0].symbol] = parsed
    return list(chosen.values())


def _instrument(exchange: str, info: InstrumentInfo) -> tuple[Instrument, Contract] | None:
    kind = _KINDS.get(info.typ or "")
    if kind is None or not info.underlying or not info.quoteCurrency:
        return None  # an index, a prediction market or a type this adapter does not know
    base, quote = asset(info.underlying), asset(info.quoteCurrency)
    settle = asset(info.settlCurrency) if kind != "spot" and info.settlCurrency else None
    if kind != "spot" and settle is None:
        return None
    expiry = None
    if kind == "future":
        if info.expiry is None:
            return None
        expiry = expiry_of(int(info.expiry.timestamp() * 1000))
    symbol = unified_symbol(base, quote, settle, expiry)
    contract = _contract(symbol, info)
    instrument = Instrument(
        exchange=exchange,
        native=info.symbol,
        symbol=symbol,
        base=base,
        quote=quote,
        kind=kind,
        settle=settle,
        expiry=expiry,
        contract_size=contract.factor,
        tick_size=info.tickSize,
        step_size=info.lotSize,  # contracts, as sizes are on the wire
        active=info.state == "Open",
    )
    return instrument, contract


def _contract(symbol: str, info: InstrumentInfo) -> Contract:
    if info.isInverse:
        multiplier, settle_units = info.multiplier, info.underlyingToSettleMultiplier
        value = multiplier / settle_units if multiplier and settle_units else 1.0
        return Contract(symbol, INVERSE, abs(value))
    if info.isQuanto or not info.underlyingToPositionMultiplier:
        return Contract(symbol, NOTIONAL, 1.0)
    return Contract(symbol, LINEAR, 1.0 / info.underlyingToPositionMultiplier, info.quoteToSettleMultiplier or None)
