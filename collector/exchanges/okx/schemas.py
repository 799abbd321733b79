"""OKX API v5 public wire messages, one struct each, keys as OKX sends them.

Every push is ``{"arg": {"channel": ..., "instId": ...}, "data": [...]}`` (order-book
channels add a top-level ``"action"``); replies are ``{"event": ..., "arg": ..., "connId": ...}``.
Decoders are built with ``strict=False`` so OKX's decimal strings (``"42219.9"``) and
millisecond strings (``"1630048897897"``) become floats and ints in C, checked by the
constrained types of :mod:`collector.exchanges.fields`. Fields OKX documents as ``""``
when it has no value are :data:`Num` in tickers (a number, or ``""``) and strings
elsewhere (``nextFundingRate``, ``oiCcy``), which the adapter converts. Unknown keys are
ignored.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Millis, Price, Size

__all__ = [
    "Arg",
    "BookData",
    "BookText",
    "CandleRow",
    "Checksum",
    "Envelope",
    "FundingRateData",
    "IndexTickerData",
    "InstrumentInfo",
    "InstrumentsResponse",
    "Level",
    "LevelText",
    "LiquidationData",
    "LiquidationDetail",
    "MarkPriceData",
    "Num",
    "OpenInterestData",
    "PrevSeqId",
    "Push",
    "RestBooks",
    "RoutedTicker",
    "TickerData",
    "TradeData",
]

T = TypeVar("T")

Checksum: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
"""A book checksum: a CRC32 sent as a signed 32-bit integer."""
Num: TypeAlias = Size | Literal[""]
"""A ticker value OKX may leave empty (``""``: no value); a decimal string or number otherwise."""
PrevSeqId: TypeAlias = Annotated[int, msgspec.Meta(ge=-1, le=2**63 - 1)]
"""``prevSeqId``: the previous message's ``seqId``, ``-1`` on a snapshot."""


class Arg(msgspec.Struct, gc=False):
    """``arg``: which subscription a push (or a reply) belongs to."""

    channel: str
    instId: str = ""  # OKX's key
    instType: str = ""  # liquidation-orders subscribes by instrument type
    instFamily: str = ""


class Envelope(msgspec.Struct, gc=False):
    """Any frame, for the slow path: a reply (``event``), or a push not caught by the fast path."""

    event: str = ""  # "subscribe", "unsubscribe", "error", "notice", "login", "channel-conn-count"
    arg: Arg | None = None
    action: str = ""
    code: str | int = ""  # error and notice code, e.g. "60012", "64008"
    msg: str = ""
    connId: str = ""
    id: str = ""  # the request's id, echoed
    data: msgspec.Raw = msgspec.Raw()


class Push(msgspec.Struct, Generic[T], gc=False):
    """A push whose payload type is known from its channel, decoded in one pass."""

    arg: Arg
    data: T
    action: str = ""  # order-book channels: "snapshot" or "update"


class TradeData(msgspec.Struct, gc=False):
    """One element of ``trades`` (aggregated per taker order and price) or ``trades-all`` ``data``."""

    instId: str
    tradeId: str  # trades: the last trade id of the aggregation
    px: Price
    sz: Size  # base units on spot, contracts on SWAP/FUTURES
    side: str  # taker side: "buy" or "sell"
    ts: Millis  # filled time, ms
    count: str = ""  # trades: number of fills aggregated
    source: str = ""  # "0" normal, "1" Enhanced Liquidity Program
    seqId: int | None = None


class TickerData(msgspec.Struct, gc=False):
    """One element of ``tickers`` ``data``: the whole ticker every time (``""`` = no value)."""

    instId: str
    ts: Millis
    instType: str = ""
    last: Num = ""
    lastSz: str = ""
    askPx: Num = ""
    askSz: Num = ""  # contracts on derivatives
    bidPx: Num = ""
    bidSz: Num = ""
    open24h: Num = ""
    high24h: Num = ""
    low24h: Num = ""
    volCcy24h: Num = ""  # quote units on spot, base units on derivatives
    vol24h: Num = ""  # base units on spot, contracts on derivatives


class RoutedTicker(msgspec.Struct, gc=False):
    """A :class:`TickerData` the fast path takes: every value there, prices above 0.

    Anything else (an empty book side's ``""`` or ``"0"``) takes the Python path, which
    turns it into ``None``.
    """

    instId: str
    ts: Millis
    last: Price
    askPx: Price
    askSz: Size
    bidPx: Price
    bidSz: Size
    open24h: Price
    high24h: Price
    low24h: Price
    volCcy24h: Size
    vol24h: Size
    instType: str = ""
    lastSz: str = ""


class Level(msgspec.Struct, array_like=True, gc=False):
    """A book level ``[price, size, "0", orders]``: the size is absolute, ``"0"`` removes the level.

    The deprecated liquidated-orders field and the number of orders are not read (an
    array-like struct ignores trailing elements), so decoding makes no objects for them.
    """

    px: Price
    sz: Size  # base units on spot, contracts on derivatives


