"""Coinone public websocket and REST messages, one struct each, keys as Coinone sends them.

Every data frame is ``{"response_type":"DATA","channel":<CH>,"data":{...}}`` with prices and
quantities as decimal strings; decoders are built with ``strict=False`` so msgspec turns
them into floats while it parses. A subscription may ask for the ``SHORT`` format, which
sends the same fields under one- to three-letter keys (``r``, ``c``, ``d``, ``qc`` ...):
each ``Short*`` struct is its ``DEFAULT`` twin read from those keys (same attribute
names, so one handler serves both). Unknown keys are ignored.
"""

from __future__ import annotations

import msgspec

from ..fields import Id, Millis, Price, Size

__all__ = [
    "SHORT_KEYS",
    "ChartData",
    "ChartPush",
    "Envelope",
    "Level",
    "Market",
    "MarketsResponse",
    "OrderbookData",
    "OrderbookPush",
    "PricedTickerData",
    "PricedTickerPush",
    "ShortChartData",
    "ShortChartPush",
    "ShortLevel",
    "ShortOrderbookData",
    "ShortOrderbookPush",
    "ShortTickerData",
    "ShortTickerPush",
    "ShortTradeData",
    "ShortTradePush",
    "TickerData",
    "TickerPush",
    "TradeData",
    "TradePush",
]

SHORT_KEYS: dict[str, str] = {
    "response_type": "r",
    "channel": "c",
    "data": "d",
    "quote_currency": "qc",
    "target_currency": "tc",
    "timestamp": "t",
    "id": "i",
    "asks": "a",
    "bids": "b",
    "price": "p",
    "qty": "q",
    "is_seller_maker": "sm",
    "quote_volume": "qv",
    "target_volume": "tv",
    "high": "hi",
    "low": "lo",
    "first": "fi",
    "last": "la",
    "ask_best_price": "abp",
    "ask_best_qty": "abq",
    "bid_best_price": "bbp",
    "bid_best_qty": "bbq",
    "interval": "iv",
    "candle_timestamp": "ct",
}
"""The ``SHORT`` format's key for each ``DEFAULT`` key ("Stream Fields ... Short field")."""


class Envelope(msgspec.Struct, gc=False):
    """What a frame is: data, an acknowledgement, a pong, the greeting or an error, in either format."""

    response_type: str | None = None  # DATA, SUBSCRIBED, UNSUBSCRIBED, PONG, CONNECTED, ERROR
    channel: str | None = None  # ORDERBOOK, TICKER, TRADE, CHART (private: MYORDER, MYASSET)
    r: str | None = None  # SHORT format: response_type
    c: str | None = None  # SHORT format: channel
    error_code: int | str | None = None  # ERROR: 160010 invalid request, 160011 type, 160012 topic
    message: str | None = None  # ERROR: "Invalid Topic"


# -- ORDERBOOK ---------------------------------------------------------------------------------


class Level(msgspec.Struct, gc=False):
    """One book level: price in the quote currency, quantity in the target (base) currency."""

    price: Price
    qty: Size


class OrderbookData(msgspec.Struct, gc=False):
    """``ORDERBOOK`` ``data``: the whole top of the book (16 levels a side), not a diff.

    Asks come worst first (descending) and bids best first; never assume index 0 is best.
    """

    quote_currency: str  # "KRW"
    target_currency: str  # "BTC"
    asks: list[Level]
    bids: list[Level]
    timestamp: Millis | None = None  # ms; the frame sent on subscribe carries an older one
    id: Id | None = None  # "1693560155038001": ms time and a 3-digit counter; larger is newer


class OrderbookPush(msgspec.Struct, gc=False):
    """A whole ``ORDERBOOK`` frame, decoded in one pass."""

    response_type: str  # "DATA"
    channel: str  # "ORDERBOOK"
    data: OrderbookData


# -- TRADE -------------------------------------------------------------------------------------


