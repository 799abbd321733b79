"""The order-book state machine: every rule, every failure path, against a reference book."""

from __future__ import annotations

import random
import tracemalloc
from array import array
from typing import Any

import pytest

from collector import speedups
from collector.book import MONOTONIC, PREV_ID, RANGE, SNAPSHOT, STREAM_PREV, BookSync, OrderBook
from collector.models import Book, Resync
from collector.orderbook import _apply_delta, _load_side

# Every test here runs with the C accelerators and in pure Python, to the same values.
pytestmark = pytest.mark.usefixtures("both_paths")


def requester(log: list[str]) -> Any:
    def request(symbol: str) -> list[str]:
        log.append(symbol)
        return [f"snapshot:{symbol}"]

    return request


def test_order_book_apply_keeps_levels_sorted_and_removes_zero() -> None:
    """Absolute sizes replace levels, size 0 removes, and best/top read in price order."""
    book = OrderBook()
    book.load([(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.5), (102.0, 3.0)], 10)
    book.apply([(100.5, 4.0), (99.0, 0.0), (98.0, 0.0)], [(101.0, 0.0), (101.5, 2.5)])
    assert book.best_bid() == (100.5, 4.0)
    assert book.best_ask() == (101.5, 2.5)
    assert book.top(2).bids == [(100.5, 4.0), (100.0, 1.0)]
    assert book.top(2).asks == [(101.5, 2.5), (102.0, 3.0)]
    assert book.depth().bids == [(100.5, 4.0), (100.0, 1.0)]
    assert book.mid() == pytest.approx(101.0)
    assert book.spread() == pytest.approx(1.0)
    assert len(book) == 4
    assert not book.crossed()


def test_order_book_matches_dict_reference_under_random_updates() -> None:
    """Thousands of random deltas leave the sorted book equal to a plain dict applied the same way."""
    rng = random.Random(7)
    book = OrderBook()
    book.load([], [], 0)
    ref_bids: dict[float, float] = {}
    ref_asks: dict[float, float] = {}
    for _ in range(5000):
        bids = [(float(rng.randint(1, 50)), float(rng.choice([0, 0, 1, 2, 3]))) for _ in range(rng.randint(0, 4))]
        asks = [(float(rng.randint(51, 100)), float(rng.choice([0, 0, 1, 2, 3]))) for _ in range(rng.randint(0, 4))]
        book.apply(bids, asks)
        for side, levels in ((ref_bids, bids), (ref_asks, asks)):
            for p, s in levels:
                if s:
                    side[p] = s
                else:
                    side.pop(p, None)
    assert book.bids() == ref_bids
    assert book.asks() == ref_asks
    assert book.depth().bids == sorted(ref_bids.items(), reverse=True)
    assert book.depth().asks == sorted(ref_asks.items())


def test_range_rule_joins_snapshot_to_buffered_deltas() -> None:
    """Binance spot: deltas with u <= lastUpdateId are dropped and the first kept one must straddle it."""
    requested: list[str] = []
    sync = BookSync("binance", RANGE, requester(requested))
    out: list[Any] = []
    sync.delta(out, "X/Y", [(10.0, 1.0)], [], 95, 100, None, 1.0, 1.0)
    sync.delta(out, "X/Y", [(10.0, 2.0)], [], 101, 103, None, 2.0, 2.0)
    sync.delta(out, "X/Y", [], [(12.0, 5.0)], 104, 104, None, 3.0, 3.0)
    assert out == ["snapshot:X/Y"]
    assert requested == ["X/Y"]
    out.clear()
    sync.snapshot(out, "X/Y", [(10.0, 9.0), (9.0, 1.0)], [(11.0, 1.0)], 102, None, 4.0)
    # Snapshot, then the delta 101..103 (straddles 102+1), then 104.
    assert [type(e).__name__ for e in out] == ["Book", "Book", "Book"]
    snap, first, second = out
    assert (snap.snapshot, snap.sequence, snap.bids) == (True, 102, [(10.0, 9.0), (9.0, 1.0)])
    assert (first.snapshot, first.sequence, first.bids, first.timestamp) == (False, 103, [(10.0, 2.0)], 2.0)
    assert second.sequence == 104
    book = sync.book("X/Y")
    assert book is not None and book.synced
    assert book.bids() == {10.0: 2.0, 9.0: 1.0}
    assert book.asks() == {11.0: 1.0, 12.0: 5.0}


