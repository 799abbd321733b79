"""Bitstamp's pair listing (``GET /api/v2/trading-pairs-info/``) as unified instruments.

- Spot pairs: ``{"name": "BTC/USD", "url_symbol": "btcusd", ...}`` is ``BTC/USD`` with
  native id ``btcusd``. The base and quote come from ``base_currency``/``counter_currency``
  where the listing has them, else from ``name``, the pair as Bitstamp writes it (never
  from the native id: ``usdcusd`` cannot be split by a rule).
- Perpetuals (``market_type`` ``PERPETUAL``, ``url_symbol`` ``btcusd-perp``) are linear
  contracts settled in the quote currency: ``BTC/USD:USD``, one contract =
  ``contract_size`` base units (1 where not given), so amounts are base units.
- Tick and step are ``10**-counter_decimals`` and ``10**-base_decimals``; ``trading``
  other than ``Enabled`` marks the pair inactive (it stays mappable: a recording may hold it).
- Entries are read one by one: one the listing writes in a shape this module does not
  know is left out, and the rest of the listing still maps.
"""

from __future__ import annotations

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import TradingPair

__all__ = ["INFO_PATH", "instruments"]

INFO_PATH = "/api/v2/trading-pairs-info/"
"""The public pair listing below the REST base ``https://www.bitstamp.net``."""

_entries = msgspec.json.Decoder(list[msgspec.Raw])
_pair = msgspec.json.Decoder(TradingPair, strict=False)
_PERPETUAL = frozenset({"PERPETUAL", "PERP", "SWAP"})
_PERP_SUFFIX = "-PERP"


def instruments(exchange: str, body: bytes) -> list[Instrument]:
    """Every pair of a listing body; raises ``msgspec.DecodeError`` (a ``ValueError``) if it is not one."""
    found = []
    for entry in _entries.decode(body):
        try:
            pair = _pair.decode(entry)
        except msgspec.DecodeError:
            continue
        inst = instrument(exchange, pair)
        if inst is not None:
            found.append(inst)
    return found


def instrument(exchange: str, p: TradingPair) -> Instrument | None:
    """The unified instrument of one listed pair (``None`` when its name names no base and quote)."""
    name_base, _, name_quote = p.name.partition("/")
    perpetual = p.market_type.upper() in _PERPETUAL or p.url_symbol.upper().endswith(_PERP_SUFFIX)
    if perpetual:
        # "BTC/USD-PERP" names the contract, not the quote currency.
        name_quote = name_quote.removesuffix(_PERP_SUFFIX)
    base = p.base_currency or name_base
    quote = p.counter_currency or name_quote
    if not (base and quote and p.url_symbol):
        return None
    tick = _increment(p.counter_decimals)
    step = _increment(p.base_decimals)
    active = p.trading == "Enabled"
    if not perpetual:
        return Instrument(
            exchange=exchange,
            native=p.url_symbol,
            symbol=unified_symbol(base, quote),
            base=base,
            quote=quote,
            kind="spot",
            tick_size=tick,
            step_size=step,
            active=active,
        )
    size = p.contract_size if p.contract_size is not None and 0.0 < p.contract_size < float("inf") else 1.0
    return Instrument(
        exchange=exchange,
        native=p.url_symbol,
        symbol=unified_symbol(base, quote, quote),
        base=base,
        quote=quote,
        kind="swap",
        settle=quote,
        contract_size=size,
        tick_size=tick,
        step_size=step,
        active=active,
    )


def _increment(decimals: int | None) -> float | None:
    """``10**-decimals``, or ``None`` for a precision the listing does not give."""
    return 10.0**-decimals if decimals is not None and 0 <= decimals <= 18 else None
