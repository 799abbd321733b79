"""The loopback load rig: a Binance-format websocket sender in its own process.

The sender must never be what a live-path benchmark measures, so it does as little per frame
as a server can: frames are encoded once, before any client connects, as complete websocket
frames laid end to end in one buffer, and written to the socket in 1 MiB slices (the kernel
copies; Python runs once per slice). A raw asyncio protocol speaks just enough of RFC 6455 for
that: the upgrade handshake, unmasked server frames, masked client frames (subscribe requests,
pings, pongs, close). Paced runs encode each frame when it is due instead, with the send time
in nanoseconds as the trade's aggregate id (``a``), so a client can measure frame sent -> event.

A REST side (aiohttp) answers ``exchangeInfo`` for the rig's symbols and ``depth`` with a
fixed snapshot (``lastUpdateId`` 1000) that the depth diffs, numbered from 1001, continue.

Start one with :func:`start` (it returns the ports and the counters the sender keeps in shared
memory) and stop it with ``process.kill()``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import multiprocessing
import random
import time
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import Synchronized
from typing import Any

import orjson

__all__ = ["COUNTERS", "Plan", "Rig", "start", "symbols"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_SLICE = 1 << 20
COUNTERS = ("connections", "subscribed", "pongs_received", "frames_sent", "closed_by_rig")
"""The sender's counters, in the order of :attr:`Rig.counters`."""


@dataclass
class Plan:
    """What the rig sends to each connection once it subscribes.

    - ``kind``: ``"trade"`` (aggTrade) or ``"depth"`` (``depth@100ms`` diffs).
    - ``frames``: a flood of this many pre-encoded frames, as fast as the socket takes them.
    - ``rate``: instead, frames per second, paced, each stamped with its send time (trades only),
      for ``seconds`` seconds.
    - ``every``: instead, one trade per connection every ``every`` seconds (many connections),
      with a server ping every ``ping_every`` seconds, and, if ``drop_every`` is set, the rig
      closes one connection (the oldest) every ``drop_every`` seconds (1006-style: no close frame).
    """

    kind: str = "trade"
    frames: int = 0
    rate: float = 0.0
    seconds: float = 0.0
    every: float = 0.0
    ping_every: float = 20.0
    drop_every: float = 0.0
    symbols: int = 1
    delay: float = 0.3


