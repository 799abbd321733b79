"""Deribit API v2 public market data over JSON-RPC websockets: futures, perpetuals, options, spot; id ``deribit``.

Channels (``../shared/exchanges/deribit.md``; ``wss://www.deribit.com/ws/api/v2``):

- trades       <- ``trades.<instrument>.<interval>`` (``direction`` is the taker's; also read
  from ``trades.<kind>.<currency>.<interval>``, where each trade names its instrument).
- liquidations <- the same trades carrying ``liquidation``: ``T`` the taker's order was a
  liquidation (its side is ``direction``), ``M`` the maker's (the other side), ``MT`` both.
- ticker       <- ``ticker.<instrument>.<interval>`` (the whole ticker each time).
- funding      <- the same ticker on perpetuals and futures: mark and index price,
  ``current_funding``, open interest and its value, last price; one event per change.
- book         <- ``book.<instrument>.<interval>``: a snapshot, then changes whose
  ``prev_change_id`` must be the last ``change_id`` (:data:`~collector.book.STREAM_PREV`); a
  gap unsubscribes and resubscribes that one channel, which sends a fresh snapshot. The
  grouped ``book.<instrument>.<group>.<depth>.<interval>`` (whole top-N books) is read too.
- candles      <- ``chart.trades.<instrument>.<resolution>`` (a bar is closed once the next starts).

Subscriptions use :attr:`DeribitAdapter.interval` (``100ms``): "raw interval is only
available to authorized users". Recordings may hold ``raw``, ``100ms`` or ``agg2``; all are read.

**Units.** Trade and liquidation amounts are base units: inverse perpetuals and futures
count USD ("for perpetual and inverse futures the amount is in USD units"), converted as
``amount / price``; options, linear (USDC) contracts and spot count the base coin already.
Book and ticker sizes stay as Deribit sends them: **USD on inverse perpetuals and futures**,
the base coin otherwise. Open interest is in the same unit (USD contracts on inverse
instruments, base coin on linear ones); its value is in the quote currency (USD, or
``open_interest * mark`` on linear ones).

**Speed.** Trades, tickers and book changes of busy channels go through the generic fast path
once the adapter's own path has seen them (:mod:`.fast`); book snapshots, candles and the
derivative tickers of linear contracts stay here.

**Keepalive.** Each connection sends ``public/set_heartbeat``; the server then sends
``heartbeat`` notifications and ``test_request``s, which must be answered with
``public/test`` or "the API server will immediately close the connection". Heartbeats also
tell the connection's books they are alive (a quiet option book may not change for minutes).

**Replay** of captures by other recorders: cryptofeed's Deribit feed connects to
``wss://www.deribit.com/ws/api/v2``, subscribes ``book``, ``trades`` and ``ticker`` with
``.raw`` (``public/subscribe``, or ``private/subscribe`` after ``public/auth`` in 2.x, ids such
as ``"101"``/``"102"``) and ``quote.<instrument>`` for best bid/offer, and lists instruments
with ``/api/v2/public/get_instruments?currency=<BTC|ETH|USDC|SOL>``. Their replies, auth
answers and unused public channels are counted, never errors. Every Deribit websocket host
(www, the bare domain, testnet, the ``streams`` event nodes) is recognised.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import msgspec

from ...actions import RestRequest
from ...book import STREAM_PREV, BookSync
from ...errors import UsageError
from ...symbols import Instrument
from ..base import Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .fast import FastRoutes
from .instruments import Market, listing
from .parse import CHART_RESOLUTIONS, Handler
from .rpc import JsonRpc
from .schemas import ChartData, Envelope

__all__ = ["CURRENCIES", "HOSTS", "INTERVALS", "UNUSED_CHANNELS", "DeribitAdapter"]

HOSTS = frozenset({"www.deribit.com", "deribit.com", "test.deribit.com", "streams.deribit.com"})
"""Deribit's websocket hosts: production, the bare domain, testnet and the "event nodes"."""

CURRENCIES = ("BTC", "ETH", "USDC", "USDT", "EURR", "SOL")
"""The ``currency`` of each instrument listing asked for (SOL: the coin-settled options recorders listed)."""

INTERVALS = frozenset({"raw", "100ms", "agg2"})
"""Notification intervals of ``book``, ``trades`` and ``ticker`` channels."""

