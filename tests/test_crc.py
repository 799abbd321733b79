"""collector.crc: book checksums over level texts, the C ``level_crc`` against its Python twin."""

from __future__ import annotations

import random
import zlib

import pytest

from collector import speedups
from collector.book import OrderBook
from collector.crc import ASKS_THEN_BIDS, INTERLEAVED, LevelChecksum, _level_crc, signed, texts_crc

pytestmark = pytest.mark.usefixtures("both_paths")


def _book(bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> OrderBook:
    book = OrderBook()
    book.load(bids, asks, 1)
    return book


def test_interleaved_texts_then_the_longer_side() -> None:
    """bid1:ask1:bid2:ask2, then the longer side's rest; only ``depth`` levels per side count."""
    book = _book([(100.0, 1.0), (99.0, 2.0), (98.0, 3.0), (97.0, 4.0)], [(101.0, 5.0)])
    bids = {100.0: "100.0:1", 99.0: "99.00:2", 98.0: "98:3", 97.0: "97:4"}
    asks = {101.0: "101:5"}
    crc = LevelChecksum(3, INTERLEAVED, ":")
    assert crc(book, bids, asks) == zlib.crc32(b"100.0:1:101:5:99.00:2:98:3")
    assert texts_crc(["100.0:1", "99.00:2", "98:3"], ["101:5"], INTERLEAVED) == crc(book, bids, asks)


def test_asks_then_bids_without_separator_sized() -> None:
    """Kraken's layout: the asks best first, then the bids best first; a text written for another size is none."""
    book = _book([(10.0, 1.0), (9.0, 2.0)], [(11.0, 3.0), (12.0, 4.0)])
    texts = {10.0: (1.0, "b1"), 9.0: (2.0, "b2"), 11.0: (3.0, "a1"), 12.0: (4.0, "a2")}
    crc = LevelChecksum(10, ASKS_THEN_BIDS, "", sized=True)
    assert crc(book, texts, texts) == zlib.crc32(b"a1a2b1b2")
    texts[9.0] = (2.5, "b2 when it was 2.5")
    assert crc(book, texts, texts) is None
    with pytest.raises(TypeError, match="pairs"):
        crc(book, {10.0: "b1"}, texts)


def test_ask_texts_written_for_negative_sizes() -> None:
    """Bitfinex writes ask amounts negative: with negate_asks an ask's text is the one for -size."""
    book = _book([(10.0, 1.0)], [(11.0, 3.0)])
    texts = {10.0: (1.0, "10:1"), 11.0: (-3.0, "11:-3")}
    crc = LevelChecksum(25, INTERLEAVED, ":", sized=True, negate_asks=True)
    assert crc(book, texts, texts) == zlib.crc32(b"10:1:11:-3")
    assert LevelChecksum(25, INTERLEAVED, ":", sized=True)(book, texts, texts) is None


def test_a_level_without_text_gives_none() -> None:
    book = _book([(10.0, 1.0), (9.0, 1.0)], [(11.0, 1.0)])
    crc = LevelChecksum(25, INTERLEAVED)
    assert crc(book, {10.0: "a"}, {11.0: "b"}) is None
    # Outside the depth a missing text does not matter.
    assert LevelChecksum(1, INTERLEAVED)(book, {10.0: "a"}, {11.0: "b"}) == zlib.crc32(b"a:b")


def test_empty_book_and_zero_depth() -> None:
    book = _book([], [])
    assert LevelChecksum(25, INTERLEAVED)(book, {}, {}) == zlib.crc32(b"")
    full = _book([(1.0, 1.0)], [(2.0, 1.0)])
    assert LevelChecksum(0, ASKS_THEN_BIDS, "")(full, {}, {}) == zlib.crc32(b"")


def test_a_text_that_is_not_str_is_a_type_error() -> None:
    book = _book([(10.0, 1.0)], [(11.0, 1.0)])
    with pytest.raises(TypeError):
        LevelChecksum(25, INTERLEAVED)(book, {10.0: 10}, {11.0: "b"})


def test_bad_layouts_are_refused() -> None:
    with pytest.raises(ValueError, match="order"):
        LevelChecksum(25, "bids_first")
    with pytest.raises(ValueError, match="negate_asks"):
        LevelChecksum(25, INTERLEAVED, negate_asks=True)


def test_signed() -> None:
    assert signed(3904355907) == -390611389
    assert signed(5) == 5
    assert signed(-5) == -5


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_c_and_python_give_the_same_crc_on_random_books() -> None:
    c_crc = pytest.importorskip("collector._speedups").level_crc
    rng = random.Random(7)
    nones = 0
    for _ in range(2000):
        bids = [(100.0 - rng.randint(1, 200) * 0.5, rng.randint(1, 500) / 100) for _ in range(rng.randint(0, 90))]
        asks = [(100.0 + rng.randint(1, 200) * 0.5, rng.randint(1, 500) / 100) for _ in range(rng.randint(0, 90))]
        book = _book(bids, asks)
        top = book.depth()
        by_price = ({p: f"{p}:{s}" for p, s in top.bids}, {p: f"{p}:{s}" for p, s in top.asks})
        sized = {p: (s, f"{p}{s}") for p, s in top.bids} | {p: (-s, f"{p}-{s}") for p, s in top.asks}
        if top.asks and rng.random() < 0.2:
            price = rng.choice(top.asks)[0]
            sized[price] = (sized[price][0] + 1.0, "stale")
        if top.bids and rng.random() < 0.2:
            del by_price[0][rng.choice(top.bids)[0]]
        for flags, separator, texts in (
            (1, ":", by_price),
            (0, "", by_price),
            (7, ":", (sized, sized)),
            (2, "--", (sized, sized)),
        ):
            depth = rng.choice([0, 1, 10, 25, 70, 200])
            args = (
                book._bid_prices,
                book._bid_sizes,
                book._ask_prices,
                book._ask_sizes,
                depth,
                *texts,
                flags,
                separator,
            )
            got = c_crc(*args)
            assert got == _level_crc(*args)
            nones += got is None
    assert 0 < nones < 4000  # both outcomes were exercised


def test_printed_levels_are_the_price_then_the_size_digits() -> None:
    """``printed``: each value written with its decimals, the point and leading zeros dropped; the
    worked example of Kraken's v1 checksum guide (asks 0.05005 ... 0.05050, ten bids from 0.05000,
    every volume 0.00000500: each level "5005" + "500" ...) gives its documented CRC32."""
    asks = [(round(0.05005 + i * 0.00005, 5), 0.000005) for i in range(10)]
    bid_prices = [0.05, 0.04995, 0.0499, 0.0498, 0.04975, 0.0497, 0.04965, 0.0496, 0.04955, 0.0495]
    book = _book([(p, 0.000005) for p in bid_prices], asks)
    crc = LevelChecksum(10, ASKS_THEN_BIDS, "", printed=(5, 8))
    assert crc(book, {}, {}) == 974947235
    memo: dict[float, tuple[float, str]] = {}
    assert crc(book, memo, memo) == crc(book, {}, {})  # a memo (the Python version fills it) changes nothing
    with pytest.raises(ValueError, match="decimals"):
        LevelChecksum(10, ASKS_THEN_BIDS, "", printed=(5, 31))
    with pytest.raises(ValueError, match="sized"):
        LevelChecksum(10, ASKS_THEN_BIDS, "", sized=True, printed=(5, 8))


def test_printed_numbers_too_long_for_the_c_printer_still_get_their_crc() -> None:
    """A number printed past 64 characters: the C version declines, the Python one prints it."""
    book = _book([(1e70, 1.0)], [(2e70, 3.0)])
    crc = LevelChecksum(10, ASKS_THEN_BIDS, "", printed=(2, 2))
    expected = zlib.crc32((f"{2e70:.2f}{3.0:.2f}{1e70:.2f}{1.0:.2f}").replace(".", "").encode())
    assert crc(book, {}, {}) == expected


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_c_and_python_print_the_same_levels() -> None:
    """Printed mode: C and Python agree on random books, decimals and awkward values (halves,
    values just off the grid, below one tick, beyond 2**51)."""
    c_crc = pytest.importorskip("collector._speedups").level_crc
    rng = random.Random(11)
    declined = 0
    awkward = [0.5, 0.125, 1e-9, 2.5e-7, 0.30000000000000004, 2.0**51, 2.0**53 + 2, 1e21, 123456.789, 1 / 3]
    for _ in range(3000):
        price_decimals, size_decimals = rng.randint(0, 12), rng.randint(0, 12)
        tick = 10.0**-price_decimals

        def value(tick: float = tick) -> float:
            if rng.random() < 0.2:
                return rng.choice(awkward) * rng.choice([1.0, 3.0, 1e-3, 1e6])
            return round(rng.uniform(0.0, 5000.0) / tick) * tick + rng.choice([0.0, 0.0, tick / 3, tick / 2])

        bids = [(value() or 1.0, value() or 1.0) for _ in range(rng.randint(0, 15))]
        asks = [(value() * 10 + 1e4 or 1.0, value() or 1.0) for _ in range(rng.randint(0, 15))]
        bids = [level for level in bids if level[0] < min((p for p, _ in asks), default=float("inf"))]
        book = _book(bids, asks)
        for flags in (8, 9, 12):
            args = (book._bid_prices, book._bid_sizes, book._ask_prices, book._ask_sizes, 10, {}, {}, flags, "")
            got = c_crc(*args, price_decimals, size_decimals)
            assert got is None or got == _level_crc(*args, price_decimals, size_decimals)
            declined += got is None
    assert declined < 300  # numbers past 64 characters are rare here: the C printer was exercised
