"""Replay throughput: received frames per second through ``collector.replay(frames)``.

Frames are read once, before timing. The floor is bare ``orjson.loads`` over the same
frames' payloads in the same run; the ratio says how close the whole pipeline
(decode, route, symbol map, book sync and apply, event construction) comes to merely
parsing the JSON. Run: ``python benchmarks/bench_replay.py [--synthetic N] [--profile]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

import collector
from collector import speedups
from collector.capture import Frame

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT.parent / "shared" / "recordings"


def best_of(fn: Callable[[], int], repeat: int) -> tuple[float, int]:
    """Fastest wall time of ``repeat`` runs, and what the function returned."""
    best = float("inf")
    result = 0
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def measure(name: str, frames: list[Frame], repeat: int) -> dict[str, float]:
    """Print and return frames/s for replay and for the orjson floors.

    Two floors: ``orjson.loads`` over the received frames only, and over every record a
    replayer must decode (received frames plus the REST bodies: instrument lists and
    book snapshots). On a short recording the instrument list dominates: Binance's
    ``exchangeInfo`` is ~1.9 MB of JSON against 265 small frames.
    """
    recv = [f.data for f in frames if f.kind == "recv"]
    bodies = [f.data for f in frames if f.kind == "http"]
    n = len(recv)

    def floor_recv() -> int:
        loads = orjson.loads
        for data in recv:
            loads(data)
        return n

    def floor_all() -> int:
        loads = orjson.loads
        for data in recv:
            loads(data)
        for data in bodies:
            loads(data)
        return n

    def pipeline() -> int:
        count = 0
        for _ in collector.replay(frames):
            count += 1
        return count

    t_recv, _ = best_of(floor_recv, repeat)
    t_all, _ = best_of(floor_all, repeat)
    t_replay, events = best_of(pipeline, repeat)
    row = {
        "frames": n,
        "events": events,
        "replay_fps": n / t_replay,
        "floor_recv_fps": n / t_recv,
        "floor_all_fps": n / t_all,
    }
    print(
        f"{name:<20} {n:>8} frames {events:>8} events | replay {n / t_replay:>10,.0f} frames/s | "
        f"orjson recv-only {n / t_recv:>10,.0f} ({t_recv / t_replay:.2f}x) | "
        f"orjson all records {n / t_all:>10,.0f} ({t_all / t_replay:.2f}x)"
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=300_000, help="frames in the synthetic session (0: skip)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where replay time goes")
    args = parser.parse_args()
    print(f"C accelerators: {'on' if speedups.enabled() else 'off (pure Python)'}")
    sessions: list[tuple[str, list[Frame]]] = []
    for exchange in ("binance", "bybit", "upbit"):
        path = RECORDINGS / f"{exchange}.jsonl.zst"
        if path.exists():
            sessions.append((f"{exchange} recording", collector.read_capture(path)))
        else:
            print(f"(no recording at {path}; skipping it)")
    if args.synthetic:
        from collector.simulator import synthetic_frames

        start = time.perf_counter()
        synth = synthetic_frames("binance", ["BTC/USDT", "ETH/USDT", "SOL/USDT"], frames=args.synthetic, seed=1)
        print(f"(generated {len(synth)} synthetic records in {time.perf_counter() - start:.1f}s)")
        sessions.append(("binance synthetic", synth))
        bybit = synthetic_frames("bybit", ["BTC/USDT", "BTC/USDT:USDT"], frames=args.synthetic // 3, seed=1)
        sessions.append(("bybit synthetic", bybit))
    for name, frames in sessions:
        # Short recordings are replayed many times over so the timings are stable.
        repeat = args.repeat * max(1, 20_000 // len(frames))
        measure(name, frames, repeat)
    if args.profile and sessions:
        frames = sessions[-1][1]
        prof = cProfile.Profile()
        prof.enable()
        for _ in collector.replay(frames):
            pass
        prof.disable()
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(12)
    return 0


if __name__ == "__main__":
    sys.exit(main())
