"""HTX spot's wire format over the neutral market (``shared/exchanges/htx.md``).

- Websocket paths ``/ws`` (trades, best bid/offer, ticker, klines, ``depth.step0``) and
  ``/feed`` (the MBP increments ``mbp.5``/``mbp.20``/``mbp.150`` and their ``req`` refresh:
  "MBP incremental channel & its REQ channel: wss://api.huobi.pro/feed"). A topic asked
  for on the other path is refused with ``invalid topic``.
- Every server frame is gzip JSON; numbers are JSON numbers. ``{"sub": topic | [topics],
  "id": id}`` is acknowledged per topic (``{"id","status":"ok","subbed","ts"}``), ``unsub``
  likewise (``unsubbed``; a topic not subscribed is ``unsub with not subbed topic``), ``req``
  of an MBP topic answers ``{"id","rep","status":"ok","ts","data":{"seqNum","bids","asks"}}``,
  refusals are ``{"status":"error","err-code":"bad-request","err-msg",...}``.
- ``{"ping": ms}`` every :attr:`HtxWire.heartbeat_interval` seconds; a client that leaves two
  unanswered is disconnected right before the third (code 1008). ``{"ping": n}`` from a
  client is answered ``{"pong": n}``.
- ``mbp.<levels>``: every market step pushes the difference of the best ``levels`` levels
  against what the feed published before (absolute sizes, ``0`` removes), ``seqNum`` the
  market's last update id and ``prevSeqNum`` the previous push's; the 150-level feed also
  pushes a message with two blank sides when nothing changed ("still sends out a message
  which contains two blank objects").
- REST ``GET /v1/common/symbols``.

Faults: ``GAP`` withholds one MBP increment, so the next one's ``prevSeqNum`` does not match
and a correct client asks for a refresh. :meth:`HtxWire.true_book` is the book a client of
``mbp.150`` holds, with its ``seqNum``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import CandleState, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat
from .codec import deflate, inflate
from .instruments import KLINE_PERIODS, PERIOD_SECONDS
from .sim_common import HtxMarket, HtxSession, error_reply, gz, request_of
from .sim_hostile import spot_hostile

__all__ = ["MBP_LEVELS", "HtxWire"]

MBP_LEVELS = (5, 20, 150)
"""Incremental MBP feeds served on ``/feed`` (with a ``req`` refresh)."""

DEFAULT_LEVELS = 150
"""The depth the collector's HTX adapter subscribes (``true_book`` uses it)."""

_INTERVAL_PERIOD = {unified: period for period, (unified, _) in PERIOD_SECONDS.items()}
_WS_CHANNELS = frozenset({"trade.detail", "bbo", "ticker", "depth.step0"} | {f"kline.{p}" for p in PERIOD_SECONDS})
_FEED_CHANNELS = frozenset(f"mbp.{n}" for n in MBP_LEVELS)


