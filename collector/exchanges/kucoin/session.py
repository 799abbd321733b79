"""What KuCoin spot and futures share: the token handshake, connection plans, control frames, routing.

KuCoin hands out its websocket address per connection. Before every connect (and every
make-before-break renewal) the I/O layer runs :meth:`KucoinSession.connect_request`,
``POST /api/v1/bullet-public`` ("if you subscribe to spot/margin data, you need to obtain
tokens through the spot base URL ... futures data ... through the futures base URL, which
cannot be mixed"), and :meth:`KucoinSession.connect_plan` turns the answer into the URL
``<instanceServers[0].endpoint>?token=<token>&connectId=<id>`` with the ping interval and
timeout the answer names. A refused or unreadable answer raises ``ValueError``: the
connect is retried with backoff and a new token.

Frames: the server's ``welcome`` ("only when the welcome message is received will the
connection be available"; the subscriptions the plan sends right after the handshake are
the first frames the server reads), ``ack`` per subscription, ``pong`` per ping, and
``error`` (``{"id": .., "type": "error", "code": 401, "data": "token is not valid"}``).
An ``error`` with code 401 means the server no longer accepts the connection's token: the
adapter reconnects, which fetches a new one. Data frames name their topic near the start
(``{"topic":"/market/match:BTC-USDT","type":"message",...}`` or ``{"type":"message",
"topic":...}``); :meth:`KucoinSession.parse` routes on the topic's part before ``:`` by exact
lookup and decodes the frame once, typed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeAlias
from urllib.parse import urlencode

import msgspec
import orjson

from ... import fastpath
from ...actions import Reconnect, RestRequest
from ...errors import UsageError
from ..base import Adapter, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .instruments import OK
from .schemas import BulletResponse, Envelope

__all__ = ["APP_PING", "TOKEN_PATH", "Handler", "KucoinSession", "Route", "UnknownNative"]

TOKEN_PATH = "/api/v1/bullet-public"
APP_PING = '{"id":"ping","type":"ping"}'
"""The keepalive: "the client side needs to send ping messages every pingInterval time"."""
_TOPIC_KEY = '"topic":"'
# How far into a frame the topic key is looked for: after "type" and "id" at most.
_TOPIC_WITHIN = 160
_TOKEN_REFUSED = 401  # "token is not valid" / expired: only a new token helps
_envelope = msgspec.json.Decoder(Envelope)
_bullet = msgspec.json.Decoder(BulletResponse, strict=False)
# Topics routed through the fast path at most (beyond it, frames keep the Python path).
_MAX_ROUTES = 65_536

Handler: TypeAlias = Callable[[str, Any, str, float, Output], None]
"""``handler(conn, decoded push, topic argument after ":", received, out)``."""
Route: TypeAlias = tuple[msgspec.json.Decoder[Any], Handler]


def _reason(data: msgspec.Raw) -> str:
    """The text of an error frame's ``data`` (a JSON string, or whatever else came)."""
    try:
        return msgspec.json.decode(data, type=str)[:200]
    except msgspec.DecodeError:
        return bytes(data)[:200].decode("utf-8", "replace")


class UnknownNative(Exception):
    """A frame names a symbol or contract the instrument list does not have."""

    def __init__(self, native: str) -> None:
        super().__init__(native)
        self.native = native


