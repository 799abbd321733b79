"""Gemini market data v2, adapter id ``gemini``: spot and perpetuals on one websocket.

Channels (``PROTOCOL.md`` beside this module), all on ``wss://api.gemini.com/v2/marketdata``:

- book    <- ``l2``, received as ``l2_updates``: the first message after a subscribe is the
  whole book, later ones change levels to an absolute quantity (``"0"`` deletes). There
  are no update ids and no checksum (:data:`~collector.book.UNSEQUENCED`); a message that
  cannot be read is a lost update, so its book is rebuilt (reason ``invalid``) by
  unsubscribing and subscribing ``l2`` of that symbol again, which brings a new snapshot.
- trades  <- ``trade`` messages of the same ``l2`` feed and the ``trades`` array of its first
  message (the last trades before the subscribe); ``side`` is the taker's. Trades are
  emitted once, de-duplicated by ``tid`` across reconnects and resubscriptions.
- ticker  <- Gemini v2 has no ticker channel: the best bid/offer is the top of the
  maintained ``l2`` book, emitted whenever it changes (a bid, an ask or their sizes).
- candles <- ``candles_1m`` ... ``candles_1d`` (1m, 5m, 15m, 30m, 1h, 6h, 1d); a bar is
  emitted closed once the next one starts.
- funding <- perpetuals only: ``mark_price`` (mark and index) and ``funding_amount`` (the
  estimated funding of the current hour); open interest is polled from ``/v1/riskstats``.

Units: book sizes, trade amounts and candle volumes are base units on spot and on
perpetuals alike (one contract is one unit of the base, ``contract_size`` 1); open
interest is in base units too (its quote value is ``open_interest_notional``). Funding:
``funding_amount`` is quote currency per unit of the base for one interval, so the rate
is the amount over the mark price.

The v2 feed sends ``{"type":"heartbeat"}`` every 5 s on every connection (and answers
protocol pings): heartbeats are control frames that keep the connection's books fresh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar
from urllib.parse import urlsplit

import msgspec

from ... import fastpath
from ...actions import RestRequest, SendFrame
from ...book import UNSEQUENCED, BookState, BookSync
from ...fastpath import OUT, RECEIVED, attr, call, emit, millis, text
from ...models import Trade
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, Poll, RestPolicy, Subscription
from .feeds import CANDLE_FEEDS, MARKET, request, wanted
from .instruments import (
    DETAILS_PATH,
    SYMBOLS_PATH,
    decode_details,
    decode_symbols,
    details_native,
    details_of,
    instrument,
)
from .l2 import L2Feed
from .parse import Bars
from .perpetuals import Perpetuals
from .schemas import (
    CANDLE_TYPES,
    Candles,
    FundingAmount,
    Heartbeat,
    L2Updates,
    Loose,
    MarkPrice,
    Message,
    TradeMessage,
)

__all__ = ["GeminiAdapter"]

_message = msgspec.json.Decoder(Message, strict=False)
_loose = msgspec.json.Decoder(Loose)
# The fast path decodes routed frames with the message's own struct (its tag is checked too).
_l2_route = msgspec.json.Decoder(L2Updates, strict=False)
_trade_route = msgspec.json.Decoder(TradeMessage, strict=False)
_candle_routes = {cls: msgspec.json.Decoder(cls, strict=False) for cls in CANDLE_TYPES}
_CANDLE_KINDS = {cls: f"candles_{interval}_updates" for cls, interval in CANDLE_TYPES.items()}
_CANDLE_CLASSES = {kind: cls for cls, kind in _CANDLE_KINDS.items()}

RISK_PATH = "/v1/riskstats/"
_KNOWN = frozenset(
    {"l2_updates", "trade", "heartbeat", "mark_price_updates", "funding_amount_updates"}
    | {f"{feed}_updates" for feed in CANDLE_FEEDS.values()}
)
# Messages of the exchange this adapter turns into no events: auction events of the l2
# feed, and the market data v1 shapes (same host) a recording may hold.
_UNUSED = frozenset({"auction_open", "auction_indicative", "auction_result", "block_trade", "update", "initial"})
_SANDBOX_HOSTS = frozenset({"api.sandbox.gemini.com"})
_Handler = Callable[[str, Any, float, Output], None]


class GeminiAdapter(Adapter):
    """Gemini spot (``BTC/USD``) and perpetuals (``BTC/GUSD:GUSD``, ``BTC/USDC:USDC``).

    Subscribe with unified symbols. ``trades``, ``ticker`` and ``book`` of a symbol all
    come from its one ``l2`` subscription; ``candles`` in 1m, 5m, 15m, 30m, 1h, 6h or 1d;
    ``funding`` on perpetuals. Listing instruments takes one REST call per Gemini symbol
    (about 350), paced within the public limit of 120 a minute: allow a few minutes for the
    first start.
    """

    id: ClassVar[str] = "gemini"
    simulator: ClassVar[str | None] = "sim:GeminiWire"
    ws_hosts: ClassVar[frozenset[str]] = _SANDBOX_HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://api.gemini.com/v2/marketdata", rest="https://api.gemini.com"
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding")
    # "For public API entry points, we limit requests to 120 requests per minute ... you
    # will receive a 429 Too Many Requests"; no weight header.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=120, rate_limited=frozenset({429}))
    match_params: ClassVar[tuple[str, ...]] = ("symbol",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD", "ETH/USD")
    # "For public WebSocket APIs, we limit requests to 12 requests per minute".
    connect_limit: ClassVar[tuple[int, float] | None] = (12, 60.0)
    # Every connection gets a heartbeat every 5 s, and it keeps the connection's books
    # fresh: six missed heartbeats mean the feed has stopped.
    book_stale_after: ClassVar[float] = 30.0
    # No documented limit on symbols per connection or per message; modest shards.
    symbols_per_connection: ClassVar[int] = 100
    # Subscriptions are sent as one message per feed; no documented rate, pace lightly.
    control_interval: ClassVar[float] = 0.2
    # v2 has no application ping; protocol pings are answered (RFC 6455) and detect a dead peer.
    ping_interval: ClassVar[float] = 20.0
    # Heartbeats do not count as data. A thin book (BTCGBP) may not change for minutes,
    # a daily candle feed for longer.
    idle_timeout: ClassVar[float] = 120.0
    idle_timeout_without_books: ClassVar[float] = 300.0
    open_interest_interval: ClassVar[float] = 60.0
    """Seconds between ``/v1/riskstats`` polls of a perpetual's open interest (``funding`` subscriptions)."""

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._native = self.instruments.symbols_by_native  # native id -> unified symbol, filled by listings
        self._listing: list[RestRequest] = []
        self._asked: set[str] = set()  # details URLs queued
        self._l2_conn: dict[str, str] = {}  # unified symbol -> connection carrying its l2 feed
        self._conn_l2: dict[str, set[str]] = {}  # connection -> symbols whose l2 feed it carries
        self.l2 = L2Feed(self.id, self.books, self.stats)
        """Books, trades and book-top tickers of the ``l2`` feed."""
        self.perpetuals = Perpetuals(self.id, self.stats)
        """Mark, index, funding and open interest of perpetuals."""
        self._bars = Bars(self.id)
        self._handlers: dict[type[Any], _Handler] = {
            L2Updates: self._on_l2,
            TradeMessage: self._on_trade,
            Heartbeat: self._on_heartbeat,
            MarkPrice: self._on_mark,
            FundingAmount: self._on_funding,
        }
        for cls in CANDLE_TYPES:
            self._handlers[cls] = self._on_candles
        # Frames start with {"type":"...: book changes and trades of every symbol are routed in C.
        self._router = self.use_router("type")
        self._no_router = isinstance(self._router, fastpath.NoRouter)
        self._routed: set[str] = set()  # message types routed
        self._trade_routes: dict[str, str] = {}  # native -> symbol whose trade messages are routed

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, UNSEQUENCED, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        """``/v1/symbols``, then (appended to this same list as its answer is loaded) one
        ``/v1/symbols/details/{symbol}`` per listed symbol.

        Callers iterate the returned list while answering it, so the details calls it grows
        by are made in turn, each within the REST budget (about 3.5 minutes for 350
        symbols at Gemini's 120 public requests a minute).
        """
        self._listing = [RestRequest(f"{self.endpoints.rest}{SYMBOLS_PATH}", "instruments")]
        self._asked = set()
        return self._listing

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        if details_native(request.url) is None:
            decode_symbols(body)  # the listing names symbols only; their details are separate calls
            return []
        return self._details(body)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Map one details answer, or queue the details calls of a ``/v1/symbols`` listing."""
        if details_native(request.url) is not None:
            self.instruments.update(self._details(body))
            return
        base = f"{self.endpoints.rest}{DETAILS_PATH}"
        for native in decode_symbols(body):
            url = base + native
            if url not in self._asked:
                self._asked.add(url)
                self._listing.append(RestRequest(url, "instruments"))

    def _details(self, body: bytes) -> list[Instrument]:
        """The instrument of one ``/v1/symbols/details/{symbol}`` answer (none for a kind not mapped)."""
        inst = instrument(self.id, decode_details(body))
        return [inst] if inst is not None else []

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """Details answers pair by symbol whatever their URL form (``/v1/symbols/details/btcusd``,
        or ``/v1/symbols?symbol=btcusd`` in synthetic sessions), case-insensitively."""
        parts = urlsplit(url)
        native = details_of(parts)
        if native is None:
            return super().match_key(url)
        return parts.netloc, DETAILS_PATH.rstrip("/"), native

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        feeds, channels = wanted(self.id, subscriptions, self.instruments)
        for symbol, asked in channels.items():
            muted = frozenset(MARKET - asked)
            self.l2.mute(symbol, muted)
            if "trades" in muted:
                # Its trade messages must reach _on_trade, which counts them and emits nothing.
                self._trade_routes.pop(self.instruments.by_symbol(symbol).native, None)
        natives = list(dict.fromkeys(n for names in feeds.values() for n in names))
        per = self.symbols_per_connection
        plans = []
        for shard, start in enumerate(range(0, len(natives), per)):
            chosen = set(natives[start : start + per])
            frames = []
            for feed, names in feeds.items():
                symbols = [n for n in names if n in chosen]
                if symbols:
                    frames.append(request("subscribe", feed, symbols))
            books = [s for n, s in feeds.get("l2", {}).items() if n in chosen]
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{shard}",
                    url=self.endpoints.ws,
                    subscribe=frames,
                    control_interval=self.control_interval,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_interval,
                    idle_timeout=self.idle_timeout if books else self.idle_timeout_without_books,
                    symbols=books,
                )
            )
        return plans

    def polls(self, subscriptions: Sequence[Subscription]) -> list[Poll]:
        """Open interest of every perpetual subscribed for ``funding`` (no stream publishes it)."""
        symbols = dict.fromkeys(s.symbol for s in subscriptions if s.channel == "funding")
        return [
            Poll(self._risk_request(self.instruments.by_symbol(s).native, s), self.open_interest_interval)
            for s in symbols
        ]

    def poll_request(self, url: str) -> RestRequest | None:
        path = url.partition("?")[0]
        at = path.find(RISK_PATH)
        if at < 0:
            return None
        native = path[at + len(RISK_PATH) :].upper()
        symbol = self._native.get(native)
        return self._risk_request(native, symbol) if symbol is not None else None

    def _risk_request(self, native: str, symbol: str) -> RestRequest:
        return RestRequest(f"{self.endpoints.rest}{RISK_PATH}{native}", "poll", 1, symbol)

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Remember which books the connection carries (their resubscriptions go there)."""
        for symbol in plan.symbols:
            self._carry(plan.conn, symbol)
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset every book the connection carried, planned or found in its frames."""
        out = super().on_disconnect(conn, reason, received, report=report)
        planned = set(self.conn_symbols(conn))
        found = [s for s in self._conn_l2.get(conn, ()) if s not in planned]
        self.books.reset(out, found, "reconnect", received, report=report)
        return out

    def _carry(self, conn: str, symbol: str) -> None:
        """Remember that ``symbol``'s l2 feed arrives on ``conn``."""
        previous = self._l2_conn.get(symbol)
        if previous is not None and previous != conn:
            self._conn_l2.get(previous, set()).discard(symbol)
        self._l2_conn[symbol] = conn
        self._conn_l2.setdefault(conn, set()).add(symbol)

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe ``l2`` of that one symbol.

        "The initial response message will show the existing state of the order books":
        a new subscription is how a Gemini book is rebuilt.
        """
        conn = self._l2_conn.get(symbol)
        if conn is None or symbol not in self.instruments:
            return []
        native = [self.instruments.by_symbol(symbol).native]
        return [
            SendFrame(conn, request("unsubscribe", "l2", native)),
            SendFrame(conn, request("subscribe", "l2", native)),
        ]

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        try:
            msg = _message.decode(frame)
        except msgspec.DecodeError as exc:
            self._undecodable(conn, frame, str(exc), received, out)
            return out
        self._handlers[type(msg)](conn, msg, received, out)
        return out

    def _undecodable(self, conn: str, frame: str | bytes, problem: str, received: float, out: Output) -> None:
        """A frame no message struct takes: a refusal, an unused message, or bad input."""
        try:
            loose = _loose.decode(frame)
        except msgspec.DecodeError:
            out.append(self.error(conn, "malformed", problem, received, frame=frame))
            return
        kind = loose.type
        if loose.result == "error":
            # Gemini's refusal: {"result":"error","reason":"NoValidTradingPairs"}.
            self.control()
            out.append(self.error(conn, "rejected", f"{loose.reason} {loose.message}".strip()[:300], received))
        elif kind in _UNUSED:
            self.control(kind)
        elif kind not in _KNOWN:
            reason = "unknown_message" if kind else "no_type"
            out.append(self.error(conn, reason, kind[:100] or "no type", received, frame=frame))
        else:
            symbol = self._native.get(loose.symbol)
            out.append(self.error(conn, "malformed", f"{kind}: {problem}", received, symbol, frame=frame))
            if kind != "l2_updates" or symbol is None:
                return
            if self.books.state(symbol) is BookState.LIVE:
                # No sequence, no checksum: an update that cannot be read is an update lost.
                self.books.resync(out, symbol, "invalid", "an l2_updates message could not be read", received)
            else:
                # Maybe the initial response asked for: the next change asks for another.
                self.books.snapshot_failed(symbol)

    def _symbol(self, conn: str, native: str, received: float, out: Output) -> str | None:
        symbol = self._native.get(native)
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", f"no symbol {native[:100]!r}", received))
        return symbol

    def _on_l2(self, conn: str, msg: L2Updates, received: float, out: Output) -> None:
        symbol = self._symbol(conn, msg.symbol, received, out)
        if symbol is None:
            return
        if msg.trades is None:
            self.l2.changes(out, symbol, msg.changes, received)
            if "l2_updates" not in self._routed:
                self._route("l2_updates")
            return
        self._carry(conn, symbol)
        self.l2.initial(out, symbol, msg, received)

    def _on_trade(self, conn: str, msg: TradeMessage, received: float, out: Output) -> None:
        symbol = self._symbol(conn, msg.symbol, received, out)
        if symbol is not None and self.l2.trade(out, symbol, msg, received) and msg.symbol not in self._trade_routes:
            self._route_trades(msg.symbol, symbol)

    def _on_heartbeat(self, conn: str, msg: Heartbeat, received: float, out: Output) -> None:
        # The feed is alive and in order: the connection's books did not change.
        self.control("heartbeat")
        touch = self.books.touch
        for symbol in self._conn_l2.get(conn, ()):
            touch(symbol, received)

    def _on_candles(self, conn: str, msg: Candles, received: float, out: Output) -> None:
        symbol = self._symbol(conn, msg.symbol, received, out)
        if symbol is None:
            return
        self._bars.take(out, symbol, CANDLE_TYPES[type(msg)], msg.changes, received)
        kind = _CANDLE_KINDS[type(msg)]
        if kind not in self._routed:
            self._route(kind)

    def _on_mark(self, conn: str, msg: MarkPrice, received: float, out: Output) -> None:
        symbol = self._symbol(conn, msg.symbol, received, out)
        if symbol is not None:
            self.perpetuals.mark(out, symbol, msg, received)

    def _on_funding(self, conn: str, msg: FundingAmount, received: float, out: Output) -> None:
        symbol = self._symbol(conn, msg.symbol, received, out)
        if symbol is not None:
            self.perpetuals.funding(out, symbol, msg, received)

    # -- fast path ------------------------------------------------------------------------------

    def _route(self, kind: str) -> None:
        """Route ``kind`` messages through the fast path from now on: the same events, decoded in C.

        Book changes after the first message and candles are routed for every symbol at once
        (the symbol comes from the frame); their state (the book, the forming bar) stays in
        Python. A frame the route is not sure of (an unknown symbol, an initial response,
        anything that does not decode) still comes to :meth:`parse`.
        """
        self._routed.add(kind)
        if self._no_router:
            return
        symbol = fastpath.symbol_from("symbol", self._native)
        if kind == "l2_updates":
            step = call(self.l2.changes, OUT, symbol, attr("changes"), RECEIVED, when=("trades", None))
            self._router.add(kind, _l2_route, None, step)
            return
        cls = _CANDLE_CLASSES[kind]
        step = call(self._bars.take, OUT, symbol, fastpath.const(CANDLE_TYPES[cls]), attr("changes"), RECEIVED)
        self._router.add(kind, _candle_routes[cls], None, step)

    def _route_trades(self, native: str, symbol: str) -> None:
        """Route ``native``'s trade messages through the fast path from now on: the same events, no Python.

        One route serves every symbol whose trades are wanted (the symbol comes from the
        frame, through a map of those symbols); it records the trade id as
        :meth:`L2Feed.trade` does.
        """
        first = not self._trade_routes
        self._trade_routes[native] = symbol
        if not first or self._no_router:
            return
        unified = fastpath.symbol_from("symbol", self._trade_routes)
        fields = (millis("timestamp"), RECEIVED, attr("price"), attr("quantity"), attr("side"), text("tid"))
        trade = emit(Trade, fastpath.const(self.id), unified, *fields)
        seen = call(self.l2.tids.seen.__setitem__, unified, attr("tid"))
        self._router.add("trade", _trade_route, None, trade, seen)

    # -- REST -----------------------------------------------------------------------------------

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        out: Output = []
        if request.purpose != "poll" or request.symbol is None:
            self.stats["ignored.http." + request.purpose] += 1
            return out
        if status != 200:
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, frame=body))
            return out
        try:
            self.perpetuals.risk(out, request.symbol, body, received)
        except msgspec.DecodeError as exc:
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, request.symbol))
        return out
