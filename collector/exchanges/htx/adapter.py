"""What the HTX spot and swap adapters share: frame inflation, routing, heartbeats, replies, candles.

Every HTX endpoint speaks the same envelope (see :mod:`.schemas`), so one base class reads
them all: a frame is inflated once (:func:`.codec.inflate`, bounded), a push is routed by
the topic its first key names (``{"ch":"market.btcusdt.trade.detail",...}``) through an
exact-match table, and decoded once, typed, by the handler of that channel. Heartbeats,
acknowledgements, errors and ``req`` replies take the envelope path.

The fast path of :mod:`collector.fastpath` reads JSON text frames; HTX frames are gzip,
so the Python path here is kept lean instead: one inflate, one dictionary lookup of the
topic's bytes, one typed decode per frame.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

import msgspec
import orjson

from ...actions import Reconnect, RestRequest, SendFrame
from ...models import Candle, Side
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, Subscription
from .codec import GZIP_MAGIC, FrameError, inflate
from .instruments import PERIOD_SECONDS, Market
from .schemas import Envelope, Kline, Push

__all__ = ["SIDES", "Handler", "HtxBase", "Route", "seconds_of"]

Handler = Callable[[str, "Market | None", str, bytes, float, Output], None]
"""A channel handler: (conn, market or ``None`` for a wildcard topic, channel parameter, JSON, received, out)."""

Route = tuple[Handler, "Market | None", str]
"""A resolved topic: its handler, the market it names and the channel's parameter."""

SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
"""``direction`` -> taker side (trades) or liquidation-order side."""


_envelope = msgspec.json.Decoder(Envelope)
_kline = msgspec.json.Decoder(Push[Kline], strict=False)
_CH = b'{"ch":"'
_NOTIFY = b'{"op":"notify","topic":"'
# Topics resolved at most (a hostile stream of made-up topics must not grow the table).
_MAX_ROUTES = 65_536


def seconds_of(own: int | None, push: int | None) -> float | None:
    """A message's time in seconds: its tick's own millisecond time (the book's, the quote's)
    where it has one, else the push's (when the message was sent), else ``None``."""
    stamp = own if own is not None else push
    return stamp / 1000.0 if stamp is not None else None


