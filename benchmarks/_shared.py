"""Pieces shared by ``bench_replay.py`` and ``bench_cryptofeed.py``; not a script of its own.

- sessions: one synthetic session per exchange from the project's simulator, and every real
  recording in ``../shared/recordings/`` (relative to the repository) that an adapter replays;
- timing: contenders alternate within each round and the fastest round of each counts, so a
  noisy neighbour on the shared host slows them alike instead of one of them;
- ranges: every number of every ``--runs`` run is kept and printed as ``low-high``.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

import collector
from collector.capture import Frame
from collector.errors import CollectorError
from collector.exchanges import EXCHANGES
from collector.replay import detect_exchange

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = ROOT.parent / "shared" / "recordings"


@dataclass
class Session:
    """One capture, in memory before any timing: ``frames`` are every record, as ``collector.read_capture`` gives."""

    name: str
    exchange: str
    frames: list[Frame]
    note: str = ""

    @property
    def recv(self) -> list[str | bytes]:
        """The received websocket frames' payloads, in file order (what the orjson floor parses)."""
        return [f.data for f in self.frames if f.kind == "recv"]

    @property
    def bodies(self) -> list[str | bytes]:
        """The recorded REST response bodies (instrument lists, book snapshots)."""
        return [f.data for f in self.frames if f.kind == "http"]


def select_exchanges(arg: str | None, known: Sequence[str] | None = None) -> list[str]:
    """The ids named in ``--exchange a,b`` out of ``known`` (default: the registered ones); all when empty."""
    known = list(known) if known is not None else sorted(EXCHANGES)
    if not arg:
        return known
    wanted = [name.strip() for name in arg.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise SystemExit(f"unknown exchange {', '.join(unknown)}; known: {', '.join(known)}")
    return wanted


def synthetic_session(exchange: str, frames: int, symbols: Sequence[str] | None = None, seed: int = 1) -> Session:
    """``frames`` market-data frames of ``exchange`` from the simulator, for ``symbols`` (default: ``demo_symbols``)."""
    from collector.simulator import synthetic_frames

    chosen = list(symbols or EXCHANGES[exchange].demo_symbols)
    records = synthetic_frames(exchange, chosen, frames=frames, seed=seed)
    return Session(f"{exchange} synthetic", exchange, records, note=", ".join(chosen))


def recording_sessions(exchanges: Sequence[str], unregistered: Sequence[str] = ()) -> Iterator[Session]:
    """Every recording of one of ``exchanges``; says which files it skips and why (absent, no adapter yet).

    A recording no adapter replays is still yielded when its file is named after one of
    ``unregistered`` (``deribit.jsonl.zst``): a contender other than collector can replay it.
    """
    if not RECORDINGS.is_dir():
        print(f"(no recordings at {RECORDINGS}: skipping them)")
        return
    for path in sorted(RECORDINGS.glob("*.jsonl.zst")):
        frames = collector.read_capture(path)
        try:
            exchange = detect_exchange(frames)
        except CollectorError as exc:
            exchange = path.name.split(".", 1)[0]
            if exchange not in unregistered:
                print(f"({path.name} skipped: {exc})")
                continue
        if exchange in exchanges:
            yield Session(f"{exchange} recording", exchange, frames, note=path.name)


def floor_loads(recv: Sequence[str | bytes]) -> Callable[[str | bytes], Any]:
    """The floor's work per frame: ``orjson.loads``, after inflating gzip frames (HTX compresses every one)."""
    if not any(isinstance(data, bytes) and data[:2] == b"\x1f\x8b" for data in recv[:50]):
        return orjson.loads
    loads = orjson.loads

    def inflate_and_load(data: str | bytes) -> Any:
        return loads(zlib.decompress(data, 31) if isinstance(data, bytes) else data)  # 31: gzip header

    return inflate_and_load


def best_times(contenders: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Fastest wall time of each contender over ``rounds`` rounds; within a round they run one after another."""
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(rounds):
        for name, run in contenders.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def rate(value: float) -> str:
    """``717k``, ``1.23M``: frames per second, short."""
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    return f"{value / 1e3:.1f}k"


def ratio(value: float) -> str:
    """``0.85x``."""
    return f"{value:.2f}x"


def count(value: float) -> str:
    """A count, as an integer with thousands separators."""
    return f"{value:,.0f}"


@dataclass
class Ranges:
    """Every value of every run per (row, column); :meth:`print` shows ``low-high`` where runs differ."""

    values: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def add(self, row: str, column: str, value: float) -> None:
        self.values.setdefault(row, {}).setdefault(column, []).append(value)

    def note(self, row: str, text: str) -> None:
        """A cell's worth of text that replaces the row's numbers (e.g. why a contender could not run)."""
        self.notes[row] = text

    def cell(self, row: str, column: str, fmt: Callable[[float], str]) -> str:
        found = self.values.get(row, {}).get(column)
        if not found:
            return "—"
        low, high = fmt(min(found)), fmt(max(found))
        return low if low == high else f"{low}\u2013{high}"

    def print(self, title: str, columns: Sequence[tuple[str, str, Callable[[float], str]]]) -> None:
        """A Markdown table: one line per row, ``columns`` as (key, heading, formatter), then any note."""
        runs = max((len(v) for cols in self.values.values() for v in cols.values()), default=0)
        print(f"\n{title} (ranges over {runs} run{'s' if runs != 1 else ''})\n")
        notes = " note |" if self.notes else ""
        print("| session | " + " | ".join(heading for _, heading, _ in columns) + " |" + notes)
        print("|---|" + "---:|" * len(columns) + ("---|" if notes else ""))
        for row in dict.fromkeys([*self.values, *self.notes]):
            cells = [self.cell(row, key, fmt) for key, _, fmt in columns]
            if notes:
                cells.append(self.notes.get(row, ""))
            print(f"| {row} | " + " | ".join(cells) + " |")
