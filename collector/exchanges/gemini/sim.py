"""Gemini market data v2 over the neutral market: spot and linear perpetuals.

Everything follows ``PROTOCOL.md`` and the real 2026 session in
``shared/recordings/gemini.jsonl.zst``:

- one websocket, ``/v2/marketdata``; ``{"type":"subscribe"|"unsubscribe","subscriptions":
  [{"name":...,"symbols":[...]}]}`` with feeds ``l2``, ``candles_<1m|5m|15m|30m|1h|6h|1d>``
  and, for perpetuals, ``mark_price`` and ``funding_amount``. A subscribe is not
  acknowledged: its initial messages are the answer. A symbol that is not listed (or not
  upper case) refuses the whole message with ``{"result":"error","reason":"NoValidTradingPairs"}``.
- ``l2``: the first ``l2_updates`` holds the whole book (bids best first, then asks), the
  last 50 trades oldest first and ``auction_events``; then one ``l2_updates`` per market
  step with each changed level's absolute quantity (``"0"`` deletes), preceded by one
  ``trade`` message per fill (``side`` is the taker's). Nothing is numbered.
- candles: the first message holds the recent bars newest first; afterwards the forming
  bar whenever it trades, and the next bar (flat, no volume) as soon as one closes.
- ``mark_price_updates`` every second and ``funding_amount_updates`` every minute (and on
  subscribe), times in nanoseconds, as probed on the v2 feed.
- ``{"type":"heartbeat","timestamp":<ms>}`` every 5 s on every connection.
- REST ``/v1/symbols`` (lower-case ids), ``/v1/symbols/details/{symbol}`` (also answered as
  ``/v1/symbols?symbol=...``, the form synthetic sessions record) and ``/v1/riskstats/{symbol}``.

Faults: l2 updates carry no sequence (:attr:`GeminiWire.sequenced` is ``False``) and no
checksum, so ``GAP`` and ``CHECKSUM`` have nothing a client could see; the other faults
act on Gemini connections as on any exchange.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import CandleState, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, WireFormat, hostile_json
from . import sim_market
from .sim_market import GeminiMarket

__all__ = ["FEEDS", "GeminiWire"]

CANDLE_FEEDS = {f"candles_{interval}": interval for interval in ("1m", "5m", "15m", "30m", "1h", "6h", "1d")}
"""Candle feed -> the market model's interval (Gemini's names are the unified ones)."""
FEEDS = frozenset({"l2", "mark_price", "funding_amount", *CANDLE_FEEDS})
"""Every public feed of market data v2."""

_FEED_OF = {interval: feed for feed, interval in CANDLE_FEEDS.items()}
_UPDATES = {interval: f"{feed}_updates" for feed, interval in CANDLE_FEEDS.items()}
_PERP_FEEDS = frozenset({"mark_price", "funding_amount"})
_MARK_MS = 1_000
_FUNDING_MS = 60_000
_TID = 2_840_140_000_000_000  # Gemini trade ids are about this large
_DETAILS = "/v1/symbols/details/"
_RISK = "/v1/riskstats/"


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def _refuse(reason: str, message: str = "") -> Control:
    body = {"result": "error", "reason": reason} | ({"message": message} if message else {})
    return Control(_dumps(body))


class GeminiWire(WireFormat):
    """Gemini market data v2 for the ``gemini`` exchange id (spot and linear perpetuals)."""

    default_ws = "wss://api.gemini.com"
    default_rest = "https://api.gemini.com"
    endpoint_path = "/v2/marketdata"
    instruments_path = "/v1/symbols"
    heartbeat_interval = 5.0  # "{"type":"heartbeat"}" every 5 s on v2
    sequenced = False  # l2_updates carry no sequence

    def __init__(self, exchange: str = "gemini") -> None:
        if exchange != "gemini":
            raise UnknownExchange(f"the Gemini wire format serves 'gemini', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, GeminiMarket] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """Spot ``BTC/USD`` is ``BTCUSD``; the perpetual ``BTC/GUSD:GUSD`` is ``BTCGUSDPERP``."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"gemini: {exc}") from None
        if expiry is not None or (settle is not None and settle != quote):
            raise UnknownSymbol(
                f"gemini lists spot pairs (BTC/USD) and linear perpetuals (BTC/GUSD:GUSD), not {symbol!r}"
            )
        rng = random.Random(f"{seed}:gemini:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        if settle is None:
            native = base + quote
            price_decimals = min(8, max(2, 4 - magnitude))
            size_decimals = min(8, max(0, magnitude + 4))
        else:
            native = f"{base}{quote}PERP"
            price_decimals = min(6, max(1, 3 - magnitude))
            size_decimals = min(6, max(0, magnitude))
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=None,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            start_ticks=round(price * 10**price_decimals),
            mean_lots=max(1, round(3000.0 / price * 10**size_decimals)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`GeminiMarket`; the wire remembers it for initial messages and REST."""
        rng = random.Random(f"{seed}:gemini:{spec.native}")
        market = GeminiMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8))
        self._markets[spec.native] = market
        return market

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """The symbol list, then one details call per symbol (recorded as ``/v1/symbols?symbol=``)."""
        return [{}, *({"symbol": key.lower()} for key in keys)]

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``v2`` for ``/v2/marketdata`` (with or without the trailing slash cryptofeed uses)."""
        return "v2" if path.strip("/") == "v2/marketdata" else None

    def ws_path(self, route: str) -> str:
        return self.endpoint_path

    def stream_route(self, stream: str) -> str:
        """Every feed is served on the one ``v2`` route."""
        return "v2"

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """``l2`` and ``interval`` candles of every symbol; mark price and funding of the perpetuals."""
        feed = next((name for name, unified in CANDLE_FEEDS.items() if unified == interval), None)
        if feed is None:
            raise UsageError(f"gemini has no candle interval {interval!r}; use one of {tuple(CANDLE_FEEDS.values())}")
        natives = [spec.native for spec in specs]
        frames = [_subscription("subscribe", "l2", natives), _subscription("subscribe", feed, natives)]
        perpetuals = [spec.native for spec in specs if spec.settle is not None]
        if perpetuals:
            frames += [_subscription("subscribe", name, perpetuals) for name in sorted(_PERP_FEEDS)]
        return {"v2": frames}

    def wanted_intervals(self, stream: str) -> str | None:
        """``candles_5m:BTCUSD`` needs five-minute bars."""
        return CANDLE_FEEDS.get(stream.partition(":")[0])

    def stream_book_key(self, stream: str) -> str | None:
        """``l2:BTCUSD`` -> ``BTCUSD``."""
        feed, _, native = stream.partition(":")
        return native if feed == "l2" else None

    def on_client_text(self, session: Any, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer subscribe/unsubscribe: the initial messages of each new stream, or a refusal."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return _refuse("InvalidJson", "Could not parse the message")
        if not isinstance(msg, dict) or msg.get("type") not in ("subscribe", "unsubscribe"):
            return _refuse("InvalidRequest", "type must be subscribe or unsubscribe")
        subscriptions = msg.get("subscriptions")
        if not isinstance(subscriptions, list) or not subscriptions:
            return _refuse("InvalidRequest", "subscriptions must be a non-empty array")
        streams: list[str] = []
        for sub in subscriptions:
            name = sub.get("name") if isinstance(sub, dict) else None
            symbols = sub.get("symbols") if isinstance(sub, dict) else None
            if name not in FEEDS or not isinstance(symbols, list):
                return _refuse("InvalidSubscription", f"unknown feed {str(name)[:40]}")
            for native in symbols:
                market = markets.get(native) if isinstance(native, str) else None
                if market is None or (name in _PERP_FEEDS and market.spec.settle is None):
                    return _refuse("NoValidTradingPairs")
                streams.append(f"{name}:{native}")
        streams = list(dict.fromkeys(streams))
        if msg["type"] == "unsubscribe":
            return Control(None, unsubscribe=streams)
        frames: list[str | bytes] = [f for s in streams if (f := self._initial(s, now_ms)) is not None]
        return Control(None, subscribe=streams, frames=frames)

    def _initial(self, stream: str, now_ms: int) -> str | None:
        """The first message of a new subscription of ``stream``."""
        feed, _, native = stream.partition(":")
        market = self._markets.get(native)
        if market is None:
            return None
        spec = market.spec
        if feed == "l2":
            bids, asks = market.levels(len(market.bids) + len(market.asks))
            body = {
                "type": "l2_updates",
                "symbol": native,
                "changes": sim_market.changes(spec, bids, asks),
                "trades": [sim_market.trade(spec, f) for f in market.recent],
                "auction_events": [],
            }
            return _dumps(body)
        interval = CANDLE_FEEDS.get(feed)
        if interval is not None:
            forming = market.forming.get(interval)
            bars = [*market.closed.get(interval, ()), *([forming] if forming is not None else [])]
            rows = [sim_market.bar(spec, c) for c in reversed(bars)]
            return _dumps({"type": f"{feed}_updates", "symbol": native, "changes": rows}) if rows else None
        if feed == "mark_price":
            return sim_market.mark_message(market, now_ms)
        return sim_market.funding_message(market, now_ms)

    def heartbeat(self, session: Any, now_ms: int) -> list[str | bytes]:
        """``{"type":"heartbeat","timestamp":...}``, every 5 s whatever is subscribed."""
        return [f'{{"type":"heartbeat","timestamp":{now_ms}}}']

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one step: its trades and book changes, candles, mark price and funding."""
        native = spec.native
        market = self._markets[native]
        out: list[Message] = []
        stream = f"l2:{native}"
        if stream in subscribed:
            out.extend(Message(stream, _dumps(sim_market.trade(spec, f, message=True))) for f in update.fills)
            if update.bids or update.asks:
                body = {
                    "type": "l2_updates",
                    "symbol": native,
                    "changes": sim_market.changes(spec, update.bids, update.asks),
                }
                out.append(Message(stream, _dumps(body), native))
        if update.candles:
            out.extend(self._candles(spec, update, subscribed))
        if market.perpetual:
            time_ms = update.time_ms
            stream = f"mark_price:{native}"
            if stream in subscribed and time_ms - market.mark_at >= _MARK_MS:
                out.append(Message(stream, sim_market.mark_message(market, time_ms)))
            stream = f"funding_amount:{native}"
            if stream in subscribed and time_ms - market.funding_at >= _FUNDING_MS:
                out.append(Message(stream, sim_market.funding_message(market, time_ms)))
        return out

    def _candles(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        rows: dict[str, CandleState] = {}
        for candle, closed in update.candles:
            feed = _FEED_OF.get(candle.interval)
            stream = f"{feed}:{spec.native}"
            if feed is None or stream not in subscribed:
                continue
            if closed:
                # The next bar opens at the close; it is sent at once, before it trades.
                length = candle.end_ms - candle.start_ms
                price = candle.close
                candle = CandleState(candle.interval, candle.end_ms, candle.end_ms + length, price, price, price, price)
            rows[stream] = candle
        out = []
        for stream, candle in rows.items():
            body = {"type": _UPDATES[candle.interval], "symbol": spec.native, "changes": [sim_market.bar(spec, candle)]}
            out.append(Message(stream, _dumps(body)))
        return out

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole book (``l2`` is full depth); no update id, as ``l2_updates`` carry none."""
        spec = market.spec
        bids = {float(spec.price(p)): float(spec.size(q)) for p, q in market.bids.items()}
        asks = {float(spec.price(p)): float(spec.size(q)) for p, q in market.asks.items()}
        return bids, asks, None

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``/v1/symbols``, ``/v1/symbols/details/{symbol}`` and ``/v1/riskstats/{symbol}``; else Gemini's 404."""
        path = call.path
        if call.method == "GET":
            if path == self.instruments_path:
                wanted = call.query.get("symbol")
                if wanted is None:
                    return RestAnswer(200, orjson.dumps([key.lower() for key in markets]))
                return _details(wanted, markets)
            if path.startswith(_DETAILS):
                return _details(path[len(_DETAILS) :], markets)
            if path.startswith(_RISK):
                market = self._markets.get(path[len(_RISK) :].upper())
                if market is not None and market.perpetual:
                    return RestAnswer(200, orjson.dumps(sim_market.risk(market)))
                return _error(400, "InvalidSymbol", f"Supplied value '{path[len(_RISK) :][:40]}' is not a perpetual")
        return _error(404, "EndpointNotFound", f"API entry point `{path[:60]}` not found")

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """An ``l2_updates`` message cut off mid-array."""
        return '{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","65206.28","0.052'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Gemini-shaped messages of ``spec`` with impossible values, each of which a client must reject."""
        native = spec.native
        price, size = spec.price(spec.start_ticks), spec.size(1)

        def trade(**changes: Any) -> str:
            t = {"type": "trade", "symbol": native, "event_id": 1, "timestamp": now_ms, "price": price}
            return hostile_json(t | {"quantity": size, "side": "buy", "tid": _TID} | changes)

        def l2(*change: Any, **extra: Any) -> str:
            return hostile_json({"type": "l2_updates", "symbol": native, "changes": [list(change)]} | extra)

        def candle(*row: Any) -> str:
            return hostile_json({"type": "candles_1m_updates", "symbol": native, "changes": [list(row)]})

        return [
            (trade(price="NaN"), "NaN price"),
            (trade(price="Infinity"), "infinite price"),
            (trade(price="0"), "zero price"),
            (trade(price="-" + price), "negative price"),
            (trade(quantity="-" + size), "negative quantity"),
            (trade(price=[price]), "price of the wrong type"),
            (trade(side="hold"), "unknown taker side"),
            (trade(tid=2**70), "trade id beyond 64 bits"),
            (trade(timestamp=2**70), "time beyond 64 bits"),
            (l2("buy", "nan", size), "NaN book level"),
            (l2("sell", price, "-" + size), "negative book quantity"),
            (l2("bid", price, size), "book side 'bid' (Gemini says 'buy')"),
            (l2("buy", price), "a change without its quantity"),
            (hostile_json({"type": "l2_updates", "symbol": native, "changes": None}), "null changes"),
            (candle(now_ms, price, price, "-1", price, size), "negative candle price"),
            (candle(2**70, price, price, price, price, size), "candle time beyond 64 bits"),
            (hostile_json({"type": "notatype", "symbol": native}), "unknown message type"),
            (trade(symbol="NOSUCHPAIR"), "unknown symbol"),
            (hostile_json({"result": "error", "reason": "NoValidTradingPairs"}), "a refusal"),
        ]


def _subscription(kind: str, feed: str, natives: list[str]) -> str:
    return _dumps({"type": kind, "subscriptions": [{"name": feed, "symbols": natives}]})


def _details(wanted: str, markets: Mapping[str, SymbolMarket]) -> RestAnswer:
    market = markets.get(wanted.upper())
    if market is None:
        return _error(400, "InvalidSymbol", f"Supplied value '{wanted[:40]}' is not a valid symbol")
    return RestAnswer(200, orjson.dumps(sim_market.details(market.spec)))


def _error(status: int, reason: str, message: str) -> RestAnswer:
    return RestAnswer(status, orjson.dumps({"result": "error", "reason": reason, "message": message}))
