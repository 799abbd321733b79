"""Kraken spot public wire messages, one struct each, keys as Kraken sends them.

Three shapes reach this package (``../shared/exchanges/kraken.md``):

- REST ``GET /0/public/AssetPairs``: the instrument list (``wsname`` is the v1 websocket
  name, ``pair_decimals``/``lot_decimals`` the precisions the book checksum is printed with).
- Websocket v2 (``wss://ws.kraken.com/v2``): objects ``{"channel", "type", "data": [...]}``
  whose prices and quantities are JSON numbers and whose times are RFC 3339 strings (a
  ticker's kept as text: :func:`collector.exchanges.kraken.v2.rfc3339` reads it as the
  fast path does).
- Websocket v1 (``wss://ws.kraken.com``): data arrays ``[channelID, payload, channelName,
  pair]`` whose decimals are quoted strings and whose times are epoch seconds (``"1534614248.456738"``);
  control messages are objects with an ``event``.

Decoders are built with ``strict=False`` so quoted decimals become floats in C; the
constrained field types reject ``NaN``, infinities and negative prices while decoding.
Unknown keys are ignored, so fields Kraken adds later do not break decoding.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Price, Size

__all__ = [
    "AssetPair",
    "AssetPairsResponse",
    "Crc",
    "V1BookMsg",
    "V1BookPart",
    "V1Candle",
    "V1CandleMsg",
    "V1Event",
    "V1Level",
    "V1Subscription",
    "V1Ticker",
    "V1TickerMsg",
    "V1Trade",
    "V1TradeMsg",
    "V2Ack",
    "V2Bars",
    "V2Book",
    "V2Candle",
    "V2Envelope",
    "V2Level",
    "V2Push",
    "V2RoutedTicker",
    "V2Ticker",
    "V2Trade",
]

T = TypeVar("T")

Crc: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**32 - 1)]
"""A CRC32 checksum: an unsigned 32-bit integer (v1 quotes it, v2 sends a number)."""
Decimals: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=18)]
Count: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**53)]


# -- REST -------------------------------------------------------------------------------------


class AssetPair(msgspec.Struct, gc=False):
    """One entry of ``AssetPairs`` ``result`` (keyed by the REST pair name, e.g. ``XXBTZUSD``)."""

    altname: str = ""  # "XBTUSD"
    wsname: str = ""  # v1 websocket name "XBT/USD"; dark-pool pairs (".d") have none
    base: str = ""  # asset code "XXBT"
    quote: str = ""  # asset code "ZUSD"
    pair_decimals: Decimals = 8  # price precision
    lot_decimals: Decimals = 8  # volume precision
    tick_size: float | None = None  # newer listings only
    status: str = "online"  # online, cancel_only, post_only, limit_only, reduce_only, delisted


class AssetPairsResponse(msgspec.Struct, gc=False):
    """``GET /0/public/AssetPairs``: ``error`` is a list of messages, empty on success."""

    error: list[str] = []
    result: dict[str, AssetPair] = {}


# -- websocket v2 -----------------------------------------------------------------------------


class V2Push(msgspec.Struct, Generic[T], gc=False):
    """A channel message whose payload type is known from the channel, decoded in one pass."""

    data: T
    channel: str = ""
    type: str = ""  # "snapshot" or "update"
    timestamp: str | None = None  # when the message was made, where sent (read from ohlc: V2Bars)


class V2Level(msgspec.Struct, gc=False):
    """One book level: ``qty`` is the absolute size at ``price``; 0 removes the level."""

    price: Price
    qty: Size


class V2Book(msgspec.Struct, gc=False):
    """The single element of ``book`` ``data``: "one book object per message"."""

    symbol: str  # "BTC/USD"
    bids: list[V2Level] = []
    asks: list[V2Level] = []
    checksum: Crc | None = None  # CRC32 of the top 10 levels after applying this message
    timestamp: datetime | None = None  # updates only


class V2Trade(msgspec.Struct, gc=False):
    """One element of ``trade`` ``data``; a message may batch several trades."""

    symbol: str
    side: str  # "The side of the taker order": "buy" or "sell"
    price: Price
    qty: Size  # base units
    trade_id: Id  # sequence number, unique per book
    timestamp: datetime
    ord_type: str = ""  # taker order type: "limit" or "market"


class V2Ticker(msgspec.Struct, gc=False):
    """One element of ``ticker`` ``data``: best bid/offer and 24 h statistics."""

    symbol: str
    bid: Size = 0.0  # 0: no bid
    bid_qty: Size = 0.0
    ask: Size = 0.0  # 0: no ask
    ask_qty: Size = 0.0
    last: Size = 0.0
    volume: Size | None = None  # 24 h volume, base units
    vwap: Size | None = None
    low: Size | None = None
    high: Size | None = None
    change: Finite | None = None  # 24 h price change, quote units
    change_pct: Finite | None = None  # in percentage points
    timestamp: str | None = None


class V2RoutedTicker(msgspec.Struct, gc=False):
    """A :class:`V2Ticker` the fast path takes: both sides of the book and a last price present.

    Zeros (an empty side, no trade yet) are not prices here: such tickers take the Python
    path, which turns them into ``None``.
    """

    symbol: str
    bid: Price
    ask: Price
    last: Price
    bid_qty: Size = 0.0
    ask_qty: Size = 0.0
    volume: Size | None = None
    vwap: Size | None = None
    low: Price | None = None
    high: Price | None = None
    change: Finite | None = None
    change_pct: Finite | None = None
    timestamp: str | None = None


class V2Candle(msgspec.Struct, gc=False):
    """One element of ``ohlc`` ``data``."""

    symbol: str
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size  # base units
    interval_begin: datetime
    interval: Annotated[int, msgspec.Meta(gt=0, le=2**20)]  # minutes
    trades: Count | None = None
    vwap: Size | None = None
    timestamp: datetime | None = None


class V2Bars(msgspec.Struct, gc=False):
    """An ``ohlc`` message: :class:`V2Push` of candles, with the time it was made."""

    data: list[V2Candle]
    channel: str = ""
    type: str = ""
    timestamp: datetime | None = None


class V2Ack(msgspec.Struct, gc=False):
    """``result`` of a subscribe/unsubscribe acknowledgement: "one ack per symbol"."""

    channel: str = ""
    symbol: str = ""
    depth: int | None = None  # book only
    snapshot: bool | None = None
    event_trigger: str = ""  # ticker only: "trades" or "bbo"
    interval: int | None = None  # ohlc only
    warnings: list[str] = []


class V2Envelope(msgspec.Struct, gc=False):
    """Any v2 frame that is not routed by its leading ``channel`` key: replies, heartbeats, status."""

    channel: str = ""  # "heartbeat", "status", or a data channel with its keys in another order
    type: str = ""
    method: str = ""  # replies: "subscribe", "unsubscribe", "pong"
    success: bool | None = None
    error: str = ""  # the reason when success is false
    result: V2Ack | None = None
    req_id: int | None = None


# -- websocket v1 -----------------------------------------------------------------------------


class V1Level(msgspec.Struct, array_like=True, gc=False):
    """``[price, volume, timestamp]`` with an optional fourth element ``"r"`` (a republished level)."""

    price: Price
    volume: Size  # absolute size at price; "0.00000000" removes the level
    timestamp: Finite  # epoch seconds with microseconds
    flag: str = ""  # "r": re-sent because it came back into the subscribed depth; an upsert


class V1BookPart(msgspec.Struct, gc=False):
    """One payload object of a ``book-<depth>`` message.

    A snapshot has ``as``/``bs``; an update has ``a`` and/or ``b``, possibly in two separate
    objects, and the checksum ``c`` in the last one ("never on snapshots").
    """

    snapshot_asks: list[V1Level] | None = msgspec.field(default=None, name="as")
    snapshot_bids: list[V1Level] | None = msgspec.field(default=None, name="bs")
    asks: list[V1Level] | None = msgspec.field(default=None, name="a")
    bids: list[V1Level] | None = msgspec.field(default=None, name="b")
    checksum: Crc | None = msgspec.field(default=None, name="c")


class V1BookMsg(msgspec.Struct, array_like=True, gc=False):
    """``[channelID, part, channelName, pair]`` or ``[channelID, asks part, bids part, channelName, pair]``."""

    channel_id: int
    part: V1BookPart
    second: V1BookPart | str  # the bids part, or the channel name of a four-element message
    third: str  # the channel name, or the pair
    fourth: str = ""  # the pair of a five-element message


class V1Trade(msgspec.Struct, array_like=True, gc=False):
    """``[price, volume, time, side, orderType, misc]``; side ``b``/``s`` is the taker's."""

    price: Price
    volume: Size
    time: Finite  # epoch seconds
    side: str  # "b" buy, "s" sell
    order_type: str = ""  # "m" market, "l" limit
    misc: str = ""


