"""HTX perpetual swaps' wire format over the neutral market: USDT-margined and coin-margined.

- Market endpoints ``/linear-swap-ws`` (``BTC-USDT``) and ``/swap-ws`` (``BTC-USD``):
  ``trade.detail`` (``amount`` in contracts, ``quantity`` in the coin), ``bbo``
  (``[price, contracts]``), ``kline.$period`` (``amount`` coin, ``vol`` contracts),
  ``depth.step0`` (the whole book, every change) and ``depth.size_{20,150}.high_freq``
  subscribed with ``"data_type":"incremental"``: a ``snapshot`` push right after the
  acknowledgement, then ``update`` pushes of the changed levels, ``version`` one more each.
- ``/ws_index``: ``mark_price.$period`` and ``index.$period`` klines (decimal strings),
  pushed when the price moves.
- Notification endpoints ``/linear-swap-notification`` and ``/swap-notification``:
  ``{"op":"sub","cid","topic"}`` answered ``{"op":"sub","cid","topic","ts","err-code":0}``
  (2011 "Contract doesn't exist.", 2010 "Topic error."); ``public.$code.funding_rate``
  (pushed on subscribe and when the rate moves; ``estimated_rate`` is the string ``"null"``
  as on the real service) and ``public.$code.liquidation_orders``; ``*`` names every contract.
- Heartbeats: ``{"ping": ms}`` on market and index endpoints, ``{"op":"ping","ts":"<ms>"}``
  on notification endpoints, every 5 s; "the connection will get disconnected
  automatically if the WebSocket Client ignores the heartbeat message for 5 times".
- REST ``/linear-swap-api/v1/swap_contract_info`` and ``/swap-api/v1/swap_contract_info``.

Sizes on the wire are contracts: ``contract_size`` base coin each for USDT-margined
contracts, USD each for coin-margined ones. ``GAP`` withholds one ``update``, so the next
``version`` skips one and a correct client subscribes again for a new snapshot.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat
from .codec import deflate, inflate
from .instruments import KLINE_PERIODS, PERIOD_SECONDS
from .sim_common import HtxMarket, HtxSession, error_reply, gz, request_of
from .sim_hostile import swap_hostile
from .sim_swap_data import FUNDING_MS, Contract, book_push, funding, kline, notifications, prices, trade, whole_book
from .swap import INVERSE_INFO, LINEAR_INFO

__all__ = ["HtxSwapWire"]

DEFAULT_SIZE = 150
"""The high-frequency book size the collector's adapter subscribes (``true_book`` uses it)."""

_INTERVAL_PERIOD = {unified: period for period, (unified, _) in PERIOD_SECONDS.items()}
_MARKET_ROUTES = ("linear-swap-ws", "swap-ws")
_NOTIFY_ROUTES = ("linear-swap-notification", "swap-notification")
_ROUTES = frozenset((*_MARKET_ROUTES, *_NOTIFY_ROUTES, "ws_index"))
_INDEX_CHANNELS = frozenset(f"{kind}.{p}" for kind in ("mark_price", "index") for p in PERIOD_SECONDS)
_MARKET_CHANNELS = frozenset(
    {"trade.detail", "bbo", "depth.step0", "depth.size_20.high_freq", "depth.size_150.high_freq"}
    | {f"kline.{p}" for p in PERIOD_SECONDS}
)


