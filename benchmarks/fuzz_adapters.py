"""A million mutated frames through every exchange adapter: nothing escapes, nothing impossible gets out.

Each exchange's session is synthesised by the project's simulator in the exchange's own
wire format (the adapter's ``demo_symbols``: trades, tickers, book diffs, candles and,
where offered, derivative data). :func:`collector.fuzz.fuzz_session` replays its setup
until the books are synced, then feeds the rest through the adapter's boundary with
every second frame broken (flipped bytes, cuts, wrong types, NaN/Infinity/negative/huge
numbers, missing and extra keys, deep nesting, non-UTF-8 bytes, 10 MB frames), in
episodes until ``--frames`` were fed; with ``--compare`` the same frames also go through
pure Python and the results are compared. Run::

    python benchmarks/fuzz_adapters.py [--frames 1000000] [--exchange okx,bybit] [--compare]

One line per adapter: frames fed, mutated, error events, market events, what escaped,
impossible values that reached an event or a book, and microseconds per frame. The exit
status is 1 when any adapter broke a promise. The test suite runs 20,000 per adapter.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from collector import speedups
from collector.exchanges import EXCHANGES
from collector.fuzz import FuzzReport, fuzz_session
from collector.simulator import synthetic_frames


def _session(exchange: str) -> list[Any]:
    return synthetic_frames(exchange, list(EXCHANGES[exchange].demo_symbols), frames=3000, seed=11)


def _fuzz(exchange: str, frames: int, seed: int) -> tuple[FuzzReport, float]:
    codec = EXCHANGES[exchange].simulator_wire().frame_codec()
    start = time.perf_counter()
    report = fuzz_session(exchange, _session(exchange), frames, seed=seed, codec=codec)
    return report, time.perf_counter() - start


def _compare(exchange: str, frames: int, seed: int) -> bool:
    """Whether the C path and pure Python give identical results on the same mutated frames."""
    codec = EXCHANGES[exchange].simulator_wire().frame_codec()
    runs: list[list[Any]] = []
    for disabled in (False, True):
        seen: list[Any] = []

        def keep(adapter: Any, frame: Any, out: list[Any], seen: list[Any] = seen) -> None:
            seen.extend(out)

        if disabled:
            with speedups.disabled():
                fuzz_session(exchange, _session(exchange), frames, seed=seed, codec=codec, compare=keep)
        else:
            fuzz_session(exchange, _session(exchange), frames, seed=seed, codec=codec, compare=keep)
        runs.append(seen)
    return runs[0] == runs[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=1_000_000, help="frames fed per adapter (default 1,000,000)")
    parser.add_argument("--exchange", default="", help="comma-separated adapter ids (default: all)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--compare", action="store_true", help="also compare the C path with pure Python")
    args = parser.parse_args()
    exchanges = [e for e in args.exchange.split(",") if e] or sorted(EXCHANGES)
    print(f"C accelerators: {'on' if speedups.enabled() else 'off'}; {args.frames:,} frames per adapter")
    header = f"{'exchange':16} {'frames':>10} {'mutated':>9} {'errors':>9} {'events':>9} {'escaped':>7} {'bad':>5}"
    print(header + f" {'us/frame':>8}" + ("  C==Python" if args.compare else ""))
    broken = False
    for exchange in exchanges:
        report, seconds = _fuzz(exchange, args.frames, args.seed)
        line = (
            f"{exchange:16} {report.frames:>10,} {report.mutated:>9,} {report.errors:>9,} {report.events:>9,} "
            f"{len(report.escapes):>7} {len(report.bad_values):>5} {seconds / max(report.frames, 1) * 1e6:>8.1f}"
        )
        if args.compare:
            same = _compare(exchange, min(args.frames, 50_000), args.seed)
            line += f"  {'yes' if same else 'NO'}"
            broken |= not same
        print(line, flush=True)
        for problem in (report.escapes + report.bad_values)[:5]:
            print(f"    {problem}")
        broken |= not report.ok
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
