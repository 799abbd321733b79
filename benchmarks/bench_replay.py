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
from collector.capture import Frame

ROOT = Path(__file__).resolve().parent.parent
RECORDING = ROOT.parent / "shared" / "recordings" / "binance.jsonl.zst"


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
    """Print and return frames/s for replay and for the orjson floor."""
    recv = [f.data for f in frames if f.kind == "recv"]
    n = len(recv)

    def floor() -> int:
        loads = orjson.loads
        for data in recv:
            loads(data)
        return n

    def pipeline() -> int:
        count = 0
        for _ in collector.replay(frames):
            count += 1
        return count

    t_floor, _ = best_of(floor, repeat)
    t_replay, events = best_of(pipeline, repeat)
    row = {
        "frames": n,
        "events": events,
        "replay_fps": n / t_replay,
        "orjson_fps": n / t_floor,
        "ratio": t_floor / t_replay,
    }
    print(
        f"{name:<28} {n:>9} frames {events:>9} events | replay {row['replay_fps']:>11,.0f} frames/s | "
        f"orjson.loads {row['orjson_fps']:>11,.0f} frames/s | ratio {row['ratio']:.2f}x"
    )
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--synthetic", type=int, default=300_000, help="frames in the synthetic session (0: skip)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print where replay time goes")
    args = parser.parse_args()
    sessions: list[tuple[str, list[Frame]]] = []
    if RECORDING.exists():
        frames = collector.read_capture(RECORDING)
        # The recording is short (265 frames): repeat it on fresh connections so timings are stable.
        sessions.append(("binance recording", frames))
    else:
        print(f"(no recording at {RECORDING}; skipping it)")
    if args.synthetic:
        from collector.simulator import synthetic_frames

        start = time.perf_counter()
        synth = synthetic_frames("binance", ["BTC/USDT", "ETH/USDT", "SOL/USDT"], frames=args.synthetic, seed=1)
        print(f"(generated {len(synth)} synthetic records in {time.perf_counter() - start:.1f}s)")
        sessions.append(("binance synthetic", synth))
    for name, frames in sessions:
        repeat = args.repeat * (200 if len(frames) < 1000 else 1)
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
