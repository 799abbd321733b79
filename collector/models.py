"""Unified events: the public contract of collector.

Every event is an immutable, slotted :class:`msgspec.Struct`. Building one costs about
65 ns (a frozen dataclass costs about 860 ns), which matters at several hundred
thousand frames per second. The JSON form (``collector.codec``) carries a ``type`` tag
first and then the fields in the order declared here; the field names are the contract
in design.md: new fields may be added, none renamed.

Times are float seconds since the Unix epoch (UTC). ``timestamp`` is the exchange's
event time (``None`` when the exchange sends none), ``received`` the local receipt time.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "RESYNC_REASONS",
    "UNSET",
    "Alert",
    "Book",
    "BookTop",
    "Candle",
    "Connected",
    "DerivativeTicker",
    "Disconnected",
    "Error",
    "Event",
    "EventBase",
    "Indicator",
    "Level",
    "Liquidation",
    "MarketEvent",
    "Outage",
    "Premium",
    "Resync",
    "Side",
    "StatusEvent",
    "Ticker",
    "Trade",
]

Side: TypeAlias = Literal["buy", "sell"]
Level: TypeAlias = tuple[float, float]
"""One book level: ``(price, size)``."""


class EventBase(msgspec.Struct, frozen=True, gc=False, tag_field="type"):
    """Fields every event has. ``exchange`` is the adapter id (``binance``, ``binance_usdm``, ...)."""

    exchange: str

    @property
    def type(self) -> str:
        """The event's ``type`` tag as in its JSON (``trade``, ``book``, ``resync``, ...)."""
        return str(self.__struct_config__.tag)


class MarketEvent(EventBase, frozen=True, gc=False):
    """An event about one instrument."""

    symbol: str
    timestamp: float | None
    received: float


class Trade(MarketEvent, frozen=True, gc=False, tag="trade"):
    """One public trade. ``side`` is the taker's side; ``id`` the exchange's trade id."""

    price: float
    amount: float
    side: Side
    id: str


class Ticker(MarketEvent, frozen=True, gc=False, tag="ticker"):
    """Best bid/offer, plus the 24 h statistics where the exchange sends them in the same message."""

    bid: float | None
    bid_size: float | None
    ask: float | None
    ask_size: float | None
    last: float | None = None
    open: float | None = None
    high: float | None = None
    low: float | None = None
    volume: float | None = None
    quote_volume: float | None = None


class DerivativeTicker(MarketEvent, frozen=True, gc=False, tag="derivative_ticker"):
    """Mark and index price, funding and open interest of a perpetual or future.

    Emitted when any field changed (never once per frame when nothing did); a field the
    exchange does not send is ``None``. ``funding_rate`` is the rate of the current
    funding interval as a fraction (0.0001 = 0.01 %), ``next_funding_time`` in epoch
    seconds. ``open_interest`` is in the unit the exchange publishes (the README's exchange
    table says which: contracts, base or quote); ``open_interest_value`` is its value in
    the quote currency where it can be computed.
    """

    mark_price: float | None = None
    index_price: float | None = None
    funding_rate: float | None = None
    next_funding_time: float | None = None
    predicted_funding_rate: float | None = None
    open_interest: float | None = None
    open_interest_value: float | None = None
    last_price: float | None = None


class Liquidation(MarketEvent, frozen=True, gc=False, tag="liquidation"):
    """A forced liquidation order. ``side`` is the liquidation order's side: ``sell`` when a
    long was liquidated. ``amount`` is in base units; ``id`` and ``status`` where the
    exchange gives them."""

    side: Side
    price: float
    amount: float
    id: str | None = None
    status: str | None = None


class BookTop(msgspec.Struct, frozen=True, gc=False):
    """The best ``N`` levels of the maintained book, best first."""

    bids: list[Level]
    asks: list[Level]


class Book(MarketEvent, frozen=True, gc=False, tag="book"):
    """An order-book change that was applied to the maintained book.

    ``snapshot=True``: ``bids``/``asks`` are the whole book (replace yours), each side best
    first (bids from the highest price down, asks from the lowest up). Otherwise a delta:
    each level carries its absolute new size and size ``0`` removes the level. ``sequence``
    is the exchange's update id after this change. ``top`` is present only when the
    collector was asked for it (``book_top=N``): the maintained book's best levels after
    applying this event.
    """

    snapshot: bool
    bids: list[Level]
    asks: list[Level]
    sequence: int | None
    top: BookTop | UnsetType = UNSET


class Candle(MarketEvent, frozen=True, gc=False, tag="candle"):
    """An OHLCV bar covering ``[start, end)``; ``closed=False`` while it is still forming.

    ``source`` says who built it: ``"exchange"`` (an exchange kline stream) or ``"trades"``
    (aggregated locally from trades).
    """

    interval: str
    start: float
    end: float
    open: float
    high: float
    low: float
    close: float
    volume: float
    trades: int | None
    closed: bool
    source: str = "exchange"


