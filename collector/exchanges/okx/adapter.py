"""OKX API v5 public market data: spot, perpetual swaps (linear and inverse) and expiry futures, id ``okx``.

Channels (``../shared/exchanges/okx.md``; URLs ``wss://ws.okx.com:8443/ws/v5/{public,business}``):

- trades  <- ``trades`` (/public: one push per taker order and price, ``side`` is the taker's,
  ``tradeId`` the last of the aggregated fills); ``trade_channel = "trades-all"`` takes
  every fill from /business instead.
- ticker  <- ``tickers`` (best bid/offer and 24 h statistics); ``bbo-tbt`` pushes become
  best bid/offer tickers too (``ticker_channel = "bbo-tbt"`` subscribes it instead).
- book    <- ``books`` (400 levels, snapshot then updates chained by ``seqId``/``prevSeqId``;
  without a stream snapshot the REST book with its ``seqId`` is joined, rule
  :data:`.books.BOOKS`; see :mod:`.books`). ``books5``/``bbo-tbt`` (whole books) and the
  login-gated ``books-l2-tbt``/``books50-l2-tbt`` are read from recordings.
- candles <- ``candle<bar>`` on /business (``1Dutc`` for ``1d``: OKX's ``1D`` is UTC+8).
- funding <- ``mark-price``, ``index-tickers`` (the contract's index, its ``uly``),
  ``funding-rate`` (swaps) and ``open-interest``, merged into one derivative ticker.
- liquidations <- ``liquidation-orders`` (one subscription per instrument type).

**Units.** Book and ticker sizes are base units on spot and **contracts** on SWAP/FUTURES
(as OKX sends them); trade and liquidation amounts are base units; open interest is base
units (``oiCcy``), its value quote units (linear ``oiCcy * mark``, inverse ``oi * ctVal``).

**Replay** of captures by other recorders: cryptofeed's OKX feed connects to
``wss://ws.okx.com:8443/ws/v5/public`` for everything, subscribes ``books`` (``books-l2-tbt``
before 2022-05), ``trades``, ``tickers``, ``funding-rate``, ``open-interest`` and
``candle<bar>``, and lists instruments with ``/api/v5/public/instruments?instType=...``;
its repeated subscribe acknowledgements and the errors of a refused channel are replies,
not data. Every OKX websocket host (production, AWS, demo, regional, the old okex.com)
is recognised.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlencode

import msgspec
import orjson

from ...actions import Action, Reconnect, RestRequest, SendFrame
from ...book import BookSync
from ...errors import UsageError
from ...symbols import Instrument
from ..base import Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .books import BOOKS, BookParsers
from .checksum import BookTexts
from .fast import FastRoutes
from .instruments import (
    BOOK_RANK,
    BUSINESS_CHANNELS,
    CANDLE_BARS,
    INSTRUMENT_TYPES,
    KLINE_BARS,
    SNAPSHOT_BOOKS,
    UNUSED_CHANNELS,
    UNUSED_PREFIXES,
    Market,
    listing,
)
from .parse import Handler, StreamParsers
from .schemas import Envelope, RestBooks

if TYPE_CHECKING:
    pass

__all__ = ["HOSTS", "OkxAdapter", "SubArg"]

HOSTS = frozenset(
    {
        "ws.okx.com",
        "wsaws.okx.com",
        "wspap.okx.com",  # demo trading
        "wseea.okx.com",  # EEA site
        "wsus.okx.com",  # US site
        "ws.okex.com",  # before the 2022 rename
        "wsaws.okex.com",
        "wspap.okex.com",
    }
)
"""OKX's public websocket hosts."""

_PREFIX = '{"arg":{"channel":"'
_envelope = msgspec.json.Decoder(Envelope)
_INSTRUMENTS_PATH = "/api/v5/public/instruments"
_BOOKS_PATH = "/api/v5/market/books"
# The REST book's depth per channel ("sz: Order book depth per side. Maximum 400").
_REST_DEPTH = {"books": 400, "books-l2-tbt": 400, "books50-l2-tbt": 50}
_rest_books = msgspec.json.Decoder(RestBooks, strict=False)
_MAX_REQUEST = 60_000  # "the total length of multiple channels cannot exceed 64 KB"
_HOUR = 3600.0
_REPLIES = frozenset({"subscribe", "unsubscribe", "login", "channel-conn-count"})

