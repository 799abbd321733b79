"""GOPAX's public wire format over the neutral market: KRW and USDC spot pairs.

Everything follows ``shared/exchanges/gopax.md`` and the public probes of the live socket:

- one websocket at the host's root. A client sends ``{"i": id, "n": name, "o": options}``;
  the reply echoes ``n`` and ``i``. ``SubscribeToOrderBook`` answers with the whole book
  and ``maxEntryId``, then ``OrderBookEvent`` deltas (``"i":-1``) of absolute level sizes;
  ``SubscribeToTradingPair`` answers the same and adds ``PublicTradeEvent``;
  ``SubscribeToTickers`` answers every pair's ticker, then ``TickerEvent`` "in 1 second
  aggregates" after trades. Refusals are ``{"o":{"result":false,"errCode":...,
  "errData":...}}``: 10058 unknown asset, 10321 past 50 books, 10325 already subscribed,
  10329 a ``limit`` under 20, 10001 an unknown request. Text that is not JSON gets no reply.
- ``entryId`` is one counter for the whole exchange (:class:`.sim_market.EntryCounter`).
- a book change is one ``OrderBookEvent`` of one entry (as on the live socket), removals
  before the step's other changes, so no intermediate book is crossed.
- every :attr:`GopaxWire.heartbeat_interval` (30 s) the server sends the JSON string
  ``"primus::ping::<ms>"``; a connection that did not answer the previous one with
  ``"primus::pong::<ms>"`` is closed (code 1000) instead.
- REST ``/trading-pairs``, ``/trading-pairs/{pair}/book?level=1|2|3`` (rows
  ``[entryId, price, volume, updatedAt ms]`` with ids and times as strings, and the
  exchange's latest id as ``sequence``) and ``/time``.

Prices follow a KRW tick table like the Korean venues' (1,000 KRW at and above 10,000,000
KRW ...); KRW markets trade about 2.5 % above the USD price times 1,400 (the "kimchi
premium"), USDT/KRW at par.

Faults: book deltas carry no per-pair sequence, so a withheld delta cannot be seen by a
client (``sequenced = False``); ``STALL`` also withholds the Primus pings.
:meth:`GopaxWire.true_book` is the whole book, with no id (the ids are exchange-wide).
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import orjson

from ...errors import UnknownExchange, UnknownSymbol
from ...simulator.krw import KRW_PER_USD, LEVEL_USD, Decimals, krw_price, spot_spec
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .sim_market import EntryCounter, GopaxMarket, GopaxSession

__all__ = ["BOOKS_PER_CONNECTION", "GopaxWire"]

BOOKS_PER_CONNECTION = 50
"""Order books one connection may subscribe (error 10321 past it)."""

_QUOTES = {"KRW": KRW_PER_USD, "USDC": 1.0}  # quote units per USD
_KRW_PREMIUM = 1.025  # coins trade dearer in Korea than abroad; dollar stablecoins do not
# KRW tick table, highest band first: (price at or above, tick in KRW).
_KRW_TICKS = ((10_000_000, 1000), (1_000_000, 500), (100_000, 50), (10_000, 10), (1_000, 1))
_DECIMALS = Decimals(at_one=5)  # below the KRW tick table and in USDC
_BOOK_NAMES = ("SubscribeToOrderBook", "SubscribeToTradingPair")
_MIN_LIMIT = 20  # "limit (optional, >= 20)"
_REST_LEVELS = {"1": 1, "2": 50}  # level 3 (the default) and anything else: every entry
_DAY_MS = 86_400_000


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _refusal(request: dict[str, Any], code: int, data: Any) -> str:
    reply = {"n": request.get("n"), "o": {"result": False, "errCode": code, "errData": data}}
    return _dumps({"i": request["i"], **reply} if "i" in request else reply)


class GopaxWire(WireFormat):
    """GOPAX's public websocket and REST for the ``gopax`` exchange id."""

    default_ws = "wss://wsapi.gopax.co.kr"
    default_rest = "https://api.gopax.co.kr"
    endpoint_path = "/"  # the socket is served at the host's root
    instruments_path = "/trading-pairs"
    heartbeat_interval: float | None = 30.0
    """Seconds between Primus pings; a connection that left one unanswered is closed at the next."""
    sequenced = False  # deltas carry exchange-wide entry ids: a missing one does not show

    def __init__(self, exchange: str = "gopax") -> None:
        if exchange != "gopax":
            raise UnknownExchange(f"the GOPAX wire format serves 'gopax', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, GopaxMarket] = {}
        self._units: dict[str, int] = {}  # native -> KRW per tick, for ticks of 1 KRW and more
        self._counter: EntryCounter | None = None

    # -- instruments and markets ----------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated pair for ``BTC/KRW``, ``USDT/KRW`` or ``ETH/USDC`` (native ``BASE-QUOTE``)."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"gopax: {exc}") from None
        if settle is not None or quote not in _QUOTES or base == quote:
            raise UnknownSymbol(f"gopax lists no {symbol!r}; pairs look like BTC/KRW, USDT/KRW, ETH/USDC")
        rng = random.Random(f"{seed}:gopax:{symbol}:spec")
        price = krw_price(base, rng, _KRW_PREMIUM) if quote == "KRW" else start_price(base, rng) * _QUOTES[quote]
        spec, unit = spot_spec(
            symbol,
            f"{base}-{quote}",
            price,
            ticks=_KRW_TICKS if quote == "KRW" else (),
            decimals=_DECIMALS,
            level_value=LEVEL_USD * _QUOTES[quote],  # a typical level holds about 3000 USD
        )
        if unit:
            self._units[spec.native] = unit
        return spec

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`GopaxMarket` drawing entry ids from the wire's one exchange-wide counter."""
        if self._counter is None:
            self._counter = EntryCounter(84_000_000 + random.Random(f"{seed}:gopax:entries").randrange(10**6))
        rng = random.Random(f"{seed}:gopax:{spec.symbol}")
        market = GopaxMarket(spec, rng, self._counter, depth=depth, start_id=10**9)
        self._markets[spec.native] = market
        return market

    def _price(self, spec: InstrumentSpec, ticks: int) -> float | int:
        unit = self._units.get(spec.native)
        return ticks * unit if unit is not None else ticks / 10.0**spec.price_decimals

    @staticmethod
    def _size(spec: InstrumentSpec, lots: int) -> float:
        return lots / 10.0**spec.size_decimals

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """The one socket, at the root."""
        return "" if path.strip("/") == "" else None

    def ws_path(self, route: str) -> str:
        """``/``."""
        return "/"

    def open(self, route: str) -> Session:
        """A session that keeps its Primus ping and can close its connection when it goes unanswered."""
        return GopaxSession(route)

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """``"primus::ping::<ms>"``, or nothing and the connection closed when the last ping got no pong."""
        stamp = cast(GopaxSession, session).ping(now_ms)
        return [] if stamp is None else [f'"primus::ping::{stamp}"']

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Book and trades of every pair (``SubscribeToTradingPair``) and the tickers; GOPAX has no candles."""
        frames = [
            _dumps({"i": s.native, "n": "SubscribeToTradingPair", "o": {"tradingPairName": s.native}}) for s in specs
        ]
        frames.append(_dumps({"i": "tickers", "n": "SubscribeToTickers", "o": {}}))
        return {"": frames}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer Primus pongs and the three public subscriptions (with their snapshots) or refuse."""
        s = cast(GopaxSession, session)
        if text.startswith('"primus::pong::'):
            stamp = text[15:].rstrip('"')
            if stamp.isdigit():
                s.pong(int(stamp))
            return Control(None)
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(None)  # "text that is not JSON: no reply, and the socket stays open"
        if not isinstance(request, dict):
            return Control(None)
        name = request.get("n")
        given = request.get("o")
        options: dict[str, Any] = given if isinstance(given, dict) else {}
        if name == "SubscribeToTickers":
            if ("tickers", "") in s.requests:
                return Control(_refusal(request, 10325, "Already subscribed"))
            s.requests.add(("tickers", ""))
            rows = [self._ticker_row(m, now_ms) for m in markets.values() if isinstance(m, GopaxMarket)]
            return Control(self._reply(request, {"data": rows}), subscribe=["tickers"])
        if name not in _BOOK_NAMES:
            return Control(_refusal(request, 10001, "No such endpoint"))
        pair = options.get("tradingPairName")
        market = markets.get(pair) if isinstance(pair, str) else None
        if not isinstance(pair, str) or not isinstance(market, GopaxMarket):
            return Control(_refusal(request, 10058, str(pair).partition("-")[0]))
        limit = options.get("limit")
        if limit is not None and (type(limit) is not int or limit < _MIN_LIMIT):
            return Control(_refusal(request, 10329, "Invalid limit"))
        if (name, pair) in s.requests:
            return Control(_refusal(request, 10325, "Already subscribed"))
        book_stream = f"book|{pair}"
        if book_stream not in s.streams and sum(x.startswith("book|") for x in s.streams) >= BOOKS_PER_CONNECTION:
            return Control(_refusal(request, 10321, "Too many order books are subscribed"))
        s.requests.add((name, pair))
        streams = [book_stream] + ([f"trades|{pair}"] if name == "SubscribeToTradingPair" else [])
        return Control(self._reply(request, self._book(market, limit, now_ms)), subscribe=streams)

    @staticmethod
    def _reply(request: dict[str, Any], body: dict[str, Any]) -> str:
        reply = {"n": request["n"], "o": body}
        return _dumps({"i": request["i"], **reply} if "i" in request else reply)

    def _book(self, market: GopaxMarket, limit: int | None, now_ms: int) -> dict[str, Any]:
        """The reply's book: best first on each side, every level (or ``limit`` of them)."""
        spec = market.spec
        depth = limit if limit is not None else max(len(market.bids), len(market.asks))
        bids, asks = market.levels(depth)
        return {
            "ask": self._entries(market, "ask", asks, now_ms),
            "bid": self._entries(market, "bid", bids, now_ms),
            "tradingPairName": spec.native,
            "maxEntryId": market.counter.value,
        }

    def _entries(
        self, market: GopaxMarket, side: str, levels: list[tuple[int, int]], now_ms: int
    ) -> list[dict[str, Any]]:
        spec = market.spec
        meta = market.meta[side]
        out = []
        for tick, lots in levels:
            entry_id, updated = meta[tick]
            when = updated if updated is not None else now_ms - _DAY_MS
            out.append(
                {
                    "entryId": entry_id,
                    "price": self._price(spec, tick),
                    "volume": self._size(spec, lots),
                    "updatedAt": when / 1000,
                }
            )
        return out

    def stream_book_key(self, stream: str) -> str | None:
        """``book|BTC-KRW`` -> ``BTC-KRW``."""
        kind, _, pair = stream.partition("|")
        return pair if kind == "book" else None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """An ``OrderBookEvent`` of the step's level changes, a ``PublicTradeEvent`` per fill, tickers."""
        market = self._markets[spec.native]
        native = spec.native
        out: list[Message] = []
        book = f"book|{native}"
        if market.entries and book in subscribed:
            # "Of 408 and 305 deltas ... all but one carried exactly one entry": one event per change.
            updated = update.time_ms / 1000
            for side, tick, lots, entry_id in market.entries:
                entry = {"entryId": entry_id, "price": self._price(spec, tick), "volume": self._size(spec, lots)}
                entry["updatedAt"] = updated
                body: dict[str, Any] = {"ask": [entry], "bid": []} if side == "ask" else {"ask": [], "bid": [entry]}
                body["tradingPairName"] = native
                out.append(Message(book, _dumps({"i": -1, "n": "OrderBookEvent", "o": body}), native))
        trades = f"trades|{native}"
        if update.fills and trades in subscribed:
            for f in update.fills:
                price, amount = self._price(spec, f.ticks), self._size(spec, f.lots)
                trade = {
                    "tradeId": f.agg_id,
                    "baseAmount": amount,
                    "quoteAmount": round(price * amount, 8),
                    "price": price,
                    "isBuy": not f.buyer_maker,
                    "occurredAt": f.time_ms // 1000,
                    "tradingPairName": native,
                }
                out.append(Message(trades, _dumps({"i": -1, "n": "PublicTradeEvent", "o": trade})))
        if "tickers" in subscribed and market.ticker_now(update.time_ms):
            row = self._ticker_row(market, update.time_ms)
            out.append(Message("tickers", _dumps({"i": -1, "n": "TickerEvent", "o": {native: row}})))
        return out

    def _ticker_row(self, market: GopaxMarket, now_ms: int) -> dict[str, Any]:
        spec = market.spec
        bid, _, ask, _ = market.best()
        traded = market.last_trade_ms is not None
        return {
            "baseVolume": round(self._size(spec, market.volume_lots), 8),
            "high": self._price(spec, market.high),
            "highestBid": self._price(spec, bid),
            "last": self._price(spec, market.last_price) if traded else 0,
            "lastTraded": market.last_trade_ms if traded else now_ms - _DAY_MS,
            "low": self._price(spec, market.low),
            "lowestAsk": self._price(spec, ask),
            "open": self._price(spec, market.open_ticks),
            "quoteVolume": round(market.quote_volume, 8),
            "tradingPairName": spec.native,
        }

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole book (or its best ``depth`` levels); no id: entry ids are the exchange's, not the pair's."""
        spec = market.spec
        bids, asks = market.levels(depth if depth is not None else max(len(market.bids), len(market.asks)))
        return (
            {float(self._price(spec, p)): self._size(spec, q) for p, q in bids},
            {float(self._price(spec, p)): self._size(spec, q) for p, q in asks},
            None,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/trading-pairs``, ``/trading-pairs/{pair}/book`` and ``/time``."""
        parts = call.path.strip("/").split("/")
        if call.method != "GET":
            return RestAnswer(404, f"Cannot {call.method} {call.path}".encode())
        if parts == ["time"]:
            return RestAnswer(200, orjson.dumps({"serverTime": now_ms}))
        if parts == ["trading-pairs"]:
            pairs = [self._pair(n, m.spec) for n, m in enumerate(markets.values(), 1)]
            return RestAnswer(200, orjson.dumps(pairs))
        if len(parts) == 3 and parts[0] == "trading-pairs" and parts[2] == "book":
            market = markets.get(parts[1])
            if not isinstance(market, GopaxMarket):
                code = parts[1].partition("-")[0]
                body = {"errorMessage": f"Invalid asset code: {code}", "errorCode": 10058, "errorData": code}
                return RestAnswer(404, orjson.dumps(body))
            return RestAnswer(200, orjson.dumps(self._rest_book(market, call.query.get("level", "3"), now_ms)))
        return RestAnswer(404, f"Cannot GET {call.path}".encode())

    @staticmethod
    def _pair(n: int, spec: InstrumentSpec) -> dict[str, Any]:
        return {
            "id": n,
            "name": spec.native,
            "baseAsset": spec.base,
            "quoteAsset": spec.quote,
            "baseAssetScale": spec.size_decimals,
            "quoteAssetScale": spec.price_decimals,
            "priceMin": float(spec.tick_size),
            "restApiOrderAmountMin": {"limitAsk": {"amount": 10000, "unit": spec.quote}},
            "makerFeePercent": 0.2,
            "takerFeePercent": 0.2,
        }

    def _rest_book(self, market: GopaxMarket, level: str, now_ms: int) -> dict[str, Any]:
        spec = market.spec
        depth = _REST_LEVELS.get(level) or max(len(market.bids), len(market.asks))
        bids, asks = market.levels(depth)

        def rows(side: str, levels: list[tuple[int, int]]) -> list[list[Any]]:
            out = []
            for tick, lots in levels:
                entry_id, updated = market.meta[side][tick]
                when = updated if updated is not None else now_ms - _DAY_MS
                out.append([str(entry_id), self._price(spec, tick), self._size(spec, lots), str(when)])
            return out

        return {"sequence": market.counter.value, "bid": rows("bid", bids), "ask": rows("ask", asks)}

    def rate_limited(self) -> RestAnswer:
        """GOPAX's answer past 20 calls a second (HTTP 429, error 10105)."""
        body = {"errorMessage": "Rate Limit Exceeded", "errorCode": 10105, "errorData": None}
        return RestAnswer(429, orjson.dumps(body))

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """``/trading-pairs`` takes no query."""
        return [{}]

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book delta cut off mid-entry."""
        return '{"i":-1,"n":"OrderBookEvent","o":{"ask":[{"entryId":84564675,"price":'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """GOPAX-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        native = spec.native
        price = self._price(spec, spec.start_ticks)

        def trade(**changes: Any) -> str:
            t: dict[str, Any] = {"tradeId": 1, "baseAmount": 0.5, "quoteAmount": 1, "price": price, "isBuy": True}
            t |= {"occurredAt": now_ms // 1000, "tradingPairName": native}
            return hostile_json({"i": -1, "n": "PublicTradeEvent", "o": t | changes})

        def delta(**changes: Any) -> str:
            entry = {"entryId": 1, "price": price, "volume": 0.25, "updatedAt": now_ms / 1000} | changes
            return hostile_json(
                {"i": -1, "n": "OrderBookEvent", "o": {"ask": [], "bid": [entry], "tradingPairName": native}}
            )

        def ticker(**changes: Any) -> str:
            row: dict[str, Any] = {"last": price, "high": price, "low": price, "open": price, "lastTraded": now_ms}
            row |= changes
            return hostile_json({"i": -1, "n": "TickerEvent", "o": {native: row | {"tradingPairName": native}}})

        return [
            ('{"i":-1,"n":"PublicTradeEvent","o":{"tradeId":1,"price":NaN}}', "NaN literal (not JSON)"),
            (trade(price=1e400), "price beyond a double"),
            (trade(price=0), "zero price"),
            (trade(price=-price), "negative price"),
            (trade(baseAmount=-1.5), "negative size"),
            (trade(price="cheap"), "price of the wrong type"),
            (trade(isBuy="maybe"), "taker side that is not a boolean"),
            (trade(tradeId=2**70), "trade id beyond 64 bits"),
            (delta(price=float("nan")), "NaN book price"),
            (delta(volume=-0.25), "negative book size"),
            (delta(entryId=2**70), "entry id beyond 64 bits"),
            (ticker(last=-1), "negative ticker price"),
            (trade(tradingPairName="NOSUCH-KRW"), "unknown pair"),
            (hostile_json({"i": -1, "n": "NotAnEvent", "o": {}}), "unknown event name"),
            ('"primus::ping::soon"', "a Primus ping without a time"),
        ]
