"""Crypto.com Exchange API v1 public market data: spot, perpetuals and dated futures under ``cryptocom``.

Channels (``../shared/exchanges/cryptocom.md``), all on ``wss://stream.crypto.com/exchange/v1/market``:

- trades  <- ``trade.{instrument}`` ("side is the side of the taker order"); the last 50 trades
  the first push after a subscribe repeats are dropped.
- ticker  <- ``ticker.{instrument}``: best bid/offer with sizes, last price, 24 h high, low,
  volume (and its USD value, the quote volume of USD pairs).
- book    <- ``book.{instrument}.{10|50}`` subscribed with ``book_subscription_type``
  ``SNAPSHOT_AND_UPDATE``: a snapshot, then deltas that apply only when their ``pu`` is the
  ``u`` applied last (:data:`~collector.book.STREAM_PREV`); on a gap the adapter subscribes that
  one channel again ("no unsubscribe needed") and Crypto.com sends a fresh snapshot. Deltas
  carry a ``cs`` value the documentation does not describe: it is not verified.
- candles <- ``candlestick.{time_frame}.{instrument}``; a bar is final once the next one starts.
- funding <- ``mark.{instrument}``, ``index.{underlying}``, ``funding.{instrument}`` (the hourly
  rate settling at the end of the hour), ``estimatedfunding.{instrument}`` (the next interval's
  rate) and open interest (``oi``, base units) and last price from ``ticker.{instrument}``.
  Crypto.com has no public liquidation stream.

Units: amounts, volumes, ticker sizes and open interest are base units (quantities are in the
base currency; times ``contract_size`` where one is listed); book sizes are Crypto.com's
quantities as sent: base units while ``contract_size`` is 1, as it is for every instrument
listed today (contracts otherwise, like the ticker sizes of other venues' contracts).

Keepalive: Crypto.com sends ``public/heartbeat`` every 30 s and closes the connection (code
1000) unless ``public/respond-heartbeat`` with the same id comes back within 5 s; the answer
is returned as a :class:`~collector.actions.SendFrame`. Subscriptions wait 1 s after the
connect ("rate limits are pro-rated based on the calendar-second that the websocket connection
was opened ... add a 1-second sleep"), then go out with the connect time as their ``nonce``.

Captures of other recorders replay too: the legacy ``stream.crypto.com/v2/market`` stream and
``/v2/public/get-instruments`` listing, ``SNAPSHOT``-mode books (every message a whole book),
any depth, with or without request ids. Legacy v2 book deltas, which carry no ``pu``, are
reported one error per frame (``unsequenced``) and never applied.

**Speed.** Book deltas and tickers go through the generic fast path once the adapter's own
path has read a push of their subscription (:mod:`.fast`). Other pushes are routed by their
channel (found among the result's first fields, a dict lookup) and decoded once, typed, by
that channel's decoder (:mod:`.parse`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import orjson

from ...actions import RestRequest, SendFrame
from ...book import STREAM_PREV, BookSync
from ...errors import UsageError
from ...models import Disconnected
from ...symbols import Instrument
from ..base import Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .feeds import CandleBars, TradeTape
from .frames import Frames
from .instruments import INSTRUMENTS_PATH, Market, parse_listing
from .parse import Handler

__all__ = ["BOOK_DEPTHS", "TIME_FRAME_OF", "CryptocomAdapter"]

BOOK_DEPTHS = (10, 50)
"""``book.{instrument}.{depth}``: "depth 10 or 50" (the depth-less form was removed 2025-03-06)."""

TIME_FRAME_OF = {
    "1m": "1m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1h",
    "2h": "2h",
    "4h": "4h",
    "12h": "12h",
    "1d": "1D",
    "1w": "7D",
    "2w": "14D",
    "1M": "1M",
}
"""Unified candle interval -> Crypto.com time frame."""

# The legacy and current paths of one REST method: /v2/public/x and /exchange/v1/public/x.
_API_PREFIXES = ("/exchange/v1/", "/v2/", "/v1/")


class CryptocomAdapter(Frames):
    """Crypto.com Exchange v1: ``BTC/USDT`` (spot ``BTC_USDT``), ``BTC/USD:USD`` (``BTCUSD-PERP``),
    ``BTC/USD:USD-250926`` (``BTCUSD-250926``).

    :meth:`plan` puts up to 400 channels on a connection ("Max 400 subscriptions per market
    data connection"); the book channels of one connection go in their own subscribe request,
    which carries the book parameters.
    """

    id: ClassVar[str] = "cryptocom"
    simulator: ClassVar[str | None] = "sim:CryptocomWire"
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://stream.crypto.com/exchange/v1/market", rest="https://api.crypto.com"
    )
    # The UAT sandbox and the former derivatives host; stream.crypto.com also serves /v2/market.
    ws_hosts: ClassVar[frozenset[str]] = frozenset(
        {"uat-stream.3ona.co", "deriv-stream.crypto.com", "uat-deriv-stream.3ona.co"}
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding")
    book_depth: ClassVar[int] = 50
    # Delta pushes every 10 ms (the default; 100 is the other choice) while the book changes.
    book_update_frequency: ClassVar[int] = 10
    # "Max 400 subscriptions per market data connection" (EXCEED_MAX_SUBSCRIPTIONS, 40107).
    max_subscriptions: ClassVar[int] = 400
    # No per-request channel count is documented; this keeps each request modest.
    channels_per_request: ClassVar[int] = 100
    # "By adding a 1-second sleep after establishing the websocket connection, and before
    # requests are sent, this will ensure the rate limit is not exceeded".
    subscribe_delay: ClassVar[float] = 1.0
    # "Market Data: 100 requests per second" per connection, heartbeat answers included.
    control_interval: ClassVar[float] = 0.02
    # Crypto.com's keepalive is its own heartbeat (answered in parse); protocol pings only
    # detect a dead peer (RFC 6455 answers them).
    ping_interval: ClassVar[float] = 30.0
    # Books push a delta at least every 5 s (an empty one "in the case of no book changes"), so
    # 30 s without data on a connection carrying books means its feed stopped. Trades and
    # tickers of a quiet instrument may be silent for minutes.
    idle_timeout: ClassVar[float] = 30.0
    quiet_idle_timeout: ClassVar[float] = 300.0
    # "For public market data calls ... 100 requests per second each" per IP.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=6000)
    match_params: ClassVar[tuple[str, ...]] = ("instrument_name",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "BTC/USD:USD")
    # An empty delta arrives "in the case of no book changes" after 5 s: four missed heartbeats
    # mean the book's feed has stopped.
    book_stale_after: ClassVar[float] = 20.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._markets: dict[str, Market] = {}  # native id -> market
        self._index_members: dict[str, list[str]] = {}  # "BTCUSD-INDEX" -> derivative symbols
        self._derivative_symbols: set[str] = set()  # symbols whose derivative ticker is assembled
        self._ticker_symbols: set[str] | None = None  # None: every ticker push (a replay)
        self._book_owner: dict[str, tuple[str, str]] = {}  # symbol -> (conn, book channel)
        self._trade_seen: set[tuple[str, str]] = set()  # (conn, symbol) past their first trade push
        self._tape = TradeTape(self.id)
        self._bars = CandleBars(self.id)
        self._derivatives = DerivativeTickers(self.id)
        self._marks: dict[str, float] = {}
        self._interest: dict[str, float] = {}
        self._index_prices: dict[str, float] = {}
        self._requests: dict[str, list[tuple[list[str], bool]]] = {}  # conn -> (channels, is book request)
        self._request_id = 0
        self._handlers: dict[str, Handler] = {
            "trade": self._on_trade,
            "ticker": self._on_ticker,
            "book": self._on_book,
            "book.update": self._on_book_update,
            "candlestick": self._on_candlestick,
            "mark": self._on_mark,
            "index": self._on_index,
            "funding": self._on_funding,
            "estimatedfunding": self._on_estimated_funding,
        }
        self._start_router()

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, STREAM_PREV, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}{INSTRUMENTS_PATH}", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return [inst for inst, _ in parse_listing(self.id, body)]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        for inst, market in parse_listing(self.id, body):
            self.instruments.update((inst,))
            self._markets[market.native] = market
            if market.index:
                members = self._index_members.setdefault(market.index, [])
                if market.symbol not in members:
                    members.append(market.symbol)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        self.stats["ignored.http." + request.purpose] += 1
        return []

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """As :meth:`Adapter.match_key`, with the API version dropped from the path: the legacy
        ``/v2/public/get-instruments`` a capture may hold answers ``/exchange/v1/public/get-instruments``."""
        host, path, instrument = super().match_key(url)
        for prefix in _API_PREFIXES:
            if path.startswith(prefix):
                return host, path[len(prefix) - 1 :], instrument
        return host, path, instrument

    def market_of(self, symbol: str) -> Market:
        """The :class:`~.instruments.Market` of a unified symbol; raises :class:`~collector.errors.UnknownSymbol`."""
        native = self.instruments.by_symbol(symbol).native
        return self._markets[native]

    # -- connections ----------------------------------------------------------------------------

    def channels_for(self, sub: Subscription) -> list[str]:
        """The Crypto.com channels one subscription needs, e.g. ``["book.BTC_USDT.50"]``."""
        market = self.market_of(sub.symbol)
        native = market.native
        if sub.channel == "trades":
            return [f"trade.{native}"]
        if sub.channel == "ticker":
            return [f"ticker.{native}"]
        if sub.channel == "book":
            if self.book_depth not in BOOK_DEPTHS:
                raise UsageError(f"{self.id}: no book depth {self.book_depth}; use one of {BOOK_DEPTHS}")
            return [f"book.{native}.{self.book_depth}"]
        if sub.channel == "candles":
            frame = TIME_FRAME_OF.get(sub.interval)
            if frame is None:
                raise UsageError(f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(TIME_FRAME_OF)}")
            return [f"candlestick.{frame}.{native}"]
        if sub.channel == "funding":
            if not market.derivative:
                raise UsageError(f"{self.id}: {sub.symbol} is not a perpetual or future: it has no funding")
            wanted = [f"mark.{native}", f"ticker.{native}"]
            if market.index:
                wanted.append(f"index.{market.index}")
            if market.perpetual:
                wanted += [f"funding.{native}", f"estimatedfunding.{native}"]
            return wanted
        raise UsageError(f"{self.id} has no public {sub.channel} channel")

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        wanted: dict[str, Subscription] = {}
        tickers: set[str] = set()
        for sub in subscriptions:
            for channel in self.channels_for(sub):
                wanted.setdefault(channel, sub)
            if sub.channel == "ticker":
                tickers.add(sub.symbol)
            elif sub.channel == "funding":
                self._derivative_symbols.add(sub.symbol)
        self._ticker_symbols = tickers
        self._unroute("ticker")  # which tickers are wanted (and merged) may have changed
        names = list(wanted)
        plans = []
        for shard, start in enumerate(range(0, len(names), self.max_subscriptions)):
            chunk = names[start : start + self.max_subscriptions]
            conn = f"{self.id}.{shard}"
            books = [c for c in chunk if c.startswith("book.")]
            others = [c for c in chunk if not c.startswith("book.")]
            per = self.channels_per_request
            # book_subscription_type applies to the book channels of its request: books go alone.
            self._requests[conn] = [(books[i : i + per], True) for i in range(0, len(books), per)] + [
                (others[i : i + per], False) for i in range(0, len(others), per)
            ]
            symbols = [wanted[c].symbol for c in books]
            for channel, symbol in zip(books, symbols, strict=True):
                self._book_owner[symbol] = (conn, channel)
            plans.append(
                ConnectionPlan(
                    conn=conn,
                    url=self.endpoints.ws,
                    # Sent by on_connect: each request carries the time it is made as its nonce.
                    subscribe=[],
                    control_interval=self.control_interval,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_interval,
                    idle_timeout=self.idle_timeout if books else self.quiet_idle_timeout,
                    symbols=symbols,
                    subscribe_delay=self.subscribe_delay,
                )
            )
        return plans

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Subscribe the connection's channels (sent after the plan's 1 s delay); its trade pushes start afresh."""
        out = super().on_connect(plan, received)
        self._forget_trades(plan.conn)
        for channels, book in self._requests.get(plan.conn, ()):
            out.append(SendFrame(plan.conn, self._subscribe(channels, book, received)))
        return out

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset the connection's books; "1013: Server restarting" is reported as ``maintenance``."""
        self._forget_trades(conn)
        if not reason.startswith("closed by peer: 1013"):
            return super().on_disconnect(conn, reason, received, report=report)
        out: Output = [Disconnected(self.id, None, None, received, conn, reason)]
        self.books.reset(out, self.conn_symbols(conn), "maintenance", received, report=report, detail=reason)
        return out

    def _forget_trades(self, conn: str) -> None:
        self._trade_seen = {key for key in self._trade_seen if key[0] != conn}

    def _subscribe(self, channels: list[str], book: bool, now: float | None) -> str:
        """A subscribe request; ``now`` (seconds) becomes its nonce ("current timestamp in milliseconds")."""
        self._request_id += 1
        params: dict[str, object] = {"channels": channels}
        if book:
            params["book_subscription_type"] = "SNAPSHOT_AND_UPDATE"
            params["book_update_frequency"] = self.book_update_frequency
        request: dict[str, object] = {"id": self._request_id, "method": "subscribe", "params": params}
        if now is not None:
            request["nonce"] = int(now * 1000)
        return orjson.dumps(request).decode()

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": subscribe its channel again.

        "If pu does not match the last u, re-subscribe ... no unsubscribe is needed": the new
        subscription starts with a snapshot. The nonce is the receipt time of the frame that
        showed the loss.
        """
        owner = self._book_owner.get(symbol)
        if owner is None:
            return []
        book = self.books.book(symbol)
        now = book.updated if book is not None else None
        return [SendFrame(owner[0], self._subscribe([owner[1]], True, now))]
