"""Deribit API v2 wire messages, one struct each, keys as Deribit sends them.

Every frame is JSON-RPC 2.0: subscription data arrive as notifications
(``{"jsonrpc":"2.0","method":"subscription","params":{"channel":...,"data":...}}``),
replies to our requests carry the request's ``id`` and a ``result`` or an ``error``, and
``{"method":"heartbeat","params":{"type":...}}`` keeps the session alive. Numbers are JSON
numbers and times are milliseconds. Decoders are built with ``strict=False``; unknown keys
are ignored, so fields Deribit adds later do not break decoding. Fields declared with the
constrained types of :mod:`collector.exchanges.fields` reject NaN, infinities, negative
sizes and ids past 64 bits while decoding.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Levels, Millis, Price, Size

__all__ = [
    "Action",
    "BookData",
    "ChangedLevel",
    "ChartData",
    "DeletedLevel",
    "Envelope",
    "GroupedBookData",
    "InstrumentInfo",
    "InstrumentsResponse",
    "Level3",
    "NewLevel",
    "Notification",
    "NotificationParams",
    "Params",
    "PublicTrade",
    "RoutedChange",
    "RoutedLevel",
    "RoutedStats",
    "RoutedTicker",
    "RoutedTrade",
    "RpcError",
    "Stats",
    "TickerData",
]

T = TypeVar("T")

Action: TypeAlias = Literal["new", "change", "delete"]
Level3: TypeAlias = tuple[Action, Price, Size]
"""A book change ``[action, price, amount]``: ``amount`` is the new absolute size, 0 on ``delete``."""


class RpcError(msgspec.Struct, gc=False):
    """``error`` of a refused request, e.g. ``{"code":10028,"message":"too_many_requests"}``."""

    code: int = 0
    message: str = ""
    data: msgspec.Raw = msgspec.Raw()  # {"reason": ..., "param": ...} for invalid arguments


class Params(msgspec.Struct, gc=False):
    """``params`` of a notification (``channel`` and ``data``) or of a heartbeat (``type``)."""

    channel: str = ""
    type: str = ""  # heartbeat: "heartbeat" or "test_request"
    data: msgspec.Raw = msgspec.Raw()


class Envelope(msgspec.Struct, gc=False):
    """Every frame, undecoded inside: a notification, a heartbeat or a reply to one of our requests."""

    jsonrpc: str = ""
    id: int | str | None = None  # replies: the id of the request (cryptofeed sends strings)
    method: str = ""  # "subscription", "heartbeat"; empty on replies
    params: Params | None = None
    result: msgspec.Raw = msgspec.Raw()  # replies: a list of channels, "ok", {"version": ...}
    error: RpcError | None = None


class NotificationParams(msgspec.Struct, Generic[T], gc=False):
    """``params`` of a subscription notification with ``data`` typed by its channel."""

    channel: str
    data: T


class Notification(msgspec.Struct, Generic[T], gc=False):
    """A subscription notification decoded in one pass, ``data`` already typed."""

    params: NotificationParams[T]
    jsonrpc: str = ""
    method: str = ""


class PublicTrade(msgspec.Struct, gc=False):
    """One element of ``trades.<instrument>.<interval>`` ``data`` (an array)."""

    trade_id: str  # unique per currency
    timestamp: Millis
    price: Price
    amount: Size  # USD on inverse perpetuals and futures; base coin on options, linear and spot
    direction: Literal["buy", "sell"]  # "Trade direction of the taker"
    instrument_name: str = ""
    trade_seq: Id | None = None  # sequence within the instrument
    contracts: Size | None = None  # size in contracts
    liquidation: str | None = None  # "M" maker, "T" taker, "MT" both sides were liquidated
    block_trade_id: str | None = None


class BookData(msgspec.Struct, gc=False):
    """``data`` of ``book.<instrument>.<interval>``: a snapshot, then changes chained by ids.

    Deribit's first notification is ``type: "snapshot"`` (all levels ``new``) without
    ``prev_change_id``; each ``change`` names the ``change_id`` of the one before it. Older
    sessions send no ``type``: a snapshot is then the message without ``prev_change_id``.
    """

    change_id: Id
    timestamp: Millis
    bids: list[Level3]
    asks: list[Level3]
    type: Literal["snapshot", "change"] | None = None
    prev_change_id: Id | None = None
    instrument_name: str = ""


class GroupedBookData(msgspec.Struct, gc=False):
    """``data`` of ``book.<instrument>.<group>.<depth>.<interval>``: the whole top ``depth`` every time."""

    change_id: Id
    timestamp: Millis
    bids: Levels  # [price, amount], best first
    asks: Levels
    instrument_name: str = ""


class Stats(msgspec.Struct, gc=False):
    """``stats`` of a ticker: the last 24 hours (``null`` values before any trade)."""

    volume: Size | None = None  # base currency
    volume_usd: Size | None = None  # USD (futures and options)
    volume_notional: Size | None = None  # quote currency (futures and spot)
    high: Size | None = None
    low: Size | None = None
    price_change: Finite | None = None  # percent


class TickerData(msgspec.Struct, gc=False):
    """``data`` of ``ticker.<instrument>.<interval>``: the whole ticker every time (nothing to merge).

    An empty book side is ``best_*_price: 0`` with amount 0 (or ``null``): prices are
    declared non-negative here and the adapter maps 0 to ``None``.
    """

    timestamp: Millis
    instrument_name: str = ""
    state: str = ""  # open, settlement, delivered, inactive, locked, halted, archivized
    best_bid_price: Size | None = None
    best_bid_amount: Size | None = None
    best_ask_price: Size | None = None
    best_ask_amount: Size | None = None
    last_price: Size | None = None
    mark_price: Size | None = None
    index_price: Size | None = None
    open_interest: Size | None = None  # USD on inverse contracts, base coin on options and linear ones
    current_funding: Finite | None = None  # perpetuals only
    funding_8h: Finite | None = None  # perpetuals only
    stats: Stats | None = None


class ChartData(msgspec.Struct, gc=False):
    """``data`` of ``chart.trades.<instrument>.<resolution>``: the bar starting at ``tick``, as it forms.

    Prices are declared non-negative: a filling sample of an instrument that never traded
    carries zeros, which the adapter skips.
    """

    tick: Millis  # bar start, ms
    open: Size
    high: Size
    low: Size
    close: Size
    volume: Size  # base currency
    cost: Size = 0.0  # quote currency (USD on inverse contracts)


class InstrumentInfo(msgspec.Struct, gc=False):
    """One entry of ``public/get_instruments`` ``result``."""

    instrument_name: str
    kind: str  # future, option, spot, future_combo, option_combo
    base_currency: str
    quote_currency: str  # the price currency: USD on inverse futures, the coin on inverse options
    tick_size: Price
    contract_size: Price = 1.0  # USD per contract on inverse futures; coin otherwise
    min_trade_amount: Price | None = None
    expiration_timestamp: Millis | None = None  # year 3000 on perpetuals
    settlement_period: str = ""  # perpetual, day, week, month, quarter; absent on spot
    settlement_currency: str = ""  # absent on spot and in listings before 2022
    counter_currency: str = ""  # absent in listings before 2022
    instrument_type: str = ""  # "reversed" or "linear" (absent before 2022)
    future_type: str = ""  # older name of instrument_type, futures only
    option_type: str = ""  # "call" or "put"
    strike: Price | None = None
    is_active: bool = True


class InstrumentsResponse(msgspec.Struct, gc=False):
    """``public/get_instruments``: a ``result`` list, or an ``error``."""

    result: list[InstrumentInfo] | None = None
    error: RpcError | None = None


class RoutedTrade(msgspec.Struct, gc=False):
    """:class:`PublicTrade` as the fast path reads it: every field as strict or stricter.

    ``liquidation`` accepts only ``null`` here, so a liquidation trade ("M"/"T"/"MT") does
    not decode and takes the adapter's own path, which also emits its liquidation.
    """

    trade_id: str
    timestamp: Millis
    price: Price
    amount: Size
    direction: Literal["buy", "sell"]
    instrument_name: str = ""
    trade_seq: Id | None = None
    contracts: Size | None = None
    liquidation: None = None
    block_trade_id: str | None = None


class RoutedStats(msgspec.Struct, gc=False):
    """:class:`Stats` as the fast path reads it: a 24 h high or low of 0 does not decode."""

    volume: Size | None = None
    volume_usd: Size | None = None
    volume_notional: Size | None = None
    high: Price | None = None
    low: Price | None = None
    price_change: Finite | None = None


class RoutedTicker(msgspec.Struct, gc=False):
    """:class:`TickerData` as the fast path reads it: both sides of the book quoted, ``stats`` present,
    no price 0 (a ticker that is not like that decodes only on the adapter's own path, which maps 0 to ``None``)."""

    timestamp: Millis
    best_bid_price: Price
    best_bid_amount: Size
    best_ask_price: Price
    best_ask_amount: Size
    stats: RoutedStats
    instrument_name: str = ""
    state: str = ""
    last_price: Price | None = None
    mark_price: Price | None = None
    index_price: Price | None = None
    open_interest: Size | None = None
    current_funding: Finite | None = None
    funding_8h: Finite | None = None


Zero: TypeAlias = Annotated[float, msgspec.Meta(ge=0.0, le=0.0)]


class NewLevel(msgspec.Struct, array_like=True, tag="new", forbid_unknown_fields=True, gc=False):
    """``["new", price, amount]`` as the fast path reads it (a :data:`Level3`)."""

    price: Price
    amount: Size


class ChangedLevel(msgspec.Struct, array_like=True, tag="change", forbid_unknown_fields=True, gc=False):
    """``["change", price, amount]``: the level's new absolute amount."""

    price: Price
    amount: Size


class DeletedLevel(msgspec.Struct, array_like=True, tag="delete", forbid_unknown_fields=True, gc=False):
    """``["delete", price, 0]``: a deletion whose amount is 0, so that its amount is its new size."""

    price: Price
    amount: Zero


RoutedLevel: TypeAlias = NewLevel | ChangedLevel | DeletedLevel
"""A :data:`Level3` whose amount is the level's new size (a deletion saying otherwise does not decode)."""


class RoutedChange(msgspec.Struct, gc=False):
    """:class:`BookData` of a change as the fast path reads it: ``type`` ``change`` and ``prev_change_id`` given."""

    change_id: Id
    timestamp: Millis
    bids: list[RoutedLevel]
    asks: list[RoutedLevel]
    type: Literal["change"]
    prev_change_id: Id
    instrument_name: str = ""
