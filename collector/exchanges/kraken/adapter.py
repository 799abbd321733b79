"""Kraken spot public market data, websocket v2 (live) and v1 (still served; cryptofeed's), id ``kraken``.

Channels (``../shared/exchanges/kraken.md``):

- trades  <- v2 ``trade`` (``side`` is the taker's, ``trade_id`` a sequence per book) or v1
  ``trade`` arrays (``b``/``s`` taker side, no trade id). v2 is subscribed with the trade
  snapshot (the 50 most recent trades): the first is emitted oldest first like the trades
  after it, a later one (after a reconnect) only for trades newer than the last seen.
- ticker  <- v2 ``ticker`` subscribed with ``event_trigger: "bbo"`` (the default trigger,
  ``trades``, misses best bid/offer changes without a trade), or v1 ``ticker``.
- book    <- v2 ``book`` / v1 ``book-<depth>``: a snapshot on the stream, then updates of
  absolute sizes, no sequence numbers (:data:`~collector.book.UNSEQUENCED`); the CRC32 of
  the top 10 levels checks every update (and v2 snapshots), and every book is truncated to
  its subscribed depth after each update because Kraken "does not send deletes for levels
  pushed out of your subscribed depth". A book is rebuilt by unsubscribing and subscribing it.
- candles <- v2 ``ohlc`` / v1 ``ohlc-<minutes>``.

The protocol follows the connection's URL: ``wss://ws.kraken.com/v2`` speaks v2 (what
:meth:`KrakenAdapter.plan` uses by default), ``wss://ws.kraken.com`` speaks v1. Book sizes
are base units; there are no contracts on spot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar, Literal
from urllib.parse import urlsplit

import orjson

from ...actions import RestRequest, SendFrame
from ...book import UNSEQUENCED, BookSync, OrderBook
from ...errors import UsageError
from ...models import Level
from ...symbols import Instrument
from ..base import Adapter, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .fast import FastRoutes
from .instruments import Digits, Pair, parse_asset_pairs
from .v1 import BOOK_DEPTHS, V1Parser
from .v2 import V2Parser

if TYPE_CHECKING:
    pass

__all__ = ["CANDLE_MINUTES", "KrakenAdapter", "Protocol", "protocol_of"]

Protocol = Literal["v1", "v2"]

CANDLE_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "30m": 30, "1h": 60, "4h": 240, "1d": 1440, "1w": 10080, "15d": 21600}
"""Unified candle interval -> the ``ohlc`` interval in minutes Kraken offers."""

_HOSTS = frozenset({"ws.kraken.com", "beta-ws.kraken.com"})
_ASSET_PAIRS = "/0/public/AssetPairs"


def protocol_of(url: str) -> Protocol:
    """``v2`` for a ``.../v2`` websocket address, else ``v1`` (``wss://ws.kraken.com``)."""
    return "v2" if urlsplit(url).path.rstrip("/").endswith("/v2") else "v1"


class KrakenAdapter(Adapter):
    """Kraken spot (see the module docstring); subscribe with ``BTC/USD``-style symbols.

    :attr:`book_depth` is the depth every book is subscribed at (10, 25, 100, 500 or
    1000); recordings are replayed at whatever depth they were subscribed.
    """

    id: ClassVar[str] = "kraken"
    simulator: ClassVar[str | None] = "sim:KrakenWire"
    # Kraken's public spot websocket hosts (v1 and v2 share them), production and beta.
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://ws.kraken.com/v2", rest="https://api.kraken.com")
    book_depth: ClassVar[int] = 100
    # Kraken documents no per-connection limit; keep connections to a size whose book
    # snapshots arrive quickly after a reconnect.
    symbols_per_connection: ClassVar[int] = 50
    # "The rate limit for websocket messages is dynamic ... 'Exceeded msg rate'": pace requests.
    control_interval: ClassVar[float] = 0.1
    # Heartbeats come "once every second in the absence of other updates" and do not count
    # as data; a minute without a data frame on a connection with books means a dead feed.
    idle_timeout: ClassVar[float] = 60.0
    # Public REST is throttled per IP at about one call per second; only AssetPairs is used.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=60, rate_limited=frozenset({403, 429}))
    match_params: ClassVar[tuple[str, ...]] = ("pair",)
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD", "ETH/USD")
    # Books publish in real time on every change and heartbeats touch every book of a quiet
    # connection each second; but a quiet pair on a busy connection gets neither, so allow
    # a minute before an unchanged book is rebuilt.
    book_stale_after: ClassVar[float] = 60.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self.pairs: dict[str, Pair] = {}  # unified symbol -> pair
        self._by_v1: dict[str, str] = {}  # v1 name "XBT/USD" -> unified symbol
        self._by_v2: dict[str, str] = {}  # v2 name "BTC/USD" -> unified symbol
        self._protocol: dict[str, Protocol] = {}  # connection -> protocol of its URL
        self._depth: dict[str, int] = {}  # symbol -> depth its book is subscribed at
        self._digits: dict[str, Digits] = {}  # symbol -> how its checksum prints prices and sizes
        self._book_conn: dict[str, str] = {}  # symbol -> connection carrying its book
        self._conn_books: dict[str, set[str]] = {}  # connection -> symbols whose books it carries
        self.last_trades: dict[str, int] = {}  # symbol -> highest v2 trade id seen
        self._v1 = V1Parser(self)
        self._v2 = V2Parser(self)
        self.fast = FastRoutes(self, self._by_v2)

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(
            self.id,
            UNSEQUENCED,
            self._resubscribe,
            top_n=book_top,
            checksum=self._checksum,
            exact=self._exact,
            depth=self.book_depth,
        )

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}{_ASSET_PAIRS}", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return [inst for inst, _ in parse_asset_pairs(self.id, body)]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill the instrument map and the v1/v2 websocket names of every pair."""
        listed = parse_asset_pairs(self.id, body)
        self.instruments.update(inst for inst, _ in listed)
        for _, pair in listed:
            self.pairs[pair.symbol] = pair
            self._by_v1[pair.v1] = pair.symbol
            self._by_v2[pair.symbol] = pair.symbol

    def pair_of(self, symbol: str) -> Pair:
        """The pair of a unified symbol; raises :class:`~collector.errors.UnknownSymbol`."""
        pair = self.pairs.get(symbol)
        if pair is None:
            self.instruments.by_symbol(symbol)  # raises UnknownSymbol with the usual hint
            raise UsageError(f"{self.id}: {symbol!r} has no websocket name")
        return pair

    def v1_symbol(self, name: str) -> str | None:
        """The unified symbol of a v1 websocket name (``XBT/USD``), ``None`` if not listed."""
        return self._by_v1.get(name)

    def v2_symbol(self, name: str) -> str | None:
        """The unified symbol of a v2 websocket name (``BTC/USD``), ``None`` if not listed."""
        return self._by_v2.get(name)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        self.stats["ignored.http." + request.purpose] += 1
        return []

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        protocol = protocol_of(self.endpoints.ws)
        wanted: dict[str, dict[tuple[str, int], None]] = {}  # symbol -> (channel, parameter), in order
        for sub in subscriptions:
            self.pair_of(sub.symbol)
            wanted.setdefault(sub.symbol, {})[self._channel_of(sub)] = None
        symbols = list(wanted)
        per = self.symbols_per_connection
        plans = []
        for shard, start in enumerate(range(0, len(symbols), per)):
            groups: dict[tuple[str, int], list[str]] = {}
            for symbol in symbols[start : start + per]:
                for key in wanted[symbol]:
                    groups.setdefault(key, []).append(symbol)
            frames = [self._request(protocol, "subscribe", key, names) for key, names in groups.items()]
            books = groups.get(("book", self.book_depth), [])
            plans.append(
                ConnectionPlan(
                    conn=f"{self.id}.{shard}",
                    url=self.endpoints.ws,
                    subscribe=frames,
                    control_interval=self.control_interval,
                    # Protocol pings detect a dead peer; Kraken answers them (and sends its own
                    # heartbeats, which only say the socket is up).
                    ping_interval=30.0,
                    ping_timeout=20.0,
                    idle_timeout=self.idle_timeout,
                    symbols=books,
                )
            )
        return plans

    def _channel_of(self, sub: Subscription) -> tuple[str, int]:
        if sub.channel == "trades":
            return "trade", 0
        if sub.channel == "ticker":
            return "ticker", 0
        if sub.channel == "book":
            if self.book_depth not in BOOK_DEPTHS:
                raise UsageError(f"{self.id}: no book depth {self.book_depth}; use one of {BOOK_DEPTHS}")
            return "book", self.book_depth
        if sub.channel == "candles":
            minutes = CANDLE_MINUTES.get(sub.interval)
            if minutes is None:
                raise UsageError(f"{self.id}: no ohlc interval {sub.interval!r}; use one of {tuple(CANDLE_MINUTES)}")
            return "ohlc", minutes
        raise UsageError(f"{self.id} offers no {sub.channel} channel")

    def _request(self, protocol: Protocol, method: str, key: tuple[str, int], symbols: list[str]) -> str:
        """One subscribe/unsubscribe request for ``symbols`` in the connection's protocol."""
        channel, param = key
        params: dict[str, object] = {}
        if channel == "book":
            params["depth"] = param
        elif channel == "ohlc":
            params["interval"] = param
        if protocol == "v1":
            names = [self.pairs[s].v1 for s in symbols]
            return orjson.dumps({"event": method, "pair": names, "subscription": {"name": channel, **params}}).decode()
        if method == "subscribe":
            if channel == "ticker":
                params["event_trigger"] = "bbo"  # "publish on every change of best bid/offer"
            elif channel == "book":
                params["snapshot"] = True
            elif channel == "trade":
                # Opt-in ("snapshot" defaults to false for trades): the 50 most recent trades,
                # which after a reconnect fill in what was missed while it was down.
                params["snapshot"] = True
        body = {"channel": channel, "symbol": symbols, **params}
        return orjson.dumps({"method": method, "params": body}).decode()

    def on_connect(self, plan: ConnectionPlan, received: float) -> Output:
        """Remember the connection's protocol, read from its URL."""
        protocol = self._protocol[plan.conn] = protocol_of(plan.url)
        if protocol == "v1":
            self.fast.v1(plan.conn)
        return super().on_connect(plan, received)

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Forget the connection's channel ids and which books it carried (after resetting them)."""
        out = super().on_disconnect(conn, reason, received, report=report)
        self._v1.forget(conn)
        for symbol in self._conn_books.pop(conn, ()):
            if self._book_conn.get(symbol) == conn:
                del self._book_conn[symbol]
        return out

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        protocol = self._protocol.get(conn)
        if protocol is None:
            protocol = _sniff(frame)
        if protocol == "v2":
            self._v2.parse(conn, frame, received, out)
        else:
            self._v1.parse(conn, frame, received, out)
        return out

    # -- books (called by the protocol parsers) ---------------------------------------------------

    def book_subscribed(self, conn: str, symbol: str, depth: int | None) -> None:
        """A subscription ack: ``symbol``'s book comes on ``conn`` at ``depth``."""
        if depth in BOOK_DEPTHS:
            self._set_depth(symbol, depth)
        self._carry(conn, symbol)

    def book_depth_of(self, symbol: str, depth: int) -> None:
        """The depth a v1 message names in its channel (``book-<depth>``)."""
        self._set_depth(symbol, depth)

    def _set_depth(self, symbol: str, depth: int) -> None:
        # Kraken sends no delete for a level pushed out of the subscribed depth: each book is
        # cut back to its own depth after every update.
        if self._depth.get(symbol) != depth:
            self._depth[symbol] = depth
            self.books.set_depth(symbol, depth)

    def book_snapshot(
        self,
        conn: str,
        symbol: str,
        bids: list[Level],
        asks: list[Level],
        timestamp: float | None,
        received: float,
        checksum: int | None,
        places: tuple[int, int] | None,
        out: Output,
    ) -> None:
        """Load a snapshot; ``places`` are the decimals its levels were printed with (v1), else the pair's."""
        pair = self.pairs[symbol]
        price_places, size_places = places if places is not None else (pair.price_decimals, pair.lot_decimals)
        digits = self._digits.get(symbol)
        if digits is None or (digits.price_decimals, digits.size_decimals) != (price_places, size_places):
            self._digits[symbol] = Digits(price_places, size_places)
        self._carry(conn, symbol)
        self.books.snapshot(out, symbol, bids, asks, None, timestamp, received, checksum)

    def book_update(
        self,
        conn: str,
        symbol: str,
        bids: list[Level],
        asks: list[Level],
        timestamp: float | None,
        received: float,
        checksum: int | None,
        out: Output,
    ) -> None:
        """Apply an update (absolute sizes, 0 removes), truncate to the subscribed depth, check the CRC."""
        self.books.delta(out, symbol, bids, asks, 0, 0, None, timestamp, received, checksum)

    def heartbeat(self, conn: str, received: float) -> None:
        """A heartbeat on ``conn``: nothing changed on its books, which are therefore not stale."""
        for symbol in self._conn_books.get(conn, ()):
            self.books.touch(symbol, received)

    def _carry(self, conn: str, symbol: str) -> None:
        self._book_conn[symbol] = conn
        self._conn_books.setdefault(conn, set()).add(symbol)
        carried = self._conn_symbols.setdefault(conn, [])
        if symbol not in carried:
            carried.append(symbol)

    def _checksum(self, symbol: str, book: OrderBook) -> int:
        return self._digits_of(symbol).checksum(book)

    def _exact(self, symbol: str, book: OrderBook) -> bool:
        return self._digits_of(symbol).exact(book)

    def _digits_of(self, symbol: str) -> Digits:
        digits = self._digits.get(symbol)
        if digits is None:
            pair = self.pairs[symbol]
            digits = self._digits[symbol] = Digits(pair.price_decimals, pair.lot_decimals)
        return digits

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe it again on its connection.

        Kraken's recovery rule: "unsubscribe + resubscribe book for that symbol (fresh
        snapshot)"; subscribing a book that is still subscribed is refused.
        """
        conn = self._book_conn.get(symbol)
        if conn is None or symbol not in self.pairs:
            return []
        protocol = self._protocol.get(conn, "v2")
        key = ("book", self._depth.get(symbol, self.book_depth))
        return [
            SendFrame(conn, self._request(protocol, "unsubscribe", key, [symbol])),
            SendFrame(conn, self._request(protocol, "subscribe", key, [symbol])),
        ]


def _sniff(frame: str | bytes) -> Protocol:
    """The protocol of a frame on a connection this adapter did not open: v1 sends arrays and
    objects keyed by ``event`` (``{"channelID":..,"event":"subscriptionStatus"}``), v2 objects
    keyed by ``channel`` or ``method``."""
    text = frame if isinstance(frame, str) else frame.decode("utf-8", "replace")
    if text[:1] == "[" or ('"event"' in text and '"channel"' not in text and '"method"' not in text):
        return "v1"
    return "v2"
