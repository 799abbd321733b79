"""Gemini symbols (``GET /v1/symbols`` and ``GET /v1/symbols/details/{symbol}``) as unified instruments.

``/v1/symbols`` lists native ids only (lower case, ``btcusd``, ``btcgusdperp``); base,
quote and kind come from one details call per symbol, so a listing takes one request per
symbol (see :class:`~collector.exchanges.gemini.GeminiAdapter` for how it stays within
the REST budget). From the details, never from splitting the id:

- ``product_type: spot`` (``contract_type: vanilla``): ``BTCUSD`` is ``BTC/USD``.
- ``product_type: swap``, a perpetual: ``linear`` contracts settle in their quote stablecoin,
  ``BTCGUSDPERP`` is ``BTC/GUSD:GUSD`` and ``BTCUSDCPERP`` is ``BTC/USDC:USDC``;
  ``inverse`` ones (documented, none listed) settle in the base. One contract is one unit of
  the base ("quantity" and book sizes are base units), so ``contract_size`` is 1.

``contract_price_currency`` is documented as the collateral currency of a perpetual, but
the listing gives ``GUSD`` for some USDC perpetuals and ``USDC`` for others, so it does not
name the settlement currency here.

Field names are misleading: ``tick_size`` is the size step and ``quote_increment`` the
price tick ("tick_size: the number of decimal places in the base_currency").
"""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, urlsplit

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import SymbolDetails

__all__ = [
    "DETAILS_PATH",
    "SYMBOLS_PATH",
    "decode_details",
    "decode_symbols",
    "details_native",
    "details_of",
    "instrument",
]

SYMBOLS_PATH = "/v1/symbols"
"""The native ids of every symbol, below the REST base ``https://api.gemini.com``."""

DETAILS_PATH = "/v1/symbols/details/"
"""Followed by a native id: base, quote, increments and kind of one symbol."""

_symbols = msgspec.json.Decoder(list[str])
_details = msgspec.json.Decoder(SymbolDetails)
_INACTIVE = frozenset({"closed"})


def decode_symbols(body: bytes) -> list[str]:
    """The native ids of a ``/v1/symbols`` answer; raises ``msgspec.DecodeError`` if it is not one."""
    return _symbols.decode(body)


def decode_details(body: bytes) -> SymbolDetails:
    """One ``/v1/symbols/details/{symbol}`` answer; raises ``msgspec.DecodeError`` if it is not one."""
    return _details.decode(body)


def details_native(url: str) -> str | None:
    """The native id a details URL asks about (lower case), or ``None`` for another URL.

    Besides Gemini's ``/v1/symbols/details/btcusd``, synthetic sessions record the same
    answer as ``/v1/symbols?symbol=btcusd`` (their listings live on one path).
    """
    return details_of(urlsplit(url))


def details_of(parts: SplitResult) -> str | None:
    """:func:`details_native` of a URL already split."""
    path = parts.path
    at = path.find(DETAILS_PATH)
    if at >= 0:
        native = path[at + len(DETAILS_PATH) :].strip("/")
        return native.lower() or None
    if path.endswith(SYMBOLS_PATH):
        asked = dict(parse_qsl(parts.query)).get("symbol")
        return asked.lower() if asked else None
    return None


def _positive(value: float | None) -> float | None:
    return value if value is not None and 0.0 < value < float("inf") else None


def instrument(exchange: str, d: SymbolDetails) -> Instrument | None:
    """The unified instrument of one symbol's details, or ``None`` for a kind this adapter does not map."""
    base, quote = d.base_currency, d.quote_currency
    if not (base and quote and d.symbol):
        return None
    active = d.status not in _INACTIVE
    tick, step = _positive(d.quote_increment), _positive(d.tick_size)
    if d.product_type == "spot":
        return Instrument(
            exchange=exchange,
            native=d.symbol,
            symbol=unified_symbol(base, quote),
            base=base,
            quote=quote,
            kind="spot",
            tick_size=tick,
            step_size=step,
            active=active,
        )
    if d.product_type != "swap" or d.contract_type not in ("linear", "inverse"):
        return None
    settle = quote if d.contract_type == "linear" else base
    return Instrument(
        exchange=exchange,
        native=d.symbol,
        symbol=unified_symbol(base, quote, settle),
        base=base,
        quote=quote,
        kind="swap",
        settle=settle,
        # "quantity" is in units of the base: one contract is one BTC on BTCGUSDPERP.
        contract_size=1.0,
        tick_size=tick,
        step_size=step,
        active=active,
    )
