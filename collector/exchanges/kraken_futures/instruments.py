"""Kraken Futures instruments from ``GET /derivatives/api/v3/instruments``.

- ``futures_inverse``: ``PI_`` perpetuals and ``FI_`` dated futures, settled in the base
  coin, one contract worth ``contractSize`` USD: ``PI_XBTUSD`` is ``BTC/USD:BTC``,
  ``FI_XBTUSD_210924`` is ``BTC/USD:BTC-210924``.
- ``flexible_futures`` (and the older ``futures_vanilla``): ``PF_`` perpetuals and ``FF_``
  dated futures, margined in USD, one contract worth ``contractSize`` base units:
  ``PF_XBTUSD`` is ``BTC/USD:USD``.
- A contract is dated when it has a ``lastTradingTime``; its day is the symbol's expiry.

Newer listings name ``base`` and ``quote``. Older ones (lowercase symbols) do not; for
those the pair is read from Kraken's documented symbol layout ``<type>_<base><quote>[_<YYMMDD>]``
with a three-letter quote, the only place it is given. ``XBT`` is ``BTC``.
"""

from __future__ import annotations

import msgspec

from ...symbols import Instrument, expiry_of, unified_symbol
from .schemas import FuturesInstrument, InstrumentsResponse

__all__ = ["INVERSE", "LINEAR", "parse_instruments"]

INVERSE = frozenset({"futures_inverse"})
"""Instrument types whose contracts are worth a fixed USD amount, settled in the base coin."""
LINEAR = frozenset({"flexible_futures", "futures_vanilla"})
"""Instrument types whose contracts are worth a fixed amount of the base asset, margined in USD."""

_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}
_decoder = msgspec.json.Decoder(InstrumentsResponse, strict=False)


def parse_instruments(exchange: str, body: bytes) -> list[Instrument]:
    """Tradeable and listed futures of an instrument listing; raises ``ValueError`` when Kraken reports an error."""
    resp = _decoder.decode(body)
    if resp.result != "success":
        raise ValueError(f"instruments: {resp.result or 'no result'} {resp.error[:200]}")
    out = []
    for info in resp.instruments:
        inst = _instrument(exchange, info)
        if inst is not None:
            out.append(inst)
    return out


def _instrument(exchange: str, info: FuturesInstrument) -> Instrument | None:
    inverse = info.type in INVERSE
    if not (inverse or info.type in LINEAR):
        return None  # an index ("spot index") or a type this adapter does not know
    native = info.symbol.upper()
    base, quote = info.base, info.quote
    if not (base and quote):
        pair = native.split("_")[1] if native.count("_") >= 1 else ""
        base, quote = pair[:-3], pair[-3:]
        if not base:
            return None
    base, quote = _ASSETS.get(base, base), _ASSETS.get(quote, quote)
    settle = base if inverse else quote
    expiry = expiry_of(int(info.lastTradingTime.timestamp() * 1000)) if info.lastTradingTime is not None else None
    precision = info.contractValueTradePrecision
    return Instrument(
        exchange=exchange,
        native=native,
        symbol=unified_symbol(base, quote, settle, expiry),
        base=base,
        quote=quote,
        kind="swap" if expiry is None else "future",
        settle=settle,
        expiry=expiry,
        contract_size=info.contractSize,
        tick_size=info.tickSize,
        step_size=10.0**-precision if precision is not None else (1.0 if inverse else None),
        active=info.tradeable,
    )