class LevelText(msgspec.Struct, array_like=True, gc=False):
    """The same level as the strings OKX sent: its checksum is computed over them."""

    px: str
    sz: str


class BookData(msgspec.Struct, gc=False):
    """One element of an order-book channel's ``data``."""

    asks: list[Level]  # best (lowest) first
    bids: list[Level]  # best (highest) first
    ts: Millis  # book generation time, ms
    checksum: Checksum | None = None  # books, books-l2-tbt, books50-l2-tbt; 0 since 2026-06-23
    prevSeqId: PrevSeqId | None = None  # incremental channels; -1 on the snapshot
    seqId: Id | None = None  # absent in captures from before OKX added it
    instId: str = ""  # books5 only


class RestBooks(msgspec.Struct, gc=False):
    """``GET /api/v5/market/books``: ``{"code": "0", "msg": "", "data": [<book>]}`` (``seqId`` since
    OKX's 2026 change; before it the REST book could not be joined to the stream)."""

    code: str
    data: list[BookData]
    msg: str = ""


class BookText(msgspec.Struct, gc=False):
    """The levels of :class:`BookData` as strings (decoded only for checksummed books)."""

    asks: list[LevelText]
    bids: list[LevelText]


class CandleRow(msgspec.Struct, array_like=True, gc=False):
    """One ``candle<bar>`` row ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``.

    Captures from before 2023 end after ``volCcy``.
    """

    ts: Millis  # bar start, ms
    o: Price
    h: Price
    l: Price  # noqa: E741 - OKX's key
    c: Price
    vol: Size  # base units on spot, contracts on derivatives
    volCcy: Size | None = None  # quote units on spot, base units on derivatives
    volCcyQuote: Size | None = None  # quote units
    confirm: str = ""  # "1" once the bar is complete


class MarkPriceData(msgspec.Struct, gc=False):
    """One element of ``mark-price`` ``data``."""

    instId: str
    markPx: Price
    ts: Millis
    instType: str = ""


class IndexTickerData(msgspec.Struct, gc=False):
    """One element of ``index-tickers`` ``data``; ``instId`` is an index (``BTC-USDT``), its contracts' ``uly``."""

    instId: str
    idxPx: Price
    ts: Millis


class OpenInterestData(msgspec.Struct, gc=False):
    """One element of ``open-interest`` ``data``: ``oi`` in contracts, ``oiCcy`` in the base currency."""

    instId: str
    oi: Size
    ts: Millis
    oiCcy: str = ""
    oiUsd: str = ""
    instType: str = ""


class FundingRateData(msgspec.Struct, gc=False):
    """One element of ``funding-rate`` ``data``.

    ``fundingTime`` is the settlement time of the current ``fundingRate``;
    ``nextFundingTime`` the one after it.
    """

    instId: str
    fundingRate: Finite  # a fraction
    fundingTime: Millis
    nextFundingRate: str = ""  # "" since next_period funding was retired
    nextFundingTime: str = ""
    method: str = ""
    instType: str = ""
    ts: Millis | None = None


class LiquidationDetail(msgspec.Struct, gc=False):
    """One liquidation in ``liquidation-orders`` ``data[].details`` (strings: MARGIN leaves some empty)."""

    ts: Millis
    side: str = ""  # side of the liquidation order: "buy" closes a short
    posSide: str = ""  # "long", "short" or "net"
    bkPx: str = ""  # bankruptcy price of the liquidation order
    sz: str = ""  # contracts on SWAP/FUTURES, base units on MARGIN
    bkLoss: str = ""
    ccy: str = ""


class LiquidationData(msgspec.Struct, gc=False):
    """One instrument's entry in ``liquidation-orders`` ``data`` (the channel covers a whole ``instType``)."""

    instId: str
    details: list[LiquidationDetail]
    instType: str = ""
    uly: str = ""
    instFamily: str = ""


class InstrumentInfo(msgspec.Struct, gc=False):
    """One entry of ``GET /api/v5/public/instruments`` ``data`` (numbers are strings, "" when not applicable)."""

    instId: str
    instType: str
    baseCcy: str = ""  # SPOT/MARGIN
    quoteCcy: str = ""  # SPOT/MARGIN
    settleCcy: str = ""  # FUTURES/SWAP
    ctType: str = ""  # "linear" or "inverse"
    ctVal: str = ""  # base units (linear) or USD (inverse) per contract
    ctMult: str = ""
    ctValCcy: str = ""
    instFamily: str = ""  # "BTC-USDT"; older listings give only uly
    uly: str = ""
    tickSz: str = ""
    lotSz: str = ""
    expTime: str = ""  # FUTURES: delivery time, ms
    state: str = ""  # live, suspend, preopen, test, rebase, post_only
    ruleType: str = ""


class InstrumentsResponse(msgspec.Struct, gc=False):
    """``GET /api/v5/public/instruments``; ``code`` "0" means success."""

    code: str | int = "0"
    msg: str = ""
    data: list[InstrumentInfo] = msgspec.field(default_factory=list)
