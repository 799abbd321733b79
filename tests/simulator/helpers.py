"""Plain clients for the simulator tests: a websocket reader, REST calls, and an order book
kept by the documented Binance rules, written here independently of collector.book."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import orjson
import websockets

__all__ = ["RuleBook", "get", "next_stream", "recv", "subscribe"]


async def recv(ws: websockets.ClientConnection, timeout: float = 2.0) -> dict[str, Any]:
    """The next frame, decoded."""
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))  # type: ignore[no-any-return]


async def next_stream(ws: websockets.ClientConnection, suffix: str, timeout: float = 2.0) -> dict[str, Any]:
    """The ``data`` of the next frame whose stream ends with ``suffix`` (others are skipped)."""
    while True:
        msg = await recv(ws, timeout)
        if msg.get("stream", "").endswith(suffix):
            return msg["data"]  # type: ignore[no-any-return]


async def subscribe(ws: websockets.ClientConnection, streams: list[str], req_id: int = 1) -> dict[str, Any]:
    """Send SUBSCRIBE and return the acknowledgement."""
    await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": req_id}).decode())
    return await recv(ws)


async def get(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``url``: status, headers, body."""
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        return resp.status, dict(resp.headers), await resp.read()


class RuleBook:
    """A local book synced by binance.md section 7: ``futures=False`` is the spot range rule,
    ``futures=True`` the ``pu`` rule. ``feed`` diffs and ``snapshot`` once; it raises on a gap."""

    def __init__(self, futures: bool) -> None:
        self.futures = futures
        self.buffer: list[dict[str, Any]] = []
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.last: int | None = None
        self.first_done = False

    def snapshot(self, snap: dict[str, Any]) -> None:
        """Load a REST snapshot and apply the buffered diffs that follow it."""
        self.bids = {float(p): float(q) for p, q in snap["bids"]}
        self.asks = {float(p): float(q) for p, q in snap["asks"]}
        self.last = snap["lastUpdateId"]
        buffered, self.buffer = self.buffer, []
        assert buffered and buffered[0]["U"] <= self.last + 1, "snapshot older than the first buffered diff"
        for diff in buffered:
            self.feed(diff)

    def feed(self, d: dict[str, Any]) -> None:
        """Buffer before the snapshot; afterwards check continuity and apply."""
        if self.last is None:
            self.buffer.append(d)
            return
        last = self.last
        if self.futures:
            if not self.first_done:
                if d["u"] < last:  # "drop any event where u < lastUpdateId"
                    return
                assert d["U"] <= last <= d["u"], f"first event {d['U']}..{d['u']} misses {last}"
            else:
                assert d["pu"] == last, f"pu {d['pu']} != previous u {last}"
        else:
            if d["u"] <= last:  # "drop any event where u is <= lastUpdateId"
                return
            if not self.first_done:
                assert d["U"] <= last + 1 <= d["u"], f"first event {d['U']}..{d['u']} misses {last + 1}"
            else:
                assert d["U"] == last + 1, f"U {d['U']} != previous u + 1 = {last + 1}"
        self.first_done = True
        for side, levels in ((self.bids, d["b"]), (self.asks, d["a"])):
            for p, q in levels:
                if float(q) == 0.0:
                    side.pop(float(p), None)
                else:
                    side[float(p)] = float(q)
        self.last = d["u"]
