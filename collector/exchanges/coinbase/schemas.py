"""Coinbase Advanced Trade wire messages, one struct each, keys as Coinbase sends them.

Every market-data frame is an envelope ``{"channel", "timestamp", "sequence_num",
"events"}`` whose ``events`` depend on the channel, so the envelopes form one tagged
union on ``channel`` (:data:`Message`): a frame is decoded once, in C, straight into the
struct of its channel. Decode with ``strict=False`` so decimal strings (``"65083.66"``)
become floats and ``"1786309500"`` an int.

Ticker numbers may be ``""``: ``ticker_batch`` may carry records of empty strings
(``"product_id":""``) and BBO fields may be missing, which is "no value", not an error
(:data:`Num`).
Timestamps stay strings too (RFC 3339 with up to 9 fractional digits); the adapter
converts them (:func:`collector.exchanges.coinbase.parse.rfc3339`).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from ..fields import Id, Price, Size

__all__ = [
    "CandleData",
    "Candles",
    "CandlesEvent",
    "FutureDetails",
    "Heartbeats",
    "L2Data",
    "L2Event",
    "L2Level",
    "Loose",
    "LooseEvent",
    "MarketTrade",
    "MarketTrades",
    "Message",
    "Num",
    "Pagination",
    "Product",
    "Products",
    "Subscriptions",
    "TickerBatch",
    "TickerData",
    "TickerEvent",
    "TickerMessage",
    "TradesEvent",
]

Num: TypeAlias = Size | Literal[""]
"""A ticker number (a decimal string, finite and >= 0), or ``""``: no value."""
Seconds: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
"""A time in whole seconds since the epoch (candle ``start``)."""


class _Envelope(msgspec.Struct, tag_field="channel", gc=False):
    """What every market-data frame carries besides its events."""

    timestamp: str = ""  # when Coinbase sent the message, RFC 3339 with nanoseconds
    # A counter per *connection*, shared by all channels (0 on the first message): a
    # jump means a message of this connection was lost.
    sequence_num: Id | None = None


# -- level2 -> l2_data ---------------------------------------------------------------------------


class L2Level(msgspec.Struct, gc=False):
    """One entry of ``updates``: the new absolute size of one level (``"0"`` removes it)."""

    side: Literal["bid", "offer"]  # "offer", not "ask"
    price_level: Price
    new_quantity: Size
    # event_time (RFC 3339; 1970-01-01T00:00:00Z, meaningless, in some snapshots) is not read.


class L2Event(msgspec.Struct, gc=False):
    """One product's snapshot (the whole book, best levels first) or update."""

    type: str  # "snapshot" or "update"
    product_id: str
    updates: list[L2Level]


class L2Data(_Envelope, tag="l2_data"):
    """``level2`` subscriptions arrive on channel ``l2_data``."""

    events: list[L2Event] = []


# -- market_trades -------------------------------------------------------------------------------


class MarketTrade(msgspec.Struct, gc=False):
    """One trade. ``side`` is the side of the resting (maker) order."""

    trade_id: str  # numeric, increasing per product
    product_id: str
    price: Price
    size: Size  # base units (contracts for futures)
    side: Literal["BUY", "SELL"]
    time: str  # RFC 3339, microseconds


class TradesEvent(msgspec.Struct, gc=False):
    """``snapshot`` (the most recent trades, on subscribe) or ``update``; trades newest first."""

    type: str
    trades: list[MarketTrade]


class MarketTrades(_Envelope, tag="market_trades"):
    """Trades, batched over the last 250 ms."""

    events: list[TradesEvent] = []


# -- ticker / ticker_batch -----------------------------------------------------------------------


class TickerData(msgspec.Struct, gc=False):
    """One product's ticker; ``""`` (or a missing key) means "no value"."""

    product_id: str = ""
    type: str = ""  # "ticker"
    price: Num = ""  # last trade price
    volume_24_h: Num = ""  # base units
    low_24_h: Num = ""
    high_24_h: Num = ""
    low_52_w: str = ""
    high_52_w: str = ""
    price_percent_chg_24_h: str = ""
    best_bid: Num = ""
    best_bid_quantity: Num = ""
    best_ask: Num = ""
    best_ask_quantity: Num = ""


