"""Gate API v4 wire messages (spot and perpetual futures), one struct each, keys as Gate sends them.

Every websocket frame is an envelope ``{"time": s, "time_ms": ms, "channel": ...,
"event": ..., "result": ...}``; :class:`Push` is that envelope with ``result`` typed for
one channel, so a data frame is decoded once, straight into its payload. Decoders are
built with ``strict=False``: Gate's decimal strings (``"0.4705000000"``) become floats in
C, and futures sizes decode whether they come as integers (the legacy format) or as
decimal strings (with the ``X-Gate-Size-Decimal: 1`` header, 2025-12-09 changelog).
Prices, sizes, ids and times use the constrained types of
:mod:`collector.exchanges.fields`, so impossible values fail to decode. Unknown keys
are ignored: fields Gate adds later do not break decoding.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Levels, Millis, Price, Size

__all__ = [
    "Candle",
    "Contract",
    "CurrencyPair",
    "Envelope",
    "FloatMillis",
    "FuturesBookDiff",
    "FuturesBookTicker",
    "FuturesBookUpdate",
    "FuturesLevel",
    "FuturesSnapshot",
    "FuturesTicker",
    "FuturesTrade",
    "PublicLiquidation",
    "Push",
    "QuotedBookTicker",
    "QuotedSpotTicker",
    "RoutedSpotTrade",
    "Seconds",
    "SpotBookDiff",
    "SpotBookTicker",
    "SpotBookUpdate",
    "SpotSnapshot",
    "SpotTicker",
    "SpotTrade",
    "TimedPush",
    "WireError",
]

T = TypeVar("T")

FloatMillis: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=2.0**53)]
"""Milliseconds since the epoch that may carry a fraction: spot ``create_time_ms`` is ``"1606292218213.4578"``."""
Seconds: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=2.0**43)]
"""Seconds since the epoch (candle starts, futures snapshot times, funding times)."""


class WireError(msgspec.Struct, gc=False):
    """The ``error`` object of a rejected request: ``{"code": 2, "message": "unknown currency pair: X"}``."""

    code: int = 0  # 1 invalid request body, 2 invalid argument, 3 server error, 4 auth failed
    message: str = ""


class Envelope(msgspec.Struct, gc=False):
    """Any frame, with ``result`` left undecoded: acks, pongs, rejections and unused channels."""

    channel: str = ""  # "spot.trades", "futures.pong", ...
    event: str = ""  # "update" (data), "all" (legacy full books), "subscribe"/"unsubscribe" (acks), "" (pong)
    time_ms: int | None = None  # when the server made the frame, ms
    id: int | None = None  # echo of the request id, on acks
    error: WireError | None = None  # null unless a request was rejected
    result: msgspec.Raw = msgspec.Raw()  # {"status": "success"} on acks, the payload on data frames


class Push(msgspec.Struct, Generic[T], gc=False):
    """A data frame of a channel whose payload type is known, decoded in one pass."""

    result: T
    channel: str = ""
    event: str = ""
    time: Seconds | None = None  # server time of the push, s
    time_ms: Millis | None = None  # the same in ms ("added to every response" 2022-11-22)

    def timestamp(self) -> float | None:
        """The push's server time in seconds: ``time_ms``, or ``time`` in frames older than it."""
        return self.time_ms / 1000.0 if self.time_ms is not None else self.time


# -- what the fast path decodes (:mod:`.fast`): the same messages, narrowed to the frames it routes ------


class TimedPush(msgspec.Struct, Generic[T], gc=False):
    """:class:`Push` of a frame that has ``time_ms``, its time in seconds being ``time_ms / 1000``."""

    result: T
    time_ms: Millis
    channel: str = ""
    event: str = ""
    time: Seconds | None = None


class SpotBookDiff(msgspec.Struct, gc=False):
    """:class:`SpotBookUpdate` with ``U``: a diff that links to the one before it (or a ``full`` book)."""

    t: Millis
    s: str
    u: Id
    U: Id
    b: Levels
    a: Levels
    full: bool = False


