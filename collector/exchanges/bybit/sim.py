"""Bybit v5's public wire format over the neutral market: spot, linear and inverse.

Everything follows ``shared/exchanges/bybit.md``:

- one websocket path per category, ``/v5/public/{spot,linear,inverse}``; a topic names a
  native id of the connection's category only (``BTCUSDT`` is both spot and linear), so
  stream names are qualified with the category (``linear:orderbook.200.BTCUSDT``) and
  markets are keyed the same way (``linear:BTCUSDT``).
- ``{"op":"subscribe"|"unsubscribe","args":[...],"req_id":...}`` with the documented acks
  (spot ``ret_msg:"subscribe"``, linear/inverse ``ret_msg:""``; refusals ``success:false``
  with ``error:handler not found,topic:...`` or ``error:already subscribed,topic:...``);
  spot refuses more than 10 args per request. ``{"op":"ping"}`` gets the category's pong.
- ``orderbook.{1,50,200,1000}.<s>``: a snapshot on subscribe, then deltas of the best
  ``depth`` levels with absolute sizes (``"0"`` removes, also for a level that left the
  depth window) and ``u`` + 1 per message, per topic; ``seq`` is the cross sequence.
  ``orderbook.1`` is a snapshot every time (the 3 s idle re-send is not simulated).
- ``tickers.<s>``: linear/inverse send a snapshot on subscribe and then deltas with the
  changed fields only; spot sends full snapshot-type tickers without bid/ask.
- ``publicTrade.<s>`` (one message per tick, ``data`` an array), ``kline.<i>.<s>`` for
  intervals up to ``D`` (``W``/``M`` are accepted and never deliver).
- REST ``/v5/market/instruments-info`` (with ``limit``/``cursor`` pages on derivatives),
  ``/v5/market/orderbook`` (``u`` of the 1000-level stream) and ``/v5/market/time``.

Inverse contracts are worth 1 USD: sizes are contracts, ``volume`` counts contracts and
``turnover`` is in the base coin.

Faults (:mod:`.faults`): ``GAP`` withholds the next book delta of that one market (its
category and native id; ``orderbook.1`` snapshots are not deltas), so the following
delta's ``u`` is the previous one + 2 and a correct client resubscribes; the others act
on Bybit connections as on any exchange. :meth:`BybitWire.true_book` is the book a
client of ``orderbook.<depth>`` holds: the best ``depth`` levels and that topic's ``u``.

Capture playback keys recorded pushes by ``<category>:<topic>``, the category being the
recorded connection's path, and plays the recorded snapshots instead of making them.

The market state (ticker statistics, what each book topic has published) is in
:mod:`.sim_market`, the stream payloads in :mod:`.sim_frames`, the REST answers in
:mod:`.sim_rest`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, Tag, WireFormat, hostile_json
from .sim_frames import (
    KLINE_OF,
    KLINES,
    SILENT_KLINES,
    Names,
    book_frame,
    kline_messages,
    liquidations_frame,
    ticker_fields,
    ticker_frame,
    trades_frame,
)
from .sim_market import (
    BOOK_DEPTHS,
    CATEGORIES,
    DEFAULT_DEPTH,
    BybitMarket,
    View,
    category_of,
    delivery_ms,
    dumps,
    sorted_levels,
)
from .sim_rest import instruments, orderbook, server_time

__all__ = ["BOOK_DEPTHS", "CATEGORIES", "DEFAULT_DEPTH", "BybitMarket", "BybitWire"]

# Public channels the synthetic market has no data for, which a recording may hold.
_RECORDED_ONLY = frozenset({"allLiquidation"})
_SPOT_ARGS = 10  # "Spot: max 10 args per subscribe request."
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_CODES = "FGHJKMNQUVXZ"  # futures month letters: inverse dated ids are BTCUSDH26
_WEIGHT_HEADER = "X-Sim-Used-Weight"  # Bybit reports no per-IP weight on public market data


class BybitWire(WireFormat):
    """Bybit v5 public market data for the ``bybit`` exchange id (all three categories)."""

    exchange = "bybit"
    default_ws = "wss://stream.bybit.com"
    default_rest = "https://api.bybit.com"
    instruments_path = "/v5/market/instruments-info"
    endpoint_path = "/v5/public"

    def __init__(self, exchange: str = "bybit") -> None:
        if exchange != "bybit":
            raise UnknownExchange(f"the Bybit wire format serves 'bybit', not {exchange!r}")
        super().__init__(exchange)
        self._seed = 0
        self._markets: dict[str, BybitMarket] = {}  # by market key
        self._names: dict[str, Names] = {}
        self._views: dict[tuple[str, int], View] = {}
        self._tickers: dict[str, dict[str, str]] = {}  # last published derivative ticker per market key
        self._replies = 0
        self._rest = {
            "/v5/market/instruments-info": instruments,
            "/v5/market/orderbook": lambda query, markets, now_ms: orderbook(query, markets, now_ms, self._view),
            "/v5/market/time": server_time,
        }

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated instrument: ``BTC/USDT`` spot, ``BTC/USDT:USDT`` linear, ``BTC/USD:BTC`` inverse."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
            delivery = delivery_ms(expiry) if expiry else 0
        except ValueError as exc:
            raise UnknownSymbol(f"bybit: {exc}") from None
        if settle is None:
            native = base + quote
        elif settle == quote:
            # USDT contracts are BTCUSDT / BTCUSDT-26SEP25; USDC ones BTCPERP / BTC-26SEP25.
            day = datetime.fromtimestamp(delivery / 1000, UTC)
            dated = f"{day.day:02d}{_MONTHS[day.month - 1]}{day:%y}" if expiry else ""
            if quote == "USDC":
                native = f"{base}-{dated}" if expiry else f"{base}PERP"
            else:
                native = f"{base}{quote}-{dated}" if expiry else base + quote
        elif settle == base and quote == "USD":
            day = datetime.fromtimestamp(delivery / 1000, UTC)
            native = base + quote + (f"{_MONTH_CODES[day.month - 1]}{day:%y}" if expiry else "")
        else:
            raise UnknownSymbol(f"bybit lists no {symbol!r}; symbols look like BTC/USDT, BTC/USDT:USDT, BTC/USD:BTC")
        category = "spot" if settle is None else "linear" if settle == quote else "inverse"
        rng = random.Random(f"{seed}:bybit:{category}:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        price_decimals = min(8, max(0, (6 if category == "spot" else 5) - magnitude))
        if category == "inverse":
            size_decimals, mean_lots = 0, 3000  # 1 USD contracts
        else:
            size_decimals = min(8, max(0, magnitude + (2 if category == "spot" else -1)))
            mean_lots = max(1, round(3000.0 / price * 10**size_decimals))
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

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`BybitMarket` for ``spec``; the wire remembers it to answer subscribes and REST."""
        self._seed = seed
        key = self.market_key(spec)
        rng = random.Random(f"{seed}:bybit:{key}")
        market = BybitMarket(
            spec, rng, inverse=category_of(spec) == "inverse", depth=depth, start_id=10**10 + rng.randrange(10**9)
        )
        self._markets[key] = market
        return market

    def market_key(self, spec: InstrumentSpec) -> str:
        """``linear:BTCUSDT``: native ids repeat across categories."""
        return f"{category_of(spec)}:{spec.native}"

    # -- websocket ------------------------------------------------------------------------------

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """One ``instruments-info`` listing per category of the markets (``linear:BTCUSDT`` keys)."""
        categories = sorted({key.partition(":")[0] for key in keys})
        return [{"category": category, "limit": "1000"} for category in categories]

    def ws_path(self, route: str) -> str:
        """``/v5/public/<category>``."""
        return f"{self.endpoint_path}/{route}"

    def ws_route(self, path: str) -> str | None:
        """The category of ``v5/public/<category>``; other paths are 404."""
        prefix, _, category = path.rpartition("/")
        return category if prefix == "v5/public" and category in CATEGORIES else None

    def stream_route(self, stream: str) -> str:
        """The category a qualified stream (``spot:publicTrade.BTCUSDT``) belongs to."""
        return stream.partition(":")[0]

    def url_streams(self, query: Mapping[str, str]) -> list[str]:
        """Bybit subscribes by message only."""
        return []

    def _subscribe_frame(self, streams: list[str], request_id: int) -> str:
        """``{"req_id":"N","op":"subscribe","args":[...]}`` for qualified or bare topics."""
        args = [s.partition(":")[2] or s for s in streams]
        return dumps({"req_id": str(request_id), "op": "subscribe", "args": args})

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Per category, the subscribe frames for trades, tickers, ``orderbook.200``, liquidations (derivatives)
        and klines (spot: 10 args each)."""
        kline = KLINE_OF.get(interval)
        if kline is None:
            raise UsageError(f"bybit has no kline interval {interval!r}; use one of {', '.join(KLINE_OF)}")
        topics: dict[str, list[str]] = {}
        for spec in specs:
            category, native = category_of(spec), spec.native
            wanted = [f"publicTrade.{native}", f"tickers.{native}", f"orderbook.{DEFAULT_DEPTH}.{native}"]
            if category == "spot":
                wanted.append(f"orderbook.1.{native}")  # spot tickers have no bid/ask
            else:
                wanted.append(f"allLiquidation.{native}")
            wanted.append(f"kline.{kline}.{native}")
            topics.setdefault(category, []).extend(wanted)
        frames: dict[str, list[str]] = {}
        n = 0
        for category, args in topics.items():
            per = _SPOT_ARGS if category == "spot" else 100
            for i in range(0, len(args), per):
                n += 1
                frames.setdefault(category, []).append(self._subscribe_frame(args[i : i + per], n))
        return frames

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ping, subscribe (ack, then a snapshot per book and ticker topic) and unsubscribe."""
        route = session.route

        def subscribe(topic: str) -> tuple[bool, str | None]:
            market = self._served(route, topic, markets)
            if market is None:
                return False, None
            return True, self._snapshot(route, topic, market, now_ms)

        return self._control(route, text, session.streams, subscribe)

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """As :meth:`on_client_text`, for a capture: no snapshots are made (the recorded ones are played).

        A topic is served if Bybit serves its shape (trades, tickers, books, klines,
        liquidations) or the recording holds it on this category.
        """

        route = session.route

        def subscribe(topic: str) -> tuple[bool, str | None]:
            channel = topic.partition(".")[0]
            return _topic_shape(topic) or channel in _RECORDED_ONLY or f"{route}:{topic}" in recorded, None

        return self._control(route, text, session.streams, subscribe)

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """``<category>:<topic>`` of a recorded push; acks and pongs (``op``/``success``) are skipped.

        The category is the recorded connection's route: ``orderbook.50.BTCUSDT`` exists on
        both spot and linear. A push from a connection of unknown category cannot be
        attributed and is skipped; other frames go to every playing client.
        """
        try:
            obj = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return Tag()
        if not isinstance(obj, dict):
            return Tag()
        topic = obj.get("topic")
        if isinstance(topic, str) and topic:
            if route not in CATEGORIES:
                return Tag(skip="unknown_category")
            stream = f"{route}:{topic}"
            # Only deltas can be withheld: a snapshot replaces the book whatever came before.
            return Tag(stream, self.stream_book_key(stream) if obj.get("type") == "delta" else None)
        if "op" in obj or "success" in obj:
            return Tag(skip="reply")
        return Tag()

    def listed_key(self, url: str, native: str) -> str:
        """``<category>:<native>``, the category taken from the listing's ``category`` parameter."""
        category = dict(parse_qsl(urlsplit(url).query)).get("category", "linear")
        return f"{category}:{native}"

    def _control(
        self, route: str, text: str, current: list[str], subscribe: Callable[[str], tuple[bool, str | None]]
    ) -> Control:
        """One client frame; ``subscribe(topic)`` says whether a topic is served and its snapshot frame."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(self._ack(route, "", "", False, "error:request not in JSON format"))
        if not isinstance(msg, dict):
            return Control(self._ack(route, "", "", False, "error:request must be a JSON object"))
        op = msg.get("op")
        req_id = msg.get("req_id", "")
        req_id = req_id if isinstance(req_id, str) else str(req_id)
        if op == "ping":
            return Control(self._pong(route, req_id))
        if op not in ("subscribe", "unsubscribe"):
            return Control(self._ack(route, str(op), req_id, False, f"error:unsupported op {op!r}"))
        args = msg.get("args")
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            return Control(self._ack(route, op, req_id, False, "error:args must be an array of topics"))
        if route == "spot" and len(args) > _SPOT_ARGS:
            return Control(self._ack(route, op, req_id, False, f"error:args size >{_SPOT_ARGS}"))
        streams = [f"{route}:{a}" for a in args]
        if op == "unsubscribe":
            gone = [s for s in streams if s in current]
            return Control(self._ack(route, op, req_id, True, ""), unsubscribe=gone)
        taken = set(current)
        added: list[str] = []
        frames: list[str | bytes] = []
        failed: list[str] = []
        for topic, stream in zip(args, streams, strict=True):
            if stream in taken:
                failed.append(f"error:already subscribed,topic:{topic}")
                continue
            served, snapshot = subscribe(topic)
            if not served:
                failed.append(f"error:handler not found,topic:{topic}")
                continue
            taken.add(stream)
            added.append(stream)
            if snapshot is not None:
                frames.append(snapshot)
        ack = self._ack(route, op, req_id, not failed, ";".join(failed))
        return Control(ack, subscribe=added, frames=frames)

    def _served(self, route: str, topic: str, markets: Mapping[str, SymbolMarket]) -> SymbolMarket | None:
        """The market a topic of this category names, or ``None`` if Bybit would refuse it."""
        market = markets.get(f"{route}:{topic.rpartition('.')[2]}")
        return market if market is not None and _topic_shape(topic) else None

    def _ack(self, route: str, op: str, req_id: str, success: bool, ret_msg: str) -> str:
        # Spot acks echo the op in ret_msg; linear/inverse leave it empty (bybit.md section 4).
        if success and route == "spot":
            ret_msg = op
        return dumps({"success": success, "ret_msg": ret_msg, "conn_id": self._conn_id(), "req_id": req_id, "op": op})

    def _pong(self, route: str, req_id: str) -> str:
        reply: dict[str, Any] = {"success": True, "ret_msg": "pong", "conn_id": self._conn_id()}
        if route != "spot":
            reply["req_id"] = req_id  # spot pongs carry no req_id (bybit.md section 3)
        reply["op"] = "ping"
        return dumps(reply)

    def _conn_id(self) -> str:
        # The wire does not see connections; a fresh id per reply is enough for clients,
        # which only log it.
        self._replies += 1
        return f"5e1a0c3d-{self._replies:04x}-4000-8000-000000000000"

    def _snapshot(self, route: str, topic: str, market: SymbolMarket, now_ms: int) -> str | None:
        """The frame Bybit pushes right after a subscribe, if the topic has one."""
        channel, _, rest = topic.partition(".")
        key = f"{route}:{market.spec.native}"
        names = self.names(market.spec)
        if channel == "orderbook":
            depth = int(rest.partition(".")[0])
            view = self._view(key, depth)
            view.sync(market)
            return self._view_snapshot(names, market, view, now_ms)
        if channel == "tickers" and isinstance(market, BybitMarket):
            fields = ticker_fields(market, now_ms)
            if route != "spot":
                self._tickers[key] = fields
            return ticker_frame(names, market, "snapshot", fields, now_ms)
        return None

    def wanted_intervals(self, stream: str) -> str | None:
        """``spot:kline.1.BTCUSDT`` -> ``1m``."""
        parts = stream.partition(":")[2].split(".")
        if len(parts) == 3 and parts[0] == "kline":
            return KLINES.get(parts[1])
        return None

    def stream_book_key(self, stream: str) -> str | None:
        """``linear:orderbook.200.BTCUSDT`` -> ``linear:BTCUSDT``; ``orderbook.1`` (snapshots only) -> ``None``."""
        category, _, topic = stream.partition(":")
        parts = topic.split(".")
        if len(parts) == 3 and parts[0] == "orderbook" and parts[1] != "1":
            return f"{category}:{parts[2]}"
        return None

    def names(self, spec: InstrumentSpec) -> Names:
        """The qualified stream names of ``spec``."""
        key = self.market_key(spec)
        names = self._names.get(key)
        if names is None:
            category, native = category_of(spec), spec.native
            books = tuple((d, f"{category}:orderbook.{d}.{native}") for d in BOOK_DEPTHS)
            names = self._names[key] = Names(
                category,
                f"{category}:publicTrade.{native}",
                f"{category}:tickers.{native}",
                books,
                f"{category}:kline.",
                f"{category}:allLiquidation.{native}",
            )
        return names

    def _view(self, key: str, depth: int) -> View:
        view = self._views.get((key, depth))
        if view is None:
            start = random.Random(f"{self._seed}:bybit:{key}:{depth}").randrange(10**6, 10**8)
            view = self._views[key, depth] = View(depth, start, {}, {})
        return view

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: book deltas per subscribed depth, tickers, trades and klines."""
        key = self.market_key(spec)
        market = self._markets[key]
        names = self.names(spec)
        out: list[Message] = []
        time_ms = update.time_ms
        for depth, stream in names.books:
            if stream not in subscribed:
                continue
            view = self._view(key, depth)
            bids, asks = view.advance(market, update)
            if not (bids or asks):
                continue
            if depth == 1:
                # "orderbook.1 is always a snapshot."
                out.append(Message(stream, self._view_snapshot(names, market, view, time_ms)))
            else:
                text = book_frame(names, market, depth, "delta", bids, asks, view.u, time_ms)
                out.append(Message(stream, text, key))
        if names.ticker in subscribed:
            message = self._ticker_update(names, market, update)
            if message is not None:
                out.append(message)
        if update.fills and names.trade in subscribed:
            out.append(Message(names.trade, trades_frame(names, market, update)))
        if update.fills and names.liquidation in subscribed:
            liquidations = liquidations_frame(names, market, update)
            if liquidations is not None:
                out.append(Message(names.liquidation, liquidations))
        if update.candles:
            out.extend(kline_messages(names, market, update, subscribed))
        return out

    def _view_snapshot(self, names: Names, market: SymbolMarket, view: View, time_ms: int) -> str:
        """A snapshot frame of everything ``view`` (one ``orderbook.<depth>`` topic) has published."""
        bids, asks = sorted_levels(view.bids, True), sorted_levels(view.asks, False)
        return book_frame(names, market, view.depth, "snapshot", bids, asks, view.u, time_ms)

    def _ticker_update(self, names: Names, market: BybitMarket, update: Update) -> Message | None:
        key = self.market_key(market.spec)
        fields = ticker_fields(market, update.time_ms)
        if names.category == "spot":
            # Spot tickers are full snapshots, pushed when a trade changed the statistics.
            if not update.fills:
                return None
            return Message(names.ticker, ticker_frame(names, market, "snapshot", fields, update.time_ms))
        old = self._tickers.get(key)
        self._tickers[key] = fields
        if old is None:
            return Message(names.ticker, ticker_frame(names, market, "snapshot", fields, update.time_ms))
        # "delta messages carry only the changed fields"; the symbol is always there.
        changed = {k: v for k, v in fields.items() if old.get(k) != v}
        if not changed:
            return None
        delta = {"symbol": fields["symbol"], **changed}
        return Message(names.ticker, ticker_frame(names, market, "delta", delta, update.time_ms))

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The best ``depth`` levels (default 200) as published on ``orderbook.<depth>``, and that topic's ``u``."""
        depth = DEFAULT_DEPTH if depth is None else depth
        if depth not in BOOK_DEPTHS:
            raise UsageError(f"bybit has no orderbook.{depth}; use one of {BOOK_DEPTHS}")
        spec = market.spec
        view = self._view(self.market_key(spec), depth)
        view.sync(market)
        bids = {float(spec.price(p)): float(spec.size(q)) for p, q in view.bids.items()}
        asks = {float(spec.price(p)): float(spec.size(q)) for p, q in view.asks.items()}
        return bids, asks, view.u

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/v5/market/...``; errors come as ``retCode`` in an HTTP 200 body, as on Bybit."""
        handler = self._rest.get(call.path)
        if handler is None or call.method != "GET":
            return RestAnswer(404, dumps({"retCode": 10404, "retMsg": f"path {call.path} not found"}).encode())
        return handler(call.query, markets, now_ms)

    def rate_limited(self) -> RestAnswer:
        """The rate-limit body (Bybit's per-IP limit answers 403; the fault uses 429 + Retry-After)."""
        body = {"retCode": 10006, "retMsg": "Too many visits!", "result": {}, "retExtInfo": {}, "time": 0}
        return RestAnswer(429, dumps(body).encode())

    def malformed(self) -> str:
        """A book frame cut off mid-object."""
        return '{"topic":"orderbook.200.BTCUSDT","type":"delta","ts":1687940967486,"data":{"s":"BTC'

    def weight_header(self) -> str:
        """A simulator-only header with the minute's REST weight (Bybit's public REST reports none)."""
        return _WEIGHT_HEADER

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Bybit-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        native = spec.native
        price, size = spec.price(spec.start_ticks), spec.size(1)

        def trade(**changes: Any) -> str:
            t = {"T": now_ms, "s": native, "S": "Buy", "v": size, "p": price, "i": "1", "BT": False} | changes
            return hostile_json({"topic": f"publicTrade.{native}", "type": "snapshot", "ts": now_ms, "data": [t]})

        def book(**changes: Any) -> str:
            d = {"s": native, "b": [], "a": [], "u": 5, "seq": 1} | changes
            return hostile_json(
                {"topic": f"orderbook.{DEFAULT_DEPTH}.{native}", "type": "delta", "ts": now_ms, "data": d}
            )

        def ticker(kind: str, **fields: Any) -> str:
            data = {"symbol": native} | fields
            return hostile_json({"topic": f"tickers.{native}", "type": kind, "ts": now_ms, "cs": 1, "data": data})

        def kline(**changes: Any) -> str:
            k = {"start": now_ms, "end": now_ms + 59_999, "interval": "1", "open": price, "close": price}
            k |= {"high": price, "low": price, "volume": size, "turnover": size, "confirm": False, "timestamp": now_ms}
            return hostile_json({"topic": f"kline.1.{native}", "type": "snapshot", "ts": now_ms, "data": [k | changes]})

        return [
            (trade(p="NaN"), "NaN price"),
            (trade(p="Infinity"), "infinite price"),
            (trade(p="0"), "zero price"),
            (trade(p="-" + price), "negative price"),
            (trade(v="-" + size), "negative size"),
            (trade(p=[price]), "price of the wrong type"),
            (trade(S="Sideways"), "unknown taker side"),
            (trade(T=2**70), "time beyond 64 bits"),
            (book(b=[["nan", size]]), "NaN book level"),
            (book(a=[[price, "-" + size]]), "negative book size"),
            (book(u=2**70), "update id beyond 64 bits"),
            (ticker("delta", lastPrice="n/a"), "ticker price that is not a number"),
            (ticker("snapshot", lastPrice="NaN"), "NaN ticker price"),
            (ticker("snapshot", bid1Size="-3"), "negative ticker size"),
            (kline(high="-1"), "negative kline price"),
            (
                hostile_json({"topic": f"publicTrade.{native}", "type": "snapshot", "ts": now_ms, "data": None}),
                "null data",
            ),
            (hostile_json({"topic": f"notATopic.{native}", "type": "snapshot", "data": {}}), "unknown topic"),
            (hostile_json({"topic": "publicTrade.NOSUCHSYMBOL", "type": "snapshot", "data": []}), "unknown symbol"),
        ]


def _topic_shape(topic: str) -> bool:
    """A topic Bybit serves for any listed symbol: trades, tickers, ``orderbook.<depth>``, ``kline.<interval>``."""
    parts = topic.split(".")
    if len(parts) == 2 and parts[0] in ("publicTrade", "tickers", "allLiquidation"):
        return True
    if len(parts) == 3 and parts[0] == "orderbook" and parts[1].isdigit() and int(parts[1]) in BOOK_DEPTHS:
        return True
    return len(parts) == 3 and parts[0] == "kline" and (parts[1] in KLINES or parts[1] in SILENT_KLINES)
