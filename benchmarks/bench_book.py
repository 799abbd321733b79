"""Book apply rate: depth deltas per second through the adapter and the book state machine.

Two measurements on the depth frames of a synthetic Binance session (prepared before
timing): the whole path per frame (decode, route, sync rule, apply, ``book`` event), and
the state machine alone on already-decoded deltas. The floor is bare ``orjson.loads`` on
the same frames. Run: ``python benchmarks/bench_book.py [--frames N]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

import collector
from collector import speedups
from collector.book import RANGE, BookSync
from collector.capture import Frame


def best_of(fn: Callable[[], None], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"C accelerators: {'on' if speedups.enabled() else 'off (pure Python)'}")
    from collector.simulator import synthetic_frames

    frames: list[Frame] = synthetic_frames("binance", ["BTC/USDT", "ETH/USDT"], frames=args.frames, seed=2)
    # Run the session once so the adapter holds instruments and synced books, then time the
    # depth frames that follow the snapshots: every one is applied (none is buffered or stale).
    run = collector.Replay(frames)
    events = list(run)
    depth = [f for f in frames if f.kind == "recv" and "@depth" in str(f.data)]
    decoded = [orjson.loads(f.data)["data"] for f in depth]
    n = len(depth)
    levels = sum(len(d["b"]) + len(d["a"]) for d in decoded)
    print(f"{n} depth frames, {levels / n:.1f} levels per frame, {len(events)} events in the session")

    adapter = collector.exchanges.create("binance")
    adapter.instruments.update(run.adapter.instruments)
    symbols = adapter.instruments.symbols_by_native

    def floor() -> None:
        for f in depth:
            orjson.loads(f.data)

    def whole_path() -> None:
        # A fresh adapter per run, primed with each symbol's state just before the first timed frame.
        fresh = collector.exchanges.create("binance")
        fresh.instruments.update(run.adapter.instruments)
        _prime(fresh.books, decoded, symbols)
        for f in depth:
            fresh.parse("c", f.data, f.ts)

    typed = [
        (
            symbols[d["s"]],
            [(float(p), float(q)) for p, q in d["b"]],
            [(float(p), float(q)) for p, q in d["a"]],
            d["U"],
            d["u"],
            d["E"] / 1000.0,
        )
        for d in decoded
    ]

    def state_machine() -> None:
        sync = BookSync("binance", RANGE, lambda s: [])
        _prime(sync, decoded, symbols)
        out: list[Any] = []
        for symbol, bids, asks, first, last, ts in typed:
            sync.delta(out, symbol, bids, asks, first, last, None, ts, ts)
            out.clear()

    t_floor = best_of(floor, args.repeat)
    t_whole = best_of(whole_path, args.repeat)
    t_sync = best_of(state_machine, args.repeat)
    print(f"orjson.loads floor      {n / t_floor:>11,.0f} frames/s")
    print(f"parse + sync + apply    {n / t_whole:>11,.0f} frames/s  ({t_floor / t_whole:.2f}x floor)")
    print(f"state machine + apply   {n / t_sync:>11,.0f} deltas/s  ({levels / t_sync:,.0f} levels/s)")
    return 0


def _prime(sync: BookSync, decoded: list[dict[str, Any]], symbols: dict[str, str]) -> None:
    """Give each symbol an empty synced book at the id just before its first delta."""
    seen: set[str] = set()
    for d in decoded:
        symbol = symbols[d["s"]]
        if symbol not in seen:
            seen.add(symbol)
            sync.delta([], symbol, [], [], d["U"], d["U"] - 1, None, None, 0.0)
            sync.snapshot([], symbol, [], [], d["U"] - 1, None, 0.0)


if __name__ == "__main__":
    sys.exit(main())
