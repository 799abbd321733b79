"""GOPAX adapter (``gopax``): Korean spot markets (KRW, and a few USDC pairs).

Channels (``../shared/exchanges/gopax.md``, gopax.github.io/wsapi):

- book   <- ``SubscribeToOrderBook`` (no ``limit``: "using limit makes maintaining a local
  book difficult"): the reply is the whole book with ``maxEntryId``, then
  ``OrderBookEvent`` deltas of absolute level sizes in base units (``volume`` 0 removes
  a level). Books follow :data:`ENTRY_ID`, see :mod:`.books`.
- trades <- ``PublicTradeEvent``, which only ``SubscribeToTradingPair`` sends (it pushes the
  book too, so a pair with trades is subscribed that way); ``isBuy`` is the taker side.
- ticker <- ``SubscribeToTickers``: every pair at once ("no per-pair ticker subscription"),
  the reply holds all of them, then ``TickerEvent`` 1-second aggregates keyed by pair.
  ``highestBid``/``lowestAsk`` are prices only (the touch as of the last trade; 0: none).

Book sizes are base units; GOPAX lists spot pairs only (no contracts, no open interest).

Keepalive is Primus's: the server sends the JSON string ``"primus::ping::<ms>"`` every
30 s and closes the socket 30 s after a ping that got no ``"primus::pong::<ms>"`` (sent
as a reply from :meth:`GopaxAdapter.parse`), "even while data flows". The ping also
tells that the connection's books are alive: GOPAX sends nothing for a quiet pair.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import msgspec

from ... import fastpath
from ...actions import RestRequest, SendFrame
from ...book import BookState, BookSync
from ...errors import UnknownChannel
from ...fastpath import RECEIVED, attr, choice, const, emit, symbol_from, text
from ...models import Side, Trade
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .books import ENTRY_ID, BookReplies, book_levels, delta_levels, newer_entries, single_entries
from .instruments import INSTRUMENTS_PATH, decode_instruments
from .parse import PUBLIC, UNUSED, frame_name, ping_stamp, request_frame, rest_book, ticker
from .schemas import (
    Message,
    OrderBookEvent,
    PublicTradeEvent,
    SubscribeToOrderBook,
    SubscribeToTickers,
    SubscribeToTradingPair,
    TickerEvent,
    TickerRow,
    TradePush,
)

__all__ = ["BOOKS_PER_CONNECTION", "GopaxAdapter"]

_message = msgspec.json.Decoder(Message, strict=False)
_trade_push = msgspec.json.Decoder(TradePush, strict=False)

BOOKS_PER_CONNECTION = 50
""""A single connection can subscribe to order books for up to 50 market pairs" (error 10321 past it)."""

_ORDER_BOOK = "SubscribeToOrderBook"
_TRADING_PAIR = "SubscribeToTradingPair"  # the book and public trades of one pair
_SIDES: dict[bool, Side] = {True: "buy", False: "sell"}

_Handler = Callable[[str, Any, str | bytes, float, Output], None]


class GopaxAdapter(Adapter):
    """GOPAX spot. Subscribe with unified symbols (``BTC/KRW``, ``ETH/USDC``).

    :meth:`plan` opens one connection per 50 pairs; a pair with trades is subscribed with
    ``SubscribeToTradingPair`` (book and trades), a book-only pair with
    ``SubscribeToOrderBook``, and tickers once for all pairs.
    """

    id: ClassVar[str] = "gopax"
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book")  # no candle stream
    simulator: ClassVar[str | None] = "sim:GopaxWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://wsapi.gopax.co.kr", rest="https://api.gopax.co.kr")
    # Public sockets need no key and no query string ("Public APIs don't need authentication").
    # No control-message rate is documented; 50 subscriptions sent in one burst were all answered.
    control_interval: ClassVar[float] = 0.02
    # The documented keepalive is the server's Primus ping, answered from parse(); protocol
    # pings watch the peer on our side.
    ping_interval: ClassVar[float] = 20.0
    # A quiet pair sends nothing (no idle repeats) and Primus pings do not count as data:
    # five minutes with no book, trade or ticker on a whole connection means a stuck feed.
    idle_timeout: ClassVar[float] = 300.0
    # "Each connection has a maximum age of 24 hours": renew it before the server closes it.
    max_lifetime: ClassVar[float] = 23.5 * 3600
    # The subscription reply is the book; without one within this many seconds (a lost
    # reply), the book is fetched over REST instead.
    reply_timeout: ClassVar[float] = 10.0
    # REST: "20 calls per 1 s moving window per IP"; the book "at most 1 call/s". The
    # x-gopax-ip-addr-used-weight header counts a one-second window, not the per-minute
    # budget the client keeps, so it is not used.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=1200)
    snapshot_weight: ClassVar[int] = 20
    # Pairs are path segments (/trading-pairs/BTC-KRW/book): no query parameter names one.
    match_params: ClassVar[tuple[str, ...]] = ()
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/KRW", "ETH/KRW")
    # "Connection attempts <= 20 per second, else TOO_MANY_REQUESTS (429)."
    connect_limit: ClassVar[tuple[int, float] | None] = (20, 1.0)
    # Books push only on change and a quiet pair sends nothing, but every connection gets a
    # Primus ping each 30 s, which touches its books: 75 s without either is two lost pings.
    book_stale_after: ClassVar[float] = 75.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        self.replies = BookReplies()
        super().__init__(endpoints=endpoints, book_top=book_top)
        # Which pairs the plan wants books and tickers of (None: every pair, as in a replay).
        self._book_symbols: set[str] | None = None
        self._ticker_symbols: set[str] | None = None
        self._symbols = self.instruments.symbols_by_native  # native -> unified, the hot lookup
        self._handlers: dict[type, _Handler] = {
            OrderBookEvent: self._on_book_event,
            PublicTradeEvent: self._on_trade,
            TickerEvent: self._on_tickers,
            SubscribeToOrderBook: self._on_book_reply,
            SubscribeToTradingPair: self._on_book_reply,
            SubscribeToTickers: self._on_tickers_reply,
        }
        # Pushes put "n" second ({"i":-1,"n":"PublicTradeEvent",...}): route on it, near the start.
        self._router = self.use_router("n", within=64)
        self._trades_routed = isinstance(self._router, fastpath.NoRouter)

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, ENTRY_ID, self._snapshot_request, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(self.endpoints.rest + INSTRUMENTS_PATH, "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return decode_instruments(self.id, body)

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        books: dict[str, None] = {}
        trades: set[str] = set()
        tickers: dict[str, None] = {}
        pairs: dict[str, None] = {}
        for sub in subscriptions:
            if sub.channel not in self.channels:
                raise UnknownChannel(f"{self.id}: no {sub.channel} channel; build candles from trades instead")
            self.instruments.by_symbol(sub.symbol)  # an unknown symbol fails here, with the usual hint
            if sub.channel == "ticker":
                tickers[sub.symbol] = None
                continue
            pairs[sub.symbol] = None
            if sub.channel == "book":
                books[sub.symbol] = None
            else:
                trades.add(sub.symbol)
        self._book_symbols = set(books)
        self._ticker_symbols = set(tickers)
        symbols = list(pairs)
        shards = [symbols[i : i + BOOKS_PER_CONNECTION] for i in range(0, len(symbols), BOOKS_PER_CONNECTION)]
        if tickers and not shards:
            shards = [[]]
        plans = []
        for n, shard in enumerate(shards):
            frames = [self._subscribe(s, _TRADING_PAIR if s in trades else _ORDER_BOOK) for s in shard]
            if tickers and n == 0:
                frames.append(request_frame("SubscribeToTickers", {}, "tickers"))
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{n}",
                    url=self.endpoints.ws,
                    subscribe=frames,
                    control_interval=self.control_interval,
                    ping_interval=self.ping_interval,
                    ping_timeout=20.0,
                    idle_timeout=self.idle_timeout,
                    max_lifetime=self.max_lifetime,
                    symbols=[s for s in shard if s in books],
                )
            )
        return plans

    def _subscribe(self, symbol: str, name: str) -> str:
        native = self.instruments.by_symbol(symbol).native
        # "i" is echoed on the reply: naming the pair tells which subscription a refusal is for.
        return request_frame(name, {"tradingPairName": native}, native)

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """The books of ``plan`` wait for their subscription replies, which carry the snapshots."""
        self.replies.expect(plan.conn, plan.symbols, received)
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Forget the replies the connection still owed, and reset its books."""
        out = super().on_disconnect(conn, reason, received, report=report)
        self.books.reset(out, self.replies.drop(conn), "reconnect", received, report=report)
        return out

    def check(self, now: float) -> Output:
        """Stale books resync; a subscription reply overdue by :attr:`reply_timeout` is given up."""
        out = super().check(now)
        for symbol in self.replies.overdue(now, self.reply_timeout):
            # The next delta asks again, and this time the REST book answers.
            self.books.snapshot_failed(symbol)
        return out

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        if frame[:1] in ('"', b'"'):
            # "Check for ping frames before json.loads": a bare JSON string is Primus's.
            self._on_primus(conn, frame, received, out)
            return out
        try:
            msg = _message.decode(frame)
        except msgspec.DecodeError as exc:
            self._undecoded(conn, frame, exc, received, out)
            return out
        self._handlers[type(msg)](conn, msg, frame, received, out)
        return out

    def _on_primus(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        try:
            stamp = ping_stamp(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return
        if stamp is None:
            detail = "a JSON string that is no Primus ping"
            out.append(self.error(conn, "unknown_message", detail, received, frame=frame))
            return
        # "Client must reply within 30 s with the same number ... (also with quotes)".
        self.control("ping")
        out.append(SendFrame(conn, f'"primus::pong::{stamp}"'))
        for symbol in self.replies.books_on(conn):
            self.books.touch(symbol, received)

    def _undecoded(self, conn: str, frame: str | bytes, exc: msgspec.DecodeError, received: float, out: Output) -> None:
        """A frame that is not one of the public messages: another GOPAX channel, or a bad one."""
        name = frame_name(frame)
        if name in UNUSED:
            self.control(name)
        elif name in PUBLIC or not name:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
        else:
            # "More event types may be added without notice": report it rather than guess.
            out.append(self.error(conn, "unknown_event", name[:50], received, frame=frame))

    def _symbol(self, conn: str, native: str, received: float, out: Output) -> str | None:
        symbol = self.instruments.symbol_of(native)
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", native[:100], received))
        return symbol

    def _on_book_reply(self, conn: str, msg: Any, frame: str | bytes, received: float, out: Output) -> None:
        o = msg.o
        if o.result is False:
            self._refused(conn, type(msg).__name__, msg.i, o.errCode, o.errData, received, out)
            return
        symbol = self._symbol(conn, o.tradingPairName, received, out)
        if symbol is None:
            return
        self.replies.answered(conn, symbol)
        if self._book_symbols is not None and symbol not in self._book_symbols:
            self.control("trades_ack")  # a trades-only pair: its book is not kept
            return
        if self.books.state(symbol) is BookState.LIVE:
            # A reply is a fresh whole book (a renewed connection, a recording's second one):
            # it replaces a live book rather than meeting it. A waiting book keeps the deltas
            # buffered before it ("a delta can intermittently arrive before the response").
            self.books.reset(out, [symbol], "resubscribe", received, report=False)
        bids, asks = book_levels(o.bid, descending=True), book_levels(o.ask, descending=False)
        self.books.snapshot(out, symbol, bids, asks, o.maxEntryId, None, received)

    def _on_book_event(self, conn: str, msg: Any, frame: str | bytes, received: float, out: Output) -> None:
        # The bulk of the traffic (one event per level change): no call that is not needed.
        o = msg.o
        symbol = self._symbols.get(o.tradingPairName)
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", o.tradingPairName[:100], received))
            return
        wanted = self._book_symbols
        if wanted is not None and symbol not in wanted:
            self.control("book_unused")
            return
        bid, ask = o.bid, o.ask
        if len(bid) + len(ask) == 1:
            e = bid[0] if bid else ask[0]
            level = [(e.price, e.volume)]
            bids, asks = (level, []) if bid else ([], level)
            self.books.delta(out, symbol, bids, asks, e.entryId, e.entryId, None, e.updatedAt, received)
            return
        delta = delta_levels(bid, ask)
        if delta is None:
            self.control("empty_delta")
            return
        bids, asks, first, last, ts = delta
        if first < last:
            # "Apply each entry only if it is newer than what you hold": in a delta whose ids
            # straddle the book's, entries at or below it are in the book already, and one
            # could undo a newer change at its price.
            book = self.books.book(symbol)
            if self.books.state(symbol) is not BookState.LIVE or book is None:
                # Buffered until the snapshot, which keeps the deltas ending past its id: one
                # entry each, so each entry the snapshot holds is dropped on its own.
                for one in single_entries(bid, ask):
                    self.books.delta(out, symbol, one[0], one[1], one[2], one[2], None, one[3], received)
                return
            held = book.sequence
            if held is not None and first <= held < last:
                newer = delta_levels(*newer_entries(bid, ask, held))
                if newer is not None:  # always: the entry with id ``last`` is newer
                    bids, asks, first, last, ts = newer
        self.books.delta(out, symbol, bids, asks, first, last, None, ts, received)

    def _on_trade(self, conn: str, msg: Any, frame: str | bytes, received: float, out: Output) -> None:
        t = msg.o
        symbol = self._symbol(conn, t.tradingPairName, received, out)
        if symbol is None:
            return
        side = _SIDES[t.isBuy]
        out.append(Trade(self.id, symbol, t.occurredAt, received, t.price, t.baseAmount, side, str(t.tradeId)))
        if not self._trades_routed:
            self._route_trades()

    def _route_trades(self) -> None:
        """From now on, ``PublicTradeEvent`` frames of listed pairs become trades without Python."""
        self._trades_routed = True
        args = (
            const(self.id),
            symbol_from("o.tradingPairName", self.instruments.symbols_by_native),
            attr("o.occurredAt"),
            RECEIVED,
            attr("o.price"),
            attr("o.baseAmount"),
            choice("o.isBuy", _SIDES),
            text("o.tradeId"),
        )
        self._router.add("PublicTradeEvent", _trade_push, None, emit(Trade, *args))

    def _on_tickers(self, conn: str, msg: Any, frame: str | bytes, received: float, out: Output) -> None:
        for native, row in msg.o.items():
            self._ticker(native, row, received, out)

    def _on_tickers_reply(self, conn: str, msg: Any, frame: str | bytes, received: float, out: Output) -> None:
        o = msg.o
        if o.result is False:
            self._refused(conn, type(msg).__name__, msg.i, o.errCode, o.errData, received, out)
            return
        for row in o.data:
            self._ticker(row.tradingPairName, row, received, out)

    def _ticker(self, native: str, row: TickerRow, received: float, out: Output) -> None:
        symbol = self.instruments.symbol_of(native)
        if symbol is None:
            # Tickers cover every pair, delisted ones included ("filter by /trading-pairs").
            self.stats["ignored.unlisted_ticker"] += 1
            return
        if self._ticker_symbols is not None and symbol not in self._ticker_symbols:
            return
        out.append(ticker(self.id, symbol, row, received))

    def _refused(
        self, conn: str, name: str, request: object, code: int | None, data: object, received: float, out: Output
    ) -> None:
        self.control()
        if isinstance(request, str):
            symbol = self.instruments.symbol_of(request)
            if symbol is not None:
                self.replies.answered(conn, symbol)
        detail = f"{name} (i={request!r}): {code} {str(data)[:100]}"
        out.append(self.error(conn, "rejected", detail, received))

    # -- REST -----------------------------------------------------------------------------------

    def _snapshot_request(self, symbol: str) -> list[RestRequest]:
        """The book's snapshot: the subscription reply when one is coming, else the REST book.

        "/book at most 1 call/s (docs recommend the WebSocket for live books)": the REST
        book (``level=3``: every entry, as on the socket) only rebuilds a book that lost
        its way, joined to the deltas buffered meanwhile by ``sequence``.
        """
        if self.replies.pending(symbol):
            return []
        native = self.instruments.by_symbol(symbol).native
        url = f"{self.endpoints.rest}/trading-pairs/{native}/book?level=3"
        return [RestRequest(url, "snapshot", self.snapshot_weight, symbol, self.replies.conn_of(symbol))]

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        out: Output = []
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        symbol = request.symbol or ""
        if request.purpose != "snapshot" or not symbol:
            self.stats["ignored.http." + request.purpose] += 1
            return out
        if status != 200:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, symbol, frame=body))
            return out
        try:
            bids, asks, sequence = rest_book(body)
        except msgspec.DecodeError as exc:
            self.books.snapshot_failed(symbol)
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, symbol, frame=body))
            return out
        self.books.snapshot(out, symbol, bids, asks, sequence, None, received)
        return out
