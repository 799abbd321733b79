"""Crypto.com Exchange API v1 public wire messages, one struct each, keys as Crypto.com sends them.

Every market-data push is ``{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":
...,"subscription":...,"channel":...,"data":[...]}}`` ("Result fields are always in the following
order: id, method, code, instrument_name, subscription, channel", change log 2024-01-04); replies
and server heartbeats are ``{"id":...,"method":...,"code":...}`` without ``result``.

Decoders are built with ``strict=False`` so decimal strings (``"51327.500000"``) and the
millisecond strings of the newer OpenAPI pages (``"1771761038000"``) become floats and ints in C,
checked by the constrained types of :mod:`collector.exchanges.fields`. The legacy v2 stream
(``stream.crypto.com/v2/market``) sends the same shapes with JSON numbers, trade ids as numbers
and a book sequence ``s`` instead of ``u``/``pu``; the structs accept both. Unknown keys
(``dataTime``, ``cs``, ``tn``) are ignored unless a field names them.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeAlias, TypeVar

import msgspec

from ..fields import Finite, Id, Millis, Price, Size

__all__ = [
    "BookDelta",
    "BookSides",
    "BookSnapshot",
    "CandleData",
    "Checksum",
    "DeltaPush",
    "DeltaResult",
    "Head",
    "InstrumentV1",
    "InstrumentV2",
    "InstrumentsResponse",
    "InstrumentsResult",
    "Level",
    "LinkedDelta",
    "OneDelta",
    "Push",
    "QuotedTicker",
    "RateValue",
    "Reply",
    "RequestId",
    "Result",
    "RoutedPush",
    "RoutedResult",
    "TickerData",
    "TradeData",
    "Value",
]

T = TypeVar("T")

RequestId: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
"""A request id (``-1`` on pushes); "0 to 9,223,372,036,854,775,807" for requests."""
Checksum: TypeAlias = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
"""``cs`` of a book delta: a signed 32-bit value the documentation does not describe (not verified)."""


class Reply(msgspec.Struct, gc=False):
    """A frame without market data: a subscribe/unsubscribe reply, an error, a server heartbeat.

    ``{"id":1587523073344,"method":"public/heartbeat","code":0}`` must be answered with the same
    id; ``{"id":1,"method":"subscribe","code":40003,"message":"INVALID_REQUEST"}`` is a refusal;
    a request without ``id``/``method`` is answered with ``"id":-1,"method":"ERROR"`` and the
    request echoed in ``original``. ``code`` is a number, or a string in the newer OpenAPI pages.
    """

    id: RequestId | str | None = None
    method: str = ""
    code: RequestId | str = 0
    message: str = ""
    original: str = ""
    result: msgspec.Raw = msgspec.Raw()  # present on pushes and on results of other methods


class Head(msgspec.Struct, gc=False):
    """The channel of a ``result`` (to route a push whose text is spaced unlike Crypto.com's)."""

    channel: str = ""


class Result(msgspec.Struct, Generic[T], gc=False):
    """``result`` of a market-data push; ``data`` is typed by the channel."""

    instrument_name: str
    channel: str
    data: list[T]
    subscription: str = ""  # "book.BTCUSD-PERP.50", "candlestick.1m.BTC_USDT", ...
    depth: int | None = None  # book channels: the subscribed depth
    interval: str = ""  # candlestick: "1m", "1D", ... (the subscription's time frame)


class Push(msgspec.Struct, Generic[T], gc=False):
    """A whole market-data push, decoded in one pass once its channel is known."""

    result: Result[T]
    id: RequestId | str | None = None  # -1 on pushes; the request id on some first messages
    method: str = ""  # "subscribe"
    code: RequestId | str = 0


class TradeData(msgspec.Struct, gc=False):
    """One element of ``trade.{instrument_name}`` ``data``.

    ``s`` is "the side of the taker order" (change log 2024-02-12). The first push after a
    subscribe holds the last 50 trades.
    """

    d: str | Id  # trade id: a string in v1 (beyond 2**53), a number on the legacy v2 stream
    t: Millis  # trade time, ms
    p: Price
    q: Size  # quantity, base units (contracts of contract_size on derivatives)
    s: str  # taker side: "BUY" or "SELL"
    i: str = ""  # instrument name (not on v2)
    m: str | Id | None = None  # trade match id (newer documentation only)


class TickerData(msgspec.Struct, gc=False):
    """One element of ``ticker.{instrument_name}`` ``data``; any field may be ``null``.

    Prices are read as non-negative sizes so that a ``"0"`` for "no bids" is not an error:
    the adapter maps 0 to ``None``.
    """

    i: str = ""  # instrument name
    b: Size | None = None  # best bid price, null if there are no bids
    bs: Size | None = None  # best bid size
    k: Size | None = None  # best ask price, null if there are no asks
    ks: Size | None = None  # best ask size
    a: Size | None = None  # last trade price, null if there were no trades
    h: Size | None = None  # 24 h high
    l: Size | None = None  # noqa: E741 - Crypto.com's key: 24 h low
    c: Finite | None = None  # 24 h change, a fraction (0.0395 = +3.95 %); not used
    v: Size | None = None  # 24 h volume, base units (contracts on derivatives)
    vv: Size | None = None  # 24 h traded value in USD
    oi: Size | None = None  # open interest (derivatives), base units
    t: Millis | None = None  # published time, ms


class Level(msgspec.Struct, array_like=True, gc=False):
    """A book level ``[price, size, number of orders]``; size is absolute, ``"0"`` removes it.

    The order count is not read ("Known issue: Number of Orders currently returns 0").
    """

    price: Price
    size: Size


class BookSnapshot(msgspec.Struct, gc=False):
    """``data[0]`` of a ``book`` push: the whole book at the subscribed depth."""

    bids: list[Level]
    asks: list[Level]
    t: Millis | None = None  # publish time, ms
    tt: Millis | None = None  # time of the last book update, ms
    u: Id | None = None  # update sequence
    s: Id | None = None  # legacy v2 (and old v1 samples): the sequence, before u


class BookSides(msgspec.Struct, gc=False):
    """``update`` of a ``book.update`` push: changed levels only (absolute sizes)."""

    bids: list[Level] = []
    asks: list[Level] = []


class BookDelta(msgspec.Struct, gc=False):
    """``data[0]`` of a ``book.update`` push (``SNAPSHOT_AND_UPDATE`` subscriptions).

    Apply only if ``pu`` equals the ``u`` applied last; empty ``update`` sides are heartbeats
    (after 5 s without changes) whose ``u``/``pu`` still count.
    """

    update: BookSides
    t: Millis | None = None  # publish time, ms
    tt: Millis | None = None  # time of the last book update, ms
    u: Id | None = None  # update sequence
    pu: Id | None = None  # the previous push's u
    s: Id | None = None  # legacy v2: a sequence without a link to the previous push
    cs: Checksum | None = None  # undocumented; not verified


# -- what the fast path decodes (:mod:`.fast`): the same pushes, narrowed to those it routes -----------

PushCode: TypeAlias = Annotated[int, msgspec.Meta(ge=0, le=0)]
"""The ``code`` of a push that is data: 0, as a number."""


class RoutedResult(msgspec.Struct, Generic[T], gc=False):
    """:class:`Result` as the fast path reads it (the same fields)."""

    instrument_name: str
    channel: str
    data: list[T]
    subscription: str = ""
    depth: int | None = None
    interval: str = ""


class RoutedPush(msgspec.Struct, Generic[T], gc=False):
    """:class:`Push` with a numeric ``id`` (or none) and ``code`` 0, as every push of the v1 stream has."""

    result: RoutedResult[T]
    id: RequestId | None = None
    method: str = ""
    code: PushCode = 0


class QuotedTicker(msgspec.Struct, gc=False):
    """:class:`TickerData` with its time, and no ``0`` for a price (what the adapter maps to ``None``)."""

    t: Millis
    i: str = ""
    b: Price | None = None
    bs: Size | None = None
    k: Price | None = None
    ks: Size | None = None
    a: Price | None = None
    h: Price | None = None
    l: Price | None = None  # noqa: E741 - Crypto.com's key: 24 h low
    c: Finite | None = None
    v: Size | None = None
    vv: Size | None = None
    oi: Size | None = None


class LinkedDelta(msgspec.Struct, gc=False):
    """:class:`BookDelta` with its time and both ``u`` and ``pu`` (a v1 delta)."""

    update: BookSides
    t: Millis
    u: Id
    pu: Id
    tt: Millis | None = None
    s: Id | None = None
    cs: Checksum | None = None


class OneDelta(msgspec.Struct, array_like=True, forbid_unknown_fields=True, gc=False):
    """``data`` of a ``book.update`` push holding exactly one delta, as every push does."""

    delta: LinkedDelta


class DeltaResult(msgspec.Struct, gc=False):
    """``result`` of a ``book.update`` push with one linked delta."""

    instrument_name: str
    channel: str
    data: OneDelta
    subscription: str = ""
    depth: int | None = None
    interval: str = ""


class DeltaPush(msgspec.Struct, gc=False):
    """A ``book.update`` push as the fast path routes it."""

    result: DeltaResult
    id: RequestId | None = None
    method: str = ""
    code: PushCode = 0


class CandleData(msgspec.Struct, gc=False):
    """One element of ``candlestick.{time_frame}.{instrument_name}`` ``data`` (no "final" flag)."""

    t: Millis  # bar start, ms
    o: Price
    h: Price
    l: Price  # noqa: E741 - Crypto.com's key: low
    c: Price
    v: Size  # volume, base units (contracts on derivatives)


class Value(msgspec.Struct, gc=False):
    """``data`` element of ``mark.``, ``index.`` (and ``settlement.``) pushes: a price and its time."""

    v: Price
    t: Millis


class RateValue(msgspec.Struct, gc=False):
    """``data`` element of ``funding.`` / ``estimatedfunding.`` pushes: an hourly rate (a fraction)."""

    v: Finite
    t: Millis


class InstrumentV1(msgspec.Struct, gc=False):
    """One entry of v1 ``public/get-instruments`` ``result.data``.

    Numbers come as strings and may be ``""`` where they do not apply (spot expiries), so
    they stay strings here and the instrument parser converts them.
    """

    symbol: str
    inst_type: str = ""  # CCY_PAIR, PERPETUAL_SWAP, FUTURE, WARRANT, ...
    base_ccy: str = ""
    quote_ccy: str = ""
    price_tick_size: str | float | None = None
    qty_tick_size: str | float | None = None
    contract_size: str | float | None = None
    expiry_timestamp_ms: str | int | None = None
    underlying_symbol: str = ""  # "BTCUSD-INDEX" for BTC/USD derivatives
    tradable: bool = True
    product_type: str = ""  # 2026: DIGITAL_CURRENCIES, EQUITY, EVENTS, ...


class InstrumentV2(msgspec.Struct, gc=False):
    """One entry of the legacy v2 ``public/get-instruments`` ``result.instruments`` (spot only)."""

    instrument_name: str
    base_currency: str
    quote_currency: str
    price_decimals: int | None = None
    quantity_decimals: int | None = None


class InstrumentsResult(msgspec.Struct, gc=False):
    """``result`` of the listing: ``data`` in v1, ``instruments`` on the legacy v2 API."""

    data: list[InstrumentV1] = []
    instruments: list[InstrumentV2] = []


class InstrumentsResponse(msgspec.Struct, gc=False):
    """``GET public/get-instruments``; ``code`` 0 (or ``"0"``) means success."""

    code: RequestId | str = 0
    message: str = ""
    result: InstrumentsResult = msgspec.field(default_factory=InstrumentsResult)