class V1TradeMsg(msgspec.Struct, array_like=True, gc=False):
    """``[channelID, [trade, ...], "trade", pair]``."""

    channel_id: int
    trades: list[V1Trade]
    name: str
    pair: str


class V1Ticker(msgspec.Struct, gc=False):
    """The ``ticker`` payload; two-element arrays are ``[today, last 24 hours]``."""

    a: tuple[Size, Finite, Size]  # ask: price, whole lot volume, lot volume
    b: tuple[Size, Finite, Size]  # bid: price, whole lot volume, lot volume
    c: tuple[Size, Size]  # last trade: price, lot volume
    v: tuple[Size, Size] | None = None  # volume
    p: tuple[Size, Size] | None = None  # volume-weighted average price
    t: tuple[Count, Count] | None = None  # number of trades
    l: tuple[Size, Size] | None = None  # low  # noqa: E741 - Kraken's key
    h: tuple[Size, Size] | None = None  # high
    o: tuple[Size, Size] | None = None  # open


class V1TickerMsg(msgspec.Struct, array_like=True, gc=False):
    """``[channelID, {...}, "ticker", pair]``."""

    channel_id: int
    ticker: V1Ticker
    name: str
    pair: str


class V1Candle(msgspec.Struct, array_like=True, gc=False):
    """``[time, etime, open, high, low, close, vwap, volume, count]``: ``time`` is the last update."""

    time: Finite
    etime: Finite  # end of the interval
    open: Price
    high: Price
    low: Price
    close: Price
    vwap: Size
    volume: Size
    count: Count


class V1CandleMsg(msgspec.Struct, array_like=True, gc=False):
    """``[channelID, [...], "ohlc-<minutes>", pair]``."""

    channel_id: int
    candle: V1Candle
    name: str
    pair: str


class V1Subscription(msgspec.Struct, gc=False):
    """``subscription`` of a ``subscriptionStatus``."""

    name: str = ""
    depth: int | None = None
    interval: int | None = None


class V1Event(msgspec.Struct, gc=False):
    """Any v1 object frame: ``heartbeat``, ``systemStatus``, ``subscriptionStatus``, ``pong``, ``error``."""

    event: str = ""
    status: str = ""  # subscriptionStatus: "subscribed", "unsubscribed", "error"
    channelID: int | None = None  # deprecated, but still mapped to (channelName, pair)
    channelName: str = ""  # "book-10", "ohlc-5", "trade", ...
    pair: str = ""  # "XBT/USD"
    subscription: V1Subscription | None = None
    errorMessage: str = ""
    reqid: int | None = None
