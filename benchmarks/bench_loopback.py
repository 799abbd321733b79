"""End-to-end loopback: a synthetic Binance session served by the simulator over a real
websocket on 127.0.0.1, received by a :class:`collector.Collector` (adapter, book sync,
events, callback). Floors in the same run: a bare ``websockets`` client that only
receives the same frames (the transport), and ``orjson.loads`` over them.

With ``--process`` the simulator runs in a process of its own (the client's loop no longer
runs the server too) and a bare picows client and the Collector on the picows transport
are measured as well: that is how fast the simulator can feed one connection.

Run: ``python benchmarks/bench_loopback.py [--frames N] [--uvloop] [--process]``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import time
from typing import Any

import orjson
import websockets

import collector
from collector.capture import Frame
from collector.exchanges import Endpoints


async def bare_client(url: str, streams: list[str], expected: int) -> float:
    """Seconds a plain websockets client takes to receive ``expected`` frames."""
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send(orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}).decode())
        await ws.recv()  # the ack
        start = time.perf_counter()
        for _ in range(expected):
            await ws.recv()
        return time.perf_counter() - start


async def collector_client(sim: object, symbols: list[str], expected: int) -> float:
    """Seconds a Collector takes until ``expected`` market events have arrived."""
    from collector.simulator import Simulator

    assert isinstance(sim, Simulator)
    return await _collector_at(sim.endpoints("binance"), symbols, expected)


async def main_async(frames: list[Frame], symbols: list[str]) -> None:
    from collector.simulator import Simulator

    recv = [f for f in frames if f.kind == "recv" and str(f.data).startswith('{"stream"')]
    n = len(recv)
    streams = sorted({orjson.loads(f.data)["stream"] for f in recv})
    start = time.perf_counter()
    for f in recv:
        orjson.loads(f.data)
    t_json = time.perf_counter() - start
    async with Simulator.from_capture(frames, speed=0.0, queue_size=n + 1000) as sim:
        t_bare = await bare_client(sim.endpoints("binance").ws + "/stream", streams, n)
    async with Simulator.from_capture(frames, speed=0.0, queue_size=n + 1000) as sim:
        # Book frames before the snapshot are buffered, not emitted, so count a little short.
        t_coll = await collector_client(sim, symbols, int(n * 0.98))
    print(f"{n} frames over loopback ({len(streams)} streams)")
    print(f"orjson.loads floor            {n / t_json:>11,.0f} frames/s")
    print(f"bare websockets receive       {n / t_bare:>11,.0f} frames/s")
    print(
        f"collector end to end          {0.98 * n / t_coll:>11,.0f} frames/s  "
        f"({t_bare / t_coll * 0.98:.2f}x bare receive, {t_json / t_coll * 0.98:.2f}x orjson)"
    )


def _serve(frames: int, endpoints: Any) -> None:
    """The simulator in a process of its own, playing the session to each connection from its start."""
    from collector.simulator import Simulator, synthetic_frames

    async def run() -> None:
        session = synthetic_frames("binance", SYMBOLS, frames=frames, seed=4)
        async with Simulator.from_capture(session, speed=0.0, queue_size=frames + 1000) as sim:
            found = sim.endpoints("binance")
            endpoints.put((found.ws, found.rest))
            await asyncio.Event().wait()

    collector.runner.run(run(), use_uvloop=True)


async def bare_picows(url: str, streams: list[str], expected: int) -> float:
    """Seconds a bare picows client takes to receive ``expected`` frames (it only counts them)."""
    from picows import WSListener, WSMsgType, ws_connect

    done = asyncio.Event()
    times: list[float] = []

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == WSMsgType.TEXT and frame.get_payload_as_bytes().startswith(b'{"stream"'):
                times.append(time.perf_counter())
                if len(times) >= expected:
                    done.set()

    transport, _ = await ws_connect(Listener, url)
    transport.send(WSMsgType.TEXT, orjson.dumps({"method": "SUBSCRIBE", "params": streams, "id": 1}))
    await asyncio.wait_for(done.wait(), 600)
    transport.disconnect()
    return times[-1] - times[0]


async def process_async(frames: list[Frame], ws: str, rest: str) -> None:
    recv = [f for f in frames if f.kind == "recv" and str(f.data).startswith('{"stream"')]
    n = len(recv)
    streams = sorted({orjson.loads(f.data)["stream"] for f in recv})
    endpoints = Endpoints(ws=ws, rest=rest)
    rows: list[tuple[str, float]] = [
        ("bare picows receive", n / await bare_picows(ws + "/stream", streams, n)),
        ("bare websockets receive", n / await bare_client(ws + "/stream", streams, n)),
    ]
    for transport in ("picows", "websockets"):
        seconds = await _collector_at(endpoints, SYMBOLS, int(n * 0.98), transport)
        rows.append((f"collector {transport} end to end", 0.98 * n / seconds))
    print(f"{n} frames over loopback ({len(streams)} streams), simulator in its own process")
    for name, rate in rows:
        print(f"{name:32} {rate:>11,.0f} frames/s  ({rate / rows[0][1]:.2f}x bare picows)")


async def _collector_at(endpoints: Any, symbols: list[str], expected: int, transport: str | None = None) -> float:
    """Seconds from a Collector's first market event to its ``expected``-th (default transport unless given)."""
    done = asyncio.Event()
    times: list[float] = []

    def on_event(event: collector.Event) -> None:
        if isinstance(event, collector.Trade | collector.Ticker | collector.Book | collector.Candle):
            times.append(time.perf_counter())
            if len(times) >= expected:
                done.set()

    chosen = {"transport": transport} if transport is not None else {}
    c = collector.Collector(endpoints={"binance": endpoints}, queue_size=0, **chosen)
    c.subscribe("binance", symbols, ["trades", "ticker", "book", "candles"])
    c.on(on_event)
    await c.start()
    try:
        await asyncio.wait_for(done.wait(), 600)
    finally:
        await c.stop()
    return times[-1] - times[0]


SYMBOLS = ["BTC/USDT", "ETH/USDT"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--process", action="store_true", help="the simulator in a process of its own")
    args = parser.parse_args()
    from collector.simulator import synthetic_frames

    frames = synthetic_frames("binance", SYMBOLS, frames=args.frames, seed=4)
    if not args.process:
        collector.runner.run(main_async(frames, SYMBOLS), use_uvloop=args.uvloop)
        return 0
    ctx = multiprocessing.get_context("spawn")
    endpoints = ctx.Queue()
    server = ctx.Process(target=_serve, args=(args.frames, endpoints), daemon=True)
    server.start()
    try:
        ws, rest = endpoints.get(timeout=120)
        collector.runner.run(process_async(frames, ws, rest), use_uvloop=True)
    finally:
        server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
