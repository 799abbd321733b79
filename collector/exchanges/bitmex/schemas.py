"""BitMEX realtime API wire messages, one struct each, keys as BitMEX sends them.

Every data frame is a *table* push, ``{"table":"<table>","action":"<action>","data":[rows]}``
("table diffing", ``shared/exchanges/bitmex.md``): ``partial`` is the table image,
``insert``/``update``/``delete`` change rows identified by the partial's ``keys``. Since the
January 2023 API update BitMEX omits fields whose value is null, so every field a row may
lack has a default here. Timestamps are ISO-8601 UTC strings; msgspec decodes them to
aware datetimes in C (a naive one is rejected).

Decoders are built with ``strict=False``; unknown keys are skipped, so the ~100 fields of
an ``instrument`` image cost nothing beyond the ones declared.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Price, Size

__all__ = [
    "Envelope",
    "Filter",
    "InstrumentInfo",
    "InstrumentRow",
    "IsoTime",
    "L2Row",
    "LiquidationRow",
    "QuoteRow",
    "QuoteTime",
    "RoutedQuote",
    "Table",
    "Time",
    "TradeBinRow",
    "TradeRow",
]

T = TypeVar("T")

Time: TypeAlias = Annotated[datetime, msgspec.Meta(tz=True)]
"""An ISO-8601 time with its zone (BitMEX writes ``2023-05-19T08:51:43.911Z``)."""


QuoteTime: TypeAlias = datetime
"""A ``quote`` row's time: with its zone, or without one meaning UTC (as the fast path reads it)."""


class Envelope(msgspec.Struct, gc=False):
    """Any frame, to tell a table push from a reply.

    - welcome, on connect: ``{"info":"Welcome to the BitMEX Realtime API.","version":...,"limit":{...}}``
      (``"help"`` is answered with an ``info`` frame too);
    - subscribe ack, one per topic: ``{"success":true,"subscribe":"trade:XBTUSD","request":{...}}``
      (``"unsubscribe"`` for an unsubscribe);
    - refusal: ``{"status":400,"error":"...","meta":{},"request":{...}}``.
    """

    table: str = ""
    action: str = ""
    info: str = ""
    success: bool | None = None
    subscribe: str | None = None  # the topic an ack confirms
    unsubscribe: str | None = None
    status: int | None = None
    error: str | None = None
    request: msgspec.Raw = msgspec.Raw(b"")  # echo of the request the reply answers


class Filter(msgspec.Struct, gc=False):
    """``filter`` of a ``partial``: names the symbol even when ``data`` is empty."""

    symbol: str | None = None


class Table(msgspec.Struct, Generic[T], gc=False):
    """A table push whose row type is known from the table name, decoded in one pass.

    ``table`` is not decoded again: the adapter routed the frame by it.
    """

    data: list[T]
    action: str = ""  # partial, insert, update, delete
    filter: Filter | None = None  # partial only


class TradeRow(msgspec.Struct, gc=False):
    """A row of ``trade``: ``side`` is the taker's; ``size`` is in contracts."""

    timestamp: Time
    symbol: str
    side: str  # "Buy" or "Sell"
    size: Size  # contracts
    price: Price
    trdMatchID: str = ""  # the trade id
    homeNotional: Size | None = None  # base amount (BitMEX's own conversion, also for quanto)
    foreignNotional: Size | None = None  # quote amount


class QuoteRow(msgspec.Struct, gc=False):
    """A row of ``quote``: the top of the book; an empty side's fields are absent."""

    timestamp: QuoteTime
    symbol: str
    bidSize: Size | None = None
    bidPrice: Price | None = None
    askPrice: Price | None = None
    askSize: Size | None = None


IsoTime: TypeAlias = Annotated[str, msgspec.Meta(max_length=27)]
"""A time as text, at most ``2023-05-19T08:51:43.911000Z`` long (six fraction digits at most: no rounding)."""


class RoutedQuote(msgspec.Struct, gc=False):
    """:class:`QuoteRow` as the fast path reads it: its time as text (``iso_seconds`` reads the UTC
    times :data:`QuoteTime` reads, to the same microsecond, and declines any other)."""

    timestamp: IsoTime
    symbol: str
    bidSize: Size | None = None
    bidPrice: Price | None = None
    askPrice: Price | None = None
    askSize: Size | None = None


