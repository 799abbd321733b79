"""Kraken Futures public wire messages (``wss://futures.kraken.com/ws/v1``, REST ``/derivatives/api/v3``).

Websocket data messages are objects with a ``feed`` (``book``, ``book_snapshot``, ``trade``,
``trade_snapshot``, ``ticker``, ``ticker_lite``, ``heartbeat``); replies are objects with an
``event`` (``info``, ``subscribed``, ``unsubscribed``, ``error``, ``alert``). Prices and sizes
are JSON numbers, times milliseconds. Decoders use ``strict=False``; unknown keys are ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec

from ..fields import Finite, Id, Millis, Price, Size

__all__ = [
    "BookDelta",
    "BookSnapshot",
    "Envelope",
    "FuturesInstrument",
    "InstrumentsResponse",
    "Level",
    "RoutedTrade",
    "Ticker",
    "TickerLite",
    "TradeMsg",
    "TradeSnapshot",
]


class FuturesInstrument(msgspec.Struct, gc=False):
    """One entry of ``GET /derivatives/api/v3/instruments`` ``instruments``.

    Older listings give lowercase symbols and no ``base``/``quote``; newer ones both.
    """

    symbol: str  # "PI_XBTUSD" (older listings: "pi_xbtusd"); websocket product ids are uppercase
    type: str = ""  # futures_inverse, flexible_futures, futures_vanilla; "spot index" for indices
    tradeable: bool = False
    tickSize: float | None = None
    contractSize: Price = 1.0  # inverse: USD per contract; linear: base units per contract
    lastTradingTime: datetime | None = None  # dated contracts only
    base: str = ""  # newer listings: "BTC" (or "XBT")
    quote: str = ""  # newer listings: "USD"
    contractValueTradePrecision: int | None = None  # size step is 10 ** -precision


class InstrumentsResponse(msgspec.Struct, gc=False):
    """The instrument listing: ``result`` is ``"success"`` or ``"error"``."""

    result: str = ""
    instruments: list[FuturesInstrument] = []
    error: str = ""


class Envelope(msgspec.Struct, gc=False):
    """What every frame is, when its first key does not say: a reply (``event``) or a feed message."""

    event: str = ""  # info, subscribed, unsubscribed, subscribed_failed, error, alert, challenge
    feed: str = ""
    product_ids: list[str] | None = None
    message: str = ""  # the reason of an error or alert


class Level(msgspec.Struct, gc=False):
    """A book level of a snapshot: ``qty`` in contracts."""

    price: Price
    qty: Size


class BookSnapshot(msgspec.Struct, gc=False):
    """``book_snapshot``: the whole book and the sequence number updates continue from."""

    product_id: str
    seq: Id
    bids: list[Level] = []
    asks: list[Level] = []
    timestamp: Millis | None = None


class BookDelta(msgspec.Struct, gc=False):
    """``book``: one level per message; ``qty`` 0 removes it; ``seq`` is the previous message's + 1."""

    product_id: str
    side: str  # "buy" (bid) or "sell" (ask)
    seq: Id
    price: Price
    qty: Size  # absolute size, contracts
    timestamp: Millis | None = None


class TradeMsg(msgspec.Struct, gc=False):
    """``trade``: one fill; ``side`` is the taker's ("the classification of the taker side").

    The entries of a ``trade_snapshot`` have the same fields, with or without ``feed`` and
    ``product_id`` (the snapshot names the product).
    """

    side: str  # "buy" or "sell"
    seq: Id  # per product
    time: Millis
    qty: Size  # contracts
    price: Price
    product_id: str = ""
    uid: str = ""  # trade id
    type: str = "fill"  # fill, liquidation, termination, block


class RoutedTrade(msgspec.Struct, gc=False):
    """A ``trade`` message the fast path takes: :class:`TradeMsg` with a trade id (``uid``) required.

    Without one the trade's id is its ``seq``, which the Python path writes.
    """

    side: str
    seq: Id
    time: Millis
    qty: Size
    price: Price
    product_id: str
    uid: Annotated[str, msgspec.Meta(min_length=1)]
    type: str = "fill"


class TradeSnapshot(msgspec.Struct, gc=False):
    """``trade_snapshot``: the most recent trades on subscribe, newest first."""

    product_id: str
    trades: list[TradeMsg] = []


class Ticker(msgspec.Struct, gc=False):
    """``ticker``: quote, 24 h statistics, mark/index prices, funding and open interest.

    Funding fields are absent on dated contracts, and on perpetuals when they are zero
    ("if zero, field is not populated").
    """

    product_id: str
    time: Millis | None = None
    bid: Size = 0.0
    ask: Size = 0.0
    bid_size: Size = 0.0  # contracts
    ask_size: Size = 0.0
    last: Size = 0.0
    volume: Size | None = None  # 24 h, contracts
    volumeQuote: Size | None = None  # 24 h, in the non-base currency
    open: Size | None = None
    high: Size | None = None
    low: Size | None = None
    index: Size | None = None
    markPrice: Size | None = None
    openInterest: Size | None = None  # contracts
    funding_rate: Finite | None = None  # absolute, per contract: not a rate
    relative_funding_rate: Finite | None = None  # fraction of notional for the current hour
    relative_funding_rate_prediction: Finite | None = None
    next_funding_rate_time: Finite | None = None  # ms
    suspended: bool = False


class TickerLite(msgspec.Struct, gc=False):
    """``ticker_lite``: best bid/ask and 24 h volume, without sizes."""

    product_id: str
    bid: Size = 0.0
    ask: Size = 0.0
    volume: Size | None = None
    volumeQuote: Size | None = None
