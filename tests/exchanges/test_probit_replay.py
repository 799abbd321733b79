"""Replay of a recorded ProBit session, where ``../shared/recordings`` holds one (skipped otherwise).

Every frame becomes events or is deliberately ignored; trades are unique per market; books stay
uncrossed and equal a reference built straight from the frames (``reset`` replaces, others set
levels by price, the price-0 ``buy`` entry left out).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from collector import read_capture
from collector.models import Error, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "probit.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/probit.jsonl.zst")

Side = dict[float, float]
_BOOKS = ("order_books", *(f"order_books_l{n}" for n in range(5)))


def reference() -> dict[str, tuple[Side, Side]]:
    """Final books by market, built from the frames alone (the first book filter seen per market)."""
    books: dict[str, tuple[Side, Side]] = {}
    owner: dict[str, str] = {}
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv":
            continue
        msg = json.loads(frame.data)
        market = msg.get("market_id")
        if msg.get("channel") != "marketdata" or msg.get("status", "ok") != "ok":
            continue
        key = owner.get(market) or next((k for k in _BOOKS if k in msg), None)
        if key is None or key not in msg:
            continue
        owner[market] = key
        if msg.get("reset"):
            books[market] = ({}, {})
        if market not in books:
            continue
        bids, asks = books[market]
        for e in msg[key]:
            price, size = float(e["price"]), float(e["quantity"])
            if not price:
                continue
            levels = bids if e["side"] == "buy" else asks
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)
    return books


def test_recording_replays_to_the_reference_books() -> None:
    """No frame is an error, trade ids are unique, and every synced book equals the reference."""
    if not RECORDING.exists():
        pytest.skip("no ProBit recording in the shared recordings")
    replay = Replay(RECORDING)
    assert replay.exchange == "probit"
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    seen = Counter((e.symbol, e.id) for e in events if isinstance(e, Trade))
    assert [key for key, n in seen.items() if n > 1] == []
    adapter = replay.adapter
    for market, (bids, asks) in reference().items():
        symbol = adapter.instruments.symbol_of(market)
        book = adapter.book(symbol) if symbol else None
        if book is None or not book.synced:
            continue
        assert not book.crossed(), market
        assert (book.bids(), book.asks()) == (bids, asks), market
