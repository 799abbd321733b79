"""KuCoin spot (``kucoin``): public market data over the Classic websocket API.

Channels (``../shared/exchanges/kucoin.md``; KuCoin's "Public Channels" docs):

- trades  <- ``/market/match:{symbol}`` (``side`` is the taker's, ``time`` in ns)
- ticker  <- ``/market/ticker:{symbol}`` (best bid/offer and the last fill, every 100 ms); replays
  also read ``/market/ticker:all``, ``/spotMarket/level1`` and ``/market/snapshot:{symbol}``
  (24 h statistics)
- book    <- ``/market/level2:{symbol}`` joined to ``GET /api/v1/market/orderbook/level2_100``
- candles <- ``/market/candles:{symbol}_{type}``

Several symbols share one topic (``/market/level2:BTC-USDT,ETH-USDT``, up to 100). Sizes are
base units everywhere. Books follow :data:`~collector.book.RANGE`, KuCoin's "calibration
procedure": cache the level2 messages, fetch a snapshot (``sequence``), drop messages
whose ``sequenceEnd`` is not past it, then each message must satisfy
``sequenceStart(new) <= sequenceEnd(old) + 1`` and ``sequenceEnd(new) > sequenceEnd(old)``.
The full snapshot (``/api/v3/market/orderbook/level2``) needs an API key; the public one
has the best 100 levels a side, so levels further out appear only once they change. KuCoin
books carry no checksum.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode

import msgspec

from ...actions import RestRequest
from ...book import RANGE, BookSync
from ...errors import UsageError
from ...fastpath import OUT, RECEIVED, SYMBOL, attr, call, choice, const, emit, millis, nanos
from ...models import Candle, Side, Ticker, Trade
from ...symbols import Instrument
from ..base import Channel, Endpoints, Output, Subscription
from .instruments import OK, spot_instruments
from .schemas import (
    Bar,
    Change,
    KlineData,
    Level1,
    Level2Update,
    Match,
    Push,
    SpotSnapshotResponse,
    SpotTicker,
    SymbolSnapshot,
    SymbolSnapshotData,
)
from .session import KucoinSession, Route

__all__ = ["CANDLE_TYPES", "KucoinAdapter"]

CANDLE_TYPES: dict[str, str] = {
    "1m": "1min",
    "3m": "3min",
    "15m": "15min",
    "30m": "30min",
    "1h": "1hour",
    "2h": "2hour",
    "4h": "4hour",
    "6h": "6hour",
    "8h": "8hour",
    "12h": "12hour",
    "1d": "1day",
    "1w": "1week",
}
"""Unified candle interval -> KuCoin kline ``type`` ("1min, 3min, 15min, 30min, 1hour, 2hour, 4hour,
6hour, 8hour, 12hour, 1day, 1week")."""
_INTERVALS = {
    kind: (unified, seconds)
    for unified, kind, seconds in (
        ("1m", "1min", 60),
        ("3m", "3min", 180),
        ("15m", "15min", 900),
        ("30m", "30min", 1800),
        ("1h", "1hour", 3600),
        ("2h", "2hour", 7200),
        ("4h", "4hour", 14_400),
        ("6h", "6hour", 21_600),
        ("8h", "8hour", 28_800),
        ("12h", "12hour", 43_200),
        ("1d", "1day", 86_400),
        ("1w", "1week", 604_800),
    )
}
_SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
_NS = 1_000_000_000.0
SNAPSHOT_PATH = "/api/v1/market/orderbook/level2_100"
SYMBOLS_PATH = "/api/v2/symbols"

_match = msgspec.json.Decoder(Push[Match], strict=False)
_ticker = msgspec.json.Decoder(Push[SpotTicker], strict=False)
_level2 = msgspec.json.Decoder(Push[Level2Update], strict=False)
_kline = msgspec.json.Decoder(Push[KlineData], strict=False)
_level1 = msgspec.json.Decoder(Push[Level1], strict=False)
_snapshot_push = msgspec.json.Decoder(Push[SymbolSnapshot], strict=False)
_snapshot_data = msgspec.json.Decoder(SymbolSnapshotData, strict=False)
_rest_snapshot = msgspec.json.Decoder(SpotSnapshotResponse, strict=False)

# Public spot and margin topics this adapter does not turn into events, and private ones a
# recording of an authenticated session may hold.
_UNUSED = frozenset(
    {"/spotMarket/level2Depth5", "/spotMarket/level2Depth50", "/market/level3", "/spotMarket/level3"}
    | {"/indicator/index", "/indicator/markPrice", "/margin/fundingBook", "/callauction/level2Depth50"}
    | {"/callauction/callauctionData"}
    | {"/spotMarket/tradeOrders", "/spotMarket/tradeOrdersV2", "/account/balance", "/spotMarket/advancedOrders"}
    | {"/margin/position", "/margin/isolatedPosition", "/margin/loan"}
)


class Bars:
    """The bar still forming per symbol and interval: KuCoin never marks a candle closed.

    Updates come "real-time" with every fill, so a bar's last update holds its final
    values: when a later bar starts, the previous one is emitted again as ``closed``.
    """

    __slots__ = ("_forming",)

    def __init__(self) -> None:
        self._forming: dict[tuple[str, str], Candle] = {}

    def take(self, out: Output, candle: Candle) -> None:
        """Append ``candle`` to ``out`` (after the bar it closes); an update older than the forming bar is dropped."""
        key = (candle.symbol, candle.interval)
        forming = self._forming.get(key)
        if forming is not None:
            if candle.start < forming.start:
                return
            if candle.start > forming.start:
                out.append(msgspec.structs.replace(forming, received=candle.received, closed=True))
        self._forming[key] = candle
        out.append(candle)


class KucoinAdapter(KucoinSession):
    """KuCoin spot: ``BTC/USDT`` is ``BTC-USDT`` (see the module docstring for channels and the book rule).

    Book sizes and trade amounts are base units. :meth:`plan` puts up to 300 topics
    (symbol-channel pairs) on one connection and up to 100 symbols in one subscription.
    """

    id: ClassVar[str] = "kucoin"
    simulator: ClassVar[str | None] = "sim:KucoinWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://ws-api-spot.kucoin.com/", rest="https://api.kucoin.com"
    )
    # Hosts the token answer named before ws-api-spot (2019-2023).
    ws_hosts: ClassVar[frozenset[str]] = frozenset({"ws-api.kucoin.com", "push1-v2.kucoin.com", "push1-v2.kucoin.net"})
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles")
    topics: ClassVar[dict[str, str]] = {
        "trades": "/market/match",
        "ticker": "/market/ticker",
        "book": "/market/level2",
        "candles": "/market/candles",
    }
    batched: ClassVar[frozenset[str]] = frozenset({"/market/match", "/market/ticker", "/market/level2"})
    # "Subscription limit for each connection: 300 topics"; "subscribing one symbol means subscribing a topic".
    topics_per_connection: ClassVar[int] = 300
    same_answer: ClassVar[dict[str, str]] = {
        "/api/v1/symbols": SYMBOLS_PATH,
        "/api/v1/market/orderbook/level2_20": SNAPSHOT_PATH,
        "/api/v3/market/orderbook/level2": SNAPSHOT_PATH,  # full depth, keyed (what cryptofeed fetches)
        "/api/v2/market/orderbook/level2": SNAPSHOT_PATH,  # its deprecated predecessors
        "/api/v1/market/orderbook/level2": SNAPSHOT_PATH,
    }
    unused: ClassVar[frozenset[str]] = _UNUSED
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "ETH/USDT")
    # level2 pushes "real-time" whenever the book changes, and even quiet pairs are requoted
    # within a minute; KuCoin sends no book heartbeat, so two silent minutes mean a stuck feed.
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._bars = Bars()
        self._delta = self.books.delta

    def _make_routes(self) -> dict[str, Route]:
        return {
            "/market/match": (_match, self._on_match),
            "/market/ticker": (_ticker, self._on_ticker),
            "/market/level2": (_level2, self._on_level2),
            "/market/candles": (_kline, self._on_kline),
            "/spotMarket/level1": (_level1, self._on_level1),
            "/market/snapshot": (_snapshot_push, self._on_snapshot),
        }

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, RANGE, self._snapshot_request, top_n=book_top)

    # -- instruments and connections ------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(self.endpoints.rest + SYMBOLS_PATH, "instruments", 4)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return spot_instruments(self.id, body)

    def topics_for(self, sub: Subscription) -> list[tuple[str, str]]:
        if sub.channel != "candles":
            return super().topics_for(sub)
        kind = CANDLE_TYPES.get(sub.interval)
        if kind is None:
            raise UsageError(f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(CANDLE_TYPES)}")
        return [("/market/candles", f"{self.instruments.by_symbol(sub.symbol).native}_{kind}")]

    # -- frames ---------------------------------------------------------------------------------

    def _on_match(self, conn: str, msg: Push[Match], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        t = msg.data
        side = _SIDES.get(t.side)
        if side is None:
            raise ValueError(f"taker side {t.side[:20]!r}")
        out.append(Trade(self.id, symbol, t.time / _NS, received, t.price, t.size, side, t.tradeId))
        if self.routable(conn, msg.topic):
            args = (const(self.id), SYMBOL, nanos("time"), RECEIVED, attr("price"), attr("size"))
            step = emit(Trade, *args, choice("side", _SIDES), attr("tradeId"), at="data")
            self.route_fast(conn, msg.topic, _match, symbol, step)

    def _on_ticker(self, conn: str, msg: Push[SpotTicker], native: str, received: float, out: Output) -> None:
        # "/market/ticker:all" names each message's symbol in its subject.
        every = native == "all"
        symbol = self.symbol_of(msg.subject if every else native)
        d = msg.data
        ts = d.time / 1000.0 if d.time is not None else None
        out.append(Ticker(self.id, symbol, ts, received, d.bestBid, d.bestBidSize, d.bestAsk, d.bestAskSize, d.price))
        if not every and self.routable(conn, msg.topic):
            bbo = (attr("bestBid"), attr("bestBidSize"), attr("bestAsk"), attr("bestAskSize"), attr("price"))
            step = emit(Ticker, const(self.id), SYMBOL, millis("time"), RECEIVED, *bbo, at="data")
            self.route_fast(conn, msg.topic, _ticker, symbol, step)

    def _on_level1(self, conn: str, msg: Push[Level1], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        d = msg.data
        bid, bid_size = d.bids if d.bids is not None else (None, None)
        ask, ask_size = d.asks if d.asks is not None else (None, None)
        ts = d.timestamp / 1000.0 if d.timestamp is not None else None
        out.append(Ticker(self.id, symbol, ts, received, bid, bid_size, ask, ask_size))

    def _on_level2(self, conn: str, msg: Push[Level2Update], native: str, received: float, out: Output) -> None:
        symbol = self.symbol_of(native)
        d = msg.data
        ts = d.time / 1000.0 if d.time is not None else None
        self._level2(out, conn, symbol, d.changes.bids, d.changes.asks, d.sequenceStart, d.sequenceEnd, ts, received)
        if self.routable(conn, msg.topic):
            changes = (attr("changes.bids"), attr("changes.asks"), attr("sequenceStart"), attr("sequenceEnd"))
            step = call(self._level2, OUT, const(conn), SYMBOL, *changes, millis("time"), RECEIVED, at="data")
            self.route_fast(conn, msg.topic, _level2, symbol, step)

    def _level2(
        self,
        out: Output,
        conn: str,
        symbol: str,
        bids: list[Change],
        asks: list[Change],
        start: int,
        end: int,
        ts: float | None,
        received: float,
    ) -> None:
        """One level2 update into the book (the parsed path and the fast path both come here)."""
        if start > end:
            detail = f"/market/level2 {symbol}: sequenceStart {start} after sequenceEnd {end}"
            out.append(self.error(conn, "malformed", detail, received, symbol))
            return
        # "If the price is 0, ignore the messages and update the sequence." The rule "apply a
        # change only if its own sequence is past the book's" needs no code: "only the latest
        # [update of a price] will be pushed", so a change a snapshot already holds sets the
        # size that snapshot has.
        self._delta(
            out,
            symbol,
            [(price, size) for price, size, _ in bids if price],
            [(price, size) for price, size, _ in asks if price],
            start,
            end,
            None,
            ts,
            received,
        )

    def _on_kline(self, conn: str, msg: Push[KlineData], arg: str, received: float, out: Output) -> None:
        native, _, kind = arg.rpartition("_")
        symbol = self.symbol_of(native)
        interval = _INTERVALS.get(kind)
        if interval is None:
            raise ValueError(f"candle type {kind[:20]!r}")
        unified, seconds = interval
        self._candle(out, symbol, unified, seconds, msg.data.candles, msg.data.time / _NS, received)
        if self.routable(conn, msg.topic):
            bar = (const(unified), const(seconds), attr("candles"), nanos("time"))
            step = call(self._candle, OUT, SYMBOL, *bar, RECEIVED, at="data")
            self.route_fast(conn, msg.topic, _kline, symbol, step)

    def _candle(
        self, out: Output, symbol: str, interval: str, seconds: int, bar: Bar, ts: float, received: float
    ) -> None:
        """One kline update (the parsed path and the fast path both come here)."""
        start, open_, close, high, low, volume, _ = bar
        candle = Candle(
            self.id,
            symbol,
            ts,
            received,
            interval,
            float(start),
            float(start + seconds),
            open_,
            high,
            low,
            close,
            volume,
            None,
            False,
        )
        self._bars.take(out, candle)

    def _on_snapshot(self, conn: str, msg: Push[SymbolSnapshot], arg: str, received: float, out: Output) -> None:
        """``/market/snapshot:{symbol}``: best bid/ask without sizes until 2024, and 24 h statistics."""
        if "-" not in arg:
            # "/market/snapshot:{market}" (BTC, USDS, ALTS ...): every symbol of a market at once.
            self.control("market_snapshot")
            return
        symbol = self.symbol_of(arg)
        d = _snapshot_data.decode(msg.data.data)
        ts = d.datetime / 1000.0 if d.datetime is not None else None
        bbo = (d.buy, d.bidSize if d.buy is not None else None, d.sell, d.askSize if d.sell is not None else None)
        stats = (d.lastTradedPrice, d.open, d.high, d.low, d.vol, d.volValue)
        out.append(Ticker(self.id, symbol, ts, received, *bbo, *stats))

    # -- REST -----------------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[RestRequest]:
        native = self.instruments.by_symbol(symbol).native
        url = f"{self.endpoints.rest}{SNAPSHOT_PATH}?{urlencode({'symbol': native})}"
        return [RestRequest(url, "snapshot", 2, symbol)]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
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
            answer = _rest_snapshot.decode(body)
            if answer.code != OK or answer.data is None:
                raise ValueError(f"code {answer.code}: {answer.msg[:200]}")
        except ValueError as exc:  # msgspec.DecodeError included
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, symbol, frame=body))
            return out
        snap = answer.data
        ts = snap.time / 1000.0 if snap.time is not None else None
        self.books.snapshot(out, symbol, snap.bids, snap.asks, snap.sequence, ts, received)
        return out