def test_range_rule_gap_resyncs_only_that_symbol() -> None:
    """A delta whose U skips past last+1 emits a gap resync for its symbol and requests a new snapshot."""
    requested: list[str] = []
    sync = BookSync("binance", RANGE, requester(requested))
    out: list[Any] = []
    for symbol in ("A/B", "C/D"):
        sync.delta(out, symbol, [], [], 1, 1, None, None, 0.0)
        sync.snapshot(out, symbol, [(1.0, 1.0)], [(2.0, 1.0)], 1, None, 0.0)
    out.clear()
    sync.delta(out, "A/B", [(1.0, 3.0)], [], 5, 6, None, 9.0, 9.5)
    resync = out[0]
    assert isinstance(resync, Resync)
    assert (resync.symbol, resync.reason, resync.received) == ("A/B", "gap", 9.5)
    assert resync.detail == "first delta [5, 6] misses id 1"
    assert out[1:] == ["snapshot:A/B"]
    a_book, c_book = sync.book("A/B"), sync.book("C/D")
    assert a_book is not None and not a_book.synced and len(a_book) == 0
    assert c_book is not None and c_book.synced and c_book.best_bid() == (1.0, 1.0)
    # The gapped delta starts the new buffer: a snapshot at 5 joins it.
    out.clear()
    sync.snapshot(out, "A/B", [(1.0, 2.0)], [(2.0, 2.0)], 5, None, 10.0)
    assert [e.sequence for e in out] == [5, 6]
    assert a_book.bids() == {1.0: 3.0}


def test_range_rule_ignores_old_deltas_and_refetches_too_old_snapshot() -> None:
    """u <= local id is ignored; a snapshot older than the first buffered U is fetched again."""
    requested: list[str] = []
    sync = BookSync("binance", RANGE, requester(requested))
    out: list[Any] = []
    sync.delta(out, "X/Y", [], [], 50, 60, None, None, 0.0)
    out.clear()
    sync.snapshot(out, "X/Y", [(1.0, 1.0)], [(2.0, 1.0)], 40, None, 1.0)
    assert out == ["snapshot:X/Y"]
    assert sync.stats["snapshot_too_old"] == 1
    out.clear()
    sync.snapshot(out, "X/Y", [(1.0, 1.0)], [(2.0, 1.0)], 55, None, 2.0)
    assert [e.sequence for e in out] == [55]  # the buffered delta changes nothing: it joins, no event
    assert sync.book("X/Y").sequence == 60  # type: ignore[union-attr]
    out.clear()
    sync.delta(out, "X/Y", [(1.0, 7.0)], [], 58, 60, None, None, 3.0)
    assert out == []
    assert sync.stats["stale_delta"] == 1


def test_a_delta_without_levels_moves_the_id_on_and_is_no_event() -> None:
    """HTX's quiet 100 ms and Crypto.com's empty updates: the chain goes on, nothing is emitted."""
    sync = BookSync("x", STREAM_PREV, requester([]))
    out: list[Any] = []
    sync.snapshot(out, "X/Y", [(1.0, 1.0)], [(2.0, 1.0)], 10, None, 1.0)
    out.clear()
    sync.delta(out, "X/Y", [], [], 11, 11, 10, None, 2.0)
    assert out == [] and sync.stats["empty_delta"] == 1
    sync.delta(out, "X/Y", [(1.5, 1.0)], [], 12, 12, 11, None, 3.0)  # links to the empty one
    assert [(type(e).__name__, e.sequence) for e in out] == [("Book", 12)]


