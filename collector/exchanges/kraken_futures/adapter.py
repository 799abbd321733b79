"""Kraken Futures public market data (``wss://futures.kraken.com/ws/v1``), id ``kraken_futures``.

Channels (official docs, futures websocket feeds):

- trades        <- ``trade`` (``side`` is the taker's; ``qty`` contracts, converted to base
  units: inverse ``qty * contractSize / price``, linear ``qty * contractSize``), and
  ``trade_snapshot`` (recent trades, on every subscribe): the first is emitted oldest first,
  a later one (after a reconnect) only for trades newer than the last one seen.
- liquidations  <- ``trade`` messages of ``type`` ``liquidation`` (the liquidation order is the taker).
- ticker        <- ``ticker`` (best bid/ask with sizes) or ``ticker_lite`` when a recording
  subscribed that one (no sizes).
- funding       <- ``ticker``: mark and index price, ``relative_funding_rate`` (the fraction
  of notional charged for the current hour; ``funding_rate`` is an absolute amount per
  contract, not a rate), its prediction, ``next_funding_rate_time`` and open interest.
- book          <- ``book_snapshot`` then one ``book`` message per changed level, whose
  ``seq`` must be exactly the previous one + 1 (:data:`~collector.book.NEXT_ID`); a book
  is rebuilt by unsubscribing and subscribing it, which sends a new snapshot.

Book and ticker sizes are contracts: USD for inverse contracts (``PI_``/``FI_``), base
units for linear ones (``PF_``/``FF_``, ``contractSize`` 1). Open interest is in
contracts; its value is in USD.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

import msgspec
import orjson

from ...actions import RestRequest, SendFrame
from ...book import NEXT_ID, BookSync
from ...errors import UsageError
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .fast import FastRoutes
from .feeds import Feeds, Product
from .instruments import parse_instruments
from .schemas import Envelope

if TYPE_CHECKING:
    pass

__all__ = ["FEEDS", "KrakenFuturesAdapter"]

FEEDS: dict[Channel, str] = {
    "trades": "trade",
    "liquidations": "trade",
    "ticker": "ticker",
    "funding": "ticker",
    "book": "book",
}
"""Unified channel -> the feed that carries it."""

_envelope = msgspec.json.Decoder(Envelope)

_PREFIX = '{"feed":"'
_HOSTS = frozenset({"futures.kraken.com", "demo-futures.kraken.com"})
_INSTRUMENTS = "/derivatives/api/v3/instruments"
# Private feeds (and their snapshots) a recording of an authenticated session may hold.
_PRIVATE = frozenset(
    f + suffix
    for f in ("open_orders", "open_orders_verbose", "open_positions", "fills", "balances", "account_log")
    for suffix in ("", "_snapshot")
) | {"notifications_auth", "deposits_withdrawals"}
_REJECTIONS = frozenset({"error", "alert", "subscribed_failed", "unsubscribed_failed"})

_Handler = Callable[[str, str | bytes, float, Output], None]


class KrakenFuturesAdapter(Adapter):
    """Kraken Futures (see the module docstring): ``BTC/USD:BTC`` (``PI_XBTUSD``),
    ``BTC/USD:USD`` (``PF_XBTUSD``), ``BTC/USD:BTC-YYMMDD`` (``FI_XBTUSD_YYMMDD``)."""

    id: ClassVar[str] = "kraken_futures"
    simulator: ClassVar[str | None] = "sim:KrakenFuturesWire"
    # Kraken Futures' production and demo websocket hosts.
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://futures.kraken.com/ws/v1", rest="https://futures.kraken.com"
    )
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "funding", "liquidations")
    # No documented per-connection subscription cap; keep a connection's snapshots small.
    products_per_connection: ClassVar[int] = 100
    # "100 requests per second" per connection: far below that.
    control_interval: ClassVar[float] = 0.05
    idle_timeout: ClassVar[float] = 60.0
    # Public market-data endpoints "do not have a cost"; only the instrument list is asked for.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600, rate_limited=frozenset({403, 429}))
    match_params: ClassVar[tuple[str, ...]] = ()
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD:BTC", "BTC/USD:USD")
    # Book messages are published on every change, and the subscribed heartbeat feed touches
    # every book of its connection, so only a stalled feed leaves a book silent for a minute.
    book_stale_after: ClassVar[float] = 60.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self.derivatives = DerivativeTickers(self.id)
        self.products: dict[str, Product] = {}  # websocket product id -> contract
        self._wants: dict[str, set[Channel]] = {}  # symbol -> channels asked for (empty: replay, all)
        self.lite: set[tuple[str, str]] = set()  # (conn, symbol) whose quote comes from ticker_lite
        self._book_conn: dict[str, str] = {}
        self._conn_books: dict[str, set[str]] = {}
        self._conn_tickers: dict[str, set[str]] = {}  # conn -> symbols whose derivative ticker it feeds
        self.last_trade: dict[str, int] = {}  # symbol -> highest trade seq seen
        feeds = Feeds(self)
        self.fast = FastRoutes(self, feeds)
        self._routes: dict[str, _Handler] = {
            "book": feeds.delta,
            "book_snapshot": feeds.snapshot,
            "trade": feeds.trade,
            "trade_snapshot": feeds.trade_snapshot,
            "ticker": feeds.ticker,
            "ticker_lite": feeds.ticker_lite,
        }

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, NEXT_ID, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}{_INSTRUMENTS}", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return parse_instruments(self.id, body)

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill the instrument map and what each product's messages need (contract size, kind)."""
        instruments = parse_instruments(self.id, body)
        self.instruments.update(instruments)
        for inst in instruments:
            inverse = inst.settle == inst.base
            product = Product(inst.symbol, inverse, inst.contract_size, inst.expiry is None)
            self.products[inst.native] = product
            self.fast.listed(inst.native, product)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        self.stats["ignored.http." + request.purpose] += 1
        return []

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        wanted: dict[str, dict[str, None]] = {}  # product -> feeds, in order
        self._wants = {}
        for sub in subscriptions:
            feed = FEEDS.get(sub.channel)
            if feed is None:
                raise UsageError(f"{self.id} has no {sub.channel} channel; it offers {', '.join(self.channels)}")
            native = self.instruments.by_symbol(sub.symbol).native
            wanted.setdefault(native, {})[feed] = None
            self._wants.setdefault(sub.symbol, set()).add(sub.channel)
        self.fast.trade_symbols.clear()  # routed again once a trade shows they are still wanted
        products = list(wanted)
        per = self.products_per_connection
        plans = []
        for shard, start in enumerate(range(0, len(products), per)):
            feeds: dict[str, list[str]] = {}
            for native in products[start : start + per]:
                for feed in wanted[native]:
                    feeds.setdefault(feed, []).append(native)
            # The heartbeat feed says the connection is alive while books are quiet.
            frames = [_request("subscribe", "heartbeat", None)]
            frames += [_request("subscribe", feed, natives) for feed, natives in feeds.items()]
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{shard}",
                    url=self.endpoints.ws,
                    subscribe=frames,
                    control_interval=self.control_interval,
                    # "Send a ping at least every 60 seconds to keep the connection open."
                    ping_interval=30.0,
                    ping_timeout=20.0,
                    idle_timeout=self.idle_timeout,
                    symbols=[self.products[n].symbol for n in feeds.get("book", [])],
                )
            )
        return plans

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset the connection's books and forget its quote feeds; tickers restart with fresh values."""
        out = super().on_disconnect(conn, reason, received, report=report)
        self.lite = {(c, s) for c, s in self.lite if c != conn}
        for symbol in self._conn_books.pop(conn, ()):
            if self._book_conn.get(symbol) == conn:
                del self._book_conn[symbol]
        for symbol in self._conn_tickers.pop(conn, ()):
            self.derivatives.forget(symbol)
        return out

    def ticker_on(self, conn: str, symbol: str) -> None:
        """``conn`` feeds ``symbol``'s derivative ticker (forgotten when the connection drops)."""
        tickers = self._conn_tickers.get(conn)
        if tickers is None:
            tickers = self._conn_tickers[conn] = set()
        tickers.add(symbol)

    def wants(self, symbol: str, channel: Channel) -> bool:
        """Whether ``channel`` of ``symbol`` was asked for (everything, when replaying a recording)."""
        wants = self._wants.get(symbol)
        return wants is None or channel in wants

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        if type(frame) is str and frame.startswith(_PREFIX):
            feed = frame[9 : frame.find('"', 9)]
        else:
            try:
                env = _envelope.decode(frame)
            except msgspec.DecodeError as exc:
                out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
                return out
            if env.event:
                self._reply(conn, env, received, out, frame)
                return out
            feed = env.feed
        handler = self._routes.get(feed)
        if handler is None:
            if feed == "heartbeat":
                for symbol in self._conn_books.get(conn, ()):
                    self.books.touch(symbol, received)
                self.control("heartbeat")
            elif feed in _PRIVATE:
                self.control(feed)
            else:
                out.append(self.error(conn, "unknown_feed", feed[:50] or "no feed", received, frame=frame))
            return out
        try:
            handler(conn, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{feed}: {exc}", received, frame=frame))
        return out

    def _reply(self, conn: str, env: Envelope, received: float, out: Output, frame: str | bytes) -> None:
        event = env.event
        if event in _REJECTIONS:
            self.control()
            about = " ".join([env.feed, *(env.product_ids or ())]).strip()
            detail = f"{event} {about}: {env.message[:200]}" if about else f"{event}: {env.message[:200]}"
            out.append(self.error(conn, "rejected", detail, received))
            return
        if event not in ("subscribed", "unsubscribed", "info", "challenge"):
            out.append(self.error(conn, "unknown_message", f"event {event[:50]!r}", received, frame=frame))
            return
        self.control("ack" if event != "info" else "info")
        for native in env.product_ids or ():
            product = self.products.get(native.upper())
            if product is None:
                continue
            if env.feed == "ticker_lite":
                if event == "subscribed":
                    self.lite.add((conn, product.symbol))
                else:
                    self.lite.discard((conn, product.symbol))
            elif env.feed == "book" and event == "subscribed":
                self.carry(conn, product.symbol)

    # -- books ----------------------------------------------------------------------------------

    def carry(self, conn: str, symbol: str) -> None:
        """``conn`` carries ``symbol``'s book (its heartbeats keep it fresh; it is resubscribed there)."""
        self._book_conn[symbol] = conn
        self._conn_books.setdefault(conn, set()).add(symbol)
        carried = self._conn_symbols.setdefault(conn, [])
        if symbol not in carried:
            carried.append(symbol)

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe it; the subscription sends a ``book_snapshot``."""
        conn = self._book_conn.get(symbol)
        if conn is None or symbol not in self.instruments:
            return []
        native = self.instruments.by_symbol(symbol).native
        return [
            SendFrame(conn, _request("unsubscribe", "book", [native])),
            SendFrame(conn, _request("subscribe", "book", [native])),
        ]


def _request(event: str, feed: str, products: list[str] | None) -> str:
    body: dict[str, object] = {"event": event, "feed": feed}
    if products is not None:
        body["product_ids"] = products
    return orjson.dumps(body).decode()
