"""Bybit v5 public market data: spot, linear and inverse under one adapter id, ``bybit``.

Channels (``../shared/exchanges/bybit.md``):

- trades  <- ``publicTrade.<s>`` (``S`` is the taker side, ``i`` the trade id)
- ticker  <- ``tickers.<s>``; linear/inverse send a snapshot and then deltas that are
  merged into a cached full ticker. Spot tickers carry no bid/ask, so spot subscribes
  ``orderbook.1.<s>`` as well and takes its best bid/offer from there.
- book    <- ``orderbook.<depth>.<s>``: snapshot and deltas on the stream
  (:attr:`~collector.book.Rule.NEXT_ID`); on a gap the adapter unsubscribes and
  resubscribes the topic, which makes Bybit send a fresh snapshot.
- candles <- ``kline.<interval>.<s>``
- funding <- ``tickers.<s>`` of linear/inverse contracts: mark, index, funding rate, next
  funding time and open interest merged into a derivative ticker (:mod:`.tickers`)
- liquidations <- ``allLiquidation.<s>``

The category is part of the websocket URL (``…/v5/public/<category>``), one category per
connection, and native ids repeat across categories (``BTCUSDT`` is both spot and linear),
so native ids are always looked up together with the connection's category.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

import msgspec
import orjson

from ... import fastpath
from ...actions import RestRequest, SendFrame
from ...book import MONOTONIC, NEXT_ID, BookSync
from ...errors import UsageError
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, emit, millis
from ...models import Candle, Side, Trade
from ...symbols import Instrument
from ...validate import invalid
from ..base import Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .instruments import CATEGORIES, INFO_PATH, decode_instruments
from .schemas import Envelope, Kline, OrderbookData, PublicTrade, Push
from .tickers import DELTA_FIELDS, Bbo, TickerParsers, Values, ticker_deltas

__all__ = ["BOOK_DEPTHS", "CATEGORIES", "KLINE_INTERVALS", "BybitAdapter"]

_envelope = msgspec.json.Decoder(Envelope)
_trades = msgspec.json.Decoder(Push[list[PublicTrade]], strict=False)
_orderbook = msgspec.json.Decoder(Push[OrderbookData], strict=False)
_klines = msgspec.json.Decoder(Push[list[Kline]], strict=False)
_PREFIX = '{"topic":"'

BOOK_DEPTHS = (1, 50, 200, 1000)
"""``orderbook.<depth>`` levels Bybit offers for spot, linear and inverse (500 was retired in 2025)."""

KLINE_INTERVALS = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "4h": "240",
    "6h": "360",
    "12h": "720",
    "1d": "D",
    "1w": "W",
    "1M": "M",
}
"""Unified candle interval -> Bybit kline interval."""

_SIDES: dict[str, Side] = {"Buy": "buy", "Sell": "sell"}
# Public channels a recording may hold that this adapter does not turn into events.
_UNUSED = frozenset({"liquidation", "orderbook.rpi", "lt", "insurance", "adlAlert"})
# Topics routed through the fast path at most (beyond it, frames keep the Python path).
_MAX_ROUTES = 65_536
_TESTNET_HOSTS = frozenset({"stream-testnet.bybit.com"})

# (conn, category, unified symbol, topic parameter, envelope, received, out)
_Handler = Callable[[str, str, str, str, str | bytes, float, Output], None]


class BybitAdapter(TickerParsers):
    """Bybit v5 spot, linear and inverse; the category follows from each instrument.

    Subscribe with unified symbols: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (linear
    perpetual), ``BTC/USD:BTC`` (inverse perpetual), ``BTC/USDT:USDT-260814`` (dated).
    :meth:`plan` opens one connection per category (more if the args would exceed
    Bybit's per-connection budget).
    """

    id: ClassVar[str] = "bybit"
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    simulator: ClassVar[str | None] = "sim:BybitWire"
    # Bybit's public mainnet and testnet stream hosts, any category.
    ws_hosts: ClassVar[frozenset[str]] = _TESTNET_HOSTS
    # The websocket base: plans append "/<category>", e.g. wss://stream.bybit.com/v5/public/spot.
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://stream.bybit.com/v5/public", rest="https://api.bybit.com"
    )
    book_depth: ClassVar[int] = 200
    # "Spot: max 10 args per subscribe request." Derivatives state no per-request cap;
    # keep their frames modest anyway.
    args_per_request: ClassVar[dict[str, int]] = {"spot": 10, "linear": 100, "inverse": 100}
    # "The args array of one public connection may not exceed 21 000 characters."
    max_args_chars: ClassVar[int] = 21_000
    # Bybit documents no control-message rate for public sockets; pace lightly anyway.
    control_interval: ClassVar[float] = 0.05
    # "Send {"op":"ping"} ... recommended every 20 s."
    app_ping: ClassVar[str] = '{"op":"ping"}'
    app_ping_interval: ClassVar[float] = 20.0
    # Every ping is answered by a pong frame, so 60 s without any frame means a dead socket.
    idle_timeout: ClassVar[float] = 60.0
    # The docs call u "generally continuous" and the fact sheet's safe practice is to
    # resubscribe when a delta skips an id; set False to accept any increasing u.
    require_consecutive_u: ClassVar[bool] = True
    # "HTTP IP limit: 600 requests / 5 s per IP (403 "access too frequent")"; no weight header.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=6000)
    match_scope: ClassVar[tuple[str, ...]] = ("category",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "BTC/USDT:USDT")
    # "<=500 new connections per 5 min" per websocket domain.
    connect_limit: ClassVar[tuple[int, float] | None] = (500, 300.0)
    # orderbook.<depth> pushes every 20-200 ms while the book changes and nothing while it
    # does not; a minute of silence on a live book means its feed has stopped.
    book_stale_after: ClassVar[float] = 60.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._by_native: dict[tuple[str, str], str] = {}  # (category, native) -> unified symbol
        self._by_symbol: dict[str, tuple[str, str]] = {}  # unified symbol -> (category, native)
        self._categories: dict[str, str] = {}  # connection id -> category
        self._book_topics: dict[str, tuple[str, str]] = {}  # unified symbol -> (conn, orderbook topic)
        self._tickers: dict[str, Values] = {}  # merged ticker per unified symbol (TickerData fields as floats)
        self._bbo: dict[str, Bbo] = {}  # spot best bid/offer per unified symbol
        self._conn_tickers: dict[str, set[str]] = {}  # conn -> symbols with ticker state on it
        self._derivatives = DerivativeTickers(self.id)
        self._wants: dict[str, set[str]] = {}  # unified symbol -> channels planned (empty: all)
        self._routes: dict[str, tuple[_Handler, str]] = {
            "publicTrade": (self._on_trades, ""),
            "tickers": (self._on_ticker, ""),
            "allLiquidation": (self._on_liquidation, ""),
        }
        for depth in BOOK_DEPTHS:
            self._routes[f"orderbook.{depth}"] = (self._on_orderbook, str(depth))
        for unified, native in KLINE_INTERVALS.items():
            self._routes[f"kline.{native}"] = (self._on_kline, unified)
        # Frames start with their topic, and a topic means the same on every connection of
        # a category only: the fast path (collector.fastpath) routes per connection.
        self._router = self.use_router("topic", per_conn=True)
        self._routed: set[tuple[str, str]] = set()
        self._fast_routes = not isinstance(self._router, fastpath.NoRouter)

    def _make_books(self, book_top: int | None) -> BookSync:
        # "Occasionally, you'll receive "u"=1, which is a snapshot data due to the restart of
        # the service. So please overwrite your local orderbook", whatever its type says.
        rule = NEXT_ID if self.require_consecutive_u else MONOTONIC
        return BookSync(self.id, dataclasses.replace(rule, restart_id=1), self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        # Linear lists more than 500 symbols: ask for 1000 per page and follow nextPageCursor.
        return [self._instruments_request({"category": category, "limit": 1000}) for category in CATEGORIES]

    def _instruments_request(self, query: dict[str, str | int]) -> RestRequest:
        return RestRequest(f"{self.endpoints.rest}{INFO_PATH}?{urlencode(query)}", "instruments", 1)

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return decode_instruments(self.id, request, body)[1]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        category, instruments, _ = decode_instruments(self.id, request, body)
        self._add_instruments(category, instruments)

    def _add_instruments(self, category: str, instruments: list[Instrument]) -> None:
        self.instruments.update(instruments)
        for inst in instruments:
            self._by_native[category, inst.native] = inst.symbol
            self._by_symbol[inst.symbol] = (category, inst.native)

    def market_of(self, symbol: str) -> tuple[str, str]:
        """``(category, native id)`` of a unified symbol; raises :class:`~collector.errors.UnknownSymbol`."""
        where = self._by_symbol.get(symbol)
        if where is None:
            self.instruments.by_symbol(symbol)  # raises UnknownSymbol with the usual hint
            raise UsageError(f"{self.id}: {symbol!r} is not a spot, linear or inverse instrument")
        return where

    # -- connections ----------------------------------------------------------------------------

    def topics_for(self, sub: Subscription) -> tuple[str, list[str]]:
        """The category and topics one subscription needs, e.g. ``("spot", ["tickers.BTCUSDT", ...])``."""
        category, native = self.market_of(sub.symbol)
        if sub.channel == "trades":
            return category, [f"publicTrade.{native}"]
        if sub.channel == "ticker":
            # "Spot ticker ... has no bid/ask fields. For spot BBO use orderbook.1.{symbol}."
            extra = [f"orderbook.1.{native}"] if category == "spot" else []
            return category, [f"tickers.{native}", *extra]
        if sub.channel in ("funding", "liquidations"):
            if category == "spot":
                raise UsageError(f"{self.id}: {sub.channel} is for linear and inverse contracts, not {sub.symbol}")
            # Mark, index, funding and open interest come in the contract's tickers.
            return category, [f"tickers.{native}" if sub.channel == "funding" else f"allLiquidation.{native}"]
        if sub.channel == "book":
            if self.book_depth not in BOOK_DEPTHS:
                raise UsageError(f"{self.id}: no orderbook depth {self.book_depth}; use one of {BOOK_DEPTHS}")
            return category, [f"orderbook.{self.book_depth}.{native}"]
        interval = KLINE_INTERVALS.get(sub.interval)
        if interval is None:
            raise UsageError(f"{self.id}: no kline interval {sub.interval!r}; use one of {tuple(KLINE_INTERVALS)}")
        return category, [f"kline.{interval}.{native}"]

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        by_category: dict[str, dict[str, Subscription]] = {}
        for sub in subscriptions:
            self._wants.setdefault(sub.symbol, set()).add(sub.channel)
            category, topics = self.topics_for(sub)
            topic_subs = by_category.setdefault(category, {})
            for topic in topics:
                topic_subs.setdefault(topic, sub)
        plans = []
        for category in CATEGORIES:
            topic_subs = by_category.get(category, {})
            if not topic_subs:
                continue
            for shard, topics in enumerate(_shards(list(topic_subs), self.max_args_chars)):
                per = self.args_per_request[category]
                frames = [_request("subscribe", topics[i : i + per]) for i in range(0, len(topics), per)]
                books = [topic_subs[t].symbol for t in topics if topic_subs[t].channel == "book"]
                plans.append(
                    ConnectionPlan(
                        conn=f"{self.id}.{category}.{shard}",
                        url=f"{self.endpoints.ws}/{category}",
                        subscribe=frames,
                        control_interval=self.control_interval,
                        # The documented keepalive is the JSON ping; no protocol pings needed.
                        ping_interval=None,
                        ping_timeout=None,
                        app_ping=self.app_ping,
                        app_ping_interval=self.app_ping_interval,
                        idle_timeout=self.idle_timeout,
                        symbols=list(dict.fromkeys(books)),
                    )
                )
        return plans

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Remember the connection's category (the last path segment of its URL)."""
        category = urlsplit(plan.url).path.rstrip("/").rpartition("/")[2]
        if category in CATEGORIES:
            self._categories[plan.conn] = category
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Forget the connection's ticker state too: the resubscription starts with fresh snapshots."""
        for symbol in self._conn_tickers.pop(conn, ()):
            self._tickers.pop(symbol, None)
            self._bbo.pop(symbol, None)
        return super().on_disconnect(conn, reason, received, report=report)

    def _category(self, conn: str) -> str | None:
        category = self._categories.get(conn)
        if category is None:
            # Connections this adapter planned are named "<id>.<category>.<shard>".
            prefix, _, rest = conn.partition(".")
            guess = rest.partition(".")[0]
            if prefix == self.id and guess in CATEGORIES:
                category = self._categories[conn] = guess
        return category

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        if type(frame) is not str:
            # Bybit sends text; a binary frame is read as the same text would be (the fast
            # path routes both alike).
            text = self.text_of(conn, frame, received, out)
            if text is None:
                return out
            frame = text
        if frame.startswith(_PREFIX):
            # Pushes start with their topic: route first, then decode the frame once, typed.
            topic = frame[10 : frame.find('"', 10)]
        else:
            try:
                env = _envelope.decode(frame)
            except msgspec.DecodeError as exc:
                out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
                return out
            topic = env.topic
            if not topic:
                self._on_control(conn, env, frame, received, out)
                return out
        key, _, native = topic.rpartition(".")
        route = self._routes.get(key)
        if route is None:
            if key in _UNUSED:
                # Public channels this adapter does not turn into events (a recorder subscribed them).
                self.control(key)
            else:
                out.append(self.error(conn, "unknown_topic", topic[:100], received, frame=frame))
            return out
        category = self._category(conn)
        if category is None:
            out.append(self.error(conn, "unknown_connection", f"no category known for {conn}: {topic[:100]}", received))
            return out
        symbol = self._by_native.get((category, native))
        if symbol is None:
            try:
                _envelope.decode(frame)  # a cut-off frame is malformed before its symbol is unknown
            except msgspec.DecodeError as exc:
                out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            else:
                out.append(self.error(conn, "unknown_symbol", f"{category} {native[:100]}", received))
            return out
        handler, param = route
        try:
            handler(conn, category, symbol, param, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{topic}: {exc}", received, symbol, frame=frame))
            return out
        if self._fast_routes and (conn, topic) not in self._routed:
            self._route_fast(conn, category, topic, symbol, key, param)
        return out

    def _route_fast(self, conn: str, category: str, topic: str, symbol: str, key: str, param: str) -> None:
        """Route the topic through the fast path from now on: the same events, no Python.

        Trades, book deltas, klines and derivative ticker deltas are routed; spot tickers and
        spot ``orderbook.1`` (best bid/offer) keep their Python path. A frame the route is not
        sure of (a side it does not know, a book snapshot) still comes to :meth:`parse`.
        """
        if len(self._routed) >= _MAX_ROUTES:
            return
        self._routed.add((conn, topic))  # decided once per topic, routed or not
        ex = fastpath.const(self.id)
        if key == "publicTrade":
            if category == "inverse":
                return  # sizes are USD contracts: converted per trade in Python
            args: tuple[fastpath.Arg, ...] = (
                ex,
                SYMBOL,
                millis("T"),
                RECEIVED,
                attr("p"),
                attr("v"),
                fastpath.choice("S", _SIDES),
                attr("i"),
            )
            self._router.add(topic, _trades, symbol, emit(Trade, *args, each="data"), conn=conn)
        elif key.startswith("orderbook."):
            # Only the topic that owns the book, and only its deltas: snapshots reset state in parse.
            if self._book_topics.get(symbol) != (conn, topic) or (param == "1" and self.book_depth != 1):
                return
            fields = (attr("data.b"), attr("data.a"), attr("data.u"), attr("data.u"), fastpath.const(None))
            step = call(self.books.delta, OUT, SYMBOL, *fields, millis("ts"), RECEIVED, when=("type", "delta"))
            self._router.add(topic, _orderbook, symbol, step, conn=conn)
        elif key == "tickers":
            if category == "spot":
                return  # whole tickers, their best bid/offer from orderbook.1: Python
            # Deltas only: a snapshot starts the cached ticker (and its connection's state) in parse.
            values = [attr(f"data.{name}") for name in DELTA_FIELDS]
            category_arg = fastpath.const(category)
            step = call(
                self._on_ticker_delta, OUT, category_arg, SYMBOL, attr("ts"), RECEIVED, *values, when=("type", "delta")
            )
            self._router.add(topic, ticker_deltas, symbol, step, conn=conn)
        elif key.startswith("kline."):
            # Inverse volume counts USD contracts; its turnover is the base-coin volume.
            volume = attr("turnover" if category == "inverse" else "volume")
            bar = (fastpath.const(param), millis("start"), millis("end", 1), attr("open"), attr("high"), attr("low"))
            args = (ex, SYMBOL, millis("timestamp"), RECEIVED, *bar, attr("close"), volume, fastpath.const(None))
            self._router.add(
                topic, _klines, symbol, emit(Candle, *args, attr("confirm"), each="data", check=invalid), conn=conn
            )

    def _on_control(self, conn: str, env: Envelope, frame: str | bytes, received: float, out: Output) -> None:
        # Ack and pong shapes differ per category: match on op/success, not on the exact shape.
        if env.success is False:
            self.control()
            out.append(self.error(conn, "rejected", f"{env.op}: {env.ret_msg} (req_id {env.req_id!r})", received))
        elif env.op in ("ping", "pong"):
            self.control("pong")
        elif env.op or env.success:
            self.control("ack")
        else:
            out.append(self.error(conn, "unknown_message", "not a topic push or reply", received, frame=frame))

    def _on_trades(
        self, conn: str, category: str, symbol: str, param: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        inverse = category == "inverse"
        contract = self.instruments.by_symbol(symbol).contract_size if inverse else 1.0
        # "data is an array sorted by match time ascending; up to 1024 trades per message."
        env = _trades.decode(frame)
        for t in env.data:
            side = _SIDES.get(t.S)
            if side is None:
                out.append(self.error(conn, "malformed", f"{env.topic}: side {t.S[:20]!r}", received, symbol))
                continue
            # Inverse sizes are contracts worth `contract` USD each; report base units.
            amount = t.v * contract / t.p if inverse else t.v
            out.append(Trade(self.id, symbol, t.T / 1000.0, received, t.p, amount, side, t.i))

    def _on_orderbook(
        self, conn: str, category: str, symbol: str, depth: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        env = _orderbook.decode(frame)
        d = env.data
        kind = env.type
        if kind != "snapshot" and kind != "delta":
            out.append(self.error(conn, "malformed", f"{env.topic}: type {kind[:20]!r}", received, symbol))
            return
        feeds_book = depth != "1" or self.book_depth == 1
        if depth == "1" and category == "spot":
            self._on_bbo(conn, symbol, d, env.ts, received, out)
        elif not feeds_book:
            self.control("orderbook.1")
        if not feeds_book:
            return
        held = self._book_topics.get(symbol)
        if held is not None and held[1] != env.topic:
            # Two depths of one symbol would fight over one book: the first one keeps it.
            self.control("second_depth")
            return
        self._book_topics[symbol] = (conn, env.topic)
        ts = env.ts / 1000.0 if env.ts is not None else None
        if kind == "snapshot":
            # "If you receive a new snapshot message, you will have to reset your local
            # orderbook"; u == 1 marks a service-restart snapshot, which overwrites likewise.
            self.books.snapshot(out, symbol, d.b, d.a, d.u, ts, received)
            return
        self.books.delta(out, symbol, d.b, d.a, d.u, d.u, None, ts, received)

    def _on_kline(
        self, conn: str, category: str, symbol: str, interval: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        env = _klines.decode(frame)
        for k in env.data:
            # Inverse volume counts USD contracts; its turnover is the base-coin volume.
            volume = k.turnover if category == "inverse" else k.volume
            out.append(
                Candle(
                    self.id,
                    symbol,
                    k.timestamp / 1000.0,
                    received,
                    interval,
                    k.start / 1000.0,
                    (k.end + 1) / 1000.0,  # end is the bar's last millisecond
                    k.open,
                    k.high,
                    k.low,
                    k.close,
                    volume,
                    None,
                    k.confirm,
                )
            )

    # -- resubscription and REST ----------------------------------------------------------------

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe its topic again.

        "Once you have subscribed successfully, you will receive a snapshot": a fresh
        subscription is how a Bybit book is rebuilt. Subscribing a topic that is still
        subscribed is refused, hence the unsubscribe first.
        """
        where = self._book_topics.get(symbol)
        if where is None:
            return []
        conn, topic = where
        return [SendFrame(conn, _request("unsubscribe", [topic])), SendFrame(conn, _request("subscribe", [topic]))]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        out: Output = []
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return out
        if status != 200:
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, frame=body))
            return out
        try:
            category, instruments, cursor = decode_instruments(self.id, request, body)
        except (msgspec.DecodeError, ValueError) as exc:
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received))
            return out
        self._add_instruments(category, instruments)
        if cursor:
            # "Linear has >500 symbols -> must paginate with nextPageCursor." The cursor
            # comes URL-encoded already ("first%3D...%26last%3D..."): pass it on as is.
            page = self._instruments_request({"category": category, "limit": 1000})
            out.append(RestRequest(f"{page.url}&cursor={cursor}", "instruments", 1))
        return out


def _request(op: str, args: list[str]) -> str:
    return orjson.dumps({"op": op, "args": args}).decode()


def _shards(topics: list[str], max_chars: int) -> list[list[str]]:
    """Split topics so each connection's args stay within ``max_chars`` characters."""
    shards: list[list[str]] = [[]]
    used = 0
    for topic in topics:
        if shards[-1] and used + len(topic) > max_chars:
            shards.append([])
            used = 0
        shards[-1].append(topic)
        used += len(topic)
    return shards
