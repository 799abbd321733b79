"""The adapter contract (design.md, "sans-I/O") and the boundary every frame crosses.

An adapter turns subscriptions into :class:`ConnectionPlan` objects and frames into
events. It never awaits, opens sockets, reads the clock or starts tasks: receipt times
are passed in, and the I/O it needs comes back as actions (:mod:`collector.actions`).
The live connection layer and the replay driver are its only callers, so both run
exactly the same parsing code.

**The boundary.** Callers never call :meth:`Adapter.parse` or :meth:`Adapter.on_http`
directly: they call :meth:`Adapter.receive` and :meth:`Adapter.answer`, which turn any
exception raised by adapter code into an ``error`` event (reason, a bounded excerpt of
the frame) plus a counter, and which drop any market event carrying an impossible
value (:func:`collector.validate.invalid`) with an ``error`` event in its place. One bad
frame never ends a connection.

To add an exchange, see ``collector/exchanges/README.md``: one package under
``collector/exchanges/<id>/`` (schemas, adapter, simulator wire format) and one line in
the registry (``collector/exchanges/__init__.py``).
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeAlias
from urllib.parse import parse_qsl, urlsplit

import msgspec

from .. import fastpath
from ..actions import Action, RestRequest
from ..book import BookSync, OrderBook
from ..errors import UsageError
from ..models import Connected, Disconnected, Error, Event, MarketEvent
from ..stats import Stats
from ..symbols import Instrument, InstrumentMap
from ..validate import invalid

if TYPE_CHECKING:
    from ..simulator.wire import WireFormat

__all__ = [
    "CHANNELS",
    "Adapter",
    "Channel",
    "ConnectionPlan",
    "Endpoints",
    "Output",
    "Poll",
    "RestPolicy",
    "Subscription",
    "excerpt",
]

Channel: TypeAlias = Literal["trades", "ticker", "book", "candles", "funding", "liquidations"]
CHANNELS: tuple[Channel, ...] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
"""Every channel name; ``funding`` is the derivative ticker (mark/index/funding/open interest)."""

Output: TypeAlias = list[Event | Action]
"""What adapter methods return: events for the pipeline and actions for the I/O layer."""

EXCERPT = 200
"""Characters of a bad frame quoted in its ``error`` event."""


class Subscription(msgspec.Struct, frozen=True):
    """One channel of one instrument; ``interval`` is the candle interval (``1m``) for ``candles``."""

    symbol: str
    channel: Channel
    interval: str = "1m"


class Endpoints(msgspec.Struct, frozen=True):
    """Where an adapter connects. Override to point at a simulator or a testnet."""

    ws: str
    rest: str


class RestPolicy(msgspec.Struct, frozen=True):
    """How an exchange's REST API limits us, for the REST client.

    - ``weight_limit``: request weight per minute per IP the client budgets for (a safety
      fraction of it is used); an adapter may refine it from the instrument listing.
    - ``weight_header``: the response header reporting the IP's used weight, if any.
    - ``rate_limited``: statuses that mean "stop asking this host for a while".
    """

    weight_limit: int = 1200
    weight_header: str | None = None
    rate_limited: frozenset[int] = frozenset({403, 418, 429})


class Poll(msgspec.Struct, frozen=True):
    """A REST call the I/O layer repeats every ``interval`` seconds (data with no stream, e.g.
    Binance open interest); each answer goes to :meth:`Adapter.answer` like any other."""

    request: RestRequest
    interval: float


class ConnectionPlan(msgspec.Struct, frozen=True):
    """One websocket connection the I/O layer should keep open.

    - ``subscribe``: frames to send after every (re)connect, no closer together than
      ``control_interval`` seconds (the exchange's control-message rate limit).
    - ``ping_interval``/``ping_timeout``: protocol-level pings for dead-peer detection
      (``None`` disables them).
    - ``app_ping``: an application-level keepalive text sent every ``app_ping_interval``.
    - ``idle_timeout``: reconnect when no *data* frame (pongs and acks do not count)
      arrives for this long; ``0`` disables it (quiet markets may legitimately be silent).
    - ``max_lifetime``: renew the connection before the exchange's forced disconnect
      (make-before-break: the new socket takes over before the old one closes).
    - ``symbols``: unified symbols whose books this connection carries.
    - ``subscribe_delay``: seconds to wait after the socket opens before the first
      subscription (Crypto.com: "sleep 1 second after establishing the connection").
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
    subscribe_delay: float = 0.0


class Adapter(abc.ABC):
    """Base class of every exchange adapter; see the module docstring for the contract.

    Subclasses set the class attributes below and implement the abstract methods.
    ``stats`` counts every frame that did not become an event (``ignored.<kind>`` for
    acks, pongs and unused channels, via :meth:`control`; ``error.<reason>`` for bad
    input, via :meth:`error`), so nothing disappears without a trace; its keys are bounded.
    """

    id: ClassVar[str]
    default_endpoints: ClassVar[Endpoints]
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles")
    """The channels this adapter offers."""
    default_channels: ClassVar[tuple[Channel, ...] | None] = None
    """What a subscription without explicit channels gets (``None``: the offered market channels,
    without ``funding`` and ``liquidations``)."""
    rest_policy: ClassVar[RestPolicy] = RestPolicy()
    match_params: ClassVar[tuple[str, ...]] = ("symbol",)
    """Query parameters naming the instrument of a REST call (replay pairs requests with
    recorded responses by host, path and these)."""
    match_scope: ClassVar[tuple[str, ...]] = ()
    """Query parameters that select a variant of an endpoint (Bybit's ``category``)."""
    demo_symbols: ClassVar[tuple[str, ...]] = ()
    """Unified symbols ``collector demo`` and ``collector simulate`` show for this exchange."""
    ws_hosts: ClassVar[frozenset[str]] = frozenset()
    """Websocket hosts of this exchange besides the default one (testnet, regional, older
    names): captures recorded against them replay with this adapter (:meth:`recognizes`)."""
    simulator: ClassVar[str | None] = None
    """The package's simulator wire format as ``"<module>:<class>"`` (e.g. ``"sim:BybitWire"``),
    imported only when a simulator or a synthetic session needs it."""
    connect_limit: ClassVar[tuple[int, float] | None] = None
    """``(attempts, seconds)``: how many new websocket connections the exchange accepts from
    one IP in that many seconds (``None``: no documented limit). The collector paces every
    connect and reconnect of this exchange to it (:class:`~collector.backoff.ConnectPacer`)."""
    book_stale_after: ClassVar[float] = 60.0
    """A live book with no update (or exchange heartbeat) for this many seconds is resynced
    with reason ``stale``. Each adapter sets it from how often its book channel publishes."""

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        self.endpoints = endpoints or self.default_endpoints
        self.instruments = InstrumentMap(self.id)
        self.stats = Stats()
        self.books: BookSync = self._make_books(book_top)
        self.data_at: dict[str, float] = {}
        """Receipt time of the last data frame (not an ack, pong or heartbeat) per connection."""
        self.stalled: Callable[[float], float] | None = None
        """Set by the I/O layer: seconds its process was not running after a given time
        (:meth:`collector.stalls.LoopStalls.allowance`), which :meth:`check` does not count
        as a book's silence."""
        self._conn_symbols: dict[str, list[str]] = {}
        self._control_frame = False
        # Per-minute REST weight budget the exchange announced (None: the policy's default).
        self.rest_weight_limit: int | None = None

    # -- to implement ---------------------------------------------------------------------------

    @abc.abstractmethod
    def _make_books(self, book_top: int | None) -> BookSync:
        """Create the :class:`BookSync` with this exchange's rule and snapshot request."""

    @abc.abstractmethod
    def instrument_requests(self) -> list[RestRequest]:
        """The REST calls that list instruments; each answer goes to :meth:`on_http`."""

    @abc.abstractmethod
    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        """Turn an instrument-list response into instruments (raise ``ValueError`` if it is not one)."""

    @abc.abstractmethod
    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        """Group subscriptions into connections within the exchange's limits."""

    @abc.abstractmethod
    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        """Turn one websocket frame into events and actions (called through :meth:`receive`)."""

    @abc.abstractmethod
    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        """Take the response to a :class:`RestRequest` this adapter asked for (called through :meth:`answer`)."""

    def polls(self, subscriptions: Sequence[Subscription]) -> list[Poll]:
        """REST calls to repeat while collecting ``subscriptions`` (none by default)."""
        return []

    def poll_request(self, url: str) -> RestRequest | None:
        """The poll a recorded REST answer from ``url`` belongs to, if any (replay delivers those unasked)."""
        return None

    # -- exchange facts used outside the adapter ------------------------------------------------

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """Whether a websocket address (e.g. a capture's ``connect`` record) is this adapter's:
        the default host or one of :attr:`ws_hosts`."""
        host = urlsplit(url).hostname
        return host == urlsplit(cls.default_endpoints.ws).hostname or host in cls.ws_hosts

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """(host, endpoint, instrument) of a REST URL: how replay pairs a request with a recorded response.

        The endpoint is the path plus the :attr:`match_scope` parameters; the instrument is
        the first :attr:`match_params` parameter present.
        """
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        instrument = next((query[p] for p in cls.match_params if p in query), "")
        scope = "&".join(f"{p}={query[p]}" for p in cls.match_scope if p in query)
        return parts.netloc, f"{parts.path}?{scope}" if scope else parts.path, instrument

    @classmethod
    def simulator_wire(cls) -> WireFormat:
        """This exchange's wire format for :class:`collector.simulator.Simulator` (see :attr:`simulator`)."""
        if cls.simulator is None:
            raise UsageError(f"the simulator does not speak {cls.id!r} yet")
        module, _, name = cls.simulator.partition(":")
        package = cls.__module__.rpartition(".")[0]
        wire: type[WireFormat] = getattr(importlib.import_module(f"{package}.{module}"), name)
        return wire(cls.id)

    # -- the boundary ---------------------------------------------------------------------------

    def use_router(self, key: str, *, per_conn: bool = False, within: int = 0, prefix: str | None = None) -> Any:
        """Install a fast path (:mod:`collector.fastpath`) in front of :meth:`receive` and return it.

        Add routes to it for the message kinds worth it; every frame it declines still goes
        through :meth:`receive`'s boundary and :meth:`parse`. ``key`` is the JSON field whose
        value names the route: the frame's first field, or with ``within=N`` a top-level
        field (or dotted path of fields) anywhere in its first ``N`` bytes; ``prefix`` is a
        literal every routed frame starts with, ending just before the value (instead of
        ``{"<key>":"``); ``per_conn`` registers routes per connection.
        """
        router = fastpath.Router(
            key, self.data_at, self.receive, self._routed_error, per_conn=per_conn, within=within, prefix=prefix
        )
        if router is None:
            return fastpath.NoRouter()
        self.receive = router  # type: ignore[method-assign]
        return router

    def _routed_error(self, conn: str, frame: str | bytes, received: float, exc: BaseException) -> Output:
        return [self.error(conn, "exception", f"{type(exc).__name__}: {exc}", received, frame=frame)]

    def receive(self, conn: str, frame: str | bytes, received: float) -> Output:
        """Parse one frame. Never raises: what goes wrong becomes an ``error`` event and a counter."""
        self._control_frame = False
        try:
            out = self.parse(conn, frame, received)
        except RecursionError:
            # JSON nested deeper than any decoder follows: the frame's fault, not the adapter's.
            return [self.error(conn, "malformed", "nested too deeply", received, frame=frame)]
        except Exception as exc:  # the boundary: no frame may end a connection
            return [self.error(conn, "exception", f"{type(exc).__name__}: {exc}", received, frame=frame)]
        if not self._control_frame:
            self.data_at[conn] = received
        for i, item in enumerate(out):
            if isinstance(item, MarketEvent) and invalid(item) is not None:
                return _without_invalid(self, conn, out, i, frame)
        return out

    def answer(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        """Take a REST response (see :meth:`on_http`). Never raises, like :meth:`receive`."""
        try:
            out = self.on_http(request, status, body, received)
        except Exception as exc:
            if request.purpose == "snapshot" and request.symbol is not None:
                self.books.snapshot_failed(request.symbol)
            detail = f"{type(exc).__name__}: {exc} ({request.url})"
            return [self.error("rest", "exception", detail, received, request.symbol, frame=body)]
        for i, item in enumerate(out):
            if isinstance(item, MarketEvent) and invalid(item) is not None:
                return _without_invalid(self, "rest", out, i, body)
        return out

    def connected(self, plan: ConnectionPlan, received: float) -> Output:
        """The I/O layer opened ``plan``'s connection and is about to send its subscriptions."""
        try:
            return self.on_connect(plan, received)
        except Exception as exc:
            return [self.error(plan.conn, "exception", f"on connect: {type(exc).__name__}: {exc}", received)]

    def disconnected(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """The connection is gone: reset the books it carried.

        A ``disconnected`` event is emitted, and with ``report`` (a real loss) a ``resync`` per
        live book; a collector that is stopping passes ``report=False``: nothing is rebuilt.
        """
        try:
            return self.on_disconnect(conn, reason, received, report=report)
        except Exception as exc:
            return [self.error(conn, "exception", f"on disconnect: {type(exc).__name__}: {exc}", received)]

    def check(self, now: float) -> Output:
        """Periodic health check (the I/O layer calls it every second or so): stale books resync."""
        out: Output = []
        self.books.expire(out, now, self.book_stale_after, self.stalled)
        return out

    # -- shared behaviour -----------------------------------------------------------------------

    def connect_request(self, plan: ConnectionPlan) -> RestRequest | None:
        """A REST call the I/O layer makes before every connect of ``plan``, or ``None`` (the
        default). For exchanges whose websocket address is handed out per connection (KuCoin's
        ``bullet-public`` token): the answer goes to :meth:`connect_plan`."""
        return None

    def connect_plan(self, plan: ConnectionPlan, status: int, body: bytes) -> ConnectionPlan:
        """The plan to connect with this time, from the answer to :meth:`connect_request` (e.g.
        the URL with a fresh token and the ping interval the exchange names). Raise
        :class:`ValueError` when the answer is unusable: the I/O layer reports a failed
        connect and tries again with backoff, asking for a new answer each time."""
        return plan

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Remember which books the connection carries; override to keep more per-connection state."""
        self._conn_symbols[plan.conn] = list(plan.symbols)
        return [Connected(self.id, None, None, received, plan.conn, plan.url)]

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset the books the connection carried; override to drop more per-connection state."""
        out: Output = [Disconnected(self.id, None, None, received, conn, reason)]
        self.books.reset(out, self._conn_symbols.get(conn, ()), "reconnect", received, report=report)
        return out

    def conn_symbols(self, conn: str) -> list[str]:
        """The symbols whose books connection ``conn`` carries."""
        return self._conn_symbols.get(conn, [])

    def book_conn(self, symbol: str) -> str | None:
        """The connection carrying ``symbol``'s book (its snapshot requests die with it)."""
        for conn, symbols in self._conn_symbols.items():
            if symbol in symbols:
                return conn
        return None

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill :attr:`instruments` from an instrument-list response."""
        self.instruments.update(self.parse_instruments(request, body))

    def answer_instruments(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        """Load an instrument-list response; a failed or unreadable one becomes an ``error`` event."""
        if status != 200:
            return [self.error("rest", "http_status", f"{status} {request.url}", received, frame=body)]
        try:
            self.load_instruments(request, body)
        except (msgspec.DecodeError, ValueError) as exc:
            return [self.error("rest", "malformed", f"{request.url}: {exc}", received)]
        return []

    def book(self, symbol: str) -> OrderBook | None:
        """The maintained book of ``symbol`` (``None`` before its first book data)."""
        return self.books.book(symbol)

    def resync(self, symbol: str, reason: str, received: float) -> Output:
        """Rebuild one symbol's book."""
        out: Output = []
        self.books.resync(out, symbol, reason, "", received)
        return out

    def control(self, kind: str | None = None) -> None:
        """Mark the frame being parsed as carrying no market data (an ack, a pong, a heartbeat,
        an unused channel, a rejection): it does not count as data for idle detection. With
        ``kind`` it is also counted as ``ignored.<kind>`` (leave it out when the frame is
        reported as an error instead)."""
        self._control_frame = True
        if kind is not None:
            self.stats.count("ignored." + kind)

    def error(
        self,
        conn: str,
        reason: str,
        detail: str,
        received: float,
        symbol: str | None = None,
        *,
        frame: str | bytes | None = None,
    ) -> Error:
        """Count a bad frame and return the ``error`` event that reports it (with an excerpt of ``frame``)."""
        self.stats.count("error." + reason)
        if frame is not None:
            detail = f"{detail[:300]} | {excerpt(frame)}"
        return Error(self.id, symbol, None, received, conn, reason, detail[:600])

    def text_of(self, conn: str, frame: str | bytes, received: float, out: Output) -> str | None:
        """``frame`` as text, for adapters that read text: a frame that is not UTF-8 appends one
        ``malformed`` error to ``out`` and gives ``None`` (return ``out`` then)."""
        if isinstance(frame, str):
            return frame
        try:
            return frame.decode()
        except UnicodeDecodeError as exc:
            out.append(self.error(conn, "malformed", f"not UTF-8: {exc}", received, frame=frame))
            return None


def _without_invalid(adapter: Adapter, conn: str, out: Output, start: int, frame: str | bytes) -> Output:
    """``out`` with every market event from ``start`` on that carries an impossible value replaced by an error."""
    kept: Output = list(out[:start])
    for item in out[start:]:
        if isinstance(item, MarketEvent) and (reason := invalid(item)) is not None:
            symbol = item.symbol
            detail = f"{type(item).__name__} {symbol}: {reason}"
            kept.append(adapter.error(conn, "invalid_value", detail, item.received, symbol, frame=frame))
        else:
            kept.append(item)
    return kept


def excerpt(frame: str | bytes | bytearray | memoryview | Any, limit: int = EXCERPT) -> str:
    """A short printable piece of a frame for error events and logs."""
    if isinstance(frame, bytes | bytearray | memoryview):
        text = bytes(frame[:limit]).decode("utf-8", "replace")
    else:
        text = str(frame)[:limit]
    return text if len(text) < limit else text + "…"
