"""Replaying Bitfinex captures made by another recorder.

``tests/fixtures/bitfinex/cryptofeed_session.jsonl`` is written in the shape a
cryptofeed-based recorder produces: its three configuration listings (``pub:list:pair:exchange``,
``pub:list:currency``, ``pub:list:pair:futures``, no label map), ``conf`` with ``SEQ_ALL`` only
(no checksums), books subscribed with ``len`` as a number, every message numbered, a lost
message, and the recorder's reconnect after it. A real recording, when
``../shared/recordings/`` holds one, must replay without errors and keep its books sound.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from collector import read_capture
from collector.models import Book, Error, Resync, Ticker, Trade
from collector.replay import Replay

ROOT = Path(__file__).resolve().parents[2]
SESSION = ROOT / "tests" / "fixtures" / "bitfinex" / "cryptofeed_session.jsonl"
RECORDINGS = sorted((ROOT.parent / "shared" / "recordings").glob("bitfinex*.jsonl*"))


def replayed(path: Path) -> tuple[Replay, list[object]]:
    replay = Replay(read_capture(path))
    return replay, list(replay)


def test_the_recorders_capture_is_recognised_and_mapped() -> None:
    """The host picks the adapter; its listings map ``tBTCUST`` and the ``F0`` perpetual without a label map."""
    replay, _ = replayed(SESSION)
    assert replay.exchange == "bitfinex"
    assert replay.adapter.instruments.symbol_of("tBTCUST") == "BTC/USDT"
    assert replay.adapter.instruments.symbol_of("tBTCF0:USTF0") == "BTC/USDT:USDT"
    # The label map was never recorded: one listing unanswered, not an error.
    assert replay.stats["unanswered_requests"] == 1


def test_trades_are_counted_once_across_the_recorders_reconnect() -> None:
    """Snapshot trades oldest first, ``te`` trades, no ``tu`` copies, no repeats from the second snapshot."""
    _, events = replayed(SESSION)
    trades = [(e.id, e.side, e.amount, e.price, e.timestamp) for e in events if isinstance(e, Trade)]
    assert trades == [
        ("1801122334", "buy", 0.01, 64991.0, 1786319999.5),
        ("1801122335", "sell", 0.002, 64990.0, 1786320000.8),
        ("1801122336", "buy", 0.25, 64991.0, 1786320001.2),
        ("1801122337", "sell", 0.1, 64990.0, 1786320001.28),
        ("1801122338", "buy", 0.05, 64991.0, 1786320002.1),
    ]


def test_the_lost_message_resyncs_the_books_and_the_reconnect_rebuilds_them() -> None:
    """Number 16 never came: both books on the socket resync (gap); the new socket's snapshots rebuild them."""
    replay, events = replayed(SESSION)
    assert [(e.symbol, e.reason, e.detail) for e in events if isinstance(e, Resync)] == [
        ("BTC/USD", "gap", "sequence 16 expected, got 17"),
        ("BTC/USDT:USDT", "gap", "sequence 16 expected, got 17"),
    ]
    assert [e for e in events if isinstance(e, Error)] == []
    btc = replay.adapter.book("BTC/USD")
    perp = replay.adapter.book("BTC/USDT:USDT")
    assert btc is not None and perp is not None and btc.synced and perp.synced
    assert (btc.bids(), btc.asks()) == ({64990.0: 0.4, 64987.0: 0.4}, {64991.0: 0.3, 64992.0: 0.8, 64995.0: 2.0})
    assert (perp.bids(), perp.asks()) == ({64970.0: 1.5, 64960.0: 0.3}, {64975.0: 0.9, 64980.0: 0.05})


def test_book_deltas_and_tickers_of_the_first_socket() -> None:
    """Level updates in absolute base units; the ticker's best prices and daily figures."""
    _, events = replayed(SESSION)
    deltas = [(e.bids, e.asks) for e in events if isinstance(e, Book) and not e.snapshot and e.symbol == "BTC/USD"]
    assert deltas == [
        ([], [(64991.0, 0.0)]),
        ([], [(64991.0, 0.3)]),
        ([(64989.0, 0.0)], []),
        ([(64987.0, 0.4)], []),
        ([(64985.0, 0.0)], []),
    ]
    tickers = [(e.bid, e.ask, e.last, e.high, e.low, e.volume) for e in events if isinstance(e, Ticker)]
    assert tickers == [
        (64990.0, 64991.0, 64990.0, 65500.0, 64100.0, 1234.5678),
        (64990.0, 64991.0, 64990.0, 65500.0, 64100.0, 1234.8678),
        (64990.0, 64991.0, 64991.0, 65500.0, 64100.0, 1234.9178),
    ]


@pytest.mark.skipif(not RECORDINGS, reason="no Bitfinex recording in ../shared/recordings")
@pytest.mark.parametrize("path", RECORDINGS, ids=[p.name for p in RECORDINGS])
def test_a_real_recording_replays_soundly(path: Path) -> None:
    """No errors, each trade id once per symbol, books never crossed and checksums (if any) passing."""
    replay = Replay(read_capture(path))
    adapter = replay.adapter
    seen: dict[str, set[str]] = defaultdict(set)
    crossed = []
    for event in replay:
        assert not isinstance(event, Error), event
        if isinstance(event, Trade):
            assert event.id not in seen[event.symbol], event
            seen[event.symbol].add(event.id)
            assert event.amount > 0 and event.timestamp is not None and event.timestamp > 1e9
        elif isinstance(event, Book):
            book = adapter.book(event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(event.symbol)
    assert crossed == []
    assert adapter.books.stats["resync.checksum"] == 0
