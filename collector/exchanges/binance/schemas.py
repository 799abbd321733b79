"""Binance wire messages, one struct each, keys as Binance sends them.

Decoders are built once with ``strict=False`` so msgspec turns Binance's decimal
strings (``"0.35130000"``) into floats in C while it parses; prices, sizes, ids and times
use the constrained types of :mod:`collector.exchanges.fields`, so impossible values fail
to decode. Unknown keys are ignored, so new fields Binance adds do not break decoding.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from ..fields import Id, Levels, Millis, Price, Size

__all__ = [
    "AggTrade",
    "BookTicker",
    "CoinKline",
    "CoinKlineEvent",
    "Combined",
    "DepthSnapshot",
    "DepthUpdate",
    "Envelope",
    "ExchangeInfo",
    "Filter",
    "ForceOrder",
    "Kline",
    "KlineEvent",
    "LiquidationOrder",
    "MarkPrice",
    "OpenInterest",
    "RawTrade",
    "SymbolInfo",
]

T = TypeVar("T")


class Envelope(msgspec.Struct, gc=False):
    """Combined-stream wrapper ``{"stream": ..., "data": ...}``, or a control response."""

    stream: str = ""  # "<symbol>@<channel>", e.g. "btcusdt@depth@100ms"
    data: msgspec.Raw = msgspec.Raw()  # empty for control responses
    id: Any = None  # request id echoed in control responses
    result: Any = None  # null on a successful SUBSCRIBE
    code: int | None = None  # error code of a rejected control message
    msg: str | None = None  # its error text


class Combined(msgspec.Struct, Generic[T], gc=False):
    """A combined-stream message whose payload type is known from its stream name.

    Decoding the whole frame into ``Combined[DepthUpdate]`` parses it in one pass
    (the ``stream`` key is skipped), instead of once for the wrapper and once for ``data``.
    """

    data: T


class DepthUpdate(msgspec.Struct, gc=False):
    """``<symbol>@depth[@100ms]``: absolute sizes, "0" removes the level."""

    E: Millis  # event time, ms
    s: str  # symbol
    U: Id  # first update id in event
    u: Id  # final update id in event
    b: Levels  # bids
    a: Levels  # asks
    pu: Id | None = None  # futures only: final update id of the previous event
    T: Millis | None = None  # futures only: transaction time, ms


class AggTrade(msgspec.Struct, gc=False):
    """``<symbol>@aggTrade``: fills of one taker order at one price."""

    E: Millis  # event time, ms
    s: str  # symbol
    a: Id  # aggregate trade id
    p: Price  # price
    q: Size  # quantity (contracts on COIN-M)
    T: Millis  # trade time, ms
    m: bool  # buyer is the maker, i.e. the taker sold


class RawTrade(msgspec.Struct, gc=False):
    """``<symbol>@trade``: "raw trade information; each trade has a unique buyer and seller"."""

    E: Millis  # event time, ms
    s: str  # symbol
    t: Id  # trade id
    p: Price  # price
    q: Size  # quantity (contracts on COIN-M)
    T: Millis  # trade time, ms
    m: bool  # buyer is the maker, i.e. the taker sold


class BookTicker(msgspec.Struct, gc=False):
    """``<symbol>@bookTicker``: best bid/offer. Spot sends no event time."""

    s: str  # symbol
    b: Price  # best bid price
    B: Size  # best bid quantity
    a: Price  # best ask price
    A: Size  # best ask quantity
    u: Id | None = None  # order book update id
    E: Millis | None = None  # futures only: event time, ms


class Kline(msgspec.Struct, gc=False):
    """The ``k`` object of a kline event."""

    t: Millis  # start time, ms
    T: Millis  # close time, ms (start + interval - 1 ms)
    i: str  # interval
    o: Price  # open
    c: Price  # close
    h: Price  # high
    l: Price  # low  # noqa: E741 - Binance's key
    v: Size  # base volume (contracts on COIN-M)
    n: Id  # number of trades
    x: bool  # is this kline closed?
    # Spot and USDⓈ-M: "Quote asset volume"; COIN-M: "Base asset volume" (v counts contracts
    # there), the candle's volume.
    q: Size | None = None


class KlineEvent(msgspec.Struct, gc=False):
    """``<symbol>@kline_<interval>``."""

    E: Millis  # event time, ms
    s: str  # symbol
    k: Kline


class CoinKline(Kline, gc=False):
    """A COIN-M ``k`` whose base volume ``q`` is there: the fast path's (one without it takes
    the adapter's path, which reports it)."""

    q: Size


class CoinKlineEvent(KlineEvent, gc=False):
    """``<symbol>@kline_<interval>`` on COIN-M, for the fast path."""

    k: CoinKline


class DepthSnapshot(msgspec.Struct, gc=False):
    """REST ``/api/v3/depth`` (spot), ``/fapi/v1/depth``, ``/dapi/v1/depth``."""

    lastUpdateId: Id
    bids: Levels
    asks: Levels
    E: Millis | None = None  # futures only: message output time, ms


class Filter(msgspec.Struct, gc=False):
    """One entry of a symbol's ``filters``; only the two we use are decoded."""

    filterType: str
    tickSize: float | None = None  # PRICE_FILTER
    stepSize: float | None = None  # LOT_SIZE


class SymbolInfo(msgspec.Struct, gc=False):
    """One entry of ``exchangeInfo.symbols`` (spot and futures fields together)."""

    symbol: str
    baseAsset: str
    quoteAsset: str
    status: str = ""  # spot and USDⓈ-M
    contractStatus: str = ""  # COIN-M says this instead of status
    contractType: str = ""  # futures: PERPETUAL, CURRENT_QUARTER, NEXT_QUARTER, TRADIFI_PERPETUAL
    deliveryDate: int = 0  # futures: ms
    marginAsset: str = ""  # futures: settlement asset
    contractSize: float = 1.0  # COIN-M: quote value of one contract
    filters: list[Filter] = []


class ExchangeInfo(msgspec.Struct, gc=False):
    """REST ``exchangeInfo``."""

    symbols: list[SymbolInfo]
    rateLimits: list[dict[str, Any]] = []


class MarkPrice(msgspec.Struct, gc=False):
    """``<symbol>@markPrice@1s`` (and ``@markPrice``, every 3 s) on USDⓈ-M and COIN-M."""

    E: Millis  # event time, ms
    s: str  # symbol
    p: Price  # mark price
    i: Price | None = None  # index price
    r: str = ""  # funding rate, a signed fraction; "" for delivery contracts
    T: Millis = 0  # next funding time, ms; 0 for delivery contracts


class LiquidationOrder(msgspec.Struct, gc=False):
    """``o`` of ``<symbol>@forceOrder``: the liquidation order ("the latest one within 1000 ms")."""

    s: str  # symbol
    S: str  # the liquidation order's side: "SELL" closes a long
    q: Size  # original quantity (contracts on COIN-M)
    p: Price  # price
    T: Millis  # order trade time, ms
    X: str = ""  # order status, e.g. "FILLED"
    ap: Price | None = None  # average price


class ForceOrder(msgspec.Struct, gc=False):
    """``<symbol>@forceOrder``."""

    E: Millis  # event time, ms
    o: LiquidationOrder


class OpenInterest(msgspec.Struct, gc=False):
    """``GET /fapi/v1/openInterest`` (base units) or ``/dapi/v1/openInterest`` (contracts)."""

    symbol: str
    openInterest: Size
    time: Millis | None = None
