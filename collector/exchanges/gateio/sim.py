"""Gate's API v4 wire format over the neutral market: spot (``gateio``) and perpetuals (``gateio_futures``).

Everything follows ``shared/exchanges/gateio.md`` and Gate's websocket docs:

- websocket ``/ws/v4/`` (spot) and ``/v4/ws/usdt``, ``/v4/ws/btc`` (perpetuals by
  settlement currency; the old ``/v4/ws`` is BTC-settled). A contract subscribed on the
  other settlement's path is refused as unknown.
- requests ``{"time", "id", "channel", "event": "subscribe"|"unsubscribe", "payload"}``,
  acknowledged with ``{"status": "success"}`` or refused with ``error`` code 2 (unknown
  pair or contract, bad interval) or 1 (not a request); ``<market>.ping`` answers
  ``<market>.pong``.
- channels ``*.trades``, ``*.book_ticker``, ``*.order_book_update`` (payload
  ``[pair, "20ms"|"100ms"]``, futures ``[contract, frequency, level]``), ``*.candlesticks``
  (``[interval, pair]``), ``spot.tickers``, ``futures.tickers`` and
  ``futures.public_liquidates`` (every seventh fill is a liquidation order). Book diffs
  cover the whole simulated book (fewer than 100 levels, so every depth Gate offers
  sees all of it), with contiguous ids; every :data:`~.sim_market.FULL_EVERY`-th book
  message of a market is a ``full: true`` book, as Gate's server now sends at irregular
  intervals.
- REST ``/api/v4/spot/currency_pairs``, ``/api/v4/spot/order_book``,
  ``/api/v4/futures/{settle}/contracts`` and ``/api/v4/futures/{settle}/order_book``; the
  snapshot ``id`` (only ``with_id=true``) is the ``u`` of the last diff produced, so
  Gate's sync procedure ends with exactly the simulator's book.

A ``GAP`` withholds the next book message of that market (a diff or a full book), so a
correct client sees ``U > last + 1`` on the next one. Synthetic captures list the
USDT-settled contracts only (one instrument path per wire); the live simulator serves both.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from ...errors import UnknownExchange
from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat
from . import sim_payloads as p
from .parse import CANDLE_INTERVALS, INTERVAL_SECONDS
from .sim_market import GateMarket, contract_route, make_spec

__all__ = ["GateioWire"]

_SPOT_CHANNELS = frozenset(
    {"spot.trades", "spot.book_ticker", "spot.tickers", "spot.order_book_update", "spot.candlesticks"}
)
_FUTURES_CHANNELS = frozenset(
    {"futures.trades", "futures.book_ticker", "futures.tickers", "futures.order_book_update"}
    | {"futures.candlesticks", "futures.public_liquidates"}
)
_LIST_CHANNELS = frozenset(
    {"spot.trades", "spot.book_ticker", "spot.tickers", "futures.trades", "futures.book_ticker"}
    | {"futures.tickers", "futures.public_liquidates"}
)
# "Notification update speed: 20ms or 100ms" ("1000ms" was removed in 2024-11).
_FREQUENCIES = ("20ms", "100ms")
_LEVELS = frozenset({"20", "50", "100"})
_LIQUIDATION_EVERY = 7


class GateioWire(WireFormat):
    """The wire format of ``gateio`` (spot) or ``gateio_futures`` (USDT- and BTC-settled perpetuals)."""

    default_rest = "https://api.gateio.ws"

    def __init__(self, exchange: str) -> None:
        if exchange not in ("gateio", "gateio_futures"):
            raise UnknownExchange(f"the Gate wire format serves gateio and gateio_futures, not {exchange!r}")
        super().__init__(exchange)
        self.futures = exchange == "gateio_futures"
        self.market_name = "futures" if self.futures else "spot"
        if self.futures:
            self.default_ws = "wss://fx-ws.gateio.ws"
            self.endpoint_path = "/v4/ws"
            self.instruments_path = "/api/v4/futures/usdt/contracts"
        else:
            self.default_ws = "wss://api.gateio.ws"
            self.endpoint_path = "/ws/v4/"
            self.instruments_path = "/api/v4/spot/currency_pairs"
        self._channels = _FUTURES_CHANNELS if self.futures else _SPOT_CHANNELS
        self._markets: dict[str, GateMarket] = {}  # native -> market (natives are unique per wire)
        self._replies = 0

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USDT`` (spot) or ``BTC/USDT:USDT`` / ``BTC/USD:BTC`` (perpetuals)."""
        return make_spec(self.exchange, symbol, seed, self.futures)

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`GateMarket` with contiguous update ids; the wire keeps it for subscribes and REST."""
        rng = random.Random(f"{seed}:{self.exchange}:{spec.symbol}")
        market = GateMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8))
        self._markets[spec.native] = market
        return market

    def _route(self, spec: InstrumentSpec) -> str:
        return contract_route(spec) if self.futures else ""

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """Spot ``ws/v4/``; futures ``v4/ws/usdt``, ``v4/ws/btc`` and the old ``v4/ws`` (BTC)."""
        path = path.rstrip("/")
        if not self.futures:
            return "" if path == "ws/v4" else None
        return {"v4/ws/usdt": "usdt", "v4/ws/btc": "btc", "v4/ws": "btc"}.get(path)

    def ws_path(self, route: str) -> str:
        """The websocket path of a route (a settlement currency on futures)."""
        return f"{self.endpoint_path}/{route}" if self.futures else self.endpoint_path

    def stream_route(self, stream: str) -> str:
        """Futures streams are qualified with their settlement path: ``usdt/futures.trades:BTC_USDT``."""
        return stream.partition("/")[0] if self.futures else ""

    def _stream(self, route: str, channel: str, *params: str) -> str:
        name = ":".join((channel, *params))
        return f"{route}/{name}" if self.futures else name

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Per route: trades, best bid/ask, the 100 ms book diffs and ``interval`` candles of ``specs``."""
        gate_interval = CANDLE_INTERVALS.get(interval, interval)
        routes: dict[str, list[InstrumentSpec]] = {}
        for spec in specs:
            routes.setdefault(self._route(spec), []).append(spec)
        prefix = self.market_name
        frames: dict[str, list[str]] = {}
        n = 0
        for route, members in routes.items():
            natives = [spec.native for spec in members]
            requests = [(f"{prefix}.trades", natives), (f"{prefix}.book_ticker", natives)]
            for native in natives:
                book = [native, "100ms", "100"] if self.futures else [native, "100ms"]
                requests.append((f"{prefix}.order_book_update", book))
                requests.append((f"{prefix}.candlesticks", [gate_interval, native]))
            for channel, payload in requests:
                n += 1
                request = {"time": 1_700_000_000, "id": n, "channel": channel, "event": "subscribe", "payload": payload}
                frames.setdefault(route, []).append(p.dumps(request))
        return frames

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer a ping, a subscribe or an unsubscribe (see the module docstring)."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(self._reply("", "", None, None, now_ms, (1, "invalid argument struct")))
        if not isinstance(msg, dict):
            return Control(self._reply("", "", None, None, now_ms, (1, "invalid argument struct")))
        channel, event, payload, req_id = msg.get("channel"), msg.get("event"), msg.get("payload"), msg.get("id")
        if not isinstance(channel, str) or not isinstance(event, str | None):
            return Control(self._reply("", "", None, req_id, now_ms, (1, "invalid argument struct")))
        if channel == f"{self.market_name}.ping":
            pong = {"time": now_ms // 1000, "time_ms": now_ms, "channel": f"{self.market_name}.pong", "event": ""}
            return Control(p.dumps(pong | {"result": None}))
        if channel not in self._channels or event not in ("subscribe", "unsubscribe"):
            return Control(
                self._reply(channel, event or "", payload, req_id, now_ms, (2, f"unknown channel {channel}"))
            )
        streams = self._streams(session.route, channel, payload)
        if isinstance(streams, str):
            return Control(self._reply(channel, event, payload, req_id, now_ms, (2, streams)))
        reply = self._reply(channel, event, payload, req_id, now_ms, None)
        if event == "unsubscribe":
            return Control(reply, unsubscribe=[s for s in streams if s in session.streams])
        return Control(reply, subscribe=streams)

    def _streams(self, route: str, channel: str, payload: Any) -> list[str] | str:
        """The streams a payload names, or why Gate refuses it."""
        if not isinstance(payload, list) or not payload or not all(isinstance(x, str) for x in payload):
            return "invalid argument: payload must be a list of strings"
        noun = "contract" if self.futures else "currency pair"
        if channel in _LIST_CHANNELS:
            unknown = [x for x in payload if not self._served(route, x)]
            if unknown:
                return f"unknown {noun}: {unknown[0]}"
            return [self._stream(route, channel, native) for native in payload]
        if channel.endswith(".candlesticks"):
            if len(payload) != 2 or payload[0] not in INTERVAL_SECONDS:
                return f"invalid argument: candlesticks payload is [interval, {noun}]"
            if not self._served(route, payload[1]):
                return f"unknown {noun}: {payload[1]}"
            return [self._stream(route, channel, payload[0], payload[1])]
        # order_book_update: [pair, frequency] on spot, [contract, frequency, level] on futures
        native, frequency, level = payload[0], payload[1] if len(payload) > 1 else "", payload[2:]
        if frequency not in _FREQUENCIES or len(payload) > (3 if self.futures else 2):
            return f"invalid argument: unsupported frequency {frequency!r}"
        if level and (level[0] not in _LEVELS or (frequency == "20ms" and level[0] != "20")):
            return f"invalid argument: unsupported level {level[0]!r} for {frequency}"
        if not self._served(route, native):
            return f"unknown {noun}: {native}"
        return [self._stream(route, channel, native, frequency)]

    def _served(self, route: str, native: str) -> bool:
        market = self._markets.get(native)
        return market is not None and self._route(market.spec) == route

    def _reply(
        self, channel: str, event: str, payload: Any, req_id: Any, now_ms: int, error: tuple[int, str] | None
    ) -> str:
        self._replies += 1
        reply: dict[str, Any] = {"time": now_ms // 1000, "time_ms": now_ms}
        if isinstance(req_id, int):
            reply["id"] = req_id
        reply |= {"conn_id": f"{self._replies:016x}", "channel": channel, "event": event, "payload": payload}
        if error is None:
            reply |= {"error": None, "result": {"status": "success"}}
        else:
            reply |= {"error": {"code": error[0], "message": error[1]}, "result": {"status": "fail"}}
        return p.dumps(reply)

    def wanted_intervals(self, stream: str) -> str | None:
        """The market interval a candlestick stream needs (Gate's ``7d``/``10s`` are not simulated)."""
        name = stream.partition("/")[2] if self.futures else stream
        channel, _, rest = name.partition(":")
        if not channel.endswith(".candlesticks"):
            return None
        unified = INTERVAL_SECONDS.get(rest.partition(":")[0], ("", 0))[0]
        return unified if unified in ("1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d") else None

    def stream_book_key(self, stream: str) -> str | None:
        """``spot.order_book_update:BTC_USDT:100ms`` -> ``BTC_USDT``; other streams -> ``None``."""
        name = stream.partition("/")[2] if self.futures else stream
        channel, _, rest = name.partition(":")
        return rest.partition(":")[0] if channel.endswith(".order_book_update") else None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one step: book message, best bid/ask, trades, tickers, candles (and liquidations)."""
        market = self._markets[spec.native]
        route = self._route(spec)
        prefix = self.market_name
        native = spec.native
        out: list[Message] = []
        time_ms = update.time_ms
        if update.first_id is not None:
            streams = [
                s
                for f in _FREQUENCIES
                if (s := self._stream(route, f"{prefix}.order_book_update", native, f)) in subscribed
            ]
            if streams:
                full = market.next_book_is_full()
                build = p.futures_book if self.futures else p.spot_book
                text = p.push(f"{prefix}.order_book_update", build(market, update, full), time_ms)
                out.extend(Message(s, text, native) for s in streams)
        stream = self._stream(route, f"{prefix}.book_ticker", native)
        if update.bbo_changed and stream in subscribed:
            build_bbo = p.futures_book_ticker if self.futures else p.spot_book_ticker
            out.append(Message(stream, p.push(f"{prefix}.book_ticker", build_bbo(market, update), time_ms)))
        if update.fills:
            out.extend(self._fills(market, route, update, subscribed))
        for candle, closed in update.candles:
            for gate_interval, (unified, _) in INTERVAL_SECONDS.items():
                if unified != candle.interval:
                    continue
                stream = self._stream(route, f"{prefix}.candlesticks", gate_interval, native)
                if stream in subscribed:
                    bar = p.candle_result(market, candle, closed, gate_interval, self.futures)
                    out.append(
                        Message(stream, p.push(f"{prefix}.candlesticks", [bar] if self.futures else bar, time_ms))
                    )
        return out

    def _fills(self, market: GateMarket, route: str, update: Update, subscribed: Collection[str]) -> list[Message]:
        native = market.spec.native
        time_ms = update.time_ms
        out = []
        if not self.futures:
            stream = self._stream(route, "spot.trades", native)
            if stream in subscribed:
                out += [Message(stream, p.push("spot.trades", p.spot_trade(market, f), time_ms)) for f in update.fills]
            stream = self._stream(route, "spot.tickers", native)
            if stream in subscribed:
                out.append(Message(stream, p.push("spot.tickers", p.spot_ticker(market), time_ms)))
            return out
        stream = self._stream(route, "futures.trades", native)
        if stream in subscribed:
            out.append(Message(stream, p.push("futures.trades", p.futures_trades(market, update.fills), time_ms)))
        stream = self._stream(route, "futures.tickers", native)
        if stream in subscribed:
            out.append(Message(stream, p.push("futures.tickers", p.futures_tickers(market), time_ms)))
        stream = self._stream(route, "futures.public_liquidates", native)
        liquidated = [f for f in update.fills if f.agg_id % _LIQUIDATION_EVERY == 0]
        if liquidated and stream in subscribed:
            result = p.futures_liquidations(market, liquidated)
            out.append(Message(stream, p.push("futures.public_liquidates", result, time_ms)))
        return out

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole simulated book (fewer levels than any depth Gate offers) and its last id;
        futures sizes are contracts, as the adapter keeps them."""
        return super().true_book(market, None)

    # -- REST -----------------------------------------------------------------------------------

    def snapshot_path(self, key: str) -> str:
        """The adapter's snapshot request of market ``key`` (a native pair or contract)."""
        if not self.futures:
            return f"/api/v4/spot/order_book?currency_pair={key}&limit=100&with_id=true"
        market = self._markets.get(key)
        settle = self._route(market.spec) if market is not None else "usdt"
        return f"/api/v4/futures/{settle}/order_book?contract={key}&limit=100&with_id=true"

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/api/v4/...``; errors are ``{"label": ..., "message": ...}`` with a 4xx status."""
        parts = call.path.split("/")
        if call.method != "GET" or parts[:3] != ["", "api", "v4"]:
            return _failure(404, "NOT_FOUND", f"{call.path} not found")
        path = "/".join(parts[3:])
        gate = {key: m for key, m in markets.items() if isinstance(m, GateMarket)}
        if not self.futures:
            if path == "spot/currency_pairs":
                return RestAnswer(200, orjson.dumps([p.currency_pair_entry(m.spec) for m in gate.values()]))
            if path == "spot/order_book":
                return self._order_book(call.query, gate, "currency_pair", "", now_ms)
            return _failure(404, "NOT_FOUND", f"{call.path} not found")
        if len(parts) == 6 and parts[3] == "futures" and parts[4] in ("usdt", "btc"):
            settle = parts[4]
            listed = {k: m for k, m in gate.items() if self._route(m.spec) == settle}
            if parts[5] == "contracts":
                return RestAnswer(200, orjson.dumps([p.contract_entry(m.spec, m, now_ms) for m in listed.values()]))
            if parts[5] == "order_book":
                return self._order_book(call.query, listed, "contract", settle, now_ms)
        return _failure(404, "NOT_FOUND", f"{call.path} not found")

    def _order_book(
        self, query: Mapping[str, str], markets: Mapping[str, GateMarket], param: str, settle: str, now_ms: int
    ) -> RestAnswer:
        native = query.get(param)
        if not native:
            return _failure(400, "MISSING_REQUIRED_PARAM", f"Missing required parameter: {param}")
        market = markets.get(native)
        if market is None:
            label = "CONTRACT_NOT_FOUND" if self.futures else "INVALID_CURRENCY_PAIR"
            return _failure(400, label, f"{param} {native} not found")
        raw = query.get("limit", "10")
        if not raw.isdigit() or not 1 <= int(raw) <= 1000:
            return _failure(400, "INVALID_PARAM_VALUE", "limit must be between 1 and 1000")
        with_id = query.get("with_id") == "true"
        build = p.futures_snapshot if self.futures else p.spot_snapshot
        return RestAnswer(200, orjson.dumps(build(market, int(raw), with_id, now_ms)))

    def rate_limited(self) -> RestAnswer:
        """Gate's answer past the per-endpoint limit (HTTP 429)."""
        return _failure(429, "TOO_MANY_REQUESTS", "Request Rate limit Exceeded (007)")

    def malformed(self) -> str:
        """A book frame cut off mid-object."""
        head = f'{{"time":1700000000,"time_ms":1700000000123,"channel":"{self.market_name}.order_book_update"'
        return head + ',"event":"update","result":{"t":1,"s":"BTC'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Gate-shaped frames of ``spec`` with impossible values (see :func:`.sim_payloads.hostile_frames`)."""
        return p.hostile_frames(spec, now_ms, self.futures)


def _failure(status: int, label: str, message: str) -> RestAnswer:
    return RestAnswer(status, orjson.dumps({"label": label, "message": message}))
