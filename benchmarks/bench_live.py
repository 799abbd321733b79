"""The live path against the load rig (:mod:`_rig`): throughput, latency, connections, processes, soak.

Every number comes with its floor from the same run: the rig floods each client that
subscribes with the same pre-encoded frames, so a bare picows client and a bare websockets
client (receive and decode to text, nothing else) are measured on exactly what the Collector
receives. Nothing here is asserted: the host is shared, read ratios and ranges.

    python benchmarks/bench_live.py throughput [--frames 300000] [--runs 3]
    python benchmarks/bench_live.py latency [--rates 10000,50000,200000] [--seconds 5]
    python benchmarks/bench_live.py connections [--connections 10000] [--seconds 60]
    python benchmarks/bench_live.py workers [--frames 300000]
    python benchmarks/bench_live.py soak [--minutes 30] [--rate 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import multiprocessing
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _rig
import orjson
import uvloop

import collector
from collector import Book, Collector, Disconnected, Trade
from collector.exchanges import Endpoints

_STREAM = {"trade": "btcusdt@aggTrade", "depth": "btcusdt@depth@100ms"}
_SUBSCRIBE = b'{"method":"SUBSCRIBE","params":["%s"],"id":1}'


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def _collector(rig: _rig.Rig, transport: str, queue: bool) -> Collector:
    return Collector(
        endpoints={"binance": Endpoints(ws=rig.ws, rest=rig.rest)},
        transport=transport,
        queue_size=10_000 if queue else 0,
    )


class _Clock:
    """Counts events of interest; the rate is taken from the first to the last one."""

    def __init__(self, expected: int) -> None:
        self.expected, self.n, self.first, self.last = expected, 0, 0.0, 0.0
        self.done = asyncio.Event()

    def tick(self) -> None:
        now = time.perf_counter()
        if not self.n:
            self.first = now
        self.n += 1
        self.last = now
        if self.n >= self.expected:
            self.done.set()

    async def wait(self, timeout: float = 120.0) -> float:
        """Frames per second once ``expected`` arrived, or after 2 s without any more."""
        deadline = time.perf_counter() + timeout
        seen = -1
        while not self.done.is_set() and time.perf_counter() < deadline:
            if self.n == seen and self.n:
                break
            seen = self.n
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.done.wait(), 2.0)
        return (self.n - 1) / (self.last - self.first) if self.n > 1 else 0.0


# -- throughput ------------------------------------------------------------------------------------


async def bare_picows(rig: _rig.Rig, kind: str, expected: int) -> float:
    from picows import WSListener, WSMsgType, ws_connect

    clock = _Clock(expected)

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == WSMsgType.TEXT and frame.get_payload_as_utf8_text()[2] == "s":
                clock.tick()

    transport, _ = await ws_connect(Listener, f"{rig.ws}/stream")
    transport.send(WSMsgType.TEXT, _SUBSCRIBE % _STREAM[kind].encode())
    rate = await clock.wait()
    transport.disconnect()
    return rate


async def bare_websockets(rig: _rig.Rig, kind: str, expected: int) -> float:
    import websockets

    clock = _Clock(expected)
    async with websockets.connect(f"{rig.ws}/stream", max_size=None, compression=None) as ws:
        await ws.send((_SUBSCRIBE % _STREAM[kind].encode()).decode())
        await ws.recv()  # the acknowledgement

        async def receive() -> None:
            async for message in ws:
                assert isinstance(message, str)
                clock.tick()

        task = asyncio.ensure_future(receive())
        rate = await clock.wait()
        task.cancel()
    return rate


async def through_collector(rig: _rig.Rig, kind: str, expected: int, transport: str, mode: str) -> float:
    wanted = Trade if kind == "trade" else Book
    clock = _Clock(expected)
    c = _collector(rig, transport, queue=mode != "callback")
    c.subscribe("binance", ["BTC/USDT"], ["trades" if kind == "trade" else "book"])
    if mode == "callback":
        c.on(lambda e: clock.tick(), wanted)
        await c.start()
        rate = await clock.wait()
    else:
        await c.start()

        async def drain() -> None:
            if mode == "batches":
                async for events in c.batches():
                    for e in events:
                        if type(e) is wanted:
                            clock.tick()
            else:
                async for e in c:
                    if type(e) is wanted:
                        clock.tick()

        task = asyncio.ensure_future(drain())
        rate = await clock.wait()
        task.cancel()
    await c.stop()
    return rate


CLIENTS: dict[str, Callable[..., Any]] = {
    "bare picows": bare_picows,
    "bare websockets": bare_websockets,
    "collector picows callback": lambda r, k, n: through_collector(r, k, n, "picows", "callback"),
    "collector picows async for": lambda r, k, n: through_collector(r, k, n, "picows", "async for"),
    "collector picows batches": lambda r, k, n: through_collector(r, k, n, "picows", "batches"),
    "collector websockets callback": lambda r, k, n: through_collector(r, k, n, "websockets", "callback"),
    "collector websockets async for": lambda r, k, n: through_collector(r, k, n, "websockets", "async for"),
}


def throughput(args: argparse.Namespace) -> None:
    for kind in ("trade", "depth"):
        rig = _rig.start(_rig.Plan(kind=kind, frames=args.frames))
        results: dict[str, list[float]] = {name: [] for name in CLIENTS}
        ratios: dict[str, list[float]] = {name: [] for name in CLIENTS}
        try:
            for _ in range(args.runs):
                rates = {name: uvloop.run(client(rig, kind, args.frames)) for name, client in CLIENTS.items()}
                for name, rate in rates.items():
                    results[name].append(rate)
                    ratios[name].append(rate / rates["bare picows"])
        finally:
            rig.process.kill()
        print(f"\n{kind}: {args.frames:,} frames per client, {args.runs} run(s); ratio to bare picows in the same run")
        for name in CLIENTS:
            print(f"  {name:32} {_range(results[name], 'k')} frames/s   {_range(ratios[name], 'x')}")


def _range(values: list[float], unit: str) -> str:
    lo, hi = min(values), max(values)
    if unit == "k":
        return f"{lo / 1e3:6.0f}k" if round(lo, -3) == round(hi, -3) else f"{lo / 1e3:.0f}k-{hi / 1e3:.0f}k"
    return f"{lo:.2f}x" if abs(hi - lo) < 0.005 else f"{lo:.2f}x-{hi:.2f}x"


# -- latency ---------------------------------------------------------------------------------------


async def latency_picows(rig: _rig.Rig, seconds: float) -> list[int]:
    from picows import WSListener, WSMsgType, ws_connect

    added: list[int] = []

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: Any, frame: Any) -> None:
            if frame.msg_type == WSMsgType.TEXT:
                data = orjson.loads(frame.get_payload_as_bytes()).get("data")
                if data:
                    added.append(time.time_ns() - data["a"])

    transport, _ = await ws_connect(Listener, f"{rig.ws}/stream")
    transport.send(WSMsgType.TEXT, _SUBSCRIBE % b"btcusdt@aggTrade")
    await asyncio.sleep(seconds + 1.0)
    transport.disconnect()
    return added


async def latency_collector(rig: _rig.Rig, seconds: float, transport: str) -> list[int]:
    added: list[int] = []
    c = _collector(rig, transport, queue=False)
    c.subscribe("binance", ["BTC/USDT"], ["trades"])
    c.on(lambda e: added.append(time.time_ns() - int(e.id)), Trade)
    await c.start()
    await asyncio.sleep(seconds + 1.0)
    await c.stop()
    return added


def latency(args: argparse.Namespace) -> None:
    print("added latency, frame written by the rig -> callback (µs); first 10 % of each run dropped (warm-up)")
    clients: dict[str, Callable[[_rig.Rig, float], Any]] = {
        "bare picows (orjson.loads)": latency_picows,
        "collector picows callback": lambda r, s: latency_collector(r, s, "picows"),
        "collector websockets callback": lambda r, s: latency_collector(r, s, "websockets"),
    }
    for rate in args.rates:
        for name, client in clients.items():
            rig = _rig.start(_rig.Plan(rate=rate, seconds=args.seconds))
            try:
                added = uvloop.run(client(rig, args.seconds))
            finally:
                rig.process.kill()
            kept = sorted(added[len(added) // 10 :])
            if not kept:
                print(f"  {rate:>8,}/s  {name:30} nothing received")
                continue
            q = statistics.quantiles(kept, n=1000)
            offered = int(rate * args.seconds)
            print(
                f"  {rate:>8,}/s  {name:30} p50 {q[499] / 1e3:8.0f}  p99 {q[989] / 1e3:8.0f}  "
                f"p99.9 {q[998] / 1e3:8.0f}  max {kept[-1] / 1e3:8.0f}   received {len(added):,} of {offered:,}"
            )


# -- connections and soak --------------------------------------------------------------------------


async def _lag_sampler(lags: list[float], stop: asyncio.Event, period: float = 0.05) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        await asyncio.sleep(period)
        lags.append(time.perf_counter() - start - period)


async def many(rig: _rig.Rig, n: int, seconds: float, report: Callable[[dict[str, Any]], None]) -> None:
    from collector.exchanges.binance import BinanceAdapter

    # One stream per connection and no connect pacing: the rig is local, and the point is to
    # hold as many sockets as the target asks for, not to model Binance's connection limits.
    BinanceAdapter.max_streams = 1
    BinanceAdapter.connect_limit = None
    base = _rss_mb()
    counts = {"trades": 0, "disconnected": 0}

    def on_event(e: Any) -> None:
        if type(e) is Trade:
            counts["trades"] += 1
        elif type(e) is Disconnected:
            counts["disconnected"] += 1

    c = Collector(endpoints={"binance": Endpoints(ws=rig.ws, rest=rig.rest)}, transport="picows", queue_size=0)
    c.subscribe("binance", [f"{s[:-4]}/USDT" for s in _rig.symbols(n)], ["trades"])
    c.on(on_event)
    began = time.perf_counter()
    await c.start()
    while rig.count("subscribed") < n and time.perf_counter() - began < 600:  # noqa: ASYNC110 (another process)
        await asyncio.sleep(0.5)
    up = time.perf_counter() - began
    gc.collect()
    gc.freeze()  # what `collector run` does once connected
    lags: list[float] = []
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(_lag_sampler(lags, stop))
    report({"phase": "connected", "seconds": up, "subscribed": rig.count("subscribed"), "rss_mb": _rss_mb()})
    t0, trades0, pongs0 = time.perf_counter(), counts["trades"], rig.count("pongs_received")
    cpu0 = time.process_time()
    sent0 = rig.count("frames_sent")
    interval = max(30.0, seconds / 20)
    next_report = t0 + interval
    while (elapsed := time.perf_counter() - t0) < seconds:
        await asyncio.sleep(1.0)
        elapsed = time.perf_counter() - t0
        if time.perf_counter() >= next_report:
            next_report += interval
            report(
                {
                    "phase": "steady",
                    "elapsed": elapsed,
                    "rss_mb": _rss_mb(),
                    "rss_per_connection_kb": (_rss_mb() - base) * 1e3 / max(1, n),
                    "cpu_pct": (time.process_time() - cpu0) * 100 / elapsed,
                    "tasks": len(asyncio.all_tasks()),
                    "fds": len(os.listdir("/proc/self/fd")),
                    "connections_at_rig": rig.count("connections"),
                    "offered_per_s": (rig.count("frames_sent") - sent0) / elapsed,
                    "trades_per_s": (counts["trades"] - trades0) / elapsed,
                    "pongs_to_rig": rig.count("pongs_received") - pongs0,
                    "disconnected": counts["disconnected"],
                    "dropped_by_rig": rig.count("closed_by_rig"),
                    "loop_lag_p99_ms": statistics.quantiles(lags, n=100)[98] * 1e3 if len(lags) > 2 else 0.0,
                    "loop_lag_max_ms": max(lags) * 1e3 if lags else 0.0,
                }
            )
    stop.set()
    await sampler
    await c.stop()


def _print(row: dict[str, Any]) -> None:
    print("  " + "  ".join(f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()), flush=True)


def connections(args: argparse.Namespace) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < args.connections + 100:
        print(f"the open-file limit ({hard}) is under {args.connections} connections; raise it (ulimit -n)")
        return
    plan = _rig.Plan(every=args.every, ping_every=5.0, symbols=args.connections)
    rig = _rig.start(plan)
    print(f"{args.connections:,} connections, one trade each every {args.every} s, rig pings every 5 s")
    try:
        uvloop.run(many(rig, args.connections, args.seconds, _print))
    finally:
        rig.process.kill()


def soak(args: argparse.Namespace) -> None:
    conns = args.connections
    plan = _rig.Plan(rate=args.rate / conns, seconds=args.minutes * 60 + 120, drop_every=60.0, symbols=conns)
    rig = _rig.start(plan)
    print(f"soak: {args.minutes} min, {args.rate:,} trades/s over {conns} connections, the rig drops one a minute")
    try:
        uvloop.run(many(rig, conns, args.minutes * 60, _print))
    finally:
        rig.process.kill()


# -- processes -------------------------------------------------------------------------------------


def _worker(ws: str, rest: str, frames: int, out: Any) -> None:
    rig = _rig.Rig(multiprocessing.current_process(), int(ws.rsplit(":", 1)[1]), int(rest.rsplit(":", 1)[1]), None)

    async def run() -> tuple[float, float, int]:
        clock = _Clock(frames)
        c = _collector(rig, "picows", queue=False)
        c.subscribe("binance", ["BTC/USDT"], ["trades"])
        c.on(lambda e: clock.tick(), Trade)
        await c.start()
        await clock.wait()
        await c.stop()
        return clock.first + time.time() - time.perf_counter(), clock.last + time.time() - time.perf_counter(), clock.n

    out.put(uvloop.run(run()))


def workers(args: argparse.Namespace) -> None:
    print(f"processes, each a Collector (picows, callback) on its own connection flooded with {args.frames:,} trades")
    for n in (1, 2):
        rig = _rig.start(_rig.Plan(kind="trade", frames=args.frames, delay=1.0))
        try:
            ctx = multiprocessing.get_context("spawn")
            out: Any = ctx.Queue()
            procs = [ctx.Process(target=_worker, args=(rig.ws, rig.rest, args.frames, out)) for _ in range(n)]
            for p in procs:
                p.start()
            spans = [out.get(timeout=300) for _ in procs]
            for p in procs:
                p.join()
        finally:
            rig.process.kill()
        first, last, total = min(s[0] for s in spans), max(s[1] for s in spans), sum(s[2] for s in spans)
        print(f"  {n} process(es): {total / (last - first) / 1e3:,.0f}k trades/s aggregate")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("throughput")
    p.add_argument("--frames", type=int, default=300_000)
    p.add_argument("--runs", type=int, default=1)
    p = sub.add_parser("latency")
    p.add_argument("--rates", type=lambda s: [int(x) for x in s.split(",")], default=[10_000, 50_000, 200_000])
    p.add_argument("--seconds", type=float, default=5.0)
    p = sub.add_parser("connections")
    p.add_argument("--connections", type=int, default=10_000)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--every", type=float, default=1.0, help="seconds between trades on each connection")
    p = sub.add_parser("workers")
    p.add_argument("--frames", type=int, default=300_000)
    p = sub.add_parser("soak")
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--rate", type=int, default=20_000)
    p.add_argument("--connections", type=int, default=20)
    args = parser.parse_args()
    print(f"collector {collector.__version__}, C module {'on' if collector.speedups.available() else 'off'}")
    {"throughput": throughput, "latency": latency, "connections": connections, "workers": workers, "soak": soak}[
        args.command
    ](args)


if __name__ == "__main__":
    main()
