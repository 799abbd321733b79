"""Replay of the recorded Deribit options session (2021, cryptofeed's recorder) through the real adapter."""

from __future__ import annotations

import json
from collections import Counter, defaultdict, deque
from typing import Any

import pytest

from collector import fastpath, read_capture, speedups
from collector.exchanges.deribit import DeribitAdapter, fast
from collector.models import Book, Connected, Event, Ticker
from collector.replay import Replay
from tests.conftest import recording

NAME = "deribit.jsonl.zst"

# The session's instruments, written out here so the reference below does not reuse the adapter's map.
SYMBOLS = {
    "BTC-24SEP21-8000-P": "BTC/USD:BTC-210924-8000-P",
    "BTC-30JUL21-24000-P": "BTC/USD:BTC-210730-24000-P",
    "ETH-30JUL21-2800-C": "ETH/USD:ETH-210730-2800-C",
    "BTC-31DEC21-34000-P": "BTC/USD:BTC-211231-34000-P",
    "BTC-24SEP21-34000-P": "BTC/USD:BTC-210924-34000-P",
    "BTC-24JUN22-15000-C": "BTC/USD:BTC-220624-15000-C",
    "BTC-31DEC21-300000-C": "BTC/USD:BTC-211231-300000-C",
    "ETH-27AUG21-4000-P": "ETH/USD:ETH-210827-4000-P",
    "BTC-25MAR22-30000-C": "BTC/USD:BTC-220325-30000-C",
    "ETH-23JUL21-2300-C": "ETH/USD:ETH-210723-2300-C",
}

Side = dict[float, float]


def reference_books(frames: list[Any]) -> dict[str, deque[tuple[int, Side, Side]]]:
    """Every book state the recording implies, per symbol, built with plain json and dicts."""
    states: dict[str, deque[tuple[int, Side, Side]]] = defaultdict(deque)
    books: dict[str, tuple[Side, Side]] = {}
    for frame in frames:
        if frame.kind != "recv":
            continue
        msg = json.loads(frame.data)
        channel = msg.get("params", {}).get("channel", "")
        if not channel.startswith("book."):
            continue
        data = msg["params"]["data"]
        symbol = SYMBOLS[data["instrument_name"]]
        if data["type"] == "snapshot":
            books[symbol] = ({}, {})
        else:
            assert data["prev_change_id"] == states[symbol][-1][0]
        bids, asks = books[symbol]
        for side, levels in ((bids, data["bids"]), (asks, data["asks"])):
            for action, price, amount in levels:
                if action == "delete":
                    side.pop(float(price))
                else:
                    side[float(price)] = float(amount)
        states[symbol].append((data["change_id"], dict(bids), dict(asks)))
    return states


@pytest.fixture(scope="module")
def frames() -> list[Any]:
    return sorted(read_capture(recording(NAME)), key=lambda f: f.ts)


@pytest.fixture(scope="module")
def events(frames: list[Any]) -> list[Event]:
    return list(Replay(frames))


def test_every_frame_becomes_events_or_is_counted(frames: list[Any]) -> None:
    """89 tickers and 46 book updates (10 snapshots, 36 changes); the subscribe reply is an ack; no error."""
    replay = Replay(frames)
    events = list(replay)
    kinds = Counter(type(e).__name__ for e in events)
    assert kinds == {"Ticker": 89, "Book": 46, "Connected": 1}
    assert sum(1 for e in events if isinstance(e, Book) and e.snapshot) == 10
    assert dict(replay.adapter.stats) == {"ignored.ack": 1}
    assert {e.symbol for e in events if not isinstance(e, Connected)} == set(SYMBOLS.values())
    # cryptofeed's listings (BTC, ETH, SOL, USDC) answer the adapter's; USDT and EURR were not recorded.
    assert replay.stats["unanswered_requests"] == 2


def test_books_follow_the_reference_and_never_cross(frames: list[Any]) -> None:
    """After every book event the maintained book equals the state the recording implies, uncrossed."""
    expected = reference_books(frames)
    replay = Replay(frames)
    adapter = replay.adapter
    checked = 0
    for event in replay:
        if not isinstance(event, Book):
            continue
        sequence, bids, asks = expected[event.symbol].popleft()
        book = adapter.book(event.symbol)
        assert book is not None and book.synced
        assert (event.sequence, book.bids(), book.asks()) == (sequence, bids, asks)
        assert not book.crossed()
        checked += 1
    assert checked == 46
    assert all(not left for left in expected.values())


def test_hand_checked_frames(events: list[Event]) -> None:
    """Values read off the recorded frames by hand: option tickers (one empty), snapshots, a change, a delete."""
    tickers = [e for e in events if isinstance(e, Ticker)]
    assert tickers[0] == Ticker(
        "deribit",
        "ETH/USD:ETH-210730-2800-C",
        1626993723.632,
        1626993723.804855,
        0.0015,
        4714.0,
        0.0025,
        873.0,
        last=0.002,
        high=0.0025,
        low=0.0015,
        volume=869.0,
    )
    # best_bid_price 0.0 and stats of nulls: no book, no 24 h statistics.
    assert tickers[1] == Ticker(
        "deribit", "ETH/USD:ETH-210827-4000-P", 1626993723.632, 1626993723.8049479, None, None, None, None, last=1.0165
    )
    books = [e for e in events if isinstance(e, Book)]
    assert books[0].bids == [(0.0015, 4714.0), (0.001, 861.0), (0.0005, 1.0)]
    assert books[0].asks[:3] == [(0.0025, 873.0), (0.003, 167.0), (0.004, 5.0)]
    assert (books[0].sequence, books[0].timestamp) == (13169025645, 1626993723.632)
    assert books[1] == Book(
        "deribit", "ETH/USD:ETH-210827-4000-P", 1626993723.632, 1626993723.844168, True, [], [], 13167318455
    )
    assert books[10] == Book(
        "deribit",
        "BTC/USD:BTC-210924-8000-P",
        1626993724.318,
        1626993724.283178,
        False,
        [],
        [(0.001, 2.6)],
        33195894355,
    )
    assert books[11].asks == [(0.001, 0.0)]  # ["delete", 0.001, 0.0]
    assert books[11].sequence == 33195894358


def test_routed_frames_give_the_same_events(frames: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """With every channel routed from its first frame, with the fast path's Python specification and in
    pure Python, the recording gives the same events."""
    if not speedups.available():
        pytest.skip("collector._speedups is not compiled here")
    baseline = list(Replay(frames))
    monkeypatch.setattr(fast, "ROUTE_AFTER", 1)
    replay = Replay(frames)
    routed = list(replay)
    # The ten option tickers and the ten books are routed (the session has no trades).
    adapter = replay.adapter
    assert isinstance(adapter, DeribitAdapter)
    assert sorted({kind for kind in adapter._routed.values()}) == ["book", "ticker"]
    assert len(adapter._routed) == 20
    with fastpath.specification():
        specified = list(Replay(frames))
    with speedups.disabled():
        plain = list(Replay(frames))
    assert routed == baseline == specified == plain
