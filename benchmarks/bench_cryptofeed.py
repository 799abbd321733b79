"""collector against cryptofeed, per exchange, on the same frames, beside the ``orjson.loads`` floor.

For every exchange both projects support (the table in ``_cryptofeed_rows.py``; ``--exchange a,b``
to choose) this replays, in one process, alternating, best of ``--repeat`` rounds:

- ``orjson``: bare ``orjson.loads`` over the session's received frames (the floor);
- ``collector``: ``collector.replay.Replay(frames)`` iterated to its end;
- with ``--books-free``, the same with ``BookSync.delta``/``.snapshot`` doing nothing (a bound:
  what 5x would leave for everything but the books);
- ``cryptofeed``: a fresh feed of cryptofeed's own class per session (which loads its symbol map
  from the capture's REST records), ``subscribe`` called on each of its connections, then
  ``await feed.message_handler(payload, conn, receipt_time)`` for every recorded frame in time
  order, as its connection handler does with websocket messages. Only the network is replaced:
  ``HTTPSync.read`` and ``HTTPAsyncConn.read`` answer from the capture's ``http`` records (the
  two methods cryptofeed's own ``raw_data_collection.playback`` patches) and each connection is
  a stand-in whose ``write`` keeps what ``subscribe`` sends (as that playback's ``FakeWS``).
  Every parse is cryptofeed's; its callbacks only count.

Sessions: a synthetic session per exchange, written by the project's simulator in the shape
cryptofeed's own connection would have received (its subscriptions, its API version: the row
says what differs), and every recording in ``../shared/recordings/`` (recorded with cryptofeed).
Before timing, one untimed session of each contender: the event counts are printed side by side
(trades, tickers, candles, book snapshots and deltas...) so a reader sees both did the same work;
a handler that raises, or drops the frames, makes the row "cryptofeed cannot replay this" with
the reason, and no number. Short recordings are replayed as many fresh sessions per sample as
make ``--min-frames`` frames (session setup, mostly instrument lists, is printed apart).

Run it from the repository root with the virtualenv that has cryptofeed 2.4.1 and this repository::

    /tmp/cfvenv/bin/python benchmarks/bench_cryptofeed.py [--exchange binance,okx] [--synthetic 100000]
        [--repeat 3] [--runs 3]

(``/tmp/cfvenv/bin/pip install -e .`` again if ``import collector`` fails there after a C rebuild.)
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import platform
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from _cryptofeed_driver import CannotReplay, Cryptofeed, prepare
from _cryptofeed_rows import BY_EXCHANGE, Row
from _shared import (
    Ranges,
    Session,
    best_times,
    floor_loads,
    rate,
    ratio,
    recording_sessions,
    select_exchanges,
    synthetic_session,
)

from collector import speedups
from collector.book import BookSync
from collector.capture import Frame
from collector.exchanges import EXCHANGES
from collector.models import Book, Candle, DerivativeTicker, Liquidation, Ticker, Trade
from collector.replay import Replay

COLUMNS = (
    ("frames", "frames", lambda v: f"{v:,.0f}"),
    ("collector", "collector frames/s", rate),
    ("cryptofeed", "cryptofeed frames/s", rate),
    ("ratio", "collector / cryptofeed", ratio),
    ("collector_x", "collector x orjson", ratio),
    ("cryptofeed_x", "cryptofeed x orjson", ratio),
    ("target", "5x cryptofeed frames/s", rate),
    ("bare", "replay loop + orjson.loads frames/s", rate),
)
KINDS = ("trades", "tickers", "candles", "book snapshots", "book deltas", "funding/OI/index", "liquidations")
_COLLECTOR_KIND: dict[type, str] = {
    Trade: "trades",
    Ticker: "tickers",
    Candle: "candles",
    DerivativeTicker: "funding/OI/index",
    Liquidation: "liquidations",
}
NOT_GENERATED = "not generated"


def collector_counts(frames: list[Frame]) -> Counter[str]:
    """What one replay of ``frames`` produced, named as :data:`KINDS`."""
    counts: Counter[str] = Counter()
    for event in Replay(frames):
        if type(event) is Book:
            counts["book snapshots" if event.snapshot else "book deltas"] += 1
        else:
            counts[_COLLECTOR_KIND.get(type(event), "other")] += 1
    return counts


def comparable(ours: Counter[str], theirs: Counter[str]) -> tuple[str, str]:
    """(why cryptofeed's number would mislead, how the counts differ); both empty when they agree.

    Counts may differ by design (cryptofeed skips the recent trades Coinbase and Gemini send on
    subscribe; Gate's periodic whole books are snapshots to collector, diffs to cryptofeed). A
    handler that turns less than a tenth of the frames' book updates (or, in a session without
    books, trades) into callbacks did not do the work, and its rate is not reported.
    """
    groups = {"book updates": ("book snapshots", "book deltas"), "trades": ("trades",)}
    totals = {label: (sum(ours[k] for k in keys), sum(theirs[k] for k in keys)) for label, keys in groups.items()}
    main = "book updates" if totals["book updates"][0] else "trades"
    mine, its = totals[main]
    if mine and its < mine / 10:
        return f"its handler produced {its:,} {main} where the frames carry {mine:,}", ""
    differs = [f"{label} {its:,} against collector's {mine:,}" for label, (mine, its) in totals.items() if mine != its]
    return "", "; ".join(differs)


def print_counts(ours: Counter[str] | None, theirs: Counter[str]) -> None:
    """The kinds either contender produced, side by side (``-``: collector has no adapter yet)."""
    print(f"  {'events':<18} {'collector':>10} {'cryptofeed':>10}")
    for kind in KINDS:
        mine = f"{ours[kind]:,}" if ours is not None else "-"
        if (ours and ours[kind]) or theirs[kind]:
            print(f"  {kind:<18} {mine:>10} {theirs[kind]:>10,}")


@contextmanager
def quiet_feedhandler() -> Iterator[_WarningCounter]:
    """Count cryptofeed's warnings (unexpected messages, book resets) instead of printing them."""
    log = logging.getLogger("feedhandler")
    counter = _WarningCounter()
    log.addHandler(counter)
    log.propagate = False
    try:
        yield counter
    finally:
        log.removeHandler(counter)
        log.propagate = True


class _WarningCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.first = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        self.first = self.first or record.getMessage()[:160]


@dataclass
class Checked:
    """A session both contenders replayed cleanly once, ready to time."""

    session: Session
    frames: list[Frame]
    recv: list[str | bytes]
    cryptofeed: Cryptofeed
    has_collector: bool


def check(row: Row, session: Session, loop: asyncio.AbstractEventLoop, ranges: Ranges) -> Checked | None:
    """One untimed session of each contender; print what each produced. ``None``: cryptofeed cannot replay it."""
    frames, left_out = prepare(row, session.frames)
    recv = [f.data for f in frames if f.kind == "recv"]
    has_collector = session.exchange in EXCHANGES
    print(f"\n{session.name} ({session.note}): {len(recv):,} frames", end="")
    print(f"; left out for both, frames cryptofeed never receives: {left_out}" if left_out else "")
    if row.note:
        print(f"  note: {row.note}")
    try:
        with quiet_feedhandler() as warnings:
            cf = Cryptofeed(row, session, frames, loop)
            warnings.count, warnings.first = 0, ""  # what building the probe feed said is not the session's
            theirs = cf.check()
        print(f"  cryptofeed {cf.feed_class.__name__}: {cf.describe()}")
        print(f"  connections (capture -> cryptofeed): {'; '.join(cf.routing)}")
        if cf.left_out:
            print(f"  recorded channels left out of cryptofeed's subscription: {', '.join(cf.left_out)}")
        first = f" (first: {warnings.first})" if warnings.count else ""
        print(f"  REST answered {cf.rest.served}; warnings {warnings.count}{first}; books uncrossed {cf.uncrossed()}")
        ours = collector_counts(frames) if has_collector else None
        print_counts(ours, theirs)
        problem, differs = comparable(ours, theirs) if ours is not None else ("", "")
        if problem:
            raise CannotReplay(problem)
        if differs:
            print(f"  counts differ: cryptofeed {differs}")
    except CannotReplay as exc:
        print(f"  cryptofeed cannot replay this: {exc}")
        ranges.note(session.name, f"cryptofeed cannot replay this: {exc}")
        return None
    if not has_collector:
        ranges.note(session.name, "collector: no adapter yet")
    return Checked(session, frames, recv, cf, has_collector)


def replay_sessions(frames: list[Frame], passes: int) -> None:
    """``passes`` collector sessions of ``frames``."""
    for _ in range(passes):
        for _event in Replay(frames):
            pass


def _nothing(conn: str, frame: str | bytes, received: float) -> list[Any]:
    return []


def replay_unparsed(frames: list[Frame], passes: int) -> None:
    """``passes`` collector sessions of ``frames`` whose adapter takes every frame and makes nothing
    of it: the replay loop itself, session setup included (what no adapter can go below)."""
    for _ in range(passes):
        replay = Replay(frames)
        replay.adapter.receive = _nothing  # type: ignore[method-assign]
        for _event in replay:
            pass


def _no_book_work(*args: Any, **kwargs: Any) -> None:
    return None


def replay_books_free(frames: list[Frame], passes: int) -> None:
    """``passes`` collector sessions of ``frames`` whose books do nothing: every delta and snapshot
    is dropped unread (no sequence check, no apply, no book event). Not a way to run collector:
    what its parsing and events cost with the whole book work taken away."""
    # On the class, before any adapter exists: routes compiled at construction hold bound methods.
    delta, snapshot = BookSync.delta, BookSync.snapshot
    BookSync.delta = BookSync.snapshot = _no_book_work  # type: ignore[method-assign,assignment]
    try:
        for _ in range(passes):
            for _event in Replay(frames):
                pass
    finally:
        BookSync.delta, BookSync.snapshot = delta, snapshot  # type: ignore[method-assign]


def measure(entry: Checked, repeat: int, min_frames: int, ranges: Ranges, books_free: bool = False) -> None:
    """Time one checked session, alternating the contenders; print it and record it in ``ranges``."""
    recv, frames, cf = entry.recv, entry.frames, entry.cryptofeed
    passes = max(1, min_frames // max(1, len(recv)))
    loads = floor_loads(recv)

    def floor() -> None:
        for _ in range(passes):
            for data in recv:
                loads(data)

    contenders: dict[str, Callable[[], object]] = {"orjson": floor}
    if entry.has_collector:
        contenders["collector"] = lambda: replay_sessions(frames, passes)
        contenders["loop"] = lambda: replay_unparsed(frames, passes)
        if books_free:
            contenders["books free"] = lambda: replay_books_free(frames, passes)
    contenders["cryptofeed"] = lambda: cf.run(passes)
    head = [f for f in frames if f.kind != "recv"]
    setup: dict[str, Callable[[], object]] = {"cryptofeed": lambda: cf.run(passes, frames=False)}
    if entry.has_collector:
        setup["collector"] = lambda: replay_sessions(head, passes)
    with quiet_feedhandler():
        times = best_times(contenders, repeat)
        setup_times = best_times(setup, repeat)
    print(f"\n{entry.session.name}: {len(recv):,} frames" + (f", {passes} sessions per sample" if passes > 1 else ""))
    record(entry.session.name, len(recv), passes, times, ranges)
    costs = ", ".join(f"{name} {t / passes * 1e3:.2f} ms" for name, t in setup_times.items())
    print(f"  session setup alone (listings, snapshots): {costs}")


def record(name: str, frames: int, passes: int, times: dict[str, float], ranges: Ranges) -> None:
    """Print one session's rates and add them to ``ranges``."""
    n = frames * passes
    fps = {contender: n / t for contender, t in times.items()}
    ranges.add(name, "frames", frames)
    for contender in ("collector", "cryptofeed", "orjson"):
        if contender in fps:
            floor = times["orjson"] / times[contender]
            print(f"  {contender:<12} {fps[contender]:>12,.0f} frames/s  {floor:.3f}x orjson")
            ranges.add(name, contender, fps[contender])
            ranges.add(name, f"{contender}_x", floor)
    if "collector" in fps:
        ranges.add(name, "ratio", fps["collector"] / fps["cryptofeed"])
        print(f"  collector / cryptofeed {fps['collector'] / fps['cryptofeed']:.2f}x")
    if "loop" in fps:
        # 5x cryptofeed against the least any adapter costs: the replay loop with an adapter that
        # parses nothing, plus one orjson.loads of every frame (the guide's floor of parsing it).
        bare = n / (times["loop"] + times["orjson"])
        target = 5 * fps["cryptofeed"]
        ranges.add(name, "target", target)
        ranges.add(name, "bare", bare)
        verdict = "beyond" if target > bare else "within"
        print(
            f"  5x cryptofeed: {target:,.0f} frames/s; the replay loop alone {fps['loop']:,.0f}, with one "
            f"orjson.loads a frame {bare:,.0f} frames/s: 5x is {verdict} that"
        )
    if "books free" in fps:
        free = fps["books free"]
        ranges.add(name, "books_free", free)
        ranges.add(name, "books_free_ratio", free / fps["cryptofeed"])
        print(
            f"  collector with its books doing nothing {free:,.0f} frames/s, "
            f"{free / fps['cryptofeed']:.2f}x cryptofeed (which keeps its books)"
        )


def sessions(args: argparse.Namespace, rows: list[Row]) -> Iterator[tuple[Row, Session]]:
    """The synthetic session of each row (shaped as cryptofeed subscribes), then the recordings."""
    from _cryptofeed_driver import shaped

    for row in rows:
        if args.synthetic and row.exchange in EXCHANGES:
            if row.cannot:
                yield row, Session(f"{row.exchange} synthetic", row.exchange, [], note=NOT_GENERATED)
                continue
            with shaped(row, checksums=args.checksums):
                yield row, synthetic_session(row.exchange, args.synthetic, row.symbols or None)
    if not args.no_recordings:
        wanted = [row.exchange for row in rows]
        for session in recording_sessions(wanted, unregistered=wanted):
            yield BY_EXCHANGE[session.exchange], session


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--exchange", help="comma-separated exchange ids (default: every row of the table)")
    parser.add_argument("--synthetic", type=int, default=100_000, help="frames per synthetic session (0: none)")
    parser.add_argument("--no-recordings", action="store_true", help="synthetic sessions only")
    parser.add_argument("--repeat", type=int, default=3, help="timed rounds per run; the fastest counts")
    parser.add_argument("--runs", type=int, default=1, help="repeat all timings this many times; print ranges")
    parser.add_argument("--min-frames", type=int, default=20_000, help="frames per sample for short recordings")
    parser.add_argument(
        "--books-free",
        action="store_true",
        help="also time collector with BookSync.delta and .snapshot doing nothing: what parsing and the "
        "other events cost without any book work (a bound, not a way to run it)",
    )
    parser.add_argument(
        "--checksums",
        action="store_true",
        help="cryptofeed validates book checksums too (checksum_validation=True; off by default in cryptofeed, "
        "always on in collector where a venue sends them), and the OKX simulator writes the CRC32s OKX sent "
        "before 2026-06-23 (0 since)",
    )
    args = parser.parse_args()
    try:
        version = metadata.version("cryptofeed")
    except metadata.PackageNotFoundError:
        print(f"cryptofeed is not installed here; run {__file__} with /tmp/cfvenv/bin/python (see its docstring)")
        return 0
    chosen = select_exchanges(args.exchange, known=[row.exchange for row in BY_EXCHANGE.values()])
    rows = [BY_EXCHANGE[name] for name in chosen]
    if args.checksums:
        rows = [dataclasses.replace(row, options={**row.options, "checksum_validation": True}) for row in rows]
    c_module = "on" if speedups.enabled() else "off"
    print(f"cryptofeed {version}; collector C module {c_module}; Python {platform.python_version()}")
    for row in rows:
        if row.exchange not in EXCHANGES:
            print(f"({row.exchange}: not registered in collector yet; its recording, if any, runs cryptofeed only)")
    ranges = Ranges()
    loop = asyncio.new_event_loop()
    checked: list[Checked] = []
    for row, session in sessions(args, rows):
        if session.note == NOT_GENERATED:
            print(f"\n{session.name}: cryptofeed cannot replay this: {row.cannot}")
            ranges.note(session.name, f"cryptofeed cannot replay this: {row.cannot}")
        elif (entry := check(row, session, loop, ranges)) is not None:
            checked.append(entry)
    for run in range(1, args.runs + 1):
        print(f"\n=== run {run}/{args.runs}: best of {args.repeat} rounds")
        for entry in checked:
            measure(entry, args.repeat, args.min_frames, ranges, args.books_free)
    columns = COLUMNS
    if args.books_free:
        columns += (
            ("books_free", "books doing nothing frames/s", rate),
            ("books_free_ratio", "books doing nothing / cryptofeed", ratio),
        )
    ranges.print("collector against cryptofeed on the same frames", columns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