class L2Row(msgspec.Struct, gc=False):
    """A row of ``orderBookL2``/``orderBookL2_25``, keyed by ``(symbol, id, side)``.

    ``size`` is absent on ``delete``. Since June/July 2023 ``price`` comes on every action
    and ``id`` is opaque; older captures carry no ``price`` on ``update``/``delete``, which
    then comes from the ``id`` seen in the ``partial`` or an ``insert``.
    """

    symbol: str
    id: Id
    side: str  # "Buy" (bid) or "Sell" (ask)
    size: Size | None = None  # contracts, absolute
    price: Price | None = None
    timestamp: Time | None = None


class InstrumentRow(msgspec.Struct, gc=False):
    """A row of ``instrument``: the whole record in the ``partial``, changed fields in an ``update``.

    Prices are :data:`Finite` rather than :data:`Price`: an image may hold ``0`` for a value
    the instrument does not have yet; the adapter maps ``0`` to ``None`` and reports a
    negative price.
    """

    symbol: str
    timestamp: Time | None = None
    lastPrice: Finite | None = None
    prevPrice24h: Finite | None = None
    highPrice: Finite | None = None  # 24 h
    lowPrice: Finite | None = None
    homeNotional24h: Size | None = None  # 24 h volume, base units
    foreignNotional24h: Size | None = None  # 24 h volume, quote units
    markPrice: Finite | None = None
    indicativeSettlePrice: Finite | None = None  # the underlying index for perpetuals
    indexPrice: Finite | None = None  # newer feeds name the index explicitly
    fundingRate: Finite | None = None  # fraction charged at fundingTimestamp
    indicativeFundingRate: Finite | None = None  # the predicted next rate
    fundingTimestamp: Time | None = None
    openInterest: Size | None = None  # contracts
    openValue: Size | None = None  # settlement currency, minor units (XBt, USDt)


class TradeBinRow(msgspec.Struct, gc=False):
    """A row of ``tradeBin1m`` (``5m``, ``1h``, ``1d``): ``timestamp`` is the **end** of the bin.

    "Timestamps returned by our bucketed endpoints are the end of the period."
    """

    timestamp: Time
    symbol: str
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    close: Price | None = None
    trades: Id | None = None
    volume: Size | None = None  # contracts
    homeNotional: Size | None = None  # base units
    foreignNotional: Size | None = None  # quote units


class LiquidationRow(msgspec.Struct, gc=False):
    """A row of ``liquidation``: an open liquidation order, keyed by ``orderID``.

    ``insert`` carries the whole order; ``update`` its new ``price``/``leavesQty``;
    ``delete`` only the keys. ``side`` is the liquidation order's side.
    """

    orderID: str
    symbol: str = ""
    side: str | None = None
    price: Price | None = None
    leavesQty: Size | None = None  # contracts


class InstrumentInfo(msgspec.Struct, gc=False):
    """One entry of ``GET /api/v1/instrument/active``.

    Every field but ``symbol`` may be null (before 2023) or absent (since): one odd entry must
    not make the whole listing unreadable.
    """

    symbol: str
    typ: str | None = None  # FFWCSX perpetual, FFWCSF FX perpetual, FFCCSX future, IFXXXP spot, ...
    state: str | None = None  # Open, Closed, Unlisted, Settled
    underlying: str | None = None  # base: XBT, ETH, ...
    quoteCurrency: str | None = None
    settlCurrency: str | None = None  # XBt (satoshi), USDt (micro-USDT); empty on spot
    expiry: Time | None = None
    tickSize: float | None = None
    lotSize: float | None = None
    multiplier: float | None = None
    underlyingToPositionMultiplier: float | None = None  # contracts per base unit (linear, spot)
    underlyingToSettleMultiplier: float | None = None  # inverse: with multiplier, the USD per contract
    quoteToSettleMultiplier: float | None = None
    isQuanto: bool | None = None
    isInverse: bool | None = None
