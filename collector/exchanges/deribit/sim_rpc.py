"""The JSON-RPC side of the simulated Deribit websocket: requests, replies, errors and heartbeats.

Requests ``{"jsonrpc":"2.0","id":N,"method":...,"params":{...}}`` get ``{"jsonrpc":"2.0","id":N,
"result":...,"usIn":...,"usOut":...,"usDiff":...,"testnet":false}`` or an ``error``: ``-32700``
not JSON, ``-32600`` not a request, ``-32601`` unknown method, ``-32602`` invalid params,
``13009`` unauthorized (``private/subscribe``: the simulator authenticates nobody).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeAlias

import orjson

from ...simulator.market import SymbolMarket
from ...simulator.wire import Control, Session
from .sim_market import DeribitMarket, book_levels

__all__ = [
    "INTERVALS",
    "RESOLUTIONS",
    "DeribitSession",
    "RpcMethods",
    "call_text",
    "notification",
    "rpc_error",
    "rpc_result",
]

INTERVALS = ("100ms", "agg2")
"""Intervals served: "raw" needs an authorized session, which the simulator has none of."""
RESOLUTIONS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h", "120": "2h"}
RESOLUTIONS |= {"360": "6h", "720": "12h", "1D": "1d"}
"""``chart.trades`` resolutions served -> the model's candle interval (10 and 180 it does not aggregate)."""

_VERSION = "1.2.26"
_TEST_EVERY = 5  # heartbeats per test_request


def notification(channel: str, data: str) -> str:
    """A subscription notification with ``data`` (JSON text) for ``channel``."""
    return f'{{"jsonrpc":"2.0","method":"subscription","params":{{"channel":"{channel}","data":{data}}}}}'