UNUSED_CHANNELS = frozenset(
    {
        "quote",
        "incremental_ticker",
        "perpetual",
        "deribit_price_index",
        "deribit_price_ranking",
        "deribit_price_statistics",
        "deribit_volatility_index",
        "estimated_expiration_price",
        "markprice",
        "platform_state",
        "announcements",
        "instrument",
        "block_rfq",
        "block_trade_confirmations",
        "user",
    }
)
"""First segments of Deribit's other channels (public, and private ``user.*``): counted, not turned into events."""

_PREFIX = '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"'
_BPREFIX = _PREFIX.encode()
_START = len(_PREFIX)
_envelope = msgspec.json.Decoder(Envelope)
_INSTRUMENTS = "/api/v2/public/get_instruments"
_BOOK_DEPTHS = frozenset({"1", "10", "20"})
_RESOLUTIONS = {resolution: interval for interval, resolution in CHART_RESOLUTIONS.items()}
_DERIVATIVES = frozenset({"swap", "future"})
_MAX_ROUTES = 65_536  # channels remembered; beyond it, new channels are resolved per frame

# (handler, unified symbol ("" when each trade names its own), parameter, channel, routable kind or "")
_Route = tuple[Handler, str, str, str, str]


class DeribitAdapter(JsonRpc, FastRoutes):
    """Deribit (see the module docstring): ``BTC/USD:BTC`` (``BTC-PERPETUAL``), ``BTC/USDC:USDC``
    (``BTC_USDC-PERPETUAL``), ``BTC/USD:BTC-241227`` (``BTC-27DEC24``), ``BTC/USD:BTC-241227-100000-C``
    (``BTC-27DEC24-100000-C``), ``BTC/USDC`` (spot ``BTC_USDC``).

    :meth:`plan` opens connections of at most :attr:`channels_per_connection` channels, each
    enabling heartbeats and subscribing in requests of :attr:`channels_per_request` channels.
    """

    id: ClassVar[str] = "deribit"
    simulator: ClassVar[str | None] = "sim:DeribitWire"
    ws_hosts: ClassVar[frozenset[str]] = HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://www.deribit.com/ws/api/v2", rest="https://www.deribit.com"
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    interval: ClassVar[str] = "100ms"
    """Interval of subscribed ``book``/``trades``/``ticker`` channels; ``raw`` needs an authorized session."""
    # "public/set_heartbeat ... interval (seconds, minimum 10)": a test_request answer queued
    # behind paced resubscriptions still arrives in time.
    heartbeat_interval: ClassVar[int] = 30
    # No documented cap per request or connection; one request is one credit charge, so
    # requests are batched, and connections stay well within what one socket carries.
    channels_per_request: ClassVar[int] = 100
    channels_per_connection: ClassVar[int] = 500
    # Non-matching-engine requests (subscribe, test, heartbeat) cost 500 of 50,000 credits
    # refilled at 10,000/s: "~20 requests/s sustained, burst 100", and running out
    # terminates the session. Ten a second leaves room for test_request answers.
    control_interval: ClassVar[float] = 0.1
    # Tickers move with the index (mark price) several times a second, and heartbeats are no
    # data: two minutes without a notification on a connection with tickers means its feed
    # has stopped. Books and trades of far options can be silent for many minutes; without
    # tickers a connection waits longer (its pings and heartbeats still find a dead socket).
    idle_timeout: ClassVar[float] = 120.0
    quiet_idle_timeout: ClassVar[float] = 900.0
    # get_instruments: "Sustained rate: 1 request/second"; 429 / too_many_requests when exceeded.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=60, rate_limited=frozenset({429}))
    match_params: ClassVar[tuple[str, ...]] = ("currency",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD:BTC",)
    # "Max 32 simultaneous connections per IP" limits open sockets, not how often they open.
    connect_limit: ClassVar[tuple[int, float] | None] = None
    # book.<instrument>.100ms publishes only when the book changes (a far option may not for
    # minutes), but every heartbeat (every 30 s) touches the connection's books: three
    # missed heartbeats mean the feed is dead.
    book_stale_after: ClassVar[float] = 90.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._markets: dict[str, Market] = {}
        self._skipped: set[str] = set()  # combos: no unified symbol, frames counted
        self._wants: dict[str, set[Channel]] = {}
        self._book_owner: dict[str, tuple[str, str]] = {}
        self._planned_books: dict[str, tuple[str, str]] = {}
        self._conn_tickers: dict[str, set[str]] = {}
        self._funding_seen: dict[str, tuple[float | None, ...]] = {}
        self._bars: dict[tuple[str, str], ChartData] = {}
        self._conn_bars: dict[str, set[tuple[str, str]]] = {}
        self._routes: dict[str, _Route] = {}
        self._handlers: dict[tuple[str, int], Handler] = {
            ("book", 3): self._on_book,
            ("book", 5): self._on_grouped_book,
            ("trades", 3): self._on_trades,
            ("ticker", 3): self._on_ticker,
            ("chart", 4): self._on_chart,
        }
        self._start_rpc()
        self._start_router()

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, STREAM_PREV, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        rest = self.endpoints.rest
        return [
            RestRequest(f"{rest}{_INSTRUMENTS}?currency={currency}&expired=false", "instruments", 1)
            for currency in CURRENCIES
        ]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return listing(self.id, body).instruments

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        found = listing(self.id, body)
        self.instruments.update(found.instruments)
        for market in found.markets:
            self._markets[market.symbol] = market
        self._skipped.update(found.skipped)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)

    def market_of(self, symbol: str) -> Market:
        """What the adapter knows of a unified symbol; raises :class:`~collector.errors.UnknownSymbol`."""
        market = self._markets.get(symbol)
        if market is None:
            self.instruments.by_symbol(symbol)  # raises UnknownSymbol with the usual hint
            raise UsageError(f"{self.id}: {symbol!r} has no market")
        return market

    # -- connections ----------------------------------------------------------------------------

    def channel_for(self, sub: Subscription) -> str:
        """The Deribit channel one subscription needs, e.g. ``book.BTC-PERPETUAL.100ms``."""
        if self.interval not in INTERVALS:
            raise UsageError(f"{self.id}: no interval {self.interval!r}; use one of {sorted(INTERVALS)}")
        market = self.market_of(sub.symbol)
        native, channel = market.native, sub.channel
        if channel == "candles":
            resolution = CHART_RESOLUTIONS.get(sub.interval)
            if resolution is None:
                raise UsageError(
                    f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(CHART_RESOLUTIONS)}"
                )
            return f"chart.trades.{native}.{resolution}"
        if channel == "funding" and market.kind not in _DERIVATIVES:
            raise UsageError(f"{self.id}: funding is for perpetuals and futures, not {sub.symbol!r}")
        if channel == "liquidations" and market.kind == "spot":
            raise UsageError(f"{self.id}: spot {sub.symbol!r} has no liquidations")
        if channel in ("trades", "liquidations"):
            return f"trades.{native}.{self.interval}"
        if channel in ("ticker", "funding"):
            return f"ticker.{native}.{self.interval}"
        if channel == "book":
            return f"book.{native}.{self.interval}"
        raise UsageError(f"{self.id} has no {channel} channel; it offers {', '.join(self.channels)}")

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        by_symbol: dict[str, dict[str, None]] = {}  # a symbol's channels share a connection
        books: dict[str, str] = {}
        wants: dict[str, set[Channel]] = {}
        for sub in subscriptions:
            channel = self.channel_for(sub)
            by_symbol.setdefault(sub.symbol, {})[channel] = None
            wants.setdefault(sub.symbol, set()).add(sub.channel)
            if sub.channel == "book":
                books[sub.symbol] = channel
        if wants != self._wants:
            self._unroute()  # routes were decided for the channels wanted before
        self._wants = wants
        shards: list[tuple[list[str], list[str]]] = []
        for symbol, wanted in by_symbol.items():
            if not shards or len(shards[-1][0]) + len(wanted) > self.channels_per_connection:
                shards.append(([], []))
            shards[-1][0].extend(wanted)
            if symbol in books:
                shards[-1][1].append(symbol)
        plans = []
        per = self.channels_per_request
        for n, (channels, symbols) in enumerate(shards):
            conn = f"{self.id}.{n}"
            frames = [self._planned_request("public/set_heartbeat", {"interval": self.heartbeat_interval}, ())]
            for start in range(0, len(channels), per):
                part = tuple(channels[start : start + per])
                frames.append(self._planned_request("public/subscribe", {"channels": list(part)}, part))
            for symbol in symbols:
                self._planned_books[symbol] = (conn, books[symbol])
            plans.append(
                ConnectionPlan(
                    conn=conn,
                    url=self.endpoints.ws,
                    subscribe=frames,
                    control_interval=self.control_interval,
                    # Protocol pings find a dead socket; Deribit's own heartbeats find a dead client.
                    ping_interval=30.0,
                    ping_timeout=20.0,
                    idle_timeout=self.idle_timeout
                    if any(c.startswith("ticker.") for c in channels)
                    else self.quiet_idle_timeout,
                    symbols=symbols,
                )
            )
        return plans

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """A fresh connection: its resubscription budget starts again."""
        self._resubscribed.pop(plan.conn, None)
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset the connection's books; its book channels and derivative tickers start again on the next one."""
        out = super().on_disconnect(conn, reason, received, report=report)
        for symbol in [s for s, (owner, _) in self._book_owner.items() if owner == conn]:
            del self._book_owner[symbol]
        self._unroute(conn, "book")  # the next connection's books are owned afresh
        for symbol in self._conn_tickers.pop(conn, ()):
            self._funding_seen.pop(symbol, None)
        for key in self._conn_bars.pop(conn, ()):
            # Its updates since the drop are lost: the bar's last values seen are not its final
            # ones, so it is never emitted closed (the next connection starts from its own bar).
            if self._bars.pop(key, None) is not None:
                self.stats["ignored.bar_cut_by_disconnect"] += 1
        return out

    def check(self, now: float) -> Output:
        """Stale books resync (see :meth:`Adapter.check`); ``now`` also dates their resubscriptions."""
        self._now = now
        return super().check(now)

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        self._now = received
        # Notifications start with their channel: route first, then decode the frame once, typed.
        if type(frame) is str:
            if frame.startswith(_PREFIX):
                route = self._routes.get(frame[_START : frame.find('"', _START)])
                if route is not None:
                    self._run(route, conn, frame, received, out)
                    return out
        elif type(frame) is bytes and frame.startswith(_BPREFIX):
            key = frame[_START : frame.find(b'"', _START)].decode("utf-8", "replace")
            route = self._routes.get(key)
            if route is not None:
                self._run(route, conn, frame, received, out)
                return out
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        method = env.method
        if method == "subscription":
            channel = env.params.channel if env.params is not None else ""
            if not channel:
                out.append(self.error(conn, "malformed", "a notification without a channel", received, frame=frame))
                return out
            route = self._routes.get(channel) or self._resolve(conn, channel, received, out, frame)
            if route is not None:
                self._run(route, conn, frame, received, out)
        elif method == "heartbeat":
            self._heartbeat(conn, env, received, out, frame)
        elif not method and (env.id is not None or env.error is not None or len(env.result)):
            self._reply(conn, env, received, out)
        else:
            out.append(self.error(conn, "unknown_message", f"method {method[:50]!r}", received, frame=frame))
        return out

    def _run(self, route: _Route, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        handler, symbol, param, channel, kind = route
        try:
            handler(conn, symbol, param, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{channel}: {exc}", received, symbol or None, frame=frame))
            return
        if kind and self._fast and (conn, channel) not in self._routed:
            self._count_for_route(conn, channel, symbol, kind)

    def _resolve(self, conn: str, channel: str, received: float, out: Output, frame: str | bytes) -> _Route | None:
        """The route of a channel seen for the first time (remembered), or ``None`` after counting or reporting it."""
        parts = channel.split(".")
        head, count = parts[0], len(parts)
        if head == "trades" and count == 4:
            # trades.<kind>.<currency>.<interval>: each trade names its instrument.
            if parts[3] not in INTERVALS:
                out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=frame))
                return None
            return self._remember(channel, (self._on_kind_trades, "", channel, channel, ""))
        handler = self._handlers.get((head, count))
        if handler is None:
            if head in UNUSED_CHANNELS:
                self.control(head)  # a public channel a recorder subscribed, not turned into events
            else:
                out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=frame))
            return None
        param = channel
        native = parts[1]
        if head == "chart":
            interval = _RESOLUTIONS.get(parts[3]) if parts[1] == "trades" else None
            if interval is None:
                out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=frame))
                return None
            native, param = parts[2], interval
        elif parts[-1] not in INTERVALS or (count == 5 and parts[3] not in _BOOK_DEPTHS):
            out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=frame))
            return None
        symbol = self.instruments.symbol_of(native)
        if symbol is None:
            if native in self._skipped:
                self.control("combo")
            else:
                out.append(self.error(conn, "unknown_symbol", native[:100], received))
            return None
        routable = head if count == 3 and head in ("trades", "ticker", "book") else ""
        return self._remember(channel, (handler, symbol, param, channel, routable))

    def _remember(self, channel: str, route: _Route) -> _Route:
        if len(self._routes) < _MAX_ROUTES:
            self._routes[channel] = route
        return route
