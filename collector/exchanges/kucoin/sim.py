"""KuCoin's wire format over the neutral market: spot (``kucoin``) and futures (``kucoin_futures``).

The protocol (``shared/exchanges/kucoin.md``; KuCoin's "Websocket" and market data docs):

- ``POST /api/v1/bullet-public`` hands out a token and the server list; the websocket
  (``/?token=..&connectId=..``) refuses a token it never issued, or one older than
  :attr:`KucoinWire.token_ttl` ("The token is valid for only 24 hours"), with
  ``{"type":"error","code":401,...}`` and a close, so a client must fetch a new one. Each
  market issues its own tokens ("which cannot be mixed").
- The server greets with ``{"id": <connectId>, "type": "welcome"}`` (here ahead of its first
  reply: the simulator speaks when spoken to), answers ``ping`` with ``pong`` and
  ``subscribe``/``unsubscribe`` with ``ack`` when ``response`` is true, and refuses what
  KuCoin refuses: unknown topics or symbols (404), more than 100 symbols in one request,
  more topics on one connection than the market allows (509), other types (415).
- REST: spot ``/api/v2/symbols`` (and the deprecated ``/api/v1/symbols``), the public
  ``/api/v1/market/orderbook/level2_20`` and ``level2_100`` (the full ``/api/v3`` book wants
  an API key: 401); futures ``/api/v1/contracts/active``, ``/api/v1/contracts/{symbol}`` and
  the full ``/api/v1/level2/snapshot``. Answers are ``{"code": "200000", "data": ...}``.

Payloads are built in :mod:`.sim_payloads`, REST answers in :mod:`.sim_rest`, hostile frames
in :mod:`.sim_hostile`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson

from ...errors import UnknownExchange, UnknownSymbol
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, dumps
from .sim_hostile import futures_hostile, spot_hostile
from .sim_payloads import CANDLE_TYPES, FuturesPayloads, SpotPayloads
from .sim_rest import NATIVE_CURRENCY, answer, futures_rest, multiplier_of, refused, spot_rest

__all__ = ["KucoinWire"]

_HOSTS = {
    "kucoin": ("wss://ws-api-spot.kucoin.com", "https://api.kucoin.com", "/api/v2/symbols"),
    "kucoin_futures": ("wss://ws-api-futures.kucoin.com", "https://api-futures.kucoin.com", "/api/v1/contracts/active"),
}
_SPOT_TOPICS = frozenset({"/market/level2", "/market/ticker", "/market/match", "/market/candles"})
_FUTURES_TOPICS = frozenset(
    {"/contractMarket/level2", "/contractMarket/tickerV2", "/contractMarket/execution", "/contract/instrument"}
)
_BATCHED = frozenset({"/market/level2", "/market/ticker", "/market/match"})
_CANDLE_INTERVALS = {kind: unified for unified, kind in CANDLE_TYPES.items()}
_MONTH_CODES = "FGHJKMNQUVXZ"
_TOKEN_PREFIX = "?token="


def _error(req_id: Any, code: int, text: str) -> str:
    return dumps({"id": str(req_id) if req_id is not None else "", "type": "error", "code": code, "data": text})


class _Client(Session):
    """A connection as the server sees it: greeted yet or not."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.welcomed = False