class Indicator(MarketEvent, frozen=True, gc=False, tag="indicator"):
    """A streaming indicator value on the bar starting at ``start`` (TA-Lib output names as keys).

    ``source`` says which bars it was computed on: ``"trades"`` (candles built from
    trades), ``"exchange"`` (an exchange kline stream) or ``"book"`` (order-book metrics,
    computed per book update rather than per bar).
    """

    interval: str
    name: str
    params: list[float]
    start: float
    closed: bool
    values: dict[str, float | None]
    source: str = "trades"


class Alert(MarketEvent, frozen=True, gc=False, tag="alert"):
    """An alert rule became true (edge-triggered: once per false-to-true transition).

    ``start`` is the start of the closed bar the rule fired on.
    """

    rule: str
    interval: str | None
    values: dict[str, float | None]
    start: float | None = None


class Premium(MarketEvent, frozen=True, gc=False, tag="premium"):
    """The KRW premium of ``base``: its KRW price on a Korean venue over its USD price abroad.

    ``exchange``/``symbol`` name the KRW market (``upbit``, ``BTC/KRW``) and repeat as
    ``krw_exchange``; ``usd_exchange``/``usd_symbol`` the market abroad (``binance``,
    ``BTC/USDT``). ``fx`` is KRW per USD(T) from ``fx_source`` (``upbit:USDT/KRW``, or
    ``fixed`` for a rate the user gave). ``premium = krw_price / (usd_price * fx) - 1`` as
    a fraction (0.03 = 3 %). ``krw_source``/``usd_source`` say where each price came from:
    ``mid`` of the maintained book, or ``last`` trade when no synced, fresh book exists.
    """

    base: str
    krw_exchange: str
    krw_price: float
    usd_exchange: str
    usd_symbol: str
    usd_price: float
    fx: float
    fx_source: str
    premium: float
    krw_source: str = "mid"
    usd_source: str = "mid"


class StatusEvent(EventBase, frozen=True, gc=False):
    """Data-quality and connection status; ``symbol`` is ``None`` for connection-wide events."""

    symbol: str | None
    timestamp: float | None
    received: float


class Connected(StatusEvent, frozen=True, gc=False, tag="connected"):
    """A connection was opened and its subscriptions sent."""

    conn: str
    url: str


class Disconnected(StatusEvent, frozen=True, gc=False, tag="disconnected"):
    """A connection was lost or closed; ``reason`` says why. Books on it are resynced on reconnect."""

    conn: str
    reason: str


class Resync(StatusEvent, frozen=True, gc=False, tag="resync"):
    """One symbol's book was discarded and is being rebuilt.

    ``reason`` is one of :data:`RESYNC_REASONS`: ``gap`` (sequence discontinuity, or an id
    that cannot be right), ``checksum`` (the exchange's checksum disagrees), ``crossed``
    (best bid >= best ask), ``invalid`` (a delta or snapshot carried an impossible value),
    ``stale`` (no update for longer than the book's limit), ``buffer`` (too many deltas
    waited for a snapshot), ``reconnect`` (the connection carrying it dropped) or
    ``maintenance`` (the exchange announced maintenance; the book returns when it ends).
    ``detail`` has the numbers.
    """

    reason: str
    detail: str = ""


class Error(StatusEvent, frozen=True, gc=False, tag="error"):
    """A frame or response that could not be used. Nothing else was lost; it is also counted.

    ``detail`` holds the cause and a bounded excerpt of the frame.
    """

    conn: str
    reason: str
    detail: str = ""


class Outage(StatusEvent, frozen=True, gc=False, tag="outage"):
    """Collection is impaired by something other than a bad frame; ``kind`` says what.

    - ``connect_failed``: a connection attempt failed (network, timeout, server error);
      it is retried in ``retry_in`` seconds.
    - ``fatal``: a connection attempt was refused for good (a 4xx handshake answer, a bad
      URL); that connection has ended and is not retried.
    - ``rate_limited``: the exchange asked us to slow down; REST calls to ``source`` (a
      host) pause for ``retry_in`` seconds.
    - ``rest_failed``: a REST call failed after its retries.
    - ``backpressure``: a sink (``source``) is full and slows the pipeline down;
      ``recovered`` reports that it has room again.
    """

    source: str
    kind: str
    detail: str = ""
    retry_in: float | None = None


Event: TypeAlias = (
    Trade
    | Ticker
    | Book
    | Candle
    | DerivativeTicker
    | Liquidation
    | Indicator
    | Alert
    | Premium
    | Connected
    | Disconnected
    | Resync
    | Error
    | Outage
)
"""Every event type collector emits (a tagged union on ``type``)."""

RESYNC_REASONS = ("gap", "checksum", "crossed", "invalid", "stale", "buffer", "reconnect", "maintenance")
"""Every ``reason`` a :class:`Resync` carries."""
