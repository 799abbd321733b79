"""Binance adapters: spot (``binance``), USDⓈ-M (``binance_usdm``), COIN-M (``binance_coinm``).

Channels (``../shared/exchanges/binance.md``):

- trades  <- ``<s>@aggTrade`` (id = aggregate trade id; ``m`` true means the taker sold)
- ticker  <- ``<s>@bookTicker`` (real-time best bid/offer)
- book    <- ``<s>@depth@100ms`` joined to ``GET depth`` snapshots (spot: range rule on
  ``U``/``u``; futures: ``pu`` must equal the previous ``u``)
- candles <- ``<s>@kline_<interval>``

All three speak the same combined-stream format; they differ in endpoints, limits,
the book rule and, on USDⓈ-M since 2026, routed paths: book streams on ``/public``,
everything else on ``/market`` (a stream on the wrong path is accepted and never delivers).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import urlencode

import msgspec
import orjson

from ... import fastpath
from ...actions import Reconnect, RestRequest
from ...book import RANGE, BookSync, Rule
from ...errors import UsageError
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, emit, millis
from ...models import Candle, Side, Ticker, Trade
from ...symbols import Instrument, unified_symbol
from ...validate import invalid
from ..base import Adapter, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription

if TYPE_CHECKING:
    pass
from .schemas import (
    AggTrade,
    BookTicker,
    CoinKlineEvent,
    Combined,
    DepthSnapshot,
    DepthUpdate,
    Envelope,
    ExchangeInfo,
    KlineEvent,
    RawTrade,
    SymbolInfo,
)

__all__ = ["KLINE_INTERVALS", "BinanceAdapter", "tick_and_step"]

_envelope = msgspec.json.Decoder(Envelope)
_depth = msgspec.json.Decoder(Combined[DepthUpdate], strict=False)
_agg_trade = msgspec.json.Decoder(Combined[AggTrade], strict=False)
_book_ticker = msgspec.json.Decoder(Combined[BookTicker], strict=False)
_raw_trade = msgspec.json.Decoder(Combined[RawTrade], strict=False)
_kline = msgspec.json.Decoder(Combined[KlineEvent], strict=False)
_coin_kline = msgspec.json.Decoder(Combined[CoinKlineEvent], strict=False)  # the COIN-M route's
_snapshot = msgspec.json.Decoder(DepthSnapshot, strict=False)
_exchange_info = msgspec.json.Decoder(ExchangeInfo, strict=False)

KLINE_INTERVALS = (
    "1s",
    "1m",
    "3m",
    "5m",
    "15m",
    "30m",
    "1h",
    "2h",
    "4h",
    "6h",
    "8h",
    "12h",
    "1d",
    "3d",
    "1w",
    "1M",
)

_CHANNEL_STREAM = {"trades": "aggTrade", "ticker": "bookTicker", "book": "depth@100ms"}

_Handler = Callable[[str, str | bytes, float, Output], None]
_TAKER_SIDE: dict[bool, Side] = {True: "sell", False: "buy"}  # m: "is the buyer the market maker?"
# Public Binance streams this adapter does not turn into events.
_UNUSED_STREAMS = frozenset(
    {"ticker", "miniTicker", "avgPrice", "depth5", "depth10", "depth20", "compositeIndex", "contractInfo"}
    | {
        f"{kind}@{speed}"
        for kind in ("depth5", "depth10", "depth20", "ticker")
        for speed in ("100ms", "500ms", "1000ms")
    }
    | {"ticker_1h", "ticker_4h", "ticker_1d", "assetIndex", "indexPrice", "indexPrice@1s"}
)
# All-market streams ("!name@arr"): those whose messages are one object of the symbol
# stream's shape are routed as that stream; the others (arrays of every symbol) are counted.
_MARKET_STREAMS = {"!forceOrder@arr": "forceOrder", "!bookTicker": "bookTicker"}
_UNUSED_MARKET_STREAMS = frozenset(
    {"!ticker@arr", "!miniTicker@arr", "!markPrice@arr", "!markPrice@arr@1s", "!contractInfo", "!assetIndex@arr"}
    | {f"!ticker_{window}@arr" for window in ("1h", "4h", "1d")}
)
_PREFIX = '{"stream":"'
# Subscribed streams per adapter stay far below this; the cap keeps hostile input from growing it.
_MAX_CACHED_STREAMS = 65_536


class BinanceAdapter(Adapter):
    """Binance spot. Subclasses change only the class attributes below."""

    id: ClassVar[str] = "binance"
    simulator: ClassVar[str | None] = "sim:BinanceWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://stream.binance.com:9443", rest="https://api.binance.com"
    )
    rule: ClassVar[Rule] = RANGE
    depth_path: ClassVar[str] = "/api/v3/depth"
    info_path: ClassVar[str] = "/api/v3/exchangeInfo"
    info_weight: ClassVar[int] = 20
    depth_limit: ClassVar[int] = 1000
    depth_weight: ClassVar[int] = 50  # spot: weight 50 for limit 501-1000
    # Spot allows 5 incoming messages/s per connection, pings and pongs included: stay at 4.
    control_interval: ClassVar[float] = 0.25
    max_streams: ClassVar[int] = 1024
    params_per_subscribe: ClassVar[int] = 100
    ping_interval: ClassVar[float] = 30.0
    # Binance disconnects every connection after 24 h; reconnect on our own terms before that.
    max_lifetime: ClassVar[float] = 23.5 * 3600
    size_in_contracts: ClassVar[bool] = False
    # "6,000 request weight per minute per IP" (spot); every answer reports the used weight.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=6000, weight_header="x-mbx-used-weight-1m")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "ETH/USDT")
    # "300 connections per attempt every 5 minutes" per IP.
    connect_limit: ClassVar[tuple[int, float] | None] = (300, 300.0)
    # Depth diffs come only when the book changes, but active books change many times a
    # second and even quiet listed symbols' books are requoted within a minute: two
    # minutes without a diff on a live socket means the stream is stuck.
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._symbols = self.instruments.symbols_by_native
        self._request_id = 0
        self._stream_routes: dict[str, _Handler] = {}
        self._routes: dict[str, _Handler] = {
            "aggTrade": self._on_agg_trade,
            "trade": self._on_raw_trade,
            "bookTicker": self._on_book_ticker,
            "depth": self._on_depth,
            "depth@100ms": self._on_depth,
            "depth@250ms": self._on_depth,
            "depth@500ms": self._on_depth,
        }
        for interval in KLINE_INTERVALS:
            self._routes["kline_" + interval] = self._on_kline
        # The fast path: once a stream's frames have been parsed here and found good, the
        # router turns the next ones into events with no Python in between (collector.fastpath).
        self._router = self.use_router("stream")
        self._routed: set[str] = set()
        if not isinstance(self._router, fastpath.NoRouter):
            self._fast = self._route_fast  # type: ignore[method-assign]

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, self.rule, self._snapshot_request, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(self.endpoints.rest + self.info_path, "instruments", self.info_weight)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        info = _exchange_info.decode(body)
        for limit in info.rateLimits:
            if limit.get("rateLimitType") == "REQUEST_WEIGHT" and limit.get("interval") == "MINUTE":
                self.rest_weight_limit = int(limit.get("limit", 0)) // int(limit.get("intervalNum", 1) or 1) or None
        result = []
        for s in info.symbols:
            inst = self._instrument(s)
            if inst is not None:
                result.append(inst)
        return result

    def _instrument(self, s: SymbolInfo) -> Instrument | None:
        tick, step = tick_and_step(s)
        return Instrument(
            exchange=self.id,
            native=s.symbol,
            symbol=unified_symbol(s.baseAsset, s.quoteAsset),
            base=s.baseAsset,
            quote=s.quoteAsset,
            kind="spot",
            tick_size=tick,
            step_size=step,
            active=s.status == "TRADING",
        )

    # -- connections ----------------------------------------------------------------------------

    def _route_of(self, channel: str) -> str:
        """The URL path prefix a channel's streams must use (only USDⓈ-M routes)."""
        return ""

    def streams_for(self, sub: Subscription) -> str:
        """The stream name for one subscription, e.g. ``btcusdt@depth@100ms``."""
        native = self.instruments.by_symbol(sub.symbol).native.lower()
        if sub.channel == "candles":
            if sub.interval not in KLINE_INTERVALS:
                raise UsageError(f"{self.id}: no kline interval {sub.interval!r}; use one of {KLINE_INTERVALS}")
            return f"{native}@kline_{sub.interval}"
        stream = _CHANNEL_STREAM.get(sub.channel)
        if stream is None:
            raise UsageError(f"{self.id} offers no {sub.channel} channel; use one of {', '.join(self.channels)}")
        return f"{native}@{stream}"

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        by_route: dict[str, list[tuple[str, Subscription]]] = {}
        for sub in subscriptions:
            by_route.setdefault(self._route_of(sub.channel), []).append((self.streams_for(sub), sub))
        plans = []
        for route, items in sorted(by_route.items()):
            unique = list(dict.fromkeys(items))
            for shard in range(0, len(unique), self.max_streams):
                chunk = unique[shard : shard + self.max_streams]
                streams = [stream for stream, _ in chunk]
                frames = []
                for i in range(0, len(streams), self.params_per_subscribe):
                    self._request_id += 1
                    params = streams[i : i + self.params_per_subscribe]
                    frames.append(
                        orjson.dumps({"method": "SUBSCRIBE", "params": params, "id": self._request_id}).decode()
                    )
                carries_book_data = any(sub.channel in ("book", "ticker") for _, sub in chunk)
                plans.append(
                    ConnectionPlan(
                        conn=f"{self.id}{route.replace('/', '.')}.{shard // self.max_streams}",
                        url=f"{self.endpoints.ws}{route}/stream",
                        subscribe=frames,
                        control_interval=self.control_interval,
                        ping_interval=self.ping_interval,
                        ping_timeout=20.0,
                        # Book and BBO streams tick many times a minute; trades of a quiet market may
                        # be silent for minutes, so those connections get a longer idle limit.
                        idle_timeout=60.0 if carries_book_data else 300.0,
                        max_lifetime=self.max_lifetime,
                        symbols=list(dict.fromkeys(sub.symbol for _, sub in chunk if sub.channel == "book")),
                    )
                )
        return plans

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        if type(frame) is str and frame.startswith(_PREFIX):
            # Fast path: Binance writes the stream name first, so the route is known before
            # any JSON parsing and the frame is decoded once, straight into its payload type.
            stream = frame[11 : frame.find('"', 11)]
        else:
            # Control responses, binary frames, other key orders: read the envelope first.
            found = self._stream_of(conn, frame, received, out)
            if found is None:
                return out
            stream = found
        handler = self._stream_routes.get(stream) or self._route(stream)
        if handler is None:
            self._unrouted(conn, stream, frame, received, out)
            return out
        try:
            handler(conn, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{stream}: {exc}", received, frame=frame))
        return out

    def _route(self, stream: str) -> _Handler | None:
        """The handler of a stream name (``btcusdt@depth@100ms``), remembered once found."""
        handler = self._routes.get(_kind(stream))
        if handler is not None and len(self._stream_routes) < _MAX_CACHED_STREAMS:
            self._stream_routes[stream] = handler
        return handler

    def _stream_of(self, conn: str, frame: str | bytes, received: float, out: Output) -> str | None:
        """The stream of a combined message, or ``None`` when the frame was something else (handled here)."""
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return None
        if not env.data:
            self._on_control(conn, env, frame, received, out)
            return None
        return env.stream

    def _unrouted(self, conn: str, stream: str, frame: str | bytes, received: float, out: Output) -> None:
        if frame[:11] == _PREFIX and self._stream_of(conn, frame, received, out) is None:
            return  # the fast path saw a stream name, but the frame itself is not valid JSON
        if stream == "!serverShutdown":
            # Spot announces planned maintenance: reconnect now rather than be cut off.
            self.control("server_shutdown")
            out.append(Reconnect(conn, "serverShutdown"))
        else:
            kind = _kind(stream)
            if kind in _UNUSED_STREAMS or stream in _UNUSED_MARKET_STREAMS:
                # A Binance stream this adapter does not turn into events (someone else subscribed it).
                self.control(kind)
            else:
                # Not a Binance stream at all: whatever sent it is not the exchange we asked.
                out.append(self.error(conn, "unknown_stream", stream[:100], received, frame=frame))

    def _on_control(self, conn: str, env: Envelope, frame: str | bytes, received: float, out: Output) -> None:
        if env.code is not None:
            self.control()
            out.append(self.error(conn, "rejected", f"code {env.code}: {env.msg} (id {env.id})", received))
        elif env.id is not None:
            self.control("ack")
        else:
            out.append(self.error(conn, "unknown_message", "not a stream message", received, frame=frame))

    def _unknown(self, conn: str, native: str, received: float, out: Output) -> None:
        out.append(self.error(conn, "unknown_symbol", native[:100], received))

    def _fast(self, frame: str | bytes, native: str, symbol: str, kind: str) -> None:
        """Without a fast path (no C module) there is nothing to route."""

    def _route_fast(self, frame: str | bytes, native: str, symbol: str, kind: str) -> None:
        """Route the frame's stream through the fast path from now on (the same events, no Python)."""
        if type(frame) is not str or not frame.startswith(_PREFIX):
            return
        stream = frame[11 : frame.find('"', 11)]
        if stream in self._routed or len(self._routed) >= _MAX_CACHED_STREAMS:
            return
        self._routed.add(stream)
        # The stream name fixes the symbol; the payload must agree, or the frame takes the slow path.
        same = ("data.s", native)
        ex = fastpath.const(self.id)
        args: tuple[fastpath.Arg, ...]
        if kind == "trade":
            side = fastpath.choice("m", _TAKER_SIDE)
            args = (ex, SYMBOL, millis("T"), RECEIVED, attr("p"), attr("q"), side, fastpath.text("a"))
            self._router.add(stream, _agg_trade, symbol, emit(Trade, *args, at="data", when=same))
        elif kind == "ticker":
            args = (ex, SYMBOL, millis("E"), RECEIVED, attr("b"), attr("B"), attr("a"), attr("A"))
            self._router.add(stream, _book_ticker, symbol, emit(Ticker, *args, at="data", when=same))
        elif kind == "kline":
            bar = (attr("k.i"), millis("k.t"), millis("k.T", 1), attr("k.o"), attr("k.h"), attr("k.l"), attr("k.c"))
            # As _on_kline reads it; on COIN-M a kline without its base volume does not decode.
            volume, decoder = (attr("k.q"), _coin_kline) if self.size_in_contracts else (attr("k.v"), _kline)
            args = (ex, SYMBOL, millis("E"), RECEIVED, *bar, volume, attr("k.n"), attr("k.x"))
            self._router.add(stream, decoder, symbol, emit(Candle, *args, at="data", when=same, check=invalid))
        else:
            fields = (attr("b"), attr("a"), attr("U"), attr("u"), attr("pu"), millis("E"), RECEIVED)
            self._router.add(stream, _depth, symbol, call(self.books.delta, OUT, SYMBOL, *fields, at="data", when=same))

    def _on_depth(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        d = _depth.decode(frame).data
        symbol = self._symbols.get(d.s)
        if symbol is None:
            self._unknown(conn, d.s, received, out)
        else:
            self.books.delta(out, symbol, d.b, d.a, d.U, d.u, d.pu, d.E / 1000.0, received)
            self._fast(frame, d.s, symbol, "depth")

    def _on_agg_trade(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        t = _agg_trade.decode(frame).data
        symbol = self._trade(conn, t, t.a, received, out)
        if symbol is not None and not self.size_in_contracts:
            self._fast(frame, t.s, symbol, "trade")

    def _on_raw_trade(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        # Not subscribed here (aggTrade is: one event per taker order and price), but a capture
        # of the raw stream holds trades all the same, each with its own id.
        t = _raw_trade.decode(frame).data
        self._trade(conn, t, t.t, received, out)

    def _trade(self, conn: str, t: AggTrade | RawTrade, trade_id: int, received: float, out: Output) -> str | None:
        """Append ``t`` as a trade; its unified symbol, ``None`` (and an error) when unknown."""
        symbol = self._symbols.get(t.s)
        if symbol is None:
            self._unknown(conn, t.s, received, out)
            return None
        amount = t.q
        if self.size_in_contracts:
            # COIN-M quantities are contracts worth contractSize quote units each.
            amount = t.q * self.instruments.by_native(t.s).contract_size / t.p
        out.append(Trade(self.id, symbol, t.T / 1000.0, received, t.p, amount, _TAKER_SIDE[t.m], str(trade_id)))
        return symbol

    def _on_book_ticker(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        t = _book_ticker.decode(frame).data
        symbol = self._symbols.get(t.s)
        if symbol is None:
            self._unknown(conn, t.s, received, out)
        else:
            ts = t.E / 1000.0 if t.E is not None else None
            out.append(Ticker(self.id, symbol, ts, received, t.b, t.B, t.a, t.A))
            self._fast(frame, t.s, symbol, "ticker")

    def _on_kline(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        e = _kline.decode(frame).data
        symbol = self._symbols.get(e.s)
        if symbol is None:
            self._unknown(conn, e.s, received, out)
            return
        k = e.k
        volume = k.v
        if self.size_in_contracts:
            # COIN-M: v counts contracts, q is "Base asset volume".
            if k.q is None:
                out.append(self.error(conn, "malformed", f"{e.s[:30]} kline: no base volume q", received, symbol))
                return
            volume = k.q
        self._fast(frame, e.s, symbol, "kline")
        out.append(
            Candle(
                self.id,
                symbol,
                e.E / 1000.0,
                received,
                k.i,
                k.t / 1000.0,
                (k.T + 1) / 1000.0,
                k.o,
                k.h,
                k.l,
                k.c,
                volume,
                k.n,
                k.x,
            )
        )

    # -- REST -----------------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[RestRequest]:
        native = self.instruments.by_symbol(symbol).native
        query = urlencode({"symbol": native, "limit": self.depth_limit})
        url = f"{self.endpoints.rest}{self.depth_path}?{query}"
        return [RestRequest(url, "snapshot", self.depth_weight, symbol)]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        out: Output = []
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        symbol = request.symbol or ""
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
        ts = snap.E / 1000.0 if snap.E is not None else None
        self.books.snapshot(out, symbol, snap.bids, snap.asks, snap.lastUpdateId, ts, received)
        return out


def tick_and_step(s: SymbolInfo) -> tuple[float | None, float | None]:
    """Price tick and quantity step from the PRICE_FILTER and LOT_SIZE filters."""
    tick = step = None
    found = 0
    for f in s.filters:  # Binance lists these two first; stop once both are seen
        kind = f.filterType
        if kind == "PRICE_FILTER":
            tick = f.tickSize or None
            found += 1
        elif kind == "LOT_SIZE":
            step = f.stepSize or None
            found += 1
        if found == 2:
            break
    return tick, step


def _kind(stream: str) -> str:
    """What a stream carries: ``btcusdt@depth@100ms`` -> ``depth@100ms``; an all-market stream
    of single messages names its symbol stream (``!forceOrder@arr`` -> ``forceOrder``)."""
    if stream[:1] == "!":
        return _MARKET_STREAMS.get(stream, stream)
    return stream[stream.find("@") + 1 :]
