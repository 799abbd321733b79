"""Crypto.com Exchange API v1 market data over the neutral market: the simulator's wire format.

Everything follows ``shared/exchanges/cryptocom.md``:

- one websocket path, ``/exchange/v1/market``; requests are ``{"id":..,"method":"subscribe",
  "params":{"channels":[...],"book_subscription_type":..,"book_update_frequency":..},"nonce":..}``
  answered ``{"id":..,"method":"subscribe","code":0}``, then the first data of each channel
  (the book snapshot, the last 50 trades, the ticker, the forming bar, mark/index/funding)
  with the request's id; later pushes carry ``"id":-1``. Refusals: ``40003 INVALID_REQUEST``
  (unknown channel, instrument, depth or frequency), ``40107 EXCEED_MAX_SUBSCRIPTIONS`` past
  400 channels, ``40102 INVALID_NONCE`` for a nonce more than 60 s off, ``40002
  METHOD_NOT_FOUND``; a request without ``method`` gets ``"id":-1,"method":"ERROR"`` with
  the request in ``original``. Subscribing a channel again sends its first data again.
- ``book.{instrument}.{10|50}``: with ``SNAPSHOT_AND_UPDATE`` a snapshot, then ``book.update``
  deltas of the published depth (a level leaving it is sent with size 0) whose ``pu`` is the
  previous push's ``u``, and an empty delta after 5 s without a change; with ``SNAPSHOT`` (the
  default) a whole ``book`` whenever it changed.
- ``public/heartbeat`` every :attr:`CryptocomWire.heartbeat_interval` seconds; a connection
  that has not answered ``public/respond-heartbeat`` with its id within
  :attr:`CryptocomWire.heartbeat_timeout` is closed with code 1000 ("Normal disconnection by
  server, usually when the heartbeat isn't handled properly") at the next heartbeat.
- REST ``public/get-instruments`` and ``public/get-book`` below ``/exchange/v1``.

Faults: ``GAP`` withholds the next ``book.update`` of one instrument (the following one's ``pu``
does not match, and a correct client subscribes again); books carry no documented checksum.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import orjson

from ...errors import UnknownExchange
from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat, dumps
from .sim_market import (
    DEFAULT_DEPTH,
    BookView,
    CryptocomMarket,
    candle_item,
    cryptocom_spec,
    hostile_frames,
    listed,
    push,
    ticker_item,
    trade_items,
)

__all__ = ["DEFAULT_DEPTH", "CryptocomSession", "CryptocomWire"]

_DEPTHS = (10, 50)
_MAX_SUBSCRIPTIONS = 400
_SNAPSHOT = "#snapshot"  # stream suffix of a SNAPSHOT-mode book subscription
_HEARTBEAT_DELTA_MS = 5_000  # "empty delta in the case of no book changes" after 5 s
_TIME_FRAMES = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "2h": "2h"}
_TIME_FRAMES |= {"4h": "4h", "12h": "12h", "1D": "1d"}
_SILENT_FRAMES = frozenset({"7D", "14D", "1M"})  # accepted; the model aggregates nothing longer than a day
_TIME_FRAME_OF = {model: frame for frame, model in _TIME_FRAMES.items()}
_NAMED = ("trade", "ticker", "mark", "funding", "estimatedfunding", "settlement")


class CryptocomSession(Session):
    """A connection's subscriptions and its heartbeat: the id awaiting an answer and since when."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.pending: tuple[int, int] | None = None  # (heartbeat id, sent at ms)


