"""Replay of Bitstamp captures as a cryptofeed-based recorder writes them, through the real adapter.

cryptofeed's Bitstamp feed connects to ``wss://ws.bitstamp.net/``, sends one
``bts:subscribe`` per channel (``live_trades_<pair>``, ``diff_order_book_<pair>``), and five
seconds later fetches ``https://www.bitstamp.net/api/v2/order_book/<pair>`` (no trailing
slash); the pair listing comes from ``/api/v2/trading-pairs-info/``. The capture below is
built the same way from the documented messages; a real recording in
``../shared/recordings/bitstamp.jsonl.zst`` is replayed too when it is there.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest

from collector import Frame
from collector.models import Book, Error, Resync, Trade
from collector.replay import Replay
from tests.conftest import RECORDINGS, fixture_text

T0 = 1580336900.0
WS = "wss://ws.bitstamp.net/"
LISTING = "https://www.bitstamp.net/api/v2/trading-pairs-info/"
SNAPSHOT = "https://www.bitstamp.net/api/v2/order_book/btcusd"  # as cryptofeed asks it
HEADER = {"t": "header", "format": 2, "exchange": "BITSTAMP", "config": {"l2_book": ["BTC-USD"], "trades": ["BTC-USD"]}}


def fixture(name: str) -> str:
    return fixture_text(f"bitstamp/{name}.json")


def diff(micro: int, bids: list[list[str]], asks: list[list[str]]) -> str:
    data = {"timestamp": str(micro // 1_000_000), "microtimestamp": str(micro), "bids": bids, "asks": asks}
    return json.dumps({"data": data, "channel": "diff_order_book_btcusd", "event": "data"})


def snapshot(micro: int) -> str:
    return fixture("order_book_snapshot").replace("1580336904228000", str(micro))


def session(conn: str, at: float) -> list[Frame]:
    """A connection as the recorder opens it: connect, one subscribe per channel, the acks."""
    frames = [Frame("connect", conn, at, "", WS)]
    for n, channel in enumerate(("live_trades_btcusd", "diff_order_book_btcusd", "detail_order_book_btcusd")):
        frames.append(
            Frame("send", conn, at + 0.01 * n, json.dumps({"event": "bts:subscribe", "data": {"channel": channel}}))
        )
        ack = {"event": "bts:subscription_succeeded", "channel": channel, "data": {}}
        frames.append(Frame("recv", conn, at + 0.2 + 0.01 * n, json.dumps(ack)))
    return frames


def capture() -> list[Frame]:
    snap = 1580336904228000
    detail = fixture("order_book").replace("order_book_btcusd", "detail_order_book_btcusd")
    return [
        Frame("header", "", T0, json.dumps(HEADER)),
        Frame("http", "BITSTAMP.http.0", T0, fixture("trading_pairs_info"), LISTING),
        *session("BITSTAMP.ws.1", T0 + 0.1),
        Frame("recv", "BITSTAMP.ws.1", T0 + 1.0, diff(snap - 3_000_000, [["9317.09", "7.00000000"]], [])),
        Frame("recv", "BITSTAMP.ws.1", T0 + 2.0, fixture("trade")),
        Frame("recv", "BITSTAMP.ws.1", T0 + 3.0, diff(snap - 1_000_000, [], [["9333.85", "9.00000000"]])),
        Frame("recv", "BITSTAMP.ws.1", T0 + 3.5, detail),
        Frame("http", "BITSTAMP.http.0", T0 + 5.2, snapshot(snap), SNAPSHOT),
        Frame("recv", "BITSTAMP.ws.1", T0 + 5.5, fixture("diff_order_book")),
    ]


def test_cryptofeed_capture_replays_to_the_documented_book() -> None:
    """Diffs older than the snapshot's microtimestamp are dropped; the snapshot pairs despite the missing slash."""
    replay = Replay(capture())
    assert replay.exchange == "bitstamp"  # recognised from wss://ws.bitstamp.net/
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    (trade,) = [e for e in events if isinstance(e, Trade)]
    assert (trade.symbol, trade.price, trade.amount, trade.side, trade.id) == (
        "BTC/USD",
        9334.73,
        0.00598803,
        "sell",
        "104007706",
    )
    books = [e for e in events if isinstance(e, Book)]
    assert [(b.snapshot, b.sequence, b.received) for b in books] == [
        (True, 1580336904228000, T0 + 5.2),
        (False, 1580336904228758, T0 + 5.5),
    ]
    book = replay.adapter.book("BTC/USD")
    assert book is not None and book.synced
    assert book.bids() == {9290.0: 0.6753084, 9294.36: 0.04967421, 9317.09: 2.6791}
    assert book.asks() == {9337.1: 0.03, 9339.2: 0.2, 9340.85: 2.6782, 9342.63: 4.9, 9343.76: 2.87275947}
    stats = replay.adapter.stats
    assert (stats["ignored.ack"], stats["ignored.detail_order_book"]) == (3, 1)
    assert replay.stats["unanswered_requests"] == 0


def test_a_recorder_reconnect_resyncs_the_book_onto_its_next_snapshot() -> None:
    """The recorder's new connection taking the diff channel resyncs the book, which joins the next snapshot."""
    later = 1580336990000000
    frames = [
        *capture(),
        *session("BITSTAMP.ws.2", T0 + 60.0),
        Frame("recv", "BITSTAMP.ws.2", T0 + 61.0, diff(later - 500_000, [["9310.00", "1.00000000"]], [])),
        Frame("http", "BITSTAMP.http.0", T0 + 65.2, snapshot(later), SNAPSHOT),
        Frame("recv", "BITSTAMP.ws.2", T0 + 65.5, diff(later + 1, [["9317.09", "0"]], [])),
    ]
    replay = Replay(frames)
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    (resync,) = [e for e in events if isinstance(e, Resync)]
    assert (resync.reason, resync.received) == ("reconnect", T0 + 60.21)  # the new connection's diff ack
    books = [(b.snapshot, b.sequence) for b in events if isinstance(b, Book)]
    assert books[-2:] == [(True, later), (False, later + 1)]
    book = replay.adapter.book("BTC/USD")
    assert book is not None and book.synced and book.best_bid() == (9296.14, 0.5)


def test_the_recorded_bitstamp_session_replays_cleanly() -> None:
    """The real recording (when present): no errors, unique trade ids, books synced and never crossed."""
    path = RECORDINGS / "bitstamp.jsonl.zst"
    if not path.exists():
        pytest.skip(f"recording bitstamp.jsonl.zst not available (expected at {path})")
    replay = Replay(path)
    assert replay.exchange == "bitstamp"
    crossed = []
    kinds: Counter[str] = Counter()
    trade_ids: dict[str, set[str]] = {}
    for event in replay:
        kinds[type(event).__name__] += 1
        if isinstance(event, Trade):
            ids = trade_ids.setdefault(event.symbol, set())
            assert event.id not in ids
            ids.add(event.id)
            assert event.side in ("buy", "sell") and event.amount > 0
        if isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(event.symbol)
    assert kinds["Error"] == 0
    assert crossed == []
    assert kinds["Trade"] > 0