class TradeData(msgspec.Struct, gc=False):
    """``TRADE`` ``data``: one fill. ``is_seller_maker``: "whether the seller is the maker"."""

    quote_currency: str
    target_currency: str
    id: str  # "1693560450996001"
    timestamp: Millis  # fill time, ms
    price: Price
    qty: Size  # target (base) units
    is_seller_maker: bool  # true: the buyer took a resting sell order, the taker bought


class TradePush(msgspec.Struct, gc=False):
    """A whole ``TRADE`` frame."""

    response_type: str
    channel: str
    data: TradeData


# -- TICKER ------------------------------------------------------------------------------------


class TickerData(msgspec.Struct, gc=False):
    """``TICKER`` ``data``: UTC-day open/high/low/last, 24 h volumes and the best bid and ask.

    "ask_best_price ... null when there is none" (likewise the bid): an empty side. Prices
    are read as non-negative here and a ``"0"`` price (a market that has not traded) is
    mapped to "none" by the adapter; :class:`PricedTickerData` is the positive-only twin
    the fast path reads.
    """

    quote_currency: str
    target_currency: str
    timestamp: Millis | None = None  # ms
    last: Size | None = None  # last trade price
    first: Size | None = None  # opening price of the UTC day
    high: Size | None = None  # UTC day
    low: Size | None = None  # UTC day
    target_volume: Size | None = None  # "last 24 hours", base units
    quote_volume: Size | None = None  # "last 24 hours", KRW
    bid_best_price: Size | None = None
    bid_best_qty: Size | None = None
    ask_best_price: Size | None = None
    ask_best_qty: Size | None = None
    id: str | None = None  # larger is newer


class TickerPush(msgspec.Struct, gc=False):
    """A whole ``TICKER`` frame."""

    response_type: str
    channel: str
    data: TickerData


class PricedTickerData(msgspec.Struct, gc=False):
    """:class:`TickerData` whose every price is positive and whose best bid and ask are there:
    a ticker with a ``"0"`` price, or a ``null`` best price (an empty side, whose size the
    adapter then drops), does not decode as this and takes the adapter's path. Every other
    field is checked as :class:`TickerData` checks it, so both paths accept the same frames.
    """

    quote_currency: str
    target_currency: str
    bid_best_price: Price
    ask_best_price: Price
    timestamp: Millis | None = None
    last: Price | None = None
    first: Price | None = None
    high: Price | None = None
    low: Price | None = None
    target_volume: Size | None = None
    quote_volume: Size | None = None
    bid_best_qty: Size | None = None
    ask_best_qty: Size | None = None
    id: str | None = None


class PricedTickerPush(msgspec.Struct, gc=False):
    """A whole ``TICKER`` frame whose prices are all positive (what the fast path routes)."""

    response_type: str
    channel: str
    data: PricedTickerData


# -- CHART -------------------------------------------------------------------------------------


class ChartData(msgspec.Struct, gc=False):
    """``CHART`` ``data``: the bar of ``interval`` starting at ``candle_timestamp``, sent when it changes.

    Coinone never marks a bar closed: it is final once a bar with a later start arrives.
    """

    quote_currency: str
    target_currency: str
    interval: str  # 1m, 3m, 5m, 15m, 30m, 1h, 2h, 4h, 6h, 1d, 1w
    candle_timestamp: Millis  # the bar's start, ms
    first: Price  # open
    high: Price
    low: Price
    last: Price  # close
    target_volume: Size  # base units
    quote_volume: Size | None = None  # KRW
    timestamp: Millis | None = None  # ms
    id: str | None = None


class ChartPush(msgspec.Struct, gc=False):
    """A whole ``CHART`` frame."""

    response_type: str
    channel: str
    data: ChartData


# -- the SHORT format: the same structs read from the short keys --------------------------------


class ShortLevel(Level, gc=False, rename=SHORT_KEYS):
    """:class:`Level` in the ``SHORT`` format (``p``, ``q``)."""

    price: Price
    qty: Size


