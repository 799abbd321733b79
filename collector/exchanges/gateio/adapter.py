"""Gate (Gate.io) API v4: spot (``gateio``) and perpetual futures (``gateio_futures``).

Channels (``../shared/exchanges/gateio.md``; Gate's spot and futures websocket docs), spot on
``wss://api.gateio.ws/ws/v4/``, perpetuals on ``wss://fx-ws.gateio.ws/v4/ws/{usdt,btc}``:

- trades       <- ``spot.trades`` (``side`` is the taker's), ``futures.trades`` (taker side =
  sign of ``size``: "positive size means taker is buyer, negative seller")
- ticker       <- ``spot.book_ticker``, ``futures.book_ticker`` (real-time best bid/ask)
- book         <- ``spot.order_book_update`` ``[pair, "100ms"]``, ``futures.order_book_update``
  ``[contract, "100ms", "100"]``, joined to ``GET .../order_book?...&limit=100&with_id=true``
- candles      <- ``spot.candlesticks``, ``futures.candlesticks`` ``[interval, pair]``
- funding      <- ``futures.tickers`` (mark, index, funding rate and its indication, open interest)
- liquidations <- ``futures.public_liquidates``

Replays of recordings made by other collectors also read ``spot.tickers`` (best
bid/ask without sizes, last price and 24 h statistics) as tickers, whatever book depth
or interval a recorder chose, and count Gate's other public channels as ignored.

Books follow :data:`~collector.book.RANGE`, Gate's documented procedure: buffer the
diffs, fetch ``GET /order_book?...&with_id=true``, drop diffs with ``u < id + 1``, start
from the one with ``U <= id + 1 <= u``; "if any subsequent notification with
``U > baseID + 1`` is found ... some updates are lost", and the book is rebuilt from a new
snapshot. A ``full: true`` message replaces the book. Gate's books carry no checksum.

**Speed.** Trades, book diffs, best bid/ask and tickers go through the generic fast path
(:mod:`.fast`); candles, ``full`` books and merged futures tickers are read here, each frame
routed by its channel (a dict lookup) and decoded once, typed.

Units: spot sizes are base units. Futures book and best bid/ask sizes are **contracts**
(as Gate sends them); trade and liquidation amounts are base units (linear:
``contracts * quanto_multiplier``; inverse ``BTC_USD``: ``contracts * 1 USD / price``). Open
interest is in contracts, its value in the quote currency (USDT or USD).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeAlias
from urllib.parse import urlencode, urlsplit

import msgspec
import orjson

from ...actions import RestRequest
from ...book import RANGE, BookSync
from ...errors import UsageError
from ...models import Level
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .fast import WITHIN, GateRoutes
from .instruments import spot_instruments
from .parse import CANDLE_INTERVALS, Handler, Route, SpotFeeds, UnknownNative
from .schemas import Envelope, SpotSnapshot

__all__ = ["GateioAdapter", "Snapshot"]

_envelope = msgspec.json.Decoder(Envelope)
# (its decoder's decode, its handler, the channel name)
_Route: TypeAlias = tuple[Callable[[str], Any], Handler, str]
_spot_snapshot = msgspec.json.Decoder(SpotSnapshot, strict=False)

Snapshot: TypeAlias = tuple[list[Level], list[Level], int | None, float | None]
"""A REST snapshot as the book takes it: bids, asks, order book id, time in seconds."""

_CHANNEL_KEY = '"channel":"'
# How far into a frame the channel key is looked for: Gate writes it after "time" and "time_ms".
_CHANNEL_WITHIN = 256
# The testnet host serves both markets, told apart by path (/v4/ws/spot, /v4/ws/futures/usdt).
_SHARED_TESTNET = "ws-testnet.gate.com"
_ACKS = frozenset({"subscribe", "unsubscribe"})
# Private channels and websocket trading API replies a recording of an authenticated session may hold.
_PRIVATE_SPOT = frozenset(
    {"spot.orders", "spot.orders_v2", "spot.usertrades", "spot.usertrades_v2", "spot.balances"}
    | {"spot.margin_balances", "spot.funding_balances", "spot.cross_balances", "spot.cross_loan", "spot.priceorders"}
    | {"spot.login", "spot.order_place", "spot.order_cancel", "spot.order_cancel_ids", "spot.order_cancel_cp"}
    | {"spot.order_amend", "spot.order_status", "spot.order_list"}
)


class GateioAdapter(Adapter):
    """Gate spot: ``BTC/USDT`` is ``BTC_USDT`` (see the module docstring for channels and the book rule).

    :meth:`plan` puts up to :attr:`symbols_per_connection` pairs on one connection, every
    subscribed channel of a pair on the same one.
    """

    id: ClassVar[str] = "gateio"
    simulator: ClassVar[str | None] = "sim:GateioWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://api.gateio.ws/ws/v4/", rest="https://api.gateio.ws")
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles")
    market: ClassVar[str] = "spot"
    """The channel prefix: ``spot`` or ``futures``."""
    gate_channels: ClassVar[dict[str, str]] = {
        "trades": "spot.trades",
        "ticker": "spot.book_ticker",
        "book": "spot.order_book_update",
        "candles": "spot.candlesticks",
    }
    """Unified channel -> the Gate channel that carries it."""
    # Gate: "no limit on subscriptions per connection", but "the server closes connections whose
    # client cannot consume updates in time": spread many books over several connections.
    symbols_per_connection: ClassVar[int] = 50
    # "Others: No limit" on websocket messages; pace subscriptions lightly anyway.
    control_interval: ClassVar[float] = 0.05
    # Gate's demo sends a protocol ping and a spot.ping every 10 s; the server pings too.
    app_ping_interval: ClassVar[float] = 10.0
    # "All public endpoints: 200r/10s per endpoint" per IP, i.e. 1200 a minute. Gate reports the
    # remaining requests (X-Gate-RateLimit-Requests-Remain), not a used weight.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=1200)
    match_params: ClassVar[tuple[str, ...]] = ("currency_pair", "contract")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "ETH/USDT")
    ws_hosts: ClassVar[frozenset[str]] = frozenset()
    testnet_path: ClassVar[str] = "/v4/ws/spot"
    """The path prefix of this market on the testnet host both markets share."""
    # Gate documents "Number of connections per IP: <= 300" but no rate of new connections.
    connect_limit: ClassVar[tuple[int, float] | None] = None
    # order_book_update pushes the changed levels every 100 ms, and active books change every
    # interval; even quiet pairs are requoted within a minute or two. Two minutes without a
    # diff on a live socket means the book's feed is stuck.
    book_stale_after: ClassVar[float] = 120.0
    book_interval: ClassVar[str] = "100ms"
    snapshot_limit: ClassVar[int] = 100
    """Levels asked of the REST snapshot: the depth of the ``100ms`` diff stream ("level ... should match")."""

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._symbols = self.instruments.symbols_by_native
        self._request_id = 0
        # Gate's requests carry a "time" (s). An adapter reads no clock: the requests are stamped
        # with the receipt time of the instrument listing (public channels accept old times; the
        # docs' own examples send 123456).
        self._clock = 0
        # channel -> (its decoder's decode, its handler, the channel name)
        self._routes: dict[str, _Route] = {
            channel: (decoder.decode, handler, channel) for channel, (decoder, handler) in self._feeds().items()
        }
        self._data_channels = frozenset(self._routes)
        self._unused = self._unused_channels()
        # The fast path (collector.fastpath): frames that are a pure function of themselves skip parse.
        self._fast = GateRoutes(self.use_router("channel", within=WITHIN), self.id, self._symbols, self.books)
        self._route_fast()

    # -- per-market parts ------------------------------------------------------------------------

    def _feeds(self) -> dict[str, Route]:
        return SpotFeeds(self.id, self._symbols, self.books, self.control).routes

    def _route_fast(self) -> None:
        """Add this market's routes (:mod:`.fast`)."""
        self._fast.spot()

    def _unused_channels(self) -> frozenset[str]:
        """Gate channels a recording may hold that this adapter does not turn into events."""
        return frozenset({"spot.trades_v2", "spot.order_book", "spot.obu"}) | _PRIVATE_SPOT

    def _route_of(self, symbol: str) -> str:
        """The websocket path a symbol's channels are served on ("" on spot)."""
        self.instruments.by_symbol(symbol)  # raises UnknownSymbol with the usual hint
        return ""

    def _url(self, route: str) -> str:
        return self.endpoints.ws

    def _headers(self) -> dict[str, str]:
        return {}

    def _book_payload(self, native: str) -> list[str]:
        return [native, self.book_interval]

    def _snapshot_url(self, native: str) -> str:
        query = urlencode({"currency_pair": native, "limit": self.snapshot_limit, "with_id": "true"})
        return f"{self.endpoints.rest}/api/v4/spot/order_book?{query}"

    def _snapshot_levels(self, body: bytes) -> Snapshot:
        snap = _spot_snapshot.decode(body)
        # "update: the timestamp of when the orderbook last changed" is the book's time; "current"
        # is when the answer was made.
        stamp = snap.update if snap.update is not None else snap.current
        return snap.bids, snap.asks, snap.id, stamp / 1000.0 if stamp is not None else None

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """Gate's hosts of this market, and the shared testnet host's paths of this market."""
        parts = urlsplit(url)
        if parts.hostname == _SHARED_TESTNET:
            return parts.path.startswith(cls.testnet_path)
        return super().recognizes(url)

    def _make_books(self, book_top: int | None) -> BookSync:
        # Each book is cut back to the depth its stream keeps, as no delete comes for a level
        # pushed out of it: spot "100ms corresponds to depth level 100"; futures "level:
        # Optional level interested. Only updates within are notified".
        return BookSync(self.id, RANGE, self._snapshot_request, top_n=book_top, depth=self.snapshot_limit)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}/api/v4/spot/currency_pairs", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return spot_instruments(self.id, body)

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        # route -> unified symbol -> subscriptions, in the order asked
        routes: dict[str, dict[str, list[Subscription]]] = {}
        for sub in subscriptions:
            routes.setdefault(self._route_of(sub.symbol), {}).setdefault(sub.symbol, []).append(sub)
        plans = []
        for route, by_symbol in routes.items():
            symbols = list(by_symbol)
            per = self.symbols_per_connection
            for shard, start in enumerate(range(0, len(symbols), per)):
                subs = [sub for symbol in symbols[start : start + per] for sub in by_symbol[symbol]]
                plans.append(self._connection(route, shard, subs))
        return plans

    def _connection(self, route: str, shard: int, subs: list[Subscription]) -> ConnectionPlan:
        lists: dict[str, list[str]] = {}  # channels whose payload is a list of pairs/contracts
        single: dict[tuple[str, tuple[str, ...]], None] = {}  # one request per payload
        books: list[str] = []
        for sub in subs:
            channel = self.gate_channels.get(sub.channel)
            if channel is None:
                raise UsageError(f"{self.id} has no {sub.channel} channel; it offers {', '.join(self.channels)}")
            native = self.instruments.by_symbol(sub.symbol).native
            if sub.channel == "book":
                single[channel, tuple(self._book_payload(native))] = None
                books.append(sub.symbol)
            elif sub.channel == "candles":
                interval = CANDLE_INTERVALS.get(sub.interval)
                if interval is None:
                    raise UsageError(
                        f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(CANDLE_INTERVALS)}"
                    )
                single[channel, (interval, native)] = None
            else:
                natives = lists.setdefault(channel, [])
                if native not in natives:
                    natives.append(native)
        frames = [self._request(channel, natives) for channel, natives in lists.items()]
        frames += [self._request(channel, list(payload)) for channel, payload in single]
        quiet = all(sub.channel == "trades" or sub.channel == "liquidations" for sub in subs)
        suffix = f"{route}.{shard}" if route else str(shard)
        return ConnectionPlan(
            conn=f"{self.id}.{suffix}",
            url=self._url(route),
            subscribe=frames,
            control_interval=self.control_interval,
            # Gate pings at the protocol level and drops clients that do not answer; our own
            # pings find a dead peer, and "<market>.ping" resets the server's idle timer.
            ping_interval=20.0,
            ping_timeout=20.0,
            app_ping=orjson.dumps({"time": self._clock, "channel": f"{self.market}.ping"}).decode(),
            app_ping_interval=self.app_ping_interval,
            # Books, best bid/ask, tickers and candles push every second or faster; trades and
            # liquidations of a quiet market can be silent for minutes.
            idle_timeout=300.0 if quiet else 60.0,
            symbols=list(dict.fromkeys(books)),
            headers=self._headers(),
        )

    def _request(self, channel: str, payload: list[str], event: str = "subscribe") -> str:
        self._request_id += 1
        request = {"time": self._clock, "id": self._request_id, "channel": channel, "event": event, "payload": payload}
        return orjson.dumps(request).decode()

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        # Data frames name their channel near the start ({"time":..,"time_ms":..,"channel":"..."):
        # route on it, then decode the frame once, straight into the channel's payload type. The
        # key counts only as the frame's first "channel" key, outside any nested object (the one
        # the fast path routes on); anything else is read from the envelope.
        start = text.find(_CHANNEL_KEY, 0, _CHANNEL_WITHIN) + 11
        if start > 10 and text.count("{", 0, start) == 1 and text.find('"channel"', 0, start - 11) < 0:
            route = self._routes.get(text[start : text.find('"', start)])
        else:
            route = self._enveloped(text)
        if route is None:
            self._other(conn, text, "", received, out)
            return out
        decode, handler, channel = route
        try:
            msg = decode(text)
        except msgspec.DecodeError as exc:
            # An ack of that channel, or a data frame that is broken: the envelope tells.
            self._other(conn, text, str(exc), received, out)
            return out
        if msg.channel != channel:
            out.append(self.error(conn, "malformed", f"channel {channel[:50]!r} twice", received, frame=text))
            return out
        try:
            handler(conn, msg, received, out)
        except UnknownNative as exc:
            out.append(self.error(conn, "unknown_symbol", f"{channel} {exc.native[:100]}", received))
        except ValueError as exc:
            out.append(self.error(conn, "malformed", f"{channel}: {exc}", received, frame=text))
        return out

    def _enveloped(self, text: str) -> _Route | None:
        """The route of a frame whose channel is not where Gate writes it: its envelope's channel."""
        try:
            return self._routes.get(_envelope.decode(text).channel)
        except msgspec.DecodeError:
            return None  # _other reports it

    def _other(self, conn: str, text: str, problem: str, received: float, out: Output) -> None:
        """A frame that is no data push of a channel in use: an ack, a pong, a rejection, an unused
        channel -- or a broken frame (``problem`` says what the channel's decoder found)."""
        try:
            env = _envelope.decode(text)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=text))
            return
        channel = env.channel
        if env.error is not None:
            self.control()
            detail = f"{channel[:50]} {env.event[:20]}: code {env.error.code}: {env.error.message[:200]} (id {env.id})"
            out.append(self.error(conn, "rejected", detail, received))
        elif env.event in _ACKS:
            self.control("ack")
        elif channel == f"{self.market}.pong":
            self.control("pong")
        elif channel in self._data_channels:
            out.append(self.error(conn, "malformed", f"{channel}: {problem or 'no payload'}", received, frame=text))
        elif channel in self._unused:
            # A Gate channel this adapter does not turn into events (a recorder subscribed it).
            self.control(channel)
        elif channel:
            out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=text))
        else:
            out.append(self.error(conn, "unknown_message", "no channel", received, frame=text))

    # -- REST -----------------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[RestRequest]:
        native = self.instruments.by_symbol(symbol).native
        # The websocket's headers go with the snapshot too: Gate futures' X-Gate-Size-Decimal
        # ("sizes will be strings (possibly decimals)") shapes the REST book the same way, so the
        # snapshot and the diffs joined to it agree on fractional contracts.
        headers = tuple(self._headers().items())
        return [RestRequest(self._snapshot_url(native), "snapshot", 1, symbol, headers=headers)]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            if status == 200:
                self._clock = int(received)
            return self.answer_instruments(request, status, body, received)
        out: Output = []
        if request.purpose != "snapshot":
            self.stats["ignored.http." + request.purpose] += 1
            return out
        symbol = request.symbol or ""
        if status != 200:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, symbol, frame=body))
            return out
        try:
            bids, asks, book_id, timestamp = self._snapshot_levels(body)
            if book_id is None:
                raise ValueError("no order book id (with_id=true is needed to sync)")
        except (msgspec.DecodeError, ValueError) as exc:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, symbol, frame=body))
            return out
        self.books.snapshot(out, symbol, bids, asks, book_id, timestamp, received)
        return out
