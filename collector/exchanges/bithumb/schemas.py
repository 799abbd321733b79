"""Bithumb websocket messages where they differ from Upbit's, one struct each.

Bithumb's public socket copies Upbit's quotation messages (``../upbit/schemas.py``; tickers
are read with Upbit's structs as they are). What differs, from real frames (ccxt's 2026
captures) against the docs:

- ``trade.sequential_id`` is a **string** of 18-19 digits (past 2**53, and 2**63 for some);
- ``orderbook.timestamp`` is a **string of 16 digits, microseconds**, although the docs table
  says Long milliseconds: both are read (``strict=False`` decoding turns the digits into an int);
- ``orderbook.level`` is 1 when no grouping was asked for (Upbit: 0);
- trades carry no best bid/offer; ``trade_date``/``trade_time`` are KST (never read here).

The legacy ``pubwss.bithumb.com`` protocol (API 1.0) is recognised by :class:`Envelope`'s
``resmsg`` and ``content`` fields only, to report it.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeAlias

import msgspec

from ..fields import Finite, Id, Millis, Price, Size
from ..upbit.schemas import (
    ORDERBOOK_KEYS,
    TRADE_KEYS,
    UNIT_KEYS,
    abbreviated,
)
from ..upbit.schemas import Envelope as UpbitEnvelope

__all__ = [
    "MICROS_FROM",
    "Envelope",
    "MicrosOrderbook",
    "MillisOrderbook",
    "Orderbook",
    "OrderbookUnit",
    "SimpleMicrosOrderbook",
    "SimpleMillisOrderbook",
    "SimpleOrderbook",
    "SimpleTrade",
    "TradeMessage",
]

MICROS_FROM = 10**14
"""Orderbook times at and above this are microseconds (16 digits today), below it milliseconds."""

Micros: TypeAlias = Annotated[int, msgspec.Meta(ge=MICROS_FROM, le=2**53)]
BookMillis: TypeAlias = Annotated[int, msgspec.Meta(ge=0, lt=MICROS_FROM)]


class Envelope(UpbitEnvelope):
    """Upbit's envelope plus the legacy protocol's marks (its ``status`` is "0000" or "5100")."""

    resmsg: str = ""  # legacy: "Connected Successfully", "Filter Registered Successfully"
    content: Any = None  # legacy: every data message's payload


class TradeMessage(msgspec.Struct, gc=False):
    """``trade``: one fill; ``ask_bid`` is the taker side ("ASK: 매도, BID: 매수")."""

    code: str
    trade_price: Price
    trade_volume: Size
    ask_bid: str
    trade_timestamp: Millis  # fill time, ms
    sequential_id: Id | str  # a string of digits on the wire; kept as text
    timestamp: Millis | None = None  # server send time, ms
    stream_type: str = ""


class OrderbookUnit(msgspec.Struct, gc=False):
    """One row of ``orderbook_units``: the i-th best ask and the i-th best bid (0 pads a short side)."""

    ask_price: Size
    bid_price: Size
    ask_size: Size
    bid_size: Size


class Orderbook(msgspec.Struct, gc=False):
    """``orderbook``: a full snapshot of the top levels, best first; ``timestamp`` in ms or µs."""

    code: str
    orderbook_units: list[OrderbookUnit]
    timestamp: Millis | None = None  # "1783657882348968": microseconds, as a string
    total_ask_size: float | None = None
    total_bid_size: float | None = None
    stream_type: str = ""
    level: Finite = 1.0  # "level":1 when no grouping was asked for


class MicrosOrderbook(msgspec.Struct, gc=False):
    """:class:`Orderbook` with a time in microseconds: what the fast path routes when Bithumb
    sends µs (a frame with another time declines the route and takes the adapter's own path).
    Every other field is checked as :class:`Orderbook` checks it, so both paths reject alike."""

    code: str
    orderbook_units: list[OrderbookUnit]
    timestamp: Micros
    total_ask_size: float | None = None
    total_bid_size: float | None = None
    stream_type: str = ""
    level: Finite = 1.0


class MillisOrderbook(msgspec.Struct, gc=False):
    """An orderbook whose time is milliseconds (or absent): what the fast path routes when Bithumb sends ms."""

    code: str
    orderbook_units: list[OrderbookUnit]
    timestamp: BookMillis | None = None
    total_ask_size: float | None = None
    total_bid_size: float | None = None
    stream_type: str = ""
    level: Finite = 1.0


_UNITS = {"orderbook_units": list[abbreviated(OrderbookUnit, UNIT_KEYS)]}  # type: ignore[misc]

SimpleTrade = abbreviated(TradeMessage, TRADE_KEYS)
SimpleOrderbook = abbreviated(Orderbook, ORDERBOOK_KEYS, _UNITS)
SimpleMicrosOrderbook = abbreviated(MicrosOrderbook, ORDERBOOK_KEYS, _UNITS)
SimpleMillisOrderbook = abbreviated(MillisOrderbook, ORDERBOOK_KEYS, _UNITS)
