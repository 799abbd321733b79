"""Replaying the recorded Binance session: exact events, books joined by the documented rule."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

import collector
from collector.capture import Frame
from collector.models import Book, Candle, Connected, Ticker, Trade
from tests.conftest import recording

# Every test here runs with the C accelerators and in pure Python, to the same values.
pytestmark = pytest.mark.usefixtures("both_paths")


@pytest.fixture(scope="module")
def frames() -> list[Frame]:
    return collector.read_capture(recording("binance.jsonl.zst"))


def test_replay_yields_every_kind_with_no_errors(frames: list[Frame]) -> None:
    """Every recv frame becomes events; nothing raises, no error events, no resyncs."""
    run = collector.Replay(frames)
    events = list(run)
    kinds = Counter(type(e).__name__ + (".snapshot" if isinstance(e, Book) and e.snapshot else "") for e in events)
    assert kinds == {"Book": 172, "Book.snapshot": 4, "Ticker": 84, "Trade": 2, "Candle": 2, "Connected": 1}
    assert run.adapter.stats == {}  # nothing ignored, no errors
    assert run.adapter.books.stats == {"snapshot_requests": 4, "snapshots": 4, "stale_delta": 1}


def test_exact_trade_ticker_candle_values(frames: list[Frame]) -> None:
    """Fields of known recorded messages, exactly."""
    events = list(collector.replay(frames))
    trades = [e for e in events if isinstance(e, Trade)]
    assert trades == [
        Trade("binance", "NKN/USDT", 1633998523.963, 1633998523.957215, 0.3528, 58.0, "buy", "15683430"),
        Trade("binance", "LRC/BTC", 1633998534.486, 1633998534.481201, 0.00000638, 177.0, "buy", "9213679"),
    ]
    candle = next(e for e in events if isinstance(e, Candle))
    assert candle == Candle(
        "binance",
        "NKN/USDT",
        1633998523.963,
        1633998523.9572978,
        "1m",
        1633998480.0,
        1633998540.0,
        0.3527,
        0.3528,
        0.3522,
        0.3528,
        25877.0,
        30,
        False,
        "exchange",
    )
    ticker = next(e for e in events if isinstance(e, Ticker))
    assert ticker == Ticker("binance", "NKN/USDT", None, 1633998513.377805, 0.3521, 672.0, 0.3526, 3199.0)
    connected = events[0]
    assert isinstance(connected, Connected) and connected.conn == "BINANCE.ws.1"


def test_books_join_recorded_snapshots_by_range_rule(frames: list[Frame]) -> None:
    """Each symbol's first book event is its recorded REST snapshot, delivered at its recorded time."""
    events = list(collector.replay(frames))
    snaps = {e.symbol: e for e in events if isinstance(e, Book) and e.snapshot}
    assert {s: (e.sequence, e.received) for s, e in snaps.items()} == {
        "NKN/USDT": (499869752, 1633998512.320639),
        "BLZ/ETH": (281916627, 1633998514.6462898),
        "LRC/BTC": (259345543, 1633998516.8443809),
        "RUNE/EUR": (15602511, 1633998522.743208),
    }
    assert snaps["NKN/USDT"].bids[0] == (0.3521, 672.0)
    # The first delta applied after each snapshot straddles it: U <= lastUpdateId + 1 <= u.
    raw = {}
    for f in frames:
        if f.kind == "recv" and "@depth" in str(f.data):
            d = orjson.loads(f.data)["data"]
            raw[d["u"]] = d
    for symbol, snap in snaps.items():
        first = next(e for e in events if isinstance(e, Book) and e.symbol == symbol and not e.snapshot)
        wire = raw[first.sequence]
        assert snap.sequence is not None
        assert wire["U"] <= snap.sequence + 1 <= wire["u"]


