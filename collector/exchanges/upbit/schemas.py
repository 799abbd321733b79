"""Upbit websocket and REST messages, one struct each.

Upbit sends every message in one of two key sets, chosen per connection by the
subscribe request's ``format``: ``DEFAULT`` (``trade_price``) or ``SIMPLE`` (``tp``).
The structs below carry the DEFAULT names; :func:`_abbreviated` derives the SIMPLE
variant of each (a subclass with the same attributes read from the short keys), so
one converter serves both formats. Numbers are JSON numbers, not strings.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

import msgspec
from msgspec.structs import fields

from ..fields import Id, Millis, Price, Size

__all__ = [
    "Envelope",
    "ErrorBody",
    "Market",
    "Orderbook",
    "OrderbookUnit",
    "SimpleOrderbook",
    "SimpleOrderbookUnit",
    "SimpleTicker",
    "SimpleTrade",
    "Ticker",
    "Trade",
]

_S = TypeVar("_S", bound=msgspec.Struct)


def _abbreviated(cls: type[_S], keys: dict[str, str], types: dict[str, Any] | None = None) -> type[_S]:
    """A subclass of ``cls`` that reads the same fields from Upbit's SIMPLE keys.

    Every field is redeclared so the subclass's ``rename`` applies to it (msgspec keeps
    an inherited field's wire name otherwise); ``types`` swaps nested struct types.
    """
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in fields(cls):
        kind = (types or {}).get(f.name, f.type)
        spec.append((f.name, kind) if f.required else (f.name, kind, f.default))
    return cast("type[_S]", msgspec.defstruct("Simple" + cls.__name__, spec, bases=(cls,), rename=keys))


class ErrorBody(msgspec.Struct):
    """``{"error": {"name": "WRONG_FORMAT", "message": "..."}}``."""

    name: str = ""
    message: str = ""


class Envelope(msgspec.Struct):
    """What kind of message a frame is: data (``type``/``ty``), ``{"status":"UP"}`` or an error."""

    type: str = ""  # DEFAULT format: "trade", "ticker", "orderbook"
    ty: str = ""  # SIMPLE format: the same
    status: str = ""  # "UP": the answer to a text PING
    error: ErrorBody | None = None


class Trade(msgspec.Struct):
    """``trade``: one fill. ``ask_bid`` is the taker side (``BID`` = the buyer took the ask)."""

    code: str  # market, QUOTE-BASE: "KRW-BTC"
    trade_price: Price
    trade_volume: Size
    ask_bid: str  # "BID" or "ASK"
    trade_timestamp: Millis  # fill time, ms
    sequential_id: Id  # unique trade id; no ordering guarantee
    timestamp: Millis | None = None  # server send time, ms
    stream_type: str = ""  # "SNAPSHOT" or "REALTIME"


class Ticker(msgspec.Struct):
    """``ticker``: last price and statistics; no best bid/ask."""

    code: str
    trade_price: Price  # last price
    opening_price: Price | None = None  # since 00:00 UTC
    high_price: Price | None = None  # since 00:00 UTC
    low_price: Price | None = None  # since 00:00 UTC
    acc_trade_volume_24h: Size | None = None  # rolling 24 h, base units
    acc_trade_price_24h: Size | None = None  # rolling 24 h, quote units
    timestamp: Millis | None = None  # ms
    stream_type: str = ""


class OrderbookUnit(msgspec.Struct):
    """One row of ``orderbook_units``: the i-th best ask and the i-th best bid.

    Thin books are padded with rows of price 0, which are not levels (the adapter drops
    them), so prices here are only non-negative.
    """

    ask_price: Size
    bid_price: Size
    ask_size: Size
    bid_size: Size


class Orderbook(msgspec.Struct):
    """``orderbook``: a full snapshot of the top levels (30 by default), best first."""

    code: str
    orderbook_units: list[OrderbookUnit]
    timestamp: Millis | None = None  # ms
    total_ask_size: float | None = None
    total_bid_size: float | None = None
    stream_type: str = ""


class Market(msgspec.Struct):
    """One entry of ``GET /v1/market/all``."""

    market: str  # QUOTE-BASE, e.g. "KRW-BTC"
    english_name: str = ""
    market_warning: str = ""  # with is_details=true: "NONE" or "CAUTION"


SimpleTrade = _abbreviated(
    Trade,
    {
        "code": "cd",
        "trade_price": "tp",
        "trade_volume": "tv",
        "ask_bid": "ab",
        "trade_timestamp": "ttms",
        "sequential_id": "sid",
        "timestamp": "tms",
        "stream_type": "st",
    },
)
SimpleTicker = _abbreviated(
    Ticker,
    {
        "code": "cd",
        "trade_price": "tp",
        "opening_price": "op",
        "high_price": "hp",
        "low_price": "lp",
        "acc_trade_volume_24h": "atv24h",
        "acc_trade_price_24h": "atp24h",
        "timestamp": "tms",
        "stream_type": "st",
    },
)
SimpleOrderbookUnit = _abbreviated(
    OrderbookUnit, {"ask_price": "ap", "bid_price": "bp", "ask_size": "as", "bid_size": "bs"}
)
SimpleOrderbook = _abbreviated(
    Orderbook,
    {
        "code": "cd",
        "orderbook_units": "obu",
        "timestamp": "tms",
        "total_ask_size": "tas",
        "total_bid_size": "tbs",
        "stream_type": "st",
    },
    {"orderbook_units": list[SimpleOrderbookUnit]},  # type: ignore[valid-type]
)