class HtxBase(Adapter):
    """The HTX envelope, heartbeat and reply handling; subclasses add channels, plans and books.

    Subclasses fill :attr:`channel_handlers` (exact channel -> handler and parameter, built
    in ``__init__``) and :attr:`unused_channels`, implement :meth:`market_of` and the book
    callbacks, and set the usual :class:`~collector.exchanges.base.Adapter` class data.
    """

    unused_channels: ClassVar[frozenset[str]] = frozenset()
    """Public channels of the exchange this adapter does not turn into events (counted when recorded)."""
    unused_prefixes: ClassVar[tuple[str, ...]] = ()
    """Prefixes of public channel families this adapter does not turn into events."""
    unused_topics: ClassVar[frozenset[str]] = frozenset()
    """Whole topics that name no instrument (``market.tickers``) this adapter does not use."""
    topics_per_connection: ClassVar[int] = 100
    """Topics per connection. HTX documents no cap, only "not to subscribe too many topics in a
    single websocket connection"; a hundred keeps each socket's traffic moderate."""
    control_interval: ClassVar[float] = 0.1
    """Seconds between the control frames (subscriptions, refresh requests, pongs) of one connection."""
    busy_channels: ClassVar[frozenset[Channel]] = frozenset({"book", "ticker"})
    """Channels that publish within a minute on any listed instrument (connections carrying one
    get a one-minute idle limit; the others :attr:`quiet_idle_timeout`)."""
    quiet_idle_timeout: ClassVar[float] = 300.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self.channel_handlers: dict[str, tuple[Handler, str]] = {}
        for period in PERIOD_SECONDS:
            self.channel_handlers["kline." + period] = (self._on_kline, period)
        self._routes: dict[bytes, Route] = {}
        self._request_id = 0
        # The last bar pushed per (symbol, period), and whether it was emitted closed.
        self._bars: dict[tuple[str, str], tuple[Kline, bool]] = {}
        self._book_topics: dict[str, tuple[str, str]] = {}  # symbol -> (conn, topic) that owns its book
        self._snapshot_ids: dict[str, str] = {}  # request id -> symbol, for snapshot requests unanswered

    # -- to implement ---------------------------------------------------------------------------

    def market_of(self, native: str) -> Market | None:
        """The market a topic's instrument id names (``None``: not listed)."""
        raise NotImplementedError

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        if isinstance(frame, str):
            # Every HTX frame is gzip; a recorder that stored frames already inflated gives
            # the JSON itself, which reads the same. Anything else fails to decode below.
            data = frame.encode("utf-8", "surrogateescape")
        else:
            data = frame if type(frame) is bytes else bytes(frame)
            if data[:2] == GZIP_MAGIC:
                try:
                    data = inflate(data)
                except FrameError as exc:
                    out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
                    return out
        if data[:7] == _CH:
            topic = data[7 : data.find(b'"', 7)]
        elif data[:24] == _NOTIFY:
            topic = data[24 : data.find(b'"', 24)]
        else:
            self._on_envelope(conn, data, received, out)
            return out
        route = self._routes.get(topic) or self._resolve(conn, topic, data, received, out)
        if route is not None:
            self._dispatch(conn, route, topic, data, received, out)
        return out

    def _dispatch(self, conn: str, route: Route, topic: bytes, data: bytes, received: float, out: Output) -> None:
        handler, market, param = route
        try:
            handler(conn, market, param, data, received, out)
        except msgspec.DecodeError as exc:
            symbol = market.symbol if market is not None else None
            detail = f"{topic[:100].decode('utf-8', 'replace')}: {exc}"
            out.append(self.error(conn, "malformed", detail, received, symbol, frame=data))

    def _resolve(self, conn: str, raw_topic: bytes, data: bytes, received: float, out: Output) -> Route | None:
        """Route a topic seen for the first time (``market.<id>.<channel>``, ``public.<id>.<channel>``)."""
        topic = raw_topic.decode("utf-8", "replace")
        family, _, rest = topic.partition(".")
        native, _, channel = rest.partition(".")
        entry = self.channel_handlers.get(channel) if family in ("market", "public") else None
        if entry is None:
            if not self._well_formed(conn, data, received, out):
                return None
            if topic in self.unused_topics or (
                family in ("market", "public")
                and (channel in self.unused_channels or channel.startswith(self.unused_prefixes))
            ):
                # A public channel of HTX this adapter does not use (another recorder subscribed it).
                self.control(channel.partition(".")[0] if channel else topic)
            else:
                out.append(self.error(conn, "unknown_topic", topic[:100], received, frame=data))
            return None
        handler, param = entry
        market = None if native == "*" and family == "public" else self.market_of(native)
        if market is None and not (native == "*" and family == "public"):
            if self._well_formed(conn, data, received, out):
                out.append(self.error(conn, "unknown_symbol", f"{native[:60]} ({topic[:100]})", received))
            return None
        route: Route = (handler, market, param)
        if len(self._routes) < _MAX_ROUTES:
            self._routes[raw_topic] = route
        return route

    def _well_formed(self, conn: str, data: bytes, received: float, out: Output) -> bool:
        """Whether ``data`` is JSON at all (a cut-off frame is ``malformed`` before its topic is unknown)."""
        try:
            _envelope.decode(data)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=data))
            return False
        return True

    def _on_envelope(self, conn: str, data: bytes, received: float, out: Output) -> None:
        try:
            env = _envelope.decode(data)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=data))
            return
        if env.ch or (env.op == "notify" and env.topic):
            # A push whose keys came in another order than HTX writes them.
            raw_topic = (env.ch or env.topic).encode()
            route = self._routes.get(raw_topic) or self._resolve(conn, raw_topic, data, received, out)
            if route is not None:
                self._dispatch(conn, route, raw_topic, data, received, out)
        elif env.ping is not None:
            # "When client receives this heartbeat message, it should respond with a matching
            # "pong" message which has the same integer in it" -- within two pings (10 s).
            self.control("ping")
            out.append(SendFrame(conn, f'{{"pong":{env.ping}}}'))
        elif env.op:
            self._on_op(conn, env, data, received, out)
        elif env.rep:
            self._on_rep(conn, env, data, received, out)
        elif env.status == "error":
            self.control()
            detail = f"{env.err_code}: {env.err_msg[:200]} (id {env.id!r})"
            # A refused snapshot request ("429 too many request", "request timeout") names no
            # topic, only the id it was sent with: its book asks again on the next increment.
            symbol = self._snapshot_ids.pop(str(env.id), None) if env.id is not None else None
            if symbol is not None:
                self.books.snapshot_failed(symbol)
            out.append(self.error(conn, "rejected", detail, received, symbol))
        elif env.status == "ok" and (env.subbed or env.unsubbed):
            self.control("ack")
        elif env.pong is not None:
            self.control("pong")
        else:
            out.append(self.error(conn, "unknown_message", "not an HTX push, heartbeat or reply", received, frame=data))

    def _on_op(self, conn: str, env: Envelope, data: bytes, received: float, out: Output) -> None:
        """The notification endpoints' own protocol (``op``)."""
        op = env.op
        failed = env.err_code not in (None, 0, "0")
        if op == "ping" and not failed:
            # "WebSocket Client should return {"op": "pong", "ts": <the ping's ts>}".
            self.control("ping")
            out.append(SendFrame(conn, orjson.dumps({"op": "pong", "ts": env.ts}).decode()))
        elif op in ("sub", "unsub", "pong") and not failed:
            self.control("ack")
        elif op == "close":
            # "op": "close" -- the server is dropping the connection: reconnect on our terms.
            self.control("close")
            out.append(Reconnect(conn, "closed by HTX"))
        elif failed or op == "error":
            self.control()
            detail = f"{op} {env.topic[:100]}: {env.err_code}: {env.err_msg[:200]} (cid {env.cid!r})"
            out.append(self.error(conn, "rejected", detail, received))
        else:
            out.append(self.error(conn, "unknown_message", f"op {op[:40]!r}", received, frame=data))

    def _on_rep(self, conn: str, env: Envelope, data: bytes, received: float, out: Output) -> None:
        """A reply to a ``req``; book snapshots are the only ones this adapter asks for."""
        self.control("rep")

    # -- candles --------------------------------------------------------------------------------

    def _on_kline(
        self, conn: str, market: Market | None, period: str, data: bytes, received: float, out: Output
    ) -> None:
        """``market.<id>.kline.<period>``: the bar so far, pushed as it changes.

        HTX never marks a bar final. A bar is final once a later bar is pushed (its last
        push held its final values) or when a push for it comes after its end.
        """
        assert market is not None
        push = _kline.decode(data)
        k = push.tick
        symbol = market.symbol
        ts = push.ts / 1000.0 if push.ts is not None else None
        interval, seconds = PERIOD_SECONDS[period]
        key = (symbol, period)
        last = self._bars.get(key)
        if last is not None:
            previous, final = last
            if k.id < previous.id or (k.id == previous.id and final):
                # A push for a bar already final (a late or repeated one) changes nothing.
                self.control("old_kline")
                return
            if previous.id < k.id and not final:
                out.append(self._candle(market, interval, seconds, previous, True, ts, received))
        closed = ts is not None and k.id + seconds <= ts
        self._bars[key] = (k, closed)
        out.append(self._candle(market, interval, seconds, k, closed, ts, received))

    def _candle(
        self, market: Market, interval: str, seconds: int, k: Kline, closed: bool, ts: float | None, received: float
    ) -> Candle:
        trades = int(k.count) if k.count is not None else None
        start = float(k.id)
        # "amount": volume in the base coin, on spot and on swaps alike.
        volume = k.amount
        return Candle(
            self.id, market.symbol, ts, received, interval, start, start + seconds, k.open, k.high, k.low, k.close,
            volume, trades, closed,
        )  # fmt: skip

    # -- connections ----------------------------------------------------------------------------

    def topics_for(self, sub: Subscription) -> list[tuple[str, str]]:
        """``(endpoint path, topic)`` pairs one subscription needs, e.g. ``[("ws", "market.btcusdt.bbo")]``."""
        raise NotImplementedError

    def sub_frame(self, path: str, topic: str) -> str:
        """The frame that subscribes ``topic`` on endpoint ``path``: ``{"sub": topic, "id": n}``."""
        return f'{{"sub":"{topic}","id":"{self.next_id()}"}}'

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        by_path: dict[str, dict[str, Subscription]] = {}
        for sub in subscriptions:
            for path, topic in self.topics_for(sub):
                by_path.setdefault(path, {}).setdefault(topic, sub)
        plans = []
        size = self.topics_per_connection
        for path, topics in by_path.items():
            items = list(topics.items())
            for shard, start in enumerate(range(0, len(items), size)):
                chunk = items[start : start + size]
                busy = any(sub.channel in self.busy_channels for _, sub in chunk)
                plans.append(
                    ConnectionPlan(
                        conn=f"{self.id}.{path}.{shard}",
                        url=f"{self.endpoints.ws}/{path}",
                        subscribe=[self.sub_frame(path, topic) for topic, _ in chunk],
                        control_interval=self.control_interval,
                        # HTX's own keepalive is its ping every 5 s, answered from parse();
                        # protocol pings watch the peer on our side.
                        ping_interval=20.0,
                        ping_timeout=20.0,
                        # Trades and candles of a quiet market may be silent for minutes.
                        idle_timeout=60.0 if busy else self.quiet_idle_timeout,
                        symbols=list(dict.fromkeys(sub.symbol for _, sub in chunk if sub.channel == "book")),
                    )
                )
        return plans

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        self.stats["ignored.http." + request.purpose] += 1
        return []

    def next_id(self) -> str:
        """A fresh request id (``id`` of sub/unsub/req frames, ``cid`` on notification endpoints)."""
        self._request_id += 1
        return str(self._request_id)

    def snapshot_id(self, symbol: str) -> str:
        """A fresh request id for ``symbol``'s snapshot request, remembered until it is answered
        (an error reply names only the id); see :meth:`snapshot_answered`."""
        ids = self._snapshot_ids
        if len(ids) >= 10_000:
            ids.pop(next(iter(ids)))  # bounded: the oldest unanswered request is forgotten
        request_id = self.next_id()
        ids[request_id] = symbol
        return request_id

    def snapshot_answered(self, request_id: str | int | None) -> None:
        """The reply to a snapshot request arrived (whatever it says): forget its id."""
        if request_id is not None:
            self._snapshot_ids.pop(str(request_id), None)

    def own_book(self, conn: str, topic: str, market: Market) -> bool:
        """Whether ``topic`` on ``conn`` feeds ``market``'s book (the first book topic seen for it does)."""
        held = self._book_topics.get(market.symbol)
        if held is None:
            self._book_topics[market.symbol] = (conn, topic)
            return True
        if held[1] != topic:
            # Two depths or feeds of one symbol would fight over one book: the first keeps it.
            self.control("second_book")
            return False
        if held[0] != conn:
            self._book_topics[market.symbol] = (conn, topic)
        return True

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset every book the connection carried: those its plan names and those seen on it (replay)."""
        out: Output = super().on_disconnect(conn, reason, received, report=report)
        planned = set(self.conn_symbols(conn))
        seen = [symbol for symbol, (c, _) in self._book_topics.items() if c == conn]
        for symbol in seen:
            del self._book_topics[symbol]
        self.books.reset(out, [s for s in seen if s not in planned], "reconnect", received, report=report)
        return out
