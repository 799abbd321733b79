"""Replay of a recorded Coinone session through the real adapter, when one is available.

No Coinone recording ships with the project; a session recorded later (``collector record``
or another recorder writing the capture format) at ``../shared/recordings/coinone.jsonl.zst``
is checked here: every frame is read without an error, every book equals the recorded
message it came from, books never cross, and trade ids are unique per market.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from collector import read_capture
from collector.models import Book, Error, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "coinone.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/coinone.jsonl.zst")


def recorded_books() -> list[tuple[str, dict[float, float], dict[float, float]]]:
    """Each ORDERBOOK message read independently: ``(BASE/QUOTE, bids, asks)``, DEFAULT or SHORT keys."""
    books = []
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv":
            continue
        msg = json.loads(frame.data)
        if not isinstance(msg, dict) or msg.get("response_type", msg.get("r")) != "DATA":
            continue
        if msg.get("channel", msg.get("c")) != "ORDERBOOK":
            continue
        d = msg.get("data", msg.get("d"))
        short = "data" not in msg
        price, qty = ("p", "q") if short else ("price", "qty")
        side = {"bids": "b", "asks": "a"} if short else {"bids": "bids", "asks": "asks"}
        quote, target = (d["qc"], d["tc"]) if short else (d["quote_currency"], d["target_currency"])
        levels = [{float(lv[price]): float(lv[qty]) for lv in d[side[s]] if float(lv[qty])} for s in ("bids", "asks")]
        books.append((f"{target.upper()}/{quote.upper()}", levels[0], levels[1]))
    return books


def test_recorded_session_replays_exactly() -> None:
    """Books equal the recorded messages and never cross; no frame is an error; trade ids are unique."""
    if not RECORDING.exists():
        pytest.skip("no Coinone recording is available")
    replay = Replay(RECORDING)
    expected = iter(recorded_books())
    trades: Counter[tuple[str, str]] = Counter()
    errors = []
    for event in replay:
        if isinstance(event, Error):
            errors.append(event)
        elif isinstance(event, Trade):
            trades[event.symbol, event.id] += 1
        elif isinstance(event, Book):
            symbol, bids, asks = next(expected)
            book = replay.adapter.book(event.symbol)
            assert book is not None and event.symbol == symbol
            assert (book.bids(), book.asks()) == (bids, asks)
            assert not book.crossed()
    assert replay.exchange == "coinone"
    assert errors == []
    assert [key for key, n in trades.items() if n > 1] == []