def test_prev_id_rule_first_event_and_pu_chain() -> None:
    """Binance futures: drop u < lastUpdateId, first has U <= id <= u, then pu must equal the previous u."""
    requested: list[str] = []
    sync = BookSync("binance_usdm", PREV_ID, requester(requested))
    out: list[Any] = []
    sync.delta(out, "BTC/USDT:USDT", [(1.0, 1.0)], [], 90, 99, 89, None, 0.0)
    sync.delta(out, "BTC/USDT:USDT", [(1.0, 2.0)], [], 100, 110, 99, None, 0.0)
    sync.delta(out, "BTC/USDT:USDT", [(1.0, 3.0)], [], 111, 120, 110, None, 0.0)
    out.clear()
    sync.snapshot(out, "BTC/USDT:USDT", [(1.0, 5.0)], [(2.0, 5.0)], 105, None, 1.0)
    assert [e.sequence for e in out] == [105, 110, 120]
    out.clear()
    sync.delta(out, "BTC/USDT:USDT", [(1.0, 4.0)], [], 125, 130, 121, None, 2.0)
    assert isinstance(out[0], Resync)
    assert out[0].detail == "expected previous id 120, got 121"
    assert out[1] == "snapshot:BTC/USDT:USDT"


def test_prev_id_rule_processes_the_delta_ending_at_the_snapshot_id() -> None:
    """Binance futures: "Drop any event where u is < lastUpdateId ... The first processed event
    should have U <= lastUpdateId AND u >= lastUpdateId": one ending exactly at it is the first,
    whether it was buffered or comes after the snapshot."""
    for buffered in (True, False):
        sync = BookSync("binance_usdm", PREV_ID, requester([]))
        out: list[Any] = []
        sync.delta(out, "BTC/USDT:USDT", [(1.0, 1.0)], [], 90, 94, 89, None, 0.0)
        if buffered:
            sync.delta(out, "BTC/USDT:USDT", [], [(2.5, 1.0)], 95, 100, 94, None, 0.0)
        out.clear()
        sync.snapshot(out, "BTC/USDT:USDT", [(1.0, 5.0)], [(2.0, 5.0), (2.5, 1.0)], 100, None, 1.0)
        if not buffered:
            sync.delta(out, "BTC/USDT:USDT", [], [(2.5, 1.0)], 95, 100, 94, None, 1.5)
        sync.delta(out, "BTC/USDT:USDT", [], [(3.0, 2.0)], 101, 105, 100, None, 2.0)
        assert [(e.snapshot, e.sequence) for e in out] == [(True, 100), (False, 100), (False, 105)]
        # Processed once: the same delta again is a duplicate.
        sync.delta(out, "BTC/USDT:USDT", [], [(2.5, 1.0)], 95, 100, 94, None, 3.0)
        assert len(out) == 3 and sync.stats["stale_delta"] == 1
        book = sync.book("BTC/USDT:USDT")
        assert book is not None and book.asks() == {2.0: 5.0, 2.5: 1.0, 3.0: 2.0}


def test_crossed_book_is_treated_as_gap() -> None:
    """A delta that leaves best bid >= best ask discards the book with reason 'crossed'."""
    sync = BookSync("binance", RANGE, requester([]))
    out: list[Any] = []
    sync.delta(out, "X/Y", [], [], 1, 1, None, None, 0.0)
    sync.snapshot(out, "X/Y", [(1.0, 1.0)], [(2.0, 1.0)], 1, None, 0.0)
    out.clear()
    sync.delta(out, "X/Y", [(2.5, 1.0)], [], 2, 2, None, None, 1.0)
    assert isinstance(out[0], Resync) and out[0].reason == "crossed"
    assert out[1] == "snapshot:X/Y"
    assert sync.stats["resync.crossed"] == 1


def test_reset_on_disconnect_emits_resync_without_request() -> None:
    """Losing the connection resets its live books; the next delta asks for a snapshot."""
    requested: list[str] = []
    sync = BookSync("binance", RANGE, requester(requested))
    out: list[Any] = []
    sync.delta(out, "X/Y", [], [], 1, 1, None, None, 0.0)
    sync.snapshot(out, "X/Y", [(1.0, 1.0)], [(2.0, 1.0)], 1, None, 0.0)
    out.clear()
    sync.reset(out, ["X/Y", "NOT/SEEN"], "reconnect", 5.0)
    assert out == [Resync("binance", "X/Y", None, 5.0, "reconnect", "")]
    assert requested == ["X/Y"]
    out.clear()
    sync.delta(out, "X/Y", [], [], 40, 41, None, None, 6.0)
    assert out == ["snapshot:X/Y"]