class HtxWire(WireFormat):
    """HTX spot market data for the ``htx`` exchange id."""

    default_ws = "wss://api.huobi.pro"
    default_rest = "https://api.huobi.pro"
    endpoint_path = ""
    instruments_path = "/v1/common/symbols"
    heartbeat_interval: float | None = 5.0  # "the server will send heartbeat periodically (currently at 5s interval)"
    pings_allowed = 2  # "two consecutive heartbeat messages without ... one matching pong": disconnected

    def __init__(self, exchange: str = "htx") -> None:
        if exchange != "htx":
            raise UnknownExchange(f"the HTX spot wire format serves 'htx', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, HtxMarket] = {}

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated instrument of a spot symbol (``BTC/USDT`` -> ``btcusdt``)."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"htx: {exc}") from None
        if settle is not None:
            raise UnknownSymbol(f"htx is spot only ({symbol!r}); swaps are htx_swap")
        rng = random.Random(f"{seed}:htx:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        size_decimals = min(8, max(0, magnitude + 2))
        return InstrumentSpec(
            symbol=symbol,
            native=(base + quote).lower(),
            base=base,
            quote=quote,
            settle=None,
            expiry=None,
            price_decimals=min(8, max(0, 6 - magnitude)),
            size_decimals=size_decimals,
            start_ticks=round(price * 10 ** min(8, max(0, 6 - magnitude))),
            mean_lots=max(1, round(3000.0 / price * 10**size_decimals)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """An :class:`HtxMarket` whose update ids serve as ``seqNum``s."""
        rng = random.Random(f"{seed}:htx:{spec.native}")
        market = HtxMarket(spec, rng, depth=depth, start_id=10**11 + rng.randrange(10**9))
        self._markets[spec.native] = market
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``ws`` and ``feed``; other paths are 404."""
        return path if path in ("ws", "feed") else None

    def ws_path(self, route: str) -> str:
        """``/ws`` or ``/feed``."""
        return "/" + route

    def stream_route(self, stream: str) -> str:
        """MBP increments live on ``/feed``, everything else on ``/ws``."""
        return "feed" if ".mbp." in stream else "ws"

    def open(self, route: str) -> Session:
        """A session that keeps count of unanswered pings."""
        return HtxSession(route)

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """``{"ping": <ms>}``, or nothing and the connection closed when two went unanswered."""
        if not cast(HtxSession, session).ping(now_ms, self.pings_allowed):
            return []
        return [gz({"ping": now_ms})]

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Trades, best bid/offer and klines on ``/ws``; ``mbp.150`` and its refresh on ``/feed``."""
        period = _INTERVAL_PERIOD.get(interval)
        if period is None:
            raise UsageError(f"htx has no kline interval {interval!r}; use one of {', '.join(KLINE_PERIODS)}")
        frames: dict[str, list[str]] = {"ws": [], "feed": []}
        for spec in specs:
            n = spec.native
            for topic in (f"market.{n}.trade.detail", f"market.{n}.bbo", f"market.{n}.kline.{period}"):
                frames["ws"].append(orjson.dumps({"sub": topic, "id": str(len(frames["ws"]) + 1)}).decode())
            book = f"market.{n}.mbp.{DEFAULT_LEVELS}"
            # The refresh right after the subscription, on the same connection, as a client
            # asks for it: a recorded session then holds the snapshot its increments join.
            frames["feed"].append(orjson.dumps({"sub": book, "id": n}).decode())
            frames["feed"].append(orjson.dumps({"req": book, "id": n + ".refresh"}).decode())
        return frames

    def wanted_intervals(self, stream: str) -> str | None:
        """``market.btcusdt.kline.1min`` -> ``1m``."""
        _, sep, period = stream.rpartition(".kline.")
        found = PERIOD_SECONDS.get(period) if sep else None
        return found[0] if found is not None else None

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``ping``/``pong``, ``sub``/``unsub`` (one acknowledgement per topic) and ``req`` refreshes."""
        s = cast(HtxSession, session)
        msg = request_of(text)
        if msg is None:
            return Control(error_reply("not json string", None, now_ms))
        req_id = msg.get("id")
        if "pong" in msg:
            s.pong(msg["pong"])
            return Control(None)
        if "ping" in msg:
            value = msg["ping"]
            if type(value) is not int:
                return Control(error_reply("invalid ping", req_id, now_ms))
            return Control(gz({"pong": value}))
        verb = next((v for v in ("sub", "unsub", "req") if v in msg), None)
        topics = msg.get(verb) if verb is not None else None
        if isinstance(topics, str):
            topics = [topics]
        if verb is None or not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
            return Control(error_reply("invalid topic", req_id, now_ms))
        if verb == "req":
            return Control(self._refresh(s.route, topics[0], req_id, markets, now_ms))
        replies: list[str | bytes] = []
        changed: list[str] = []
        for topic in topics:
            if verb == "unsub":
                if topic not in s.streams:
                    replies.append(error_reply("unsub with not subbed topic", req_id, now_ms))
                    continue
                replies.append(gz({"id": req_id, "status": "ok", "unsubbed": topic, "ts": now_ms}))
                changed.append(topic)
                continue
            market = self._served(s.route, topic, markets)
            if market is None:
                replies.append(error_reply(f"invalid topic {topic}", req_id, now_ms))
                continue
            replies.append(gz({"id": req_id, "status": "ok", "subbed": topic, "ts": now_ms}))
            if topic not in s.streams:
                changed.append(topic)
        if verb == "unsub":
            return Control(replies[0], unsubscribe=changed, frames=replies[1:])
        return Control(replies[0], subscribe=changed, frames=replies[1:])

    def _served(self, route: str, topic: str, markets: Mapping[str, SymbolMarket]) -> HtxMarket | None:
        """The market a topic names if HTX serves it on this path (MBP views start tracking it)."""
        family, _, rest = topic.partition(".")
        native, _, channel = rest.partition(".")
        market = markets.get(native)
        channels = _FEED_CHANNELS if route == "feed" else _WS_CHANNELS
        if family != "market" or channel not in channels or not isinstance(market, HtxMarket):
            return None
        if route == "feed":
            market.view(topic, int(channel[4:]), market.last_id)
        return market

    def _refresh(self, route: str, topic: str, req_id: Any, markets: Mapping[str, SymbolMarket], now_ms: int) -> bytes:
        """The ``req`` refresh of an MBP topic: the feed's book and its ``seqNum``."""
        market = self._served(route, topic, markets)
        if market is None:
            return error_reply(f"invalid topic {topic}", req_id, now_ms)
        view = market.views[topic]
        bids, asks = view.levels()
        px, sz = market.px, market.sz
        data = {"seqNum": view.seq, "bids": [[px(p), sz(q)] for p, q in bids]}
        data["asks"] = [[px(p), sz(q)] for p, q in asks]
        return gz({"id": req_id, "rep": topic, "status": "ok", "ts": now_ms, "data": data})

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """MBP increments, whole books, best bid/offer, ticker, trades and klines of one market step."""
        market = self._markets[spec.native]
        native = spec.native
        t = update.time_ms
        px, sz = market.px, market.sz
        out: list[Message] = []
        for stream, view in market.views.items():
            bids, asks = view.advance(market, update)
            if bids or asks:
                prev, view.seq = view.seq, market.last_id
                if stream in subscribed:
                    tick: dict[str, Any] = {"seqNum": view.seq, "prevSeqNum": prev}
                    tick["bids"] = [[px(p), sz(q)] for p, q in bids]
                    tick["asks"] = [[px(p), sz(q)] for p, q in asks]
                    out.append(Message(stream, gz({"ch": stream, "ts": t, "tick": tick}), native))
            elif view.depth > 20 and stream in subscribed:
                # The 150/400-level feeds push two blank sides when nothing changed.
                blank = {"seqNum": view.seq, "prevSeqNum": view.seq, "bids": [], "asks": []}
                out.append(Message(stream, gz({"ch": stream, "ts": t, "tick": blank})))
        topic = f"market.{native}."
        if update.first_id is not None and topic + "depth.step0" in subscribed:
            out.append(self._whole_book(market, topic + "depth.step0", t))
        if update.bbo_changed and topic + "bbo" in subscribed:
            b, bq, a, aq = update.best
            best: dict[str, Any] = {
                "seqId": update.last_id,
                "ask": px(a),
                "askSize": sz(aq),
                "bid": px(b),
                "bidSize": sz(bq),
            }
            best |= {"quoteTime": t, "symbol": native}
            out.append(Message(topic + "bbo", gz({"ch": topic + "bbo", "ts": t + 1, "tick": best})))
        if (update.fills or update.bbo_changed) and topic + "ticker" in subscribed:
            out.append(Message(topic + "ticker", self._ticker(market, topic + "ticker", update)))
        if update.fills and topic + "trade.detail" in subscribed:
            out.append(Message(topic + "trade.detail", self._trades(market, topic + "trade.detail", update)))
        for candle, _closed in update.candles:
            stream = f"{topic}kline.{_INTERVAL_PERIOD.get(candle.interval)}"
            if stream in subscribed:
                out.append(Message(stream, self._kline(market, stream, candle, t)))
        return out

    def _whole_book(self, market: HtxMarket, stream: str, t: int) -> Message:
        bids, asks = market.levels(150)
        px, sz = market.px, market.sz
        tick: dict[str, Any] = {"bids": [[px(p), sz(q)] for p, q in bids], "asks": [[px(p), sz(q)] for p, q in asks]}
        tick |= {"version": market.last_id, "ts": t}
        return Message(stream, gz({"ch": stream, "ts": t + 2, "tick": tick}))

    def _ticker(self, m: HtxMarket, stream: str, update: Update) -> bytes:
        b, bq, a, aq = update.best
        last = update.fills[-1] if update.fills else None
        tick = {
            "open": m.px(m.day.open_ticks),
            "high": m.px(m.day.high),
            "low": m.px(m.day.low),
            "close": m.px(m.last_price),
            "amount": m.sz(m.day.lots),
            "vol": round(m.day.counter_volume, 8),
            "count": m.day.fills,
            "bid": m.px(b),
            "bidSize": m.sz(bq),
            "ask": m.px(a),
            "askSize": m.sz(aq),
            "lastPrice": m.px(m.last_price),
            "lastSize": m.sz(last.lots) if last is not None else 0.0,
        }
        return gz({"ch": stream, "ts": update.time_ms, "tick": tick})

    def _trades(self, m: HtxMarket, stream: str, update: Update) -> bytes:
        data = [
            {
                # The legacy id: a number past 64 bits, printed with an exponent.
                "id": f.agg_id * 1.0e16 + 0.5e16,
                "ts": f.time_ms,
                "tradeId": 100_000_000_000 + f.agg_id,
                "amount": m.sz(f.lots),
                "price": m.px(f.ticks),
                "direction": "sell" if f.buyer_maker else "buy",
            }
            for f in update.fills
        ]
        tick = {"id": update.last_id, "ts": update.time_ms, "data": data}
        return gz({"ch": stream, "ts": update.time_ms + 2, "tick": tick})

    def _kline(self, m: HtxMarket, stream: str, c: CandleState, t: int) -> bytes:
        tick = {
            "id": c.start_ms // 1000,
            "open": m.px(c.open),
            "close": m.px(c.close),
            "low": m.px(c.low),
            "high": m.px(c.high),
            "amount": m.sz(c.lots),
            "vol": round(c.counter_volume, 8),
            "count": c.trades,
        }
        return gz({"ch": stream, "ts": t, "tick": tick})

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The book a client of ``mbp.<depth>`` (default 150) holds, and that feed's ``seqNum``."""
        levels = DEFAULT_LEVELS if depth is None else depth
        if levels not in MBP_LEVELS or not isinstance(market, HtxMarket):
            raise UsageError(f"htx serves no mbp.{depth}; use one of {MBP_LEVELS}")
        view = market.view(f"market.{market.spec.native}.mbp.{levels}", levels, market.last_id)
        bids = {market.px(p): market.sz(q) for p, q in view.bids.items()}
        asks = {market.px(p): market.sz(q) for p, q in view.asks.items()}
        return bids, asks, view.seq

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``GET /v1/common/symbols``; anything else is HTX's 404 body."""
        if call.path != self.instruments_path or call.method != "GET":
            body = {"status": "error", "err-code": "invalid-parameter", "err-msg": f"invalid path {call.path}"}
            return RestAnswer(404, orjson.dumps(body))
        data = []
        for m in markets.values():
            spec = m.spec
            data.append(
                {
                    "base-currency": spec.base.lower(),
                    "quote-currency": spec.quote.lower(),
                    "price-precision": spec.price_decimals,
                    "amount-precision": spec.size_decimals,
                    "symbol-partition": "main",
                    "symbol": spec.native,
                    "state": "online",
                    "value-precision": 8,
                    "min-order-amt": float(spec.step_size),
                    "api-trading": "enabled",
                }
            )
        return RestAnswer(200, orjson.dumps({"status": "ok", "data": data}))

    def rate_limited(self) -> RestAnswer:
        """HTX's answer when an IP asks too often."""
        body = {"status": "error", "err-code": "too-many-request", "err-msg": "Too many requests", "data": None}
        return RestAnswer(429, orjson.dumps(body))

    # -- faults ---------------------------------------------------------------------------------

    def frame_codec(self) -> tuple[Any, Any]:
        """``(inflate, deflate)``: every HTX frame is gzip JSON."""
        return inflate, deflate

    def malformed(self) -> bytes:
        """An MBP increment cut off mid-object, compressed as HTX sends it."""
        return deflate(b'{"ch":"market.btcusdt.mbp.150","ts":1630994555540,"tick":{"seqNum":1370052')

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """HTX-shaped frames of ``spec`` with impossible values; a client must reject each one."""
        return spot_hostile(spec, now_ms)
