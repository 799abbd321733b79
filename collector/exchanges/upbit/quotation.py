"""The Upbit quotation websocket protocol, shared by the exchanges that speak it.

Upbit's public socket (``/websocket/v1``) takes one JSON array per request,
``[{"ticket":...}, {"type":..., "codes":[...]}..., {"format":...}]``, answers nothing,
and streams ``trade``, ``ticker``, ``orderbook`` and ``candle.<unit>`` messages in the
``DEFAULT`` or ``SIMPLE`` key set. Bithumb's current socket is a copy of it.
:class:`QuotationAdapter` holds everything the two have in common; each exchange's
adapter subclasses it and sets the class attributes (hosts, limits, decoders, the
default grouping level, candle units) and the few hooks where they differ.

- trades  <- ``trade`` (``ask_bid``: ``BID`` means the buyer took the ask, i.e. a buy). The
  SNAPSHOT trade (the last one before a subscription) is reported for a market's first
  subscription only: every resubscription sends it again and it "can be one you already
  processed" (the REALTIME trades after it take the fast path, so their ids are not kept to
  tell). Requests ask for REALTIME trades only where the flag is known.
- ticker  <- ``ticker`` (last price and statistics; best bid/offer from the maintained book).
- book    <- ``orderbook``: every message is a full snapshot of the top levels
  (:data:`~collector.book.SNAPSHOT`). A book subscribed with a price grouping ``level`` is
  another book of the market, kept under ``<symbol>@<level>`` (``BTC/KRW@10000``).
- candles <- ``candle.<unit>``: the forming bar; it is reported closed once the next starts (:mod:`.bars`).

Book sizes and trade amounts are base units; there are no contracts and no open interest.
Frames arrive binary (UTF-8 JSON); they are read as text so the generic fast path
(:mod:`collector.fastpath`) can route the whole-book messages, the bulk of the traffic,
realtime trades and tickers (a ticker's route calls the adapter to add the book's best
bid/offer); candles and anything unusual keep the Python path.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import msgspec
import orjson

from ... import fastpath
from ...actions import Action, RestRequest
from ...book import SNAPSHOT, BookSync
from ...errors import UnknownChannel, UsageError
from ...models import Side, Ticker, Trade
from ...symbols import Instrument
from ..base import Adapter, ConnectionPlan, Endpoints, Output, Subscription
from .bars import Bars
from .protocol import FORMATS, Decoders, book_key, market_list, split_book_key
from .schemas import Envelope

__all__ = ["QuotationAdapter"]

_SIDES: dict[str, Side] = {"BID": "buy", "ASK": "sell"}
# The ticker fields a routed ticker reads, in the order Ticker takes them after the time.
_TICKER_FIELDS = (
    "trade_price",
    "opening_price",
    "high_price",
    "low_price",
    "acc_trade_volume_24h",
    "acc_trade_price_24h",
)
_SIMPLE_PREFIX = '{"ty":"'
_DEFAULT_PREFIX = '{"type":"'

# (conn, frame, SIMPLE keys?, received, out)
_Handler = Callable[[str, str, bool, float, Output], None]


class QuotationAdapter(Adapter):
    """The Upbit quotation protocol; subclass it per exchange (see the module docstring).

    Subscribe with unified symbols (``BTC/KRW``); a book grouped by price is subscribed as
    ``BTC/KRW@10000`` where the exchange offers grouping (:attr:`grouping`).
    """

    # -- what a subclass sets -------------------------------------------------------------------
    envelope: ClassVar[msgspec.json.Decoder[Any]] = msgspec.json.Decoder(Envelope)
    """Reads frames whose first key is no type (replies, errors, ``{"status":"UP"}``)."""
    decoders: ClassVar[dict[bool, Decoders]]
    """Typed decoders by key set: ``True`` for SIMPLE, ``False`` for DEFAULT."""
    wire_format: ClassVar[str] = "SIMPLE"
    """The key set requested (``FORMATS``); frames in the other one are read just as well."""
    book_depth: ClassVar[int | None] = None
    """Levels per orderbook message: ``None`` for the exchange default, else one of :attr:`depths` (``CODE.{n}``)."""
    depths: ClassVar[tuple[int, ...]] = (1, 5, 15, 30)
    default_level: ClassVar[float] = 0.0
    """The ``level`` an orderbook message reports when no grouping was asked for."""
    grouping: ClassVar[bool] = False
    """Whether books grouped by price (``BTC/KRW@10000``) can be subscribed (KRW markets only)."""
    candle_units: ClassVar[dict[str, str]] = {}
    """Unified candle interval -> the unit of the exchange's ``candle.<unit>`` type."""
    realtime_flag: ClassVar[str | None] = "is_only_realtime"
    """The request flag that asks for REALTIME messages only (used for trades; ``None``: not sent)."""
    unused_types: ClassVar[frozenset[str]] = frozenset()
    """Message types of the exchange this adapter does not turn into events (counted)."""
    control_interval: ClassVar[float] = 0.2
    ping_interval: ClassVar[float] = 30.0
    market_list_query: ClassVar[str] = ""
    """The query of the ``GET /v1/market/all`` instrument listing (``?is_details=true``)."""

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._bars = Bars(self.id)
        self._snapshot_trades: set[str] = set()  # markets whose first SNAPSHOT trade was reported
        self._routes: dict[str, _Handler] = {
            "trade": self._on_trade,
            "ticker": self._on_ticker,
            "orderbook": self._on_orderbook,
        }
        for interval, unit in self.candle_units.items():
            self._routes[f"candle.{unit}"] = functools.partial(self._on_candle, interval)
        # The fast path keys on the first field of the requested key set ("ty" or "type").
        self._route_simple = self.wire_format == "SIMPLE"
        self._router = self.use_router("ty" if self._route_simple else "type")
        routed = isinstance(self._router, fastpath.NoRouter)  # without the C module there is nothing to route
        self._books_routed = self._trades_routed = self._tickers_routed = routed

    def _make_books(self, book_top: int | None) -> BookSync:
        return BookSync(self.id, SNAPSHOT, _no_request, top_n=book_top)

    # -- instruments ----------------------------------------------------------------------------

    def instrument_requests(self) -> list[RestRequest]:
        return [RestRequest(f"{self.endpoints.rest}/v1/market/all{self.market_list_query}", "instruments", 1)]

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return market_list(self.id, body)

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "instruments":
            self.stats["ignored.http." + request.purpose] += 1
            return []
        return self.answer_instruments(request, status, body, received)

    # -- connections ----------------------------------------------------------------------------

    def stream_of(self, sub: Subscription) -> tuple[str, float | None, str]:
        """``(type, level, code)`` of one subscription, e.g. ``("orderbook", 10000.0, "KRW-BTC.15")``."""
        symbol, level = split_book_key(sub.symbol)
        if level is not None and sub.channel != "book":
            raise UsageError(f"{self.id}: {sub.symbol!r}: a grouping level applies to books only")
        inst = self.instruments.by_symbol(symbol)
        native = inst.native
        if sub.channel == "trades":
            return "trade", None, native
        if sub.channel == "ticker":
            return "ticker", None, native
        if sub.channel == "book":
            if level is not None and not self.grouping:
                raise UsageError(f"{self.id}: books grouped by price are not offered; subscribe {symbol!r}")
            if level == self.default_level:
                raise UsageError(f"{self.id}: {sub.symbol!r} is the plain book; subscribe {symbol!r}")
            if level is not None and inst.quote != "KRW":
                raise UsageError(f"{self.id}: {sub.symbol!r}: grouping ('level') is for KRW markets only")
            depth = self.book_depth
            if depth is not None and depth not in self.depths:
                raise UsageError(f"{self.id}: no orderbook depth {depth}; use one of {self.depths}")
            return "orderbook", level, native if depth is None else f"{native}.{depth}"
        if sub.channel == "candles" and self.candle_units:
            unit = self.candle_units.get(sub.interval)
            if unit is None:
                raise UsageError(
                    f"{self.id}: no candle interval {sub.interval!r}; use one of {tuple(self.candle_units)}"
                )
            return f"candle.{unit}", None, native
        raise UnknownChannel(f"{self.id}: no {sub.channel} channel; it offers {', '.join(self.channels)}")

    def subscribe_request(self, subscriptions: Sequence[Subscription]) -> list[dict[str, object]]:
        """The one request array ``[ticket, {type, codes[, level]}..., {format}]`` for ``subscriptions``."""
        if self.wire_format not in FORMATS:
            raise UsageError(f"{self.id}: format {self.wire_format!r} is not one of {FORMATS}")
        codes: dict[tuple[str, float | None], list[str]] = {}
        for sub in subscriptions:
            kind, level, code = self.stream_of(sub)
            codes.setdefault((kind, level), []).append(code)
        request: list[dict[str, object]] = [{"ticket": f"collector-{self.id}"}]
        for (kind, level), native in codes.items():
            item: dict[str, object] = {"type": kind, "codes": list(dict.fromkeys(native))}
            if kind == "trade" and self.realtime_flag:
                item[self.realtime_flag] = True  # no SNAPSHOT trade that may repeat one
            if level is not None:
                # "level Double 모아보기 단위": one type object per level ("각 페어별로 ... 지정").
                item["level"] = int(level) if level.is_integer() else level
            request.append(item)
        request.append({"format": self.wire_format})
        return request

    def plan(self, subscriptions: Sequence[Subscription]) -> list[ConnectionPlan]:
        """One connection with one request: "a new request on the same socket is handled as a
        new subscription set", so the request carries the full union of types and codes."""
        if not subscriptions:
            return []
        frame = orjson.dumps(self.subscribe_request(subscriptions)).decode()
        books = [sub.symbol for sub in subscriptions if sub.channel == "book"]
        return [
            ConnectionPlan(
                conn=f"{self.id}.0",
                url=self.endpoints.ws,
                subscribe=[frame],
                control_interval=self.control_interval,
                # "The server closes a connection after ~120 s with no data in either
                # direction": protocol pings keep it open and catch a dead peer.
                ping_interval=self.ping_interval,
                ping_timeout=20.0,
                # Books change every few seconds; trades, tickers and candles come only when
                # something trades, which a quiet market may not do for minutes.
                idle_timeout=120.0 if books else 900.0,
                symbols=list(dict.fromkeys(books)),
                # No Origin header: "any request carrying an Origin header is limited to
                # 1 request per 10 s". The plan adds none; the transport must not either.
                headers={},
            )
        ]

    def on_disconnect(self, conn: str, reason: str, received: float, *, report: bool = True) -> Output:
        """Forget the connection's forming bars: updates missed while it was down would make them wrong."""
        self._bars.forget(conn)
        return super().on_disconnect(conn, reason, received, report=report)

    # -- frames ---------------------------------------------------------------------------------

    def parse(self, conn: str, frame: str | bytes, received: float) -> Output:
        out: Output = []
        text = self.text_of(conn, frame, received, out)
        if text is None:
            return out
        frame = text
        # Data messages start with their type: route on it and decode the frame once, typed.
        kind = ""
        simple = frame.startswith(_SIMPLE_PREFIX)
        if simple or frame.startswith(_DEFAULT_PREFIX):
            start = 7 if simple else 9
            end = frame.find('"', start)
            if end > 0:
                kind = frame[start:end]
        if not kind:
            try:
                env = self.envelope.decode(frame)
            except msgspec.DecodeError as exc:
                out.append(self.error(conn, "malformed", str(exc), received, frame=frame))
                return out
            simple = bool(env.ty)
            kind = env.ty or env.type
            if not kind:
                self._on_reply(conn, env, frame, received, out)
                return out
        handler = self._routes.get(kind)
        if handler is None:
            if kind in self.unused_types:
                self.control(kind)
            elif self.candle_units and kind.startswith("candle."):
                self.control("candle")  # a unit this adapter does not map
            else:
                self._on_unknown(conn, kind, frame, received, out)
            return out
        try:
            handler(conn, frame, simple, received, out)
        except msgspec.DecodeError as exc:
            self._on_malformed(conn, kind, frame, exc, received, out)
        return out

    def _on_reply(self, conn: str, env: Envelope, frame: str, received: float, out: Output) -> None:
        """A frame that is no data message: an error, ``{"status":"UP"}``, a subscription list."""
        if env.error is not None:
            self.control()
            out.append(self.error(conn, "rejected", f"{env.error.name}: {env.error.message}"[:200], received))
        elif env.status == "UP":
            self.control("status")  # the answer to a text PING
        elif env.method or env.mthd:
            self.control("list_subscriptions")
        else:
            out.append(self.error(conn, "unknown_message", "no type", received, frame=frame))

    def _on_unknown(self, conn: str, kind: str, frame: str, received: float, out: Output) -> None:
        out.append(self.error(conn, "unknown_type", kind[:50], received, frame=frame))

    def _on_malformed(
        self, conn: str, kind: str, frame: str, exc: msgspec.DecodeError, received: float, out: Output
    ) -> None:
        out.append(self.error(conn, "malformed", f"{kind[:50]}: {exc}", received, frame=frame))

    def _symbol(self, conn: str, code: str, received: float, out: Output) -> str | None:
        symbol = self.instruments.symbols_by_native.get(code)
        if symbol is None and "." in code:
            # Orderbook codes may carry a depth suffix ("KRW-BTC.15"): strip it defensively.
            symbol = self.instruments.symbols_by_native.get(code.partition(".")[0])
        if symbol is None:
            out.append(self.error(conn, "unknown_symbol", code[:100], received))
        return symbol

    def _on_trade(self, conn: str, frame: str, simple: bool, received: float, out: Output) -> None:
        t = self.decoders[simple].trade.decode(frame)
        symbol = self._symbol(conn, t.code, received, out)
        if symbol is None:
            return
        side = _SIDES.get(t.ask_bid)
        if side is None:
            out.append(self.error(conn, "malformed", f"trade {t.code}: ask_bid {t.ask_bid[:20]!r}", received, symbol))
            return
        if t.stream_type == "SNAPSHOT":
            # "SNAPSHOT (state at subscribe time)": the last trade before the subscription. The
            # first one of a market is news; a resubscription's "can be one you already processed".
            if symbol in self._snapshot_trades:  # bounded: listed markets only
                self.control("snapshot_trade")
                return
            self._snapshot_trades.add(symbol)
        trade_id = str(t.sequential_id)
        out.append(
            Trade(self.id, symbol, t.trade_timestamp / 1000.0, received, t.trade_price, t.trade_volume, side, trade_id)
        )
        if not self._trades_routed and simple == self._route_simple:
            self._trades_routed = True
            # From now on REALTIME trades become events without Python (anything else declines).
            event = fastpath.emit(
                Trade,
                fastpath.const(self.id),
                fastpath.symbol_from("code", self.instruments.symbols_by_native),
                fastpath.millis("trade_timestamp"),
                fastpath.RECEIVED,
                fastpath.attr("trade_price"),
                fastpath.attr("trade_volume"),
                fastpath.choice("ask_bid", _SIDES),
                fastpath.text("sequential_id"),
                when=("stream_type", "REALTIME"),
            )
            self._router.add("trade", self.decoders[simple].trade, None, event)

    def _on_ticker(self, conn: str, frame: str, simple: bool, received: float, out: Output) -> None:
        t = self.decoders[simple].ticker.decode(frame)
        symbol = self._symbol(conn, t.code, received, out)
        if symbol is None:
            return
        seconds = t.timestamp / 1000.0 if t.timestamp is not None else None
        stats = (t.opening_price, t.high_price, t.low_price, t.acc_trade_volume_24h, t.acc_trade_price_24h)
        self._add_ticker(out, symbol, seconds, received, t.trade_price, *stats)
        if not self._tickers_routed and simple == self._route_simple:
            self._tickers_routed = True
            # From now on tickers are decoded and read by the fast path; only the maintained
            # book's best bid/offer is added in Python (a route cannot read the book).
            step = fastpath.call(
                self._add_ticker,
                fastpath.OUT,
                fastpath.symbol_from("code", self.instruments.symbols_by_native),
                fastpath.millis("timestamp"),
                fastpath.RECEIVED,
                *(fastpath.attr(name) for name in _TICKER_FIELDS),
            )
            self._router.add("ticker", self.decoders[simple].ticker, None, step)

    def _add_ticker(
        self,
        out: Output,
        symbol: str,
        seconds: float | None,
        received: float,
        last: float,
        open_: float | None,
        high: float | None,
        low: float | None,
        volume: float | None,
        quote_volume: float | None,
    ) -> None:
        # The ticker has no best bid/offer; report the maintained book's when there is one.
        bid, bid_size, ask, ask_size = self.books.touch_of(symbol)
        out.append(
            Ticker(
                self.id,
                symbol,
                seconds,
                received,
                bid,
                bid_size,
                ask,
                ask_size,
                last,
                open_,
                high,
                low,
                volume,
                quote_volume,
            )
        )

    def book_time(self, timestamp: int | None) -> float | None:
        """An orderbook ``timestamp`` in epoch seconds (milliseconds on the wire here)."""
        return timestamp / 1000.0 if timestamp is not None else None

    def _on_orderbook(self, conn: str, frame: str, simple: bool, received: float, out: Output) -> None:
        ob = self.decoders[simple].orderbook.decode(frame)
        symbol = self._symbol(conn, ob.code, received, out)
        if symbol is None:
            return
        key = book_key(symbol, ob.level, self.default_level)
        if key is None:
            out.append(self.error(conn, "malformed", f"orderbook {ob.code}: level {ob.level!r}", received, symbol))
            return
        # Thin books can be padded with price-0 units: they are not levels.
        units = ob.orderbook_units
        bids = [(u.bid_price, u.bid_size) for u in units if u.bid_price and u.bid_size]
        asks = [(u.ask_price, u.ask_size) for u in units if u.ask_price and u.ask_size]
        # "Every orderbook message is a full top-N snapshot": replace the book wholesale; the
        # book skips one older than what it holds ("drop messages older than the last applied").
        self.books.snapshot(out, key, bids, asks, None, self.book_time(ob.timestamp), received)
        if not self._books_routed and simple == self._route_simple:
            self._books_routed = True
            self._route_books(ob.timestamp)

    def _route_books(self, timestamp: int | None) -> None:
        """From now on, orderbook frames of the default level become book snapshots without Python.

        One route serves every market (the symbol comes from the frame's code); grouped books,
        depth-suffixed codes and the other key set keep the Python path.
        """
        decoder = self.decoders[self._route_simple].orderbook
        self._router.add("orderbook", decoder, None, self._book_step(fastpath.millis("timestamp")))

    def _book_step(self, time: fastpath.Arg) -> fastpath.Step:
        """The fast-path step that hands a whole book to :meth:`BookSync.snapshot`."""
        return fastpath.call(
            self.books.snapshot,
            fastpath.OUT,
            fastpath.symbol_from("code", self.instruments.symbols_by_native),
            fastpath.levels("orderbook_units", "bid_price", "bid_size"),
            fastpath.levels("orderbook_units", "ask_price", "ask_size"),
            fastpath.const(None),
            time,
            fastpath.RECEIVED,
            when=("level", self.default_level),
        )

    def _on_candle(self, interval: str, conn: str, frame: str, simple: bool, received: float, out: Output) -> None:
        c = self.decoders[simple].candle.decode(frame)
        symbol = self._symbol(conn, c.code, received, out)
        if symbol is not None and not self._bars.update(out, conn, symbol, interval, c, received):
            # "The last one received is the latest": an older bar arriving late changes nothing.
            self.control("old_candle")


def _no_request(symbol: str) -> list[Action]:
    """These books need no request: the next orderbook message is a full snapshot."""
    return []
