"""synthetic_frames: a capture-format session that collector.replay turns into synced books and every channel."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from collector import Replay
from collector.capture import Frame
from collector.models import Book, Candle, Ticker, Trade
from collector.simulator import synthetic_frames
from tests.simulator.helpers import RuleBook

CASES = [
    ("binance", ["BTC/USDT", "ETH/USDT"], False),
    ("binance_usdm", ["BTC/USDT:USDT"], True),
    ("binance_coinm", ["BTC/USD:BTC", "ETH/USD:ETH"], True),
]


def reference_books(frames: list[Frame], futures: bool) -> dict[str, RuleBook]:
    """Books rebuilt from the frames alone: each symbol's recorded snapshot plus its diffs, by the documented rule."""
    books: dict[str, RuleBook] = {}
    for f in frames:
        if f.kind == "recv":
            msg = orjson.loads(f.data)
            if msg.get("stream", "").endswith("@depth@100ms"):
                books.setdefault(msg["data"]["s"], RuleBook(futures)).feed(msg["data"])
        elif f.kind == "http" and "/depth?" in f.url:
            native = f.url.split("symbol=")[1].split("&")[0]
            books[native].snapshot(orjson.loads(f.data))
    return books


@pytest.mark.parametrize(("exchange", "symbols", "futures"), CASES)
def test_replay_yields_synced_books_equal_to_reference(exchange: str, symbols: list[str], futures: bool) -> None:
    """Replaying a synthetic session syncs every book to the reference, with one event per frame of each channel."""
    frames = synthetic_frames(exchange, symbols, frames=6000, seed=2)
    run = Replay(frames)
    events = list(run)
    counts = Counter(type(e) for e in events)
    streams = Counter(orjson.loads(f.data).get("stream", "ack").partition("@")[2] for f in frames if f.kind == "recv")
    assert sum(streams.values()) - streams[""] == 6000
    assert counts[Trade] == streams["aggTrade"] and counts[Ticker] == streams["bookTicker"]
    assert counts[Candle] == streams["kline_1m"] and any(e.closed for e in events if isinstance(e, Candle))
    # One snapshot event per symbol, then every diff except those the snapshot already covered.
    assert counts[Book] >= streams["depth@100ms"]
    assert not [e for e in events if type(e).__name__ in ("Error", "Resync")]
    reference = reference_books(frames, futures)
    for symbol in symbols:
        book = run.adapter.book(symbol)
        native = run.adapter.instruments.by_symbol(symbol).native
        assert book is not None and book.synced
        assert (book.bids(), book.asks(), book.sequence) == (
            reference[native].bids,
            reference[native].asks,
            reference[native].last,
        )
        assert 30 <= len(book.bids()) <= 50


def test_session_layout() -> None:
    """Header, instrument list, one connection per USDⓈ-M route with its subscribe and ack, then data."""
    frames = synthetic_frames("binance_usdm", ["BTC/USDT:USDT"], frames=10, seed=1)
    head = [(f.kind, f.conn, f.url) for f in frames[:8]]
    assert head == [
        ("header", "", ""),
        ("http", "http", "https://fapi.binance.com/fapi/v1/exchangeInfo"),
        ("connect", "binance_usdm.ws.1", "wss://fstream.binance.com/market/stream"),
        ("send", "binance_usdm.ws.1", ""),
        ("recv", "binance_usdm.ws.1", ""),
        ("connect", "binance_usdm.ws.2", "wss://fstream.binance.com/public/stream"),
        ("send", "binance_usdm.ws.2", ""),
        ("recv", "binance_usdm.ws.2", ""),
    ]
    assert orjson.loads(frames[3].data) == {
        "method": "SUBSCRIBE",
        "params": ["btcusdt@aggTrade", "btcusdt@kline_1m"],
        "id": 1,
    }
    assert orjson.loads(frames[4].data) == {"result": None, "id": 1}
    assert orjson.loads(frames[0].data)["exchange"] == "BINANCE_USDM"
    assert [f.ts for f in frames] == sorted(f.ts for f in frames)


def test_same_seed_same_session() -> None:
    """Generation is a pure function of its arguments."""
    one = synthetic_frames("binance", ["BTC/USDT"], frames=500, seed=9)
    two = synthetic_frames("binance", ["BTC/USDT"], frames=500, seed=9)
    other = synthetic_frames("binance", ["BTC/USDT"], frames=500, seed=10)
    assert one == two
    assert [f.data for f in one[5:]] != [f.data for f in other[5:]]