SubArg = dict[str, str]
"""One subscription arg: ``{"channel": "books", "instId": "BTC-USDT"}``."""


class OkxAdapter(BookParsers, StreamParsers):
    """OKX spot, SWAP (linear and inverse) and FUTURES under one adapter id, ``okx``.

    Subscribe with unified symbols: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (linear swap),
    ``BTC/USD:BTC`` (inverse swap), ``BTC/USDT:USDT-250926`` (expiry future). :meth:`plan`
    opens /public connections of at most :attr:`books_per_connection` book channels and a
    /business connection when candles (or ``trades-all``) are asked for.
    """

    id: ClassVar[str] = "okx"
    simulator: ClassVar[str | None] = "sim:OkxWire"
    # Every OKX websocket host: production, AWS, demo, regional sites and the old okex.com.
    ws_hosts: ClassVar[frozenset[str]] = HOSTS
    # Plans append "/public" or "/business".
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://ws.okx.com:8443/ws/v5", rest="https://www.okx.com")
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    book_channel: ClassVar[str] = "books"
    """``books`` (400 levels), ``books5`` or ``bbo-tbt``; the tick-by-tick ones need a login."""
    ticker_channel: ClassVar[str] = "tickers"
    trade_channel: ClassVar[str] = "trades"
    # "If you need to subscribe to many 50 or 400 depth level channels, it is recommended to
    # subscribe through multiple websocket connections, with each of less than 30 channels."
    books_per_connection: ClassVar[int] = 29
    # No per-connection count is documented for public channels (close codes 4008/4009 mean
    # "too many"); this keeps a connection's subscribe requests and its traffic modest.
    args_per_connection: ClassVar[int] = 200
    # "Connection limit: 3 requests per second (based on IP)"; older versions of the page applied
    # it to subscribe requests too. Pacing every request like that costs little (few are sent).
    control_interval: ClassVar[float] = 0.34
    # "Set a timer of N seconds whenever a response message is received, where N is less than
    # 30 ... send the String 'ping'. Expect a 'pong' as a response."
    app_ping: ClassVar[str] = "ping"
    app_ping_interval: ClassVar[float] = 20.0
    # Quiet instruments push nothing for long stretches (funding every 30-90 s, a book
    # heartbeat after ~60 s without change, which is not data); two minutes of silence on
    # every channel of a connection means its feed has stopped.
    idle_timeout: ClassVar[float] = 120.0
    # "The total number of 'subscribe'/'unsubscribe'/'login' requests per connection is limited
    # to 480 times per hour": past this many a book is rebuilt by reconnecting instead.
    subscribe_budget: ClassVar[int] = 440
    # Instruments: "20 requests per 2 seconds" per IP and instType; 429 when exceeded.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600)
    match_params: ClassVar[tuple[str, ...]] = ("instId", "instFamily", "uly")
    match_scope: ClassVar[tuple[str, ...]] = ("instType",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "BTC/USDT:USDT")
    # "New connections: 3 per second per IP."
    connect_limit: ClassVar[tuple[int, float] | None] = (3, 1.0)
    # books pushes every 100 ms while the book changes and a heartbeat after ~60 s without a
    # change (books5/bbo-tbt re-send their snapshot): 90 s without either is a dead book.
    book_stale_after: ClassVar[float] = 90.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        self._texts = BookTexts()  # the book checksum's strings; BookSync is built by super()
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._markets: dict[str, Market] = {}
        self._indexes: set[str] = set()
        self._book_owner: dict[str, tuple[str, str]] = {}
        self._planned_books: dict[str, tuple[str, str]] = {}
        self._derivatives = DerivativeTickers(self.id)
        self._index_members: dict[str, set[str]] = {}
        self._index_prices: dict[str, float] = {}
        self._interest_base: dict[str, float] = {}
        self._liquidation_symbols: set[str] | None = None  # None: every contract (replay)
        self._requests: dict[str, deque[float]] = {}  # connection -> times of its (un)subscribe requests
        self._now = 0.0
        self._stream_snapshots = False
        self._fast = FastRoutes(self)
        self._routes: dict[str, Handler] = {
            "trades": self._on_trades,
            "trades-all": self._on_trades,
            "tickers": self._on_ticker,
            "mark-price": self._on_mark_price,
            "index-tickers": self._on_index,
            "funding-rate": self._on_funding_rate,
            "open-interest": self._on_open_interest,
            "liquidation-orders": self._on_liquidations,
            **dict.fromkeys(BOOK_RANK, self._on_book),
            **{f"candle{bar}": self._on_candles for bar in CANDLE_BARS},
        }

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, BOOKS, self._snapshot_request, top_n=book_top, checksum=self._texts.checksum)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        rest = self.endpoints.rest
        return [RestRequest(f"{rest}{_INSTRUMENTS_PATH}?instType={t}", "instruments", 1) for t in INSTRUMENT_TYPES]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return [inst for inst, _ in listing(self.id, body)]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        found = listing(self.id, body)
        self.instruments.update(inst for inst, _ in found)
        for _, market in found:
            self._markets[market.native] = market
            self._fast.listed(market)
            if market.underlying:
                self._indexes.add(market.underlying)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "snapshot" and request.symbol is not None:
            return self._on_rest_book(request, request.symbol, status, body, received)
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)

    def market_of(self, symbol: str) -> Market:
        """What the adapter knows of a unified symbol; raises :class:`~collector.errors.UnknownSymbol`."""
        return self._markets[self.instruments.by_symbol(symbol).native]

    # -- connections ----------------------------------------------------------------------------

    def args_for(self, sub: Subscription) -> list[SubArg]:
        """The subscription args one subscription needs, e.g. ``[{"channel": "books", "instId": "BTC-USDT"}]``."""
        market = self.market_of(sub.symbol)
        native = market.native
        channel = sub.channel
        if channel == "trades":
            return [{"channel": self.trade_channel, "instId": native}]
        if channel == "ticker":
            return [{"channel": self.ticker_channel, "instId": native}]
        if channel == "book":
            if self.book_channel not in ("books", "books5", "bbo-tbt"):
                raise UsageError(f"{self.id}: book_channel is books, books5 or bbo-tbt (tbt books need a login)")
            return [{"channel": self.book_channel, "instId": native}]
        if channel == "candles":
            bar = KLINE_BARS.get(sub.interval)
            if bar is None:
                raise UsageError(f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(KLINE_BARS)}")
            return [{"channel": f"candle{bar}", "instId": native}]
        if market.kind == "spot":
            raise UsageError(f"{self.id}: {channel} is for swaps and futures, not the spot {sub.symbol!r}")
        if channel == "liquidations":
            return [{"channel": "liquidation-orders", "instType": "SWAP" if market.kind == "swap" else "FUTURES"}]
        args = [{"channel": "mark-price", "instId": native}, {"channel": "index-tickers", "instId": market.underlying}]
        if market.kind == "swap":
            args.append({"channel": "funding-rate", "instId": native})  # dated futures have no funding
        args.append({"channel": "open-interest", "instId": native})
        return args

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        public: dict[str, list[SubArg]] = {}  # by symbol: a symbol's channels share a connection
        business: list[SubArg] = []
        books: set[str] = set()
        liquidations: set[str] = set()
        for sub in subscriptions:
            for arg in self.args_for(sub):
                if arg["channel"] in BUSINESS_CHANNELS:
                    business.append(arg)
                else:
                    public.setdefault(sub.symbol, []).append(arg)
            if sub.channel == "book":
                books.add(sub.symbol)
            elif sub.channel == "liquidations":
                liquidations.add(sub.symbol)
            elif sub.channel == "funding":
                market = self.market_of(sub.symbol)
                self._index_members.setdefault(market.underlying, set()).add(sub.symbol)
        self._liquidation_symbols = liquidations
        plans: list[ConnectionPlan] = []
        for n, (args, symbols) in enumerate(self._public_shards(public, books)):
            plans.append(self._plan(f"{self.id}.public.{n}", "public", args, symbols))
            for symbol in symbols:
                self._planned_books[symbol] = (plans[-1].conn, self.book_channel)
        unique = list({_key(arg): arg for arg in business}.values())
        for n, start in enumerate(range(0, len(unique), self.args_per_connection)):
            args = unique[start : start + self.args_per_connection]
            plans.append(self._plan(f"{self.id}.business.{n}", "business", args, []))
        return plans

    def _public_shards(self, public: dict[str, list[SubArg]], books: set[str]) -> list[tuple[list[SubArg], list[str]]]:
        """Symbols' args grouped into connections of at most ``books_per_connection`` books."""
        shards: list[tuple[dict[tuple[str, str], SubArg], list[str]]] = []
        for symbol, args in public.items():
            if (
                not shards
                or (symbol in books and len(shards[-1][1]) >= self.books_per_connection)
                or len(shards[-1][0]) + len(args) > self.args_per_connection
            ):
                shards.append(({}, []))
            keyed, symbols = shards[-1]
            for arg in args:
                keyed.setdefault(_key(arg), arg)
            if symbol in books:
                symbols.append(symbol)
        return [(list(keyed.values()), symbols) for keyed, symbols in shards]

    def _plan(self, conn: str, route: str, args: list[SubArg], symbols: list[str]) -> ConnectionPlan:
        return ConnectionPlan(
            conn=conn,
            url=f"{self.endpoints.ws}/{route}",
            subscribe=_requests("subscribe", args),
            control_interval=self.control_interval,
            # OKX keeps connections alive with its text ping, not protocol pings.
            ping_interval=None,
            ping_timeout=None,
            app_ping=self.app_ping,
            app_ping_interval=self.app_ping_interval,
            idle_timeout=self.idle_timeout,
            symbols=symbols,
        )

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Start the connection's subscribe-request count with the plan's own requests."""
        self._requests[plan.conn] = deque([received] * len(plan.subscribe))
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Books fed by the connection lose their feed: the reconnect's snapshots start them again."""
        gone = [symbol for symbol, (owner, _) in self._book_owner.items() if owner == conn]
        for symbol in gone:
            del self._book_owner[symbol]
        self._texts.forget_all(gone)
        self._requests.pop(conn, None)
        return super().on_disconnect(conn, reason, received, report=report)

    def check(self, now: float) -> Output:
        """Stale books resync (see :meth:`Adapter.check`); ``now`` also dates their resubscriptions."""
        self._now = now
        return super().check(now)

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        self._now = received
        if type(frame) is str:
            if frame.startswith(_PREFIX):
                # Pushes start with their channel: route first, then decode the frame once, typed.
                channel = frame[19 : frame.find('"', 19)]
                handler = self._routes.get(channel)
                if handler is not None:
                    self._handle(handler, conn, channel, frame, received, out)
                    return out
            elif frame == "pong":
                self.control("pong")
                return out
        elif frame == b"pong":  # a recorder that kept the text frame as bytes
            self.control("pong")
            return out
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        if env.event:
            self._on_reply(conn, env, frame, received, out)
        elif env.arg is not None:
            self._on_push(conn, env.arg.channel, frame, received, out)
        else:
            out.append(self.error(conn, "unknown_message", "not a push or a reply", received, frame=frame))
        return out

    def _handle(
        self, handler: Handler, conn: str, channel: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        try:
            handler(conn, channel, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{channel}: {exc}", received, frame=frame))

    def _on_push(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        handler = self._routes.get(channel)
        if handler is not None:
            self._handle(handler, conn, channel, frame, received, out)
        elif channel in UNUSED_CHANNELS or channel.startswith(UNUSED_PREFIXES):
            # A public OKX channel a recorder subscribed that this adapter turns into no events.
            self.control(next((p for p in UNUSED_PREFIXES if channel.startswith(p)), channel))
        else:
            out.append(self.error(conn, "unknown_channel", channel[:100], received, frame=frame))

    def _on_reply(self, conn: str, env: Envelope, frame: str | bytes, received: float, out: Output) -> None:
        event = env.event
        if event in _REPLIES:
            self.control("ack" if event in ("subscribe", "unsubscribe") else event)
        elif event == "error":
            # 60012 invalid request, 60018 wrong URL or channel, 64003 fee tier too low, ...
            self.control()
            arg = f" ({env.arg.channel} {env.arg.instId or env.arg.instType})" if env.arg is not None else ""
            out.append(self.error(conn, "rejected", f"{env.code}: {env.msg[:300]}{arg}", received))
        elif event == "notice":
            self.control("notice")
            if str(env.code) == "64008":
                # "The connection will soon be closed for a service upgrade. Please reconnect."
                out.append(Reconnect(conn, f"OKX notice {env.code}: service upgrade"))
        else:
            out.append(self.error(conn, "unknown_message", f"event {event[:50]!r}", received, frame=frame))

    # -- book snapshots -------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[Action]:
        """A book's snapshot request: the REST book ("GET / Order book"), and the channel subscribed
        again while the stream still pushes snapshots (whichever comes first starts the book)."""
        where = self._book_owner.get(symbol) or self._planned_books.get(symbol)
        if where is None or where[1] in SNAPSHOT_BOOKS:
            return []
        conn, channel = where
        native = self.instruments.by_symbol(symbol).native
        query = urlencode({"instId": native, "sz": _REST_DEPTH.get(channel, 400)})
        # "GET / Order book: 40 requests per 2 seconds" against the 600-a-minute budget: weight 1.
        actions: list[Action] = [
            RestRequest(f"{self.endpoints.rest}{_BOOKS_PATH}?{query}", "snapshot", 1, symbol, conn)
        ]
        if self._stream_snapshots:
            actions += self._resubscribe(symbol)
        return actions

    def _on_rest_book(self, request: RestRequest, symbol: str, status: int, body: bytes, received: float) -> Output:
        """The REST book: joined to the buffered updates when it carries a ``seqId``."""
        out: Output = []
        try:
            answer = _rest_books.decode(body) if status == 200 else None
        except msgspec.DecodeError as exc:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, symbol, frame=body))
            return out
        if answer is None or answer.code != "0" or len(answer.data) != 1:
            self.books.snapshot_failed(symbol)
            detail = f"{request.url}: HTTP {status}" + (f", code {answer.code} {answer.msg[:100]}" if answer else "")
            out.append(self.error("rest", "http_status", detail, received, symbol))
            return out
        d = answer.data[0]
        if d.seqId is None:
            # Before OKX's change the REST book had no seqId: it cannot be joined to the stream,
            # whose own snapshot (after the resubscription) starts the book.
            self.stats["rest_book_without_seq"] += 1
            if not self._stream_snapshots:
                return list(self._resubscribe(symbol))
            return out
        self._texts.forget(symbol)  # no checksum comes with a REST book
        bids = [(level.px, level.sz) for level in d.bids]
        asks = [(level.px, level.sz) for level in d.asks]
        self.books.snapshot(out, symbol, bids, asks, d.seqId, d.ts / 1000.0, received)
        return out

    # -- book resubscription --------------------------------------------------------------------

    def _resubscribe(self, symbol: str) -> list[Action]:
        """A book's "snapshot request": unsubscribe and subscribe its channel again.

        "Gap (prevSeqId != last) or any doubt -> unsubscribe + resubscribe the channel to
        get a fresh snapshot"; a whole-book channel needs nothing (its next push is a book).
        Past the connection's hourly request budget the connection is renewed instead.
        """
        where = self._book_owner.get(symbol) or self._planned_books.get(symbol)
        if where is None:
            return []
        conn, channel = where
        if channel in SNAPSHOT_BOOKS:
            return []
        sent = self._requests.setdefault(conn, deque())
        now = self._now
        while sent and now - sent[0] > _HOUR:
            sent.popleft()
        if len(sent) + 2 > self.subscribe_budget:
            self.stats["subscribe_budget_reconnect"] += 1
            return [Reconnect(conn, "OKX subscribe requests per hour used up")]
        sent.extend((now, now))
        arg = [{"channel": channel, "instId": self.instruments.by_symbol(symbol).native}]
        return [SendFrame(conn, _request("unsubscribe", arg)), SendFrame(conn, _request("subscribe", arg))]


def _key(arg: SubArg) -> tuple[str, str]:
    return arg["channel"], arg.get("instId") or arg.get("instType", "")


def _request(op: str, args: list[SubArg]) -> str:
    return orjson.dumps({"op": op, "args": args}).decode()


def _requests(op: str, args: list[SubArg]) -> list[str]:
    """Requests carrying ``args``, each within OKX's 64 KB limit."""
    frames: list[str] = []
    start = 0
    while start < len(args):
        end = len(args)
        while end - start > 1 and len(_request(op, args[start:end])) > _MAX_REQUEST:
            end = start + (end - start) // 2
        frames.append(_request(op, args[start:end]))
        start = end
    return frames
