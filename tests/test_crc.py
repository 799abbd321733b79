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
