"""Coinone's public wire format over the neutral market: KRW spot markets.

Everything follows ``shared/exchanges/coinone.md`` and docs.coinone.co.kr:

- one websocket at the host's root. A client sends one request per channel and market,
  ``{"request_type":"SUBSCRIBE","channel":"ORDERBOOK","topic":{"quote_currency":"KRW",
  "target_currency":"BTC"}}`` (``CHART`` topics add ``interval``; ``"format":"SHORT"``
  asks for the short keys). The answer is ``SUBSCRIBED`` echoing the topic; an
  ``ORDERBOOK`` subscription then gets the current book at once ("the latest order book
  once right after subscribing"), and subscribing it again repeats that book with the
  same id. ``UNSUBSCRIBE`` is answered ``UNSUBSCRIBED``; ``{"request_type":"PING"}`` with
  ``{"response_type":"PONG"}``. Upper case is mandatory: a lower-case ``request_type``,
  an unknown channel or format is ``ERROR 160011``, text that is not JSON ``160010``, and
  an unknown market is acknowledged and then refused with ``160012 Invalid Topic``.
- ``ORDERBOOK``: the whole top 16 levels a side whenever they change, asks worst first;
  ``TRADE``: one message per fill; ``TICKER``: after fills and touch changes, with the best
  bid and ask; ``CHART``: the forming bar after each step that traded in it.
- REST ``/public/v2/markets/{quote}`` and ``/public/v2/orderbook/{quote}/{target}``.

Faults: books are whole messages, so ``GAP`` and ``CHECKSUM`` do not apply (use ``STALL``).
:meth:`CoinoneWire.true_book` is the last published book with its id.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from ...errors import UnknownExchange, UsageError
from ...simulator.market import INTERVAL_MS, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .schemas import SHORT_KEYS
from .sim_market import BOOK_LEVELS, KRW_MARKETS, CoinoneMarket

__all__ = ["CoinoneWire"]

_CHANNELS = ("ORDERBOOK", "TICKER", "TRADE", "CHART")
_CHART_INTERVALS = frozenset({"1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "1d", "1w"})
_FORMATS = ("DEFAULT", "SHORT")
_PONG = '{"response_type":"PONG"}'


def _error(code: int, message: str, field: str | None = None) -> str:
    body: dict[str, Any] = {"response_type": "ERROR", "error_code": code, "message": message}
    if field is not None:
        body["field"] = field
    return orjson.dumps(body).decode()


def _short(obj: Any) -> Any:
    """``obj`` with every key Coinone abbreviates in the ``SHORT`` format abbreviated."""
    if isinstance(obj, dict):
        return {SHORT_KEYS.get(k, k): _short(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_short(v) for v in obj]
    return obj


@dataclass(frozen=True, slots=True)
class _Stream:
    """One subscription: ``DEFAULT|ORDERBOOK|KRW-BTC`` or ``SHORT|CHART|KRW-BTC|1m``."""

    fmt: str
    channel: str
    market: str
    interval: str = ""

    @property
    def name(self) -> str:
        return "|".join((self.fmt, self.channel, self.market, *([self.interval] if self.interval else [])))

    @classmethod
    def parse(cls, name: str) -> _Stream:
        fmt, channel, market, *rest = name.split("|")
        return cls(fmt, channel, market, rest[0] if rest else "")


class CoinoneWire(WireFormat):
    """Coinone's public websocket and REST v2 for the ``coinone`` exchange id."""

    default_ws = "wss://stream.coinone.co.kr"
    default_rest = "https://api.coinone.co.kr"
    endpoint_path = "/"  # the stream is served at the host's root
    instruments_path = "/public/v2/markets/KRW"
    book_diffs = False

    def __init__(self, exchange: str = "coinone") -> None:
        if exchange != "coinone":
            raise UnknownExchange(f"the Coinone wire format serves 'coinone', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, CoinoneMarket] = {}
        self._units: dict[str, int] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated market for ``BTC/KRW`` (native ``KRW-BTC``); Coinone lists KRW markets only."""
        spec, unit = KRW_MARKETS.spec(self.exchange, symbol, seed)
        self._units[spec.native] = unit
        return spec

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`CoinoneMarket`; the wire remembers it to answer subscriptions and REST."""
        rng = random.Random(f"{seed}:coinone:{spec.symbol}")
        market = CoinoneMarket(spec, rng, depth=depth, unit=self._units.get(spec.native, 0))
        self._markets[spec.native] = market
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """The one public stream, at the root (the private one is not simulated)."""
        return "" if path == "" else None

    def ws_path(self, route: str) -> str:
        """The root path."""
        return ""

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """One request per channel and market: trades, ticker, book and ``interval`` bars."""
        frames = []
        for spec in specs:
            topic: dict[str, str] = {"quote_currency": spec.quote, "target_currency": spec.base}
            for channel in ("TRADE", "TICKER", "ORDERBOOK"):
                frames.append({"request_type": "SUBSCRIBE", "channel": channel, "topic": topic})
            if interval in _CHART_INTERVALS:
                frames.append(
                    {"request_type": "SUBSCRIBE", "channel": "CHART", "topic": {**topic, "interval": interval}}
                )
        return {"": [orjson.dumps(f).decode() for f in frames]}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer one request: ``PING``, ``SUBSCRIBE`` (with the book on ``ORDERBOOK``) or ``UNSUBSCRIBE``."""
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(_error(160010, "Invalid Request"))
        if not isinstance(request, dict):
            return Control(_error(160010, "Invalid Request"))
        kind = request.get("request_type")
        if kind == "PING":
            return Control(_PONG)
        if kind not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return Control(_error(160011, "Invalid Type", "request_type"))
        channel = request.get("channel")
        if channel not in _CHANNELS:
            return Control(_error(160011, "Invalid Type", "channel"))
        fmt = request.get("format", "DEFAULT")
        if fmt not in _FORMATS:
            return Control(_error(160011, "Invalid Type", "format"))
        topic = request.get("topic")
        if not isinstance(topic, dict):
            return Control(_error(160012, "Invalid Topic"))
        quote, target = topic.get("quote_currency"), topic.get("target_currency")
        interval = topic.get("interval", "") if channel == "CHART" else ""
        reply = orjson.dumps({"response_type": f"{kind}D", "channel": channel, "data": topic}).decode()
        valid = isinstance(quote, str) and isinstance(target, str) and isinstance(interval, str)
        key = f"{quote}-{target}".upper() if valid else ""
        market = markets.get(key)
        if market is None or (channel == "CHART" and interval not in _CHART_INTERVALS):
            # "An unknown market is first acknowledged, then refused with 160012, naming no topic."
            return Control(reply, frames=[_error(160012, "Invalid Topic")])
        stream = _Stream(fmt, str(channel), key, str(interval)).name
        if kind == "UNSUBSCRIBE":
            return Control(reply, unsubscribe=[stream])
        frames: list[str | bytes] = []
        if channel == "ORDERBOOK" and isinstance(market, CoinoneMarket):
            frames.append(self._book_snapshot(fmt, market, now_ms))
        return Control(reply, subscribe=[stream], frames=frames)

    def wanted_intervals(self, stream: str) -> str | None:
        """The bar interval a ``CHART`` stream needs aggregated (``1w`` bars are not simulated)."""
        s = _Stream.parse(stream)
        return s.interval if s.channel == "CHART" and s.interval in INTERVAL_MS else None

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: a message per fill, a ticker, the book if its top changed, bars."""
        market = self._markets[spec.native]
        native = spec.native
        out: list[Message] = []
        # Each body is made once (its id drawn once) and rendered per subscribed format.
        trades = [s for s in (f"{fmt}|TRADE|{native}" for fmt in _FORMATS) if s in subscribed]
        if update.fills and trades:
            for f in update.fills:
                body = market.trade_data(f)
                out.extend(self._messages(trades, "TRADE", body))
        tickers = [s for s in (f"{fmt}|TICKER|{native}" for fmt in _FORMATS) if s in subscribed]
        if (update.fills or update.bbo_changed) and tickers:
            out.extend(self._messages(tickers, "TICKER", market.ticker_data(update.time_ms)))
        books = [s for s in (f"{fmt}|ORDERBOOK|{native}" for fmt in _FORMATS) if s in subscribed]
        if books and update.first_id is not None:
            levels = market.levels(BOOK_LEVELS)
            if market.published is None or market.published[0] != levels:
                market.published = (levels, market.next_id(update.time_ms), update.time_ms)
                out.extend(self._messages(books, "ORDERBOOK", market.book_data()))
        for candle, closed in update.candles:
            if closed:
                continue  # Coinone never marks a bar closed: the next bar's first message does
            charts = [s for s in (f"{fmt}|CHART|{native}|{candle.interval}" for fmt in _FORMATS) if s in subscribed]
            if charts:
                out.extend(self._messages(charts, "CHART", market.bar_data(candle, update.time_ms)))
        return out

    def _messages(self, streams: list[str], channel: str, data: dict[str, Any]) -> list[Message]:
        return [Message(s, self._frame(s.partition("|")[0], channel, data)) for s in streams]

    def _frame(self, fmt: str, channel: str, data: dict[str, Any]) -> str:
        body = {"response_type": "DATA", "channel": channel, "data": data}
        return orjson.dumps(_short(body) if fmt == "SHORT" else body).decode()

    def _book_snapshot(self, fmt: str, market: CoinoneMarket, now_ms: int) -> str:
        """The book sent on subscribe: the last published one again (same id and time) if it still holds."""
        levels = market.levels(BOOK_LEVELS)
        if market.published is None or market.published[0] != levels:
            market.published = (levels, market.next_id(now_ms), now_ms)
        return self._frame(fmt, "ORDERBOOK", market.book_data())

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The last ``ORDERBOOK`` message (the best 16 levels) and its id."""
        if depth not in (None, BOOK_LEVELS):
            raise UsageError(f"coinone books have {BOOK_LEVELS} levels a side, not {depth}")
        if not isinstance(market, CoinoneMarket) or market.published is None:
            raise UsageError("no coinone book has been published for this market yet")
        (bids, asks), book_id, _ = market.published
        size = market.spec.size
        return (
            {market.value(p): float(size(q)) for p, q in bids},
            {market.value(p): float(size(q)) for p, q in asks},
            book_id,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/public/v2/markets/{quote}`` and ``/public/v2/orderbook/{quote}/{target}``."""
        parts = call.path.strip("/").split("/")
        if call.method != "GET" or parts[:2] != ["public", "v2"] or len(parts) < 4:
            return RestAnswer(404, b"<html>not found</html>")
        if parts[2] == "markets" and len(parts) == 4:
            quote = parts[3].upper()
            listed = [self._listing(m) for m in markets.values() if m.spec.quote == quote]
            body = {"result": "success", "error_code": "0", "server_time": now_ms, "markets": listed}
            return RestAnswer(200, orjson.dumps(body))
        if parts[2] == "orderbook" and len(parts) == 5:
            market = markets.get(f"{parts[3]}-{parts[4]}".upper())
            if not isinstance(market, CoinoneMarket):
                # Errors come with HTTP 200.
                return RestAnswer(200, b'{"result":"error","error_code":"108","error_msg":"Unknown CryptoCurrency"}')
            size = call.query.get("size", "15")
            if size not in ("5", "10", "15", "16"):
                return RestAnswer(200, b'{"result":"error","error_code":"107","error_msg":"Parameter value is wrong"}')
            bids, asks = market.levels(int(size))
            spec = market.spec
            body = {
                "result": "success",
                "error_code": "0",
                "timestamp": now_ms,
                "id": str(market.next_id(now_ms)),
                "quote_currency": spec.quote,
                "target_currency": spec.base,
                "order_book_unit": "0.0",
                "bids": [{"price": market.price(p), "qty": spec.size(q)} for p, q in bids],
                "asks": [{"price": market.price(p), "qty": spec.size(q)} for p, q in asks],
            }
            return RestAnswer(200, orjson.dumps(body))
        return RestAnswer(404, b"<html>not found</html>")

    def _listing(self, market: SymbolMarket) -> dict[str, Any]:
        spec = market.spec
        unit = self._units.get(spec.native, 0)
        return {
            "quote_currency": spec.quote,
            "target_currency": spec.base,
            "price_unit": f"{unit}.0" if unit else spec.tick_size,
            "qty_unit": spec.step_size,
            "max_order_amount": "1000000000.0",
            "max_price": "10000000000",
            "max_qty": "100000000",
            "min_order_amount": "5000.0",
            "min_price": "0.0001",
            "min_qty": spec.step_size,
            "order_book_units": ["0.0"],
            "maintenance_status": 0,
            "trade_status": 1,
            "order_types": ["limit", "market", "stop_limit"],
        }

    def rate_limited(self) -> RestAnswer:
        """Coinone's answer past its request budget."""
        return RestAnswer(429, b'{"result":"error","error_code":"4","error_msg":"Blocked user access."}')

    def malformed(self) -> str:
        """A book frame cut off mid-object."""
        return '{"response_type":"DATA","channel":"ORDERBOOK","data":{"quote_currency":"KRW","target_currency"'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Coinone-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        market = self._markets[spec.native]
        price = market.price(spec.start_ticks)
        topic = {"quote_currency": spec.quote, "target_currency": spec.base}

        def data(channel: str, fields: dict[str, Any]) -> str:
            return hostile_json({"response_type": "DATA", "channel": channel, "data": {**topic, **fields}})

        def trade(**changes: Any) -> str:
            t = {"id": f"{now_ms}001", "timestamp": now_ms, "price": price, "qty": "0.5", "is_seller_maker": True}
            return data("TRADE", t | changes)

        def book(**changes: Any) -> str:
            level = {"price": price, "qty": "1.5"}
            b = {"timestamp": now_ms, "id": f"{now_ms}001", "asks": [level], "bids": [level]}
            return data("ORDERBOOK", b | changes)

        return [
            (trade(price="NaN"), "NaN price"),
            (trade(price="Infinity"), "infinite price"),
            (trade(price="0"), "zero price"),
            (trade(price="-" + price), "negative price"),
            (trade(qty="-0.5"), "negative size"),
            (trade(price=[price]), "price of the wrong type"),
            (trade(is_seller_maker="sometimes"), "taker flag of the wrong type"),
            (trade(timestamp=2**70), "time beyond 64 bits"),
            (book(id="1" * 25), "book id beyond 64 bits"),
            (book(bids=[{"price": "nan", "qty": "1"}]), "NaN book level"),
            (book(asks=[{"price": price, "qty": "-1"}]), "negative book size"),
            (data("TICKER", {"timestamp": now_ms, "bid_best_price": "-5", "last": price}), "negative ticker price"),
            (trade(target_currency="NOSUCHCOIN"), "unknown market"),
            (trade(quote_currency="USDT"), "a quote Coinone does not list"),
            (hostile_json({"response_type": "DATA", "channel": "NOTACHANNEL", "data": topic}), "unknown channel"),
            (hostile_json({"response_type": "NOTATYPE"}), "unknown response type"),
        ]
