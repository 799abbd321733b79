"""Markets, REST and hostile input of the Upbit quotation protocol in the simulator.

:class:`QuotationMarkets` is the half of :class:`~.simwire.QuotationWire` that does not
depend on the websocket: the simulated instruments (native ``QUOTE-BASE`` codes, KRW tick
bands, the KRW premium), books as a client holds them (grouped by a price ``level``
where asked), the quotation REST calls (``/v1/market/all``, ``/v1/orderbook``,
``/v1/orderbook/instruments``) and the frames with impossible values every client must reject.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any, ClassVar

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.krw import KRW_PER_USD, LEVEL_USD, Decimals, TickTable, krw_price, spot_spec
from ...simulator.market import InstrumentSpec, SymbolMarket, split_symbol, start_price
from ...simulator.wire import RestAnswer, RestCall, WireFormat, hostile_json
from .simframes import CANDLE_KEYS, QuotationMarket, Renderer, Side, Style, group, simple
from .simrequest import error

__all__ = ["DEFAULT_DEPTH", "QuotationMarkets"]

DEFAULT_DEPTH = 30
"""Levels per side of an ``orderbook`` message without a depth suffix (raised from 15 in 2025)."""

_WEIGHT_HEADER = "X-Sim-Used-Weight"  # Upbit's Remaining-Req counts down per group; not simulated
_DECIMALS = Decimals(at_one=5)  # below the KRW tick table and in the other quotes

_RestHandler = Callable[[Mapping[str, str], Mapping[str, SymbolMarket], int], RestAnswer]


class QuotationMarkets(WireFormat):
    """Instruments, books, REST and hostile frames of the protocol; :class:`~.simwire.QuotationWire` adds the socket."""

    instruments_path = "/v1/market/all"

    exchange_id: ClassVar[str]
    style: ClassVar[Style] = Style()
    quotes: ClassVar[dict[str, float]] = {"KRW": KRW_PER_USD, "USDT": 1.0}
    """Quote currencies besides BTC, in units per USD; KRW stays at :data:`~collector.simulator.krw.KRW_PER_USD`,
    the rate every won price is drawn at (:func:`~collector.simulator.krw.krw_price`)."""
    krw_premium: ClassVar[float] = 1.0
    """KRW prices of coins over their USD price times the rate (dollar stablecoins trade at par)."""
    krw_ticks: ClassVar[TickTable] = ()
    """KRW tick table, highest band first: (price at or above, tick in KRW); below it, decimals."""
    depths: ClassVar[tuple[int, ...]] = (1, 5, 15, 30)
    """Book depths a code may ask for with ``.N``; any other suffix gets :data:`DEFAULT_DEPTH`."""
    binary: ClassVar[bool] = True
    """Frames go out binary (UTF-8 JSON); text otherwise."""
    request_format: ClassVar[str] = "SIMPLE"
    """The key set the exchange's adapter requests (synthetic sessions and hostile frames use it)."""

    def __init__(self, exchange: str) -> None:
        if exchange != self.exchange_id:
            raise UnknownExchange(
                f"the {type(self).__name__} wire format serves {self.exchange_id!r}, not {exchange!r}"
            )
        super().__init__(exchange)
        self._markets: dict[str, QuotationMarket] = {}  # by native id
        self._units: dict[str, float] = {}  # native id -> KRW per tick, for ticks of 1 KRW and more
        self.render = Renderer(self.style, self._price, self._size)
        self._rest: dict[str, _RestHandler] = {
            "/v1/market/all": self._market_all,
            "/v1/orderbook": self._orderbook_rest,
            "/v1/orderbook/instruments": self._orderbook_instruments,
        }

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated market for ``BTC/KRW`` or ``ETH/BTC`` (native ``QUOTE-BASE``)."""
        name = self.exchange_id
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"{name}: {exc}") from None
        if settle is not None or (quote not in self.quotes and quote != "BTC") or base == quote:
            markets = ", ".join(f"BTC/{q}" if q != "BTC" else "ETH/BTC" for q in [*self.quotes, "BTC"])
            raise UnknownSymbol(f"{name} lists no {symbol!r}; markets look like {markets}")
        rng = random.Random(f"{seed}:{name}:{symbol}:spec")
        if quote == "KRW":
            price = krw_price(base, rng, self.krw_premium)
        else:
            usd = start_price(base, rng)
            price = usd / start_price("BTC", rng) if quote == "BTC" else usd * self.quotes[quote]
        # A typical level holds about 3000 USD, in the market's quote currency.
        level_value = LEVEL_USD / start_price("BTC", rng) if quote == "BTC" else LEVEL_USD * self.quotes[quote]
        ticks = self.krw_ticks if quote == "KRW" else ()
        spec, unit = spot_spec(
            symbol, f"{quote}-{base}", price, ticks=ticks, decimals=_DECIMALS, level_value=level_value
        )
        if unit:
            self._units[spec.native] = float(unit)
        return spec

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`QuotationMarket`; the wire remembers it to answer subscribes and REST."""
        rng = random.Random(f"{seed}:{self.exchange_id}:{spec.symbol}")
        market = QuotationMarket(spec, rng, depth=depth, start_id=10**9)
        self._markets[spec.native] = market
        return market

    def market_key(self, spec: InstrumentSpec) -> str:
        """The native id (``KRW-BTC``): market codes are unique."""
        return spec.native

    def _price(self, spec: InstrumentSpec, ticks: int) -> float:
        unit = self._units.get(spec.native)
        return ticks * unit if unit is not None else float(spec.price(ticks))

    def _size(self, spec: InstrumentSpec, lots: int) -> float:
        return float(spec.size(lots))

    def supported_levels(self, spec: InstrumentSpec) -> list[float]:
        """Grouping units of a market (``/v1/orderbook/instruments`` ``supported_levels``): 0 and
        four powers of ten above the tick on KRW markets ("원화마켓(KRW)에서만 지원"), 0 elsewhere."""
        if spec.quote != "KRW":
            return [0.0]
        first = math.floor(math.log10(self._price(spec, 1))) + 1
        return [0.0] + [10.0**k for k in range(first, first + 4)]

    def book_levels(self, market: SymbolMarket, depth: int, level: float) -> tuple[Side, Side]:
        """The best ``depth`` levels (ticks, lots) of a book, grouped by ``level`` when it groups."""
        if level == self.style.default_level or level == 0.0:
            return market.levels(depth)
        unit = round(level / self._price(market.spec, 1))
        bids, asks = market.levels(market.depth)
        return group(bids, unit, True)[:depth], group(asks, unit, False)[:depth]

    def _out(self, data: bytes) -> str | bytes:
        return data if self.binary else data.decode()

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The best ``depth`` levels (default 30) as the last ``orderbook`` message has them; no update id."""
        depth = DEFAULT_DEPTH if depth is None else depth
        if depth not in self.depths:
            raise UsageError(f"{self.exchange} books have {', '.join(map(str, self.depths))} levels, not {depth}")
        spec = market.spec
        bids, asks = market.levels(depth)
        return (
            {self._price(spec, p): self._size(spec, q) for p, q in bids},
            {self._price(spec, p): self._size(spec, q) for p, q in asks},
            None,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/v1/...`` quotation calls."""
        handler = self._rest.get(call.path)
        if handler is None or call.method != "GET":
            return RestAnswer(404, error("404", f"path {call.path} not found"))
        return handler(call.query, markets, now_ms)

    def rate_limited(self) -> RestAnswer:
        """The answer when the request rate is exceeded (HTTP 429)."""
        return RestAnswer(429, error("too_many_requests", "Too many API requests."))

    def weight_header(self) -> str:
        """A simulator-only header with the minute's REST weight."""
        return _WEIGHT_HEADER

    def _market_all(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        details = query.get("is_details", query.get("isDetails", "false")) == "true"
        listed: list[dict[str, Any]] = []
        for native, market in markets.items():
            entry: dict[str, Any] = {
                "market": native,
                "korean_name": market.spec.base,
                "english_name": market.spec.base,
            }
            if details:
                entry["market_warning"] = "NONE"
            listed.append(entry)
        return RestAnswer(200, orjson.dumps(listed))

    def _orderbook_rest(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        codes = [c for c in query.get("markets", "").split(",") if c]
        if not codes:
            return RestAnswer(400, error("validation_error", "markets is required"))
        raw = query.get("count", str(DEFAULT_DEPTH))
        count = int(raw) if raw.isdigit() and 1 <= int(raw) <= DEFAULT_DEPTH else DEFAULT_DEPTH
        books = []
        for code in codes:
            market = markets.get(code)
            if market is None:
                return RestAnswer(404, error("404", "Code not found"))
            level = self.style.default_level
            body = self.render.orderbook(market, self.book_levels(market, count, level), now_ms, "SNAPSHOT", level)
            del body["type"], body["stream_type"], body["code"]
            books.append({"market": code, **body})
        return RestAnswer(200, orjson.dumps(books))

    def _orderbook_instruments(
        self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int
    ) -> RestAnswer:
        answer = []
        for code in (c for c in query.get("markets", "").split(",") if c):
            market = markets.get(code)
            if market is None:
                return RestAnswer(404, error("404", "Code not found"))
            spec = market.spec
            tick = self._price(spec, 1)
            answer.append(
                {
                    "market": code,
                    "quote_currency": spec.quote,
                    "tick_size": f"{tick:g}" if tick >= 1 else spec.tick_size,
                    "supported_levels": [int(v) if v.is_integer() else v for v in self.supported_levels(spec)],
                }
            )
        return RestAnswer(200, orjson.dumps(answer))

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """The market list as the adapter asks for it (one call, no query by default)."""
        return [{}]

    # -- hostile input --------------------------------------------------------------------------

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Frames shaped like this exchange's (:attr:`request_format` keys) with impossible values."""
        short = self.request_format == "SIMPLE"
        nan = (
            f'{{"ty":"trade","cd":"{spec.native}","tp":NaN}}'
            if short
            else f'{{"type":"trade","code":"{spec.native}","trade_price":NaN}}'
        )
        out: list[tuple[str | bytes, str]] = [(self._out(nan.encode()), "NaN literal (not JSON)")]
        for msg, why in self.hostile_messages(spec, now_ms):
            obj = simple(msg, CANDLE_KEYS) if short else msg
            out.append((self._out(hostile_json(obj).encode()), why))
        return out

    def malformed(self) -> str | bytes:
        """A frame cut off mid-object."""
        if self.request_format == "SIMPLE":
            return self._out(b'{"ty":"orderbook","cd":"KRW-BTC","tms":1746601573804,"obu":[{"ap":')
        return self._out(
            b'{"type":"orderbook","code":"KRW-BTC","timestamp":1746601573804,"orderbook_units":[{"ask_price":'
        )

    def hostile_messages(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[dict[str, Any], str]]:
        """Messages (DEFAULT keys) of ``spec`` with impossible values, each of which a client must reject."""
        code = spec.native
        price = self._price(spec, spec.start_ticks)
        base = {
            "type": "trade",
            "code": code,
            "timestamp": now_ms,
            "trade_date": "2026-01-01",
            "trade_time": "00:00:00",
        }
        base |= {"trade_timestamp": now_ms, "trade_price": price, "trade_volume": 0.5, "ask_bid": "BID"}
        base |= {"prev_closing_price": price, "change": "EVEN", "change_price": 0, "sequential_id": 1}

        def trade(**changes: Any) -> dict[str, Any]:
            return base | changes | {"stream_type": "REALTIME"}

        unit = {"ask_price": price * 1.01, "bid_price": price, "ask_size": 1.0, "bid_size": 1.0}
        stamp: Any = str(now_ms * 1000) if self.style.micros_books else now_ms
        book = {"type": "orderbook", "code": code, "timestamp": stamp, "total_ask_size": 1, "total_bid_size": 1}

        def orderbook(units: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
            return book | {"orderbook_units": units, "stream_type": "REALTIME"} | changes

        return [
            (trade(trade_price=1e400), "price beyond a double"),
            (trade(trade_price=0), "zero price"),
            (trade(trade_price=-price), "negative price"),
            (trade(trade_volume=-1.5), "negative size"),
            (trade(trade_price="cheap"), "price of the wrong type"),
            (trade(ask_bid="SIDEWAYS"), "unknown taker side"),
            (trade(sequential_id=2**70), "trade id beyond 64 bits"),
            (orderbook([unit | {"bid_price": -price}]), "negative book price"),
            (orderbook([unit | {"ask_size": -1.0}]), "negative book size"),
            (orderbook([unit], level=3), "grouping level that is no unit"),
            ({"type": "trade", "code": "KRW-NOSUCHCOIN", "trade_price": price}, "unknown market"),
            ({"type": "notAType", "code": code}, "unknown message type"),
        ]