class KucoinSession(Adapter):
    """The protocol KuCoin spot and futures share; subclasses declare their topics and handlers."""

    ws_hosts: ClassVar[frozenset[str]] = frozenset()
    # Spot and futures: "Connection Limit: 30 per minute".
    connect_limit: ClassVar[tuple[int, float] | None] = (30, 60.0)
    # "Message limit sent to the server: 100 per 10 seconds", pings included: subscriptions go
    # out at most 8 a second, which leaves room for the pings of a long subscription burst.
    control_interval: ClassVar[float] = 0.125
    topics_per_request: ClassVar[int] = 100  # "Maximum number of batch subscriptions at a time: 100 topics"
    topics_per_connection: ClassVar[int] = 300
    batched: ClassVar[frozenset[str]] = frozenset()
    """Topic prefixes that take several symbols in one topic ("/market/level2:A,B", "a topic supports up
    to 100 symbols"); the others get one subscription per symbol."""
    # Until the token answer names its own: "pingInterval": 18000, "pingTimeout": 10000.
    ping_interval: ClassVar[float] = 18.0
    ping_timeout: ClassVar[float] = 10.0
    # "The token is valid for only 24 hours, and a single connection is expected to be
    # disconnected after 24 hours": renew (with a fresh token) before that.
    max_lifetime: ClassVar[float] = 23.5 * 3600
    # Public endpoints draw on the "Public" resource pool: 2000 weight per 30 s (VIP0); answers
    # report the pool's remainder (gw-ratelimit-remaining), not a used weight.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=4000)
    token_weight: ClassVar[int] = 10  # bullet-public: weight 10
    topics: ClassVar[dict[str, str]] = {}
    """Unified channel -> the KuCoin topic prefix that carries it."""
    same_answer: ClassVar[dict[str, str]] = {}
    """REST paths whose answers pair with another path's request in replay (older and keyed variants)."""
    unused: ClassVar[frozenset[str]] = frozenset()
    """KuCoin topic prefixes a recording may hold that this adapter does not turn into events."""

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._symbols = self.instruments.symbols_by_native
        self._request_id = 0
        self._connect_ids = 0
        self._routes: dict[str, Route] = self._make_routes()
        # The fast path: once a topic's frames were parsed here and found good, the router turns
        # the next ones into events with no adapter code in between (collector.fastpath). Routes
        # are per connection: a book step names the connection its errors come from.
        self._router = self.use_router("topic", per_conn=True, within=_TOPIC_WITHIN)
        self._fast_routes = not isinstance(self._router, fastpath.NoRouter)
        self._routed: set[tuple[str, str]] = set()

    def _make_routes(self) -> dict[str, Route]:
        """Topic prefix -> (decoder of its frames, handler)."""
        return {}

    # -- replay and the token ------------------------------------------------------------------

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """As :meth:`Adapter.match_key`, with the endpoint variants of :attr:`same_answer` made one: a
        recorder that fetched ``/api/v1/symbols`` or a keyed full snapshot answers this adapter's requests."""
        host, path, instrument = super().match_key(url)
        return host, cls.same_answer.get(path, path), instrument

    def connect_request(self, plan: ConnectionPlan) -> RestRequest:
        """``POST /api/v1/bullet-public`` on this market's REST base (no authentication)."""
        url = self.endpoints.rest + TOKEN_PATH
        return RestRequest(url, "token", self.token_weight, conn=plan.conn, method="POST")

    def connect_plan(self, plan: ConnectionPlan, status: int, body: bytes) -> ConnectionPlan:
        """``plan`` with the token's URL and keepalive; raises ``ValueError`` on a refused or unusable answer.

        The URL is the answer's endpoint ("it is recommended to use a dynamic URL, which may
        change") with ``?token=..&connectId=..``; an adapter pointed elsewhere (a simulator, a
        proxy: ``endpoints`` not the default) connects to its own ``endpoints.ws`` instead.
        Pings go every ``pingInterval`` ms, app-level as KuCoin asks and as protocol pings too,
        whose missing pong after ``pingTimeout`` ms marks the link dead.
        """
        if status != 200:
            raise ValueError(f"HTTP {status}: {body[:200]!r}")
        answer = _bullet.decode(body)  # a DecodeError is a ValueError
        if answer.code != OK or answer.data is None:
            raise ValueError(f"code {answer.code}: {answer.msg[:200]}")
        token = answer.data.token
        servers = [s for s in answer.data.instanceServers if s.endpoint.startswith(("wss://", "ws://"))]
        if not token or not servers:
            raise ValueError("the answer names no token or no websocket server")
        server = servers[0]
        if not (1_000 <= server.pingInterval <= 600_000 and 1_000 <= server.pingTimeout <= 600_000):
            raise ValueError(f"ping interval {server.pingInterval} ms / timeout {server.pingTimeout} ms")
        self._connect_ids += 1
        query = urlencode({"token": token, "connectId": f"{plan.conn}-{self._connect_ids}"})
        base = server.endpoint if self.endpoints == self.default_endpoints else self.endpoints.ws
        url = f"{base}{'&' if '?' in base else '?'}{query}"
        every = server.pingInterval / 1000.0
        return msgspec.structs.replace(
            plan, url=url, app_ping_interval=every, ping_interval=every, ping_timeout=server.pingTimeout / 1000.0
        )

    # -- connections ----------------------------------------------------------------------------

    def topics_for(self, sub: Subscription) -> list[tuple[str, str]]:
        """``(topic prefix, argument)`` pairs one subscription needs, e.g. ``[("/market/match", "BTC-USDT")]``."""
        prefix = self.topics.get(sub.channel)
        if prefix is None:
            raise UsageError(f"{self.id} offers no {sub.channel} channel; use one of {', '.join(self.channels)}")
        return [(prefix, self.instruments.by_symbol(sub.symbol).native)]

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        # unified symbol -> its topics (prefix, argument) -> the subscription asking for it
        by_symbol: dict[str, dict[tuple[str, str], Subscription]] = {}
        for sub in subscriptions:
            wanted = by_symbol.setdefault(sub.symbol, {})
            for topic in self.topics_for(sub):
                wanted.setdefault(topic, sub)
        # "Subscription limit for each connection": every symbol in a topic counts as one topic;
        # a symbol's topics stay on one connection.
        shards: list[dict[tuple[str, str], Subscription]] = [{}]
        for wanted in by_symbol.values():
            if shards[-1] and len(shards[-1]) + len(wanted) > self.topics_per_connection:
                shards.append({})
            shards[-1].update(wanted)
        return [self._connection(n, shard) for n, shard in enumerate(shards) if shard]

    def _connection(self, shard: int, topics: dict[tuple[str, str], Subscription]) -> ConnectionPlan:
        args: dict[str, list[str]] = {}
        for prefix, arg in topics:
            args.setdefault(prefix, []).append(arg)
        frames = []
        for prefix, items in args.items():
            per = self.topics_per_request if prefix in self.batched else 1
            for i in range(0, len(items), per):
                frames.append(self._request("subscribe", f"{prefix}:{','.join(items[i : i + per])}"))
        books = [sub.symbol for sub in topics.values() if sub.channel == "book"]
        quiet = all(sub.channel == "trades" for sub in topics.values())
        return ConnectionPlan(
            conn=f"{self.id}.{shard}",
            # Replaced by the token's address before every connect (connect_plan).
            url=self.endpoints.ws,
            subscribe=frames,
            control_interval=self.control_interval,
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            app_ping=APP_PING,
            app_ping_interval=self.ping_interval,
            # Books and tickers of a listed market change many times a minute; the trades of a
            # quiet one may stop for minutes.
            idle_timeout=300.0 if quiet else 60.0,
            max_lifetime=self.max_lifetime,
            symbols=list(dict.fromkeys(books)),
        )

    def _request(self, kind: str, topic: str) -> str:
        self._request_id += 1
        request = {"id": self._request_id, "type": kind, "topic": topic, "privateChannel": False, "response": True}
        return orjson.dumps(request).decode()

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        start = text.find(_TOPIC_KEY, 0, _TOPIC_WITHIN)
        if start < 0:
            self._other(conn, text, received, out)
        else:
            start += 9
            self._dispatch(conn, text[start : text.find('"', start)], text, received, out, True)
        return out

    def _dispatch(self, conn: str, topic: str, text: str, received: float, out: Output, again: bool) -> None:
        """Decode and handle a frame of ``topic`` (``again``: the topic was read from the raw text
        and may yet prove to be a nested one: the decoded frame decides)."""
        prefix, _, arg = topic.partition(":")
        route = self._routes.get(prefix)
        if route is None:
            if again:
                self._other(conn, text, received, out)  # decode first: it may be broken, or a nested key
            elif prefix in self.unused:
                # A KuCoin topic this adapter does not turn into events (a recorder subscribed it).
                self.control(prefix)
            else:
                out.append(self.error(conn, "unknown_topic", topic[:100], received, frame=text))
            return
        decoder, handler = route
        try:
            msg = decoder.decode(text)
        except msgspec.DecodeError as exc:
            if again:
                self._other(conn, text, received, out)
            else:
                out.append(self.error(conn, "malformed", f"{topic[:100]}: {exc}", received, frame=text))
            return
        if msg.topic != topic:
            # The key found in the text was not the frame's own topic.
            self._dispatch(conn, msg.topic, text, received, out, False)
            return
        try:
            handler(conn, msg, arg, received, out)
        except UnknownNative as exc:
            out.append(self.error(conn, "unknown_symbol", f"{prefix} {exc.native[:100]}", received))
        except ValueError as exc:
            out.append(self.error(conn, "malformed", f"{topic[:100]}: {exc}", received, frame=text))

    def _other(self, conn: str, text: str, received: float, out: Output) -> None:
        """A frame with no topic in its first bytes: a control frame, a push with its topic later, or junk."""
        try:
            env = _envelope.decode(text)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=text))
            return
        if env.topic:
            self._dispatch(conn, env.topic, text, received, out, False)
            return
        kind = env.type
        if kind in ("welcome", "pong", "ack", "notice", "command"):
            self.control(kind)
        elif kind == "error":
            self.control()
            reason = _reason(env.data)
            out.append(self.error(conn, "rejected", f"code {env.code}: {reason} (id {env.id!r})", received))
            if env.code == _TOKEN_REFUSED or env.code == str(_TOKEN_REFUSED):
                # The token expired or was revoked: a new connection asks for a new one.
                out.append(Reconnect(conn, f"token refused: {reason}"))
        else:
            out.append(self.error(conn, "unknown_message", f"type {kind[:30]!r} without a topic", received, frame=text))

    def symbol_of(self, native: str) -> str:
        """The unified symbol of a native id in a frame; raises :class:`UnknownNative`."""
        symbol = self._symbols.get(native)
        if symbol is None:
            raise UnknownNative(native)
        return symbol

    # -- the fast path --------------------------------------------------------------------------

    def route_fast(
        self, conn: str, topic: str, decoder: msgspec.json.Decoder[Any], symbol: str, *steps: fastpath.Step
    ) -> None:
        """Send ``topic``'s frames on ``conn`` through the fast path from now on (decided once per topic:
        callers check :meth:`routable` first, so steps are built once; no steps: not routed)."""
        self._routed.add((conn, topic))
        if steps:
            self._router.add(topic, decoder, symbol, *steps, conn=conn)

    def routable(self, conn: str, topic: str) -> bool:
        """Whether ``topic``'s route on ``conn`` is still to be decided (a fast path exists, with room)."""
        return self._fast_routes and (conn, topic) not in self._routed and len(self._routed) < _MAX_ROUTES