class QuotedBookTicker(msgspec.Struct, gc=False):
    """``spot.book_ticker`` / ``futures.book_ticker`` with both sides quoted (prices > 0)."""

    t: Millis
    s: str
    b: Price
    B: Size
    a: Price
    A: Size


class QuotedSpotTicker(msgspec.Struct, gc=False):
    """:class:`SpotTicker` whose best bid and ask are absent or > 0 (``"0"``, an empty side, is left out)."""

    currency_pair: str
    last: Price | None = None
    lowest_ask: Price | None = None
    highest_bid: Price | None = None
    base_volume: Size | None = None
    quote_volume: Size | None = None
    high_24h: Price | None = None
    low_24h: Price | None = None


# -- spot ------------------------------------------------------------------------------------------


class SpotTrade(msgspec.Struct, gc=False):
    """``spot.trades``: "only the taker side is notified".

    "The ``spot.trades`` channel now includes the ``id_market`` field ... The ``id`` field will
    gradually be deprecated" (changelog 2025-01-08): the trade id is ``id`` while Gate sends it,
    else ``id_market``.
    """

    create_time_ms: FloatMillis  # string, fraction below the ms appended
    side: str  # taker side: "buy" or "sell"
    currency_pair: str
    amount: Size  # base units
    price: Price
    id: Id | None = None  # all-market trade id
    id_market: Id | None = None  # id within the pair
    # Not decoded: create_time (s), range.


class RoutedSpotTrade(msgspec.Struct, gc=False):
    """A ``spot.trades`` row as the fast path reads it: ``id`` required (a row without one takes
    the adapter's path, which falls back to ``id_market``)."""

    id: Id
    create_time_ms: FloatMillis
    side: str
    currency_pair: str
    amount: Size
    price: Price
    id_market: Id | None = None  # decoded so a frame the adapter refuses is refused here too


class SpotBookTicker(msgspec.Struct, gc=False):
    """``spot.book_ticker``: best bid/ask in real time (about every 10 ms)."""

    t: Millis  # order book update time, ms
    s: str  # currency pair
    b: str | float  # best bid price ("" when the side is empty)
    B: Size  # best bid amount
    a: str | float  # best ask price ("" when the side is empty)
    A: Size  # best ask amount
    # Not decoded: u, the order book update id.


class SpotTicker(msgspec.Struct, gc=False):
    """``spot.tickers`` (every 1000 ms): last price, 24 h statistics, best bid/ask without sizes."""

    currency_pair: str
    last: Price | None = None
    lowest_ask: Size | None = None  # "0" or absent when the side is empty
    highest_bid: Size | None = None
    base_volume: Size | None = None
    quote_volume: Size | None = None
    high_24h: Price | None = None
    low_24h: Price | None = None
    # Not decoded: change_percentage.


class SpotBookUpdate(msgspec.Struct, gc=False):
    """``spot.order_book_update``: changed levels with absolute amounts, ``"0"`` removes.

    ``full: true`` marks a whole book of the subscribed depth that replaces the local
    one ("upon receiving it, the user should replace the local depth with this data").
    """

    t: Millis  # update time, ms
    s: str  # currency pair
    u: Id  # last update id in this message
    b: Levels  # changed bids
    a: Levels  # changed asks
    U: Id | None = None  # first update id in this message (a diff without it cannot be linked)
    full: bool = False
    # Not decoded: l (the stream's depth, "100" or "20"), e ("depthUpdate"), E (s, deprecated).


class SpotSnapshot(msgspec.Struct, gc=False):
    """REST ``GET /spot/order_book?with_id=true``; ``id`` is absent without ``with_id``."""

    bids: Levels
    asks: Levels
    id: Id | None = None  # order book update id of the snapshot
    current: Millis | None = None  # response time, ms
    update: Millis | None = None  # last change of the book, ms


class CurrencyPair(msgspec.Struct, gc=False):
    """One entry of REST ``GET /spot/currency_pairs``."""

    id: str  # "BTC_USDT"
    base: str
    quote: str
    trade_status: str = ""  # "tradable", "buyable", "sellable", "untradable"
    precision: int | None = None  # price decimals
    amount_precision: int | None = None  # amount decimals


