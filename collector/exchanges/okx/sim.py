"""OKX API v5's public wire format over the neutral market: spot, swaps and expiry futures.

Everything follows ``shared/exchanges/okx.md``:

- two websocket routes, ``/ws/v5/public`` and ``/ws/v5/business``; candles and
  ``trades-all`` are served on /business only, everything else on /public only (the
  other route refuses them with 60018, as OKX does).
- ``{"op":"subscribe"|"unsubscribe","args":[{"channel":...,"instId":...}],"id":...}`` with one
  ``{"event":"subscribe","arg":{...},"connId":...}`` per arg (the ``id`` echoed), and
  ``{"event":"error","code":...,"msg":...}`` for what OKX refuses: 60012 (not a request),
  60018 (wrong URL, channel or instrument), 64003 (``books-l2-tbt``/``books50-l2-tbt``:
  fee tier too low). The text ``ping`` is answered with ``pong``.
- on subscribe: ``books`` sends its snapshot (``prevSeqId`` -1), ``books5``/``bbo-tbt``/
  ``tickers``/``mark-price``/``index-tickers``/``funding-rate``/``open-interest`` their current
  data. ``books`` updates carry absolute sizes, ``seqId`` = the market's update id and
  ``prevSeqId`` = the previous one, and ``checksum`` 0 ("always 0" since 2026-06-23; with
  :attr:`OkxWire.checksums` the CRC32 of the best 25 levels, as before, which the ``CHECKSUM``
  fault breaks); a book unchanged for 60 s gets the empty heartbeat update (``prevSeqId == seqId``).
- ``trades`` one push per taker order and price (``count`` fills, ``tradeId`` the last),
  ``trades-all`` one per fill, ``candle<bar>`` one row per push, ``mark-price``/``index-tickers``
  when the touch moves, ``funding-rate`` every 30 s, ``open-interest`` every 5 s,
  ``liquidation-orders`` per instrument type when a contract is liquidated.
- REST ``/api/v5/public/instruments?instType=...`` (one listing per type),
  ``/api/v5/market/books`` and ``/api/v5/public/time``.

Sizes are base units on spot and contracts on SWAP/FUTURES (see :mod:`.sim_market` for the
contract terms). Faults (:mod:`collector.simulator.faults`): ``GAP`` withholds the next
``books`` update of that instrument (the following one's ``prevSeqId`` does not link),
``CHECKSUM`` sends it with a wrong checksum; the others act as on any exchange.
:meth:`OkxWire.true_book` is the whole book (the default: the simulated book stays well
within the 400 levels of ``books``) in contracts, with the market's last ``seqId``.

Capture playback keys recorded pushes by ``<channel>:<instId>`` (``liquidation-orders:<instType>``),
acknowledges what the recording holds on the route it is asked on, and plays the recorded
snapshots instead of making them; the recorder's own replies and pongs are not played.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import orjson

from ...errors import UnknownExchange, UsageError
from ...simulator.market import (
    INTERVAL_MS,
    InstrumentSpec,
    SymbolMarket,
    Update,
)
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, Tag, WireFormat
from .instruments import BUSINESS_CHANNELS, CANDLE_BARS, INSTRUMENT_TYPES, KLINE_BARS
from .sim_market import OkxMarket, contract, okx_spec
from .sim_payloads import (
    bbo_payload,
    book_payload,
    books5_payload,
    candle_payload,
    dumps,
    funding_payload,
    hostile_frames,
    index_payload,
    interest_payload,
    levels,
    liquidations_payload,
    listing,
    mark_payload,
    ticker_payload,
    trade_payload,
)

__all__ = ["OkxSession", "OkxWire"]

# Channels served per instrument, and which of them only contracts have.
_INSTRUMENT_CHANNELS = frozenset({"books", "books5", "bbo-tbt", "tickers", "trades", "trades-all"})
_CONTRACT_CHANNELS = frozenset({"mark-price", "open-interest", "funding-rate"})
_GATED = frozenset({"books-l2-tbt", "books50-l2-tbt"})
_INCREMENTAL = frozenset({"books", "books-l2-tbt", "books50-l2-tbt"})
_BARS = {bar: unified for bar, (unified, _) in CANDLE_BARS.items() if unified in INTERVAL_MS}
_FUNDING_EVERY = 30_000
_INTEREST_EVERY = 5_000
_HEARTBEAT_AFTER = 60_000
_WRONG = (
    "Wrong URL or channel:{channel},instId:{inst} doesn't exist. "
    "Please use the correct URL, channel and parameters referring to API document."
)


class OkxSession(Session):
    """One OKX connection: its route and the ``connId`` OKX names it by in replies."""

    def __init__(self, route: str, conn_id: str) -> None:
        super().__init__(route)
        self.conn_id = conn_id


class OkxWire(WireFormat):
    """OKX API v5 public market data for the ``okx`` exchange id."""

    default_ws = "wss://ws.okx.com:8443"
    default_rest = "https://www.okx.com"
    endpoint_path = "/ws/v5"
    instruments_path = "/api/v5/public/instruments"
    checksums = False
    """Whether ``books`` pushes carry their CRC32. OKX announced: "from 2026-06-23 the checksum
    field ... stays in the payload but is always 0"; set it True to play captures from before
    (and give the ``CHECKSUM`` fault something to break)."""
    stream_snapshots = True
    """Whether ``books`` pushes its snapshot on subscribe. OKX announced it would stop ("Delist
    initial snapshot ... please use the GET / Order book endpoint to get the snapshot data"): set
    it False to play that, the REST book then carrying the stream's ``seqId``."""

    def __init__(self, exchange: str = "okx") -> None:
        if exchange != "okx":
            raise UnknownExchange(f"the OKX wire format serves 'okx', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, OkxMarket] = {}
        self._index_owner: dict[str, str] = {}  # index -> the market key that publishes it
        self._sessions = 0
        self._rest = {
            "/api/v5/public/instruments": self._instruments,
            "/api/v5/market/books": self._books_rest,
            "/api/v5/public/time": self._time,
        }

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USDT`` (BTC-USDT), ``BTC/USDT:USDT`` (BTC-USDT-SWAP), ``BTC/USD:BTC`` (BTC-USD-SWAP), dated futures."""
        return okx_spec(symbol, seed)

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """An :class:`OkxMarket` for ``spec``; the wire keeps it to answer subscribes and REST."""
        key = spec.native
        rng = random.Random(f"{seed}:okx:{key}")
        market = OkxMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8), seed=f"{seed}:okx:{key}:x")
        self._markets[key] = market
        if market.terms.family:
            self._index_owner.setdefault(market.terms.family, key)
        return market

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """The adapter lists every instrument type: ``?instType=SPOT``, ``SWAP``, ``FUTURES``."""
        return [{"instType": inst_type} for inst_type in INSTRUMENT_TYPES]

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``ws/v5/public`` -> ``public``, ``ws/v5/business`` -> ``business``; other paths are 404."""
        prefix, _, route = path.rpartition("/")
        return route if prefix == "ws/v5" and route in ("public", "business") else None

    def ws_path(self, route: str) -> str:
        return f"{self.endpoint_path}/{route}"

    def stream_route(self, stream: str) -> str:
        """Streams are ``<channel>:<instId>``; candles and ``trades-all`` are /business ones."""
        return "business" if stream.partition(":")[0] in BUSINESS_CHANNELS else "public"

    def open(self, route: str) -> Session:
        self._sessions += 1
        return OkxSession(route, f"{0x5A3C0000 + self._sessions:08x}")

    def wanted_intervals(self, stream: str) -> str | None:
        """``candle1H:BTC-USDT`` -> ``1h`` (the market aggregates it)."""
        channel = stream.partition(":")[0]
        return _BARS.get(channel[6:]) if channel.startswith("candle") else None

    def stream_book_key(self, stream: str) -> str | None:
        """``books:BTC-USDT`` -> ``BTC-USDT``: only ``books`` updates are diffs a gap can hit."""
        channel, _, native = stream.partition(":")
        return native if channel == "books" else None

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Trades, tickers, ``books`` and candles of ``specs``, and the funding channels of contracts."""
        bar = KLINE_BARS.get(interval)
        if bar is None or bar not in _BARS:
            raise UsageError(f"okx has no candle interval {interval!r}; use one of {', '.join(KLINE_BARS)}")
        public: list[dict[str, str]] = []
        business: list[dict[str, str]] = []
        for spec in specs:
            native = spec.native
            public += [{"channel": c, "instId": native} for c in ("books", "tickers", "trades")]
            terms = contract(spec)
            if terms.inst_type != "SPOT":
                public += [{"channel": "mark-price", "instId": native}, {"channel": "open-interest", "instId": native}]
                public.append({"channel": "index-tickers", "instId": terms.family})
                if terms.inst_type == "SWAP":
                    public.append({"channel": "funding-rate", "instId": native})
            business.append({"channel": f"candle{bar}", "instId": native})
        unique = list({dumps(a): a for a in public}.values())
        return {
            "public": [dumps({"id": "1", "op": "subscribe", "args": unique})],
            "business": [dumps({"id": "2", "op": "subscribe", "args": business})],
        }

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``ping``, subscribe (an ack per arg, then the pushes OKX sends at once) and unsubscribe."""
        return self._answer(session, text, lambda arg: self._stream(session.route, arg), now_ms)

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """As :meth:`on_client_text` when a capture feeds the server: what it holds is acknowledged, nothing is made."""

        def serve(arg: Any) -> tuple[str | None, tuple[str, str]]:
            key = _arg_key(arg)
            if key is None:
                return None, ("60012", f"Invalid request: {dumps(arg)[:200]}")
            stream = f"{arg['channel']}:{key}"
            if stream not in recorded or self.stream_route(stream) != session.route:
                return None, ("60018", _WRONG.format(channel=arg["channel"], inst=key))
            return stream, ("", "")

        return self._answer(session, text, serve, None)

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """``<channel>:<instId>`` of a recorded push (``liquidation-orders:<instType>``); replies and pongs are skipped.

        Only updates of the incremental book channels can be withheld by a ``GAP`` fault.
        """
        if frame in ("pong", b"pong"):
            return Tag(skip="reply")
        try:
            obj = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return Tag()
        if not isinstance(obj, dict):
            return Tag()
        if "event" in obj:
            return Tag(skip="reply")
        key = _arg_key(obj.get("arg"))
        if key is None:
            return Tag()
        channel = obj["arg"]["channel"]
        gap = channel in _INCREMENTAL and obj.get("action") == "update"
        return Tag(f"{channel}:{key}", key if gap else None)

    def _answer(
        self,
        session: Session,
        text: str,
        serve: Callable[[Any], tuple[str | None, tuple[str, str]]],
        now_ms: int | None,
    ) -> Control:
        """One client frame. ``serve(arg)`` gives the stream an arg names, or OKX's refusal; the
        pushes that follow a subscription are made unless ``now_ms`` is ``None`` (a capture plays them)."""
        conn_id = session.conn_id if isinstance(session, OkxSession) else ""
        if text == "ping":
            return Control("pong")
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            msg = None
        op = msg.get("op") if isinstance(msg, dict) else None
        args = msg.get("args") if isinstance(msg, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list) or not args:
            return Control(self._error("60012", f"Invalid request: {text[:200]}", conn_id, None))
        req_id = msg.get("id") if isinstance(msg.get("id"), str) else None
        replies: list[str | bytes] = []
        pushes: list[str | bytes] = []
        added: list[str] = []
        removed: list[str] = []
        for arg in args:
            stream, refused = serve(arg)
            if stream is None:
                replies.append(self._error(refused[0], refused[1], conn_id, req_id))
                continue
            reply: dict[str, Any] = {"id": req_id} if req_id is not None else {}
            reply |= {"event": op, "arg": arg, "connId": conn_id}
            replies.append(dumps(reply))
            if op == "unsubscribe":
                if stream in session.streams:
                    removed.append(stream)
            elif stream not in session.streams and stream not in added:
                added.append(stream)
                if now_ms is not None:
                    pushes.extend(self._on_subscribe(stream, now_ms))
        return Control(replies[0], subscribe=added, unsubscribe=removed, frames=[*replies[1:], *pushes])

    def _stream(self, route: str, arg: Any) -> tuple[str | None, tuple[str, str]]:
        """The stream an arg names, or ``None`` and OKX's (code, message) for refusing it."""
        key = _arg_key(arg)
        if key is None:
            return None, ("60012", f"Invalid request: {dumps(arg)[:200]}")
        channel = arg["channel"]
        wrong = ("60018", _WRONG.format(channel=channel, inst=key))
        if channel in _GATED:
            return None, ("64003", "Your trading fee tier doesn't meet the requirement to access this channel")
        market = self._markets.get(key)
        inst_type = market.terms.inst_type if market is not None else ""
        if channel in _INSTRUMENT_CHANNELS or channel.startswith("candle"):
            served = market is not None and (not channel.startswith("candle") or channel[6:] in _BARS)
        elif channel in _CONTRACT_CHANNELS:
            # Contracts only; expiry futures have no funding.
            served = inst_type == "SWAP" or (inst_type == "FUTURES" and channel != "funding-rate")
        elif channel == "index-tickers":
            served = key in self._index_owner
        else:
            served = channel == "liquidation-orders" and key in ("SWAP", "FUTURES", "MARGIN", "OPTION")
        stream = f"{channel}:{key}"
        if not served or self.stream_route(stream) != route:
            return None, wrong
        return stream, ("", "")

    def _error(self, code: str, msg: str, conn_id: str, req_id: str | None) -> str:
        reply: dict[str, Any] = {"id": req_id} if req_id is not None else {}
        return dumps(reply | {"event": "error", "code": code, "msg": msg, "connId": conn_id})

    def _on_subscribe(self, stream: str, now_ms: int) -> list[str | bytes]:
        """What OKX pushes right after a subscription: a ``books`` snapshot, the current ticker, mark, ..."""
        channel, _, key = stream.partition(":")
        if channel == "index-tickers":
            return [index_payload(self._markets[self._index_owner[key]], now_ms)]
        market = self._markets.get(key)
        if market is None:
            return []
        if channel == "books":
            if not self.stream_snapshots:
                return []
            bids, asks = market.levels(max(len(market.bids), len(market.asks)))
            return [book_payload(market, "snapshot", bids, asks, -1, market.last_id, now_ms, crc=self.checksums)]
        makers = {
            "books5": books5_payload,
            "bbo-tbt": bbo_payload,
            "tickers": ticker_payload,
            "mark-price": mark_payload,
            "funding-rate": funding_payload,
            "open-interest": interest_payload,
        }
        make = makers.get(channel)
        return [make(market, now_ms)] if make is not None else []

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one market step, only for subscribed streams."""
        key = spec.native
        market = self._markets[key]
        time_ms = update.time_ms
        out: list[Message] = []
        stream = f"books:{key}"
        if stream in subscribed:
            if update.first_id is not None:
                ids = (update.prev_id, update.last_id, time_ms)
                text = book_payload(market, "update", update.bids, update.asks, *ids, crc=self.checksums)
                out.append(Message(stream, text, key))
            elif time_ms - market.book_ms >= _HEARTBEAT_AFTER:
                # "No updates for around 60 seconds ... 'asks': [], 'bids': [] ... prevSeqId equals seqId."
                text = book_payload(
                    market, "update", [], [], market.last_id, market.last_id, time_ms, crc=self.checksums
                )
                out.append(Message(stream, text))
        stream = f"books5:{key}"
        if stream in subscribed and market.levels(5) != market.top5:
            out.append(Message(stream, books5_payload(market, time_ms)))
        if update.bbo_changed and f"bbo-tbt:{key}" in subscribed:
            out.append(Message(f"bbo-tbt:{key}", bbo_payload(market, time_ms)))
        if (update.fills or update.bbo_changed) and f"tickers:{key}" in subscribed:
            out.append(Message(f"tickers:{key}", ticker_payload(market, time_ms)))
        for channel in ("trades", "trades-all"):
            stream = f"{channel}:{key}"
            if update.fills and stream in subscribed:
                out.extend(Message(stream, trade_payload(channel, market, f, update.last_id)) for f in update.fills)
        for candle, closed in update.candles:
            stream = f"candle{KLINE_BARS.get(candle.interval, '?')}:{key}"
            if stream in subscribed:
                out.append(Message(stream, candle_payload(market, stream, candle, closed)))
        if market.terms.inst_type != "SPOT":
            out.extend(self._contract_messages(market, update, subscribed))
        return out

    def _contract_messages(self, market: OkxMarket, update: Update, subscribed: Collection[str]) -> list[Message]:
        key, time_ms, out = market.spec.native, update.time_ms, []
        if update.bbo_changed:
            if f"mark-price:{key}" in subscribed:
                out.append(Message(f"mark-price:{key}", mark_payload(market, time_ms)))
            family = market.terms.family
            if self._index_owner.get(family) == key and f"index-tickers:{family}" in subscribed:
                out.append(Message(f"index-tickers:{family}", index_payload(market, time_ms)))
        if f"funding-rate:{key}" in subscribed and time_ms - market.funding_ms >= _FUNDING_EVERY:
            out.append(Message(f"funding-rate:{key}", funding_payload(market, time_ms)))
        if f"open-interest:{key}" in subscribed and time_ms - market.interest_ms >= _INTEREST_EVERY:
            out.append(Message(f"open-interest:{key}", interest_payload(market, time_ms)))
        stream = f"liquidation-orders:{market.terms.inst_type}"
        if market.liquidations and stream in subscribed:
            out.append(Message(stream, liquidations_payload(market)))
        return out

    # -- faults ---------------------------------------------------------------------------------

    def corrupt(self, message: Message) -> Message:
        """``message`` (a ``books`` update) with its checksum off by one."""
        msg = orjson.loads(message.text)
        for d in msg.get("data", ()):
            d["checksum"] = d.get("checksum", 0) - 1 if d.get("checksum", 0) > -(2**31) else 1
        return Message(message.stream, dumps(msg), message.book_key)

    def malformed(self) -> str:
        """A book update cut off mid-level."""
        return '{"arg":{"channel":"books","instId":"BTC-USDT"},"action":"update","data":[{"asks":[["6'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """OKX-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        return hostile_frames(spec, now_ms)

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/api/v5/...``; refusals carry OKX's ``code`` and ``msg``."""
        handler = self._rest.get(call.path)
        if handler is None or call.method != "GET":
            return RestAnswer(404, dumps({"code": "404", "msg": f"path {call.path} not found", "data": []}).encode())
        return handler(call.query, markets, now_ms)

    def rate_limited(self) -> RestAnswer:
        """OKX's answer past a rate limit: HTTP 429, code 50011."""
        return RestAnswer(429, dumps({"code": "50011", "msg": "Too Many Requests", "data": []}).encode())

    def _ok(self, data: list[Any]) -> RestAnswer:
        return RestAnswer(200, orjson.dumps({"code": "0", "msg": "", "data": data}))

    def _instruments(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        inst_type = query.get("instType", "")
        if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION", "EVENTS"):
            return RestAnswer(400, dumps({"code": "51000", "msg": "Parameter instType error", "data": []}).encode())
        listed = [m.spec for m in markets.values() if contract(m.spec).inst_type == inst_type]
        if "instId" in query:
            listed = [s for s in listed if s.native == query["instId"]]
        return self._ok([listing(spec) for spec in listed])

    def _books_rest(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        market = markets.get(query.get("instId", ""))
        depth = query.get("sz", "1")
        if not isinstance(market, OkxMarket) or not depth.isdigit() or not 1 <= int(depth) <= 400:
            return RestAnswer(400, dumps({"code": "51001", "msg": "Instrument ID does not exist", "data": []}).encode())
        bids, asks = market.levels(int(depth))
        data: dict[str, Any] = {"asks": levels(market, asks), "bids": levels(market, bids), "ts": str(now_ms)}
        if not self.stream_snapshots:
            data["seqId"] = market.last_id  # the seqId of the last update pushed: what the book is at
        return self._ok([data])

    def _time(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        return self._ok([{"ts": str(now_ms)}])


def _arg_key(arg: Any) -> str | None:
    """What a subscription arg names: its ``instId`` (``instType`` for ``liquidation-orders``), if it is one."""
    if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
        return None
    key = arg.get("instType" if arg["channel"] == "liquidation-orders" else "instId")
    return key if isinstance(key, str) else None
