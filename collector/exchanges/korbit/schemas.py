"""Korbit API v2 public websocket and REST messages, one struct each, keys as Korbit sends them.

Data frames are ``{"type":<channel>,"timestamp":<ms>,"symbol":"btc_krw","snapshot":<bool>,
"data":...}`` (the keys come in any order; later frames may omit ``snapshot``); control
frames carry ``status`` instead of ``type``. Prices and quantities are decimal strings:
decoders are built with ``strict=False`` so msgspec turns them into floats while it
parses. Unknown keys are ignored (grouped books add ``amt`` or ``quoteVolume`` per level).
"""

from __future__ import annotations

import msgspec

from ..fields import Id, Millis, Price, Size

__all__ = [
    "CurrencyPair",
    "CurrencyPairs",
    "Envelope",
    "Level",
    "OrderbookData",
    "OrderbookPush",
    "PricedTickerData",
    "PricedTickerPush",
    "TickerData",
    "TickerPush",
    "TradeData",
    "TradesPush",
]


class Envelope(msgspec.Struct, gc=False):
    """What a frame is: public data (``type``), a control reply (``status``), private data
    (``channelType``) or a message of the retired v1 API (``event``)."""

    type: str | None = None  # "ticker", "orderbook", "trade"
    status: str | None = None  # control replies: "success", "fail", "error"
    code: str | None = None  # "INVALID_SYMBOL", "INVALID_REQUEST"
    message: str | None = None  # "The symbol does not exist (nope_krw)", "invalid_format"
    requestId: int | str | None = None  # echo of the request's requestId (documented as an integer)
    channelType: str | None = None  # private frames: "myOrder", "myTrade", "myAsset"
    event: str | None = None  # v1 API frames: "korbit:connected", "korbit:push-orderbook", ...


# -- orderbook ---------------------------------------------------------------------------------


class Level(msgspec.Struct, gc=False):
    """One book level: price in KRW, quantity in the base currency."""

    price: Price
    qty: Size


class OrderbookData(msgspec.Struct, gc=False):
    """``orderbook`` ``data``: the whole top of the book, up to 30 levels a side, best first.

    "Every orderbook frame is a complete replacement": no deltas, no zero-size removals.
    A stopped pair sends one snapshot with both sides empty.
    """

    asks: list[Level]
    bids: list[Level]
    timestamp: Millis | None = None  # the book's last change, ms (the envelope's is the send time)


class OrderbookPush(msgspec.Struct, gc=False):
    """A whole ``orderbook`` frame, decoded in one pass."""

    type: str
    symbol: str  # "btc_krw"
    data: OrderbookData
    timestamp: Millis | None = None  # server send time, ms


# -- trade -------------------------------------------------------------------------------------


class TradeData(msgspec.Struct, gc=False):
    """One element of ``trade`` ``data`` (an array: a frame may carry several trades).

    ``isBuyerTaker``: "true if the trade was caused by a buy order" (the taker bought).
    """

    tradeId: Id  # per-symbol increasing, not contiguous
    timestamp: Millis  # fill time, ms
    price: Price
    qty: Size  # base units
    isBuyerTaker: bool


class TradesPush(msgspec.Struct, gc=False):
    """A whole ``trade`` frame."""

    type: str
    symbol: str
    data: list[TradeData]
    timestamp: Millis | None = None


# -- ticker ------------------------------------------------------------------------------------


class TickerData(msgspec.Struct, gc=False):
    """``ticker`` ``data``: rolling 24 h statistics, the last price (``close``) and the best
    bid and ask prices without sizes.

    Stopped pairs show ``"0"`` for prices they do not have: the adapter maps 0 to "none".
    """

    close: Size | None = None  # last trade price
    open: Size | None = None  # 24 h
    high: Size | None = None  # 24 h
    low: Size | None = None  # 24 h
    volume: Size | None = None  # 24 h, base units
    quoteVolume: Size | None = None  # 24 h, KRW
    bestBidPrice: Size | None = None
    bestAskPrice: Size | None = None
    lastTradedAt: Millis | None = None  # ms


class TickerPush(msgspec.Struct, gc=False):
    """A whole ``ticker`` frame."""

    type: str
    symbol: str
    data: TickerData
    timestamp: Millis | None = None


class PricedTickerData(msgspec.Struct, gc=False):
    """:class:`TickerData` of a pair with every price it sends positive (what the fast path reads).

    A ticker with a ``"0"`` price does not decode as this and takes the adapter's path,
    which reads it as :class:`TickerData` and maps zero to "none". Every other field is
    checked as :class:`TickerData` checks it, so both paths accept the same frames.
    """

    close: Price | None = None
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    volume: Size | None = None
    quoteVolume: Size | None = None
    bestBidPrice: Price | None = None
    bestAskPrice: Price | None = None
    lastTradedAt: Millis | None = None


class PricedTickerPush(msgspec.Struct, gc=False):
    """A whole ``ticker`` frame whose prices are all positive."""

    type: str
    symbol: str
    data: PricedTickerData
    timestamp: Millis | None = None


# -- REST --------------------------------------------------------------------------------------


class CurrencyPair(msgspec.Struct, gc=False):
    """One entry of ``GET /v2/currencyPairs``: ``{"symbol":"btc_krw","status":"launched",...}``."""

    symbol: str  # "btc_krw"
    baseCurrency: str = ""  # "btc"
    quoteCurrency: str = ""  # "krw"
    status: str = "launched"  # "launched": trading available; "stopped": trading unavailable


class CurrencyPairs(msgspec.Struct, gc=False):
    """``{"success":true,"data":[...]}``; failures are ``{"success":false,"error":{...}}``."""

    success: bool = False
    data: list[CurrencyPair] = []
