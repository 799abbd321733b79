"""KuCoin instrument listings as unified instruments: spot symbols and futures contracts.

- Spot: ``GET /api/v2/symbols``; ``BTC-USDT`` is ``BTC/USDT`` from ``baseCurrency`` and
  ``quoteCurrency`` ("``GET /api/v1/symbols`` is deprecated because when the name of
  trading pairs changes, the baseCurrency in the response also changes"; recordings made
  with it still read, the shape is the same).
- Futures: ``GET /api/v1/contracts/active``; ``XBTUSDTM`` (linear, ``multiplier`` 0.001
  BTC per contract) is ``BTC/USDT:USDT``, ``XBTUSDM`` (``isInverse``, 1 USD per contract)
  is ``BTC/USD:BTC``, dated ``FFICSX`` contracts carry their ``expireDate``. KuCoin Futures
  names bitcoin ``XBT``; unified symbols say ``BTC``.
"""

from __future__ import annotations

import math

import msgspec

from ...symbols import Instrument, expiry_of, unified_symbol
from .schemas import Contract, ContractsResponse, SymbolsResponse

__all__ = ["ALIASES", "OK", "contract_instrument", "futures_instruments", "positive", "spot_instruments"]

OK = "200000"
"""KuCoin's success ``code`` in every REST answer ("200000 is for success, other is error")."""

ALIASES = {"XBT": "BTC"}
"""KuCoin currency codes that unified symbols spell otherwise."""

_symbols = msgspec.json.Decoder(SymbolsResponse, strict=False)
_contracts = msgspec.json.Decoder(ContractsResponse, strict=False)
_PERPETUAL = "FFWCSX"  # "Standardized swap contracts ... expiration swap funding rates"
_DATED = "FFICSX"  # "Futures Contract"


def positive(value: float | None) -> float | None:
    """``value`` when it can be a price or a step (finite, > 0), else ``None`` ("not given")."""
    return value if value is not None and 0.0 < value < math.inf else None


def spot_instruments(exchange: str, body: bytes) -> list[Instrument]:
    """Instruments of a spot symbol listing; raises ``ValueError`` for a refused or unreadable one."""
    resp = _symbols.decode(body)
    if resp.code != OK or resp.data is None:
        raise ValueError(f"code {resp.code}: {resp.msg[:200]}")
    return [
        Instrument(
            exchange=exchange,
            native=s.symbol,
            symbol=unified_symbol(s.baseCurrency, s.quoteCurrency),
            base=s.baseCurrency,
            quote=s.quoteCurrency,
            kind="spot",
            tick_size=positive(s.priceIncrement),
            step_size=positive(s.baseIncrement),
            active=s.enableTrading,
        )
        for s in resp.data
    ]


def futures_instruments(exchange: str, body: bytes) -> list[tuple[Instrument, Contract]]:
    """The contracts of a futures listing that map to unified instruments (see :func:`contract_instrument`),
    each with its listing entry; raises ``ValueError`` for a refused or unreadable listing."""
    resp = _contracts.decode(body)
    if resp.code != OK or resp.data is None:
        raise ValueError(f"code {resp.code}: {resp.msg[:200]}")
    pairs = []
    for c in resp.data:
        inst = contract_instrument(exchange, c)
        if inst is not None:
            pairs.append((inst, c))
    return pairs


def contract_instrument(exchange: str, c: Contract) -> Instrument | None:
    """The unified instrument of a contract, ``None`` for one the adapter cannot convert.

    Contract sizes: linear contracts are worth ``multiplier`` base units; inverse ones
    ``abs(multiplier)`` quote units ("All coin-swap contracts, such as each XBTUSDM
    contract, correspond to 1 USD"; the listing reports ``-1``).
    """
    size = abs(c.multiplier)
    if not 0.0 < size < math.inf:
        return None
    if c.type == _PERPETUAL:
        expiry = None
    elif c.type == _DATED and c.expireDate is not None and 0 < c.expireDate < 2**53:
        expiry = expiry_of(c.expireDate)
    else:
        return None
    base = ALIASES.get(c.baseCurrency, c.baseCurrency)
    quote = ALIASES.get(c.quoteCurrency, c.quoteCurrency)
    settle = ALIASES.get(c.settleCurrency, c.settleCurrency)
    return Instrument(
        exchange=exchange,
        native=c.symbol,
        symbol=unified_symbol(base, quote, settle, expiry),
        base=base,
        quote=quote,
        kind="swap" if expiry is None else "future",
        settle=settle,
        expiry=expiry,
        contract_size=size,
        tick_size=positive(c.tickSize),
        step_size=positive(c.lotSize),
        active=c.status == "Open",
    )