class HtxSwapWire(WireFormat):
    """HTX swaps for the ``htx_swap`` exchange id (both margin families)."""

    default_ws = "wss://api.hbdm.com"
    default_rest = "https://api.hbdm.com"
    endpoint_path = ""
    instruments_path = LINEAR_INFO
    heartbeat_interval: float | None = 5.0  # "the server will send a heartbeat every 5 seconds"
    pings_allowed = 5

    def __init__(self, exchange: str = "htx_swap") -> None:
        if exchange != "htx_swap":
            raise UnknownExchange(f"the HTX swap wire format serves 'htx_swap', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, HtxMarket] = {}
        self._contracts: dict[str, Contract] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USDT:USDT`` -> ``BTC-USDT`` (0.001 BTC contracts), ``BTC/USD:BTC`` -> ``BTC-USD`` (100 USD)."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"htx_swap: {exc}") from None
        inverse = settle == base and quote == "USD"
        if expiry is not None or not (inverse or settle == quote):
            raise UnknownSymbol(f"htx_swap lists no {symbol!r}; swaps look like BTC/USDT:USDT or BTC/USD:BTC")
        rng = random.Random(f"{seed}:htx_swap:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        if inverse:
            size = 100.0 if base == "BTC" else 10.0  # USD per contract
            mean_lots = max(1, round(3000.0 / size))
        else:
            size = 10.0 ** math.floor(math.log10(60.0 / price))  # about 60 USD of the coin
            mean_lots = max(1, round(3000.0 / (size * price)))
        native = f"{base}-{quote}"
        self._contracts[native] = Contract(size, inverse)
        decimals = min(8, max(0, 5 - magnitude))
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=None,
            price_decimals=decimals,
            size_decimals=0,  # whole contracts
            start_ticks=round(price * 10**decimals),
            mean_lots=mean_lots,
            # The model reads a contract size other than 1 as inverse (volumes in the coin).
            contract_size=size if inverse else 1.0,
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """An :class:`HtxMarket`; a listing of coin-margined contracts only is served from ``/swap-api``."""
        rng = random.Random(f"{seed}:htx_swap:{spec.native}")
        market = HtxMarket(spec, rng, depth=depth, start_id=10**10 + rng.randrange(10**9))
        self._markets[spec.native] = market
        if all(self._contract(m.spec).inverse for m in self._markets.values()):
            self.instruments_path = INVERSE_INFO
        else:
            self.instruments_path = LINEAR_INFO
        return market

    def _contract(self, spec: InstrumentSpec) -> Contract:
        contract = self._contracts.get(spec.native)
        if contract is None:
            self.instrument(spec.symbol, 0)
            contract = self._contracts[spec.native]
        return contract

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """Market, index and notification endpoints; other paths are 404."""
        return path if path in _ROUTES else None

    def ws_path(self, route: str) -> str:
        """``/<route>``."""
        return "/" + route

    def stream_route(self, stream: str) -> str:
        """The endpoint a topic is served on (by its contract's family and its channel)."""
        family, _, rest = stream.partition(".")
        code, _, channel = rest.partition(".")
        contract = self._contracts.get(code)
        inverse = contract.inverse if contract is not None else code.endswith("-USD")
        if family == "public":
            return _NOTIFY_ROUTES[inverse]
        return "ws_index" if channel in _INDEX_CHANNELS else _MARKET_ROUTES[inverse]

    def open(self, route: str) -> Session:
        """A session that keeps count of unanswered pings."""
        return HtxSession(route)

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """The endpoint's ping, or nothing and the connection closed after five unanswered."""
        s = cast(HtxSession, session)
        notify = s.route in _NOTIFY_ROUTES
        value: int | str = str(now_ms) if notify else now_ms
        if not s.ping(value, self.pings_allowed):
            return []
        return [gz({"op": "ping", "ts": value} if notify else {"ping": value})]

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Per endpoint: trades, bbo, the 150-level book and klines; mark and index prices; funding and liquidations."""
        period = _INTERVAL_PERIOD.get(interval)
        if period is None:
            raise UsageError(f"htx_swap has no kline interval {interval!r}; use one of {', '.join(KLINE_PERIODS)}")
        frames: dict[str, list[str]] = {}
        for spec in specs:
            c = spec.native
            topics = [f"market.{c}.{ch}" for ch in ("trade.detail", "bbo", f"depth.size_{DEFAULT_SIZE}.high_freq")]
            topics += [f"market.{c}.kline.{period}", f"market.{c}.mark_price.1min", f"market.{c}.index.1min"]
            topics += [f"public.{c}.funding_rate", f"public.{c}.liquidation_orders"]
            for topic in topics:
                route = self.stream_route(topic)
                n = str(len(frames.get(route, ())) + 1)
                if route in _NOTIFY_ROUTES:
                    frame = {"op": "sub", "cid": n, "topic": topic}
                elif topic.endswith("high_freq"):
                    frame = {"sub": topic, "data_type": "incremental", "id": n}
                else:
                    frame = {"sub": topic, "id": n}
                frames.setdefault(route, []).append(orjson.dumps(frame).decode())
        return frames

    def wanted_intervals(self, stream: str) -> str | None:
        """``market.BTC-USDT.kline.1min`` -> ``1m``."""
        _, sep, period = stream.rpartition(".kline.")
        found = PERIOD_SECONDS.get(period) if sep else None
        return found[0] if found is not None else None

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer pongs, subscriptions (and a book's snapshot) on market, index and notification endpoints."""
        s = cast(HtxSession, session)
        msg = request_of(text)
        if s.route in _NOTIFY_ROUTES:
            return self._notify_request(s, msg, markets, now_ms)
        if msg is None:
            return Control(error_reply("not json string", None, now_ms))
        req_id = msg.get("id")
        if "pong" in msg:
            s.pong(msg["pong"])
            return Control(None)
        if "ping" in msg:
            value = msg["ping"]
            return Control(gz({"pong": value}) if type(value) is int else error_reply("invalid ping", req_id, now_ms))
        topic = msg.get("sub", msg.get("unsub"))
        market = self._served(s.route, topic, markets)
        if market is None or ("req" in msg):
            return Control(error_reply(f"invalid topic {str(topic)[:100]}", req_id, now_ms))
        assert isinstance(topic, str)
        incremental = topic.endswith("high_freq")
        if incremental and msg.get("data_type") != "incremental":
            return Control(error_reply("data_type must be incremental", req_id, now_ms))
        ack: dict[str, Any] = {"id": req_id, "status": "ok"}
        if "unsub" in msg:
            if topic not in s.streams:
                return Control(error_reply("unsub with not subbed topic", req_id, now_ms))
            ack["unsubbed"] = topic
        else:
            ack["subbed"] = topic
        if incremental:
            ack["data_type"] = "incremental"
        ack["ts"] = now_ms
        if "unsub" in msg:
            return Control(gz(ack), unsubscribe=[topic])
        frames: list[str | bytes] = []
        if incremental:
            # "when data_type is incremental, snapshot data will be pushed for the first time".
            frames.append(book_push(market, topic, "snapshot", None, now_ms))
        return Control(gz(ack), subscribe=[] if topic in s.streams else [topic], frames=frames)

    def _served(self, route: str, topic: Any, markets: Mapping[str, SymbolMarket]) -> HtxMarket | None:
        """The market a market or index topic names if it is served on this endpoint."""
        if not isinstance(topic, str):
            return None
        family, _, rest = topic.partition(".")
        code, _, channel = rest.partition(".")
        market = markets.get(code)
        channels = _INDEX_CHANNELS if route == "ws_index" else _MARKET_CHANNELS
        if family != "market" or channel not in channels or not isinstance(market, HtxMarket):
            return None
        if self.stream_route(topic) != route:
            return None
        if channel.endswith("high_freq"):
            market.view(topic, int(channel[11:].partition(".")[0]), 0)
        return market

    def _notify_request(
        self, s: HtxSession, msg: dict[str, Any] | None, markets: Mapping[str, SymbolMarket], now_ms: int
    ) -> Control:
        if msg is None or msg.get("op") not in ("sub", "unsub", "pong"):
            return Control(gz({"op": "error", "ts": now_ms}))
        if msg["op"] == "pong":
            s.pong(msg.get("ts"))
            return Control(None)
        topic = msg.get("topic")
        reply: dict[str, Any] = {"op": msg["op"], "cid": msg.get("cid", ""), "topic": topic, "ts": now_ms}
        family, _, rest = topic.partition(".") if isinstance(topic, str) else ("", "", "")
        code, _, channel = rest.partition(".")
        if family != "public" or channel not in ("funding_rate", "liquidation_orders"):
            return Control(gz(reply | {"err-code": 2010, "err-msg": "Topic error."}))
        market = markets.get(code)
        if code != "*" and (not isinstance(market, HtxMarket) or self.stream_route(str(topic)) != s.route):
            return Control(gz(reply | {"err-code": 2011, "err-msg": "Contract doesn't exist."}))
        assert isinstance(topic, str)
        reply["err-code"] = 0
        if msg["op"] == "unsub":
            return Control(gz(reply), unsubscribe=[topic])
        frames: list[str | bytes] = []
        if channel == "funding_rate":
            # The current rate right away, as a snapshot of the topic.
            listed = [m for m in markets.values() if isinstance(m, HtxMarket)]
            chosen = listed if code == "*" else [cast(HtxMarket, market)]
            frames += [funding(m, self._contract(m.spec), topic, now_ms) for m in chosen]
        return Control(gz(reply), subscribe=[] if topic in s.streams else [topic], frames=frames)

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Book updates, whole books, bbo, trades, klines, mark/index prices, funding and liquidations."""
        market = self._markets[spec.native]
        contract = self._contract(spec)
        code = spec.native
        t = update.time_ms
        out: list[Message] = []
        for stream, view in market.views.items():
            bids, asks = view.advance(market, update)
            if bids or asks:
                view.seq += 1  # "version: auto increment"
                if stream in subscribed:
                    out.append(Message(stream, book_push(market, stream, "update", (bids, asks), t), code))
        topic = f"market.{code}."
        if update.first_id is not None and topic + "depth.step0" in subscribed:
            out.append(Message(topic + "depth.step0", whole_book(market, topic + "depth.step0", t)))
        if update.bbo_changed and topic + "bbo" in subscribed:
            b, bq, a, aq = update.best
            tick: dict[str, Any] = {
                "mrid": update.last_id,
                "id": t // 1000,
                "bid": [market.px(b), bq],
                "ask": [market.px(a), aq],
            }
            tick |= {"ts": t, "version": update.last_id, "ch": topic + "bbo"}
            out.append(Message(topic + "bbo", gz({"ch": topic + "bbo", "ts": t, "tick": tick})))
        if update.fills and topic + "trade.detail" in subscribed:
            data = [trade(market, contract, f) for f in update.fills]
            trades = {"id": update.last_id, "ts": t, "data": data}
            out.append(Message(topic + "trade.detail", gz({"ch": topic + "trade.detail", "ts": t, "tick": trades})))
        for candle, _closed in update.candles:
            stream = f"{topic}kline.{_INTERVAL_PERIOD.get(candle.interval)}"
            if stream in subscribed:
                out.append(Message(stream, kline(market, contract, stream, candle, t)))
        out += prices(market, contract, update, subscribed)
        out += notifications(market, contract, update, subscribed)
        return out

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The book (in contracts) a client of ``depth.size_<depth>.high_freq`` (default 150) holds, and its version."""
        size = DEFAULT_SIZE if depth is None else depth
        if size not in (20, 150) or not isinstance(market, HtxMarket):
            raise UsageError(f"htx_swap serves no depth.size_{depth}; use 20 or 150")
        view = market.view(f"market.{market.spec.native}.depth.size_{size}.high_freq", size, 0)
        bids = {market.px(p): float(q) for p, q in view.bids.items()}
        asks = {market.px(p): float(q) for p, q in view.asks.items()}
        return bids, asks, view.seq

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """The two ``swap_contract_info`` listings; anything else is HTX's 404 body."""
        if call.path not in (LINEAR_INFO, INVERSE_INFO) or call.method != "GET":
            body = {"status": "error", "err_code": 404, "err_msg": f"invalid path {call.path}", "ts": now_ms}
            return RestAnswer(404, orjson.dumps(body))
        inverse = call.path == INVERSE_INFO
        data = []
        for m in markets.values():
            spec = m.spec
            contract = self._contract(spec)
            if contract.inverse != inverse:
                continue
            entry: dict[str, Any] = {"symbol": spec.base, "contract_code": spec.native}
            entry |= {"contract_size": contract.size, "price_tick": float(spec.tick_size), "delivery_time": ""}
            entry |= {"create_date": "20200325", "contract_status": 1, "settlement_date": str(now_ms + FUNDING_MS)}
            if not inverse:
                entry |= {"delivery_date": "", "support_margin_mode": "all", "business_type": "swap"}
                entry |= {"pair": spec.native, "contract_type": "swap", "trade_partition": spec.quote}
            data.append(entry)
        return RestAnswer(200, orjson.dumps({"status": "ok", "data": data, "ts": now_ms}))

    def rate_limited(self) -> RestAnswer:
        """HTX's answer when an IP asks too often (error code 1032)."""
        body = {"status": "error", "err_code": 1032, "err_msg": "The number of access exceeded the limit."}
        return RestAnswer(429, orjson.dumps(body))

    # -- faults ---------------------------------------------------------------------------------

    def frame_codec(self) -> tuple[Any, Any]:
        """``(inflate, deflate)``: every HTX frame is gzip JSON."""
        return inflate, deflate

    def malformed(self) -> bytes:
        """A book update cut off mid-object, compressed as HTX sends it."""
        return deflate(b'{"ch":"market.BTC-USDT.depth.size_150.high_freq","tick":{"asks":[[13081.9,2')

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """HTX-swap-shaped frames of ``spec`` with impossible values; a client must reject each one."""
        return swap_hostile(spec, now_ms)
