"""ProBit's public wire format over the neutral market: ProBit Global (USDT, BTC, USDC) and
ProBit Korea (KRW) spot markets.

Everything follows ``shared/exchanges/probit.md`` and docs-en.probit.com:

- one websocket, ``/api/exchange/v1/ws``. ``{"type":"subscribe","channel":"marketdata",
  "market_id":..., "interval":100|500, "filter":[...]}`` subscribes one market with the
  filters ``ticker``, ``recent_trades``, ``order_books`` and ``order_books_l0`` ...
  ``order_books_l4``; a second request for the same market replaces the first. There is
  no acknowledgement: the first message, with ``"reset":true``, holds the full state of
  every filter (the whole book with ProBit's bogus ``buy`` level at price ``"0"``, the
  last 100 trades oldest first, the ticker). ``unsubscribe`` ends a market's feed.
  Refusals: ``{"errorCode":"INVALID_ARGUMENT"|"INVALID_MARKET"|"UNAUTHORIZED",
  "message":"","details":{...}}``.
- then one message per market step with the filters that changed: book levels (absolute
  sizes, ``"0"`` removes), the step's trades, the ticker after trades. Updates are not
  batched per ``interval``.
- all numbers are decimal strings, times ISO-8601 UTC with milliseconds.
- REST ``/api/exchange/v1/market``, ``/order_book?market_id=`` and ``/time``.

KRW markets (ProBit Korea) use a Korean tick table and trade about 2.5 % above the USD
price times 1,400. There is no keepalive beyond the server's protocol pings, no sequence
and no checksum (``sequenced = False``: a withheld diff cannot be seen).
:meth:`ProbitWire.true_book` is the raw book (``order_books``), with no id.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import orjson

from ...errors import UnknownExchange, UnknownSymbol
from ...simulator.krw import KRW_PER_USD, LEVEL_USD, STABLECOINS, Decimals, spot_spec
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .sim_market import ProbitMarket, ProbitSession, grouped

__all__ = ["FILTERS", "ProbitWire"]

FILTERS = ("ticker", "recent_trades", "order_books", *(f"order_books_l{n}" for n in range(5)))
"""The ``marketdata`` filters."""

_BOOKS = {"order_books": 0, **{f"order_books_l{n}": n for n in range(5)}}  # filter -> grouping level
_PRIVATE = frozenset({"open_order", "order_history", "trade_history", "balance"})
_QUOTES = {"USDT": 1.0, "USDC": 1.0, "KRW": KRW_PER_USD}  # quote units per USD; BTC divides by the BTC price
_KRW_PREMIUM = 1.025
_DECIMALS = Decimals(at_one=5)  # below the won table: a price from 1 to 10 quotes 5 decimals
# ProBit's won bands from 1,000 KRW up: the common table without its 5,000 KRW band.
_KRW_TICKS = ((1_000_000, 1000), (500_000, 500), (100_000, 100), (50_000, 50), (10_000, 10), (1_000, 1))
_API = "/api/exchange/v1"


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _error(code: str, **details: str) -> str:
    return _dumps({"errorCode": code, "message": "", "details": details})


def _iso(time_ms: int) -> str:
    when = datetime.fromtimestamp(time_ms // 1000, UTC)
    return f"{when:%Y-%m-%dT%H:%M:%S}.{time_ms % 1000:03d}Z"


class ProbitWire(WireFormat):
    """ProBit's public websocket and REST for the ``probit`` exchange id."""

    default_ws = "wss://api.probit.com"
    default_rest = "https://api.probit.com"
    endpoint_path = "/api/exchange/v1/ws"
    instruments_path = f"{_API}/market"
    sequenced = False  # book messages carry no sequence

    def __init__(self, exchange: str = "probit") -> None:
        if exchange != "probit":
            raise UnknownExchange(f"the ProBit wire format serves 'probit', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, ProbitMarket] = {}
        self._units: dict[str, int] = {}  # market -> KRW per tick, for ticks of 1 KRW and more
        self._streams: dict[str, set[str]] = {}  # market -> streams ever subscribed
        self._views: dict[tuple[str, int], tuple[dict[int, int], dict[int, int]]] = {}  # grouped books published

    # -- instruments and markets ----------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated market for ``BTC/USDT``, ``ETH/BTC``, ``BTC/USDC`` or ``BTC/KRW`` (native ``BASE-QUOTE``)."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"probit: {exc}") from None
        if settle is not None or (quote not in _QUOTES and quote != "BTC") or base == quote:
            raise UnknownSymbol(f"probit lists no {symbol!r}; markets look like BTC/USDT, ETH/BTC, BTC/KRW")
        rng = random.Random(f"{seed}:probit:{symbol}:spec")
        usd = start_price(base, rng)
        btc = start_price("BTC", rng)
        price = usd / btc if quote == "BTC" else usd * _QUOTES[quote]
        if quote == "KRW" and base not in STABLECOINS:
            price *= _KRW_PREMIUM
        spec, unit = spot_spec(
            symbol,
            f"{base}-{quote}",
            price,
            ticks=_KRW_TICKS if quote == "KRW" else (),
            decimals=_DECIMALS,
            level_value=LEVEL_USD / btc if quote == "BTC" else LEVEL_USD * _QUOTES[quote],
            size_decimals=min(8, max(0, math.floor(math.log10(usd)) + 3)),  # a lot worth 0.001 to 0.01 USD
        )
        if unit:
            self._units[spec.native] = unit
        return spec

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`ProbitMarket`; the wire remembers it to answer subscriptions and REST."""
        rng = random.Random(f"{seed}:probit:{spec.symbol}")
        market = ProbitMarket(spec, rng, depth=depth, start_id=10**9)
        self._markets[spec.native] = market
        return market

    def _price(self, spec: InstrumentSpec, ticks: int) -> str:
        unit = self._units.get(spec.native)
        return str(ticks * unit) if unit is not None else spec.price(ticks)

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """The one socket, ``/api/exchange/v1/ws``."""
        return "" if path.strip("/") == "api/exchange/v1/ws" else None

    def open(self, route: str) -> Session:
        """A session that remembers each market's subscribed filters."""
        return ProbitSession(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """One request per market with ticker, trades and the raw book (ProBit streams no candles)."""
        frames = []
        for spec in specs:
            request = {"type": "subscribe", "channel": "marketdata", "market_id": spec.native, "interval": 100}
            frames.append(_dumps(request | {"filter": ["ticker", "recent_trades", "order_books"]}))
        return {"": frames}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Subscribe (replacing the market's filters, with a reset message) or unsubscribe one market."""
        s = cast(ProbitSession, session)
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(_error("INVALID_ARGUMENT", message="invalid"))
        if not isinstance(request, dict):
            return Control(_error("INVALID_ARGUMENT", message="invalid"))
        kind, channel = request.get("type"), request.get("channel")
        if kind == "authorization" or channel in _PRIVATE:
            return Control(_error("UNAUTHORIZED", message="not simulated"))
        if kind not in ("subscribe", "unsubscribe"):
            return Control(_error("INVALID_ARGUMENT", type="invalid"))
        if channel != "marketdata":
            return Control(_error("INVALID_ARGUMENT", channel="invalid"))
        native = request.get("market_id")
        market = markets.get(native) if isinstance(native, str) else None
        if not isinstance(native, str) or not isinstance(market, ProbitMarket):
            return Control(_error("INVALID_MARKET", market_id="not_exist"))
        old = s.current.get(native)
        if kind == "unsubscribe":
            s.current.pop(native, None)
            return Control(None, unsubscribe=[old] if old else [])
        if request.get("interval") not in (100, 500):
            return Control(_error("INVALID_ARGUMENT", interval="invalid"))
        filters = request.get("filter")
        if not isinstance(filters, list) or not filters or not all(f in FILTERS for f in filters):
            return Control(_error("INVALID_ARGUMENT", filter="invalid"))
        wanted = list(dict.fromkeys(filters))
        stream = f"{native}|{','.join(sorted(wanted))}"
        s.current[native] = stream
        self._streams.setdefault(native, set()).add(stream)
        reset = self._message(market, self._state(market, wanted, now_ms), reset=True)
        return Control(None, subscribe=[stream], unsubscribe=[old] if old and old != stream else [], frames=[reset])

    def _state(self, market: ProbitMarket, filters: list[str], now_ms: int) -> dict[str, Any]:
        """Every filter's full state, for a reset message."""
        spec = market.spec
        parts: dict[str, Any] = {}
        for name in filters:
            if name == "ticker":
                parts[name] = self._ticker(market, now_ms)
            elif name == "recent_trades":
                parts[name] = [self._trade(spec, f, direction) for f, direction in market.recent]
            else:
                level = _BOOKS[name]
                view = grouped(market, level)
                if level:
                    self._views[spec.native, level] = view
                bids, asks = view
                entries = [self._entry(spec, "buy", t, q) for t, q in sorted(bids.items(), reverse=True)]
                # ProBit's snapshots carry a buy "level" at price 0; clients drop it.
                entries.append({"side": "buy", "price": "0", "quantity": spec.size(spec.mean_lots * 40)})
                entries += [self._entry(spec, "sell", t, q) for t, q in sorted(asks.items())]
                parts[name] = entries
        return parts

    def _message(self, market: SymbolMarket, parts: dict[str, Any], *, reset: bool = False) -> str:
        msg: dict[str, Any] = {"channel": "marketdata", "market_id": market.spec.native, "status": "ok", "lag": 0}
        msg.update(parts)
        if reset:
            msg["reset"] = True
        return _dumps(msg)

    def _entry(self, spec: InstrumentSpec, side: str, ticks: int, lots: int) -> dict[str, str]:
        return {"side": side, "price": self._price(spec, ticks), "quantity": spec.size(lots)}

    def _trade(self, spec: InstrumentSpec, f: Any, direction: str) -> dict[str, str]:
        return {
            "id": f"{spec.native}:{f.agg_id}",
            "price": self._price(spec, f.ticks),
            "quantity": spec.size(f.lots),
            "time": _iso(f.time_ms),
            "side": "sell" if f.buyer_maker else "buy",  # the taker side
            "tick_direction": direction,
        }

    def _ticker(self, market: ProbitMarket, now_ms: int) -> dict[str, str]:
        spec = market.spec
        change = (market.last_price - market.day.open_ticks) * (self._units.get(spec.native) or 1)
        scale = 1 if spec.native in self._units else 10**spec.price_decimals
        return {
            "time": _iso(market.last_trade_ms if market.last_trade_ms is not None else now_ms),
            "last": self._price(spec, market.last_price),
            "low": self._price(spec, market.day.low),
            "high": self._price(spec, market.day.high),
            "change": f"{change / scale:.{spec.price_decimals}f}",
            "base_volume": spec.size(market.day.lots),
            "quote_volume": f"{market.day.counter_volume:.8f}",
        }

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """One message per subscribed filter set of the market, with the filters this step changed."""
        native = spec.native
        streams = [s for s in self._streams.get(native, ()) if s in subscribed]
        if not streams:
            return []
        market = self._markets[native]
        books: dict[int, list[dict[str, str]]] = {}
        out: list[Message] = []
        for stream in streams:
            parts: dict[str, Any] = {}
            for name in stream.partition("|")[2].split(","):
                if name == "ticker":
                    if update.fills:  # "Ticker is updated when a trade is executed"
                        parts[name] = self._ticker(market, update.time_ms)
                elif name == "recent_trades":
                    if update.fills:
                        fills = zip(update.fills, market.directions, strict=True)
                        parts[name] = [self._trade(spec, f, d) for f, d in fills]
                else:
                    level = _BOOKS[name]
                    if level not in books:
                        books[level] = self._book_diff(market, update, level)
                    if books[level]:
                        parts[name] = books[level]
            if parts:
                has_book = any(name in _BOOKS for name in parts)
                out.append(Message(stream, self._message(market, parts), native if has_book else None))
        return out

    def _book_diff(self, market: ProbitMarket, update: Update, level: int) -> list[dict[str, str]]:
        spec = market.spec
        if level == 0:
            bids, asks = update.bids, update.asks
        else:
            new = grouped(market, level)
            old = self._views.get((spec.native, level), ({}, {}))
            self._views[spec.native, level] = new
            bids = sorted(_changed(old[0], new[0]), reverse=True)
            asks = sorted(_changed(old[1], new[1]))
        return [self._entry(spec, "buy", t, q) for t, q in bids] + [self._entry(spec, "sell", t, q) for t, q in asks]

    def stream_book_key(self, stream: str) -> str | None:
        """``BTC-USDT|order_books,recent_trades`` -> ``BTC-USDT`` when the stream carries a book."""
        native, _, filters = stream.partition("|")
        return native if any(f in _BOOKS for f in filters.split(",")) else None

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The raw book (or its best ``depth`` levels), as ``order_books`` publishes it; ProBit books have no id."""
        spec = market.spec
        bids, asks = market.levels(depth if depth is not None else max(len(market.bids), len(market.asks)))
        return (
            {float(self._price(spec, p)): float(spec.size(q)) for p, q in bids},
            {float(self._price(spec, p)): float(spec.size(q)) for p, q in asks},
            None,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/api/exchange/v1/market``, ``/order_book`` and ``/time``."""
        path = call.path.rstrip("/")
        if call.method != "GET" or not path.startswith(_API):
            return RestAnswer(404, orjson.dumps({"errorCode": "NOT_FOUND", "message": "", "details": {}}))
        endpoint = path[len(_API) :]
        if endpoint == "/time":
            return RestAnswer(200, orjson.dumps({"data": _iso(now_ms)}))
        if endpoint == "/market":
            return RestAnswer(200, orjson.dumps({"data": [self._market_info(m.spec) for m in markets.values()]}))
        if endpoint == "/order_book":
            market = markets.get(call.query.get("market_id", ""))
            if not isinstance(market, ProbitMarket):
                body = {"errorCode": "INVALID_MARKET", "message": "", "details": {"market_id": "not_exist"}}
                return RestAnswer(400, orjson.dumps(body))
            entries = [e for e in self._state(market, ["order_books"], now_ms)["order_books"] if e["price"] != "0"]
            return RestAnswer(200, orjson.dumps({"data": entries}))
        return RestAnswer(404, orjson.dumps({"errorCode": "NOT_FOUND", "message": "", "details": {}}))

    def _market_info(self, spec: InstrumentSpec) -> dict[str, Any]:
        return {
            "id": spec.native,
            "base_currency_id": spec.base,
            "quote_currency_id": spec.quote,
            "min_price": self._price(spec, 1),
            "max_price": "9999999999999999",
            "price_increment": self._price(spec, 1),
            "min_quantity": spec.step_size,
            "max_quantity": "9999999999999999",
            "quantity_precision": spec.size_decimals,
            "min_cost": "1",
            "max_cost": "9999999999999999",
            "cost_precision": 8,
            "taker_fee_rate": "0.2",
            "maker_fee_rate": "0.2",
            "show_in_ui": True,
            "closed": False,
        }

    def rate_limited(self) -> RestAnswer:
        """ProBit's answer past its request rate (HTTP 429)."""
        body = {"errorCode": "RATE_LIMIT_EXCEEDED", "message": "Too many requests. Try later.", "details": {}}
        return RestAnswer(429, orjson.dumps(body))

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book message cut off mid-entry."""
        return '{"channel":"marketdata","market_id":"BTC-USDT","status":"ok","lag":0,"order_books":[{"side":"buy","pr'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """ProBit-shaped messages of ``spec`` with impossible values, each of which a client must reject."""
        native = spec.native
        price = self._price(spec, spec.start_ticks)
        size = spec.size(1)
        head = {"channel": "marketdata", "market_id": native, "status": "ok", "lag": 0}

        def trade(**changes: Any) -> str:
            t = {"id": f"{native}:1", "price": price, "quantity": size, "time": _iso(now_ms), "side": "buy"}
            return hostile_json(head | {"recent_trades": [t | {"tick_direction": "up"} | changes]})

        def book(**changes: Any) -> str:
            return hostile_json(head | {"order_books": [{"side": "buy", "price": price, "quantity": size} | changes]})

        def ticker(**changes: Any) -> str:
            t = {"time": _iso(now_ms), "last": price, "low": price, "high": price, "change": "0"}
            return hostile_json(head | {"ticker": t | {"base_volume": size, "quote_volume": "1"} | changes})

        return [
            (trade(price="NaN"), "NaN price"),
            (trade(price="Infinity"), "infinite price"),
            (trade(price="0"), "zero trade price"),
            (trade(price="-" + price), "negative price"),
            (trade(quantity="-" + size), "negative size"),
            (trade(price=[price]), "price of the wrong type"),
            (trade(side="sideways"), "unknown taker side"),
            (trade(time="yesterday"), "time that is not ISO-8601"),
            (book(price="-" + price), "negative book price"),
            (book(quantity="NaN"), "NaN book size"),
            (book(side="middle"), "book side that is neither buy nor sell"),
            (ticker(last="NaN"), "NaN ticker price"),
            (hostile_json(head | {"market_id": "NOSUCH-USDT", "recent_trades": []}), "unknown market"),
            (hostile_json({"channel": "notAChannel", "market_id": native}), "unknown channel"),
            (hostile_json(head | {"reset": "yes", "order_books": []}), "reset flag that is not a boolean"),
        ]


def _changed(old: dict[int, int], new: dict[int, int]) -> list[tuple[int, int]]:
    """Levels of ``new`` that differ from ``old``, and ``(tick, 0)`` for levels that left."""
    changed = [(t, q) for t, q in new.items() if old.get(t) != q]
    changed += [(t, 0) for t in old if t not in new]
    return changed