@dataclass
class Rig:
    """A running sender: its process, ports and counters."""

    process: multiprocessing.process.BaseProcess
    ws_port: int
    rest_port: int
    counters: Any = field(repr=False)

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}"

    @property
    def rest(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    def count(self, name: str) -> int:
        return int(self.counters[COUNTERS.index(name)])


def symbols(n: int) -> list[str]:
    """The rig's native symbols: ``BTCUSDT`` first, then ``S1USDT`` ..."""
    return ["BTCUSDT", *(f"S{i}USDT" for i in range(1, n))]


def start(plan: Plan) -> Rig:
    """Spawn the sender for ``plan`` and wait until it listens."""
    ctx = multiprocessing.get_context("spawn")
    counters = ctx.Array("q", len(COUNTERS), lock=False)
    ports: Any = ctx.Queue()
    process = ctx.Process(target=_main, args=(plan, counters, ports), daemon=True)
    process.start()
    ws_port, rest_port = ports.get(timeout=60)
    return Rig(process, ws_port, rest_port, counters)


# -- frames ----------------------------------------------------------------------------------------


def _header(size: int, opcode: int = 0x1) -> bytes:
    if size < 126:
        return bytes((0x80 | opcode, size))
    if size < 1 << 16:
        return bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big")
    return bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big")


def _framed(payload: bytes, opcode: int = 0x1) -> bytes:
    return _header(len(payload), opcode) + payload


_TRADE = (
    b'{"stream":"%s@aggTrade","data":{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s",'
    b'"q":"%s","f":%d,"l":%d,"T":%d,"m":%s,"M":true}}'
)


def _trade(symbol: str, i: int, ms: int, aid: int | None = None) -> bytes:
    price = b"%.2f" % (60000 + (i % 200) * 0.5)
    size = b"%.5f" % (0.001 + (i % 17) * 0.0003)
    s = symbol.encode()
    side = b"true" if i & 1 else b"false"
    return _TRADE % (s.lower(), ms, s, i if aid is None else aid, price, size, i, i, ms, side)


def _depth(symbol: str, i: int, ms: int, rng: random.Random) -> bytes:
    """Diff ``i`` (``U = u = 1001 + i``): two to four levels a side, some removed (size 0)."""

    def side(base: float, sign: int) -> list[list[str]]:
        out = []
        for _ in range(rng.randint(2, 4)):
            price = base + sign * rng.randint(1, 400) * 0.25
            size = 0.0 if rng.random() < 0.25 else rng.randint(1, 5000) / 1000
            out.append([f"{price:.2f}", f"{size:.3f}"])
        return out

    u = 1001 + i
    data = {"e": "depthUpdate", "E": ms, "s": symbol, "U": u, "u": u, "b": side(59999.75, -1), "a": side(60000.25, 1)}
    return orjson.dumps({"stream": f"{symbol.lower()}@depth@100ms", "data": data})


def flood(plan: Plan, symbol: str = "BTCUSDT") -> list[bytes]:
    """``plan.frames`` frames of ``plan.kind`` as websocket frames, in writes of about ``_SLICE`` bytes.

    Each write ends on a frame boundary: a pong the server sends between two writes must not
    land inside a frame.
    """
    rng = random.Random(7)
    ms = 1_700_000_000_000
    make = (lambda i: _trade(symbol, i, ms + i)) if plan.kind == "trade" else (lambda i: _depth(symbol, i, ms, rng))
    writes: list[bytes] = []
    pending: list[bytes] = []
    size = 0
    for i in range(plan.frames):
        frame = _framed(make(i))
        pending.append(frame)
        size += len(frame)
        if size >= _SLICE:
            writes.append(b"".join(pending))
            pending, size = [], 0
    if pending:
        writes.append(b"".join(pending))
    return writes


def _snapshot() -> bytes:
    bids = [[f"{59999.75 - k * 0.25:.2f}", "1.000"] for k in range(1000)]
    asks = [[f"{60000.25 + k * 0.25:.2f}", "1.000"] for k in range(1000)]
    return orjson.dumps({"lastUpdateId": 1000, "bids": bids, "asks": asks})


def _exchange_info(n: int) -> bytes:
    filters = [{"filterType": "PRICE_FILTER", "tickSize": "0.01"}, {"filterType": "LOT_SIZE", "stepSize": "0.00001"}]
    rows = [
        {"symbol": s, "baseAsset": s[:-4], "quoteAsset": "USDT", "status": "TRADING", "filters": filters}
        for s in symbols(n)
    ]
    return orjson.dumps({"symbols": rows, "rateLimits": []})


# -- the server ------------------------------------------------------------------------------------


class _Conn(asyncio.Protocol):
    """One client: handshake, then client frames in and the plan's frames out."""

    def __init__(self, server: _Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.open = False
        self.transport: asyncio.Transport | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.streams: list[str] = []
        self.since = time.monotonic()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not an asyncio.Transport subclass
        transport.set_write_buffer_limits(high=4 * _SLICE)

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        if self.open:
            self.open = False
            self.server.lost(self)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.open:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buffer[:end]).decode("latin-1")
            del self.buffer[: end + 4]
            key = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in head.split("\r\n")
                    if line.lower().startswith("sec-websocket-key:")
                ),
                "",
            )
            accept = base64.b64encode(hashlib.sha1(key.encode() + _GUID).digest()).decode()
            assert self.transport is not None
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
            )
            self.open = True
            self.server.opened(self)
        while self._one_frame():
            pass

    def _one_frame(self) -> bool:
        b = self.buffer
        if len(b) < 2:
            return False
        opcode, size, p = b[0] & 0x0F, b[1] & 0x7F, 2
        if size == 126:
            if len(b) < 4:
                return False
            size, p = int.from_bytes(b[2:4], "big"), 4
        elif size == 127:
            if len(b) < 10:
                return False
            size, p = int.from_bytes(b[2:10], "big"), 10
        masked = b[1] & 0x80
        if len(b) < p + (4 if masked else 0) + size:
            return False
        mask = bytes(b[p : p + 4]) if masked else b"\0\0\0\0"
        p += 4 if masked else 0
        payload = bytes(x ^ mask[k & 3] for k, x in enumerate(b[p : p + size]))
        del b[: p + size]
        self._frame(opcode, payload)
        return True

    def _frame(self, opcode: int, payload: bytes) -> None:
        assert self.transport is not None
        if opcode == 0x9:  # ping
            self.transport.write(_framed(payload, 0xA))
        elif opcode == 0xA:
            self.server.count("pongs_received")
        elif opcode == 0x8:
            self.transport.write(_framed(payload[:2], 0x8))
            self.transport.close()
        elif opcode == 0x1:
            request = orjson.loads(payload)
            if request.get("method") == "SUBSCRIBE":
                self.streams += request.get("params", [])
                self.transport.write(_framed(orjson.dumps({"result": None, "id": request.get("id")})))
                self.server.subscribed(self)

    async def write(self, data: bytes | memoryview) -> bool:
        """Write ``data``, waiting while the socket's buffer is full; ``False`` once closed."""
        await self.writable.wait()
        if not self.open or self.transport is None or self.transport.is_closing():
            return False
        self.transport.write(data)
        return True


