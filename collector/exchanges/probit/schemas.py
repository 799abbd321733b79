"""ProBit websocket and REST messages, one struct each, keys as ProBit sends them.

Every public frame is one ``marketdata`` message of one market, which may carry several
filters at once: ``ticker``, ``recent_trades`` and a book under its filter's name
(``order_books`` or a price-grouped ``order_books_l0`` ... ``order_books_l4``), with
``reset: true`` when the message holds the full state of each filter it carries.
:class:`MarketData` reads all of them in one pass (and the few other shapes: errors,
authorization replies, private channels) so a frame is decoded once.

All numbers are decimal strings (decoders use ``strict=False``); times are ISO-8601 UTC
strings with milliseconds (``"2020-11-01T03:59:06.277Z"``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec

from ..fields import Finite, Price, Size

__all__ = ["BookEntry", "MarketData", "MarketInfo", "MarketList", "RecentTrade", "RestBook", "TickerData"]


class BookEntry(msgspec.Struct, gc=False):
    """One price level: ``side`` ``buy`` (bid) or ``sell`` (ask), ``quantity`` the absolute size ("0" removes).

    Snapshots hold a ``buy`` entry at price ``"0"`` that is no level, so prices here may be 0.
    """

    side: str
    price: Size
    quantity: Size


class RecentTrade(msgspec.Struct, gc=False):
    """One trade; ``side`` is the taker side ("trade side", buy or sell)."""

    id: str  # "<market>:<sequence>", e.g. "ETH-BTC:4429182"
    price: Price
    quantity: Size  # base units
    time: datetime
    side: str
    tick_direction: str = ""  # up, down, zero, zeroup, zerodown


class TickerData(msgspec.Struct, gc=False):
    """``ticker``: 24 h statistics and the last price; no best bid/offer. ``"0"`` means none."""

    time: datetime | None = None  # when the ticker was last calculated
    last: Size | None = None
    low: Size | None = None
    high: Size | None = None
    change: Finite | None = None  # last minus the price 24 h ago
    base_volume: Size | None = None
    quote_volume: Size | None = None


class MarketData(msgspec.Struct, gc=False):
    """Any frame: a ``marketdata`` message, another channel's, an error or an authorization reply."""

    channel: str = ""  # "marketdata"; private channels: open_order, order_history, trade_history, balance
    market_id: str = ""  # "BTC-USDT"
    status: str = ""  # "ok"; the docs also list "unavailable"
    reset: bool = False  # true: the full state of every filter in the message
    ticker: TickerData | None = None
    recent_trades: list[RecentTrade] | None = None
    order_books: list[BookEntry] | None = None
    order_books_l0: list[BookEntry] | None = None
    order_books_l1: list[BookEntry] | None = None
    order_books_l2: list[BookEntry] | None = None
    order_books_l3: list[BookEntry] | None = None
    order_books_l4: list[BookEntry] | None = None
    errorCode: str | None = None  # errors have no channel: {"errorCode":"INVALID_ARGUMENT","details":{...}}
    message: str = ""
    details: Any = None
    type: str = ""  # authorization replies: {"type":"authorization","result":"ok"}


class MarketInfo(msgspec.Struct, gc=False):
    """One entry of ``GET /api/exchange/v1/market``."""

    id: str  # "BTC-USDT"
    base_currency_id: str
    quote_currency_id: str
    closed: bool = False
    price_increment: float | None = None
    quantity_precision: int | None = None
    min_quantity: float | None = None


class MarketList(msgspec.Struct, gc=False):
    """``GET /api/exchange/v1/market``."""

    data: list[MarketInfo]


class RestBook(msgspec.Struct, gc=False):
    """``GET /api/exchange/v1/order_book?market_id=``: both sides in one list, like the websocket's."""

    data: list[BookEntry]
