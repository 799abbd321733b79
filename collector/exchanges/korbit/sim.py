"""Korbit's API v2 public wire format over the neutral market: KRW spot pairs.

Everything follows ``shared/exchanges/korbit.md`` and docs.korbit.co.kr (WebSocket v2):

- one websocket path, ``/v2/public``. A client sends a JSON **array** of requests,
  ``[{"requestId":1,"method":"subscribe","type":"orderbook","symbols":["btc_krw"]}]``
  ("it must be enclosed in square brackets"); a request with a ``requestId`` is answered
  ``{"status":"success","requestId":1}``, failures always are (``INVALID_SYMBOL``,
  ``INVALID_REQUEST``; not an array: ``{"status":"fail","message":"invalid_format"}``).
  "Every public subscribe is answered with a snapshot frame" (``"snapshot":true``): the
  book, the ticker, the latest trade. ``unsubscribe`` stops a stream.
- data frames ``{"symbol":"btc_krw","timestamp":<ms>,"type":...,"data":...}``; realtime
  frames omit ``snapshot``. ``orderbook``: the whole top 30 levels a side whenever they
  change; ``trade``: the step's fills in one ``data`` array, ``tradeId`` rising but not
  contiguous; ``ticker``: after trades.
- the server pings at the protocol level (the simulator's own pings stand for them).
- REST ``/v2/currencyPairs`` and ``/v2/orderbook?symbol=``, wrapped ``{"success":true,"data":...}``.

Faults: books are whole frames, so ``GAP`` and ``CHECKSUM`` do not apply (use ``STALL``).
:meth:`KorbitWire.true_book` is the last book sent; it has no id.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from ...errors import UnknownExchange, UsageError
from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .sim_market import BOOK_LEVELS, KRW_MARKETS, KorbitMarket

__all__ = ["KorbitWire"]

_TYPES = ("ticker", "orderbook", "trade")


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _fail(code: str | None, message: str, request_id: Any = None) -> str:
    body: dict[str, Any] = {"status": "fail"}
    if code is not None:
        body["code"] = code
    body["message"] = message
    if request_id is not None:
        body["requestId"] = request_id
    return _dumps(body)


class KorbitWire(WireFormat):
    """Korbit's public websocket v2 and REST v2 for the ``korbit`` exchange id."""

    default_ws = "wss://ws-api.korbit.co.kr"
    default_rest = "https://api.korbit.co.kr"
    endpoint_path = "/v2/public"
    instruments_path = "/v2/currencyPairs"
    book_diffs = False

    def __init__(self, exchange: str = "korbit") -> None:
        if exchange != "korbit":
            raise UnknownExchange(f"the Korbit wire format serves 'korbit', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, KorbitMarket] = {}
        self._units: dict[str, int] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated pair for ``BTC/KRW`` (native ``btc_krw``); Korbit lists KRW pairs only."""
        spec, unit = KRW_MARKETS.spec(self.exchange, symbol, seed)
        self._units[spec.native] = unit
        return spec

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`KorbitMarket`; the wire remembers it to answer subscriptions and REST."""
        rng = random.Random(f"{seed}:korbit:{spec.symbol}")
        market = KorbitMarket(spec, rng, depth=depth, unit=self._units.get(spec.native, 0))
        self._markets[spec.native] = market
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """The public route (the private one is not simulated)."""
        return "" if path == "v2/public" else None

    def ws_path(self, route: str) -> str:
        """``/v2/public``."""
        return self.endpoint_path

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """One request array for trades, tickers and books of ``specs`` (Korbit has no candle stream)."""
        natives = [spec.native for spec in specs]
        items = [
            {"requestId": n, "method": "subscribe", "type": kind, "symbols": natives}
            for n, kind in enumerate(("ticker", "trade", "orderbook"), 1)
        ]
        return {"": [_dumps(items)]}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer a request array: acknowledgements, failures and a snapshot per subscribed stream."""
        try:
            items = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(_fail(None, "invalid_format"))
        if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
            return Control(_fail(None, "invalid_format"))
        replies: list[str | bytes] = []
        snapshots: list[str | bytes] = []
        subscribe: list[str] = []
        unsubscribe: list[str] = []
        for item in items:
            request_id = item.get("requestId")
            method, kind, symbols = item.get("method"), item.get("type"), item.get("symbols")
            if method not in ("subscribe", "unsubscribe"):
                replies.append(_fail("INVALID_REQUEST", "unknown_method", request_id))
                continue
            if kind not in _TYPES:
                replies.append(_fail("INVALID_REQUEST", "unknown_type", request_id))
                continue
            if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
                replies.append(_fail("INVALID_REQUEST", "invalid_symbols", request_id))
                continue
            unknown = next((s for s in symbols if s not in markets), None)
            if unknown is not None:
                # Symbols are case sensitive: "BTC_KRW" does not exist.
                replies.append(_fail("INVALID_SYMBOL", f"The symbol does not exist ({unknown})", request_id))
                continue
            if request_id is not None:
                replies.append(_dumps({"status": "success", "requestId": request_id}))
            streams = [f"{kind}|{s}" for s in symbols]
            if method == "unsubscribe":
                unsubscribe.extend(streams)
                continue
            subscribe.extend(streams)
            for native in symbols:
                market = markets[native]
                if isinstance(market, KorbitMarket):
                    frame = self._snapshot(str(kind), market, now_ms)
                    if frame is not None:
                        snapshots.append(frame)
        reply = replies[0] if replies else None
        return Control(reply, subscribe=subscribe, unsubscribe=unsubscribe, frames=[*replies[1:], *snapshots])

    def _snapshot(self, kind: str, market: KorbitMarket, now_ms: int) -> str | None:
        if kind == "orderbook":
            levels = market.levels(BOOK_LEVELS)
            if market.published is None or market.published[0] != levels:
                market.published = (levels, now_ms)
            return self._frame(market, "orderbook", now_ms, self._book(market), snapshot=True)
        if kind == "ticker":
            return self._frame(market, "ticker", now_ms, self._ticker(market), snapshot=True)
        fill = market.last_fill
        if fill is None:
            return None  # nothing has traded yet
        return self._frame(market, "trade", now_ms, [self._trade(market, fill)], snapshot=True)

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: the step's trades, a ticker, the book if its top 30 changed."""
        market = self._markets[spec.native]
        native = spec.native
        time_ms = update.time_ms
        out: list[Message] = []
        trades = f"trade|{native}"
        if update.fills and trades in subscribed:
            data = [self._trade(market, f) for f in update.fills]
            out.append(Message(trades, self._frame(market, "trade", time_ms, data)))
        ticker = f"ticker|{native}"
        # The ticker follows trades ("11 and 14 frames in about 25 s" on btc_krw).
        if update.fills and ticker in subscribed:
            out.append(Message(ticker, self._frame(market, "ticker", time_ms, self._ticker(market))))
        book = f"orderbook|{native}"
        if update.first_id is not None and book in subscribed:
            levels = market.levels(BOOK_LEVELS)
            if market.published is None or market.published[0] != levels:
                market.published = (levels, time_ms)
                out.append(Message(book, self._frame(market, "orderbook", time_ms, self._book(market))))
        return out

    def _frame(self, market: KorbitMarket, kind: str, time_ms: int, data: Any, *, snapshot: bool = False) -> str:
        # Keys in the order Korbit sends them; realtime frames omit "snapshot".
        frame: dict[str, Any] = {"symbol": market.spec.native, "timestamp": time_ms, "type": kind}
        if snapshot:
            frame["snapshot"] = True
        frame["data"] = data
        return _dumps(frame)

    def _book(self, market: KorbitMarket) -> dict[str, Any]:
        assert market.published is not None
        (bids, asks), time_ms = market.published
        size = market.spec.size
        return {
            "timestamp": time_ms,
            "asks": [{"price": market.price(p), "qty": size(q)} for p, q in asks],
            "bids": [{"price": market.price(p), "qty": size(q)} for p, q in bids],
        }

    def _trade(self, market: KorbitMarket, f: Any) -> dict[str, Any]:
        return {
            "timestamp": f.time_ms,
            "price": market.price(f.ticks),
            "qty": market.spec.size(f.lots),
            # "true if the trade was caused by a buy order".
            "isBuyerTaker": not f.buyer_maker,
            "tradeId": f.last_id,
        }

    def _ticker(self, market: KorbitMarket) -> dict[str, Any]:
        bid, _, ask, _ = market.best()
        last, previous = market.value(market.last_price), market.value(market.day.open_ticks)
        fill = market.last_fill
        return {
            "open": market.price(market.day.open_ticks),
            "high": market.price(market.day.high),
            "low": market.price(market.day.low),
            "close": market.price(market.last_price),
            "prevClose": market.price(market.day.open_ticks),
            "priceChange": f"{last - previous:g}",
            "priceChangePercent": f"{100.0 * (last - previous) / previous:.2f}",
            "volume": f"{market.day.lots / 10**market.spec.size_decimals:.8f}",
            "quoteVolume": f"{market.day.counter_volume:.5f}",
            "bestBidPrice": market.price(bid),
            "bestAskPrice": market.price(ask),
            "lastTradedAt": fill.time_ms if fill is not None else None,
        }

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The last ``orderbook`` frame (the best 30 levels); Korbit books carry no id."""
        if depth not in (None, BOOK_LEVELS):
            raise UsageError(f"korbit books have {BOOK_LEVELS} levels a side, not {depth}")
        if not isinstance(market, KorbitMarket):
            raise UsageError("not a korbit market")
        bids, asks = market.published[0] if market.published is not None else market.levels(BOOK_LEVELS)
        size = market.spec.size
        return (
            {market.value(p): float(size(q)) for p, q in bids},
            {market.value(p): float(size(q)) for p, q in asks},
            None,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/v2/currencyPairs`` and ``/v2/orderbook?symbol=``."""
        if call.method == "GET" and call.path == "/v2/currencyPairs":
            pairs = [self._pair(m.spec) for m in markets.values()]
            return RestAnswer(200, orjson.dumps({"success": True, "data": pairs}))
        if call.method == "GET" and call.path == "/v2/orderbook":
            market = markets.get(call.query.get("symbol", ""))
            if not isinstance(market, KorbitMarket):
                return RestAnswer(400, b'{"success":false,"error":{"code":400,"message":"INVALID_CURRENCY_PAIR"}}')
            bids, asks = market.levels(BOOK_LEVELS)
            size = market.spec.size
            book = {
                "timestamp": market.published[1] if market.published is not None else now_ms,
                "bids": [{"price": market.price(p), "qty": size(q)} for p, q in bids],
                "asks": [{"price": market.price(p), "qty": size(q)} for p, q in asks],
            }
            return RestAnswer(200, orjson.dumps({"success": True, "data": book}))
        return RestAnswer(404, b'{"success":false,"error":{"code":404,"message":"NOT_FOUND"}}')

    def _pair(self, spec: InstrumentSpec) -> dict[str, Any]:
        return {
            "symbol": spec.native,
            "status": "launched",
            "baseCurrency": spec.base.lower(),
            "quoteCurrency": spec.quote.lower(),
            "minOrderValue": "5000",
            "maxOrderValue": "1000000000",
        }

    def rate_limited(self) -> RestAnswer:
        """Korbit's answer past "50 requests per second per IP" (the server adds ``Retry-After``)."""
        return RestAnswer(429, b'{"success":false,"error":{"code":429,"message":"TOO_MANY_REQUESTS"}}')

    def malformed(self) -> str:
        """A book frame cut off mid-object."""
        return '{"symbol":"btc_krw","timestamp":1790134243081,"type":"orderbook","data":{"timestamp":17901342'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Korbit-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        market = self._markets[spec.native]
        price = market.price(spec.start_ticks)
        native = spec.native

        def frame(kind: str, data: Any, symbol: str = native) -> str:
            return hostile_json({"symbol": symbol, "timestamp": now_ms, "type": kind, "data": data})

        def trade(**changes: Any) -> str:
            t = {"timestamp": now_ms, "price": price, "qty": "0.5", "isBuyerTaker": True, "tradeId": 7} | changes
            return frame("trade", [t])

        def book(**changes: Any) -> str:
            level = {"price": price, "qty": "1.5"}
            return frame("orderbook", {"timestamp": now_ms, "asks": [level], "bids": [level]} | changes)

        return [
            (trade(price="NaN"), "NaN price"),
            (trade(price="Infinity"), "infinite price"),
            (trade(price="0"), "zero price"),
            (trade(price="-" + price), "negative price"),
            (trade(qty="-0.5"), "negative size"),
            (trade(price=[price]), "price of the wrong type"),
            (trade(isBuyerTaker="yes"), "taker flag of the wrong type"),
            (trade(tradeId=2**70), "trade id beyond 64 bits"),
            (book(bids=[{"price": "nan", "qty": "1"}]), "NaN book level"),
            (book(asks=[{"price": price, "qty": "-1"}]), "negative book size"),
            (book(timestamp=2**70), "book time beyond 64 bits"),
            (frame("ticker", {"close": "-5", "bestBidPrice": price}), "negative ticker price"),
            (frame("trade", [], "nosuchcoin_krw"), "unknown pair"),
            (frame("notAChannel", {}), "unknown type"),
            (hostile_json({"status": "sideways"}), "unknown status"),
        ]
