"""Upbit adapter (``upbit``): KRW, BTC and USDT spot markets.

Channels (``../shared/exchanges/upbit.md``):

- trades <- ``trade`` (``ask_bid``: ``BID`` means the buyer took the ask, i.e. a buy)
- ticker <- ``ticker`` (last price and statistics; best bid/offer from the maintained book)
- book   <- ``orderbook``: every message is a full snapshot of the top levels, so the
  book follows :attr:`~collector.book.Rule.SNAPSHOT` and is replaced by each one.

One connection carries everything: a subscribe request replaces the previous one, so
the single request lists every type and code. Frames arrive as binary UTF-8 JSON in
the ``DEFAULT`` or ``SIMPLE`` key set; both are read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, ClassVar

import msgspec
import orjson

from ... import fastpath
from ...actions import Action, RestRequest
from ...book import SNAPSHOT, BookSync
from ...errors import UnknownChannel, UsageError
from ...models import Side, Ticker, Trade
from ...symbols import Instrument, unified_symbol
from ..base import Adapter, Channel, ConnectionPlan, Endpoints, Output, RestPolicy, Subscription

if TYPE_CHECKING:
    pass
from .schemas import (
    Envelope,
    Market,
    Orderbook,
    SimpleOrderbook,
    SimpleTicker,
    SimpleTrade,
)
from .schemas import Ticker as TickerMessage
from .schemas import Trade as TradeMessage

__all__ = ["FORMATS", "UpbitAdapter"]

_envelope = msgspec.json.Decoder(Envelope)
_trade = {False: msgspec.json.Decoder(TradeMessage), True: msgspec.json.Decoder(SimpleTrade)}
_ticker = {False: msgspec.json.Decoder(TickerMessage), True: msgspec.json.Decoder(SimpleTicker)}
_orderbook = {False: msgspec.json.Decoder(Orderbook), True: msgspec.json.Decoder(SimpleOrderbook)}
_markets = msgspec.json.Decoder(list[Market])

FORMATS = ("DEFAULT", "SIMPLE")
"""Response key sets this adapter reads (the list formats are not requested)."""

_SIDES: dict[str, Side] = {"BID": "buy", "ASK": "sell"}
# Upbit message types this adapter does not turn into events (private ones on a shared socket).
_UNUSED_TYPES = frozenset({"myOrder", "myAsset", "myTrade"})
_CHANNEL_TYPE = {"trades": "trade", "ticker": "ticker", "book": "orderbook"}
_GLOBAL_HOSTS = frozenset({"sg-api.upbit.com", "id-api.upbit.com", "th-api.upbit.com"})

# (conn, frame, SIMPLE keys?, received, out)
_Handler = Callable[[str, "str | bytes", bool, float, Output], None]


class UpbitAdapter(Adapter):
    """Upbit spot. Subscribe with unified symbols (``BTC/KRW``, ``ETH/BTC``, ``BTC/USDT``)."""

    id: ClassVar[str] = "upbit"
    simulator: ClassVar[str | None] = "sim:UpbitWire"
    # Upbit's Korean host and its global (Singapore, Indonesia, Thailand) hosts.
    ws_hosts: ClassVar[frozenset[str]] = _GLOBAL_HOSTS
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book")  # no candle stream used
    default_endpoints: ClassVar[Endpoints] = Endpoints(
        ws="wss://api.upbit.com/websocket/v1", rest="https://api.upbit.com"
    )
    # SIMPLE keys make every frame about half the size; DEFAULT is read just as well.
    wire_format: ClassVar[str] = "SIMPLE"
    # Order book depth: None for the exchange default (30), else 1, 5, 15 or 30 ("CODE.{n}").
    book_levels: ClassVar[int | None] = None
    # "WS data requests 5/s and 100/min" per connection.
    control_interval: ClassVar[float] = 0.2
    # "The server closes a connection after ~120 s with no data in either direction";
    # protocol pings (answered with pongs) keep it open and detect a dead peer.
    ping_interval: ClassVar[float] = 30.0
    # Trades already seen, remembered per market, so the SNAPSHOT trade sent again after
    # a resubscription is not reported twice ("dedupe by sequential_id").
    recent_trades: ClassVar[int] = 1000
    # Quotation REST: "10 requests per second per IP" for market data; no weight header.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=600)
    match_params: ClassVar[tuple[str, ...]] = ("market", "markets")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/KRW", "ETH/KRW")
    # "WS connect 5/s" per IP.
    connect_limit: ClassVar[tuple[int, float] | None] = (5, 1.0)
    # Orderbook messages come when the top levels change; Upbit KRW books change every few
    # seconds at most. Two minutes of silence means the feed stopped (a resync costs no request).
    book_stale_after: ClassVar[float] = 120.0

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._seen: dict[str, dict[int, None]] = {}  # code -> recent sequential ids, oldest first
        self._routes: dict[str, _Handler] = {
            "trade": self._on_trade,
            "ticker": self._on_ticker,
            "orderbook": self._on_orderbook,
        }
        # The fast path (collector.fastpath) for SIMPLE orderbook messages, the bulk of the
        # traffic: every one is a whole book, built straight from the frame.
        self._router = self.use_router("ty")
        self._routed: set[str] = set()

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, SNAPSHOT, _no_request, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}/v1/market/all?is_details=true", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        instruments = []
        for m in _markets.decode(body):
            # Market codes are "{Quote}-{Base}" (docs glossary): KRW-BTC is BTC/KRW.
            quote, _, base = m.market.partition("-")
            if not (quote and base):
                continue
            instruments.append(
                Instrument(
                    exchange=self.id,
                    native=m.market,
                    symbol=unified_symbol(base, quote),
                    base=base,
                    quote=quote,
                    kind="spot",
                )
            )
        return instruments

    # -- connections ----------------------------------------------------------------------------

    def subscribe_request(self, subscriptions: Sequence[Subscription]) -> list[dict[str, object]]:
        """The one request array ``[ticket, {type, codes}..., {format}]`` for ``subscriptions``."""
        if self.wire_format not in FORMATS:
            raise UsageError(f"{self.id}: format {self.wire_format!r} is not one of {FORMATS}")
        codes: dict[str, list[str]] = {}
        for sub in subscriptions:
            kind = _CHANNEL_TYPE.get(sub.channel)
            if kind is None:
                raise UnknownChannel(f"{self.id}: no {sub.channel} channel; build candles from trades instead")
            native = self.instruments.by_symbol(sub.symbol).native
            if kind == "orderbook" and self.book_levels is not None:
                native = f"{native}.{self.book_levels}"
            codes.setdefault(kind, []).append(native)
        request: list[dict[str, object]] = [{"ticket": f"collector-{self.id}"}]
        request += [{"type": kind, "codes": list(dict.fromkeys(c))} for kind, c in codes.items()]
        request.append({"format": self.wire_format})
        return request

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        if not subscriptions:
            return []
        # "A new request on the same socket is handled as a new subscription set": one
        # socket, one request carrying the full union of types and codes.
        frame = orjson.dumps(self.subscribe_request(subscriptions)).decode()
        books = [sub.symbol for sub in subscriptions if sub.channel == "book"]
        return [
            ConnectionPlan(
                conn=f"{self.id}.0",
                url=self.endpoints.ws,
                subscribe=[frame],
                control_interval=self.control_interval,
                ping_interval=self.ping_interval,
                ping_timeout=20.0,
                # Protocol pings catch a dead peer; a socket that answers them but delivers no
                # trade, ticker or book for two minutes is stuck (KRW books change every few seconds).
                idle_timeout=120.0,
                symbols=list(dict.fromkeys(books)),
                # No Origin header: "any request carrying an Origin header is limited to
                # 1 request per 10 s". The plan adds none; the transport must not either.
                headers={},
            )
        ]

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        try:
            env = _envelope.decode(frame)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
            return out
        simple = bool(env.ty)
        kind = env.ty or env.type
        if not kind:
            if env.error is not None:
                self.control()
                out.append(self.error(conn, "rejected", f"{env.error.name}: {env.error.message}"[:200], received))
            elif env.status:
                self.control("status")  # {"status":"UP"}, the answer to PING
            else:
                out.append(self.error(conn, "unknown_message", "no type", received, frame=frame))
            return out
        handler = self._routes.get(kind)
        if handler is None:
            if kind in _UNUSED_TYPES or kind.startswith("candle."):
                self.control(kind if len(kind) < 20 else "candle")
            else:
                out.append(self.error(conn, "unknown_type", kind[:50], received, frame=frame))
            return out
        try:
            handler(conn, frame, simple, received, out)
        except msgspec.DecodeError as exc:
            out.append(self.error(conn, "malformed", f"{kind}: {exc}", received, frame=frame))
        return out

    def _symbol(self, conn: str, code: str, received: float, out: Output) -> str | None:
        symbol = self.instruments.symbol_of(code)
        if symbol is None and "." in code:
            # Orderbook codes may carry a depth suffix ("KRW-BTC.15"): strip it defensively.
            symbol = self.instruments.symbol_of(code.partition(".")[0])
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", code[:100], received))
        return symbol

    def _on_trade(self, conn: str, frame: str | bytes, simple: bool, received: float, out: Output) -> None:
        t = _trade[simple].decode(frame)
        symbol = self._symbol(conn, t.code, received, out)
        if symbol is None:
            return
        side = _SIDES.get(t.ask_bid)
        if side is None:
            out.append(self.error(conn, "malformed", f"trade {t.code}: ask_bid {t.ask_bid[:20]!r}", received, symbol))
            return
        seen = self._seen.setdefault(t.code, {})
        if t.sequential_id in seen:
            self.control("duplicate_trade")
            return
        seen[t.sequential_id] = None
        if len(seen) > self.recent_trades:
            del seen[next(iter(seen))]
        out.append(
            Trade(
                self.id,
                symbol,
                t.trade_timestamp / 1000.0,
                received,
                t.trade_price,
                t.trade_volume,
                side,
                str(t.sequential_id),
            )
        )

    def _on_ticker(self, conn: str, frame: str | bytes, simple: bool, received: float, out: Output) -> None:
        t = _ticker[simple].decode(frame)
        symbol = self._symbol(conn, t.code, received, out)
        if symbol is None:
            return
        # The ticker has no best bid/offer; report the maintained book's when there is one.
        bid = ask = None
        book = self.books.book(symbol)
        if book is not None and book.synced:
            bid, ask = book.best_bid(), book.best_ask()
        out.append(
            Ticker(
                self.id,
                symbol,
                t.timestamp / 1000.0 if t.timestamp is not None else None,
                received,
                bid[0] if bid else None,
                bid[1] if bid else None,
                ask[0] if ask else None,
                ask[1] if ask else None,
                last=t.trade_price,
                open=t.opening_price,
                high=t.high_price,
                low=t.low_price,
                volume=t.acc_trade_volume_24h,
                quote_volume=t.acc_trade_price_24h,
            )
        )

    def _on_orderbook(self, conn: str, frame: str | bytes, simple: bool, received: float, out: Output) -> None:
        ob = _orderbook[simple].decode(frame)
        symbol = self._symbol(conn, ob.code, received, out)
        if symbol is None:
            return
        ts = ob.timestamp / 1000.0 if ob.timestamp is not None else None
        # Thin books can be padded with price-0 units: they are not levels.
        units = ob.orderbook_units
        bids = [(u.bid_price, u.bid_size) for u in units if u.bid_price and u.bid_size]
        asks = [(u.ask_price, u.ask_size) for u in units if u.ask_price and u.ask_size]
        # "Every orderbook message is a full top-N snapshot": replace the book wholesale; the
        # book skips one older than what it holds ("drop messages older than the last applied").
        self.books.snapshot(out, symbol, bids, asks, None, ts, received)
        if simple and type(frame) is bytes and ob.code not in self._routed:
            self._route_orderbook(ob.code)

    def _route_orderbook(self, code: str) -> None:
        """From now on, SIMPLE orderbook frames of known markets become book snapshots without Python."""
        self._routed.add(code)
        if len(self._routed) > 1:
            return  # one route serves every market: the symbol comes from the frame's code
        symbols = self.instruments.symbols_by_native
        bids = fastpath.levels("orderbook_units", "bid_price", "bid_size")
        asks = fastpath.levels("orderbook_units", "ask_price", "ask_size")
        snapshot = fastpath.call(
            self.books.snapshot,
            fastpath.OUT,
            fastpath.symbol_from("code", symbols),
            bids,
            asks,
            fastpath.const(None),
            fastpath.millis("timestamp"),
            fastpath.RECEIVED,
        )
        self._router.add("orderbook", _orderbook[True], None, snapshot)

    # -- REST -----------------------------------------------------------------------------------

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        out: Output = []
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return out
        return self.answer_instruments(request, status, body, received)


def _no_request(symbol: str) -> list[Action]:
    """Upbit books need no request: the next orderbook message is a full snapshot."""
    return []
