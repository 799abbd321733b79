"""Kraken spot websockets and REST ``AssetPairs`` over the neutral market (``shared/exchanges/kraken.md``).

- ``/v2`` (v1, served at ``/``, is in :mod:`.sim_v1`):
  ``{"method":"subscribe","params":{"channel":...,"symbol":[...],...}}`` is answered with one
  ack per symbol (``success:false`` and an ``error`` for an unknown pair or one already
  subscribed), then the snapshot of each book and ticker; ``unsubscribe`` likewise;
  ``{"method":"ping"}`` gets a ``pong``. ``{"channel":"heartbeat"}`` is sent each second to a
  connection that received nothing else meanwhile.
- ``book`` at depth 10/25/100/500/1000: updates carry the absolute size of every level
  that changed within the subscribed depth, ``qty`` 0 for a level that left the book, and
  nothing for a level a better one pushed out of the depth (the client truncates); a level
  coming back into scope is sent again. Every message carries the CRC32 of the top 10
  levels, printed with the pair's precision (``pair_decimals``/``lot_decimals``).
- ``trade`` (taker side, sequential ``trade_id``), ``ticker`` (``event_trigger`` ``bbo`` or
  ``trades``), ``ohlc`` (running bars on trade events).
- REST ``/0/public/AssetPairs`` with Kraken's three names per pair (``XXBTZUSD``,
  ``XBT/USD``, ``BTC/USD``).

Faults: ``GAP`` withholds one book update of a market, which a later checksum may expose
(only the top 10 levels are covered, and a later update of the same level heals a loss);
``CHECKSUM`` delivers one update with its checksum off by one.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, hostile_json
from .sim_market import DEPTHS, INTERVALS, KrakenMarket, View, kraken_names, stamp
from .sim_v1 import V1Frames
from .sim_v2 import V2Frames

__all__ = ["DEFAULT_DEPTH", "KrakenSession", "KrakenWire"]

DEFAULT_DEPTH = 100
"""The book depth the collector's Kraken adapter subscribes by default (``true_book`` uses it)."""

_CHECKSUM = re.compile(r'"checksum":(\d+)|"c":"(\d+)"')