class ShortOrderbookData(OrderbookData, gc=False, rename=SHORT_KEYS):
    """:class:`OrderbookData` in the ``SHORT`` format (``qc``, ``tc``, ``t``, ``i``, ``a``, ``b``)."""

    quote_currency: str
    target_currency: str
    asks: list[ShortLevel]  # type: ignore[assignment]
    bids: list[ShortLevel]  # type: ignore[assignment]
    timestamp: Millis | None = None
    id: Id | None = None


class ShortOrderbookPush(OrderbookPush, gc=False, rename=SHORT_KEYS):
    """:class:`OrderbookPush` in the ``SHORT`` format (``r``, ``c``, ``d``)."""

    response_type: str
    channel: str
    data: ShortOrderbookData


class ShortTradeData(TradeData, gc=False, rename=SHORT_KEYS):
    """:class:`TradeData` in the ``SHORT`` format (``i``, ``t``, ``p``, ``q``, ``sm``)."""

    quote_currency: str
    target_currency: str
    id: str
    timestamp: Millis
    price: Price
    qty: Size
    is_seller_maker: bool


class ShortTradePush(TradePush, gc=False, rename=SHORT_KEYS):
    """:class:`TradePush` in the ``SHORT`` format."""

    response_type: str
    channel: str
    data: ShortTradeData


class ShortTickerData(TickerData, gc=False, rename=SHORT_KEYS):
    """:class:`TickerData` in the ``SHORT`` format (``la``, ``fi``, ``hi``, ``lo``, ``tv``, ``qv``, ``bbp`` ...)."""

    quote_currency: str
    target_currency: str
    timestamp: Millis | None = None
    last: Size | None = None
    first: Size | None = None
    high: Size | None = None
    low: Size | None = None
    target_volume: Size | None = None
    quote_volume: Size | None = None
    bid_best_price: Size | None = None
    bid_best_qty: Size | None = None
    ask_best_price: Size | None = None
    ask_best_qty: Size | None = None
    id: str | None = None


class ShortTickerPush(TickerPush, gc=False, rename=SHORT_KEYS):
    """:class:`TickerPush` in the ``SHORT`` format."""

    response_type: str
    channel: str
    data: ShortTickerData


class ShortChartData(ChartData, gc=False, rename=SHORT_KEYS):
    """:class:`ChartData` in the ``SHORT`` format (``iv``, ``ct``, ``fi``, ``hi``, ``lo``, ``la``, ``tv``, ``qv``)."""

    quote_currency: str
    target_currency: str
    interval: str
    candle_timestamp: Millis
    first: Price
    high: Price
    low: Price
    last: Price
    target_volume: Size
    quote_volume: Size | None = None
    timestamp: Millis | None = None
    id: str | None = None


class ShortChartPush(ChartPush, gc=False, rename=SHORT_KEYS):
    """:class:`ChartPush` in the ``SHORT`` format."""

    response_type: str
    channel: str
    data: ShortChartData


# -- REST --------------------------------------------------------------------------------------


class Market(msgspec.Struct, gc=False):
    """One entry of ``GET /public/v2/markets/{quote_currency}``."""

    quote_currency: str  # "KRW"
    target_currency: str  # "BTC"
    price_unit: Size | None = None  # tick size at the current price ("10000.0"); 0 or absent: unknown
    qty_unit: Size | None = None  # quantity step ("0.00000001")
    trade_status: int = 1  # 0 no trading, 1 buy and sell, 2 no buy, 3 no sell
    maintenance_status: int = 0  # 0 normal, 1 under maintenance


class MarketsResponse(msgspec.Struct, gc=False):
    """``{"result":"success","error_code":"0","server_time":...,"markets":[...]}``; errors come with HTTP 200."""

    result: str = ""
    error_code: int | str | None = None
    markets: list[Market] = []