def _reference_books(frames: list[Frame]) -> dict[str, tuple[dict[float, float], dict[float, float], int]]:
    """An independent, naive implementation of Binance's spot procedure on the raw frames."""
    http = {}
    for f in frames:
        if f.kind == "http" and "/depth" in f.url:
            http[f.url.split("symbol=")[1].split("&")[0]] = (f.ts, orjson.loads(f.data))
    books: dict[str, tuple[dict[float, float], dict[float, float], int]] = {}
    for f in sorted(frames, key=lambda f: f.ts):
        if f.kind != "recv" or "@depth" not in str(f.data):
            continue
        d = orjson.loads(f.data)["data"]
        native = d["s"]
        if native not in books:
            ts, snap = http[native]
            if f.ts < ts:
                continue  # not yet synced: the snapshot has not arrived
            books[native] = (
                {float(p): float(q) for p, q in snap["bids"]},
                {float(p): float(q) for p, q in snap["asks"]},
                snap["lastUpdateId"],
            )
        bids, asks, last = books[native]
        if d["u"] <= last:
            continue
        assert d["U"] <= last + 1, "the recording has a gap"
        for side, levels in ((bids, d["b"]), (asks, d["a"])):
            for p, q in levels:
                if float(q) == 0:
                    side.pop(float(p), None)
                else:
                    side[float(p)] = float(q)
        books[native] = (bids, asks, d["u"])
    return books


def test_final_books_equal_reference_and_never_cross(frames: list[Frame]) -> None:
    """The maintained books equal an independent reference built from the same frames, and never cross."""
    run = collector.Replay(frames, book_top=1)
    for event in run:
        if isinstance(event, Book):
            assert event.top is not collector.models.UNSET
            top = event.top
            assert not isinstance(top, type(collector.models.UNSET))
            if top.bids and top.asks:
                assert top.bids[0][0] < top.asks[0][0]
    reference = _reference_books(frames)
    natives = {"NKN/USDT": "NKNUSDT", "BLZ/ETH": "BLZETH", "LRC/BTC": "LRCBTC", "RUNE/EUR": "RUNEEUR"}
    for symbol, native in natives.items():
        book = run.adapter.book(symbol)
        assert book is not None and book.synced
        bids, asks, last = reference[native]
        assert (book.bids(), book.asks(), book.sequence) == (bids, asks, last)


def test_book_top_agrees_with_recorded_book_ticker(frames: list[Frame]) -> None:
    """After a depth event ending at update id u, the best levels equal the bookTicker sent for that same u."""
    tickers: dict[tuple[str, int], tuple[float, float, float, float]] = {}
    for f in frames:
        if f.kind == "recv" and "@bookTicker" in str(f.data):
            d = orjson.loads(f.data)["data"]
            tickers[(d["s"], d["u"])] = (float(d["b"]), float(d["B"]), float(d["a"]), float(d["A"]))
    run = collector.Replay(frames, book_top=1)
    natives = {"NKN/USDT": "NKNUSDT", "BLZ/ETH": "BLZETH", "LRC/BTC": "LRCBTC", "RUNE/EUR": "RUNEEUR"}
    checked = 0
    for event in run:
        if isinstance(event, Book) and not event.snapshot and event.sequence is not None:
            bbo = tickers.get((natives[event.symbol], event.sequence))
            if bbo is not None:
                top = event.top
                assert not isinstance(top, type(collector.models.UNSET))
                assert (top.bids[0], top.asks[0]) == ((bbo[0], bbo[1]), (bbo[2], bbo[3]))
                checked += 1
    assert checked == 26


def test_replay_is_deterministic(frames: list[Frame]) -> None:
    """Two replays of the same frames give identical JSON."""
    first = [collector.encode_event(e) for e in collector.replay(frames, book_top=3)]
    second = [collector.encode_event(e) for e in collector.replay(frames, book_top=3)]
    assert first == second and len(first) == 265


def test_trade_ids_unique_per_symbol(frames: list[Frame]) -> None:
    """No trade id repeats within a symbol."""
    ids = [(e.symbol, e.id) for e in collector.replay(frames) if isinstance(e, Trade)]
    assert len(ids) == len(set(ids))
