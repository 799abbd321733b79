"""Replay of a recorded Korbit (API v2) session through the real adapter, when one is available.

No Korbit recording ships with the project; a session recorded later at
``../shared/recordings/korbit.jsonl.zst`` is checked here: every frame is read without an
error, every book equals the recorded frame it came from, books never cross, and trade
ids are unique per pair.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from collector import read_capture
from collector.models import Book, Error, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "korbit.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/korbit.jsonl.zst")


def recorded_books() -> list[tuple[str, dict[float, float], dict[float, float]]]:
    """Each ``orderbook`` frame read independently: ``(native symbol, bids, asks)``."""
    books = []
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv":
            continue
        msg = json.loads(frame.data)
        if not isinstance(msg, dict) or msg.get("type") != "orderbook":
            continue
        d = msg["data"]
        bids = {float(lv["price"]): float(lv["qty"]) for lv in d["bids"] if float(lv["qty"])}
        asks = {float(lv["price"]): float(lv["qty"]) for lv in d["asks"] if float(lv["qty"])}
        books.append((msg["symbol"], bids, asks))
    return books


def test_recorded_session_replays_exactly() -> None:
    """Books equal the recorded frames and never cross; no frame is an error; trade ids are unique."""
    if not RECORDING.exists():
        pytest.skip("no Korbit recording is available")
    replay = Replay(RECORDING)
    expected = {}
    pending = iter(recorded_books())
    trades: Counter[tuple[str, str]] = Counter()
    errors = []
    for event in replay:
        if isinstance(event, Error):
            errors.append(event)
        elif isinstance(event, Trade):
            trades[event.symbol, event.id] += 1
        elif isinstance(event, Book):
            native, bids, asks = next(pending)
            expected[native] = (bids, asks)
            book = replay.adapter.book(event.symbol)
            assert book is not None
            assert replay.adapter.instruments.by_symbol(event.symbol).native == native
            assert (book.bids(), book.asks()) == (bids, asks)
            assert not book.crossed()
    assert replay.exchange == "korbit"
    assert errors == []
    assert [key for key, n in trades.items() if n > 1] == []
