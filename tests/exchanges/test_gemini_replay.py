"""Replay of the recorded Gemini market data v2 session (2026, cryptofeed ``l2`` of ten symbols) through the adapter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pytest

from collector import read_capture
from collector.actions import RestRequest
from collector.exchanges import ConnectionPlan
from collector.exchanges.gemini import GeminiAdapter
from collector.models import Book, Error, Event, Ticker, Trade
from collector.replay import Replay
from tests.conftest import RECORDINGS, recording

RECORDING = RECORDINGS / "gemini.jsonl.zst"

# The session's symbols, written out here so the reference below does not reuse the adapter's map.
# cryptofeed names symbols by base and quote only: its BTC-USDC and ETH-USDC subscribed the perpetuals.
SYMBOLS = {
    "BTCUSD": "BTC/USD",
    "BTCUSDT": "BTC/USDT",
    "BTCEUR": "BTC/EUR",
    "BTCGBP": "BTC/GBP",
    "ETHUSD": "ETH/USD",
    "ETHUSDT": "ETH/USDT",
    "SOLUSD": "SOL/USD",
    "BTCUSDCPERP": "BTC/USDC:USDC",
    "ETHUSDCPERP": "ETH/USDC:USDC",
    "SOLUSDCPERP": "SOL/USDC:USDC",
}

Side = dict[float, float]


def reference_books() -> Iterator[tuple[str, bool, list[tuple[float, float]], Side, Side]]:
    """Every book state the recording implies, one per l2_updates message, built with orjson and dicts.

    Yields ``(symbol, snapshot, levels of the message, bids, asks)``; the dicts are the live
    reference state, valid until the next item.
    """
    books: dict[str, tuple[Side, Side]] = {}
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv":
            continue
        msg = orjson.loads(frame.data)
        if msg["type"] != "l2_updates":
            continue
        symbol = SYMBOLS[msg["symbol"]]
        snapshot = "trades" in msg
        if snapshot:
            books[symbol] = ({}, {})
        bids, asks = books[symbol]
        levels = []
        for side, price_text, size_text in msg["changes"]:
            book = bids if side == "buy" else asks
            price, size = float(price_text), float(size_text)
            levels.append((price, size))
            if size == 0:
                book.pop(price, None)
            else:
                book[price] = size
        yield symbol, snapshot, levels, bids, asks


@dataclass
class Run:
    """One replay of the recording and what the checks made during it found."""

    replay: Replay
    events: list[Event] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)
    stale_tickers: list[str] = field(default_factory=list)
    top_changes: int = 0
    compared: int = 0


@pytest.fixture(scope="module")
def run() -> Run:
    recording("gemini.jsonl.zst")  # skips when the shared recordings are not beside the clone
    expected = reference_books()
    result = Run(Replay(RECORDING))
    adapter = result.replay.adapter
    tops: dict[str, object] = {}
    for event in result.replay:
        result.events.append(event)
        if isinstance(event, Ticker):
            book = adapter.book(event.symbol)
            assert book is not None
            if (book.best_bid(), book.best_ask()) != ((event.bid, event.bid_size), (event.ask, event.ask_size)):
                result.stale_tickers.append(f"{event.symbol} at {event.received}")
        if not isinstance(event, Book):
            continue
        book = adapter.book(event.symbol)
        assert book is not None
        symbol, snapshot, levels, bids, asks = next(expected)
        where = f"{event.symbol} book event {result.compared}"
        if (event.symbol, event.snapshot) != (symbol, snapshot) or sorted(event.bids + event.asks) != sorted(levels):
            result.mismatches.append(f"{where}: event")
        if book.bids() != bids or book.asks() != asks:
            result.mismatches.append(f"{where}: book")
        if book.crossed():
            result.crossed.append(where)
        top = (book.best_bid(), book.best_ask())
        if tops.get(event.symbol) != top:
            result.top_changes += 1
            tops[event.symbol] = top
        result.compared += 1
    assert next(expected, None) is None, "l2_updates messages without a book event"
    return result


def of(run: Run, kind: type[Event], symbol: str) -> list[Event]:
    return [e for e in run.events if isinstance(e, kind) and e.symbol == symbol]


def test_event_counts_and_counters(run: Run) -> None:
    """563 frames: ten initial responses with their trades, 549 changes, 2 live trades, 2 heartbeats counted."""
    assert Counter(type(e).__name__ for e in run.events) == {
        "Trade": 812,
        "Book": 559,
        "Ticker": 114,
        "Connected": 1,
    }
    assert [e for e in run.events if isinstance(e, Error)] == []
    assert dict(run.replay.adapter.stats) == {"ignored.heartbeat": 2}
    assert dict(run.replay.adapter.books.stats) == {"snapshots": 10}
    # The listing and its 347 details calls were all answered from the recording.
    assert run.replay.stats["unanswered_requests"] == 0
    assert len(run.replay.adapter.instruments) == 347


def test_every_frame_becomes_events_or_is_counted() -> None:
    """Frame by frame through the adapter's boundary: each data frame gives events, each heartbeat is counted."""
    recording("gemini.jsonl.zst")
    frames = sorted(read_capture(RECORDING), key=lambda f: f.ts)
    adapter = GeminiAdapter()
    details = {f.url.rsplit("/", 1)[1]: f.data for f in frames if f.kind == "http" and "/details/" in f.url}
    for request in adapter.instrument_requests():
        native = request.url.rsplit("/", 1)[1]
        body = details[native] if native != "symbols" else next(f.data for f in frames if f.kind == "http")
        assert adapter.answer(request, 200, body.encode(), 0.0) == []
    by_type: Counter[str] = Counter()
    for frame in frames:
        if frame.kind == "connect":
            adapter.connected(ConnectionPlan(frame.conn, frame.url), frame.ts)
        if frame.kind != "recv":
            continue
        kind = orjson.loads(frame.data)["type"]
        ignored = sum(v for k, v in adapter.stats.items() if k.startswith("ignored."))
        out = adapter.receive(frame.conn, frame.data, frame.ts)
        assert not [e for e in out if isinstance(e, Error)], frame.data[:200]
        counted = sum(v for k, v in adapter.stats.items() if k.startswith("ignored.")) > ignored
        assert out or counted, frame.data[:200]
        by_type[kind if out else f"{kind} (counted)"] += 1
    assert by_type == {"l2_updates": 559, "trade": 2, "heartbeat (counted)": 2}


