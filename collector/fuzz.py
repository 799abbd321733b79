"""Hostile variants of real frames, and the check that an adapter survives them.

:class:`Mutator` turns a frame an exchange really sends into one that looks like it but
is broken: a flipped byte, a cut, a value of the wrong type, ``NaN``/``Infinity``/negative
or absurdly large numbers, a missing or extra key, 100,000 levels of nesting, bytes that
are not UTF-8, a 10 MB frame. :func:`fuzz_session` feeds many of them through an adapter's
boundary (:meth:`~collector.exchanges.base.Adapter.receive`) between good frames
(:func:`fuzz_session`) and checks what every exchange adapter promises: nothing escapes, and no event and no book
ever holds a non-finite, non-positive price or a negative size.

``python benchmarks/fuzz_adapters.py`` runs a million mutations per adapter; the test
suite runs fewer.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from .book import valid_levels
from .capture import Frame
from .exchanges.base import Adapter
from .models import Book, MarketEvent
from .replay import Replay
from .validate import invalid

__all__ = ["FuzzReport", "Mutator", "check_books", "fuzz_session", "ready_at"]

Codec = tuple[Callable[[bytes], bytes], Callable[[bytes], bytes]]
"""``(decode, encode)`` between a wire frame and its JSON bytes, for compressed frames (gzip)."""

# Replacement values for a leaf, as raw JSON text (some are not JSON at all, on purpose).
_HOSTILE_LEAVES: tuple[bytes, ...] = (
    b'"NaN"',
    b'"nan"',
    b'"Infinity"',
    b'"-Infinity"',
    b"NaN",
    b"Infinity",
    b'"-1"',
    b"-1",
    b'"0"',
    b"0",
    b'"-0.000001"',
    b"1e400",
    b'"1e400"',
    b"-1e400",
    b"18446744073709551616",
    b"340282366920938463463374607431768211456",
    b'"18446744073709551616"',
    b"9223372036854775807",
    b"null",
    b"true",
    b"[]",
    b"{}",
    b'""',
    b'"x"',
    b'"\\u0000"',
    b"[1,2,3]",
    b'{"nested":{"deeper":[null]}}',
    b"1.5",
    b"-5",
    b'"12abc"',
)
_PLACEHOLDER = "\u0000fuzz\u0000"


@dataclass
class Mutator:
    """Produces broken variants of frames, reproducibly from ``seed``.

    ``codec`` decodes and re-encodes frames that are not plain JSON (gzip); ``big`` is the
    size of the occasional oversized frame.
    """

    seed: int = 0
    codec: Codec | None = None
    big: int = 10 * 1024 * 1024
    big_every: int = 200_000
    _rng: random.Random = field(init=False)
    _count: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def mutate(self, frame: str | bytes) -> str | bytes:
        """One broken variant of ``frame`` (text frames stay text unless made non-UTF-8)."""
        self._count += 1
        rng = self._rng
        raw = frame.encode() if isinstance(frame, str) else frame
        if self.codec is not None and isinstance(frame, bytes):
            try:
                raw = self.codec[0](frame)
            except Exception:
                return self._bytes(raw)
        if self._count % self.big_every == 0:
            out = self._oversized(raw)
        else:
            choice = rng.random()
            if choice < 0.55:
                out = self._structural(raw)
            elif choice < 0.85:
                out = self._bytes(raw)
            elif choice < 0.93:
                out = self._nested(raw)
            else:
                out = raw + rng.choice((b"", b"x", b" ", b"}", b"]", b",", b"\xff"))
        if self.codec is not None and isinstance(frame, bytes) and rng.random() < 0.9:
            return self.codec[1](out)
        if isinstance(frame, str) and rng.random() < 0.95:
            try:
                return out.decode()
            except UnicodeDecodeError:
                return out  # not UTF-8: it can only arrive as a binary frame
        return out

    def _bytes(self, raw: bytes) -> bytes:
        rng = self._rng
        data = bytearray(raw)
        if not data:
            return b"\xff"
        kind = rng.random()
        if kind < 0.35:
            for _ in range(rng.randint(1, 4)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif kind < 0.7:
            del data[rng.randrange(len(data)) :]
        elif kind < 0.85:
            at = rng.randrange(len(data))
            data[at:at] = rng.choice((b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"))
        else:
            start = rng.randrange(len(data))
            end = min(len(data), start + rng.randint(1, 16))
            data[start:start] = data[start:end]
        return bytes(data)

    def _structural(self, raw: bytes) -> bytes:
        rng = self._rng
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return self._bytes(raw)
        paths = list(_paths(obj))
        if not paths:
            return self._bytes(raw)
        path = rng.choice(paths)
        kind = rng.random()
        replacement: bytes | None = None
        if kind < 0.7:
            replacement = rng.choice(_HOSTILE_LEAVES)
            obj = _set(obj, path, _PLACEHOLDER)
        elif kind < 0.8:
            obj = _set(obj, path, _negated(_get(obj, path)))
        elif kind < 0.9:
            obj = _delete(obj, path)
        else:
            obj = _add_key(obj, path, rng)
        text = orjson.dumps(obj)
        if replacement is not None:
            text = text.replace(orjson.dumps(_PLACEHOLDER), replacement, 1)
        return text

    def _nested(self, raw: bytes) -> bytes:
        depth = self._rng.choice((64, 1000, 100_000))
        junk = b"[" * depth + b"]" * depth
        if raw.startswith(b"{") and len(raw) > 2:
            return b'{"zz":' + junk + b"," + raw[1:]
        if raw.startswith(b"[") and len(raw) > 2:
            return b"[" + junk + b"," + raw[1:]
        return junk

    def _oversized(self, raw: bytes) -> bytes:
        if raw.startswith(b"{") and len(raw) > 2:
            return b'{"padding":"' + b"x" * self.big + b'",' + raw[1:]
        return raw + b" " * self.big


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:8]):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _get(obj: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _set(obj: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    _get(obj, path[:-1])[path[-1]] = value
    return obj


def _delete(obj: Any, path: tuple[Any, ...]) -> Any:
    parent = _get(obj, path[:-1]) if path[:-1] else obj
    del parent[path[-1]]
    return obj


def _add_key(obj: Any, path: tuple[Any, ...], rng: random.Random) -> Any:
    target = _get(obj, path)
    if isinstance(target, dict):
        target[rng.choice(("extra", "data", "s", "p", "u", "type", "topic"))] = rng.choice(
            (None, 1, "x", [], {"a": [1]}, "NaN")
        )
        return obj
    return _set(obj, path, [target, target])


def _negated(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return -value if value else -1
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value + "!"
        return "-" + value if number > 0 else value.lstrip("-") + "1"
    return value


@dataclass
class FuzzReport:
    """What :func:`fuzz` saw: frames fed, events by kind, and every broken promise found."""

    frames: int = 0
    mutated: int = 0
    errors: int = 0
    events: int = 0
    escapes: list[str] = field(default_factory=list)
    bad_values: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing escaped and no impossible value reached an event or a book."""
        return not (self.escapes or self.bad_values)