class TickerEvent(msgspec.Struct, gc=False):
    """``snapshot`` on subscribe, then ``update``."""

    type: str
    tickers: list[TickerData]


class TickerMessage(_Envelope, tag="ticker"):
    """``ticker``: pushed on every match (batched in cascades)."""

    events: list[TickerEvent] = []


class TickerBatch(_Envelope, tag="ticker_batch"):
    """``ticker_batch``: the same tickers at most every 5 s (BBO fields may be absent)."""

    events: list[TickerEvent] = []


# -- candles -------------------------------------------------------------------------------------


class CandleData(msgspec.Struct, gc=False):
    """One five-minute candle ``[start, start + 300 s)``."""

    start: Seconds  # epoch seconds, as a string on the wire
    open: Price
    high: Price
    low: Price
    close: Price
    volume: Size  # base units (contracts for futures)
    product_id: str


class CandlesEvent(msgspec.Struct, gc=False):
    """``snapshot`` (up to 100 buckets, oldest first) or ``update`` (the forming bucket)."""

    type: str
    candles: list[CandleData]


class Candles(_Envelope, tag="candles"):
    """Five-minute candles, updated every second."""

    events: list[CandlesEvent] = []


# -- control channels ----------------------------------------------------------------------------


class Heartbeats(_Envelope, tag="heartbeats"):
    """One per second per connection subscribed to ``heartbeats`` (``heartbeat_counter`` in ``events``)."""

    events: msgspec.Raw = msgspec.Raw()


class Subscriptions(_Envelope, tag="subscriptions"):
    """The connection's whole subscription state, after every subscribe and unsubscribe."""

    events: msgspec.Raw = msgspec.Raw()


Message: TypeAlias = L2Data | MarketTrades | TickerMessage | TickerBatch | Candles | Heartbeats | Subscriptions
"""Every channel this adapter reads, decoded in one pass by ``channel``."""


class LooseEvent(msgspec.Struct, gc=False):
    """Just the product of an event, for naming the book a frame that failed to decode was about."""

    product_id: str = ""


class Loose(msgspec.Struct, gc=False):
    """Any JSON object, read leniently: what a frame is when :data:`Message` cannot take it.

    Errors come as ``{"type": "error", "message": "..."}``, without a channel.
    """

    channel: str = ""
    type: str = ""
    message: str = ""
    sequence_num: Id | None = None
    events: msgspec.Raw = msgspec.Raw()  # read as list[LooseEvent] only where the products matter


# -- REST: GET /api/v3/brokerage/market/products -------------------------------------------------


class FutureDetails(msgspec.Struct, gc=False):
    """``future_product_details`` of a ``FUTURE`` product."""

    contract_root_unit: str = ""  # the underlying, e.g. "BTC" (base_currency_id is "" on futures)
    contract_size: str = ""  # underlying units per contract, e.g. "0.01"
    contract_expiry: str = ""  # RFC 3339
    contract_expiry_type: str = ""  # "EXPIRING" or "PERPETUAL" (perpetual-style contracts often say EXPIRING)
    funding_rate: str = ""  # non-empty on perpetual-style contracts only
    funding_interval: str | None = None  # "3600s" on perpetual-style contracts


class Product(msgspec.Struct, gc=False):
    """One entry of ``products``."""

    product_id: str
    base_currency_id: str = ""
    quote_currency_id: str = ""
    product_type: str = ""  # "SPOT" or "FUTURE"
    status: str = ""  # "online", "delisted", ... ("" on futures)
    trading_disabled: bool = False
    is_disabled: bool = False
    alias: str = ""  # "BTC-USD" on BTC-USDC: the product whose market data it shares
    price_increment: str = ""
    quote_increment: str = ""
    base_increment: str = ""
    future_product_details: FutureDetails | None = None


class Pagination(msgspec.Struct, gc=False):
    """``pagination`` of a listing page."""

    next_cursor: str = ""
    has_next: bool = False


class Products(msgspec.Struct, gc=False):
    """``GET /api/v3/brokerage/market/products``."""

    products: list[Product]
    num_products: int = 0
    pagination: Pagination | None = None
