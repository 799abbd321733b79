"""End-to-end loopback: a synthetic Binance session served by the simulator over a real
websocket on 127.0.0.1, received by a :class:`collector.Collector` (adapter, book sync,
events, callback). Floors in the same run: a bare ``websockets`` client that only
receives the same frames (the transport), and ``orjson.loads`` over them.

Run: ``python benchmarks/bench_loopback.py [--frames N] [--uvloop]``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import orjson
import websockets

import collector
from collector.capture import Frame


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
    done = asyncio.Event()
    count = 0
    first = 0.0

    def on_event(event: collector.Event) -> None:
        nonlocal count, first
        if isinstance(event, collector.Trade | collector.Ticker | collector.Book | collector.Candle):
            if count == 0:
                first = time.perf_counter()
            count += 1
            if count >= expected:
                done.set()

    c = collector.Collector(endpoints={"binance": sim.endpoints("binance")}, queue_size=0)
    c.subscribe("binance", symbols, ["trades", "ticker", "book", "candles"])
    c.on(on_event)
    await c.start()
    try:
        await asyncio.wait_for(done.wait(), 600)
    finally:
        await c.stop()
    return time.perf_counter() - first


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    from collector.simulator import synthetic_frames

    symbols = ["BTC/USDT", "ETH/USDT"]
    frames = synthetic_frames("binance", symbols, frames=args.frames, seed=4)
    collector.runner.run(main_async(frames, symbols), use_uvloop=args.uvloop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