class KrakenSession(Session):
    """A connection: its streams, and whether anything was sent since the last heartbeat tick."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.busy = False


class KrakenWire(WireFormat):
    """Kraken spot websockets v2 (``/v2``) and v1 (``/``) for the ``kraken`` exchange id."""

    default_ws = "wss://ws.kraken.com"
    default_rest = "https://api.kraken.com"
    endpoint_path = "/v2"
    instruments_path = "/0/public/AssetPairs"
    heartbeat_interval = 1.0
    checksums = True
    # "book" updates carry no sequence number: the CRC32 of the top 10 levels is the only guard.
    sequenced = False
    synthetic_protocol = "v2"
    """The protocol :meth:`subscribe_all` speaks (synthetic sessions): ``v2``, or ``v1`` as cryptofeed does."""

    def __init__(self, exchange: str = "kraken") -> None:
        if exchange != "kraken":
            raise UnknownExchange(f"the Kraken wire format serves 'kraken', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, KrakenMarket] = {}
        self._views: dict[tuple[str, int], View] = {}
        self._v1 = V1Frames(self.view)
        self._v2 = V2Frames(self.view)

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """A spot pair ``BASE/QUOTE``: prices to 1-8 decimals by magnitude, sizes to 8 (``lot_decimals``)."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"kraken: {exc}") from None
        if settle is not None:
            raise UnknownSymbol(f"kraken spot lists no {symbol!r}; symbols look like BTC/USD (futures: kraken_futures)")
        rng = random.Random(f"{seed}:kraken:{symbol}:spec")
        price = start_price(base, rng)
        price_decimals = min(8, max(0, 5 - math.floor(math.log10(price))))
        return InstrumentSpec(
            symbol=symbol,
            native=symbol,
            base=base,
            quote=quote,
            settle=None,
            expiry=None,
            price_decimals=price_decimals,
            size_decimals=8,
            start_ticks=round(price * 10**price_decimals),
            mean_lots=max(1, round(3000.0 / price * 1e8)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`KrakenMarket`; the wire keeps it to answer subscriptions and REST."""
        rng = random.Random(f"{seed}:kraken:{spec.native}")
        market = KrakenMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8))
        self._markets[spec.native] = market
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``/v2`` speaks v2, the root ``/`` v1."""
        path = path.strip("/")
        return "v2" if path == "v2" else "v1" if path == "" else None

    def ws_path(self, route: str) -> str:
        return "/v2" if route == "v2" else ""

    def stream_route(self, stream: str) -> str:
        """v1 streams (``v1:trade:BTC/USD``) are served on ``/``, the others on ``/v2``."""
        return "v1" if stream.startswith("v1:") else "v2"

    def open(self, route: str) -> Session:
        return KrakenSession(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Trades, BBO tickers, books at the default depth and ``interval`` bars of every pair."""
        minutes = next((m for m, name in INTERVALS.items() if name == interval), None)
        if minutes is None:
            raise UsageError(f"kraken has no ohlc interval {interval!r}; use one of {', '.join(INTERVALS.values())}")
        if self.synthetic_protocol == "v1":
            pairs = [kraken_names(spec.base, spec.quote)[2] for spec in specs]

            def v1(**subscription: Any) -> str:
                return orjson.dumps({"event": "subscribe", "pair": pairs, "subscription": subscription}).decode()

            book = v1(name="book", depth=DEFAULT_DEPTH)
            return {"v1": [v1(name="trade"), v1(name="ticker"), book, v1(name="ohlc", interval=minutes)]}
        names = [spec.native for spec in specs]

        def request(n: int, **params: Any) -> str:
            return orjson.dumps({"method": "subscribe", "params": {**params, "symbol": names}, "req_id": n}).decode()

        return {
            "v2": [
                request(1, channel="trade", snapshot=False),
                request(2, channel="ticker", event_trigger="bbo"),
                request(3, channel="book", depth=DEFAULT_DEPTH, snapshot=True),
                request(4, channel="ohlc", interval=minutes, snapshot=False),
            ]
        }

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer a client request in its connection's protocol (see :mod:`.sim_v2` and :mod:`.sim_v1`)."""
        frames = self._v1 if session.route == "v1" else self._v2
        return frames.control(session, text, markets, now_ms)

    def wanted_intervals(self, stream: str) -> str | None:
        """``ohlc:5:BTC/USD`` (or ``v1:ohlc:5:BTC/USD``) -> ``5m``."""
        kind, _, rest = stream.removeprefix("v1:").partition(":")
        if kind != "ohlc":
            return None
        minutes = rest.partition(":")[0]
        return INTERVALS.get(int(minutes)) if minutes.isdigit() else None

    def stream_book_key(self, stream: str) -> str | None:
        """``book:100:BTC/USD`` (or ``v1:book:100:BTC/USD``) -> ``BTC/USD``."""
        kind, _, rest = stream.removeprefix("v1:").partition(":")
        return rest.partition(":")[2] if kind == "book" else None

    def deliver(self, session: Session, message: Message) -> str | bytes | None:
        if isinstance(session, KrakenSession):
            session.busy = True
        return message.text

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """A heartbeat to a subscribed connection that was sent nothing for a second ("in the absence of updates")."""
        if not isinstance(session, KrakenSession) or not session.streams:
            return []
        if session.busy:
            session.busy = False
            return []
        return ['{"event":"heartbeat"}' if session.route == "v1" else '{"channel":"heartbeat"}']

    def view(self, native: str, depth: int) -> View:
        """What ``book`` at ``depth`` has published for one market (shared by v1 and v2 subscribers)."""
        view = self._views.get((native, depth))
        if view is None:
            view = self._views[native, depth] = View(depth, {}, {})
        return view

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Book updates per subscribed depth and protocol, tickers, trades and running bars of one step."""
        market = self._markets[spec.native]
        symbol = spec.native
        out: list[Message] = []
        v1 = self._v1.active
        for depth in DEPTHS:
            stream = f"book:{depth}:{symbol}"
            v1_stream = f"v1:book:{depth}:{symbol}"
            v2_wanted = stream in subscribed
            v1_wanted = v1 and v1_stream in subscribed
            if not (v2_wanted or v1_wanted):
                continue
            view = self.view(symbol, depth)
            bids, asks = view.advance(market)
            if not (bids or asks):
                continue
            if v2_wanted:
                out.append(Message(stream, self._v2.book(spec, "update", bids, asks, view, update.time_ms), symbol))
            if v1_wanted:
                out.append(Message(v1_stream, self._v1.book_update(spec, depth, view, bids, asks, update), symbol))
        if update.bbo_changed and f"ticker:bbo:{symbol}" in subscribed:
            out.append(Message(f"ticker:bbo:{symbol}", self._v2.ticker(market, "update", update.time_ms)))
        if update.fills:
            if f"ticker:trades:{symbol}" in subscribed:
                out.append(Message(f"ticker:trades:{symbol}", self._v2.ticker(market, "update", update.time_ms)))
            if f"trade:{symbol}" in subscribed:
                out.append(Message(f"trade:{symbol}", self._v2.trades(spec, update.fills)))
        if update.candles:
            out.extend(self._v2.candles(spec, update, subscribed))
        if v1:
            out.extend(self._v1.encode(market, update, subscribed))
        return out

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The best ``depth`` levels (default 100) a ``book`` subscriber holds; Kraken books have no id."""
        depth = DEFAULT_DEPTH if depth is None else depth
        if depth not in DEPTHS:
            raise UsageError(f"kraken has no book depth {depth}; use one of {DEPTHS}")
        spec = market.spec
        view = self.view(spec.native, depth)
        view.advance(market)
        bids = {float(spec.price(p)): float(spec.size(q)) for p, q in view.bids.items()}
        asks = {float(spec.price(p)): float(spec.size(q)) for p, q in view.asks.items()}
        return bids, asks, None

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``/0/public/AssetPairs`` (optionally ``?pair=`` REST keys or altnames, comma-separated)."""
        if call.path != self.instruments_path or call.method != "GET":
            return RestAnswer(404, b'{"error":["EGeneral:Unknown method"]}')
        wanted = set(call.query["pair"].split(",")) if call.query.get("pair") else None
        result: dict[str, Any] = {}
        for market in markets.values():
            spec = market.spec
            key, altname, wsname, base_asset = kraken_names(spec.base, spec.quote)
            if wanted is not None and key not in wanted and altname not in wanted:
                continue
            result[key] = {
                "altname": altname,
                "wsname": wsname,
                "aclass_base": "currency",
                "base": base_asset,
                "aclass_quote": "currency",
                "quote": kraken_names(spec.quote, spec.quote)[3],
                "lot": "unit",
                "cost_decimals": 5,
                "pair_decimals": spec.price_decimals,
                "lot_decimals": spec.size_decimals,
                "lot_multiplier": 1,
                "ordermin": spec.size(10**spec.size_decimals // 10000),
                "costmin": "0.5",
                "tick_size": spec.tick_size,
                "status": "online",
            }
        if wanted is not None and not result:
            return RestAnswer(200, b'{"error":["EQuery:Unknown asset pair"]}')
        return RestAnswer(200, orjson.dumps({"error": [], "result": result}))

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book update cut off mid-level."""
        return '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":60000.1,"qty'

    def corrupt(self, message: Message) -> Message:
        """The book message with its checksum (v2 ``checksum``, v1 ``c``) off by one."""
        text = message.text if isinstance(message.text, str) else message.text.decode()
        match = _CHECKSUM.search(text)
        if match is None:
            return message
        group = 1 if match.group(1) is not None else 2
        wrong = (int(match.group(group)) + 1) % 2**32
        corrupted = text[: match.start(group)] + str(wrong) + text[match.end(group) :]
        return Message(message.stream, corrupted, message.book_key)

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """v2-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        symbol = spec.native
        price, size = float(spec.price(spec.start_ticks)), float(spec.size(1))
        when = stamp(now_ms)

        def trade(**changes: Any) -> str:
            t = {"symbol": symbol, "side": "buy", "price": price, "qty": size, "ord_type": "market"}
            t |= {"trade_id": 1, "timestamp": when}
            return hostile_json({"channel": "trade", "type": "update", "data": [t | changes]})

        def book(**changes: Any) -> str:
            d = {"symbol": symbol, "bids": [], "asks": [], "checksum": 1, "timestamp": when} | changes
            return hostile_json({"channel": "book", "type": "update", "data": [d]})

        def ticker(**changes: Any) -> str:
            t = {"symbol": symbol, "bid": price, "bid_qty": size, "ask": price, "ask_qty": size, "last": price}
            return hostile_json({"channel": "ticker", "type": "update", "data": [t | changes]})

        def ohlc(**changes: Any) -> str:
            c = {"symbol": symbol, "open": price, "high": price, "low": price, "close": price, "trades": 1}
            c |= {"volume": size, "vwap": price, "interval_begin": when, "interval": 1}
            return hostile_json({"channel": "ohlc", "type": "update", "data": [c | changes]})

        return [
            (trade(price=float("nan")), "NaN price"),
            (trade(price="Infinity"), "infinite price"),
            (trade(price=0), "zero price"),
            (trade(price=-price), "negative price"),
            (trade(qty=-size), "negative size"),
            (trade(price=[price]), "price of the wrong type"),
            (trade(side="sideways"), "unknown taker side"),
            (trade(trade_id=2**70), "trade id beyond 64 bits"),
            (trade(timestamp="yesterday"), "time that is not RFC 3339"),
            (book(bids=[{"price": "nan", "qty": size}]), "NaN book level"),
            (book(asks=[{"price": price, "qty": -size}]), "negative book size"),
            (book(checksum=2**40), "checksum beyond 32 bits"),
            (ticker(bid="NaN"), "NaN ticker price"),
            (ticker(ask_qty=-3), "negative ticker size"),
            (ohlc(high=-1), "negative candle price"),
            (hostile_json({"channel": "trade", "type": "update", "data": None}), "null data"),
            (hostile_json({"channel": "notachannel", "type": "update", "data": []}), "unknown channel"),
            (trade(symbol="NOPE/USD"), "unknown symbol"),
            (hostile_json({"channel": "trade", "type": "update", "data": [{"symbol": symbol}]}), "missing fields"),
        ]
