"""Bybit v5 public wire messages, one struct each, keys as Bybit sends them.

Decoders are built with ``strict=False`` so msgspec turns Bybit's decimal strings
(``"65114.20"``) into floats while it parses. Unknown keys are ignored, so fields Bybit
adds later do not break decoding. Ticker fields stay strings: Bybit sends ``""`` for
values it does not have (e.g. pre-listing contracts), which is "no value", not an error.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import msgspec

from ..fields import Finite, Id, Levels, Millis, Price, Size

__all__ = [
    "Envelope",
    "InstrumentInfo",
    "InstrumentsResponse",
    "InstrumentsResult",
    "Kline",
    "LiquidationData",
    "LotSizeFilter",
    "OrderbookData",
    "PriceFilter",
    "PublicTrade",
    "Push",
    "TickerData",
    "TickerNumbers",
]

T = TypeVar("T")


class Envelope(msgspec.Struct, gc=False):
    """Every public frame: a topic push, or a control response (ack, pong)."""

    topic: str = ""  # "<channel>.<params>.<symbol>", e.g. "orderbook.200.BTCUSDT"
    type: str = ""  # "snapshot" or "delta"
    ts: int | None = None  # system generation time, ms
    cs: int | None = None  # tickers: cross sequence
    cts: int | None = None  # orderbook: matching-engine time, ms
    data: msgspec.Raw = msgspec.Raw()  # the payload; empty on control responses
    op: str = ""  # control responses: "subscribe", "unsubscribe", "ping", "pong"
    success: bool | None = None  # control responses: whether the request was accepted
    ret_msg: str = ""  # control responses: "pong", "subscribe", "" or the failure reason
    req_id: str = ""  # echo of the request's req_id
    conn_id: str = ""  # server-side connection id


class Push(msgspec.Struct, Generic[T], gc=False):
    """A topic push whose payload type is known from the topic, decoded in one pass.

    Same fields as :class:`Envelope` for a push, with ``data`` already typed, so a frame
    is parsed once instead of once for the wrapper and once more for ``data``.
    """

    data: T
    topic: str = ""
    type: str = ""  # "snapshot" or "delta"
    ts: Millis | None = None  # system generation time, ms


class PublicTrade(msgspec.Struct, gc=False):
    """One element of ``publicTrade.<symbol>`` ``data`` (an array, ascending by fill time)."""

    T: Millis  # fill time, ms
    s: str  # symbol
    S: str  # taker side: "Buy" or "Sell"
    v: Size  # size (contracts on inverse)
    p: Price  # price
    i: str  # trade id (always a string)
    BT: bool = False  # block trade
    RPI: bool = False  # retail-price-improvement trade
    L: str | None = None  # derivatives only: tick direction
    seq: int | None = None  # cross sequence; one seq may span several messages


class OrderbookData(msgspec.Struct, gc=False):
    """``data`` of ``orderbook.<depth>.<symbol>``: absolute sizes, "0" removes the level."""

    s: str  # symbol
    b: Levels  # bids, best (highest) first
    a: Levels  # asks, best (lowest) first
    u: Id  # update id; 1 after a service restart
    seq: int | None = None  # cross sequence, comparable across depths


class TickerData(msgspec.Struct, gc=False):
    """``data`` of ``tickers.<symbol>``.

    Spot sends the whole object each time and has no bid/ask. Linear/inverse send a
    snapshot and then deltas holding only the changed fields: ``None`` here means
    "unchanged" and the adapter merges the delta into its cached snapshot. Values are
    decimal strings, ``""`` for "no value"; a bare JSON number is read as the number it is.
    """

    symbol: str
    lastPrice: str | float | None = None
    prevPrice24h: str | float | None = None  # price 24 h ago, i.e. the rolling 24 h open
    highPrice24h: str | float | None = None
    lowPrice24h: str | float | None = None
    volume24h: str | float | None = None  # base units (contracts = USD on inverse)
    turnover24h: str | float | None = None  # quote units (base coin on inverse)
    bid1Price: str | float | None = None  # derivatives only
    bid1Size: str | float | None = None
    ask1Price: str | float | None = None
    ask1Size: str | float | None = None
    markPrice: str | float | None = None  # derivatives only
    indexPrice: str | float | None = None  # derivatives only
    fundingRate: str | float | None = None  # perpetuals: the current interval's rate, a signed fraction
    nextFundingTime: str | float | None = None  # perpetuals: ms, as a string
    openInterest: str | float | None = None  # linear: base coin; inverse: USD contracts
    openInterestValue: str | float | None = None  # USD value (linear); coin value (inverse)


class TickerNumbers(msgspec.Struct, gc=False):
    """:class:`TickerData` with every field a number, for the fast path of derivative deltas.

    Same fields in the same order. A delta carrying ``""`` (or anything but a finite
    non-negative decimal; the funding rate may be negative) fails to decode here and takes
    the adapter's own path, which reads :class:`TickerData`. Prices of 0 are kept (an
    empty book side: "no value", as there).
    """

    symbol: str
    lastPrice: Size | None = None
    prevPrice24h: Size | None = None
    highPrice24h: Size | None = None
    lowPrice24h: Size | None = None
    volume24h: Size | None = None
    turnover24h: Size | None = None
    bid1Price: Size | None = None
    bid1Size: Size | None = None
    ask1Price: Size | None = None
    ask1Size: Size | None = None
    markPrice: Size | None = None
    indexPrice: Size | None = None
    fundingRate: Finite | None = None
    nextFundingTime: Size | None = None
    openInterest: Size | None = None
    openInterestValue: Size | None = None


class LiquidationData(msgspec.Struct, gc=False):
    """One element of ``allLiquidation.<symbol>`` ``data`` (pushed every 500 ms while any happen)."""

    T: Millis  # update time, ms
    s: str  # symbol
    S: str  # the liquidated POSITION's side: "Buy" means a long was liquidated
    v: Size  # size (USD contracts on inverse)
    p: Price  # bankruptcy price


class Kline(msgspec.Struct, gc=False):
    """One element of ``kline.<interval>.<symbol>`` ``data``.

    When a bar closes Bybit sends it (``confirm: true``) together with the next one.
    """

    start: Millis  # bar start, ms
    end: Millis  # bar end, ms, inclusive (start + interval - 1)
    interval: str  # Bybit interval: "1", "60", "D", ...
    open: Price
    close: Price
    high: Price
    low: Price
    volume: Size  # base units; contracts on inverse
    turnover: Size  # quote units; base coin on inverse
    confirm: bool  # true once the bar is final
    timestamp: Millis  # time of this update, ms


class PriceFilter(msgspec.Struct, gc=False):
    """``priceFilter`` of an instrument."""

    tickSize: float | None = None


class LotSizeFilter(msgspec.Struct, gc=False):
    """``lotSizeFilter`` of an instrument: derivatives give ``qtyStep``, spot ``basePrecision``."""

    qtyStep: float | None = None
    basePrecision: float | None = None


class InstrumentInfo(msgspec.Struct, gc=False):
    """One entry of ``GET /v5/market/instruments-info`` ``result.list``."""

    symbol: str
    baseCoin: str
    quoteCoin: str
    status: str = ""  # PreLaunch, Trading, Delivering, Closed
    contractType: str = ""  # LinearPerpetual, LinearFutures, InversePerpetual, InverseFutures; "" on spot
    settleCoin: str = ""  # derivatives only
    deliveryTime: int = 0  # dated futures: ms; "0" for perpetuals
    priceFilter: PriceFilter = msgspec.field(default_factory=PriceFilter)
    lotSizeFilter: LotSizeFilter = msgspec.field(default_factory=LotSizeFilter)


class InstrumentsResult(msgspec.Struct, gc=False):
    """``result`` of the instruments listing; page on with ``nextPageCursor`` while it is not empty."""

    category: str = ""
    instruments: list[InstrumentInfo] = msgspec.field(default_factory=list, name="list")
    nextPageCursor: str = ""


class InstrumentsResponse(msgspec.Struct, gc=False):
    """``GET /v5/market/instruments-info``; ``retCode`` 0 means success."""

    retCode: int
    retMsg: str = ""
    result: InstrumentsResult = msgspec.field(default_factory=InstrumentsResult)
