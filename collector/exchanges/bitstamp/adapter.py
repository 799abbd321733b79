"""Bitstamp websocket v2 public market data: one adapter id, ``bitstamp`` (spot and perpetuals).

Channels (``PROTOCOL.md`` in this package has the protocol notes and sources):

- trades <- ``live_trades_<pair>``: ``type`` 0 is a buy, 1 a sell, by the taker; amounts
  from ``amount_str``/``price_str`` (the exact decimals) when present.
- book   <- ``diff_order_book_<pair>`` (changed levels, absolute amounts) joined to the REST
  snapshot ``GET /api/v2/order_book/<pair>/?group=1`` by ``microtimestamp``: Bitstamp's
  book frames carry no sequence number, so the microtimestamp is the update id
  (:data:`.books.BOOK_RULE`).
- ticker <- ``order_book_<pair>``: Bitstamp has no ticker channel; every frame of this one
  is the whole top 100 levels, and its best bid and ask become a :class:`Ticker` each time
  they change.
- funding <- ``funding_rate_<pair>`` (perpetuals): mark and index price, the funding rate
  (a fraction) and the next funding time, merged into a :class:`DerivativeTicker`.

Book sizes and trade amounts are base units (Bitstamp's perpetual contracts are one
base unit each). Bitstamp publishes no open interest, no public liquidations and no
candles on its websocket.

**Speed.** Trades and book diffs go through the generic fast path once the adapter's own
path has read a frame of their channel (:mod:`.fast`). Other frames come to
:meth:`BitstampAdapter.receive`, which finds the channel name with one string search from the
end (frames put ``data`` before ``channel``), looks its handler up in a dict and decodes the
frame once, typed (:mod:`.feeds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from ...actions import Reconnect, RestRequest
from ...book import BookState, BookSync
from ...errors import UsageError
from ...models import Disconnected
from ...symbols import Instrument
from ..base import Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .books import BOOK_RULE, SNAPSHOT_PATH, SnapshotGate
from .channels import CHANNEL_KEY, CONTROL, HEARTBEAT, KINDS, UNUSED_CHANNELS, UNUSED_KINDS, channel_of, request
from .fast import FastRoutes
from .feeds import Handler
from .instruments import INFO_PATH, instruments
from .schemas import Envelope, ErrorData, Snapshot

__all__ = ["BitstampAdapter"]

_envelope = msgspec.json.Decoder(Envelope)
_error_data = msgspec.json.Decoder(ErrorData, strict=False)
_snapshot = msgspec.json.Decoder(Snapshot, strict=False)
_MAX_ROUTES = 65_536  # channels routed by name at most (hostile input cannot grow it past this)


class BitstampAdapter(FastRoutes):
    """Bitstamp spot pairs (``BTC/USD``) and perpetuals (``BTC/USD:USD``) from one websocket.

    :meth:`plan` subscribes one channel per frame (``bts:subscribe``), at most
    :attr:`max_channels` per connection, and keeps each connection alive with Bitstamp's
    ``bts:heartbeat``. A ``bts:request_reconnect`` notice reconnects at once, and the books
    of that connection resync with reason ``maintenance``.
    """

    id: ClassVar[str] = "bitstamp"
    simulator: ClassVar[str | None] = "sim:BitstampWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://ws.bitstamp.net", rest="https://www.bitstamp.net")
    # Every market, spot and perpetual, is served from that one host (no testnet, no regions).
    ws_hosts: ClassVar[frozenset[str]] = frozenset()
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "funding")
    # Bitstamp's default REST threshold is 10,000 requests per 10 minutes (bursts up to 400 a
    # second): 1000 a minute.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=1000)
    # The pair is part of the REST path (/api/v2/order_book/btcusd/), not a query parameter.
    match_params: ClassVar[tuple[str, ...]] = ()
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD", "ETH/USD")
    # Bitstamp documents no limit on new connections.
    connect_limit: ClassVar[tuple[int, float] | None] = None
    # Diffs come on every book change (sampled about every 0.5-1 s on busy books), and quiet
    # books have been seen silent for about 50 s: two minutes without one means the stream
    # has stopped. The resync is one REST snapshot.
    book_stale_after: ClassVar[float] = 120.0
    # "1,024 channel subscriptions per connection"; "attempting a 1025th subscription causes
    # the connection to be silently closed". Keep a margin.
    max_channels: ClassVar[int] = 1000
    # No documented rate for subscribe frames (one channel each, "under 512 bytes").
    control_interval: ClassVar[float] = 0.02
    # The documented keepalive: the client sends {"event": "bts:heartbeat"}, the server answers.
    heartbeat_interval: ClassVar[float] = 20.0
    # "Maximum connection age is 90 days": renew (make-before-break) a day before.
    max_lifetime: ClassVar[float] = 89 * 86_400.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._handlers: dict[str, Handler] = {
            "live_trades": self._on_trade,
            "diff_order_book": self._on_diff,
            "order_book": self._on_top,
            "funding_rate": self._on_funding,
        }
        self._derivatives = DerivativeTickers(self.id)
        self._routes: dict[str, tuple[Handler, str]] = {}  # channel -> (handler, unified symbol)
        self._book_conns: dict[str, str] = {}  # symbol -> connection its diffs arrive on
        self._tops: dict[str, tuple[str, tuple[float | None, ...]]] = {}  # symbol -> (conn, last top)
        self._maintenance: set[str] = set()  # connections Bitstamp asked to reconnect
        self._gate = SnapshotGate()  # a snapshot joins only diffs of the connection it was asked on
        self._start_router()

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, BOOK_RULE, self._snapshot_request, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(self.endpoints.rest + INFO_PATH, "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return instruments(self.id, body)

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """As :meth:`Adapter.match_key`, with the path's trailing slash dropped: recorders ask
        ``/api/v2/order_book/btcusd`` (cryptofeed) as well as ``/api/v2/order_book/btcusd/``."""
        host, path, instrument = super().match_key(url)
        return host, path.rstrip("/") or "/", instrument

    # -- connections ----------------------------------------------------------------------------

    def channel_name(self, sub: Subscription) -> str:
        """The Bitstamp channel of one subscription, e.g. ``diff_order_book_btcusd``."""
        kind = KINDS.get(sub.channel)
        if kind is None:
            offered = ", ".join(self.channels)
            raise UsageError(f"{self.id}: no {sub.channel!r} channel on Bitstamp's websocket; it offers {offered}")
        inst = self.instruments.by_symbol(sub.symbol)
        if sub.channel == "funding" and inst.kind != "swap":
            raise UsageError(
                f"{self.id}: {sub.symbol} is not a perpetual: no funding (try {inst.base}/{inst.quote}:{inst.quote})"
            )
        return f"{kind}_{inst.native}"

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        wanted: dict[str, Subscription] = {}
        for sub in subscriptions:
            wanted.setdefault(self.channel_name(sub), sub)
        names = list(wanted)
        plans = []
        for shard, start in enumerate(range(0, len(names), self.max_channels)):
            chunk = names[start : start + self.max_channels]
            subs = [wanted[name] for name in chunk]
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{shard}",
                    url=self.endpoints.ws,
                    subscribe=[request("bts:subscribe", name) for name in chunk],
                    control_interval=self.control_interval,
                    app_ping=HEARTBEAT,
                    app_ping_interval=self.heartbeat_interval,
                    # Books and tops change many times a minute on any listed pair; trades of a
                    # quiet pair may not come for many minutes.
                    idle_timeout=120.0 if any(s.channel != "trades" for s in subs) else 900.0,
                    max_lifetime=self.max_lifetime,
                    symbols=list(dict.fromkeys(s.symbol for s in subs if s.channel == "book")),
                )
            )
        return plans

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset the connection's books (reason ``maintenance`` after ``bts:request_reconnect``)."""
        symbols = set(self.conn_symbols(conn)) | {s for s, c in self._book_conns.items() if c == conn}
        for symbol in symbols:
            self._gate.moved(symbol)
        for symbol in [s for s, (c, _) in self._tops.items() if c == conn]:
            del self._tops[symbol]
        if conn not in self._maintenance:
            return super().on_disconnect(conn, reason, received, report=report)
        self._maintenance.discard(conn)
        out: Output = [Disconnected(self.id, None, None, received, conn, reason)]
        self.books.reset(out, self.conn_symbols(conn), "maintenance", received, report=report, detail=reason)
        return out

    # -- frames ---------------------------------------------------------------------------------

    def receive(self, conn: str, frame: str | bytes, received: float) -> Output:
        """The boundary (:meth:`Adapter.receive`), with routed channels taken straight to their handler.

        Bitstamp frames cannot use the generic fast path (their routing key is not first), so
        this is its Python equivalent: a trade or book frame of a channel seen before is
        decoded once and handled with no further layer. Its events are built from
        constrained wire fields only (prices, amounts and levels were validated while
        decoding), so they need no second check. Whatever the handler cannot decode takes
        the full boundary, which reports it.
        """
        if type(frame) is not str:
            return super().receive(conn, frame, received)
        # channel_of, inlined: this runs for every frame.
        at = frame.rfind(CHANNEL_KEY)
        start = frame.find('"', at + 9) + 1 if at >= 0 else 0
        channel = frame[start : frame.find('"', start)] if start else ""
        route = self._routes.get(channel)
        if route is None:
            return super().receive(conn, frame, received)
        out: Output = []
        try:
            route[0](conn, route[1], channel, frame, received, out)
        except msgspec.DecodeError:
            return super().receive(conn, frame, received)  # a reply about the channel, or a broken frame
        except Exception as exc:  # the boundary: no frame may end a connection
            return [self.error(conn, "exception", f"{type(exc).__name__}: {exc}", received, frame=frame)]
        self.data_at[conn] = received
        return out

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        channel = channel_of(frame) if type(frame) is str else None
        route = self._routes.get(channel) if channel is not None else None
        failure: msgspec.DecodeError | None = None
        if route is not None and channel is not None:
            try:
                route[0](conn, route[1], channel, frame, received, out)
                return out
            except msgspec.DecodeError as exc:
                failure = exc  # a reply about this channel, or a broken frame: read the envelope
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        if env.event.startswith("bts:"):
            self._on_control(conn, env, received, out)
        elif failure is not None and route is not None and env.channel == channel:
            out.append(self.error(conn, "malformed", f"{channel}: {failure}", received, route[1], frame=frame))
        else:
            # Not routed yet, or the name found from the end was not the frame's own "channel"
            # (a key of the payload): the envelope's is, as the fast path reads it.
            self._on_channel(conn, env.channel, frame, received, out)
        return out

    def _on_channel(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        """A data frame of a channel not routed yet: find its handler and symbol, remember them."""
        kind, _, pair = channel.rpartition("_")
        handler = self._handlers.get(kind)
        if handler is None:
            if kind in UNUSED_KINDS or channel in UNUSED_CHANNELS:
                self.control(kind or channel)
            elif kind.startswith("private-"):
                self.control("private")
            else:
                # Not a Bitstamp channel at all: whatever sent it is not the exchange we asked.
                out.append(self.error(conn, "unknown_channel", channel[:100] or "no channel", received, frame=frame))
            return
        symbol = self.instruments.symbols_by_native.get(pair)
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", pair[:100], received, frame=frame))
            return
        if len(self._routes) < _MAX_ROUTES:
            self._routes[channel] = (handler, symbol)
        try:
            handler(conn, symbol, channel, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{channel}: {exc}", received, symbol, frame=frame))

    def _on_control(self, conn: str, env: Envelope, received: float, out: Output) -> None:
        kind = CONTROL.get(env.event)
        if kind is not None:
            self.control(kind)
            if env.event == "bts:subscription_succeeded":
                self._on_subscribed(conn, env.channel, received, out)
        elif env.event == "bts:request_reconnect":
            # Bitstamp's maintenance notice leaves "a few seconds to reconnect": reconnect now;
            # the books of this connection resync with reason maintenance.
            self.control("request_reconnect")
            self._maintenance.add(conn)
            out.append(Reconnect(conn, "bts:request_reconnect"))
        elif env.event == "bts:error":
            self.control()
            try:
                err = _error_data.decode(env.data)
            except msgspec.DecodeError:
                err = ErrorData(message=bytes(env.data)[:100].decode("utf-8", "replace"))
            detail = f"code {err.code}: {err.message[:200]} ({env.channel[:100] or 'no channel'})"
            out.append(self.error(conn, "rejected", detail, received))
        else:
            self.control("bts_event")  # another notice of Bitstamp's control namespace

    def _on_subscribed(self, conn: str, channel: str, received: float, out: Output) -> None:
        """A diff channel is subscribed: ask for the book's snapshot now, not at its first diff.

        Bitstamp's procedure subscribes first and fetches the snapshot after: once the
        subscription is acknowledged every later change comes as a diff, so a snapshot taken
        from now on joins. A quiet book is then synced without waiting for its first change.
        """
        kind, _, pair = channel.rpartition("_")
        symbol = self.instruments.symbols_by_native.get(pair) if kind == "diff_order_book" else None
        if symbol is None:
            return
        self._follow(conn, symbol, channel, received, out)
        if self.books.state(symbol) is not BookState.LIVE:
            # An empty diff as of time 0 makes the book wait and ask for its snapshot,
            # which then drops it (every snapshot is later than 0).
            self.books.delta(out, symbol, [], [], 0, 0, None, None, received)

    # -- REST -----------------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[RestRequest]:
        native = self.instruments.by_symbol(symbol).native
        url = self.endpoints.rest + SNAPSHOT_PATH.format(native)
        conn = self._book_conns.get(symbol) or self.book_conn(symbol)
        return [self._gate.ask(RestRequest(url, "snapshot", 1, symbol, conn), symbol)]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        out: Output = []
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        symbol = request.symbol
        if request.purpose != "snapshot" or symbol is None:
            self.stats["ignored.http." + request.purpose[:30]] += 1
            return out
        if not self._gate.current(symbol, request):
            self.books.snapshot_failed(symbol)  # the next diff asks again, on the new connection
            self.stats["snapshot_outdated"] += 1
            return out
        if status != 200:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, symbol, frame=body))
            return out
        try:
            snap = _snapshot.decode(body)
        except msgspec.DecodeError as exc:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, symbol, frame=body))
            return out
        stamp = snap.microtimestamp
        self.books.snapshot(out, symbol, snap.bids, snap.asks, stamp, stamp / 1e6, received)
        return out