class _Server:
    def __init__(self, plan: Plan, counters: Any) -> None:
        self.plan = plan
        self.counters = counters
        self.conns: list[_Conn] = []
        self.writes = flood(plan) if plan.frames else []
        self.tasks: set[asyncio.Future[None]] = set()

    def count(self, name: str, n: int = 1) -> None:
        self.counters[COUNTERS.index(name)] += n

    def opened(self, conn: _Conn) -> None:
        self.conns.append(conn)
        self.count("connections")

    def lost(self, conn: _Conn) -> None:
        self.conns.remove(conn)
        self.count("connections", -1)

    def subscribed(self, conn: _Conn) -> None:
        self.count("subscribed")
        if self.plan.frames:
            self.tasks.add(asyncio.ensure_future(self._flood(conn)))
        elif self.plan.rate:
            self.tasks.add(asyncio.ensure_future(self._paced(conn)))

    async def _flood(self, conn: _Conn) -> None:
        await asyncio.sleep(self.plan.delay)
        for data in self.writes:
            if not await conn.write(data):
                return
        self.count("frames_sent", self.plan.frames)

    async def _paced(self, conn: _Conn) -> None:
        """``plan.rate`` trades a second, each written when due with its send time as its id."""
        await asyncio.sleep(self.plan.delay)
        rate, begin = self.plan.rate, time.monotonic()
        sent = 0
        while (now := time.monotonic()) - begin < self.plan.seconds:
            due = int((now - begin) * rate) - sent
            if due > 0:
                ms = int(time.time() * 1000)
                batch = b"".join(_framed(_trade("BTCUSDT", sent + k, ms, time.time_ns())) for k in range(due))
                if not await conn.write(batch):
                    return
                sent += due
                self.count("frames_sent", due)
            await asyncio.sleep(0.0005)

    async def tick(self) -> None:
        """Pings and drops for every plan; with ``plan.every``, a trade to each connection that often."""
        plan = self.plan
        last_ping = last_drop = time.monotonic()
        i = 0
        while True:
            conns = [c for c in self.conns if c.streams] if plan.every else []
            step = plan.every / max(1, len(conns))
            for conn in conns:  # spread over the interval, not in one burst
                ms = int(time.time() * 1000)
                symbol = conn.streams[0].split("@")[0].upper()
                if await conn.write(_framed(_trade(symbol, i, ms, time.time_ns()))):
                    self.count("frames_sent")
                i += 1
                if i % 50 == 0:
                    await asyncio.sleep(step * 50)
            await asyncio.sleep(0 if conns else 0.05)
            now = time.monotonic()
            if now - last_ping >= plan.ping_every:
                last_ping = now
                for conn in list(self.conns):
                    await conn.write(_framed(b"rig", 0x9))
            if plan.drop_every and now - last_drop >= plan.drop_every and self.conns:
                last_drop = now
                oldest = min(self.conns, key=lambda c: c.since)
                assert oldest.transport is not None
                oldest.transport.abort()
                self.count("closed_by_rig")


async def _serve(plan: Plan, counters: Any, ports: Any) -> None:
    from aiohttp import web

    server = _Server(plan, counters)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: _Conn(server), "127.0.0.1", 0, backlog=4096)
    info, snapshot = _exchange_info(plan.symbols), _snapshot()

    async def exchange_info(request: web.Request) -> web.Response:
        return web.Response(body=info, content_type="application/json")

    async def depth(request: web.Request) -> web.Response:
        return web.Response(body=snapshot, content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/v3/exchangeInfo", exchange_info)
    app.router.add_get("/api/v3/depth", depth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    rest_port = runner.addresses[0][1]
    ports.put((listener.sockets[0].getsockname()[1], rest_port))
    await server.tick()
    await asyncio.Event().wait()


def _main(plan: Plan, counters: Synchronized[Any], ports: Any) -> None:
    import resource

    import uvloop

    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    uvloop.run(_serve(plan, counters, ports))