class KucoinWire(WireFormat):
    """The wire format of one KuCoin market: ``kucoin`` (spot) or ``kucoin_futures``."""

    endpoint_path = "/"
    token_ttl: ClassVar[float] = 24 * 3600.0
    """Seconds an issued token opens connections ("The token is valid for only 24 hours")."""
    ping_interval_ms: ClassVar[int] = 18_000
    """The ``pingInterval`` the token answer names."""

    def __init__(self, exchange: str) -> None:
        if exchange not in _HOSTS:
            raise UnknownExchange(f"the KuCoin wire format serves {', '.join(_HOSTS)}, not {exchange!r}")
        super().__init__(exchange)
        self.default_ws, self.default_rest, self.instruments_path = _HOSTS[exchange]
        self.futures = exchange == "kucoin_futures"
        self._topics = _FUTURES_TOPICS if self.futures else _SPOT_TOPICS
        # "Subscription limit for each connection": 300 topics on spot, 100 on futures.
        self._max_topics = 100 if self.futures else 300
        self._spot = SpotPayloads()
        self._futures = FuturesPayloads()
        self._tokens: dict[str, int] = {}  # token -> issue time, ms
        self._issued = 0
        self._traded: dict[str, int] = {}  # native -> contracts traded (futures open interest)

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """Spot ``BTC/USDT`` is ``BTC-USDT``; futures ``BTC/USDT:USDT`` is ``XBTUSDTM``, ``BTC/USD:BTC`` ``XBTUSDM``
        and ``BTC/USD:BTC-250328`` ``XBTMH25``."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"{self.exchange}: {exc}") from None
        rng = random.Random(f"{seed}:{self.exchange}:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        price_decimals = min(8, max(0, 5 - magnitude))
        if not self.futures:
            if settle is not None:
                raise UnknownSymbol(f"kucoin lists spot pairs like BTC/USDT, not {symbol!r}")
            native = f"{base}-{quote}"
            size_decimals = min(8, max(0, magnitude + 4))
            mean_lots = max(1, round(3000.0 / price * 10**size_decimals))
        else:
            coin = NATIVE_CURRENCY.get(base, base)
            if settle == quote and quote in ("USDT", "USDC") and expiry is None:
                native = f"{coin}{quote}M"
                mean_lots = max(1, round(3000.0 / (price * multiplier_of(base, price))))
            elif settle == base and quote == "USD":
                if expiry is None:
                    native = f"{coin}USDM"
                else:
                    day = datetime.strptime(expiry, "%y%m%d").replace(tzinfo=UTC)
                    native = f"{coin}M{_MONTH_CODES[day.month - 1]}{day:%y}"
                mean_lots = 3000  # contracts of 1 USD
            else:
                raise UnknownSymbol(
                    f"kucoin_futures lists BTC/USDT:USDT, BTC/USD:BTC and BTC/USD:BTC-YYMMDD, not {symbol!r}"
                )
            size_decimals = 0  # contracts
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
        )

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """One websocket per market: ``/`` (and ``/endpoint``, the path of the 2019-2022 addresses)."""
        return "" if path in ("", "endpoint") else None

    def url_streams(self, query: Mapping[str, str]) -> list[str]:
        """The connect URL's token, kept among the connection's streams so its first request can check it."""
        return [_TOKEN_PREFIX + query.get("token", "") + "&connectId=" + query.get("connectId", "")]

    def open(self, route: str) -> Session:
        """A connection not greeted yet."""
        return _Client(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Spot: one request per channel for every symbol (and one per candle topic); futures: one per topic."""
        natives = [spec.native for spec in specs]
        topics: list[str] = []
        if self.futures:
            prefixes = ("/contractMarket/level2", "/contractMarket/tickerV2", "/contractMarket/execution")
            topics = [f"{prefix}:{native}" for prefix in (*prefixes, "/contract/instrument") for native in natives]
        else:
            topics = [
                f"{prefix}:{','.join(natives)}" for prefix in ("/market/level2", "/market/ticker", "/market/match")
            ]
            kind = CANDLE_TYPES.get(interval)
            if kind is not None:
                topics += [f"/market/candles:{native}_{kind}" for native in natives]
        frames = []
        for n, topic in enumerate(topics, 1):
            request = {"id": n, "type": "subscribe", "topic": topic, "privateChannel": False, "response": True}
            frames.append(dumps(request))
        return {"": frames}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Greet (or refuse the token), then answer one request."""
        greeting: str | None = None
        if isinstance(session, _Client) and not session.welcomed:
            marker = next((s for s in session.streams if s.startswith(_TOKEN_PREFIX)), None)
            connect_id = ""
            if marker is not None:
                token, _, connect_id = marker[len(_TOKEN_PREFIX) :].partition("&connectId=")
                issued = self._tokens.get(token)
                if issued is None or now_ms - issued > self.token_ttl * 1000:
                    return Control(_error(connect_id, 401, "token is not valid"), close=4001)
            session.welcomed = True
            greeting = dumps({"id": connect_id or "hQvf8jkno", "type": "welcome"})
        reply, subscribe, unsubscribe = self._request(session, text, markets)
        if greeting is None:
            return Control(reply, subscribe, unsubscribe)
        return Control(greeting, subscribe, unsubscribe, frames=[reply] if reply is not None else [])

    def _request(
        self, session: Session, text: str, markets: Mapping[str, SymbolMarket]
    ) -> tuple[str | None, list[str], list[str]]:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return _error(None, 400, "message is not valid JSON"), [], []
        if not isinstance(msg, dict):
            return _error(None, 400, "message is not a JSON object"), [], []
        req_id = msg.get("id")
        kind = msg.get("type")
        if kind == "ping":
            return dumps({"id": str(req_id), "type": "pong"}), [], []
        if kind not in ("subscribe", "unsubscribe"):
            return _error(req_id, 415, "type is not supported"), [], []
        topic = msg.get("topic")
        if not isinstance(topic, str):
            return _error(req_id, 400, "topic is missing"), [], []
        prefix, _, args = topic.partition(":")
        # cryptofeed writes "/market/level2: BTC-USDT,ETH-USDT": KuCoin reads past the space.
        items = [a.strip() for a in args.split(",") if a.strip()]
        if prefix not in self._topics or not items:
            return _error(req_id, 404, f"topic {topic[:100]} is not found"), [], []
        if len(items) > (100 if prefix in _BATCHED else 1):
            return _error(req_id, 509, "exceed max subscription count limitation of 100 per time"), [], []
        for item in items:
            native, kind_ = item.rpartition("_")[::2] if prefix == "/market/candles" else (item, "")
            if native not in markets or (prefix == "/market/candles" and kind_ not in _CANDLE_INTERVALS):
                return _error(req_id, 404, f"topic {topic[:100]} is not found"), [], []
        streams = [f"{prefix}:{item}" for item in items]
        ack = dumps({"id": str(req_id), "type": "ack"}) if msg.get("response") else None
        if kind == "unsubscribe":
            return ack, [], streams
        held = sum(1 for s in session.streams if not s.startswith(_TOKEN_PREFIX))
        if held + len([s for s in streams if s not in session.streams]) > self._max_topics:
            limit = f"exceed max subscription count limitation of {self._max_topics} per session"
            return _error(req_id, 509, limit), [], []
        return ack, streams, []

    def wanted_intervals(self, stream: str) -> str | None:
        """``/market/candles:BTC-USDT_1min`` -> ``1m``."""
        prefix, _, arg = stream.partition(":")
        return _CANDLE_INTERVALS.get(arg.rpartition("_")[2]) if prefix == "/market/candles" else None

    def stream_book_key(self, stream: str) -> str | None:
        """``/market/level2:BTC-USDT`` (or ``/contractMarket/level2:XBTUSDTM``) -> the native id."""
        prefix, _, native = stream.partition(":")
        return native if prefix in ("/market/level2", "/contractMarket/level2") else None

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update, for subscribed topics only (see :mod:`.sim_payloads`)."""
        if self.futures:
            self._traded[spec.native] = self._traded.get(spec.native, 0) + sum(f.lots for f in update.fills)
            return self._futures.encode(spec, update, subscribed)
        return self._spot.encode(spec, update, subscribed)

    # -- REST -----------------------------------------------------------------------------------

    def snapshot_path(self, key: str) -> str:
        """The adapter's snapshot request: the public top 100 on spot, the full book on futures."""
        if self.futures:
            return f"/api/v1/level2/snapshot?symbol={key}"
        return f"/api/v1/market/orderbook/level2_100?symbol={key}"

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer a REST call below the market's base URL (see :mod:`.sim_rest`)."""
        if call.path == "/api/v1/bullet-public":
            return self._bullet(now_ms) if call.method == "POST" else refused(405, "405000", "Method Not Allowed")
        if call.method != "GET":
            return refused(405, "405000", "Method Not Allowed")
        if self.futures:
            return futures_rest(call.path, call.query, markets, now_ms, self._traded)
        return spot_rest(call.path, call.query, markets, now_ms)

    def _bullet(self, now_ms: int) -> RestAnswer:
        self._issued += 1
        token = f"2neAiuYvAU61ZDXANAGAsiL4-{self.exchange}-{self._issued:06d}-{now_ms}"
        if len(self._tokens) >= 10_000:
            self._tokens.clear()  # bounded: long-lived connections need their token no more
        self._tokens[token] = now_ms
        server = {
            "endpoint": self.default_ws + "/",
            "encrypt": True,
            "protocol": "websocket",
            "pingInterval": self.ping_interval_ms,
            "pingTimeout": 10_000,
        }
        return answer({"token": token, "instanceServers": [server]}, 10)

    def rate_limited(self) -> RestAnswer:
        """KuCoin's answer when a resource pool is used up: "http code:429, error code:429000"."""
        return refused(429, "429000", "Too Many Requests")

    def malformed(self) -> str:
        """A level2 frame cut off mid-object."""
        if self.futures:
            return '{"topic":"/contractMarket/level2:XBTUSDTM","type":"message","subject":"level2","data":{"seq'
        return '{"topic":"/market/level2:BTC-USDT","type":"message","subject":"trade.l2update","data":{"changes":'

    # -- faults ---------------------------------------------------------------------------------

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """KuCoin-shaped frames of ``spec`` with impossible values (see :mod:`.sim_hostile`)."""
        return futures_hostile(spec, now_ms) if self.futures else spot_hostile(spec, now_ms)