def check_books(adapter: Adapter) -> list[str]:
    """Impossible levels, or crossed synced books, in ``adapter``'s maintained books."""
    problems = []
    for symbol in adapter.books.symbols():
        book = adapter.books.book(symbol)
        if book is None:
            continue
        depth = book.depth()
        if not (valid_levels(depth.bids) and valid_levels(depth.asks)):
            problems.append(f"{symbol}: impossible level in the book")
        if book.synced and book.crossed():
            problems.append(f"{symbol}: synced book is crossed")
    return problems


def ready_at(exchange: str, frames: Sequence[Frame]) -> int:
    """How many records of a time-ordered session it takes until every book it carries is synced.

    A fuzz episode replays that many records unmutated (instruments, connections, snapshots)
    before it starts breaking frames.
    """
    frames = sorted(frames, key=lambda f: f.ts)
    whole = Replay(frames, exchange=exchange)
    for _ in whole:
        pass
    symbols = whole.adapter.books.symbols()
    replay = Replay(frames, exchange=exchange)
    books = replay.adapter.books
    for event in replay:
        if all((b := books.book(s)) is not None and b.synced for s in symbols):
            # Every record up to the frame (or REST answer) that produced this event.
            return bisect_right([f.ts for f in frames], event.received)
    return len(frames)


def fuzz_session(
    exchange: str,
    frames: Sequence[Frame],
    count: int,
    *,
    seed: int = 0,
    codec: Codec | None = None,
    every: int = 2,
    compare: Callable[[Adapter, str | bytes, list[Any]], None] | None = None,
) -> FuzzReport:
    """Feed ``count`` frames of a session through fresh ``exchange`` adapters, every ``every``-th mutated.

    Each episode replays the session's setup (:func:`ready_at`) unmutated, so books are
    synced, then feeds the rest of its frames in order through the adapter's boundary,
    breaking every ``every``-th one; episodes repeat until ``count`` frames were fed. The
    report lists anything that escaped the boundary and any impossible value that reached
    an event or a book. ``compare(adapter, frame, out)`` is called with every result (to
    check it against another implementation).
    """
    frames = sorted(frames, key=lambda f: f.ts)
    ready = ready_at(exchange, frames)
    setup = list(frames[:ready])
    body = [(f.conn, f.data, f.ts) for f in frames[ready:] if f.kind == "recv"]
    if not body:
        raise ValueError(f"the {exchange} session has no frames after its setup")
    mutator = Mutator(seed, codec)
    report = FuzzReport()
    fed = 0
    while fed < count:
        replay = Replay(setup, exchange=exchange)
        for _ in replay:
            pass
        adapter = replay.adapter
        receive = adapter.receive
        for i, (conn, frame, ts) in enumerate(body):
            if fed >= count:
                break
            fed += 1
            if i % every == 0:
                frame = mutator.mutate(frame)
                report.mutated += 1
            try:
                out = receive(conn, frame, ts)
            except BaseException as exc:  # the boundary must hold whatever comes
                report.escapes.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            report.frames += 1
            if compare is not None:
                compare(adapter, frame, out)
            _inspect(out, report)
            if i % 1024 == 0:
                _note(report, check_books(adapter))
        _note(report, check_books(adapter))
    return report


def _inspect(out: list[Any], report: FuzzReport) -> None:
    for item in out:
        if not isinstance(item, MarketEvent):
            if type(item).__name__ == "Error":
                report.errors += 1
            continue
        report.events += 1
        why = invalid(item)
        if why is None and isinstance(item, Book) and not valid_levels([*item.bids, *item.asks]):
            why = "book event with an impossible level"
        if why is not None:
            _note(report, [f"{type(item).__name__} {item.symbol}: {why}"])


def _note(report: FuzzReport, problems: list[str]) -> None:
    room = 20 - len(report.bad_values)
    if problems and room > 0:
        report.bad_values.extend(problems[:room])
