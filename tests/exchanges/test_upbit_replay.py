"""Replay of the recorded Upbit session (SIMPLE format, binary frames) through the real adapter."""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collector import read_capture, speedups
from collector.models import Book, Connected, Event, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "upbit.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/upbit.jsonl.zst")

Side = dict[float, float]


def reference_books() -> dict[str, deque[tuple[Side, Side]]]:
    """Each orderbook message is the whole book: the expected state is just its units."""
    states: dict[str, deque[tuple[Side, Side]]] = defaultdict(deque)
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv":
            continue
        assert isinstance(frame.data, bytes)  # Upbit sends binary frames
        msg = json.loads(frame.data.decode())
        if msg["ty"] != "orderbook":
            continue
        quote, base = msg["cd"].split("-")
        bids = {u["bp"]: u["bs"] for u in msg["obu"] if u["bp"] > 0 and u["bs"] > 0}
        asks = {u["ap"]: u["as"] for u in msg["obu"] if u["ap"] > 0 and u["as"] > 0}
        states[f"{base}/{quote}"].append((bids, asks))
    return states


@dataclass
class Run:
    """One replay of the recording and what the checks made during it found."""

    replay: Replay
    events: list[Event] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def run() -> Run:
    if not RECORDING.exists():
        pytest.skip("the shared recordings are not available")
    expected = reference_books()
    result = Run(Replay(RECORDING))
    adapter = result.replay.adapter
    for event in result.replay:
        result.events.append(event)
        if not isinstance(event, Book):
            continue
        book = adapter.book(event.symbol)
        assert book is not None
        bids, asks = expected[event.symbol].popleft()
        if not (event.snapshot and book.bids() == bids == dict(event.bids) and book.asks() == asks == dict(event.asks)):
            result.mismatches.append(f"{event.symbol} at {event.timestamp}")
        if book.crossed():
            result.crossed.append(f"{event.symbol} at {event.timestamp}")
    assert all(not left for left in expected.values()), "orderbook frames without a book event"
    return result


def test_every_frame_is_used(run: Run) -> None:
    """449 binary frames: 304 trades and 145 snapshots, nothing ignored, no error."""
    assert dict(run.replay.adapter.stats) == {}
    assert Counter(type(e).__name__ for e in run.events) == {"Trade": 304, "Book": 145, "Connected": 1}
    assert run.events[0] == Connected(
        "upbit", None, None, 1618678261.681707, "UPBIT.ws.62", "wss://api.upbit.com/websocket/v1"
    )
    assert dict(run.replay.adapter.books.stats) == {"snapshots": 145}


def test_books_equal_each_snapshot_and_never_cross(run: Run) -> None:
    """After every message the maintained book is exactly that message's levels."""
    assert run.mismatches == []
    assert run.crossed == []


def test_first_book_exact(run: Run) -> None:
    """The first KRW-LAMB orderbook: 15 levels a side, best first."""
    book = next(e for e in run.events if isinstance(e, Book))
    assert (book.symbol, book.timestamp, book.received, book.snapshot, book.sequence) == (
        "LAMB/KRW",
        1618678262.64,
        1618678263.105828,
        True,
        None,
    )
    assert (len(book.bids), len(book.asks)) == (15, 15)
    assert book.bids[:2] == [(126.0, 688682.44561413), (125.0, 1924299.53689703)]
    assert book.asks[:2] == [(127.0, 280460.37885666), (128.0, 502824.98156754)]
    assert book.bids[-1] == (112.0, 446759.1304656)
    assert book.asks[-1] == (141.0, 1185868.7185461)


def test_trades_exact_and_unique(run: Run) -> None:
    """KRW and BTC market trades with exact values; ``sequential_id`` never repeats per market."""
    trades = [e for e in run.events if isinstance(e, Trade)]
    assert trades[0] == Trade(
        "upbit", "LAMB/KRW", 1618678262.0, 1618678263.010785, 127.0, 46.48838371, "buy", "1618678262000003"
    )
    assert trades[1] == Trade(
        "upbit", "LAMB/KRW", 1618678262.0, 1618678263.291153, 126.0, 47.97601199, "sell", "1618678262000004"
    )
    assert next(t for t in trades if t.symbol == "ITAM/BTC") == Trade(
        "upbit", "ITAM/BTC", 1618678272.0, 1618678272.520575, 1.13e-06, 3416.89061628, "sell", "16186782720000000"
    )
    ids: dict[str, list[str]] = defaultdict(list)
    for t in trades:
        ids[t.symbol].append(t.id)
    assert {s: len(v) for s, v in ids.items()} == {s: len(set(v)) for s, v in ids.items()}
    assert sorted(ids) == ["ITAM/BTC", "LAMB/KRW", "WAVES/KRW"]


def test_frames_are_binary(run: Run) -> None:
    """The recording's frames are binary, as Upbit sends them; the adapter reads bytes directly."""
    frames = [f for f in read_capture(RECORDING) if f.kind == "recv"]
    assert len(frames) == 449
    assert all(isinstance(f.data, bytes) for f in frames)
    assert base64.b64encode(frames[0].data)[:8] == b"eyJ0eSI6"  # '{"ty":' base64-encoded


def test_the_fast_path_gives_what_the_python_path_gives(run: Run) -> None:
    """Trades and whole books of the recording are routed by the C fast path; the events equal those of
    a replay without it, frame for frame."""
    if not speedups.available():
        pytest.skip("collector._speedups is not compiled here")
    with speedups.disabled():
        python = list(Replay(RECORDING))
    assert run.events == python
    assert len(run.replay.adapter._router) == 2  # "trade" and "orderbook"
