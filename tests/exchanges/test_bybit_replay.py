"""Replay of the recorded Bybit v5 session (spot + linear, 2026) through the real adapter."""

from __future__ import annotations

import json
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from collector import read_capture
from collector.models import Book, Candle, DerivativeTicker, Error, Event, Ticker, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "bybit.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/bybit.jsonl.zst")

# The session's instruments, written out here so the reference below does not reuse the adapter's map.
SYMBOLS = {
    ("linear", "BTCUSDT"): "BTC/USDT:USDT",
    ("linear", "ETHUSDT"): "ETH/USDT:USDT",
    ("linear", "SOLUSDT"): "SOL/USDT:USDT",
    ("linear", "DOGEUSDT"): "DOGE/USDT:USDT",
    ("spot", "BTCUSDT"): "BTC/USDT",
    ("spot", "ETHUSDT"): "ETH/USDT",
}

Side = dict[float, float]


def reference_books() -> dict[str, deque[tuple[int, Side, Side]]]:
    """Every book state the recording implies, per symbol, built with plain json and dicts."""
    states: dict[str, deque[tuple[int, Side, Side]]] = defaultdict(deque)
    books: dict[str, tuple[Side, Side]] = {}
    category: dict[str, str] = {}
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind == "connect":
            category[frame.conn] = frame.url.rsplit("/", 1)[1]
        if frame.kind != "recv":
            continue
        msg = json.loads(frame.data)
        if not msg.get("topic", "").startswith("orderbook."):
            continue
        symbol = SYMBOLS[category[frame.conn], msg["data"]["s"]]
        if msg["type"] == "snapshot":
            books[symbol] = ({}, {})
        bids, asks = books[symbol]
        for side, levels in ((bids, msg["data"]["b"]), (asks, msg["data"]["a"])):
            for price, size in levels:
                if float(size) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)
        states[symbol].append((msg["data"]["u"], dict(bids), dict(asks)))
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
        u, bids, asks = expected[event.symbol].popleft()
        if (event.sequence, book.bids(), book.asks()) != (u, bids, asks):
            result.mismatches.append(f"{event.symbol} u={event.sequence}")
        if book.crossed():
            result.crossed.append(f"{event.symbol} u={event.sequence}")
    assert all(not left for left in expected.values()), "book frames without a book event"
    return result


def first(run: Run, kind: type[Event], symbol: str, snapshot: bool | None = None) -> Event:
    return next(
        e
        for e in run.events
        if isinstance(e, kind) and e.symbol == symbol and (snapshot is None or getattr(e, "snapshot", None) is snapshot)
    )


def test_every_frame_is_used_or_counted(run: Run) -> None:
    """3227 frames: events for data, a counter for the 24 subscribe acks, no error from any frame."""
    adapter = run.replay.adapter
    assert dict(adapter.stats) == {"ignored.ack": 24}
    assert Counter(type(e).__name__ for e in run.events) == {
        "Book": 2148,
        "Ticker": 839,
        "Trade": 347,
        "Candle": 100,
        "DerivativeTicker": 192,
        "Connected": 2,
    }
    # The session recorded no inverse listing and subscribed no inverse topic: nothing to report.
    assert [e for e in run.events if isinstance(e, Error)] == []
    assert run.replay.stats["unanswered_requests"] == 1
    assert dict(adapter.books.stats) == {"snapshots": 6}


def test_books_follow_the_stream_and_never_cross(run: Run) -> None:
    """After every book event the maintained book equals the independently rebuilt one."""
    assert run.mismatches == []
    assert run.crossed == []
    assert sum(isinstance(e, Book) for e in run.events) == 2148


def test_spot_book_snapshot_and_first_delta(run: Run) -> None:
    """Exact values of the spot BTCUSDT orderbook.200 snapshot and the delta after it."""
    snap = first(run, Book, "BTC/USDT", snapshot=True)
    assert isinstance(snap, Book)
    assert (snap.timestamp, snap.received, snap.sequence) == (1786310816.516, 1786310819.5648682, 62505424)
    assert (len(snap.bids), len(snap.asks)) == (200, 200)
    assert snap.bids[:3] == [(65140.4, 0.885797), (65140.0, 0.014), (65139.6, 0.004622)]
    assert snap.asks[:3] == [(65140.5, 0.472203), (65140.7, 0.079971), (65140.8, 0.076782)]
    assert first(run, Book, "BTC/USDT", snapshot=False) == Book(
        "bybit",
        "BTC/USDT",
        1786310816.618,
        1786310819.5656881,
        False,
        [(65140.4, 0.875077)],
        [(65154.6, 0.09948), (65154.7, 0.123013), (65239.0, 0.155135), (65239.1, 0.0)],
        62505425,
    )


