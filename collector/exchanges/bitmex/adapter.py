"""BitMEX realtime market data (``wss://ws.bitmex.com/realtime``), id ``bitmex``.

Channels and the tables that carry them (``shared/exchanges/bitmex.md``):

- trades        <- ``trade:<sym>`` (taker side; contracts converted to base units)
- ticker        <- ``quote:<sym>`` (best bid/offer); ``last`` and 24 h figures from ``instrument``
  when that table flows too
- book          <- ``orderBookL2:<sym>`` (every level, the default) or ``orderBookL2_25:<sym>``:
  a ``partial`` then ``insert``/``update``/``delete`` rows (:mod:`.books`)
- candles       <- ``tradeBin1m:<sym>`` (also ``5m``, ``1h``, ``1d``): closed bars
- funding       <- ``instrument:<sym>``: mark, index, funding rate and time, predicted rate,
  open interest
- liquidations  <- ``liquidation:<sym>``

**Units.** Book sizes and ticker sizes are **contracts**, as on the wire (``XBTUSD``: USD;
``XBTUSDT``: 1e-6 XBT). Trade and liquidation amounts and candle volumes are base units.
Open interest is in contracts; its value is in the quote currency (``XBTUSD``: the
contracts themselves, USD; linear: ``openValue`` over ``quoteToSettleMultiplier``; quanto:
not given).

Every frame is a table push or a reply: the welcome ``info``, one ``success`` ack per topic,
or ``{"status":...,"error":...}``; the literal ``pong`` answers the ``ping`` keepalive.
Public tables this adapter does not use (``funding`` history, ``settlement``, ``orderBook10``,
``quoteBin*`` ...) and private ones are counted and ignored.

**Speed.** Quotes that take nothing from the ``instrument`` table go through the generic fast
path (:mod:`.fast`); other tables are routed by name (the first key of a push, a dict lookup)
and decoded once, typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import msgspec

from ...actions import RestRequest, SendFrame
from ...book import UNSEQUENCED, BookSync
from ...errors import UsageError
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .books import BOOK_TABLES, L2Books, request
from .fast import FastRoutes
from .instruments import Contract, parse_listing
from .schemas import Envelope
from .tables import BINS, Tables

__all__ = ["INTERVALS", "PRIVATE_TABLES", "TABLES", "UNUSED_TABLES", "BitmexAdapter"]

TABLES: dict[Channel, str] = {
    "trades": "trade",
    "ticker": "quote",
    "funding": "instrument",
    "liquidations": "liquidation",
}
"""Unified channel -> its table (books: :attr:`BitmexAdapter.book_table`; candles: :data:`INTERVALS`)."""

INTERVALS = {interval: table for table, (interval, _) in BINS.items()}
"""Unified candle interval -> the ``tradeBin`` table that carries it."""

UNUSED_TABLES = frozenset(
    {
        "orderBook10",  # top-10 images; the incremental tables give the same and more
        "funding",  # settled fundings (history); the current rate is in `instrument`
        "settlement",
        "insurance",
        "quoteBin1m",
        "quoteBin5m",
        "quoteBin1h",
        "quoteBin1d",
        "announcement",
        "connected",
        "chat",
        "publicNotifications",
    }
)
"""Public tables of ``subscriptionSubjects`` (``GET /api/v1/schema/websocketHelp``) this adapter ignores."""

PRIVATE_TABLES = frozenset(
    {
        "privateNotifications",
        "account",
        "wallet",
        "affiliate",
        "margin",
        "position",
        "transact",
        "order",
        "execution",
    }
)
"""Authenticated tables a recording of a logged-in session may hold (ignored)."""

_PREFIX = '{"table":"'
_HOSTS = frozenset({"www.bitmex.com", "ws.testnet.bitmex.com", "testnet.bitmex.com"})
_LISTING = "/api/v1/instrument/active"
_envelope = msgspec.json.Decoder(Envelope)

# (conn, table, frame, received, out)
_Handler = Callable[[str, str, str | bytes, float, Output], None]


class BitmexAdapter(Adapter):
    """BitMEX (see the module docstring): ``BTC/USD:BTC`` (``XBTUSD``), ``BTC/USDT:USDT``
    (``XBTUSDT``), ``BTC/USD:BTC-YYMMDD`` (``XBTZ25``), quanto ``ETH/USD:BTC`` (``ETHUSD``)."""

    id: ClassVar[str] = "bitmex"
    simulator: ClassVar[str | None] = "sim:BitmexWire"
    # cryptofeed and older clients connect to www.bitmex.com/realtime; testnet has both names.
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://ws.bitmex.com/realtime", rest="https://www.bitmex.com")
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    book_table: ClassVar[str] = "orderBookL2"
    """``orderBookL2`` (every level) or ``orderBookL2_25`` (the best 25 per side)."""
    # "Subscriptions are not rate-limited once connected" and no cap per connection is
    # documented; keep a connection's partials (and its loss on a drop) moderate.
    topics_per_connection: ClassVar[int] = 400
    topics_per_request: ClassVar[int] = 20
    control_interval: ClassVar[float] = 0.05
    # Heartbeats: "when no messages were received in 5 seconds, send a raw ping frame or the
    # literal string 'ping'; expect a pong within 5 seconds, else reconnect." The text ping
    # goes out every 5 s; protocol pings catch a dead peer.
    app_ping: ClassVar[str] = "ping"
    app_ping_interval: ClassVar[float] = 5.0
    # A liquid book changes several times a second; two minutes without a single row means
    # the feed has stopped (a pong or an ack is not data).
    idle_timeout: ClassVar[float] = 120.0
    # "Unauthenticated limit remains 30 requests per minute"; only the listing is asked for.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=30, rate_limited=frozenset({403, 429}))
    match_params: ClassVar[tuple[str, ...]] = ("symbol",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD:BTC",)
    # "Websocket Connection Rate Limits: now 60 connections per hour" (BitMEX blog).
    connect_limit: ClassVar[tuple[int, float] | None] = (60, 3600.0)
    # orderBookL2 publishes every change of a contract's book (XBTUSD: many a second) and
    # sends no heartbeat; a minute without a row on a live book means its subscription is
    # dead. A quiet contract costs one resubscription (a new partial), not a reconnection.
    book_stale_after: ClassVar[float] = 60.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        self.l2 = L2Books(self)
        super().__init__(endpoints=endpoints, book_top=book_top)
        self.contracts: dict[str, Contract] = {}  # native id -> what its contracts are worth
        self.derivatives = DerivativeTickers(self.id)
        self.tables = Tables(self)
        self._wants: dict[str, set[Channel]] = {}  # symbol -> channels asked for (none: replay, all)
        self._conn_books: dict[str, set[str]] = {}  # conn -> symbols whose books it carried
        self._conn_tickers: dict[str, set[str]] = {}  # conn -> symbols whose derivative ticker it feeds
        self._routes: dict[str, _Handler] = {
            "trade": self.tables.trades,
            "quote": self.tables.quotes,
            "instrument": self.tables.instruments,
            "liquidation": self.tables.liquidations,
        }
        for table in BOOK_TABLES:
            self._routes[table] = self.l2.on_frame
        for table in BINS:
            self._routes[table] = self.tables.bins
        # The fast path (collector.fastpath): quotes that are a pure function of the frame skip parse.
        self.fast = FastRoutes(self.use_router("table"), self.id)

    def _make_books(self, book_top: int | None) -> BookSync:
        # No sequence, no checksum: a partial starts a book, rows apply in arrival order.
        return BookSync(self.id, UNSEQUENCED, self.l2.resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}{_LISTING}", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return [inst for inst, _ in parse_listing(self.id, body)]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill the instrument map and the contract value of every native id."""
        for inst, contract in parse_listing(self.id, body):
            self.instruments.update([inst])
            self.contracts[inst.native] = contract
            self.fast.listed(inst.native, contract.symbol, contract.symbol in self.tables.ticker_stats)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        self.stats["ignored.http." + request.purpose] += 1
        return []

    # -- connections ----------------------------------------------------------------------------

    def topics_for(self, sub: Subscription) -> list[str]:
        """The topics one subscription needs, e.g. ``["orderBookL2:XBTUSD"]``."""
        native = self.instruments.by_symbol(sub.symbol).native
        channel = sub.channel
        table = TABLES.get(channel)
        if channel == "book":
            if self.book_table not in BOOK_TABLES:
                raise UsageError(f"{self.id}: no book table {self.book_table!r}; use one of {BOOK_TABLES}")
            table = self.book_table
        elif channel == "candles":
            table = INTERVALS.get(sub.interval)
            if table is None:
                raise UsageError(f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(INTERVALS)}")
        elif table is None:
            raise UsageError(f"{self.id} has no {channel} channel; it offers {', '.join(self.channels)}")
        return [f"{table}:{native}"]

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        topics: dict[str, Subscription] = {}
        self._wants = {}
        for sub in subscriptions:
            for topic in self.topics_for(sub):
                topics.setdefault(topic, sub)
            self._wants.setdefault(sub.symbol, set()).add(sub.channel)
        ordered = list(topics)
        plans = []
        per, batch = self.topics_per_connection, self.topics_per_request
        for shard, start in enumerate(range(0, len(ordered), per)):
            conn = f"{self.id}.{shard}"
            mine = ordered[start : start + per]
            books = []
            for topic in mine:
                sub = topics[topic]
                if sub.channel == "book":
                    table, _, native = topic.partition(":")
                    self.l2.plan(sub.symbol, table, conn, native)
                    books.append(sub.symbol)
            plans.append(
                ConnectionPlan(
                    conn=conn,
                    url=self.endpoints.ws,
                    subscribe=[request("subscribe", mine[i : i + batch]) for i in range(0, len(mine), batch)],
                    control_interval=self.control_interval,
                    ping_interval=20.0,
                    ping_timeout=20.0,
                    app_ping=self.app_ping,
                    app_ping_interval=self.app_ping_interval,
                    idle_timeout=self.idle_timeout,
                    symbols=books,
                )
            )
        return plans

    def wants(self, symbol: str, channel: Channel) -> bool:
        """Whether ``channel`` of ``symbol`` was asked for (everything, when replaying a recording)."""
        wants = self._wants.get(symbol)
        return wants is None or channel in wants

    def book_on(self, conn: str, symbol: str) -> None:
        """``conn`` carries ``symbol``'s book (reset when the connection drops)."""
        books = self._conn_books.get(conn)
        if books is None:
            books = self._conn_books[conn] = set()
        books.add(symbol)

    def ticker_on(self, conn: str, symbol: str) -> None:
        """``conn`` feeds ``symbol``'s derivative ticker (forgotten when the connection drops)."""
        tickers = self._conn_tickers.get(conn)
        if tickers is None:
            tickers = self._conn_tickers[conn] = set()
        tickers.add(symbol)

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """A (re)opened connection starts without partials; a recording's reconnect resets its books too."""
        out: Output = []
        # A capture records a reconnect as a new connect of the same connection id (live, the
        # disconnect came first and this finds nothing).
        self.books.reset(out, sorted(self._conn_books.pop(plan.conn, ())), "reconnect", received)
        self.l2.drop(plan.conn)
        self._forget_tickers(plan.conn)
        out.extend(super().on_connect(plan, received))
        return out

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset every book the connection carried; tables start over with new partials."""
        out = super().on_disconnect(conn, reason, received, report=report)
        # Books learned from the frames (a recording's); those of the plan were reset above
        # and a book is reported once, while it is live.
        self.books.reset(out, sorted(self._conn_books.pop(conn, ())), "reconnect", received, report=report)
        self.l2.drop(conn)
        self._forget_tickers(conn)
        return out

    def _forget_tickers(self, conn: str) -> None:
        for symbol in self._conn_tickers.pop(conn, ()):
            self.derivatives.forget(symbol)

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        frame = text
        if frame.startswith(_PREFIX):
            # Table pushes start with their table: route first, then decode the frame once, typed.
            table = frame[10 : frame.find('"', 10)]
            handler = self._routes.get(table)
            if handler is not None:
                try:
                    handler(conn, table, frame, received, out)
                except msgspec.DecodeError as exc:
                    out.append(self.error(conn, "malformed", f"{table}: {exc}", received, frame=frame))
                return out
        elif frame == "pong":
            # The answer to the literal "ping" keepalive.
            self.control("pong")
            return out
        elif frame == "ping":
            # BitMEX does not ping (its welcome says "heartbeatEnabled":false); if it ever
            # does, the literal keepalive is answered in kind.
            self.control("ping")
            out.append(SendFrame(conn, "pong"))
            return out
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        if env.table:
            self._other_table(conn, env.table, frame, received, out)
        else:
            self._reply(conn, env, frame, received, out)
        return out

    def _other_table(self, conn: str, table: str, frame: str, received: float, out: Output) -> None:
        handler = self._routes.get(table)
        if handler is not None:
            # A push whose "table" key is not first (a re-encoded recording).
            try:
                handler(conn, table, frame, received, out)
            except msgspec.DecodeError as exc:
                out.append(self.error(conn, "malformed", f"{table}: {exc}", received, frame=frame))
        elif table in UNUSED_TABLES or table in PRIVATE_TABLES:
            self.control(table)  # a channel of BitMEX a recorder subscribed; not turned into events
        else:
            out.append(self.error(conn, "unknown_table", table[:100], received, frame=frame))

    def _reply(self, conn: str, env: Envelope, frame: str, received: float, out: Output) -> None:
        if env.error is not None or env.status is not None or env.success is False:
            # {"status":400,"error":"Unknown table: ...","meta":{},"request":{...}}
            self.control()
            detail = f"{env.status} {env.error or ''} {bytes(env.request).decode(errors='replace')}"
            out.append(self.error(conn, "rejected", detail[:300], received))
        elif env.success:
            self.control("ack")
            topic = env.subscribe
            if topic:
                self._subscribed(conn, topic)
        elif env.info:
            self.control("info")  # the welcome on connect, or the answer to "help"
        else:
            out.append(self.error(conn, "unknown_message", "not a table push or a reply", received, frame=frame))

    def _subscribed(self, conn: str, topic: str) -> None:
        """Follow a recorder's book subscription: the ack names the table feeding the book."""
        table, _, native = topic.partition(":")
        if table in BOOK_TABLES and native:
            symbol = self.instruments.symbol_of(native)
            if symbol is not None:
                feed = self.l2.claim(symbol, table, conn, native)
                if feed is not None and not feed.live:
                    feed.conn = conn
