"""Coinone adapter (``coinone``): KRW spot markets.

Channels (``../shared/exchanges/coinone.md``; docs.coinone.co.kr, "Public WebSocket"):

- trades  <- ``TRADE``: one fill per frame. ``is_seller_maker`` is "whether the seller is
  the maker": ``true`` means a resting sell order was taken, so the taker bought (``buy``).
- ticker  <- ``TICKER``: best bid and ask with their sizes (``null`` on an empty side),
  last price, UTC-day open/high/low and the rolling 24 h volumes.
- book    <- ``ORDERBOOK``: "the latest order book once right after subscribing, then a
  message whenever the book changes", each one the whole top of the book (16 levels a
  side), so the book follows :attr:`~collector.book.Rule.SNAPSHOT` and is replaced by
  every message; its ``id`` ("a larger id is a newer order book") is the book's sequence.
- candles <- ``CHART``: the forming bar whenever it changes (:mod:`.candles` closes it).

Book sizes and trade amounts are base units (spot); there is no open interest.

Markets have no single id on the wire: each frame names ``quote_currency`` and
``target_currency`` (``KRW``/``BTC`` is ``BTC/KRW``). Every subscription is one frame per
channel and market; the socket accepts hundreds of them, and "max 20 connections per IP"
caps how many sockets a plan may use. The keepalive is the application ``PING``: "the
server closes a connection 30 minutes after the last PING".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import ClassVar

import msgspec
import orjson

from ... import fastpath
from ...actions import Action, RestRequest, SendFrame
from ...book import SNAPSHOT, BookSync
from ...errors import UnknownChannel, UsageError
from ...fastpath import OUT, RECEIVED, attr, call, choice, emit, guard, millis, symbol_from
from ...models import Level, Side, Ticker, Trade
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .candles import INTERVAL_SECONDS, Bars
from .instruments import decode_markets
from .schemas import (
    ChartPush,
    Envelope,
    OrderbookPush,
    PricedTickerPush,
    ShortChartPush,
    ShortOrderbookPush,
    ShortTickerPush,
    ShortTradePush,
    TickerPush,
    TradePush,
)

__all__ = ["FORMATS", "CoinoneAdapter"]

FORMATS = ("DEFAULT", "SHORT")
"""Message formats a subscription may ask for ("format: DEFAULT or SHORT"); both are read."""

_envelope = msgspec.json.Decoder(Envelope)
# Keyed by "is the frame in the SHORT format".
_orderbook: dict[bool, msgspec.json.Decoder[OrderbookPush]] = {
    False: msgspec.json.Decoder(OrderbookPush, strict=False),
    True: msgspec.json.Decoder(ShortOrderbookPush, strict=False),
}
_trade: dict[bool, msgspec.json.Decoder[TradePush]] = {
    False: msgspec.json.Decoder(TradePush, strict=False),
    True: msgspec.json.Decoder(ShortTradePush, strict=False),
}
_ticker: dict[bool, msgspec.json.Decoder[TickerPush]] = {
    False: msgspec.json.Decoder(TickerPush, strict=False),
    True: msgspec.json.Decoder(ShortTickerPush, strict=False),
}
_priced_ticker = msgspec.json.Decoder(PricedTickerPush, strict=False)  # the fast path's: both sides priced
_chart: dict[bool, msgspec.json.Decoder[ChartPush]] = {
    False: msgspec.json.Decoder(ChartPush, strict=False),
    True: msgspec.json.Decoder(ShortChartPush, strict=False),
}

_SIDES: dict[bool, Side] = {True: "buy", False: "sell"}  # is_seller_maker -> taker side
_CHANNEL: dict[str, str] = {"trades": "TRADE", "ticker": "TICKER", "book": "ORDERBOOK", "candles": "CHART"}
_ACKS = frozenset({"SUBSCRIBED", "UNSUBSCRIBED"})
# Coinone's private channels (on /v1/private): a shared recording may hold them.
_UNUSED_CHANNELS = frozenset({"MYORDER", "MYASSET"})
# The fast path routes frames of KRW markets only; its symbol map is keyed by target currency.
_ROUTED_QUOTE = "KRW"
# Routed frames must be data frames: this step does nothing (a C builtin, no Python runs),
# its condition is what counts. All conditions are checked before any step runs.
_DATA_ONLY = guard("response_type", "DATA")

# (conn, frame, SHORT format?, received, out)
_Handler = Callable[[str, "str | bytes", bool, float, Output], None]


class CoinoneAdapter(Adapter):
    """Coinone KRW spot. Subscribe with unified symbols (``BTC/KRW``, ``USDT/KRW``)."""

    id: ClassVar[str] = "coinone"
    simulator: ClassVar[str | None] = "sim:CoinoneWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://stream.coinone.co.kr", rest="https://api.coinone.co.kr"
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles")
    # The subscription format: DEFAULT (full keys) or SHORT (one- to three-letter keys);
    # either is parsed whatever this says (a recording may hold the other).
    wire_format: ClassVar[str] = "DEFAULT"
    # Quote currencies whose markets are listed: GET /markets/USDT, /BTC and /USDC list nothing.
    quotes: ClassVar[tuple[str, ...]] = ("KRW",)
    # "Max 20 connections per IP; the 21st is closed with code 4290." Plans never use more. That
    # is a cap on open sockets, not a connection rate, so connect_limit stays None.
    max_connections: ClassVar[int] = 20
    # No per-connection topic cap is published; one socket carried all 363 KRW order books
    # (about 270 frames/s at peak). Spread topics beyond this over more sockets.
    topics_per_connection: ClassVar[int] = 300
    # No subscribe rate is documented ("one topic per frame"); pace the frames lightly.
    control_interval: ClassVar[float] = 0.02
    # "The server closes a connection 30 minutes after the last PING": well inside that.
    app_ping: ClassVar[str] = '{"request_type":"PING"}'
    app_ping_interval: ClassVar[float] = 20.0
    # PONGs do not count as data, and a quiet market went 32 s without a book frame. Longer
    # than book_stale_after: a quiet book is first refreshed by its resubscription (whose
    # answer is data); a socket silent for three minutes even so is stuck.
    idle_timeout: ClassVar[float] = 180.0
    # "Public API: 300 requests per minute" (the API introduction page); the rate-limit page
    # grants V2 1,200 a minute. Budget the lower: a start makes one listing call.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=300)
    # Markets are named in the REST path (/markets/KRW), not in the query.
    match_params: ClassVar[tuple[str, ...]] = ()
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/KRW", "ETH/KRW")
    # ORDERBOOK pushes only when the top 16 levels change; quiet markets were seen silent for
    # 32 s. Two minutes of silence resyncs the book, and its resubscription brings the
    # current book back at once ("the latest order book once right after subscribing").
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._markets: dict[tuple[str, str], str] = {}  # (quote, target) -> unified symbol
        self._topics: dict[str, tuple[str, str]] = {}  # unified symbol -> (quote, target)
        self._krw: dict[str, str] = {}  # target -> unified symbol of KRW markets (the fast path's map)
        self._bars = Bars(self.id)
        self._routes: dict[str, _Handler] = {
            "ORDERBOOK": self._on_orderbook,
            "TRADE": self._on_trade,
            "TICKER": self._on_ticker,
            "CHART": self._on_chart,
        }
        # The subscription each book's messages answer: its connection, and per connection
        # the KRW books whose first message there was read (target -> symbol). A book's
        # first message on a connection is the one sent on subscribe, which may carry an
        # older timestamp than the book held: it is read in Python and always replaces the book.
        self._book_conns: dict[str, str] = {}
        self._book_maps: dict[str, dict[str, str]] = {}
        # Frames read {"response_type":"DATA","channel":"...": the fast path (collector.fastpath)
        # finds the channel among the first bytes and takes each market from the frame itself.
        # Routes are per connection: book routes know only the books read there already.
        self._router = self.use_router("channel", within=64, per_conn=True)
        self._fast = not isinstance(self._router, fastpath.NoRouter)
        self._routed: set[tuple[str, str]] = set()

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, SNAPSHOT, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}/public/v2/markets/{quote}", "instruments") for quote in self.quotes]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return decode_markets(self.id, body)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill :attr:`instruments` and the (quote, target) maps frames are resolved with."""
        instruments = self.parse_instruments(request, body)
        self.instruments.update(instruments)
        for inst in instruments:
            self._markets[inst.quote, inst.base] = inst.symbol
            self._topics[inst.symbol] = (inst.quote, inst.base)
            if inst.quote == _ROUTED_QUOTE:
                self._krw[inst.base] = inst.symbol

    def topic(self, symbol: str) -> tuple[str, str]:
        """``(quote_currency, target_currency)`` of ``symbol``; raises :class:`~collector.errors.UnknownSymbol`."""
        topic = self._topics.get(symbol)
        if topic is None:
            inst = self.instruments.by_symbol(symbol)  # raises UnknownSymbol with the usual hint
            topic = (inst.quote, inst.base)
        return topic

    # -- connections ----------------------------------------------------------------------------

    def request(self, kind: str, channel: str, symbol: str, interval: str | None = None) -> str:
        """One ``SUBSCRIBE``/``UNSUBSCRIBE`` frame: "request_type, channel and format must be UPPERCASE"."""
        quote, target = self.topic(symbol)
        topic = {"quote_currency": quote, "target_currency": target}
        if interval is not None:
            topic["interval"] = interval
        frame: dict[str, object] = {"request_type": kind, "channel": channel, "topic": topic}
        if self.wire_format != "DEFAULT":
            frame["format"] = self.wire_format  # "format: omit or DEFAULT, or SHORT"
        return orjson.dumps(frame).decode()

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        if self.wire_format not in FORMATS:
            raise UsageError(f"{self.id}: format {self.wire_format!r} is not one of {FORMATS}")
        topics: dict[str, Subscription] = {}  # subscribe frame -> the subscription it serves
        for sub in subscriptions:
            channel = _CHANNEL.get(sub.channel)
            if channel is None:
                raise UnknownChannel(f"{self.id}: no {sub.channel} channel; it offers {', '.join(self.channels)}")
            interval = None
            if channel == "CHART":
                if sub.interval not in INTERVAL_SECONDS:
                    raise UsageError(
                        f"{self.id}: no chart interval {sub.interval!r}; use one of {tuple(INTERVAL_SECONDS)}"
                    )
                interval = sub.interval
            topics.setdefault(self.request("SUBSCRIBE", channel, sub.symbol, interval), sub)
        if not topics:
            return []
        frames = list(topics)
        per = max(self.topics_per_connection, math.ceil(len(frames) / self.max_connections))
        plans = []
        for n, first in enumerate(range(0, len(frames), per)):
            chunk = frames[first : first + per]
            books = [topics[f].symbol for f in chunk if topics[f].channel == "book"]
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{n}",
                    url=self.endpoints.ws,
                    subscribe=chunk,
                    control_interval=self.control_interval,
                    # The documented keepalive is the PING request; the server sends no
                    # protocol pings and promises nothing about answering ours.
                    ping_interval=None,
                    ping_timeout=None,
                    app_ping=self.app_ping,
                    app_ping_interval=self.app_ping_interval,
                    idle_timeout=self.idle_timeout,
                    symbols=list(dict.fromkeys(books)),
                )
            )
        return plans

    def _resubscribe(self, symbol: str) -> list[Action]:
        """The book's "snapshot request": unsubscribe and subscribe its ``ORDERBOOK`` topic again.

        "The latest order book is sent once right after subscribing": a fresh subscription
        is how a Coinone book is rebuilt at once, even on a market that is quiet.
        """
        conn = self.book_conn(symbol)
        if conn is None or symbol not in self._topics:
            return []
        return [
            SendFrame(conn, self.request("UNSUBSCRIBE", "ORDERBOOK", symbol)),
            SendFrame(conn, self.request("SUBSCRIBE", "ORDERBOOK", symbol)),
        ]

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        short = env.response_type is None and env.r is not None
        kind = env.r if short else env.response_type
        if kind != "DATA":
            self._on_reply(conn, kind, env, frame, received, out)
            return out
        channel = (env.c if short else env.channel) or ""
        handler = self._routes.get(channel)
        if handler is None:
            if channel in _UNUSED_CHANNELS:
                self.control(channel.lower())
            else:
                out.append(self.error(conn, "unknown_channel", channel[:50], received, frame=frame))
            return out
        try:
            handler(conn, frame, short, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{channel}: {exc}", received, frame=frame))
            return out
        if self._fast and not short and (conn, channel) not in self._routed:
            self._route_fast(conn, channel)
        return out

    def _on_reply(
        self, conn: str, kind: str | None, env: Envelope, frame: str | bytes, received: float, out: Output
    ) -> None:
        if kind in _ACKS:
            self.control("ack")
        elif kind == "PONG":
            self.control("pong")
        elif kind == "CONNECTED":
            self.control("connected")  # {"response_type":"CONNECTED","data":{"session_id":...}} on open
        elif kind == "ERROR":
            # "160010 invalid request, 160011 invalid type, 160012 invalid topic"; the error
            # names no topic, so the rejected subscription cannot be told from the message.
            self.control()
            detail = f"{env.error_code}: {env.message}"[:200]
            out.append(self.error(conn, "rejected", detail, received))
        else:
            out.append(self.error(conn, "unknown_message", f"response_type {str(kind)[:50]}", received, frame=frame))

    def _symbol(self, conn: str, quote: str, target: str, received: float, out: Output) -> str | None:
        symbol = self._markets.get((quote, target))
        if symbol is None:
            # The socket spells markets in upper case; a recording subscribed in lower case
            # still gets upper case back, but read either.
            symbol = self._markets.get((quote.upper(), target.upper()))
            if symbol is None:
                out.append(self.error(conn, "unknown_symbol", f"{quote[:20]}/{target[:50]}", received))
        return symbol

    def _on_orderbook(self, conn: str, frame: str | bytes, short: bool, received: float, out: Output) -> None:
        d = _orderbook[short].decode(frame).data
        symbol = self._symbol(conn, d.quote_currency, d.target_currency, received, out)
        if symbol is None:
            return
        if self._book_conns.get(symbol) != conn:
            self._first_book(conn, symbol, d.quote_currency, d.target_currency, received, out)
        bids = [(lv.price, lv.qty) for lv in d.bids if lv.qty]
        asks = [(lv.price, lv.qty) for lv in d.asks if lv.qty]
        ts = d.timestamp / 1000.0 if d.timestamp is not None else None
        self._book(out, symbol, bids, asks, d.id, ts, received)

    def _book(
        self,
        out: Output,
        symbol: str,
        bids: list[Level],
        asks: list[Level],
        book_id: int | None,
        timestamp: float | None,
        received: float,
    ) -> None:
        """Hand a whole book to the book state machine, each side best first (the fast path calls it too).

        Asks come worst first (observed: the best ask is the last one listed) and bids best
        first; a book event lists bids from the highest price down and asks from the lowest
        up. ``sorted`` takes a side already in order in one pass, and a reversed one too
        (Timsort reverses a descending run): cheaper than checking the order in Python.
        """
        # Every message is the whole top of the book: replace it. One older than the book
        # held (a subscription repeating the current book) is skipped by the book itself.
        self.books.snapshot(out, symbol, sorted(bids, reverse=True), sorted(asks), book_id, timestamp, received)

    def _first_book(self, conn: str, symbol: str, quote: str, target: str, received: float, out: Output) -> None:
        """The first book of ``symbol`` on ``conn``: the answer to a new subscription.

        "The latest order book is sent once right after subscribing", with a ``timestamp``
        that may be older than the last book of the previous subscription (seen about 10 s
        behind its id). When the book was carried by another connection before (a capture
        of a reconnect), it is reset quietly so that book replaces it whatever its time.
        """
        if symbol in self._book_conns:
            self.books.reset(out, [symbol], "reconnect", received, report=False)
        self._book_conns[symbol] = conn
        if quote == _ROUTED_QUOTE:
            self._book_maps.setdefault(conn, {})[target] = symbol

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """A (re)opened connection subscribes again: the books it carried wait for their first book.

        Live, a dropped connection's books are reset already; a capture has no disconnect
        records, so a connection opened again under the same id resets them here, quietly.
        """
        out = super().on_connect(plan, received)
        carried = [symbol for symbol, conn in self._book_conns.items() if conn == plan.conn]
        for symbol in carried:
            del self._book_conns[symbol]
        self.books.reset(out, carried, "reconnect", received, report=False)
        self._book_maps.get(plan.conn, {}).clear()  # the route holds this map: empty it in place
        return out

    def _on_trade(self, conn: str, frame: str | bytes, short: bool, received: float, out: Output) -> None:
        t = _trade[short].decode(frame).data
        symbol = self._symbol(conn, t.quote_currency, t.target_currency, received, out)
        if symbol is not None:
            side = _SIDES[t.is_seller_maker]
            out.append(Trade(self.id, symbol, t.timestamp / 1000.0, received, t.price, t.qty, side, t.id))

    def _on_ticker(self, conn: str, frame: str | bytes, short: bool, received: float, out: Output) -> None:
        t = _ticker[short].decode(frame).data
        symbol = self._symbol(conn, t.quote_currency, t.target_currency, received, out)
        if symbol is None:
            return
        # Zero is no price (nothing on that side, no trade yet); "ask_best_price ... null when
        # there is none" may come with "ask_best_qty":"0": a side with no price has no size.
        bid = t.bid_best_price or None
        ask = t.ask_best_price or None
        out.append(
            Ticker(
                self.id,
                symbol,
                t.timestamp / 1000.0 if t.timestamp is not None else None,
                received,
                bid,
                t.bid_best_qty if bid is not None else None,
                ask,
                t.ask_best_qty if ask is not None else None,
                t.last or None,
                t.first or None,
                t.high or None,
                t.low or None,
                t.target_volume,
                t.quote_volume,
            )
        )

    def _on_chart(self, conn: str, frame: str | bytes, short: bool, received: float, out: Output) -> None:
        d = _chart[short].decode(frame).data
        symbol = self._symbol(conn, d.quote_currency, d.target_currency, received, out)
        if symbol is None:
            return
        if d.interval not in INTERVAL_SECONDS:
            out.append(self.error(conn, "malformed", f"CHART interval {d.interval[:20]!r}", received, symbol))
        elif not self._bars.take(out, symbol, d, received):
            self.control("old_candle")

    def _route_fast(self, conn: str, channel: str) -> None:
        """From now on, frames of ``channel`` in KRW markets become events without Python.

        Book, trade and ticker frames are each a pure function of the frame (a ticker only
        while its prices are positive and its best bid and ask present: one with a zero
        price or an empty side does not decode for the route);
        ``CHART`` bars are closed by state, so they keep the Python path. A frame a route is not sure
        of (another quote, an unknown market, a side it cannot map) still comes to :meth:`parse`.
        """
        self._routed.add((conn, channel))
        symbol = symbol_from("data.target_currency", self._krw)
        krw = ("data.quote_currency", _ROUTED_QUOTE)
        ex = fastpath.const(self.id)
        args: tuple[fastpath.Arg, ...]
        if channel == "ORDERBOOK":
            bids = fastpath.levels("data.bids", "price", "qty")
            asks = fastpath.levels("data.asks", "price", "qty")
            fields = (bids, asks, attr("data.id"), millis("data.timestamp"), RECEIVED)
            books = symbol_from("data.target_currency", self._book_maps.setdefault(conn, {}))
            step = call(self._book, OUT, books, *fields, when=krw)
            self._router.add(channel, _orderbook[False], None, _DATA_ONLY, step, conn=conn)
        elif channel == "TRADE":
            side = choice("data.is_seller_maker", _SIDES)
            args = (ex, symbol, millis("data.timestamp"), RECEIVED, attr("data.price"), attr("data.qty"), side)
            trade = emit(Trade, *args, attr("data.id"), when=krw)
            self._router.add(channel, _trade[False], None, _DATA_ONLY, trade, conn=conn)
        elif channel == "TICKER":
            book = ("data.bid_best_price", "data.bid_best_qty", "data.ask_best_price", "data.ask_best_qty")
            stats = ("data.last", "data.first", "data.high", "data.low", "data.target_volume", "data.quote_volume")
            args = (ex, symbol, millis("data.timestamp"), RECEIVED, *map(attr, book), *map(attr, stats))
            self._router.add(channel, _priced_ticker, None, _DATA_ONLY, emit(Ticker, *args, when=krw), conn=conn)

    # -- REST -----------------------------------------------------------------------------------

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)