def test_trades_exact_and_unique(run: Run) -> None:
    """Linear and spot trades keep their ids, taker sides and values; ids never repeat per symbol."""
    assert first(run, Trade, "BTC/USDT:USDT") == Trade(
        "bybit",
        "BTC/USDT:USDT",
        1786310819.68,
        1786310819.965676,
        65114.2,
        0.004,
        "sell",
        "a9188a0a-82bc-50de-be60-03eedbe3cdd7",
    )
    assert first(run, Trade, "ETH/USDT") == Trade(
        "bybit", "ETH/USDT", 1786310821.917, 1786310822.0279648, 1923.28, 0.04537, "sell", "2280000001739247417"
    )
    ids: dict[str, list[str]] = defaultdict(list)
    for e in run.events:
        if isinstance(e, Trade):
            ids[e.symbol].append(e.id)
    assert {s: len(v) for s, v in ids.items()} == {s: len(set(v)) for s, v in ids.items()}
    assert sum(len(v) for v in ids.values()) == 347


def test_linear_ticker_snapshot_then_merged_delta(run: Run) -> None:
    """The first delta changes only bid/ask sizes; the rest comes from the snapshot."""
    snapshot, delta = [e for e in run.events if isinstance(e, Ticker) and e.symbol == "BTC/USDT:USDT"][:2]
    stats = {
        "last": 65114.3,
        "open": 65008.7,
        "high": 65282.3,
        "low": 64694.4,
        "volume": 17573.912,
        "quote_volume": 1142118412.9021,
    }
    assert snapshot == Ticker(
        "bybit", "BTC/USDT:USDT", 1786310817.583, 1786310819.526357, 65114.2, 5.954, 65114.3, 10.47, **stats
    )
    assert delta == Ticker(
        "bybit", "BTC/USDT:USDT", 1786310817.883, 1786310819.5264041, 65114.2, 6.054, 65114.3, 10.486, **stats
    )


def test_spot_ticker_has_no_bbo_without_orderbook_1(run: Run) -> None:
    """The session did not subscribe orderbook.1, so spot tickers carry statistics only."""
    assert first(run, Ticker, "ETH/USDT") == Ticker(
        "bybit",
        "ETH/USDT",
        1786310819.415,
        1786310819.526314,
        None,
        None,
        None,
        None,
        last=1923.27,
        open=1921.21,
        high=1927.4,
        low=1912.2,
        volume=19794.00132,
        quote_volume=38006188.5189037,
    )


def test_closed_candle(run: Run) -> None:
    """The closing 1m bar of linear BTCUSDT, exact."""
    assert first(run, Candle, "BTC/USDT:USDT") == Candle(
        "bybit", "BTC/USDT:USDT", 1786310818.44, 1786310819.963064, "1m", 1786310760.0, 1786310820.0,
        65119.9, 65119.9, 65114.2, 65114.3, 1.576, None, False,
    )  # fmt: skip
    closed = next(e for e in run.events if isinstance(e, Candle) and e.symbol == "BTC/USDT:USDT" and e.closed)
    assert closed == Candle(
        "bybit", "BTC/USDT:USDT", 1786310820.441, 1786310820.5499258, "1m", 1786310760.0, 1786310820.0,
        65119.9, 65119.9, 65114.2, 65114.2, 3.712, None, True,
    )  # fmt: skip


def reference_derivative_values() -> dict[str, dict[str, set[float]]]:
    """Distinct mark, index, funding, next funding and open interest values per linear symbol,
    read with plain json from every tickers frame (snapshot or delta: each carries what changed)."""
    fields = {
        "markPrice": "mark_price",
        "indexPrice": "index_price",
        "fundingRate": "funding_rate",
        "nextFundingTime": "next_funding_time",
        "openInterest": "open_interest",
    }
    values: dict[str, dict[str, set[float]]] = defaultdict(lambda: defaultdict(set))
    category: dict[str, str] = {}
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind == "connect":
            category[frame.conn] = frame.url.rsplit("/", 1)[1]
        if frame.kind != "recv" or category.get(frame.conn) != "linear":
            continue
        msg = json.loads(frame.data)
        if not msg.get("topic", "").startswith("tickers."):
            continue
        symbol = SYMBOLS["linear", msg["data"]["symbol"]]
        for wire, name in fields.items():
            if msg["data"].get(wire):
                number = float(msg["data"][wire])
                values[symbol][name].add(number / 1000 if wire == "nextFundingTime" else number)
    return values


def test_derivative_tickers_carry_every_distinct_value_of_the_session(run: Run) -> None:
    """Mark, index, funding rate, next funding time and open interest of the linear tickers, as sets of
    distinct values per symbol, equal what the frames carry; the first BTC one exactly."""
    expected = reference_derivative_values()
    seen: dict[str, dict[str, set[float]]] = defaultdict(lambda: defaultdict(set))
    for e in run.events:
        if isinstance(e, DerivativeTicker):
            for name in expected[e.symbol]:
                value = getattr(e, name)
                assert value is not None, (e.symbol, name)
                seen[e.symbol][name].add(value)
    assert set(seen) == {"BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "DOGE/USDT:USDT"}
    for symbol, fields in expected.items():
        assert {k: v for k, v in seen[symbol].items()} == dict(fields), symbol
    assert first(run, DerivativeTicker, "BTC/USDT:USDT") == DerivativeTicker(
        "bybit",
        "BTC/USDT:USDT",
        1786310817.583,
        1786310819.526357,
        mark_price=65117.44,
        index_price=65137.76,
        funding_rate=0.0001,
        next_funding_time=1786320000.0,
        open_interest=59891.732,
        open_interest_value=3899996265.01,
        last_price=65114.3,
    )
