"""Coinbase Advanced Trade public market data, adapter id ``coinbase``.

Channels (``../shared/exchanges/coinbase.md``), all on ``wss://advanced-trade-ws.coinbase.com``:

- trades  <- ``market_trades``. ``side`` is the side of the *maker* order (a ``SELL``
  trade prints at the best ask: a buyer took it), so the taker side is its opposite.
  The snapshot of recent trades sent on subscribe is emitted too; trades are
  de-duplicated by trade id per product, so a resubscription does not repeat them.
- ticker  <- ``ticker`` (every match; ``ticker_batch`` is read as well). Its best bid/ask
  is trade-driven, not a real-time BBO: for that, read the ``level2`` book.
- book    <- ``level2``, received as ``l2_data``: a snapshot then updates of absolute
  sizes on the stream, no update ids (:data:`~collector.book.UNSEQUENCED`). Losses are
  caught by ``sequence_num``, a counter per connection shared by all channels: a jump
  resyncs every book of that connection (reason ``gap``) and resubscribes ``level2``,
  which brings fresh snapshots.
- candles <- ``candles``: five-minute buckets only, updated every second; a bucket is
  emitted ``closed`` once the next one starts (its last update was its final state).
- ``heartbeats`` (subscribed on every connection, one a second) keeps quiet
  subscriptions open; it counts as a control frame and touches the connection's books.

Units: spot sizes are base units. Futures trade amounts, ticker volumes and candle
volumes are converted to base units (contracts times ``contract_size``); futures book
sizes and ticker best bid/ask sizes stay in contracts, as on the wire. Coinbase
publishes no open interest on the websocket.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec
import orjson

from ...actions import RestRequest, SendFrame
from ...book import UNSEQUENCED, BookState, BookSync
from ...errors import UsageError
from ...models import Level, Side, Trade
from ...symbols import Instrument
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .instruments import PRODUCTS_PATH, decode_products, instrument, listed, next_page
from .parse import Buckets, TradeIds, rfc3339, ticker_event
from .schemas import (
    Candles,
    Heartbeats,
    L2Data,
    Loose,
    LooseEvent,
    MarketTrades,
    Message,
    Products,
    Subscriptions,
    TickerBatch,
    TickerMessage,
)

if TYPE_CHECKING:
    pass

__all__ = ["CoinbaseAdapter"]

_message = msgspec.json.Decoder(Message, strict=False)
_loose = msgspec.json.Decoder(Loose)
_loose_events = msgspec.json.Decoder(list[LooseEvent] | None)

_WIRE_CHANNELS = {"book": "level2", "trades": "market_trades", "candles": "candles"}
# Channels of the market-data feed this adapter reads no events from: public ``status``,
# and the authenticated ones a recorder with a key may have subscribed.
_UNUSED = frozenset({"status", "user", "futures_balance_summary"})
_READ = frozenset({"l2_data", "market_trades", "ticker", "ticker_batch", "candles", "heartbeats", "subscriptions"})
_KEYED_PRODUCTS = "/api/v3/brokerage/products"
_HOSTS = frozenset({"advanced-trade-ws.coinbase.com", "advanced-trade-ws-user.coinbase.com"})
_Route = tuple[str, float]  # (unified symbol, contract size) of a native product id


class CoinbaseAdapter(Adapter):
    """Coinbase Advanced Trade: spot (``BTC/USD``) and Coinbase Derivatives futures
    (``BTC/USD:USD-260424``, perpetual-style ``BTC/USD:USD``) on one public websocket.

    Subscribe with unified symbols; ``candles`` come in ``5m`` only. A ``-USDC`` product
    that Coinbase aliases to its ``-USD`` twin (``BTC-USDC`` -> ``BTC-USD``) is served
    from the twin's feed under the symbol asked for; subscribing both twins is refused.
    """

    id: ClassVar[str] = "coinbase"
    simulator: ClassVar[str | None] = "sim:CoinbaseWire"
    # The market-data host (and the user-data host, which serves heartbeats too).
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://advanced-trade-ws.coinbase.com", rest="https://api.coinbase.com"
    )
    # Candles come in one interval, 5m, while a subscription's interval defaults to 1m:
    # candles are subscribed when asked for, with interval "5m".
    default_channels: ClassVar[tuple[Channel, ...] | None] = ("trades", "ticker", "book")
    ticker_channel: ClassVar[str] = "ticker"
    """``ticker`` (every match) or ``ticker_batch`` (at most every 5 s)."""
    # "Unauthenticated messages are rate-limited at 8 per second per IP address": the
    # plans of one adapter share that budget.
    messages_per_second: ClassVar[float] = 8.0
    # No documented limit on products per connection or per subscribe message; modest
    # shards keep one connection's rate well within what a consumer reads.
    products_per_connection: ClassVar[int] = 100
    products_per_message: ClassVar[int] = 100
    # Protocol pings: Coinbase has no application ping (heartbeats are its keepalive).
    ping_interval: ClassVar[float] = 20.0
    # A listed product's book changes many times a minute; trades and tickers of a quiet
    # product may pause for minutes (heartbeats do not count as data).
    idle_timeout: ClassVar[float] = 60.0
    idle_timeout_without_books: ClassVar[float] = 300.0
    # "Public endpoints: 10 requests per second per IP."
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600)
    match_params: ClassVar[tuple[str, ...]] = ("product_id",)
    match_scope: ClassVar[tuple[str, ...]] = ("product_type",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD", "ETH/USD")
    # "Connections: 8 per second per IP."
    connect_limit: ClassVar[tuple[int, float] | None] = (8, 1.0)
    # Heartbeats arrive every second on every connection and touch its books, so ten
    # silent seconds mean the whole feed has stopped, not that the market is quiet.
    book_stale_after: ClassVar[float] = 10.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._route: dict[str, _Route] = {}  # native product id -> (unified symbol, contract size)
        self._alias: dict[str, str] = {}  # BTC-USDC -> BTC-USD: whose market data it shares
        self._seq: dict[str, int] = {}  # conn -> last sequence_num
        self._l2: dict[str, dict[str, str]] = {}  # conn -> {symbol: product} of the books it carries
        self._book_conn: dict[str, tuple[str, str]] = {}  # symbol -> (conn, product) of its level2 feed
        self._planned: dict[str, dict[str, str]] = {}  # conn -> {symbol: product} of its planned books
        self._trade_ids: dict[str, TradeIds] = {}
        self._buckets = Buckets(self.id)
        self._quiet = False  # a connection-wide gap resubscribes once, not per book
        self._handlers: dict[type, Callable[[str, Any, float, Output], None]] = {
            L2Data: self._on_l2,
            MarketTrades: self._on_trades,
            TickerMessage: self._on_ticker,
            TickerBatch: self._on_ticker,
            Candles: self._on_candles,
            Heartbeats: self._on_heartbeat,
            Subscriptions: self._on_subscriptions,
        }

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, UNSEQUENCED, self._resubscribe, top_n=book_top)

    @classmethod
    def match_key(cls, url: str) -> tuple[str, str, str]:
        """As :meth:`Adapter.match_key`, with the authenticated product listing taken for the public one.

        ``/api/v3/brokerage/products`` lists the same products in the same shape as
        ``/api/v3/brokerage/market/products``; a recorder holding an API key may have used it.
        """
        host, endpoint, instrument = super().match_key(url)
        if endpoint.startswith(_KEYED_PRODUCTS):
            endpoint = PRODUCTS_PATH + endpoint[len(_KEYED_PRODUCTS) :]
        return host, endpoint, instrument

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        # The listing has spot products only unless futures are asked for by product_type.
        url = f"{self.endpoints.rest}{PRODUCTS_PATH}"
        return [RestRequest(url, "instruments"), RestRequest(f"{url}?product_type=FUTURE", "instruments")]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        page = decode_products(body)
        return [inst for p in page.products if (inst := instrument(self.id, p)) is not None]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        self._add_products(body)

    def _add_products(self, body: bytes) -> Products:
        """Map a listing page's products (native id -> symbol, USDC aliases); raises on a bad page."""
        page = decode_products(body)
        accepted, duplicates = listed(self.id, page, self.instruments)
        if duplicates:
            self.stats["instruments.duplicate_symbol"] += duplicates
        for p, inst in accepted:
            self._route[p.product_id] = (inst.symbol, inst.contract_size)
            if p.alias and p.product_type == "SPOT":
                # "-USDC product IDs ... return the same data as the matching -USD product."
                self._alias[p.product_id] = p.alias
        return page

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        out: Output = []
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return out
        if status != 200:
            out.append(self.error("rest", "http_status", f"{status} {request.url}", received, frame=body))
            return out
        try:
            url = next_page(request.url, self._add_products(body))
        except (msgspec.DecodeError, ValueError) as exc:
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received))
            return out
        if url is not None:
            out.append(RestRequest(url, "instruments"))
        return out

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        wanted: dict[str, dict[str, str]] = {}  # wire channel -> {product: symbol}
        owner: dict[str, str] = {}  # product -> the symbol whose events it carries
        for sub in subscriptions:
            inst = self.instruments.by_symbol(sub.symbol)  # UnknownSymbol names the valid form
            if sub.channel == "candles" and sub.interval != "5m":
                raise UsageError(
                    f"{self.id}: candles come in 5m buckets only, not {sub.interval!r}; subscribe them with interval 5m"
                )
            channel = self.ticker_channel if sub.channel == "ticker" else _WIRE_CHANNELS.get(sub.channel)
            if channel is None:
                raise UsageError(f"{self.id}: no {sub.channel!r} channel; use one of {self.channels}")
            product = self._alias.get(inst.native, inst.native)
            if owner.setdefault(product, sub.symbol) != sub.symbol:
                raise UsageError(
                    f"{self.id}: {owner[product]} and {sub.symbol} are one market ({product}) on Coinbase; "
                    "subscribe one of them"
                )
            wanted.setdefault(channel, {})[product] = sub.symbol
        for product, symbol in owner.items():
            self._route[product] = (symbol, self.instruments.by_symbol(symbol).contract_size)
        products = list(owner)
        per = self.products_per_connection
        shards = [products[i : i + per] for i in range(0, len(products), per)]
        plans = []
        for n, shard in enumerate(shards):
            frames = [orjson.dumps({"type": "subscribe", "channel": "heartbeats"}).decode()]
            for channel in ("level2", "market_trades", self.ticker_channel, "candles"):
                chosen = [p for p in shard if p in wanted.get(channel, {})]
                frames += _requests("subscribe", channel, chosen, self.products_per_message)
            books = {owner[p]: p for p in shard if p in wanted.get("level2", {})}
            conn = f"{self.id}.{n}"
            self._planned[conn] = books
            plans.append(
                ConnectionPlan(
                    conn=conn,
                    url=self.endpoints.ws,
                    subscribe=frames,
                    control_interval=len(shards) / self.messages_per_second,
                    ping_interval=self.ping_interval,
                    ping_timeout=self.ping_interval,
                    idle_timeout=self.idle_timeout if books else self.idle_timeout_without_books,
                    symbols=list(books),
                )
            )
        return plans

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """A new connection numbers ``sequence_num`` from 0 again."""
        self._seq.pop(plan.conn, None)
        carried = self._l2.setdefault(plan.conn, {})
        for symbol, product in self._planned.get(plan.conn, {}).items():
            carried[symbol] = product
            self._book_conn[symbol] = (plan.conn, product)
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Reset every book the connection carried, planned or found in its frames."""
        self._seq.pop(conn, None)
        out = super().on_disconnect(conn, reason, received, report=report)
        planned = set(self.conn_symbols(conn))
        found = [s for s in self._l2.get(conn, {}) if s not in planned]
        self.books.reset(out, found, "reconnect", received, report=report)
        return out

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        try:
            msg = _message.decode(frame)
        except msgspec.DecodeError as exc:
            self._undecodable(conn, frame, str(exc), received, out)
            return out
        if msg.sequence_num is not None:
            self._sequence(conn, msg.sequence_num, received, out)
        try:
            self._handlers[type(msg)](conn, msg, received, out)
        except ValueError as exc:  # a time or ticker value that is no number
            out.append(self.error(conn, "malformed", f"{type(msg).__name__}: {exc}", received, frame=frame))
        return out

    def _sequence(self, conn: str, seq: int, received: float, out: Output) -> None:
        last = self._seq.get(conn)
        self._seq[conn] = seq
        if last is None or seq == last + 1:
            return
        # sequence_num counts every message of the connection: whatever was lost may have
        # been any product's l2 update, so every book on it is rebuilt.
        self.stats["sequence_gaps"] += 1
        carried = self._l2.get(conn)
        if not carried:
            return
        detail = f"sequence_num jumped from {last} to {seq}"
        self._quiet = True
        try:
            for symbol in carried:
                if self.books.state(symbol) is BookState.LIVE:
                    self.books.resync(out, symbol, "gap", detail, received)
        finally:
            self._quiet = False
        out.extend(self._level2_frames(conn, list(carried.values())))

    def _undecodable(self, conn: str, frame: str | bytes, problem: str, received: float, out: Output) -> None:
        """A frame no channel struct takes: an error reply, an unused channel, or bad input."""
        try:
            loose = _loose.decode(frame)
        except msgspec.DecodeError:
            out.append(self.error(conn, "malformed", problem, received, frame=frame))
            return
        if loose.sequence_num is not None:
            self._sequence(conn, loose.sequence_num, received, out)
        channel = loose.channel
        if loose.type == "error":
            # Coinbase's refusal: {"type":"error","message":"..."}.
            self.control()
            out.append(self.error(conn, "rejected", loose.message[:300], received))
        elif channel in _UNUSED:
            self.control(channel)
        elif channel not in _READ:
            reason = "unknown_channel" if channel else "unknown_message"
            out.append(self.error(conn, reason, channel[:100] or "no channel", received, frame=frame))
        else:
            out.append(self.error(conn, "malformed", f"{channel}: {problem}", received, frame=frame))
            if channel == "l2_data" and loose.events:
                # An update that cannot be read is an update lost: its book cannot be trusted.
                try:
                    events = _loose_events.decode(loose.events)
                except msgspec.DecodeError:
                    return
                for event in events or ():
                    route = self._route.get(event.product_id)
                    if route is not None and self.books.state(route[0]) is BookState.LIVE:
                        self.books.resync(out, route[0], "invalid", "an l2_data frame could not be read", received)

    def _unknown(self, conn: str, product: str, received: float, out: Output) -> None:
        out.append(self.error(conn, "unknown_symbol", f"no product {product[:100]!r}", received))

    def _on_l2(self, conn: str, msg: L2Data, received: float, out: Output) -> None:
        ts = rfc3339(msg.timestamp) if msg.timestamp else None
        books = self.books
        for event in msg.events:
            product = event.product_id
            route = self._route.get(product)
            if route is None:
                self._unknown(conn, product, received, out)
                continue
            symbol = route[0]
            where = self._book_conn.get(symbol)
            if where is None or where[0] != conn:
                self._carry(conn, symbol, product)
            updates = event.updates
            bids: list[Level] = [(u.price_level, u.new_quantity) for u in updates if u.side == "bid"]
            asks: list[Level] = [(u.price_level, u.new_quantity) for u in updates if u.side != "bid"]
            if event.type == "update":
                # "new_quantity is the new absolute size at that level"; "0" removes it.
                books.delta(out, symbol, bids, asks, 0, 0, None, ts, received)
            elif event.type == "snapshot":
                # A snapshot (again after a resubscription) replaces the book, never merges.
                books.snapshot(out, symbol, bids, asks, None, ts, received)
            else:
                out.append(self.error(conn, "malformed", f"l2_data event type {event.type[:20]!r}", received, symbol))

    def _carry(self, conn: str, symbol: str, product: str) -> None:
        """Remember that ``symbol``'s level2 feed arrives on ``conn`` (for gaps and resubscriptions)."""
        previous = self._book_conn.get(symbol)
        if previous is not None:
            self._l2.get(previous[0], {}).pop(symbol, None)
        self._book_conn[symbol] = (conn, product)
        self._l2.setdefault(conn, {})[symbol] = product

    def _on_trades(self, conn: str, msg: MarketTrades, received: float, out: Output) -> None:
        for event in msg.events:
            # "Trades inside one message are newest first": emit them in the order they happened.
            for t in reversed(event.trades):
                route = self._route.get(t.product_id)
                if route is None:
                    # One unknown product costs its own trade, not the rest of the message.
                    self._unknown(conn, t.product_id, received, out)
                    continue
                symbol, contract = route
                ts = rfc3339(t.time)
                ids = self._trade_ids.get(symbol)
                if ids is None:
                    ids = self._trade_ids[symbol] = TradeIds()
                if not ids.fresh(t.trade_id):
                    self.stats["ignored.duplicate_trade"] += 1
                    continue
                # side is the maker's: a SELL maker order was taken by a buyer.
                side: Side = "buy" if t.side == "SELL" else "sell"
                out.append(Trade(self.id, symbol, ts, received, t.price, t.size * contract, side, t.trade_id))

    def _on_ticker(self, conn: str, msg: TickerMessage | TickerBatch, received: float, out: Output) -> None:
        ts = rfc3339(msg.timestamp) if msg.timestamp else None
        for event in msg.events:
            for t in event.tickers:
                if not t.product_id:
                    # ticker_batch has been seen to carry records of empty strings.
                    self.stats["ignored.empty_ticker"] += 1
                    continue
                route = self._route.get(t.product_id)
                if route is None:
                    self._unknown(conn, t.product_id, received, out)
                    continue
                out.append(ticker_event(self.id, route[0], t, route[1], ts, received))

    def _on_candles(self, conn: str, msg: Candles, received: float, out: Output) -> None:
        ts = rfc3339(msg.timestamp) if msg.timestamp else None
        for event in msg.events:
            # A snapshot holds up to 100 buckets, oldest first, the last one still forming.
            for c in event.candles:
                route = self._route.get(c.product_id)
                if route is None:
                    self._unknown(conn, c.product_id, received, out)
                elif not self._buckets.take(out, route[0], c, route[1], ts, received):
                    self.stats["ignored.old_candle"] += 1  # a resubscription's snapshot repeats closed buckets

    def _on_heartbeat(self, conn: str, msg: Heartbeats, received: float, out: Output) -> None:
        # "Subscribe to heartbeats to keep all subscriptions open": the feed is alive even
        # if a quiet book has not changed.
        self.control("heartbeats")
        touch = self.books.touch
        for symbol in self._l2.get(conn, ()):
            touch(symbol, received)

    def _on_subscriptions(self, conn: str, msg: Subscriptions, received: float, out: Output) -> None:
        self.control("subscriptions")

    # -- resubscription -------------------------------------------------------------------------

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe its ``level2`` product again.

        The ``level2`` channel "starts with a full snapshot" on every subscription; the
        unsubscribe first makes sure the subscription is new.
        """
        where = self._book_conn.get(symbol)
        if where is None or self._quiet:
            return []
        return self._level2_frames(*where)

    def _level2_frames(self, conn: str, products: str | list[str]) -> list[SendFrame]:
        chosen = [products] if isinstance(products, str) else products
        per = self.products_per_message
        frames = _requests("unsubscribe", "level2", chosen, per) + _requests("subscribe", "level2", chosen, per)
        return [SendFrame(conn, frame) for frame in frames]


def _requests(kind: str, channel: str, products: list[str], per: int) -> list[str]:
    """``{"type":"subscribe","product_ids":[...],"channel":...}`` messages, ``per`` products each.

    "One channel per subscribe message": each channel gets its own messages.
    """
    return [
        orjson.dumps({"type": kind, "product_ids": products[i : i + per], "channel": channel}).decode()
        for i in range(0, len(products), per)
    ]
