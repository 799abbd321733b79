"""Bitget public market data: spot, USDT-M, coin-M and USDC-M futures under one id, ``bitget``.

Channels (``../shared/exchanges/bitget.md``), all on ``wss://ws.bitget.com/v2/ws/public``,
the product line chosen per subscription by ``instType``:

- trades  <- ``trade``: "public trade data (taker orders)", so ``side`` is the taker's.
  The first push after subscribing is a snapshot of recent trades, newest first; trades
  are emitted oldest first and a re-sent snapshot (after a reconnect) is de-duplicated.
- ticker  <- ``ticker``: a whole ticker every push, bid/ask included.
- funding <- the futures ``ticker`` too: mark, index, funding rate, next funding time and
  open interest (``holdingAmount``, in the base coin), merged by
  :class:`~collector.exchanges.derivatives.DerivativeTickers`.
- book    <- ``books``: a snapshot on subscribe, then updates whose ``pseq`` ("the
  serial number of the previous push") must equal the last ``seq``
  (:data:`~collector.book.STREAM_PREV`), each checked with Bitget's CRC32 of the top 25
  levels (:mod:`.checksum`). A gap or a checksum mismatch unsubscribes and subscribes
  that one book again, which brings a fresh snapshot. ``books1``/``books5``/``books15``
  (whole books every push) are accepted too.
- candles <- ``candle<interval>``: bars are never marked final; a bar is closed when a
  later one starts.

Book sizes, trade amounts and open interest are in the base coin on every product line
(Bitget futures sizes are coin amounts; ``sizeMultiplier`` is only the order step), so
every contract size is 1. Bitget has no public liquidation channel on v2.

Replay also reads the v1 streams (``/spot/v1/stream``, ``/mix/v1/stream``, ``instType``
``sp``/``mc``) that cryptofeed-based recorders subscribe: array-shaped trades and
candles, v1 ticker names, books without ``seq`` (checksum only), and v1 instrument
listings paired with the v2 requests by :meth:`BitgetAdapter.match_key`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import parse_qsl, urlsplit

import msgspec

from ...actions import RestRequest
from ...book import STREAM_PREV, BookSync, Rule
from ...errors import UsageError
from ...models import Ticker
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from . import parse as p
from .books import BookFeed
from .fast import FastRoutes
from .feeds import CandleFeed, TradeFeed
from .instruments import CONTRACTS_PATH, FUTURES, SPOT_PATH, V1_INST_TYPES, listing_family, parse_listing
from .schemas import Arg

if TYPE_CHECKING:
    pass

__all__ = ["RULE", "BitgetAdapter"]

RULE = Rule(STREAM_PREV.name, STREAM_PREV.snapshots, STREAM_PREV.link, max_jump=1 << 62)
"""``pseq`` must equal the last ``seq``. Coin-M ``seq`` values are time-based ids (two pushes
100 ms apart differ by 100 * 2**22), so a quiet book's next ``seq`` may lie far ahead: the
``pseq`` link proves continuity, and the jump guard is widened to match."""

# (conn, frame text, receipt time, out, route parameter)
_Handler = Callable[[str, str, float, Output, str], None]
_HOSTS = frozenset({"ws.bitget.com", "wspap.bitget.com"})  # production, demo trading
_PREFIX = '{"action":'
_STEADY = frozenset({"ticker", "books1", "books5", "books15"})  # channels that push while nothing trades
_CHANNEL = '"channel":"'


class BitgetAdapter(Adapter):
    """Bitget v2 spot and futures (USDT-M, coin-M, USDC-M); the product line follows from each instrument.

    Subscribe with unified symbols: ``BTC/USDT`` (spot), ``BTC/USDT:USDT`` (USDT-M
    perpetual), ``BTC/USD:BTC`` (coin-M), ``BTC/USDC:USDC`` (USDC-M), ``ETH/USD:ETH-231229``
    (dated). :meth:`plan` puts up to :attr:`max_channels` channels on each connection of
    the one public socket URL.
    """

    id: ClassVar[str] = "bitget"
    simulator: ClassVar[str | None] = "sim:BitgetWire"
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://ws.bitget.com/v2/ws/public", rest="https://api.bitget.com"
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding")
    book_channel: ClassVar[str] = "books"
    """The book channel :meth:`plan` subscribes (``books1``/``books5``/``books15`` for shallow whole books)."""
    # "Max 1000 channel subscription/connection ... We highly recommend you to subscribe
    # less than 50 channels in one connection."
    max_channels: ClassVar[int] = 50
    # "the total length of multiple channels cannot exceed 4096 bytes at a time"
    max_args_bytes: ClassVar[int] = 4096
    # "The Websocket server accepts up to 10 messages per second ... String 'ping' [and]
    # JSON message": five a second leaves room for the pings.
    control_interval: ClassVar[float] = 0.2
    # "Users set a 30 seconds timer to send string 'ping', and expect a string 'pong' ...
    # Websocket server will disconnect the connection if there is no string 'ping' received
    # for 2 min" (data flowing does not count).
    app_ping: ClassVar[str] = "ping"
    app_ping_interval: ClassVar[float] = 25.0
    # A ticker (and books1/5/15) pushes several times a second whatever the market does: a
    # connection carrying one that sees a minute and a half of nothing but pongs has stopped.
    idle_timeout: ClassVar[float] = 90.0
    # Trades, `books` and candles of a quiet market can pause for minutes (candles push "once
    # at the specified time granularity" when nothing trades): allow five before reconnecting.
    quiet_idle_timeout: ClassVar[float] = 300.0
    # "Websocket will be forcibly disconnected every 24 hours": renew before that.
    max_lifetime: ClassVar[float] = 23.5 * 3600.0
    # "Rate Limit: 20 req/sec/IP" on the listings; HTTP 429 when exceeded. No weight header.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=1200, rate_limited=frozenset({403, 429}))
    match_params: ClassVar[tuple[str, ...]] = ("symbol",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "BTC/USDT:USDT")
    # "300 connection requests / IP / 5 min."
    connect_limit: ClassVar[tuple[int, float] | None] = (300, 300.0)
    # `books` pushes only when the book changes (at most every 150 ms on futures, 200 ms on
    # spot) and has no heartbeat: quiet pairs were seen silent for minutes, and every stale
    # resync spends two of a connection's 240 subscribe requests an hour. Five minutes of
    # silence on a live book means its feed has stopped.
    book_stale_after: ClassVar[float] = 300.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._symbols: dict[tuple[str, str], str] = {}  # (instType as on the wire, native) -> unified
        self._markets: dict[str, tuple[str, str]] = {}  # unified -> (v2 instType, native)
        self._trades = TradeFeed(self.id)
        self._candles = CandleFeed(self.id)
        self._wanted: dict[str, set[str]] = {}  # planned channels per symbol (none planned: all)
        self._derivatives = DerivativeTickers(self.id)
        self._fast = FastRoutes(self)
        self._routes: dict[str, tuple[_Handler, str]] = {
            "trade": (self._on_trades, ""),
            "ticker": (self._on_ticker, ""),
        }
        for channel in p.BOOK_CHANNELS:
            self._routes[channel] = (self._on_book, channel)
        for channel, interval in p.CANDLE_INTERVALS.items():
            self._routes[channel] = (self._on_candles, interval)

    def _make_books(self, book_top: int | None) -> BookSync:
        # Called by Adapter.__init__: the feed that asks for snapshots and checks books comes first.
        feed = self._book_feed = BookFeed(self.max_args_bytes)
        feed.books = BookSync(self.id, RULE, feed.resubscribe, top_n=book_top, checksum=feed.checksum)
        return feed.books

    @classmethod
    def recognizes(cls, url: str) -> bool:
        """Bitget's public socket hosts: v2 ``/v2/ws/public`` and the v1 ``/spot|mix/v1/stream`` (not UTA v3)."""
        return super().recognizes(url) and not urlsplit(url).path.startswith("/v3/")

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """Instrument listings pair by product line (``SPOT``, ``USDT-FUTURES`` ...), whatever the API version.

        A cryptofeed recording lists ``/api/spot/v1/public/products`` and
        ``/api/mix/v1/market/contracts?productType=umcbl``; they answer this adapter's
        ``/api/v2/spot/public/symbols`` and ``...contracts?productType=USDT-FUTURES``.
        """
        family = listing_family(url)
        if family is None:
            return super().match_key(url)
        parts = urlsplit(url)
        return parts.netloc, f"instruments?productType={family}", dict(parse_qsl(parts.query)).get("symbol", "")

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        rest = self.endpoints.rest
        futures = [RestRequest(f"{rest}{CONTRACTS_PATH}?productType={product}", "instruments") for product in FUTURES]
        return [RestRequest(f"{rest}{SPOT_PATH}", "instruments"), *futures]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return parse_listing(self.id, self._family(request), body)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        family = self._family(request)
        instruments = parse_listing(self.id, family, body)
        self.instruments.update(instruments)
        v1 = V1_INST_TYPES[family]
        for inst in instruments:
            native, symbol = inst.native, inst.symbol
            self._markets[symbol] = (family, native)
            # Pushes echo the instType as subscribed: v2 "SPOT" (any case), v1 "sp"/"mc".
            for inst_type in (family, family.lower(), v1, v1.upper()):
                self._symbols[inst_type, native] = symbol

    @staticmethod
    def _family(request: RestRequest) -> str:
        family = listing_family(request.url)
        if family is None:
            raise ValueError(f"not a Bitget instrument listing: {request.url}")
        return family

    def market_of(self, symbol: str) -> tuple[str, str]:
        """``(instType, native id)`` of a unified symbol, e.g. ``("USDT-FUTURES", "BTCUSDT")``."""
        where = self._markets.get(symbol)
        if where is None:
            self.instruments.by_symbol(symbol)  # raises UnknownSymbol with the usual hint
            raise UsageError(f"{self.id}: {symbol!r} is listed on no product line this adapter serves")
        return where

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)

    # -- connections ----------------------------------------------------------------------------

    def channels_for(self, sub: Subscription) -> tuple[str, list[str]]:
        """The ``instType`` and Bitget channels one subscription needs, e.g. ``("SPOT", ["books"])``."""
        inst_type, _ = self.market_of(sub.symbol)
        if sub.channel == "trades":
            return inst_type, ["trade"]
        if sub.channel == "ticker":
            return inst_type, ["ticker"]
        if sub.channel == "funding":
            if inst_type == "SPOT":
                raise UsageError(f"{self.id}: {sub.symbol} is spot: no funding, mark price or open interest")
            return inst_type, ["ticker"]  # the futures ticker carries them
        if sub.channel == "book":
            if self.book_channel not in p.BOOK_CHANNELS:
                raise UsageError(f"{self.id}: no book channel {self.book_channel!r}; use one of {p.BOOK_CHANNELS}")
            return inst_type, [self.book_channel]
        if sub.channel == "candles":
            channel = p.CANDLE_CHANNELS.get(sub.interval)
            if channel is None:
                choices = tuple(p.CANDLE_CHANNELS)
                raise UsageError(f"{self.id}: no candle interval {sub.interval!r}; use one of {choices}")
            return inst_type, [channel]
        raise UsageError(f"{self.id}: no public {sub.channel} channel")

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        args: dict[tuple[str, str, str], Subscription] = {}
        for sub in subscriptions:
            inst_type, channels = self.channels_for(sub)
            native = self.market_of(sub.symbol)[1]
            for channel in channels:
                args.setdefault((inst_type, channel, native), sub)
            self._wanted.setdefault(sub.symbol, set()).add(sub.channel)
        self._fast.replanned()
        keys = list(args)
        plans = []
        for shard, start in enumerate(range(0, len(keys), self.max_channels)):
            chunk = keys[start : start + self.max_channels]
            books = [args[k].symbol for k in chunk if args[k].channel == "book"]
            steady = any(channel in _STEADY for _, channel, _ in chunk)
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{shard}",
                    url=self.endpoints.ws,
                    subscribe=p.subscribe_frames("subscribe", chunk, self.max_args_bytes),
                    control_interval=self.control_interval,
                    # The documented keepalive is the text ping; protocol pings count against
                    # the 10 messages a second and are not needed.
                    ping_interval=None,
                    ping_timeout=None,
                    app_ping=self.app_ping,
                    app_ping_interval=self.app_ping_interval,
                    idle_timeout=self.idle_timeout if steady else self.quiet_idle_timeout,
                    max_lifetime=self.max_lifetime,
                    symbols=list(dict.fromkeys(books)),
                )
            )
        return plans

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Forget which book channels the connection carried: its resubscription starts afresh."""
        self._book_feed.forget(conn)
        return super().on_disconnect(conn, reason, received, report=report)

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        if text.startswith(_PREFIX):
            # Pushes open with their action and arg: pick the decoder by channel, decode once.
            i = text.find(_CHANNEL, 10, 200)
            if i > 0:
                j = text.find('"', i + 11, i + 40)
                route = self._routes.get(text[i + 11 : j]) if j > 0 else None
                if route is not None:
                    self._route(conn, text, received, out, route)
                    return out
        elif text == "pong":
            self.control("pong")
            return out
        self._on_other(conn, text, received, out)
        return out

    def _route(self, conn: str, text: str, received: float, out: Output, route: tuple[_Handler, str]) -> None:
        handler, param = route
        try:
            handler(conn, text, received, out, param)
        except msgspec.DecodeError as exc:  # ValidationError included: impossible values
            out.append(self.error(conn, "malformed", str(exc), received, frame=text))

    def _on_other(self, conn: str, text: str, received: float, out: Output) -> None:
        """Replies, errors, unused channels and pushes whose keys are in an unusual order."""
        try:
            msg = p.control_decoder.decode(text)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=text))
            return
        arg = msg.arg
        if msg.event in ("subscribe", "unsubscribe") or (msg.event == "login" and str(msg.code) == "0"):
            self.control("ack")
        elif msg.event:
            self.control()
            where = f" ({arg.instType}/{arg.channel}/{arg.instId})" if arg is not None else ""
            out.append(self.error(conn, "rejected", f"{msg.event} {msg.code}: {msg.msg[:200]}{where}", received))
        elif msg.action and arg is not None:
            route = self._routes.get(arg.channel)
            if route is not None:
                self._route(conn, text, received, out, route)
            elif arg.channel in p.UNUSED_CHANNELS:
                self.control(arg.channel)  # public channels of Bitget this adapter does not use
            else:
                out.append(self.error(conn, "unknown_channel", arg.channel[:60], received, frame=text))
        else:
            out.append(self.error(conn, "unknown_message", "not a push, reply or pong", received, frame=text))

    def _symbol(self, conn: str, arg: Arg, received: float, out: Output) -> str | None:
        symbol = self._symbols.get((arg.instType, arg.instId))
        if symbol is None:
            detail = f"{arg.instType[:20]} {arg.instId[:60]} ({arg.channel[:20]})"
            out.append(self.error(conn, "unknown_symbol", detail, received))
        return symbol

    def _on_trades(self, conn: str, text: str, received: float, out: Output, _: str) -> None:
        env = p.trade_decoder.decode(text)
        symbol = self._symbol(conn, env.arg, received, out)
        if symbol is None:
            return
        trades, bad, repeated = self._trades.trades(symbol, env.data, env.action == "snapshot", received)
        out.extend(trades)
        if repeated:
            self.stats["ignored.trade_repeat"] += repeated
        for side in bad:
            out.append(self.error(conn, "malformed", f"trade side {side[:20]!r}", received, symbol))

    def _on_ticker(self, conn: str, text: str, received: float, out: Output, _: str) -> None:
        env = p.ticker_decoder.decode(text)
        symbol = self._symbol(conn, env.arg, received, out)
        if symbol is None:
            return
        if not env.data:
            out.append(self.error(conn, "malformed", "ticker without data", received, symbol, frame=text))
            return
        t = env.data[0]
        ts = p.ticker_time(t, env.ts)
        wanted = self._wanted.get(symbol)
        last = p.price(t.lastPr if t.lastPr is not None else t.last)
        spot = self._markets[symbol][0] == "SPOT"
        if wanted is None or "ticker" in wanted:
            if spot and env.arg.instType == "SPOT":
                self._fast.spot_ticker(env.arg.instId, symbol)
            out.append(
                Ticker(
                    self.id,
                    symbol,
                    ts,
                    received,
                    p.price(t.bidPr if t.bidPr is not None else t.bestBid),
                    p.size(t.bidSz),
                    p.price(t.askPr if t.askPr is not None else t.bestAsk),
                    p.size(t.askSz),
                    last=last,
                    open=p.price(t.open24h),
                    high=p.price(t.high24h),
                    low=p.price(t.low24h),
                    volume=p.size(t.baseVolume),
                    quote_volume=p.size(t.quoteVolume),
                )
            )
        if not spot and (wanted is None or "funding" in wanted):
            event = self._derivatives.update(symbol, ts, received, **p.derivative_fields(t, last))
            if event is not None:
                out.append(event)

    def _on_book(self, conn: str, text: str, received: float, out: Output, channel: str) -> None:
        env = p.book_decoder.decode(text)
        symbol = self._symbol(conn, env.arg, received, out)
        if symbol is None:
            return
        feed = self._book_feed
        if not feed.accepts(symbol, channel, env.action):
            self.control("second_depth")
            return
        problem = feed.push(out, conn, symbol, channel, env, received)
        if problem is not None:
            out.append(self.error(conn, "malformed", problem, received, symbol, frame=text))

    def _on_candles(self, conn: str, text: str, received: float, out: Output, interval: str) -> None:
        env = p.candle_decoder.decode(text)
        symbol = self._symbol(conn, env.arg, received, out)
        if symbol is None:
            return
        ts = env.ts / 1000.0 if env.ts is not None else None
        out.extend(self._candles.candles(symbol, env.arg.channel, interval, env.data, ts, received))
