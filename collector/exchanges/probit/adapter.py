"""ProBit adapter (``probit``): ProBit Global spot markets (and ProBit Korea's, same API).

Everything comes from one multiplexed channel, ``marketdata``, subscribed per market with
a list of filters (``../shared/exchanges/probit.md``, docs-en.probit.com "marketdata"):

- book    <- ``order_books`` (raw price levels; a recording's ``order_books_l0`` ...
  ``order_books_l4`` grouped books are read the same way): ``reset: true`` carries the
  whole book, later messages the changed levels with absolute sizes (``"0"`` removes).
  No sequence and no checksum exist, so books follow
  :data:`~collector.book.UNSEQUENCED`: a loss shows only as a crossed book or silence,
  and a resync resubscribes the market, which answers with a fresh ``reset``.
- trades  <- ``recent_trades``: the last 100 trades on (re)subscription, then new ones;
  trades already seen are dropped by id. ``side`` is the taker side.
- ticker  <- ``ticker``: last price and 24 h statistics; ProBit has no best bid/offer, so
  the ticker carries the maintained book's when the book is subscribed.

Book sizes are base units; ProBit lists spot markets only (no contracts, no open interest).

Keepalive is not documented: protocol pings watch the peer and a connection with no
data for :attr:`ProbitAdapter.idle_timeout` is replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import msgspec
import orjson

from ...actions import RestRequest, SendFrame
from ...book import UNSEQUENCED, BookSync
from ...errors import UnknownChannel
from ...models import Level, Side, Ticker, Trade
from ...symbols import Instrument, unified_symbol
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription
from .schemas import BookEntry, MarketData, MarketList, RecentTrade, TickerData

__all__ = ["BOOK_FILTERS", "INTERVALS", "ProbitAdapter"]

_message = msgspec.json.Decoder(MarketData, strict=False)
_markets = msgspec.json.Decoder(MarketList, strict=False)

BOOK_FILTERS = ("order_books", "order_books_l0", "order_books_l1", "order_books_l2", "order_books_l3", "order_books_l4")
"""Book filters: raw price levels, then price-grouped books at increasing aggregation."""

INTERVALS = (100, 500)
""""interval: update batching period in ms -- 100 or 500 only (invalid -> error)"."""

_SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
# ProBit's other channels: public exchange rates and the private ones (a shared socket may carry them).
_UNUSED = frozenset({"exchange_rate", "open_order", "order_history", "trade_history", "balance"})
_FILTER_OF = {"ticker": "ticker", "trades": "recent_trades"}
_HOSTS = frozenset({"api.probit.kr", "demo-api.probit.com", "demo-api.probit.kr"})


class ProbitAdapter(Adapter):
    """ProBit spot. Subscribe with unified symbols (``BTC/USDT``, ``ETH/BTC``; ``BTC/KRW`` on ProBit Korea).

    :meth:`plan` sends one ``subscribe`` per market carrying every filter wanted for it:
    "a repeated request on the same channel/market updates the existing subscription",
    so separate requests per filter could replace one another.
    """

    id: ClassVar[str] = "probit"
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book")  # candles are REST-only
    simulator: ClassVar[str | None] = "sim:ProbitWire"
    # ProBit Korea (same API on .kr) and the demo hosts.
    ws_hosts: ClassVar[frozenset[str]] = _HOSTS
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://api.probit.com/api/exchange/v1/ws", rest="https://api.probit.com"
    )
    book_filter: ClassVar[str] = "order_books"
    interval: ClassVar[int] = 100
    # Connection and subscription limits are not documented: stay modest ("one socket, a
    # handful of markets, subscribe messages paced ~5/s").
    markets_per_connection: ClassVar[int] = 50
    control_interval: ClassVar[float] = 0.2
    # No keepalive is documented (ccxt relies on protocol pings too).
    ping_interval: ClassVar[float] = 20.0
    # Messages come only when something changes: two minutes with nothing on a whole
    # connection means a stuck feed (a reconnect resubscribes and gets fresh resets).
    idle_timeout: ClassVar[float] = 120.0
    # Trades remembered per market so the 100 sent again on a resubscription are not reported twice.
    recent_trades: ClassVar[int] = 1000
    # "Ratelimit group 3: IP address, 20 req/sec, all APIs"; no weight header.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=1200)
    match_params: ClassVar[tuple[str, ...]] = ("market_id", "market_ids")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT", "ETH/USDT")
    # Book messages come (batched per interval) only when levels change; a busy market
    # changes every second, a quiet one can be silent for minutes. A resync costs one
    # resubscription, so two minutes of silence is taken as a stopped book.
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._filters: dict[str, tuple[str, list[str]]] = {}  # symbol -> (conn, filters) as planned
        self._book_key: dict[str, str] = {}  # symbol -> the book filter that feeds its book
        self._seen: dict[str, dict[str, None]] = {}  # market -> recent trade ids, oldest first

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, UNSEQUENCED, self._resubscribe, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}/api/exchange/v1/market", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        instruments = []
        for m in _markets.decode(body).data:
            if m.closed or not (m.base_currency_id and m.quote_currency_id):
                continue  # "skip closed: true"
            precision = m.quantity_precision
            instruments.append(
                Instrument(
                    exchange=self.id,
                    native=m.id,
                    # From the currency ids, not the market id: "some asset ids may contain
                    # digits or unusual tickers".
                    symbol=unified_symbol(m.base_currency_id, m.quote_currency_id),
                    base=m.base_currency_id,
                    quote=m.quote_currency_id,
                    kind="spot",
                    tick_size=m.price_increment or None,
                    step_size=10.0**-precision if precision is not None and 0 <= precision <= 18 else None,
                )
            )
        return instruments

    # -- connections ----------------------------------------------------------------------------

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        if self.book_filter not in BOOK_FILTERS or self.interval not in INTERVALS:
            raise UnknownChannel(f"{self.id}: book filter must be one of {BOOK_FILTERS}, interval one of {INTERVALS}")
        wanted: dict[str, dict[str, None]] = {}
        for sub in subscriptions:
            if sub.channel not in self.channels:
                raise UnknownChannel(f"{self.id}: no {sub.channel} channel; build candles from trades instead")
            self.instruments.by_symbol(sub.symbol)  # an unknown symbol fails here, with the usual hint
            name = self.book_filter if sub.channel == "book" else _FILTER_OF[sub.channel]
            wanted.setdefault(sub.symbol, {})[name] = None
        symbols = list(wanted)
        per = self.markets_per_connection
        plans = []
        for n, start in enumerate(range(0, len(symbols), per)):
            conn = f"{self.id}.{n}"
            shard = symbols[start : start + per]
            for symbol in shard:
                self._filters[symbol] = (conn, list(wanted[symbol]))
            plans.append(
                ConnectionPlan(
                    conn=conn,
                    url=self.endpoints.ws,
                    subscribe=[self._subscribe(s) for s in shard],
                    control_interval=self.control_interval,
                    ping_interval=self.ping_interval,
                    ping_timeout=20.0,
                    idle_timeout=self.idle_timeout,
                    symbols=[s for s in shard if self.book_filter in wanted[s]],
                )
            )
        return plans

    def _subscribe(self, symbol: str) -> str:
        native = self.instruments.by_symbol(symbol).native
        request = {
            "type": "subscribe",
            "channel": "marketdata",
            "market_id": native,
            "interval": self.interval,
            "filter": self._filters[symbol][1],
        }
        return orjson.dumps(request).decode()

    def _resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe the market and subscribe it again.

        "A resubscribe yields a fresh reset:true" for every filter; the trades it re-sends
        are dropped as already seen.
        """
        planned = self._filters.get(symbol)
        if planned is None:
            return []  # not planned here (a replay): the recording has what it has
        native = self.instruments.by_symbol(symbol).native
        unsubscribe = orjson.dumps({"type": "unsubscribe", "channel": "marketdata", "market_id": native}).decode()
        return [SendFrame(planned[0], unsubscribe), SendFrame(planned[0], self._subscribe(symbol))]

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        try:
            msg = _message.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        channel = msg.channel
        if channel == "marketdata":
            self._on_marketdata(conn, msg, received, out)
        elif channel in _UNUSED:
            self.control(channel)
        elif msg.errorCode is not None:
            # "Error messages have no channel field (route by errorCode)."
            self.control()
            detail = f"{msg.errorCode}: {msg.message[:100]} {str(msg.details)[:200]}"
            out.append(self.error(conn, "rejected", detail, received))
        elif msg.type == "authorization":
            self.control("authorization")
        elif channel:
            out.append(self.error(conn, "unknown_channel", channel[:50], received, frame=frame))
        else:
            out.append(self.error(conn, "unknown_message", "no channel", received, frame=frame))
        return out

    def _on_marketdata(self, conn: str, msg: MarketData, received: float, out: Output) -> None:
        symbol = self.instruments.symbol_of(msg.market_id)
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", msg.market_id[:100], received))
            return
        if msg.status and msg.status != "ok":
            # "status: ok normally (docs also list unavailable)": the market is not served;
            # what the book holds may be stale, and the next reset rebuilds it.
            self.control("unavailable")
            self.books.reset(out, [symbol], "maintenance", received, detail=f"market status {msg.status[:50]}")
            return
        # Several filters can arrive in one message: check every key (the book first, so the
        # ticker of the same message sees it).
        self._on_book(conn, symbol, msg, received, out)
        if msg.recent_trades:
            self._on_trades(conn, symbol, msg.market_id, msg.recent_trades, received, out)
        if msg.ticker is not None:
            out.append(self._ticker(symbol, msg.ticker, received))

    def _on_book(self, conn: str, symbol: str, msg: MarketData, received: float, out: Output) -> None:
        key = self._book_key.get(symbol)
        entries = getattr(msg, key) if key is not None else None
        if entries is None:
            # No book of the feeding filter here: maybe the first book, or another filter's.
            for name in BOOK_FILTERS:
                found = getattr(msg, name)
                if found is None or name == key:
                    continue
                if key is None:
                    # The first book filter seen feeds the book; grouped and raw levels must not mix.
                    key = self._book_key[symbol] = name
                    entries = found
                else:
                    self.stats["ignored.other_book"] += 1  # the frame may carry data besides
            if entries is None:
                return
        levels = _levels(entries)
        if levels is None:
            out.append(self.error(conn, "malformed", f"{key}: a side that is neither buy nor sell", received, symbol))
            return
        bids, asks = levels
        if msg.reset:
            # "reset: true = this message contains the full state": discard and load. ProBit
            # promises no order of the entries; a snapshot lists levels best first, none empty.
            bids = sorted((lv for lv in bids if lv[1]), reverse=True)
            asks = sorted(lv for lv in asks if lv[1])
            self.books.snapshot(out, symbol, bids, asks, None, None, received)
        elif bids or asks:
            self.books.delta(out, symbol, bids, asks, 0, 0, None, None, received)

    def _on_trades(
        self, conn: str, symbol: str, market: str, trades: list[RecentTrade], received: float, out: Output
    ) -> None:
        seen = self._seen.get(market)
        if seen is None:
            seen = self._seen[market] = {}
        exchange, limit = self.id, self.recent_trades
        for t in trades:
            side = _SIDES.get(t.side)
            if side is None:
                out.append(self.error(conn, "malformed", f"trade {t.id[:60]}: side {t.side[:20]!r}", received, symbol))
                continue
            trade_id = t.id
            if trade_id in seen:
                self.stats["ignored.duplicate_trade"] += 1
                continue
            seen[trade_id] = None
            if len(seen) > limit:
                del seen[next(iter(seen))]
            when = t.time
            ts = when.timestamp() if when.tzinfo is not None else _seconds(when)
            out.append(Trade(exchange, symbol, ts, received, t.price, t.quantity, side, trade_id))

    def _ticker(self, symbol: str, t: TickerData, received: float) -> Ticker:
        # The ticker has no best bid/offer of its own: the maintained book's, when there is one.
        bid, bid_size, ask, ask_size = self.books.touch_of(symbol)
        last = t.last or None
        start = last - t.change if last is not None and t.change is not None else None
        return Ticker(
            self.id,
            symbol,
            _seconds(t.time) if t.time is not None else None,
            received,
            bid,
            bid_size,
            ask,
            ask_size,
            last=last,
            open=start if start is not None and start > 0.0 else None,
            high=t.high or None,
            low=t.low or None,
            volume=t.base_volume,
            quote_volume=t.quote_volume,
        )

    # -- REST -----------------------------------------------------------------------------------

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose == "instruments":
            return self.answer_instruments(request, status, body, received)
        self.stats["ignored.http." + request.purpose] += 1
        return []


def _levels(entries: list[BookEntry]) -> tuple[list[Level], list[Level]] | None:
    """Bids and asks of a book message; ``None`` when an entry's side is neither ``buy`` nor ``sell``.

    "Filter out price == "0" entries": snapshots hold a bogus ``buy`` at price 0.
    """
    bids = [(e.price, e.quantity) for e in entries if e.side == "buy" and e.price]
    asks = [(e.price, e.quantity) for e in entries if e.side == "sell" and e.price]
    if len(bids) + len(asks) != len(entries) and any(e.side != "buy" and e.side != "sell" for e in entries):
        return None
    return bids, asks


def _seconds(when: datetime) -> float:
    """An ISO-8601 time as epoch seconds (ProBit's are UTC; a time without a zone is read as UTC)."""
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()
