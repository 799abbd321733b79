"""Bitstamp websocket v2 and REST v2 wire messages, one struct each, keys as Bitstamp sends them.

Every websocket frame is an object with ``event``, ``channel`` and ``data``; market data
frames put ``data`` first (``{"data": {...}, "channel": "live_trades_btcusd", "event":
"trade"}``), control frames put ``event`` first. Decoders are built with ``strict=False``
so Bitstamp's decimal strings (``"0.01414016"``) and its string microtimestamps
(``"1643643584587000"``) become numbers while msgspec parses. Unknown keys are ignored,
so fields Bitstamp adds later (``id_str``, ``event_id``) do not break decoding.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

import msgspec

from ..fields import Finite, Id, Levels, Price, Size

__all__ = [
    "BookData",
    "BookMessage",
    "BookTop",
    "Envelope",
    "ErrorData",
    "ExactTrade",
    "ExactTradeMessage",
    "FundingData",
    "FundingMessage",
    "Micros",
    "Seconds",
    "Snapshot",
    "TopData",
    "TopMessage",
    "TradeData",
    "TradeMessage",
    "TradingPair",
]

Micros: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**53)]
"""A time in microseconds since the epoch (Bitstamp's ``microtimestamp``), 0 <= t <= 2**53."""

Seconds: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**40)]
"""A time in seconds since the epoch, 0 <= t <= 2**40."""


class Envelope(msgspec.Struct, gc=False):
    """Any frame, with its payload left raw: control frames and channels read on the slow path."""

    event: str = ""  # "trade", "data", "bts:subscription_succeeded", "bts:heartbeat", "bts:error" ...
    channel: str = ""  # "<kind>_<pair>", e.g. "diff_order_book_btcusd"; "" on heartbeats and errors
    data: msgspec.Raw = msgspec.Raw()  # the payload: {} on acks, null on bts:request_reconnect


class TradeData(msgspec.Struct, gc=False):
    """``data`` of a ``live_trades_<pair>`` ``trade`` event: one trade."""

    id: Id  # trade id (past 2**53 on newer markets; id_str repeats it as text)
    microtimestamp: Micros  # trade time, µs (``timestamp`` is seconds on spot, ms on perpetuals)
    type: int  # 0 = buy, 1 = sell: the taker's side
    amount: Size  # base units, a JSON number (binary float: 0.014140160000000001)
    price: Price  # a JSON number
    amount_str: Size | None = None  # the exact decimal text of amount, preferred when present
    price_str: Price | None = None  # the exact decimal text of price
    buy_order_id: int | None = None
    sell_order_id: int | None = None


class TradeMessage(msgspec.Struct, gc=False):
    """A whole ``live_trades_<pair>`` frame, decoded in one pass."""

    data: TradeData
    channel: str
    event: str


class BookData(msgspec.Struct, gc=False):
    """``data`` of ``diff_order_book_<pair>`` (changed levels) and ``order_book_<pair>`` (top 100).

    Levels are ``[price, amount]`` strings with absolute amounts in base units; in a diff
    an amount of zero (``"0.00000000"``) removes the level. Bids best first, asks best first.
    """

    microtimestamp: Micros  # µs; orders diffs against the REST snapshot (no sequence number exists)
    bids: Levels
    asks: Levels


class BookMessage(msgspec.Struct, gc=False):
    """A whole book frame (``diff_order_book_<pair>`` or ``order_book_<pair>``), decoded in one pass."""

    data: BookData
    channel: str
    event: str


class BookTop(msgspec.Struct, array_like=True, gc=False):
    """One side of ``order_book_<pair>`` read for its best level only: the levels after the first
    are parsed (the frame must be JSON) but make no objects; ``None`` for an empty side."""

    best: tuple[Price, Size] | None = None


class TopData(msgspec.Struct, gc=False):
    """``data`` of ``order_book_<pair>`` (the whole top 100 levels), read for its best bid and ask."""

    microtimestamp: Micros
    bids: BookTop
    asks: BookTop


class TopMessage(msgspec.Struct, gc=False):
    """A whole ``order_book_<pair>`` frame, read for its top of book."""

    data: TopData
    channel: str
    event: str


class ExactTrade(msgspec.Struct, gc=False):
    """:class:`TradeData` with ``amount_str`` and ``price_str`` (what the fast path routes)."""

    id: Id
    microtimestamp: Micros
    type: int
    amount: Size
    price: Price
    amount_str: Size
    price_str: Price
    buy_order_id: int | None = None
    sell_order_id: int | None = None


class ExactTradeMessage(msgspec.Struct, gc=False):
    """A ``live_trades_<pair>`` frame whose trade has its exact decimals."""

    data: ExactTrade
    channel: str
    event: str


class FundingData(msgspec.Struct, gc=False):
    """``data`` of a ``funding_rate_<pair>`` ``funding_rate_saved`` event (perpetuals, about once a second)."""

    mark_price: Price
    index_price: Price
    funding_rate: Finite  # the current interval's rate as a fraction ("0.000123")
    timestamp: Seconds
    next_funding_time: Seconds
    market: str = ""  # the pair, "btcusd-perp"


class FundingMessage(msgspec.Struct, gc=False):
    """A whole ``funding_rate_<pair>`` frame, decoded in one pass."""

    data: FundingData
    channel: str
    event: str


class ErrorData(msgspec.Struct, gc=False):
    """``data`` of ``bts:error``: ``code`` is null or 4009 (private channel auth), ``message`` says why."""

    code: int | None = None
    message: str = ""


class Snapshot(msgspec.Struct, gc=False):
    """``GET /api/v2/order_book/<pair>/``: the whole book, grouped by price (``group=1``)."""

    microtimestamp: Micros  # µs: diffs at or before it are in the snapshot
    bids: Levels
    asks: Levels
    timestamp: str = ""  # seconds


class TradingPair(msgspec.Struct, gc=False):
    """One entry of ``GET /api/v2/trading-pairs-info/``.

    ``name`` is the pair as Bitstamp writes it (``"BTC/USD"``); ``url_symbol`` the id used
    in channel names and REST paths (``"btcusd"``). Newer listings also carry
    ``base_currency``/``counter_currency``, ``market_type`` and ``contract_size``.
    """

    name: str = ""
    url_symbol: str = ""
    base_decimals: int | None = None  # amount precision: step 10**-base_decimals
    counter_decimals: int | None = None  # price precision: tick 10**-counter_decimals
    trading: str = ""  # "Enabled" or "Disabled"
    minimum_order: str = ""  # "10 USD"
    description: str = ""  # "Bitcoin / U.S. dollar"
    base_currency: str = ""
    counter_currency: str = ""
    market_type: str = ""  # "SPOT", "PERPETUAL" where given
    contract_size: float | None = None  # perpetuals: base units per contract (1)
