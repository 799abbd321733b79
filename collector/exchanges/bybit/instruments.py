"""Bybit instrument listings (``GET /v5/market/instruments-info``) as unified instruments."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import msgspec

from ...actions import RestRequest
from ...symbols import Instrument, expiry_of, unified_symbol
from .schemas import InstrumentInfo, InstrumentsResponse

__all__ = ["CATEGORIES", "INFO_PATH", "decode_instruments"]

CATEGORIES = ("spot", "linear", "inverse")
"""The public categories the adapter serves, each on its own websocket path."""

INFO_PATH = "/v5/market/instruments-info"

_instruments = msgspec.json.Decoder(InstrumentsResponse, strict=False)
_PERPETUAL = frozenset({"LinearPerpetual", "InversePerpetual"})
_DATED = frozenset({"LinearFutures", "InverseFutures"})


def decode_instruments(exchange: str, request: RestRequest, body: bytes) -> tuple[str, list[Instrument], str]:
    """(category, instruments, next page cursor) of one listing page.

    Raises :class:`msgspec.DecodeError` for a body of another shape and :class:`ValueError`
    when Bybit rejected the request or lists a category the adapter does not serve.
    """
    resp = _instruments.decode(body)
    if resp.retCode != 0:
        raise ValueError(f"retCode {resp.retCode}: {resp.retMsg}")
    # Take the category from the body: it is what the instruments really are.
    category = resp.result.category or dict(parse_qsl(urlsplit(request.url).query)).get("category", "")
    if category not in CATEGORIES:
        raise ValueError(f"instrument listing for unsupported category {category!r}")
    instruments = []
    for info in resp.result.instruments:
        inst = _instrument(exchange, category, info)
        if inst is not None:
            instruments.append(inst)
    return category, instruments, resp.result.nextPageCursor


def _instrument(exchange: str, category: str, info: InstrumentInfo) -> Instrument | None:
    base, quote = info.baseCoin, info.quoteCoin
    if category == "spot":
        return Instrument(
            exchange=exchange,
            native=info.symbol,
            symbol=unified_symbol(base, quote),
            base=base,
            quote=quote,
            kind="spot",
            tick_size=info.priceFilter.tickSize,
            step_size=info.lotSizeFilter.basePrecision,
            active=info.status == "Trading",
        )
    settle = info.settleCoin or (quote if category == "linear" else base)
    if info.contractType in _PERPETUAL:
        expiry = None
    elif info.contractType in _DATED and info.deliveryTime:
        expiry = expiry_of(info.deliveryTime)
    else:
        return None  # options or a contract type the adapter does not know
    return Instrument(
        exchange=exchange,
        native=info.symbol,
        symbol=unified_symbol(base, quote, settle, expiry),
        base=base,
        quote=quote,
        kind="swap" if expiry is None else "future",
        settle=settle,
        expiry=expiry,
        # Inverse contracts are worth 1 USD each; linear sizes are already base units.
        contract_size=1.0,
        tick_size=info.priceFilter.tickSize,
        step_size=info.lotSizeFilter.qtyStep,
        active=info.status == "Trading",
    )
