"""Replay of the recorded Coinbase Advanced Trade session (2026, BTC-USD and ETH-USD) through the real adapter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import orjson
import pytest

from collector import read_capture
from collector.exchanges import ConnectionPlan, Subscription
from collector.exchanges.coinbase import CoinbaseAdapter
from collector.models import Book, Candle, Error, Event, Ticker, Trade
from collector.replay import Replay
from tests.conftest import RECORDINGS, recording

RECORDING = RECORDINGS / "coinbase.jsonl.zst"

# The session's products, written out here so the reference below does not reuse the adapter's map.
SYMBOLS = {"BTC-USD": "BTC/USD", "ETH-USD": "ETH/USD"}

Side = dict[float, float]


def reference_books() -> Iterator[tuple[str, bool, list[tuple[float, float]], Side, Side]]:
    """Every book state the recording implies, one per l2_data event, built with orjson and dicts.

    Yields ``(symbol, snapshot, levels of the event, bids, asks)``; the dicts are the live
    reference state, valid until the next item.
    """
    books: dict[str, tuple[Side, Side]] = {}
    for frame in sorted(read_capture(RECORDING), key=lambda f: f.ts):
        if frame.kind != "recv":
            continue
        msg = orjson.loads(frame.data)
        if msg["channel"] != "l2_data":
            continue
        for event in msg["events"]:
            symbol = SYMBOLS[event["product_id"]]
            if event["type"] == "snapshot":
                books[symbol] = ({}, {})
            bids, asks = books[symbol]
            levels = []
            for u in event["updates"]:
                side = bids if u["side"] == "bid" else asks
                price, size = float(u["price_level"]), float(u["new_quantity"])
                levels.append((price, size))
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
            yield symbol, event["type"] == "snapshot", levels, bids, asks


@dataclass
class Run:
    """One replay of the recording and what the checks made during it found."""

    replay: Replay
    events: list[Event] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    crossed: list[str] = field(default_factory=list)
    compared: int = 0


@pytest.fixture(scope="module")
def run() -> Run:
    recording("coinbase.jsonl.zst")  # skips when the shared recordings are not beside the clone
    expected = reference_books()
    result = Run(Replay(RECORDING))
    adapter = result.replay.adapter
    for event in result.replay:
        result.events.append(event)
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
        result.compared += 1
    assert next(expected, None) is None, "l2_data events without a book event"
    return result


def of(run: Run, kind: type[Event], symbol: str) -> list[Event]:
    return [e for e in run.events if isinstance(e, kind) and e.symbol == symbol]


def test_event_counts_and_counters(run: Run) -> None:
    """1030 frames: books, trades (with the two subscribe snapshots), tickers, candles; acks and heartbeats counted."""
    assert Counter(type(e).__name__ for e in run.events) == {
        "Book": 775,
        "Trade": 279,
        "Candle": 204,
        "Ticker": 160,
        "Connected": 1,
    }
    assert [e for e in run.events if isinstance(e, Error)] == []
    assert dict(run.replay.adapter.stats) == {"ignored.subscriptions": 5, "ignored.heartbeats": 25}
    assert dict(run.replay.adapter.books.stats) == {"snapshots": 2}
    # The session recorded the spot listing only; the futures listing has no answer in it.
    assert run.replay.stats["unanswered_requests"] == 1


def test_every_frame_becomes_events_or_is_counted() -> None:
    """Frame by frame through the adapter's boundary: each data frame gives events, each other is counted."""
    recording("coinbase.jsonl.zst")
    frames = sorted(read_capture(RECORDING), key=lambda f: f.ts)
    adapter = CoinbaseAdapter()
    (listing,) = [f for f in frames if f.kind == "http"]
    adapter.load_instruments(adapter.instrument_requests()[0], listing.data.encode())
    by_channel: Counter[str] = Counter()
    for frame in frames:
        if frame.kind == "connect":
            adapter.connected(ConnectionPlan(frame.conn, frame.url), frame.ts)
        if frame.kind != "recv":
            continue
        channel = orjson.loads(frame.data)["channel"]
        ignored = sum(v for k, v in adapter.stats.items() if k.startswith("ignored."))
        out = adapter.receive(frame.conn, frame.data, frame.ts)
        assert not [e for e in out if isinstance(e, Error)], frame.data[:200]
        counted = sum(v for k, v in adapter.stats.items() if k.startswith("ignored.")) > ignored
        assert out or counted, frame.data[:200]
        by_channel[channel if out else f"{channel} (counted)"] += 1
    assert by_channel == {
        "l2_data": 775,
        "ticker": 160,
        "market_trades": 59,
        "candles": 6,
        "heartbeats (counted)": 25,
        "subscriptions (counted)": 5,
    }
    assert adapter.stats["sequence_gaps"] == 0