def test_buffer_is_bounded() -> None:
    """Deltas beyond max_buffer while waiting for a snapshot restart the wait with a resync event."""
    sync = BookSync("binance", RANGE, requester([]), max_buffer=3)
    out: list[Any] = []
    for i in range(4):
        sync.delta(out, "X/Y", [], [], i, i, None, None, float(i))
    assert [type(x).__name__ for x in out] == ["str", "Resync", "str"]
    assert out[1].reason == "buffer"
    assert sync.stats["buffer_overflow"] == 1


def test_monotonic_rule_snapshot_resets_and_repeats_are_skipped() -> None:
    """In-stream snapshots reset the book; a u that does not increase is a duplicate, skipped and counted."""
    sync = BookSync("bybit", MONOTONIC, requester([]))
    out: list[Any] = []
    sync.delta(out, "X/Y", [(1.0, 1.0)], [], 0, 5, None, None, 0.0)
    assert out == ["snapshot:X/Y"]
    out.clear()
    sync.snapshot(out, "X/Y", [(1.0, 1.0)], [(2.0, 1.0)], 10, 1.0, 1.0)
    sync.delta(out, "X/Y", [(1.0, 2.0)], [], 0, 11, None, 2.0, 2.0)
    sync.delta(out, "X/Y", [(1.0, 3.0)], [], 0, 11, None, 3.0, 3.0)
    assert [type(x).__name__ for x in out] == ["Book", "Book"]
    assert sync.stats["stale_delta"] == 1
    assert sync.book("X/Y").bids() == {1.0: 2.0}  # type: ignore[union-attr]
    sync.snapshot(out, "X/Y", [(1.5, 1.0)], [(2.0, 1.0)], 1, 4.0, 4.0)
    book = sync.book("X/Y")
    assert book is not None and book.bids() == {1.5: 1.0} and book.sequence == 1


def test_snapshot_rule_replaces_whole_book() -> None:
    """Full-snapshot exchanges: each message is the book."""
    sync = BookSync("upbit", SNAPSHOT, requester([]), top_n=1)
    out: list[Any] = []
    sync.snapshot(out, "BTC/KRW", [(1.0, 1.0), (0.5, 2.0)], [(2.0, 1.0)], None, 1.0, 1.0)
    sync.snapshot(out, "BTC/KRW", [(1.1, 1.0)], [(2.1, 1.0)], None, 2.0, 2.0)
    last = out[-1]
    assert isinstance(last, Book) and last.snapshot and last.top.bids == [(1.1, 1.0)]  # type: ignore[union-attr]
    book = sync.book("BTC/KRW")
    assert book is not None and book.bids() == {1.1: 1.0} and book.asks() == {2.1: 1.0}


def test_touch_of_reports_a_synced_books_best_levels_only() -> None:
    """``touch_of``: the best bid/offer a ticker without its own takes, only while the book is synced."""
    sync = BookSync("upbit", SNAPSHOT, requester([]))
    out: list[Any] = []
    assert sync.touch_of("BTC/KRW") == (None, None, None, None)  # no data yet
    sync.snapshot(out, "BTC/KRW", [(1.0, 3.0), (0.5, 2.0)], [(2.0, 4.0)], None, 1.0, 1.0)
    assert sync.touch_of("BTC/KRW") == (1.0, 3.0, 2.0, 4.0)
    sync.snapshot(out, "BTC/KRW", [], [(2.5, 1.0)], None, 2.0, 2.0)
    assert sync.touch_of("BTC/KRW") == (None, None, 2.5, 1.0)  # an empty side has no touch
    sync.resync(out, "BTC/KRW", "gap", "test", 3.0)
    assert sync.touch_of("BTC/KRW") == (None, None, None, None)  # being rebuilt: not to be trusted


