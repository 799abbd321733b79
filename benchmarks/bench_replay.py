"""Replay throughput per exchange: received frames per second through ``collector.replay.Replay``.

Sessions: for every registered exchange (or those of ``--exchange a,b``) a synthetic session of
``--synthetic N`` market-data frames from the project's simulator (the adapter's ``demo_symbols``;
books, trades, tickers, candles as the adapter subscribes them), then every real recording in
``../shared/recordings/`` that an adapter replays (files without one are named and skipped).
Frames are read and generated before any timing. Each row times, alternating, best of ``--repeat``:

- ``orjson``: bare ``orjson.loads`` over the same received frames, the floor;
- ``C on``: ``Replay(frames)`` iterated to its end, with the optional C module;
- ``pure``: the same inside ``collector.speedups.disabled()`` (pure Python).

``x orjson`` is floor time / replay time: 1.00x would mean the whole pipeline (decode, route, symbol
map, book sync and apply, events) costs what parsing the JSON costs. ``all rec.`` compares with
orjson over every record a replayer decodes, REST bodies included: on a short recording the
instrument list, not the frames, dominates. Short recordings are replayed as many fresh sessions
per sample as make ``--min-frames`` frames. ``--runs K`` repeats the timing K times and ends with
a table of ranges; ``--profile`` then shows where replay time goes per session (ns per frame).

Run: ``python benchmarks/bench_replay.py [--exchange binance,okx] [--synthetic 100000] [--runs 3] [--profile]``
(``COLLECTOR_NO_SPEEDUPS=1`` makes both columns pure Python).
"""

from __future__ import annotations

import argparse
import cProfile
import platform
import pstats
import sys
from pathlib import Path

import orjson
from _shared import Ranges, Session, best_times, count, floor_loads, rate, ratio, recording_sessions, select_exchanges
from _shared import synthetic_session as make_synthetic

from collector import speedups
from collector.capture import Frame
from collector.replay import Replay

COLUMNS = (
    ("frames", "frames", count),
    ("events", "events", count),
    ("orjson", "orjson frames/s", rate),
    ("c_on", "C on: frames/s", rate),
    ("c_on_x", "C on: x orjson", ratio),
    ("pure", "pure Python: frames/s", rate),
    ("pure_x", "pure: x orjson", ratio),
    ("all_x", "C on: x orjson, all rec.", ratio),
)


def replay_all(frames: list[Frame], passes: int) -> int:
    """Replay ``frames`` ``passes`` times as fresh sessions; the number of events of the last one."""
    events = 0
    for _ in range(passes):
        events = 0
        for _event in Replay(frames):
            events += 1
    return events


def measure(session: Session, repeat: int, min_frames: int, ranges: Ranges) -> None:
    """Time one session (see the module docstring), print its line and record it in ``ranges``."""
    frames, recv, bodies = session.frames, session.recv, session.bodies
    passes = max(1, min_frames // max(1, len(recv)))
    loads = floor_loads(recv)

    def floor() -> None:
        for _ in range(passes):
            for data in recv:
                loads(data)

    def floor_all() -> None:
        floor()
        for _ in range(passes):
            for data in bodies:
                orjson.loads(data)

    def pure() -> None:
        with speedups.disabled():
            replay_all(frames, passes)

    times = best_times(
        {"orjson": floor, "all": floor_all, "c_on": lambda: replay_all(frames, passes), "pure": pure}, repeat
    )
    n = len(recv) * passes
    row = {
        "frames": len(recv),
        "events": replay_all(frames, 1),
        "orjson": n / times["orjson"],
        "c_on": n / times["c_on"],
        "c_on_x": times["orjson"] / times["c_on"],
        "pure": n / times["pure"],
        "pure_x": times["orjson"] / times["pure"],
        "all_x": times["all"] / times["c_on"],
    }
    for key, value in row.items():
        ranges.add(session.name, key, value)
    print(
        f"{session.name:<26} {len(recv):>7} frames {row['events']:>7} events | orjson {rate(row['orjson']):>6} | "
        f"C on {rate(row['c_on']):>6} ({ratio(row['c_on_x'])}) | pure {rate(row['pure']):>6} "
        f"({ratio(row['pure_x'])}) | x orjson all records {ratio(row['all_x'])}"
        + (f" [{passes} sessions per sample]" if passes > 1 else "")
    )


def profile(session: Session, top: int) -> None:
    """Where one replay of ``session`` (C on) spends its time: own time per source file, then per function.

    cProfile adds a fixed cost to every Python call it sees, so its absolute times are inflated
    (call-heavy Python most); each share is therefore also shown as ``~ns/frame``: the share times
    the ns per frame of the same replay timed without the profiler.
    """
    frames = len(session.recv)
    plain = best_times({"replay": lambda: replay_all(session.frames, 1)}, 2)["replay"] / frames * 1e9
    prof = cProfile.Profile()
    prof.enable()
    replay_all(session.frames, 1)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in stats.values())
    print(f"\n{session.name}: {frames} frames, {plain:,.0f} ns per frame ({total / frames * 1e9:,.0f} under cProfile)")
    by_file: dict[str, float] = {}
    for (path, line, _), entry in stats.items():
        where = f"{Path(path).parent.name}/{Path(path).name}" if line else "C functions (decode, dict, list...)"
        by_file[where] = by_file.get(where, 0.0) + entry[2]
    print(f"  {'~ns/frame':>9} {'share':>6}  own time by source file")
    for where, own in sorted(by_file.items(), key=lambda item: item[1], reverse=True)[: max(4, top // 2)]:
        print(f"  {own / total * plain:9,.0f} {own / total:6.1%}  {where}")
    print(f"  {'~ns/frame':>9} {'share':>6} {'calls/frame':>11}  own time by function (incl. share)")
    for (path, line, name), (_, calls, own, inclusive, _) in sorted(
        stats.items(), key=lambda item: item[1][2], reverse=True
    )[:top]:
        where = f"{Path(path).parent.name}/{Path(path).name}:{line}" if line else path
        print(
            f"  {own / total * plain:9,.0f} {own / total:6.1%} {calls / frames:11.2f}  "
            f"{where}({name}) ({inclusive / total:.0%})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchange", help="comma-separated exchange ids (default: every registered one)")
    parser.add_argument("--synthetic", type=int, default=100_000, help="frames per synthetic session (0: none)")
    parser.add_argument("--no-recordings", action="store_true", help="synthetic sessions only")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per run; the fastest counts")
    parser.add_argument("--runs", type=int, default=1, help="repeat all timings this many times; print ranges")
    parser.add_argument("--min-frames", type=int, default=20_000, help="frames per sample for short recordings")
    parser.add_argument("--profile", action="store_true", help="then print where replay time goes per session")
    parser.add_argument("--top", type=int, default=14, help="functions per profile")
    args = parser.parse_args()
    exchanges = select_exchanges(args.exchange)
    c_module = "on" if speedups.enabled() else "off (pure Python)" if speedups.available() else "not compiled"
    print(f"Python {platform.python_version()} on {platform.machine()}; C module {c_module}")

    sessions: list[Session] = []
    if args.synthetic:
        sessions += [make_synthetic(exchange, args.synthetic) for exchange in exchanges]
    if not args.no_recordings:
        sessions += list(recording_sessions(exchanges))
    ranges = Ranges()
    for run in range(1, args.runs + 1):
        print(f"\nrun {run}/{args.runs}: best of {args.repeat} rounds")
        for session in sessions:
            measure(session, args.repeat, args.min_frames, ranges)
    ranges.print("Replay throughput", COLUMNS)
    if args.profile:
        for session in sessions:
            profile(session, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
