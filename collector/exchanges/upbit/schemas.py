"""Upbit websocket and REST messages, one struct each.

Upbit sends every message in one of two key sets, chosen per connection by the
subscribe request's ``format``: ``DEFAULT`` (``trade_price``) or ``SIMPLE`` (``tp``).
The structs below carry the DEFAULT names; :func:`abbreviated` derives the SIMPLE
variant of each (a subclass with the same attributes read from the short keys), so
one converter serves both formats. Numbers are JSON numbers, not strings.

Bithumb's current socket copies these messages; its package derives its own variants
from the same structs where its field types differ.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar, cast

import msgspec
from msgspec.structs import fields

from ..fields import Finite, Id, Millis, Price, Size

__all__ = [
    "CANDLE_KEYS",
    "ORDERBOOK_KEYS",
    "TICKER_KEYS",
    "TRADE_KEYS",
    "UNIT_KEYS",
    "Candle",
    "Envelope",
    "ErrorBody",
    "Market",
    "Orderbook",
    "OrderbookUnit",
    "SimpleCandle",
    "SimpleOrderbook",
    "SimpleOrderbookUnit",
    "SimpleTicker",
    "SimpleTrade",
    "Ticker",
    "Trade",
    "abbreviated",
]

_S = TypeVar("_S", bound=msgspec.Struct)


def abbreviated(cls: type[_S], keys: dict[str, str], types: dict[str, Any] | None = None) -> type[_S]:
    """A subclass of ``cls`` that reads the same fields from Upbit's SIMPLE keys.

    Every field is redeclared so the subclass's ``rename`` applies to it (msgspec keeps
    an inherited field's wire name otherwise); ``types`` swaps nested struct types.
    """
    spec: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in fields(cls):
        kind = (types or {}).get(f.name, f.type)
        spec.append((f.name, kind) if f.required else (f.name, kind, f.default))
    return cast("type[_S]", msgspec.defstruct("Simple" + cls.__name__, spec, bases=(cls,), rename=keys))


class ErrorBody(msgspec.Struct, gc=False):
    """``{"error": {"name": "WRONG_FORMAT", "message": "..."}}``."""

    name: str = ""
    message: str = ""


class Envelope(msgspec.Struct, gc=False):
    """What kind of message a frame is when its first key does not say it: data
    (``type``/``ty``), ``{"status":"UP"}``, an error or a ``LIST_SUBSCRIPTIONS`` answer."""

    type: str = ""  # DEFAULT format: "trade", "ticker", "orderbook", "candle.1m"
    ty: str = ""  # SIMPLE format: the same
    status: str = ""  # "UP": the answer to a text PING
    error: ErrorBody | None = None
    method: str = ""  # "LIST_SUBSCRIPTIONS"
    mthd: str = ""  # the same, SIMPLE


class Trade(msgspec.Struct, gc=False):
    """``trade``: one fill. ``ask_bid`` is the taker side (``BID`` = the buyer took the ask)."""

    code: str  # market, QUOTE-BASE: "KRW-BTC"
    trade_price: Price
    trade_volume: Size
    ask_bid: str  # "BID" or "ASK"
    trade_timestamp: Millis  # fill time, ms
    sequential_id: Id  # unique trade id; no ordering guarantee
    timestamp: Millis | None = None  # server send time, ms
    stream_type: str = ""  # "SNAPSHOT" or "REALTIME"


class Ticker(msgspec.Struct, gc=False):
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


class OrderbookUnit(msgspec.Struct, gc=False):
    """One row of ``orderbook_units``: the i-th best ask and the i-th best bid.

    Thin books are padded with rows of price 0, which are not levels (the adapter drops
    them), so prices here are only non-negative.
    """

    ask_price: Size
    bid_price: Size
    ask_size: Size
    bid_size: Size


class Orderbook(msgspec.Struct, gc=False):
    """``orderbook``: a full snapshot of the top levels (30 by default), best first.

    ``level`` is the price grouping unit the book was subscribed with ("호가 모아보기",
    KRW markets only; 0 = none): a grouped book is another book of the same market.
    """

    code: str
    orderbook_units: list[OrderbookUnit]
    timestamp: Millis | None = None  # ms
    total_ask_size: float | None = None
    total_bid_size: float | None = None
    stream_type: str = ""
    level: Finite = 0.0  # absent from captures made before grouping existed (2024)


class Candle(msgspec.Struct, gc=False):
    """``candle.<unit>``: the bar starting at ``candle_date_time_utc``, as it stands.

    "캔들은 해당 시간대에 체결이 발생하여 직전 캔들 대비 캔들 데이터가 변경될 때에만
    생성됩니다": sent (at most once a second) only when a trade changed the bar; the same
    bar may come several times and "the last one received is the latest".
    """

    code: str
    candle_date_time_utc: datetime  # bar start, UTC, "yyyy-MM-ddTHH:mm:ss" (no zone)
    opening_price: Price
    high_price: Price
    low_price: Price
    trade_price: Price  # the close so far
    candle_acc_trade_volume: Size  # base units traded in the bar
    candle_acc_trade_price: Size | None = None  # quote units traded in the bar
    timestamp: Millis | None = None  # ms
    stream_type: str = ""


class Market(msgspec.Struct, gc=False):
    """One entry of ``GET /v1/market/all``."""

    market: str  # QUOTE-BASE, e.g. "KRW-BTC"
    english_name: str = ""
    market_warning: str = ""  # with is_details=true: "NONE" or "CAUTION"


# SIMPLE abbreviations (docs, "구독 데이터 명세": the 축약형 column of each type).
TRADE_KEYS = {
    "code": "cd",
    "trade_price": "tp",
    "trade_volume": "tv",
    "ask_bid": "ab",
    "trade_timestamp": "ttms",
    "sequential_id": "sid",
    "timestamp": "tms",
    "stream_type": "st",
}
TICKER_KEYS = {
    "code": "cd",
    "trade_price": "tp",
    "opening_price": "op",
    "high_price": "hp",
    "low_price": "lp",
    "acc_trade_volume_24h": "atv24h",
    "acc_trade_price_24h": "atp24h",
    "timestamp": "tms",
    "stream_type": "st",
}
UNIT_KEYS = {"ask_price": "ap", "bid_price": "bp", "ask_size": "as", "bid_size": "bs"}
ORDERBOOK_KEYS = {
    "code": "cd",
    "orderbook_units": "obu",
    "timestamp": "tms",
    "total_ask_size": "tas",
    "total_bid_size": "tbs",
    "stream_type": "st",
    "level": "lv",
}
CANDLE_KEYS = {
    "code": "cd",
    "candle_date_time_utc": "cdttmu",
    "opening_price": "op",
    "high_price": "hp",
    "low_price": "lp",
    "trade_price": "tp",
    "candle_acc_trade_volume": "catv",
    "candle_acc_trade_price": "catp",
    "timestamp": "tms",
    "stream_type": "st",
}

SimpleTrade = abbreviated(Trade, TRADE_KEYS)
SimpleTicker = abbreviated(Ticker, TICKER_KEYS)
SimpleOrderbookUnit = abbreviated(OrderbookUnit, UNIT_KEYS)
SimpleOrderbook = abbreviated(
    Orderbook,
    ORDERBOOK_KEYS,
    {"orderbook_units": list[SimpleOrderbookUnit]},  # type: ignore[valid-type]
)
SimpleCandle = abbreviated(Candle, CANDLE_KEYS)
