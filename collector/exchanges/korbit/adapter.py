"""Korbit adapter (``korbit``): KRW spot markets over the API v2 public websocket.

Channels (``../shared/exchanges/korbit.md``; docs.korbit.co.kr, WebSocket v2):

- trades <- ``trade``: ``data`` is an array of trades; ``isBuyerTaker`` true means the trade
  "was caused by a buy order" (``buy``). Trade ids rise per symbol but are not contiguous;
  the snapshot sent on every subscribe repeats recent trades, so trades at or below the
  highest id already emitted are dropped.
- ticker <- ``ticker``: rolling 24 h statistics, the last price (``close``) and the best bid
  and ask prices (no sizes; ``"0"`` on a stopped pair means none).
- book   <- ``orderbook``: "every orderbook frame is a complete top-30 replacement", so the
  book follows :attr:`~collector.book.Rule.SNAPSHOT`; frames carry no sequence, and one
  whose book time is older than the book held is skipped (the public stream is lossy, and
  the next frame repairs any loss).

Book sizes and trade amounts are base units (spot); there is no open interest. Korbit has
no candle stream: candles are built from trades.

Symbols are lower case ``btc_krw`` on the wire (``BTC/KRW`` unified). A subscribe frame is
a JSON array of requests; ``requestId`` makes the server acknowledge each one. The old
websocket API (``wss://ws.korbit.co.kr/v1/user/push``) was retired in 2025: a capture of
it is reported once per connection, clearly, and its frames are otherwise ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar
from urllib.parse import urlsplit

import msgspec
import orjson

from ... import fastpath
from ...actions import Action, RestRequest, SendFrame
from ...book import SNAPSHOT, BookSync
from ...errors import UnknownChannel
from ...fastpath import OUT, RECEIVED, attr, call, emit, millis, symbol_from
from ...models import Connected, Side, Ticker, Trade
from ...symbols import Instrument, unified_symbol
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .schemas import CurrencyPairs, Envelope, OrderbookPush, PricedTickerPush, TickerPush, TradesPush

__all__ = ["RETIRED_HOSTS", "KorbitAdapter"]

RETIRED_HOSTS = frozenset({"ws.korbit.co.kr", "ws2.korbit.co.kr"})
"""Hosts of the retired v1 websocket API (``/v1/user/push``)."""

_RETIRED = (
    "Korbit's v1 websocket API (wss://ws.korbit.co.kr/v1/user/push) was retired in 2025 and its messages "
    "cannot be read; record API v2 (wss://ws-api.korbit.co.kr/v2/public) instead"
)

_envelope = msgspec.json.Decoder(Envelope)
_orderbook = msgspec.json.Decoder(OrderbookPush, strict=False)
_trades = msgspec.json.Decoder(TradesPush, strict=False)
_ticker = msgspec.json.Decoder(TickerPush, strict=False)
_priced_ticker = msgspec.json.Decoder(PricedTickerPush, strict=False)  # the fast path's: no zero prices
_pairs = msgspec.json.Decoder(CurrencyPairs, strict=False)

_TYPE = {"trades": "trade", "ticker": "ticker", "book": "orderbook"}
_SIDES: dict[bool, Side] = {True: "buy", False: "sell"}  # isBuyerTaker -> taker side
# Private channels (on /v2/private, keyed by channelType): a shared recording may hold them.
_PRIVATE = frozenset({"myOrder", "myTrade", "myAsset"})
_DIGITAL_X = "ws-api.digitalx.miraeasset.com"  # Korbit's new name, the same API on the same paths

# (conn, frame, received, out)
_Handler = Callable[[str, "str | bytes", float, Output], None]


def _none_if_zero(value: float | None) -> float | None:
    # "Stopped pairs show bestBidPrice and bestAskPrice of "0"": zero is no price.
    return value or None


class KorbitAdapter(Adapter):
    """Korbit KRW spot. Subscribe with unified symbols (``BTC/KRW``, ``USDT/KRW``)."""

    id: ClassVar[str] = "korbit"
    simulator: ClassVar[str | None] = "sim:KorbitWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://ws-api.korbit.co.kr/v2/public", rest="https://api.korbit.co.kr"
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book")  # no candle stream
    # The Digital X name of the same API, and the retired v1 hosts (recognised to say so).
    ws_hosts: ClassVar[frozenset[str]] = frozenset({_DIGITAL_X}) | RETIRED_HOSTS
    # No per-request cap is published; one request with all 193 launched pairs was accepted.
    symbols_per_request: ClassVar[int] = 100
    # No control-message rate is published; pace the requests lightly.
    control_interval: ClassVar[float] = 0.1
    # Protocol pings: the server pings every 30 s; Korbit's own client pings every 15 s and
    # gives the pong 5 s.
    ping_interval: ClassVar[float] = 15.0
    ping_timeout: ClassVar[float] = 10.0
    # Pongs do not count as data, and a quiet pair went 120 s without a book frame. Longer
    # than book_stale_after: a quiet book is first refreshed by its resubscription (whose
    # snapshot is data); a socket silent for three minutes even so is stuck.
    idle_timeout: ClassVar[float] = 180.0
    # "Public REST: 50 requests per second per IP" (Ratelimit: limit=50, remaining=.., reset=1).
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=3000)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/KRW", "ETH/KRW")
    # No websocket connection limit is published (connect_limit stays None); plans use one socket.
    # Books push on change at most every ~100 ms and not at all while unchanged (a quiet pair
    # was silent for 40 s). Two minutes of silence resyncs the book, and the resubscription
    # brings its current state back at once ("every subscribe is answered with a snapshot").
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._marks: dict[str, int] = {}  # unified symbol -> highest trade id emitted
        self._retired: set[str] = set()  # connections of the retired v1 API
        self._request_id = 0
        self._routes: dict[str, _Handler] = {
            "orderbook": self._on_orderbook,
            "trade": self._on_trade,
            "ticker": self._on_ticker,
        }
        # Frames read {"symbol":...,"timestamp":...,"type":"orderbook",...}: the fast path
        # (collector.fastpath) finds the type among the first bytes; books are the bulk.
        self._router = self.use_router("type", within=128)
        self._fast = not isinstance(self._router, fastpath.NoRouter)
        self._routed: set[str] = set()

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, SNAPSHOT, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}/v2/currencyPairs", "instruments")]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        reply = _pairs.decode(body)
        if not reply.success:
            raise ValueError("success is false")
        instruments = []
        for pair in reply.data:
            base, quote = pair.baseCurrency, pair.quoteCurrency
            if not (base and quote):
                # Listings that name no currencies: the documented symbol is "{base}_{quote}".
                base, _, quote = pair.symbol.partition("_")
            if not (base and quote):
                continue
            instruments.append(
                Instrument(
                    exchange=self.id,
                    native=pair.symbol,
                    symbol=unified_symbol(base.upper(), quote.upper()),
                    base=base.upper(),
                    quote=quote.upper(),
                    kind="spot",
                    active=pair.status == "launched",
                )
            )
        return instruments

    # -- connections ----------------------------------------------------------------------------

    def _request(self, method: str, kind: str, natives: list[str]) -> str:
        """One request array: "it must be enclosed in square brackets"; ``requestId`` gets it acknowledged."""
        self._request_id += 1
        item = {"requestId": self._request_id, "method": method, "type": kind, "symbols": natives}
        return orjson.dumps([item]).decode()

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        natives: dict[str, list[str]] = {}  # type -> native symbols, in subscription order
        books: list[str] = []
        for sub in subscriptions:
            kind = _TYPE.get(sub.channel)
            if kind is None:
                raise UnknownChannel(f"{self.id}: no {sub.channel} channel; build candles from trades instead")
            native = self.instruments.by_symbol(sub.symbol).native
            natives.setdefault(kind, [])
            if native not in natives[kind]:
                natives[kind].append(native)
            if kind == "orderbook":
                books.append(sub.symbol)
        if not natives:
            return []
        per = self.symbols_per_request
        frames = [
            self._request("subscribe", kind, names[i : i + per])
            for kind, names in natives.items()
            for i in range(0, len(names), per)
        ]
        # One public socket carries every pair (all 193 launched pairs ran on one).
        return [
            ConnectionPlan(
                conn=f"{self.id}.0",
                url=self.endpoints.ws,
                subscribe=frames,
                control_interval=self.control_interval,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_timeout,
                idle_timeout=self.idle_timeout,
                symbols=list(dict.fromkeys(books)),
            )
        ]

    def _resubscribe(self, symbol: str) -> list[Action]:
        """The book's "snapshot request": unsubscribe and subscribe its ``orderbook`` again.

        "Every public subscribe is answered with a snapshot frame": a fresh subscription is
        how a Korbit book is rebuilt at once, even on a quiet pair.
        """
        conn = self.book_conn(symbol)
        if conn is None or symbol not in self.instruments:
            return []
        native = [self.instruments.by_symbol(symbol).native]
        return [
            SendFrame(conn, self._request("unsubscribe", "orderbook", native)),
            SendFrame(conn, self._request("subscribe", "orderbook", native)),
        ]

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Remember the books a connection carries; a connection to the retired v1 API is reported once."""
        parts = urlsplit(plan.url)
        if parts.hostname in RETIRED_HOSTS or parts.path.startswith("/v1/"):
            self._retired.add(plan.conn)
            self._conn_symbols[plan.conn] = []
            connected = Connected(self.id, None, None, received, plan.conn, plan.url)
            return [connected, self.error(plan.conn, "retired_api", _RETIRED, received)]
        self._retired.discard(plan.conn)
        return super().on_connect(plan, received)

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        kind = env.type
        if kind is None:
            self._on_control(conn, env, frame, received, out)
            return out
        # "Frames with a status field are control messages; data frames have none": data
        # frames are told by their type.
        handler = self._routes.get(kind)
        if handler is None:
            out.append(self.error(conn, "unknown_channel", kind[:50], received, frame=frame))
            return out
        try:
            handler(conn, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{kind}: {exc}", received, frame=frame))
            return out
        if self._fast and kind not in self._routed:
            self._route_fast(kind)
        return out

    def _on_control(self, conn: str, env: Envelope, frame: str | bytes, received: float, out: Output) -> None:
        status = env.status
        if status == "success":
            self.control("ack")  # {"status":"success","requestId":1}
        elif status in ("fail", "error"):
            # {"status":"fail","code":"INVALID_SYMBOL","message":"...","requestId":2}; "error":
            # a server error not tied to a request.
            self.control()
            detail = f"{env.code}: {env.message} (requestId {env.requestId})"[:200]
            out.append(self.error(conn, "rejected" if status == "fail" else "server_error", detail, received))
        elif status is not None:
            out.append(self.error(conn, "unknown_message", f"status {status[:50]}", received, frame=frame))
        elif env.channelType in _PRIVATE:
            self.control(env.channelType)  # a private channel on a shared recording
        elif env.event is not None and env.event.startswith("korbit:"):
            self._on_retired(conn, received, out)
        else:
            out.append(self.error(conn, "unknown_message", "no type or status", received, frame=frame))

    def _on_retired(self, conn: str, received: float, out: Output) -> None:
        """A v1 API message ({"event":"korbit:push-orderbook",...}): one error per connection, then silence."""
        if conn in self._retired:
            self.control("v1_api")
            return
        self._retired.add(conn)
        self.control()
        out.append(self.error(conn, "retired_api", _RETIRED, received))

    def _symbol(self, conn: str, native: str, received: float, out: Output) -> str | None:
        symbol = self.instruments.symbol_of(native)
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", native[:100], received))
        return symbol

    def _on_orderbook(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _orderbook.decode(frame)
        symbol = self._symbol(conn, push.symbol, received, out)
        if symbol is None:
            return
        d = push.data
        bids = [(lv.price, lv.qty) for lv in d.bids if lv.qty]
        asks = [(lv.price, lv.qty) for lv in d.asks if lv.qty]
        ts = d.timestamp / 1000.0 if d.timestamp is not None else None
        # A whole book: replace it ("drop frames whose data.timestamp is older than the last
        # applied one" is the book's own rule for whole-book messages).
        self.books.snapshot(out, symbol, bids, asks, None, ts, received)

    def _on_trade(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _trades.decode(frame)
        symbol = self._symbol(conn, push.symbol, received, out)
        if symbol is None:
            return
        mark = self._marks.get(symbol, -1)
        highest = mark
        for t in push.data:
            if t.tradeId <= mark:
                # "Drop trades at or below the delivered high-water mark (resubscribe
                # snapshots repeat trades)."
                self.stats["ignored.duplicate_trade"] += 1
                continue
            trade = Trade(
                self.id, symbol, t.timestamp / 1000.0, received, t.price, t.qty, _SIDES[t.isBuyerTaker], str(t.tradeId)
            )
            out.append(trade)
            highest = max(highest, t.tradeId)
        self._marks[symbol] = highest
        if not out:
            self.control()  # nothing new: a repeat is no sign of a live feed

    def _on_ticker(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _ticker.decode(frame)
        symbol = self._symbol(conn, push.symbol, received, out)
        if symbol is None:
            return
        t = push.data
        out.append(
            Ticker(
                self.id,
                symbol,
                push.timestamp / 1000.0 if push.timestamp is not None else None,
                received,
                _none_if_zero(t.bestBidPrice),
                None,
                _none_if_zero(t.bestAskPrice),
                None,
                _none_if_zero(t.close),
                _none_if_zero(t.open),
                _none_if_zero(t.high),
                _none_if_zero(t.low),
                t.volume,
                t.quoteVolume,
            )
        )

    def _route_fast(self, kind: str) -> None:
        """From now on, ``orderbook`` and ``ticker`` frames of known pairs become events without Python.

        Both are a pure function of the frame (a ticker only while its prices are positive:
        one with a zero price does not decode for the route and takes the adapter's path).
        Trades keep the Python path (the high-water mark that drops repeats is state), and so
        does any frame a route is not sure of.
        """
        self._routed.add(kind)
        symbol = symbol_from("symbol", self.instruments.symbols_by_native)
        if kind == "orderbook":
            bids = fastpath.levels("data.bids", "price", "qty")
            asks = fastpath.levels("data.asks", "price", "qty")
            fields = (bids, asks, fastpath.const(None), millis("data.timestamp"), RECEIVED)
            self._router.add(kind, _orderbook, None, call(self.books.snapshot, OUT, symbol, *fields))
        elif kind == "ticker":
            none = fastpath.const(None)
            book = (attr("data.bestBidPrice"), none, attr("data.bestAskPrice"), none)
            stats = map(attr, ("data.close", "data.open", "data.high", "data.low", "data.volume", "data.quoteVolume"))
            args = (fastpath.const(self.id), symbol, millis("timestamp"), RECEIVED, *book, *stats)
            self._router.add(kind, _priced_ticker, None, emit(Ticker, *args))

    # -- REST -----------------------------------------------------------------------------------

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)