def test_recorded_symbols_map_both_ways(run: Run) -> None:
    """Spot pairs, and linear perpetuals settled in their quote (whatever contract_price_currency says)."""
    adapter = run.replay.adapter
    got = {
        native: (i.symbol, i.kind, i.settle, i.contract_size, i.tick_size, i.step_size)
        for native in ("BTCUSD", "BTCUSDCPERP", "ETHUSDCPERP", "BTCGUSDPERP", "ETHBTC")
        for i in [adapter.instruments.by_native(native)]
    }
    assert got == {
        "BTCUSD": ("BTC/USD", "spot", None, 1.0, 0.01, 1e-08),
        "BTCUSDCPERP": ("BTC/USDC:USDC", "swap", "USDC", 1.0, 0.5, 0.0001),
        "ETHUSDCPERP": ("ETH/USDC:USDC", "swap", "USDC", 1.0, 0.05, 0.001),
        "BTCGUSDPERP": ("BTC/GUSD:GUSD", "swap", "GUSD", 1.0, 0.5, 0.0001),
        "ETHBTC": ("ETH/BTC", "spot", None, 1.0, 1e-05, 1e-06),
    }
    assert sorted(i.native for i in adapter.instruments if not i.active) == ["EFILFIL", "GUSDUSD"]  # closed
    assert adapter.instruments.by_symbol("BTC/USDC:USDC").native == "BTCUSDCPERP"
    # The recorder asked for details by lower-case id; the same answers pair with any case.
    request = RestRequest("https://api.gemini.com/v1/symbols/details/BTCUSD", "instruments")
    assert GeminiAdapter.match_key(request.url)[2] == "btcusd"