class DeribitSession(Session):
    """A connection: its streams, whether it asked for heartbeats, and its unanswered test requests."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.heartbeat = False
        self.beats = 0
        self.unanswered = 0


Method: TypeAlias = Callable[[DeribitSession, Any, dict[str, Any], Mapping[str, SymbolMarket], int], Control]
"""``method(session, request id, params, markets, now_ms)``."""


class RpcMethods:
    """The JSON-RPC methods of :class:`~collector.exchanges.deribit.sim.DeribitWire` (a mixin of it)."""

    tests_answered: int
    _rpc: dict[str, Method]

    def _methods(self) -> dict[str, Method]:
        return {
            "public/subscribe": self._subscribe,
            "public/unsubscribe": self._unsubscribe,
            "public/unsubscribe_all": self._unsubscribe_all,
            "public/set_heartbeat": self._set_heartbeat,
            "public/disable_heartbeat": self._disable_heartbeat,
            "public/test": self._test,
            "public/get_time": self._time,
        }

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer one JSON-RPC request (see the module docstring)."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(rpc_error(None, -32700, "Parse error", now_ms))
        if not isinstance(msg, dict) or not isinstance(msg.get("method"), str):
            return Control(rpc_error(None, -32600, "Invalid Request", now_ms))
        rid = msg.get("id")
        params = msg.get("params") or {}
        method = self._rpc.get(msg["method"])
        if msg["method"] == "private/subscribe":
            return Control(rpc_error(rid, 13009, "unauthorized", now_ms))
        if method is None:
            return Control(rpc_error(rid, -32601, "Method not found", now_ms))
        if not isinstance(params, dict):
            return Control(rpc_error(rid, -32602, "Invalid params", now_ms))
        assert isinstance(session, DeribitSession)
        return method(session, rid, params, markets, now_ms)

    def _subscribe(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        channels = params.get("channels")
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            return Control(rpc_error(rid, -32602, "Invalid params", now_ms, {"param": "channels"}))
        taken = set(session.streams)
        result: list[str] = []
        added: list[str] = []
        frames: list[str | bytes] = []
        for channel in channels:
            market = self._served(channel, markets)
            if market is None:
                continue  # "invalid ones are simply missing"
            result.append(channel)
            if channel in taken:
                continue
            taken.add(channel)
            added.append(channel)
            if channel.startswith("book."):
                frames.append(notification(channel, self._snapshot(market, now_ms)))
        return Control(rpc_result(rid, result, now_ms), subscribe=added, frames=frames)

    def _served(self, channel: str, markets: Mapping[str, SymbolMarket]) -> DeribitMarket | None:
        parts = channel.split(".")
        if len(parts) == 3 and parts[0] in ("book", "trades", "ticker") and parts[2] in INTERVALS:
            native = parts[1]
        elif len(parts) == 4 and parts[:2] == ["chart", "trades"] and parts[3] in RESOLUTIONS:
            native = parts[2]
        else:
            return None
        market = markets.get(native)
        return market if isinstance(market, DeribitMarket) else None

    def _snapshot(self, market: DeribitMarket, now_ms: int) -> str:
        """The whole book, every level ``new``, at the market's last id (the ``change_id`` changes follow)."""
        bids, asks = market.levels(len(market.bids) + len(market.asks))
        return (
            f'{{"type":"snapshot","timestamp":{now_ms},"instrument_name":"{market.spec.native}",'
            f'"change_id":{market.last_id},"bids":{book_levels(market, bids, set())},'
            f'"asks":{book_levels(market, asks, set())}}}'
        )

    def _unsubscribe(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        channels = params.get("channels")
        if not isinstance(channels, list):
            return Control(rpc_error(rid, -32602, "Invalid params", now_ms, {"param": "channels"}))
        gone = [c for c in channels if isinstance(c, str) and c in session.streams]
        return Control(rpc_result(rid, gone, now_ms), unsubscribe=gone)

    def _unsubscribe_all(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        return Control(rpc_result(rid, "ok", now_ms), unsubscribe=list(session.streams))

    def _set_heartbeat(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        interval = params.get("interval")
        if not isinstance(interval, int | float) or isinstance(interval, bool) or interval < 10:
            return Control(
                rpc_error(rid, -32602, "Invalid params", now_ms, {"reason": "must be >= 10", "param": "interval"})
            )
        session.heartbeat = True
        return Control(rpc_result(rid, "ok", now_ms))

    def _disable_heartbeat(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        session.heartbeat = False
        return Control(rpc_result(rid, "ok", now_ms))

    def _test(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        if session.unanswered:
            session.unanswered -= 1
            self.tests_answered += 1
        return Control(rpc_result(rid, {"version": _VERSION}, now_ms))

    def _time(
        self,
        session: DeribitSession,
        rid: Any,
        params: dict[str, Any],
        markets: Mapping[str, SymbolMarket],
        now_ms: int,
    ) -> Control:
        return Control(rpc_result(rid, now_ms, now_ms))

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        """``heartbeat`` notifications once ``public/set_heartbeat`` was called, every fifth a ``test_request``."""
        if not isinstance(session, DeribitSession) or not session.heartbeat:
            return []
        session.beats += 1
        kind = "heartbeat"
        if session.beats % _TEST_EVERY == 0:
            kind = "test_request"
            session.unanswered += 1
        return [f'{{"jsonrpc":"2.0","method":"heartbeat","params":{{"type":"{kind}"}}}}']


def call_text(rid: int, method: str, params: dict[str, Any]) -> str:
    return orjson.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).decode()


def rpc_result(rid: Any, result: Any, now_ms: int) -> str:
    us = now_ms * 1000
    body = {"jsonrpc": "2.0", "id": rid, "result": result, "usIn": us, "usOut": us + 42, "usDiff": 42, "testnet": False}
    if rid is None:
        del body["id"]
    return orjson.dumps(body).decode()


def rpc_error(rid: Any, code: int, message: str, now_ms: int, data: dict[str, str] | None = None) -> str:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    us = now_ms * 1000
    body = {"jsonrpc": "2.0", "id": rid, "error": error, "usIn": us, "usOut": us + 42, "usDiff": 42, "testnet": False}
    return orjson.dumps(body).decode()
