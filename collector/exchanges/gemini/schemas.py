"""Gemini market data v2 wire messages, one struct each, keys as Gemini sends them.

Every frame of ``wss://api.gemini.com/v2/marketdata`` is one JSON object whose ``type``
says what it is, so the frames this adapter reads form one tagged union
(:data:`Message`) decoded in a single pass, wherever ``type`` sits in the object (Gemini
sends it first; recorders that sort keys put it last). Decoders are built with
``strict=False`` so decimal strings (``"9122.04"``) become floats in C, and every price,
size, id and time is a constrained type (:mod:`collector.exchanges.fields`): a ``"NaN"``
or a negative size fails the whole frame.

Times: ``trade.timestamp`` and ``heartbeat.timestamp`` are milliseconds; the perpetual
feeds (``mark_price``, ``funding_amount``) count nanoseconds, beyond 2**53, so they are
declared as :data:`Nanos`.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

from ..fields import Finite, Id, Millis, Price, Size

__all__ = [
    "CANDLE_TYPES",
    "Bar",
    "Candles",
    "Candles1d",
    "Candles1h",
    "Candles1m",
    "Candles5m",
    "Candles6h",
    "Candles15m",
    "Candles30m",
    "Change",
    "FundingAmount",
    "FundingChange",
    "Heartbeat",
    "L2Updates",
    "Loose",
    "MarkChange",
    "MarkPrice",
    "Message",
    "Nanos",
    "RiskStats",
    "Side",
    "SnapshotTrade",
    "SymbolDetails",
    "TradeMessage",
]

Nanos: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]
"""A time in nanoseconds since the epoch (the perpetual feeds), 0 <= t < 2**63."""

Side: TypeAlias = Literal["buy", "sell"]
"""``changes`` side (``buy`` = bid, ``sell`` = ask) and the trade's taker side."""

Change: TypeAlias = tuple[Side, Price, Size]
"""One ``l2_updates`` change: ``[side, price, quantity]``; the quantity is the new absolute size, ``"0"`` removes."""

Bar: TypeAlias = tuple[Millis, Price, Price, Price, Price, Size]
"""One candle row: ``[time ms, open, high, low, close, volume]`` (JSON numbers, volume in base units)."""


class _Message(msgspec.Struct, tag_field="type", gc=False):
    """What every market-data frame is: a ``type``-tagged object."""


class SnapshotTrade(msgspec.Struct, gc=False):
    """One element of the ``trades`` array of the first ``l2_updates`` (oldest first)."""

    tid: Id  # trade id, increasing per symbol
    timestamp: Millis
    price: Price
    quantity: Size  # base units
    side: Side  # taker side
    event_id: Id | None = None  # the docs' example spells it "eventid"; the wire has "event_id"


class L2Updates(_Message, tag="l2_updates"):
    """``l2`` book changes of one symbol.

    "The initial response message will show the existing state of the order books and
    last 50 trades": the first message after a subscribe carries the whole book in
    ``changes`` and the key ``trades`` (``auction_events`` too); later ones only ``changes``.
    """

    symbol: str
    changes: list[Change]
    trades: list[SnapshotTrade] | None = None  # only in the initial response
    auction_events: msgspec.Raw = msgspec.Raw()  # only in the initial response; not used


class TradeMessage(_Message, tag="trade"):
    """One trade on the ``l2`` feed: "side of the taker in the trade"."""

    symbol: str
    tid: Id
    timestamp: Millis
    price: Price
    quantity: Size  # base units (one perpetual contract is one unit of the base)
    side: Side
    event_id: Id | None = None


class Heartbeat(_Message, tag="heartbeat"):
    """``{"type":"heartbeat","timestamp":<ms>}``, every 5 s on every v2 connection."""

    timestamp: Millis | None = None


class Candles(_Message):
    """``candles_<interval>_updates``: ``changes`` newest first.

    The first message after a subscribe carries the recent history; later ones carry the
    forming bar (a new bar's first row means the previous one is final). No closed flag.
    """

    symbol: str
    changes: list[Bar]


class Candles1m(Candles, tag="candles_1m_updates"):
    """One-minute candles."""


class Candles5m(Candles, tag="candles_5m_updates"):
    """Five-minute candles."""