class Candle(msgspec.Struct, gc=False):
    """One bar of ``spot.candlesticks`` / ``futures.candlesticks``."""

    t: Seconds  # bar start, s (a string on spot)
    o: Price
    h: Price
    l: Price  # noqa: E741 - Gate's key
    c: Price
    n: str  # "<interval>_<pair>", e.g. "1m_BTC_USDT"
    v: Size = 0.0  # spot: quote volume; futures: volume in contracts
    a: Size | None = None  # base currency amount
    w: bool = False  # "true means window close" (the closing push may be missing)


# -- futures ---------------------------------------------------------------------------------------


class FuturesTrade(msgspec.Struct, gc=False):
    """One element of ``futures.trades``: "positive size means taker is buyer, negative seller"."""

    id: Id
    create_time_ms: FloatMillis
    contract: str
    size: Finite  # signed contracts
    price: Price
    is_internal: bool = False  # insurance-fund / ADL takeover, not matched on the book


class FuturesBookTicker(msgspec.Struct, gc=False):
    """``futures.book_ticker``: "if b is empty string, it means empty bids" (sizes then 0)."""

    t: Millis
    s: str  # contract
    b: str | float
    B: Size  # contracts
    a: str | float
    A: Size  # contracts
    # Not decoded: u, the order book update id.


class FuturesLevel(msgspec.Struct, gc=False):
    """One level of a futures book: ``{"p": "54672.1", "s": 0}``; ``s`` in contracts, 0 removes."""

    p: Price
    s: Size


class FuturesBookDiff(msgspec.Struct, gc=False):
    """:class:`FuturesBookUpdate` with ``U`` and both sides present (what the fast path routes)."""

    t: Millis
    s: str
    u: Id
    U: Id
    b: list[FuturesLevel]
    a: list[FuturesLevel]
    full: bool = False


class FuturesBookUpdate(msgspec.Struct, gc=False):
    """``futures.order_book_update``: changed levels of the subscribed depth; ``full`` as on spot."""

    t: Millis
    s: str  # contract
    u: Id  # last update id in this message
    U: Id | None = None  # first update id in this message
    b: list[FuturesLevel] = []
    a: list[FuturesLevel] = []
    full: bool = False
    # Not decoded: l, the subscribed depth ("100", "50", "20"; absent when none was asked).


class FuturesSnapshot(msgspec.Struct, gc=False):
    """REST ``GET /futures/{settle}/order_book?with_id=true``."""

    bids: list[FuturesLevel]
    asks: list[FuturesLevel]
    id: Id | None = None
    current: Seconds | None = None  # response time, s with a fraction
    update: Seconds | None = None


class FuturesTicker(msgspec.Struct, gc=False):
    """One element of ``futures.tickers``; ``total_size`` is the open interest in contracts."""

    contract: str
    last: Price | None = None
    mark_price: Price | None = None
    index_price: Price | None = None
    funding_rate: Finite | None = None  # rate of the current funding interval, a fraction
    funding_rate_indicative: Finite | None = None  # predicted rate of the next interval
    total_size: Size | None = None  # open interest, contracts


class PublicLiquidation(msgspec.Struct, gc=False):
    """One element of ``futures.public_liquidates``: the liquidation order, ``size`` signed like orders."""

    contract: str
    price: Price  # order price
    size: Finite  # contracts; negative: a sell order (a long was liquidated)
    time_ms: Millis


class Contract(msgspec.Struct, gc=False):
    """One entry of REST ``GET /futures/{settle}/contracts`` (perpetuals)."""

    name: str  # "BTC_USDT"
    type: str = "direct"  # "direct" (linear) or "inverse"
    quanto_multiplier: Size = 0.0  # base units per contract on direct contracts
    order_price_round: Price | None = None  # price tick
    funding_interval: int = 0  # s
    funding_next_apply: Seconds | None = None  # epoch s
    in_delisting: bool = False
    status: str = "trading"  # "prelaunch", "trading", "delisting", "delisted", "circuit_breaker"
