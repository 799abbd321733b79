"""Replay of a recorded GOPAX session, where ``../shared/recordings`` holds one (skipped otherwise).

Every frame becomes events or is deliberately ignored; trades are unique per pair; books stay
uncrossed and equal a reference built straight from the frames (the reply's book, then each
entry by price, entries at or below the book's id skipped).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from collector import read_capture
from collector.models import Error, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "gopax.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/gopax.jsonl.zst")

Side = dict[float, float]


def reference() -> dict[str, tuple[Side, Side]]:
    """Final books by pair, built from the frames alone."""
    books: dict[str, tuple[Side, Side, int]] = {}
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv" or not str(frame.data).startswith("{"):
            continue
        msg = json.loads(frame.data)
        name, o = msg.get("n"), msg.get("o") or {}
        pair = o.get("tradingPairName")
        if name in ("SubscribeToOrderBook", "SubscribeToTradingPair") and o.get("result") is not False:
            bids = {e["price"]: e["volume"] for e in o["bid"] if e["volume"]}
            asks = {e["price"]: e["volume"] for e in o["ask"] if e["volume"]}
            books[pair] = (bids, asks, o.get("maxEntryId") or 0)
        elif name == "OrderBookEvent" and pair in books:
            bids, asks, last = books[pair]
            entries = [("bid", e) for e in o["bid"]] + [("ask", e) for e in o["ask"]]
            if max(e["entryId"] for _, e in entries) <= last:
                continue
            for side, e in entries:
                levels = bids if side == "bid" else asks
                if e["volume"]:
                    levels[e["price"]] = e["volume"]
                else:
                    levels.pop(e["price"], None)
            books[pair] = (bids, asks, max(last, *(e["entryId"] for _, e in entries)))
    return {pair: (b, a) for pair, (b, a, _) in books.items()}


def test_recording_replays_to_the_reference_books() -> None:
    """No frame is an error, trade ids are unique, and every synced book equals the reference."""
    if not RECORDING.exists():
        pytest.skip("no GOPAX recording in the shared recordings")
    replay = Replay(RECORDING)
    assert replay.exchange == "gopax"
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    seen = Counter((e.symbol, e.id) for e in events if isinstance(e, Trade))
    assert [key for key, n in seen.items() if n > 1] == []
    adapter = replay.adapter
    for pair, (bids, asks) in reference().items():
        symbol = adapter.instruments.symbol_of(pair)
        book = adapter.book(symbol) if symbol else None
        if book is None or not book.synced:
            continue
        assert not book.crossed(), pair
        assert (book.bids(), book.asks()) == (bids, asks), pair
