"""The adapter contract (design.md, "sans-I/O").

An adapter turns subscriptions into :class:`ConnectionPlan` objects and frames into
events. It never awaits, opens sockets, reads the clock or starts tasks: receipt times
are passed in, and the I/O it needs comes back as actions (:mod:`collector.actions`).
The live connection layer and the replay driver are its only callers, so both run
exactly the same parsing code.

To add an exchange: subclass :class:`Adapter`, declare its endpoints and channel names
as data, implement :meth:`Adapter.plan`, :meth:`Adapter.parse`,
:meth:`Adapter.instrument_requests` and :meth:`Adapter.load_instruments`, and register
the class in ``collector.exchanges``.
"""

from __future__ import annotations

import abc
from collections import Counter
from collections.abc import Callable, Sequence
from typing import ClassVar, Literal, TypeAlias
from urllib.parse import urlsplit

import msgspec

from ..actions import Action, RestRequest
from ..book import BookSync, OrderBook
from ..models import Connected, Disconnected, Error, Event
from ..symbols import Instrument, InstrumentMap

__all__ = [
    "CHANNELS",
    "Adapter",
    "Channel",
    "ConnectionPlan",
    "Endpoints",
    "Output",
    "Subscription",
]

Channel: TypeAlias = Literal["trades", "ticker", "book", "candles"]
CHANNELS: tuple[Channel, ...] = ("trades", "ticker", "book", "candles")

Output: TypeAlias = list[Event | Action]
"""What adapter methods return: events for the pipeline and actions for the I/O layer."""


class Subscription(msgspec.Struct, frozen=True):
    """One channel of one instrument; ``interval`` is the candle interval (``1m``) for ``candles``."""

    symbol: str
    channel: Channel
    interval: str = "1m"


class Endpoints(msgspec.Struct, frozen=True):
    """Where an adapter connects. Override to point at a simulator or a testnet."""

    ws: str
    rest: str


class ConnectionPlan(msgspec.Struct, frozen=True):
    """One websocket connection the I/O layer should keep open.

    - ``subscribe``: frames to send after every (re)connect, no closer together than
      ``control_interval`` seconds (the exchange's control-message rate limit).
    - ``ping_interval``/``ping_timeout``: protocol-level pings for dead-peer detection
      (``None`` disables them).
    - ``app_ping``: an application-level keepalive text sent every ``app_ping_interval``.
    - ``idle_timeout``: reconnect when no frame at all arrives for this long.
    - ``max_lifetime``: reconnect proactively before the exchange's forced disconnect.
    - ``symbols``: unified symbols carried, so their books are reset on disconnect.
    """

    conn: str
    url: str
    subscribe: list[str] = []
    control_interval: float = 0.0
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    app_ping: str | None = None
    app_ping_interval: float = 20.0
    idle_timeout: float = 60.0
    max_lifetime: float | None = None
    symbols: list[str] = []
    headers: dict[str, str] = {}


class Adapter(abc.ABC):
    """Base class of every exchange adapter; see the module docstring for the contract.

    Subclasses set ``id`` and ``default_endpoints`` and build ``self.books`` in
    ``_make_books``. ``stats`` counts every frame that did not become an event
    (``ignored.<kind>`` for acks, pongs and unused channels; ``error.<reason>`` for bad
    input), so nothing disappears without a trace; the hot path counts nothing else.
    """

    id: ClassVar[str]
    default_endpoints: ClassVar[Endpoints]
    channels: ClassVar[tuple[Channel, ...]] = CHANNELS
    """The channels this adapter offers; a subscription without explicit channels gets these."""

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        self.endpoints = endpoints or self.default_endpoints
        self.instruments = InstrumentMap(self.id)
        self.stats: Counter[str] = Counter()
        self.books: BookSync = self._make_books(book_top)
        self._conn_symbols: dict[str, list[str]] = {}
        # Per-minute REST weight budget the exchange announced (None: use the REST client's default).
        self.rest_weight_limit: int | None = None

    # -- to implement ---------------------------------------------------------------------------

    @abc.abstractmethod
    def _make_books(self, book_top: int | None) -> BookSync:
        """Create the :class:`BookSync` with this exchange's rule and snapshot request."""

    @abc.abstractmethod
    def instrument_requests(self) -> list[RestRequest]:
        """The REST calls that list instruments; answer each through :meth:`load_instruments`."""

    @abc.abstractmethod
    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        """Turn an instrument-list response into instruments."""

    @abc.abstractmethod
    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        """Group subscriptions into connections within the exchange's limits."""

    @abc.abstractmethod
    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        """Turn one websocket frame into events and actions. Never raises on bad input."""

    @abc.abstractmethod
    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        """Take the response to a :class:`RestRequest` this adapter asked for."""

    # -- shared behaviour -----------------------------------------------------------------------

    def frame_parser(self) -> Callable[[str, str | bytes, float], Output]:
        """The callable the connection layer and replay run per frame: :meth:`parse`, or an
        equivalent without the Python call in front (an adapter with a compiled path says so)."""
        return self.parse

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """Whether a websocket address (e.g. a capture's ``connect`` record) is this adapter's."""
        return urlsplit(url).hostname == urlsplit(cls.default_endpoints.ws).hostname

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill :attr:`instruments` from an instrument-list response."""
        self.instruments.update(self.parse_instruments(request, body))

    def answer_instruments(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        """Load an instrument-list response; a failed or unreadable one becomes an ``error`` event."""
        if status != 200:
            return [self.error("rest", "http_status", f"{status} {request.url}: {excerpt(body)}", received)]
        try:
            self.load_instruments(request, body)
        except (msgspec.DecodeError, ValueError) as exc:
            return [self.error("rest", "malformed", f"{request.url}: {exc}", received)]
        return []

    def book(self, symbol: str) -> OrderBook | None:
        """The maintained book of ``symbol`` (``None`` before its first book data)."""
        return self.books.book(symbol)

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """The I/O layer opened ``plan``'s connection and is about to send its subscriptions."""
        self._conn_symbols[plan.conn] = list(plan.symbols)
        return [Connected(self.id, None, None, received, plan.conn, plan.url)]

    def on_disconnect(self, conn: str, reason: str, received: float) -> Output:
        """The connection is gone: reset the books it carried (each emits a ``resync``)."""
        out: Output = [Disconnected(self.id, None, None, received, conn, reason)]
        self.books.reset(out, self._conn_symbols.get(conn, ()), "reconnect", received)
        return out

    def resync(self, symbol: str, reason: str, received: float) -> Output:
        """Rebuild one symbol's book (e.g. the I/O layer saw it go stale)."""
        out: Output = []
        self.books.resync(out, symbol, reason, "", received)
        return out

    def error(self, conn: str, reason: str, detail: str, received: float, symbol: str | None = None) -> Error:
        """Count a bad frame and return the ``error`` event that reports it."""
        self.stats["error." + reason] += 1
        return Error(self.id, symbol, None, received, conn, reason, detail[:300])


def excerpt(frame: str | bytes, limit: int = 200) -> str:
    """A short printable piece of a frame for error events and logs."""
    if isinstance(frame, bytes | bytearray | memoryview):
        text = bytes(frame[:limit]).decode("utf-8", "replace")
    else:
        text = frame[:limit]
    return text