def test_a_replacing_stream_book_continues_a_rest_joined_chain() -> None:
    """Under a REST-joined rule a live book ignores a late REST answer, but a whole book sent on the
    stream with ``replace=True`` (Gate ``full``, HTX full depth) replaces it and the chain goes on from its id."""
    from collector.book import PREV_ID, BookSync
    from collector.models import Book as BookEvent

    sync = BookSync("x", PREV_ID, lambda symbol: [])
    out: list[object] = []
    sync.delta(out, "S", [(10.0, 1.0)], [(11.0, 1.0)], 5, 6, 4, None, 1.0)
    sync.snapshot(out, "S", [(10.0, 2.0)], [(11.0, 2.0)], 5, None, 1.0)
    assert sync.book("S").synced  # type: ignore[union-attr]
    sync.snapshot(out, "S", [(9.0, 1.0)], [(12.0, 1.0)], 40, None, 2.0)
    assert sync.stats["snapshot_unused"] == 1  # a plain late snapshot is ignored
    out.clear()
    sync.snapshot(out, "S", [(9.0, 1.0)], [(12.0, 1.0)], 40, None, 3.0, replace=True)
    sync.delta(out, "S", [(9.5, 1.0)], [], 41, 41, 40, None, 3.1)
    book = sync.book("S")
    assert book is not None and book.best_bid() == (9.5, 1.0) and book.best_ask() == (12.0, 1.0)
    assert [e.snapshot for e in out if isinstance(e, BookEvent)] == [True, False]


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_c_and_python_apply_give_the_same_book_and_verdicts() -> None:
    """The C ``apply_delta`` is the twin of ``book._apply_delta``: same sides, same verdict, every delta."""
    rng = random.Random(11)
    c_apply = pytest.importorskip("collector._speedups").apply_delta
    books = (OrderBook(), OrderBook())
    for book in books:
        book.load([(float(p), 1.0) for p in range(1, 40)], [(float(p), 1.0) for p in range(61, 100)], 0)
    sizes = [0.0, 0.0, 1.0, 2.5, -1.0, float("nan"), 3]
    for _ in range(5000):
        bids = [(float(rng.randint(1, 65)), rng.choice(sizes)) for _ in range(rng.randint(0, 4))]
        asks = [(float(rng.randint(55, 120)), rng.choice(sizes)) for _ in range(rng.randint(0, 4))]
        verdicts = [
            apply(b._bid_prices, b._bid_sizes, bids, b._ask_prices, b._ask_sizes, asks)
            for apply, b in zip((c_apply, _apply_delta), books, strict=True)
        ]
        assert verdicts[0] == verdicts[1]
        assert books[0].depth() == books[1].depth()
        if verdicts[0] == 2:  # crossed: start again from a sound book, as the synchroniser would
            for book in books:
                book.load([(10.0, 1.0)], [(90.0, 1.0)], 0)


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_c_and_python_load_the_same_snapshot_sides() -> None:
    """The C ``load_side`` is the twin of ``book._load_side``: the same sorted arrays, or ``None`` for both."""
    rng = random.Random(5)
    c_load = pytest.importorskip("collector._speedups").load_side
    values = [0.0, 0.0, 1.0, 2.5, 3, -1.0, float("nan"), float("inf"), 7.25]
    rejected = 0
    for _ in range(3000):
        side = [(float(rng.randint(1, 30)), rng.choice(values)) for _ in range(rng.randint(0, 40))]
        order = rng.random()
        if order < 0.3:  # best first, as exchanges send sides (repeats and all): C skips its sort
            side.sort(reverse=order < 0.15)
        got, want = c_load(side), _load_side(side)
        assert got == want
        assert got is None or (got[0].typecode, got[1].typecode) == ("d", "d")
        rejected += got is None
    assert 0 < rejected < 3000
    assert c_load([]) == _load_side([]) == (array("d"), array("d"))
    for n in range(1, 41):  # strictly ordered sides, bids best first and asks best first
        asks = [(100.0 + i, 1.0 + (i % 3)) for i in range(n)]
        for side in (asks, asks[::-1]):
            assert (
                c_load(side)
                == _load_side(side)
                == (array("d", sorted(p for p, _ in asks)), array("d", [s for _, s in asks]))
            )


def test_a_level_costs_at_most_24_bytes() -> None:
    """Book sides are contiguous doubles: 1,000 books of 1,000 levels a side stay near 32 MB, not 160."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        books = []
        for k in range(100):
            book = OrderBook()
            book.load(
                [(60000.0 - i * 0.5 - k, 1.0 + i) for i in range(1000)], [(60001.0 + i, 2.0) for i in range(1000)], 1
            )
            books.append(book)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert used / (100 * 2000) <= 24