def test_books_equal_the_independent_reference_and_never_cross(run: Run) -> None:
    """After every book event the maintained book equals the one rebuilt from the raw frames."""
    assert run.compared == 775
    assert run.mismatches == []
    assert run.crossed == []


def test_book_snapshot_and_first_update(run: Run) -> None:
    """Exact values of the BTC-USD snapshot (46,000 levels) and the update after it."""
    snapshot, update = of(run, Book, "BTC/USD")[:2]
    assert isinstance(snapshot, Book) and isinstance(update, Book)
    assert (snapshot.snapshot, snapshot.timestamp, snapshot.received, snapshot.sequence) == (
        True,
        1786309548.483587,
        1786309548.8480508,
        None,
    )
    assert (len(snapshot.bids), len(snapshot.asks)) == (18764, 27236)
    assert snapshot.bids[:2] == [(65083.66, 0.20371215), (65083.27, 0.02244516)]
    assert snapshot.asks[:2] == [(65083.67, 0.23256041), (65083.72, 0.61446665)]
    assert (update.snapshot, update.timestamp, update.received) == (False, 1786309548.50535, 1786309548.88396)
    assert update.bids[:3] == [(65062.5, 0.00583), (65061.91, 0.0), (65051.12, 0.0614901)]
    assert update.asks == [(65083.67, 0.15556334)]


def test_first_and_last_trades(run: Run) -> None:
    """Snapshot trades first (oldest first), taker side opposite to the wire's maker side; ids unique."""
    btc, eth = of(run, Trade, "BTC/USD"), of(run, Trade, "ETH/USD")
    assert (len(btc), len(eth)) == (147, 132)
    # Wire: BUY (the maker bought), so the taker sold.
    assert btc[0] == Trade(
        "coinbase", "BTC/USD", 1786309475.345704, 1786309548.6290078, 65090.99, 0.00310335, "sell", "1068571991"
    )
    # Wire: SELL at the best ask, 65083.67: a buyer took it.
    assert btc[-1] == Trade(
        "coinbase", "BTC/USD", 1786309572.15207, 1786309572.239201, 65083.67, 0.00038028, "buy", "1068572137"
    )
    assert eth[0] == Trade(
        "coinbase", "ETH/USD", 1786309486.652973, 1786309548.6310668, 1919.62, 1.0, "sell", "833140679"
    )
    assert eth[-1] == Trade(
        "coinbase", "ETH/USD", 1786309572.197444, 1786309572.263641, 1919.38, 0.02066532, "buy", "833140810"
    )
    for trades in (btc, eth):
        ids = [int(t.id) for t in trades if isinstance(t, Trade)]
        assert ids == sorted(set(ids))


