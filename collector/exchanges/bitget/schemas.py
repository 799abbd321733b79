"""Bitget public wire messages, one struct each, keys as Bitget sends them.

Covers the v2 public socket (``wss://ws.bitget.com/v2/ws/public``) and the v1 streams
(``/spot/v1/stream``, ``/mix/v1/stream``) that older recorders subscribed: both push
``{"action":"snapshot|update","arg":{"instType","channel","instId"},"data":[...]}``;
v1 sends trades and candles as arrays and names ticker fields differently, so the
row types below accept both shapes in one decoding pass.

Decode with ``strict=False`` so decimal strings (``"27000.5"``) become numbers in C.
Book levels stay strings on purpose: the checksum is computed over "the original
value" of each price and size ("if price is '0.5000', DO NOT calculate the checksum by
'0.5'"), so the adapter keeps the text and converts it with the constrained types
itself. Ticker values may be ``""`` (no value), which the ticker types allow.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Levels, Millis, Price, Size

__all__ = [
    "Arg",
    "BookData",
    "CandleRow",
    "Contract",
    "Control",
    "Listing",
    "Num",
    "Push",
    "Rate",
    "RoutedSpotTicker",
    "Sides",
    "SpotSymbol",
    "TextLevels",
    "TickerData",
    "TradeData",
    "TradeRow",
]

T = TypeVar("T")

Num: TypeAlias = Size | Literal[""] | None
"""A non-negative ticker value (price, size, volume, time): ``""`` or ``null`` when Bitget has none."""

Rate: TypeAlias = Finite | Literal[""] | None
"""A signed ticker value (a funding rate)."""

TextLevels: TypeAlias = list[tuple[str, str]]
"""Book levels ``[price, size]`` as the exact strings Bitget sent (the checksum needs them)."""

Checksum: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**32 - 1)]
"""CRC32 of the top 25 levels, "32-bit signed integer" (an unsigned spelling is tolerated)."""


class Arg(msgspec.Struct, frozen=True, gc=False):
    """The subscription a push or reply belongs to."""

    instType: str = ""  # v2: SPOT, USDT-FUTURES, COIN-FUTURES, USDC-FUTURES; v1: sp, mc
    channel: str = ""  # trade, ticker, books, books1/5/15, candle1m ...
    instId: str = ""  # native id, e.g. BTCUSDT


class Push(msgspec.Struct, Generic[T], gc=False):
    """A channel push whose ``data`` type is known from the channel: one decoding pass."""

    arg: Arg
    data: T
    action: str = ""  # "snapshot" or "update"
    ts: Millis | None = None  # push time, ms (v2 only)


class Control(msgspec.Struct, gc=False):
    """Any frame that is not routed by its channel first: replies, errors, odd pushes.

    ``{"event":"subscribe","arg":{...}}``, ``{"event":"error","code":30001,"msg":...}``,
    ``{"event":"login","code":"0"}``; a push lands here only when its keys are in an
    unusual order, and is then routed by ``arg.channel``.
    """

    event: str = ""
    action: str = ""
    arg: Arg | None = None
    code: str | int | None = None
    msg: str = ""
    op: str = ""


class TradeData(msgspec.Struct, gc=False):
    """One v2 ``trade`` element: a fill of a taker order ("public trade data (taker orders)")."""

    ts: Millis  # fill time, ms (a string on the wire)
    price: Price
    size: Size  # base coin, spot and futures alike
    side: str  # taker side: buy / sell
    tradeId: str = ""


TradeRow: TypeAlias = tuple[Millis, Price, Size, str]
"""One v1 ``trade`` element: ``[ts, price, size, side]`` (no trade id)."""


class BookData(msgspec.Struct, gc=False):
    """``data[0]`` of ``books`` / ``books1`` / ``books5`` / ``books15``.

    Sizes are absolute and in the base coin; ``"0"`` removes the level. ``seq`` and
    ``pseq`` ("the serial number of the previous push") are on current v2 books only;
    ``checksum`` is 0 on the fixed-depth channels and on current v2 snapshots.
    """

    asks: TextLevels = msgspec.field(default_factory=list)
    bids: TextLevels = msgspec.field(default_factory=list)
    ts: Millis | None = None  # matching-engine time, ms
    checksum: Checksum | None = None
    seq: Id | None = None
    pseq: Id | None = None


class Sides(msgspec.Struct, gc=False):
    """Both sides of a book message as checked ``(price, size)`` floats (converted from :class:`BookData`)."""

    bids: Levels
    asks: Levels


class CandleRow(msgspec.Struct, array_like=True, gc=False):
    """One ``candle<interval>`` row: v2 has 7 or 8 columns, v1 six."""

    start: Millis  # bar start, ms
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size  # "trading volume of the coin" (base)
    quote_volume: Size | None = None
    usdt_volume: Size | None = None


class TickerData(msgspec.Struct, gc=False):
    """``data[0]`` of ``ticker``: the whole ticker every push (spot, futures; v2 and v1 names).

    v2: ``lastPr bidPr askPr bidSz askSz open24h high24h low24h baseVolume quoteVolume ts``,
    futures add ``fundingRate nextFundingTime markPrice indexPrice holdingAmount``.
    v1: ``last bestBid bestAsk``, spot ``ts``, mix ``systemTime capitalRate nextSettleTime holding``.
    """

    instId: str = ""
    lastPr: Num = None
    bidPr: Num = None
    askPr: Num = None
    bidSz: Num = None
    askSz: Num = None
    open24h: Num = None
    high24h: Num = None
    low24h: Num = None
    baseVolume: Num = None  # base coin
    quoteVolume: Num = None  # quote coin
    fundingRate: Rate = None  # fraction per funding interval
    nextFundingTime: Num = None  # ms
    markPrice: Num = None
    indexPrice: Num = None
    holdingAmount: Num = None  # open interest, base coin
    ts: Millis | None = None  # v2 (string) and v1 spot (number)
    last: Num = None  # v1
    bestBid: Num = None  # v1
    bestAsk: Num = None  # v1
    capitalRate: Rate = None  # v1 mix funding rate
    nextSettleTime: Num = None  # v1 mix, ms
    holding: Num = None  # v1 mix open interest
    systemTime: Millis | None = None  # v1 mix


class RoutedSpotTicker(msgspec.Struct, gc=False):
    """A spot :class:`TickerData` the fast path takes: the v2 quote and day values all there, prices above 0.

    The v1 and futures fields are optional as there, without ``""``: a ticker that leaves
    a value empty takes the Python path, which turns it into ``None``.
    """

    lastPr: Price
    bidPr: Price
    askPr: Price
    bidSz: Size
    askSz: Size
    open24h: Price
    high24h: Price
    low24h: Price
    baseVolume: Size
    quoteVolume: Size
    ts: Millis
    instId: str = ""
    fundingRate: Finite | None = None
    nextFundingTime: Size | None = None
    markPrice: Size | None = None
    indexPrice: Size | None = None
    holdingAmount: Size | None = None
    last: Size | None = None
    bestBid: Size | None = None
    bestAsk: Size | None = None
    capitalRate: Finite | None = None
    nextSettleTime: Size | None = None
    holding: Size | None = None
    systemTime: Millis | None = None


class SpotSymbol(msgspec.Struct, gc=False):
    """One spot pair of ``/api/v2/spot/public/symbols`` (or v1 ``/api/spot/v1/public/products``)."""

    symbol: str  # v2: the websocket id; v1: "BTCUSDT_SPBL"
    baseCoin: str
    quoteCoin: str
    symbolName: str = ""  # v1: the websocket id
    status: str = ""  # online, offline, gray, halt
    pricePrecision: int | None = None  # v2: price decimals
    quantityPrecision: int | None = None  # v2: size decimals
    priceScale: int | None = None  # v1
    quantityScale: int | None = None  # v1


class Contract(msgspec.Struct, gc=False):
    """One contract of ``/api/v2/mix/market/contracts`` (or v1 ``/api/mix/v1/market/contracts``)."""

    symbol: str  # v2: the websocket id ("BTCUSDT", "BTCPERP", "ETHUSD_231229"); v1: "BTCUSDT_UMCBL"
    baseCoin: str
    quoteCoin: str
    symbolName: str = ""  # later v1 listings: the websocket id
    symbolType: str = ""  # perpetual / delivery ("" in early v1 listings: perpetual)
    deliveryTime: str | int = ""  # ms; "" for perpetuals
    pricePlace: int | None = None  # price decimals
    priceEndStep: float | None = None  # tick = priceEndStep * 10**-pricePlace
    volumePlace: int | None = None  # size decimals
    sizeMultiplier: float | None = None  # order size step, in the base coin
    symbolStatus: str = ""  # normal, listed, maintain, limit_open, restrictedAPI, off


class Listing(msgspec.Struct, Generic[T], gc=False):
    """A REST answer: ``code`` ``"00000"`` means success, ``data`` the list."""

    code: str | int = ""
    msg: str = ""
    data: list[T] | None = None