def test_books_equal_the_independent_reference_and_never_cross(run: Run) -> None:
    """After every book event the maintained book equals the one rebuilt from the raw frames; none crossed."""
    assert run.compared == 559
    assert run.mismatches == []
    assert run.crossed == []


def test_book_snapshot_and_first_change(run: Run) -> None:
    """Exact values of the BTC/USD initial response (4995 levels) and the change after it."""
    snapshot, change = of(run, Book, "BTC/USD")[:2]
    assert isinstance(snapshot, Book) and isinstance(change, Book)
    assert (snapshot.snapshot, snapshot.timestamp, snapshot.received, snapshot.sequence) == (
        True,
        None,
        1786313193.7545228,
        None,
    )
    assert (len(snapshot.bids), len(snapshot.asks)) == (2250, 2745)
    assert snapshot.bids[:2] == [(65206.28, 0.05292903), (65206.27, 0.08)]
    assert snapshot.asks[:2] == [(65206.29, 0.09946556), (65209.32, 1.20827508)]
    assert change == Book("gemini", "BTC/USD", None, 1786313193.7617228, False, [(65205.5, 0.0)], [], None)


def test_initial_trades_then_live_trades_once_each(run: Run) -> None:
    """Each initial response's trades (up to 100, oldest first), then the live ones; ids unique and rising."""
    counts = {s: len(of(run, Trade, s)) for s in SYMBOLS.values()}
    assert counts == {
        "BTC/USD": 102,
        "BTC/USDT": 100,
        "BTC/EUR": 10,
        "BTC/GBP": 0,
        "ETH/USD": 100,
        "ETH/USDT": 100,
        "SOL/USD": 100,
        "BTC/USDC:USDC": 100,
        "ETH/USDC:USDC": 100,
        "SOL/USDC:USDC": 100,
    }
    btc = of(run, Trade, "BTC/USD")
    assert btc[0] == Trade(
        "gemini", "BTC/USD", 1786312679.921, 1786313193.7545228, 65154.0, 7.674e-05, "buy", "2840141017903864"
    )
    assert btc[-3:] == [
        Trade("gemini", "BTC/USD", 1786313185.305, 1786313193.7545228, 65206.29, 7.592e-05, "buy", "2840141017904551"),
        Trade("gemini", "BTC/USD", 1786313194.672, 1786313194.697376, 65206.29, 7.667e-05, "buy", "2840141017904555"),
        Trade("gemini", "BTC/USD", 1786313195.817, 1786313195.851007, 65206.29, 7.667e-05, "buy", "2840141017904557"),
    ]
    perp = of(run, Trade, "SOL/USDC:USDC")[0]
    assert perp == Trade(
        "gemini", "SOL/USDC:USDC", 1785982641.619, 1786313193.261674, 73.555, 2.0, "sell", "1893456010836639"
    )
    for symbol in SYMBOLS.values():
        ids = [int(t.id) for t in of(run, Trade, symbol) if isinstance(t, Trade)]
        assert ids == sorted(set(ids)), symbol


def test_tickers_are_the_book_top(run: Run) -> None:
    """A ticker each time the best bid or ask (or its size) changed, equal to the book's top then."""
    assert run.stale_tickers == []
    assert len([e for e in run.events if isinstance(e, Ticker)]) == run.top_changes == 114
    assert {s: len(of(run, Ticker, s)) for s in ("BTC/USD", "ETH/USD", "BTC/GBP", "ETH/USDC:USDC")} == {
        "BTC/USD": 7,
        "ETH/USD": 31,
        "BTC/GBP": 1,
        "ETH/USDC:USDC": 47,
    }
    first, last = of(run, Ticker, "BTC/USD")[0], of(run, Ticker, "BTC/USD")[-1]
    assert first == Ticker("gemini", "BTC/USD", None, 1786313193.7545228, 65206.28, 0.05292903, 65206.29, 0.09946556)
    assert last == Ticker("gemini", "BTC/USD", None, 1786313195.853328, 65206.28, 0.05292903, 65206.29, 0.09931222)
