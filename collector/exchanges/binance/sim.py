"""Binance's wire format over the neutral market: spot, USDⓈ-M and COIN-M.

Everything follows ``shared/exchanges/binance.md``:

- websocket ``/stream`` (combined streams, ``{"stream": ..., "data": ...}``); USDⓈ-M
  serves book streams (``@depth*``, ``@bookTicker``) only on ``/public/stream`` and the
  rest only on ``/market/stream``. A stream subscribed on the wrong path is acknowledged
  and never delivers, as on the real exchange since the 2026 URL split.
- ``SUBSCRIBE``/``UNSUBSCRIBE``/``LIST_SUBSCRIPTIONS`` with ``{"result": null, "id": N}`` acks
  and the documented error codes (2 invalid request, 3 invalid JSON).
- Streams ``<s>@depth`` / ``<s>@depth@100ms``, ``<s>@bookTicker``, ``<s>@aggTrade``,
  ``<s>@kline_<interval>``, with each market's payload fields (spot diffs carry ``U``/``u``;
  futures add ``T`` and ``pu``; spot ``bookTicker`` has no event time; COIN-M adds ``ps``).
- Update ids: spot ids are contiguous (next ``U`` = previous ``u`` + 1, the range rule);
  futures leave unused ids between events and link them with ``pu`` = previous ``u``.
  A REST snapshot's ``lastUpdateId`` is the ``u`` of the last diff produced, so both
  documented sync procedures end with exactly the simulator's book.
- REST ``/api/v3`` (spot), ``/fapi/v1`` (USDⓈ-M), ``/dapi/v1`` (COIN-M): ``depth`` and
  ``exchangeInfo`` with the documented weights; decimals are strings.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

import orjson

from ...errors import UnknownExchange, UnknownSymbol
from ...simulator.market import (
    INTERVAL_MS,
    CandleState,
    InstrumentSpec,
    SymbolMarket,
    Update,
    split_symbol,
    start_price,
)
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, Tag, WireFormat, hostile_json
from .sim_derivatives import DerivativeStreams
from .sim_rest import BinanceRest, dumps

__all__ = ["BinanceWire"]

_HOSTS = {
    "binance": ("wss://stream.binance.com:9443", "https://api.binance.com", "/api/v3"),
    "binance_usdm": ("wss://fstream.binance.com", "https://fapi.binance.com", "/fapi/v1"),
    "binance_coinm": ("wss://dstream.binance.com", "https://dapi.binance.com", "/dapi/v1"),
}
_DIFF_KINDS = frozenset({"depth", "depth@100ms", "depth@250ms", "depth@500ms"})


class _Names(NamedTuple):
    """Stream names of one instrument, built once."""

    low: str
    depth_100ms: str
    depth: str
    book_ticker: str
    agg_trade: str
    kline: str  # prefix, the interval follows


def _error(code: int, msg: str, req_id: Any = None) -> str:
    return dumps({"code": code, "msg": msg, "id": req_id})


def _valid_id(req_id: Any) -> bool:
    # Docs: "signed 64-bit int, alphanumeric string <= 36 chars, or null".
    if req_id is None:
        return True
    if isinstance(req_id, bool):
        return False
    if isinstance(req_id, int):
        return -(2**63) <= req_id < 2**63
    return isinstance(req_id, str) and len(req_id) <= 36 and req_id.isalnum()


class BinanceWire(WireFormat):
    """The wire format of one Binance market family: ``binance``, ``binance_usdm`` or ``binance_coinm``."""

    def __init__(self, exchange: str) -> None:
        if exchange not in _HOSTS:
            raise UnknownExchange(f"the simulator speaks no {exchange!r}; known: {', '.join(_HOSTS)}")
        super().__init__(exchange)
        self.default_ws, self.default_rest, self._api = _HOSTS[exchange]
        self.futures = exchange != "binance"
        self.inverse = exchange == "binance_coinm"
        self.routed = exchange == "binance_usdm"
        # Futures have no 1s klines.
        self.intervals = frozenset(INTERVAL_MS) - ({"1s"} if self.futures else set())
        self._names: dict[str, _Names] = {}
        self.instruments_path = self._api + "/exchangeInfo"
        self._rest = BinanceRest(self.futures, self.inverse).routes(self._api)
        self._derivatives = DerivativeStreams(self.inverse) if self.futures else None
        if self._derivatives is not None:
            self._rest[self._api + "/openInterest"] = self._derivatives.open_interest

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated instrument for a unified symbol of this market family."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"{self.exchange}: {exc}") from None
        kinds = {
            "binance": settle is None,
            "binance_usdm": settle == quote,
            "binance_coinm": settle == base and quote == "USD",
        }
        if not kinds[self.exchange]:
            examples = {"binance": "BTC/USDT", "binance_usdm": "BTC/USDT:USDT", "binance_coinm": "BTC/USD:BTC"}
            raise UnknownSymbol(f"{self.exchange} lists no {symbol!r}; symbols look like {examples[self.exchange]}")
        rng = random.Random(f"{seed}:{self.exchange}:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        price_decimals = min(8, max(0, (5 if self.futures else 6) - magnitude))
        contract_size = 1.0
        if self.inverse:
            size_decimals = 0
            contract_size = 100.0 if base == "BTC" else 10.0
            mean_lots = 60
            native = f"{base}{quote}_{expiry or 'PERP'}"
        else:
            size_decimals = min(8, max(0, magnitude + (-1 if self.futures else 1)))
            mean_lots = max(1, round(3000.0 / price * 10**size_decimals))
            native = f"{base}{quote}" + (f"_{expiry}" if expiry else "")
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=expiry,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            start_ticks=round(price * 10**price_decimals),
            mean_lots=mean_lots,
            contract_size=contract_size,
            text_decimals=None if self.futures else 8,  # spot prints 8 decimals: "0.35130000"
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A market whose update ids follow this family's rule (contiguous on spot, gapped on futures)."""
        rng = random.Random(f"{seed}:{self.exchange}:{spec.symbol}")
        start_id = 10**9 + rng.randrange(10**8)
        return SymbolMarket(spec, rng, depth=depth, id_gap=4 if self.futures else 0, start_id=start_id)

    # -- websocket ------------------------------------------------------------------------------

    def snapshot_path(self, key: str) -> str:
        """``/api/v3/depth?symbol=BTCUSDT&limit=1000`` (the adapters' snapshot request)."""
        return f"{self._api}/depth?symbol={key}&limit=1000"

    def ws_path(self, route: str) -> str:
        """``/stream``, or ``/public/stream`` and ``/market/stream`` on USDⓈ-M."""
        return f"/{route}/stream" if route else "/stream"

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Per route, one ``SUBSCRIBE`` of every symbol's depth, bookTicker, aggTrade and kline streams."""
        routes: dict[str, list[str]] = {}
        for spec in specs:
            low = spec.native.lower()
            for kind in ("depth@100ms", "bookTicker", "aggTrade", f"kline_{interval}"):
                stream = f"{low}@{kind}"
                routes.setdefault(self.stream_route(stream), []).append(stream)
        return {
            route: [dumps({"method": "SUBSCRIBE", "params": streams, "id": n})]
            for n, (route, streams) in enumerate(sorted(routes.items()), 1)
        }

    def ws_route(self, path: str) -> str | None:
        """``stream`` on spot/COIN-M; ``public/stream`` or ``market/stream`` on USDⓈ-M."""
        if not self.routed:
            return "" if path == "stream" else None
        # An unrouted UM connection behaves like /public (binance.md, "UM routed paths").
        return {"public/stream": "public", "market/stream": "market", "stream": "public"}.get(path)

    def stream_route(self, stream: str) -> str:
        """Where a stream is served: USDⓈ-M book streams on ``public``, the rest on ``market``."""
        if not self.routed:
            return ""
        kind = stream.partition("@")[2]
        return "public" if kind.startswith("depth") or kind == "bookTicker" else "market"

    def url_streams(self, query: Mapping[str, str]) -> list[str]:
        """``/stream?streams=a/b/c`` subscribes at connect time."""
        return [s for s in query.get("streams", "").split("/") if s]

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer one control message (``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, properties)."""
        return self._control(text, session.streams)

    def _control(self, text: str, current: list[str]) -> Control:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return Control(_error(3, f"Invalid JSON: {exc}"))
        if not isinstance(msg, dict):
            return Control(_error(2, "Invalid request: expected a JSON object"))
        req_id = msg.get("id")
        if not _valid_id(req_id):
            return Control(_error(2, "Invalid request: request ID must be an integer, a short string or null"))
        method = msg.get("method")
        params = msg.get("params", [])
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return Control(_error(2, "Invalid request: params must be an array of stream names", req_id))
            ack = dumps({"result": None, "id": req_id})
            return Control(ack, subscribe=params) if method == "SUBSCRIBE" else Control(ack, unsubscribe=params)
        if method == "LIST_SUBSCRIPTIONS":
            return Control(dumps({"result": current, "id": req_id}))
        if method == "GET_PROPERTY" and params == ["combined"]:
            return Control(dumps({"result": True, "id": req_id}))
        if method == "SET_PROPERTY" and params == ["combined", True]:
            return Control(dumps({"result": None, "id": req_id}))
        if method == "SET_PROPERTY" and isinstance(params, list) and len(params) == 2 and params[0] == "combined":
            return Control(_error(1, "Invalid value type: expected Boolean", req_id))
        return Control(_error(2, f"Invalid request: unsupported method {method!r}", req_id))

    def wanted_intervals(self, stream: str) -> str | None:
        """``btcusdt@kline_1m`` -> ``1m`` when the interval exists on this market."""
        _, sep, interval = stream.partition("@kline_")
        return interval if sep and interval in self.intervals else None

    def stream_book_key(self, stream: str) -> str | None:
        """``btcusdt@depth@100ms`` -> ``BTCUSDT`` (the market key); other streams -> ``None``."""
        symbol, _, kind = stream.partition("@")
        return symbol.upper() if kind in _DIFF_KINDS else None

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """The combined-stream ``stream`` of a recorded frame; ``{"result":..,"id":..}`` replies are skipped.

        Frames without a stream (not JSON, or another shape) go to every playing client.
        """
        if not isinstance(frame, str):
            return Tag()
        try:
            obj = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return Tag()
        if not isinstance(obj, dict):
            return Tag()
        if "stream" not in obj and ("result" in obj or "id" in obj):
            return Tag(skip="reply")
        stream = obj.get("stream")
        if not isinstance(stream, str):
            return Tag()
        return Tag(stream, self.stream_book_key(stream))

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """As :meth:`on_client_text`: Binance acknowledges any stream name, recorded or not."""
        return self._control(text, session.streams)

    def listed_key(self, url: str, native: str) -> str:
        """The native id: Binance ids are unique within an exchange id."""
        return native

    def names(self, spec: InstrumentSpec) -> _Names:
        """The stream names of ``spec``."""
        names = self._names.get(spec.native)
        if names is None:
            low = spec.native.lower()
            names = self._names[spec.native] = _Names(
                low, f"{low}@depth@100ms", f"{low}@depth", f"{low}@bookTicker", f"{low}@aggTrade", f"{low}@kline_"
            )
        return names

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: depth diff, bookTicker, aggTrades and klines, for subscribed streams only."""
        n = self.names(spec)
        out: list[Message] = []
        e = update.time_ms
        native = spec.native
        if update.first_id is not None:
            streams = [s for s in (n.depth_100ms, n.depth) if s in subscribed]
            if streams:
                price, size = spec.price, spec.size
                d: dict[str, Any] = {"e": "depthUpdate", "E": e}
                if self.futures:
                    d["T"] = e
                d["s"] = native
                if self.inverse:
                    d["ps"] = spec.base + spec.quote
                d["U"] = update.first_id
                d["u"] = update.last_id
                if self.futures:
                    d["pu"] = update.prev_id
                d["b"] = [[price(p), size(q)] for p, q in update.bids]
                d["a"] = [[price(p), size(q)] for p, q in update.asks]
                data = dumps(d)
                for s in streams:
                    out.append(Message(s, f'{{"stream":"{s}","data":{data}}}', native))
        if update.bbo_changed and n.book_ticker in subscribed:
            out.append(self._book_ticker(spec, n, update))
        if update.fills and n.agg_trade in subscribed:
            for f in update.fills:
                t: dict[str, Any] = {"e": "aggTrade", "E": e, "s": native, "a": f.agg_id}
                t["p"] = spec.price(f.ticks)
                t["q"] = spec.size(f.lots)
                if self.routed:
                    t["nq"] = t["q"]  # quantity without RPI fills; the simulator has none
                t["f"] = f.first_id
                t["l"] = f.last_id
                t["T"] = f.time_ms
                t["m"] = f.buyer_maker
                if not self.futures:
                    t["M"] = True
                out.append(Message(n.agg_trade, f'{{"stream":"{n.agg_trade}","data":{dumps(t)}}}'))
        for candle, closed in update.candles:
            stream = n.kline + candle.interval
            if stream in subscribed:
                out.append(Message(stream, f'{{"stream":"{stream}","data":{self._kline(spec, candle, closed, e)}}}'))
        if self._derivatives is not None:
            out.extend(self._derivatives.encode(spec, update, subscribed))
        return out

    def _book_ticker(self, spec: InstrumentSpec, n: _Names, update: Update) -> Message:
        bid, bid_lots, ask, ask_lots = update.best
        d: dict[str, Any] = {}
        if self.futures:
            d["e"] = "bookTicker"
        d["u"] = update.last_id
        if self.futures:
            d["E"] = update.time_ms
            d["T"] = update.time_ms
        d["s"] = spec.native
        if self.inverse:
            d["ps"] = spec.base + spec.quote
        d["b"] = spec.price(bid)
        d["B"] = spec.size(bid_lots)
        d["a"] = spec.price(ask)
        d["A"] = spec.size(ask_lots)
        return Message(n.book_ticker, f'{{"stream":"{n.book_ticker}","data":{dumps(d)}}}')

    def _kline(self, spec: InstrumentSpec, c: CandleState, closed: bool, e: int) -> str:
        k = {
            "t": c.start_ms,
            "T": c.end_ms - 1,
            "s": spec.native,
            "i": c.interval,
            "f": c.first_trade,
            "L": c.last_trade,
            "o": spec.price(c.open),
            "c": spec.price(c.close),
            "h": spec.price(c.high),
            "l": spec.price(c.low),
            "v": spec.size(c.lots),
            "n": c.trades,
            "x": closed,
            "q": f"{c.counter_volume:.8f}",
            "V": spec.size(c.buy_lots),
            "Q": f"{c.buy_counter_volume:.8f}",
            "B": "0",
        }
        head: dict[str, Any] = {"e": "kline", "E": e, "s": spec.native}
        if self.inverse:
            head["ps"] = spec.base + spec.quote
        head["k"] = k
        return dumps(head)

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer a GET below the exchange prefix (``/api/v3/depth`` ...)."""
        handler = self._rest.get(call.path)
        if handler is None or call.method != "GET":
            return RestAnswer(404, dumps({"code": -1, "msg": f"Unknown path {call.path}"}).encode())
        return handler(call.query, markets, now_ms)

    def rate_limited(self) -> RestAnswer:
        """Binance's answer when the request weight is exhausted (HTTP 429)."""
        body = {"code": -1003, "msg": "Too many requests; please use the websocket for live updates to avoid bans."}
        return RestAnswer(429, dumps(body).encode())

    def malformed(self) -> str:
        """A combined-stream frame cut off mid-object, as a broken proxy would deliver it."""
        return '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":'

    def weight_header(self) -> str:
        """Binance reports the IP's used request weight in this header."""
        return "X-MBX-USED-WEIGHT-1M"

    # -- faults ---------------------------------------------------------------------------------

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Binance-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        n = self.names(spec)
        price, size = spec.price(spec.start_ticks), spec.size(1)

        def frame(stream: str, data: Any) -> str:
            return f'{{"stream":"{stream}","data":{hostile_json(data)}}}'

        def trade(**changes: Any) -> str:
            t = {"e": "aggTrade", "E": now_ms, "s": spec.native, "a": 7, "p": price, "q": size}
            t |= {"f": 1, "l": 1, "T": now_ms, "m": False} | changes
            return frame(n.agg_trade, t)

        def ticker(**changes: Any) -> str:
            t = {"u": 1, "s": spec.native, "b": price, "B": size, "a": price, "A": size}
            return frame(n.book_ticker, t | changes)

        def depth(**changes: Any) -> str:
            d = {"e": "depthUpdate", "E": now_ms, "s": spec.native, "U": 1, "u": 2, "b": [], "a": []}
            return frame(n.depth_100ms, d | changes)

        kline = orjson.loads(self._kline(spec, CandleState("1m", now_ms, now_ms + 60_000, 1, 1, 1, 1), False, now_ms))
        kline["k"]["T"] = 2**63 - 1
        return [
            (trade(p="NaN"), "NaN price"),
            (trade(p="Infinity"), "infinite price"),
            (trade(p="0"), "zero price"),
            (trade(p="-" + price), "negative price"),
            (trade(q="-" + size), "negative size"),
            (trade(p={"value": price}), "price of the wrong type"),
            (trade(p=None), "null price"),
            (trade(a=2**70), "trade id beyond 64 bits"),
            (trade(p="1e400"), "price beyond a double"),
            (ticker(b="nan"), "NaN best bid"),
            (ticker(A="-1"), "negative ask size"),
            (depth(b=[["NaN", size]]), "NaN book level"),
            (depth(a=[[price, "-1"]]), "negative book size"),
            (depth(b=[[price]]), "book level without a size"),
            (depth(u=2**70), "update id beyond 64 bits"),
            (frame(n.kline + "1m", kline), "kline close time beyond 2**53 ms"),
            (frame(n.agg_trade, None), "null payload"),
            (frame(n.agg_trade, [1, 2, 3]), "array payload"),
            (frame(f"{n.low}@notAStream", {"s": spec.native}), "unknown stream"),
            (frame("nosuchsymbol@aggTrade", {"s": "NOSUCHSYMBOL"}), "unknown symbol"),
        ]