class Candles15m(Candles, tag="candles_15m_updates"):
    """Fifteen-minute candles."""


class Candles30m(Candles, tag="candles_30m_updates"):
    """Thirty-minute candles."""


class Candles1h(Candles, tag="candles_1h_updates"):
    """One-hour candles."""


class Candles6h(Candles, tag="candles_6h_updates"):
    """Six-hour candles."""


class Candles1d(Candles, tag="candles_1d_updates"):
    """One-day candles."""


CANDLE_TYPES: dict[type[Candles], str] = {
    Candles1m: "1m",
    Candles5m: "5m",
    Candles15m: "15m",
    Candles30m: "30m",
    Candles1h: "1h",
    Candles6h: "6h",
    Candles1d: "1d",
}
"""Candle message class -> unified interval (``candles_1h`` is Gemini's name for one hour)."""


class MarkChange(msgspec.Struct, gc=False):
    """One element of ``mark_price_updates`` ``changes``."""

    timestamp: Nanos
    mark_price: Price
    spot_index: Price | None = None  # the index price the mark is built on


class MarkPrice(_Message, tag="mark_price_updates"):
    """``mark_price`` feed of a perpetual."""

    symbol: str
    changes: list[MarkChange]


class FundingChange(msgspec.Struct, gc=False):
    """One element of ``funding_amount_updates`` ``changes``.

    ``funding_amount`` is quote currency per one unit of the base held long for the
    funding interval (REST: "the dollar amount for a Long 1 position ... for funding
    period (1 hour)"); negative when shorts pay. ``is_realized`` false: the estimate for
    the interval ending at ``funding_date_time``.
    """

    timestamp: Nanos
    funding_amount: Finite
    funding_date_time: Nanos
    funding_interval_in_minutes: Annotated[int, msgspec.Meta(ge=0, le=2**31)] = 60
    is_realized: bool = False
    mark_price: Price | None = None  # sent on the wire, not in the documentation
    funding_rate: Finite | None = None  # sent on the wire (a percentage), not documented; not used


class FundingAmount(_Message, tag="funding_amount_updates"):
    """``funding_amount`` feed of a perpetual."""

    symbol: str
    changes: list[FundingChange]


Message: TypeAlias = (
    L2Updates
    | TradeMessage
    | Heartbeat
    | Candles1m
    | Candles5m
    | Candles15m
    | Candles30m
    | Candles1h
    | Candles6h
    | Candles1d
    | MarkPrice
    | FundingAmount
)
"""Every message type this adapter reads, decoded in one pass by ``type``."""


class Loose(msgspec.Struct, gc=False):
    """Any JSON object, read leniently: what a frame is when :data:`Message` cannot take it.

    Refusals come without a ``type``: ``{"result":"error","reason":"NoValidTradingPairs"}``.
    """

    type: str = ""
    symbol: str = ""
    result: str = ""
    reason: str = ""
    message: str = ""


# -- REST --------------------------------------------------------------------------------------


class SymbolDetails(msgspec.Struct, gc=False):
    """``GET /v1/symbols/details/{symbol}``.

    Mind the names: ``tick_size`` is "the number of decimal places in the base currency"
    (the size step) and ``quote_increment`` the price tick.
    """

    symbol: str  # upper case, the id used on the websocket (BTCUSD, BTCGUSDPERP)
    base_currency: str
    quote_currency: str
    tick_size: float | None = None  # size step, base units
    quote_increment: float | None = None  # price tick
    min_order_size: str = ""
    status: str = "open"  # open, closed, cancel_only, post_only, limit_only
    product_type: str = "spot"  # spot, swap (perpetual)
    contract_type: str = "vanilla"  # vanilla (spot), linear, inverse
    contract_price_currency: str = ""  # spot: the quote; perpetuals: the collateral currency


class RiskStats(msgspec.Struct, gc=False):
    """``GET /v1/riskstats/{symbol}`` of a perpetual (public)."""

    mark_price: Price | None = None
    index_price: Price | None = None
    open_interest: Size | None = None  # base units (one contract is one unit of the base)
    open_interest_notional: Size | None = None  # quote currency
    product_type: str = ""