class CryptocomWire(WireFormat):
    """Crypto.com Exchange v1 market data for the ``cryptocom`` exchange id (spot, perpetuals, futures)."""

    default_ws = "wss://stream.crypto.com"
    default_rest = "https://api.crypto.com"
    endpoint_path = "/exchange/v1/market"
    instruments_path = "/exchange/v1/public/get-instruments"
    heartbeat_interval: float | None = 30.0
    """ "Heartbeat sent by server every 30s". """
    heartbeat_timeout: float = 5.0
    """ "client must respond with public/respond-heartbeat within 5 seconds". """

    def __init__(self, exchange: str = "cryptocom") -> None:
        if exchange != "cryptocom":
            raise UnknownExchange(f"the Crypto.com wire format serves 'cryptocom', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, CryptocomMarket] = {}
        self._index_owner: dict[str, str] = {}  # index name -> the market key that publishes it

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated instrument: ``BTC/USDT`` spot, ``BTC/USD:USD`` perpetual, ``BTC/USD:USD-250926`` future."""
        return cryptocom_spec(symbol, seed)

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`CryptocomMarket`; the wire remembers it to answer subscribes and REST."""
        rng = random.Random(f"{seed}:cryptocom:{spec.native}")
        market = CryptocomMarket(spec, rng, depth=depth, start_id=10**11 + rng.randrange(10**10))
        self._markets[spec.native] = market
        if market.index:
            self._index_owner.setdefault(market.index, spec.native)
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``exchange/v1/market`` is the one market-data path."""
        return "market" if path.strip("/") == "exchange/v1/market" else None

    def stream_route(self, stream: str) -> str:
        """Every channel is served on the one market-data path."""
        return "market"

    def open(self, route: str) -> Session:
        """A :class:`CryptocomSession`."""
        return CryptocomSession(route)

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """A delta book request for ``book.{native}.50`` and one for trades, tickers and candles."""
        frame = _TIME_FRAME_OF.get(interval, "1m")
        books = [f"book.{s.native}.{DEFAULT_DEPTH}" for s in specs]
        others = [
            c for s in specs for c in (f"trade.{s.native}", f"ticker.{s.native}", f"candlestick.{frame}.{s.native}")
        ]
        params = {"channels": books, "book_subscription_type": "SNAPSHOT_AND_UPDATE", "book_update_frequency": 10}
        return {
            "market": [
                dumps({"id": 1, "method": "subscribe", "params": params}),
                dumps({"id": 2, "method": "subscribe", "params": {"channels": others}}),
            ]
        }

    def wanted_intervals(self, stream: str) -> str | None:
        """``candlestick.1m.BTC_USDT`` -> ``1m``."""
        parts = stream.split(".")
        return _TIME_FRAMES.get(parts[1]) if len(parts) == 3 and parts[0] == "candlestick" else None

    def stream_book_key(self, stream: str) -> str | None:
        """``book.BTC_USDT.50`` (a delta subscription) -> ``BTC_USDT``."""
        parts = stream.split(".")
        return parts[1] if len(parts) == 3 and parts[0] == "book" and parts[2].isdigit() else None

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """``public/heartbeat``; a connection that left the previous one unanswered is closed (1000)."""
        assert isinstance(session, CryptocomSession)
        if session.pending is not None and now_ms - session.pending[1] > self.heartbeat_timeout * 1000:
            session.close_code = 1000
            return []
        if session.pending is None:
            session.pending = (now_ms, now_ms)
        return [dumps({"id": session.pending[0], "method": "public/heartbeat", "code": 0})]

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer subscribe, unsubscribe and heartbeat answers (see the module docstring)."""
        assert isinstance(session, CryptocomSession)
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            # "if the id and method is omitted ... id -1 and method ERROR"; the request echoed.
            return Control(_error(-1, "ERROR", 40001, "BAD_REQUEST", original=text))
        method = msg["method"]
        req_id = msg.get("id", -1)
        req_id = req_id if isinstance(req_id, int) and not isinstance(req_id, bool) else -1
        if method == "public/respond-heartbeat":
            if session.pending is not None and req_id == session.pending[0]:
                session.pending = None
            return Control(None)
        if method not in ("subscribe", "unsubscribe"):
            return Control(_error(req_id, method, 40002, "METHOD_NOT_FOUND"))
        nonce = msg.get("nonce")
        if nonce is not None and (not str(nonce).isdigit() or abs(int(nonce) - now_ms) > 60_000):
            return Control(_error(req_id, method, 40102, "INVALID_NONCE"))
        params = msg.get("params")
        channels = params.get("channels") if isinstance(params, dict) else None
        if not isinstance(channels, list) or not channels or not all(isinstance(c, str) for c in channels):
            return Control(_error(req_id, method, 40004, "MISSING_OR_INVALID_ARGUMENT"))
        assert isinstance(params, dict)
        mode = _book_mode(params)
        if mode is None:
            return Control(_error(req_id, method, 40003, "INVALID_REQUEST"))
        streams = [self._stream(c, mode, markets) for c in channels]
        if any(s is None for s in streams):
            return Control(_error(req_id, method, 40003, "INVALID_REQUEST"))
        named = [s for s in streams if s is not None]
        ack = dumps({"id": req_id, "method": method, "code": 0})
        if method == "unsubscribe":
            gone = [s for s in session.streams if s.partition(_SNAPSHOT)[0] in channels]
            return Control(ack, unsubscribe=gone)
        if len(set(session.streams) | set(named)) > _MAX_SUBSCRIPTIONS:
            return Control(_error(req_id, method, 40107, "EXCEED_MAX_SUBSCRIPTIONS"))
        frames: list[str | bytes] = []
        for stream in named:
            frames.extend(self._first_data(stream, req_id, now_ms))
        return Control(ack, subscribe=named, frames=frames)

    def _stream(self, channel: str, mode: str, markets: Mapping[str, SymbolMarket]) -> str | None:
        """The stream a channel names, or ``None`` when Crypto.com would refuse it."""
        parts = channel.split(".")
        kind = parts[0]
        if kind == "index" and len(parts) == 2:
            return channel if parts[1] in self._index_owner else None
        if kind == "book" and len(parts) == 3:
            if parts[1] not in markets or not parts[2].isdigit() or int(parts[2]) not in _DEPTHS:
                return None
            return channel if mode == "SNAPSHOT_AND_UPDATE" else channel + _SNAPSHOT
        if kind == "candlestick" and len(parts) == 3:
            known = parts[1] in _TIME_FRAMES or parts[1] in _SILENT_FRAMES
            return channel if known and parts[2] in markets else None
        market = self._markets.get(parts[1]) if len(parts) == 2 and kind in _NAMED else None
        if market is None or (kind not in ("trade", "ticker") and not market.derivative):
            return None
        dated = market.spec.expiry is not None
        # Funding is paid on perpetuals; settlement prices are those of dated futures.
        if (kind in ("funding", "estimatedfunding") and dated) or (kind == "settlement" and not dated):
            return None
        return channel

    def _first_data(self, stream: str, req_id: int, now_ms: int) -> list[str | bytes]:
        """What a new subscription receives first (with the request's id)."""
        channel = stream.partition(_SNAPSHOT)[0]
        parts = channel.split(".")
        kind = parts[0]
        if kind == "index":
            market = self._markets[self._index_owner[parts[1]]]
            data = [{"v": market.mid_text(0.0002), "t": now_ms}]
            return [push(parts[1], channel, "index", data, req_id=req_id)]
        market = self._markets[parts[2] if kind == "candlestick" else parts[1]]
        spec = market.spec
        if kind == "book":
            view = market.view(int(parts[2]))
            view.advance(market)
            return [self._book(market, view, "book", channel, [], [], 0, now_ms, req_id)]
        if kind == "trade":
            return [push(spec.native, channel, "trade", trade_items(spec, market.history), req_id=req_id)]
        if kind == "ticker":
            return [push(spec.native, channel, "ticker", [ticker_item(market, now_ms)], req_id=req_id)]
        if kind in ("candlestick", "settlement"):
            return []  # the forming bar follows with the next trade; settlements come at expiry
        return [self._derivative(market, kind, channel, now_ms, req_id)]

    # -- pushes ---------------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: book deltas/snapshots per subscribed depth, ticker, trades, candles, derivatives."""
        market = self._markets[spec.native]
        native = spec.native
        out: list[Message] = []
        time_ms = update.time_ms
        for depth in _DEPTHS:
            channel = f"book.{native}.{depth}"
            deltas, snapshots = channel in subscribed, channel + _SNAPSHOT in subscribed
            if not (deltas or snapshots):
                continue
            view = market.view(depth)
            previous = view.u
            bids, asks = view.advance(market)
            if not (bids or asks):
                if not deltas or time_ms - view.sent_ms < _HEARTBEAT_DELTA_MS or market.last_id <= previous:
                    continue
                view.u = market.last_id  # "sequence housekeeping": the book changed outside the depth
            view.sent_ms = time_ms
            if deltas:
                text = self._book(market, view, "book.update", channel, bids, asks, previous, time_ms, -1)
                out.append(Message(channel, text, native))
            if snapshots and (bids or asks):
                out.append(
                    Message(channel + _SNAPSHOT, self._book(market, view, "book", channel, [], [], 0, time_ms, -1))
                )
        ticker = f"ticker.{native}"
        if ticker in subscribed and (update.fills or update.bbo_changed):
            out.append(Message(ticker, push(native, ticker, "ticker", [ticker_item(market, time_ms)])))
        trade = f"trade.{native}"
        if update.fills and trade in subscribed:
            out.append(Message(trade, push(native, trade, "trade", trade_items(spec, update.fills))))
        for candle, closed in update.candles:
            stream = f"candlestick.{_TIME_FRAME_OF.get(candle.interval)}.{native}"
            if not closed and stream in subscribed:
                # A bar is pushed while it forms; no push says it is final.
                data = [candle_item(spec, candle)]
                frame = stream.split(".")[1]
                out.append(Message(stream, push(native, stream, "candlestick", data, interval=frame)))
        if market.derivative and time_ms // 1000 != market.second:
            market.second = time_ms // 1000  # mark, index and funding are published once a second
            for kind in ("mark", "funding", "estimatedfunding"):
                stream = f"{kind}.{native}"
                if stream in subscribed and (kind == "mark" or spec.expiry is None):
                    out.append(Message(stream, self._derivative(market, kind, stream, time_ms, -1)))
            index = f"index.{market.index}"
            if index in subscribed and self._index_owner.get(market.index) == native:
                data = [{"v": market.mid_text(0.0002), "t": time_ms}]
                out.append(Message(index, push(market.index, index, "index", data)))
        return out

    def _book(
        self,
        market: CryptocomMarket,
        view: BookView,
        channel: str,
        subscription: str,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        previous: int,
        time_ms: int,
        req_id: int,
    ) -> str:
        spec = market.spec
        price, size = spec.price, spec.size
        if channel == "book":
            bid_levels = sorted(view.bids.items(), reverse=True)
            ask_levels = sorted(view.asks.items())
            item: dict[str, Any] = {
                "asks": [[price(p), size(q), "1"] for p, q in ask_levels],
                "bids": [[price(p), size(q), "1"] for p, q in bid_levels],
                "t": time_ms,
                "tt": time_ms - 3,
                "u": view.u,
            }
        else:
            # Removals carry 0 orders; "Number of Orders currently returns 0" otherwise too.
            sides = {
                "asks": [[price(p), size(q), "0"] for p, q in asks],
                "bids": [[price(p), size(q), "0"] for p, q in bids],
            }
            item = {"update": sides, "t": time_ms, "tt": time_ms - 3, "u": view.u, "pu": previous}
        return push(spec.native, subscription, channel, [item], req_id=req_id, depth=view.depth)

    def _derivative(self, market: CryptocomMarket, kind: str, stream: str, time_ms: int, req_id: int) -> str:
        if kind == "mark":
            value = market.mid_text()
        elif kind == "funding":
            value = f"{market.funding_rate():.8f}"
        else:
            value = f"{market.funding_rate() * 0.9:.8f}"
        return push(market.spec.native, stream, kind, [{"v": value, "t": time_ms}], req_id=req_id)

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The published ``book.{native}.{depth}`` (default 50) and the ``u`` of its last push."""
        assert isinstance(market, CryptocomMarket)
        view = market.view(DEFAULT_DEPTH if depth is None else depth)
        spec = market.spec
        bids = {float(spec.price(p)): float(spec.size(q)) for p, q in view.bids.items()}
        asks = {float(spec.price(p)): float(spec.size(q)) for p, q in view.asks.items()}
        return bids, asks, view.u

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``public/get-instruments`` and ``public/get-book``; errors as ``code`` in the body."""
        method = call.path.removeprefix("/exchange/v1/")
        if method == "public/get-instruments":
            data = [listed(m.spec) for m in markets.values()]
            return _answer(method, {"data": data})
        if method == "public/get-book":
            market = markets.get(call.query.get("instrument_name", ""))
            depth = call.query.get("depth", "50")
            if not isinstance(market, CryptocomMarket) or not depth.isdigit() or not 1 <= int(depth) <= 50:
                return RestAnswer(
                    400, dumps({"id": 1, "method": method, "code": 40003, "message": "INVALID_REQUEST"}).encode()
                )
            bids, asks = market.levels(int(depth))
            spec = market.spec
            item = {
                "asks": [[spec.price(p), spec.size(q), "0"] for p, q in asks],
                "bids": [[spec.price(p), spec.size(q), "0"] for p, q in bids],
                "t": now_ms,
            }
            return _answer(method, {"depth": int(depth), "data": [item]})
        return RestAnswer(
            400, dumps({"id": 1, "method": method, "code": 40002, "message": "METHOD_NOT_FOUND"}).encode()
        )

    def rate_limited(self) -> RestAnswer:
        """``42901 TOO_MANY_REQUESTS``."""
        return RestAnswer(429, dumps({"id": 1, "method": "", "code": 42901, "message": "TOO_MANY_REQUESTS"}).encode())

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book delta cut off mid-object."""
        return '{"id":-1,"method":"subscribe","code":0,"result":{"instrument_name":"BTC'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Crypto.com-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        return hostile_frames(spec, now_ms)


def _book_mode(params: dict[str, Any]) -> str | None:
    """The book subscription type of a request, or ``None`` for an impossible type or frequency."""
    mode = params.get("book_subscription_type", "SNAPSHOT")
    frequency = params.get("book_update_frequency")
    if mode == "SNAPSHOT_AND_UPDATE":
        return mode if frequency in (None, 10, 100, "10", "100") else None
    # "snapshot-100 ms removed 2025-03-06; requests for it get 500".
    return mode if mode == "SNAPSHOT" and frequency in (None, 100, 500, "100", "500") else None


def _error(req_id: int, method: str, code: int, message: str, *, original: str | None = None) -> str:
    body: dict[str, Any] = {"id": req_id, "method": method, "code": code, "message": message}
    if original is not None:
        body["original"] = original
    return dumps(body)


def _answer(method: str, result: dict[str, Any]) -> RestAnswer:
    return RestAnswer(200, orjson.dumps({"id": 1, "method": method, "code": 0, "result": result}))