def test_first_and_last_tickers(run: Run) -> None:
    """The subscribe snapshot and the last update of each product, exact."""
    btc, eth = of(run, Ticker, "BTC/USD"), of(run, Ticker, "ETH/USD")
    assert (len(btc), len(eth)) == (73, 87)
    btc_day = {"high": 65252.99, "low": 64675.22}
    assert btc[0] == Ticker(
        "coinbase", "BTC/USD", 1786309548.229198, 1786309548.6428218, 65083.66, 0.20371215, 65083.67, 0.24290402,
        last=65086.18, volume=2867.54532609, **btc_day,
    )  # fmt: skip
    assert btc[-1] == Ticker(
        "coinbase", "BTC/USD", 1786309572.347231, 1786309572.33126, 65083.66, 0.23929087, 65083.67, 0.29040961,
        last=65083.67, volume=2865.67184899, **btc_day,
    )  # fmt: skip
    eth_day = {"high": 1925.0, "low": 1911.04}
    assert eth[0] == Ticker(
        "coinbase", "ETH/USD", 1786309548.229217, 1786309548.642847, 1919.42, 1.512673, 1919.49, 0.07814824,
        last=1919.41, volume=19975.95927439, **eth_day,
    )  # fmt: skip
    assert eth[-1] == Ticker(
        "coinbase", "ETH/USD", 1786309572.798752, 1786309572.782987, 1919.28, 0.09478509, 1919.38, 0.01194407,
        last=1919.38, volume=19989.3959153, **eth_day,
    )  # fmt: skip


def test_first_and_last_candles(run: Run) -> None:
    """The snapshot's 100 buckets (99 closed, the current one forming), then updates of the forming one."""
    btc, eth = of(run, Candle, "BTC/USD"), of(run, Candle, "ETH/USD")
    assert (len(btc), len(eth)) == (102, 102)
    assert [sum(c.closed for c in candles if isinstance(c, Candle)) for candles in (btc, eth)] == [99, 99]
    assert btc[0] == Candle(
        "coinbase", "BTC/USD", 1786309548.229111, 1786309548.642493, "5m", 1786264200.0, 1786264500.0,
        64830.72, 64841.44, 64830.71, 64841.44, 1.3176821, None, True,
    )  # fmt: skip
    assert btc[-1] == Candle(
        "coinbase", "BTC/USD", 1786309565.696753, 1786309565.680428, "5m", 1786309500.0, 1786309800.0,
        65091.0, 65091.0, 65083.56, 65083.67, 1.11745494, None, False,
    )  # fmt: skip
    assert eth[0] == Candle(
        "coinbase", "ETH/USD", 1786309548.228971, 1786309548.64208, "5m", 1786279500.0, 1786279800.0,
        1916.11, 1916.6, 1915.91, 1916.02, 13.9044026, None, True,
    )  # fmt: skip
    assert eth[-1] == Candle(
        "coinbase", "ETH/USD", 1786309571.492486, 1786309571.476063, "5m", 1786309500.0, 1786309800.0,
        1919.58, 1919.6, 1919.27, 1919.42, 46.258414, None, False,
    )  # fmt: skip


def test_the_recorders_subscriptions_are_what_the_adapter_plans(run: Run) -> None:
    """The recorder's channels and products (its config) are the ones the adapter would subscribe itself."""
    frames = read_capture(RECORDING)
    header = orjson.loads(frames[0].data)
    assert header["config"] == {
        "l2_book": ["BTC-USD", "ETH-USD"],
        "trades": ["BTC-USD", "ETH-USD"],
        "ticker": ["BTC-USD", "ETH-USD"],
        "candles": ["BTC-USD", "ETH-USD"],
    }
    assert {f.url for f in frames if f.kind == "connect"} == {"wss://advanced-trade-ws.coinbase.com"}
    recorded = {
        (m["channel"], tuple(m.get("product_ids", ())))
        for f in frames
        if f.kind == "send"
        for m in [orjson.loads(f.data)]
    }
    channels = {"l2_book": "book", "trades": "trades", "ticker": "ticker", "candles": "candles"}
    subs = [Subscription(SYMBOLS[p], channels[c], "5m") for c, products in header["config"].items() for p in products]
    (plan,) = run.replay.adapter.plan(subs)
    planned = {(m["channel"], tuple(m.get("product_ids", ()))) for m in map(orjson.loads, plan.subscribe)}
    assert planned == recorded - {("heartbeats", ("BTC-USD", "ETH-USD"))} | {("heartbeats", ())}
