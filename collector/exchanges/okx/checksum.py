"""OKX's order-book checksum, over the level strings exactly as they were received.

The documented algorithm (order book channel, until the field was deprecated): "take the
best 25 bids and 25 asks, build ``bid1px:bid1sz:ask1px:ask1sz:bid2px:bid2sz:...``; if one
side has fewer levels the missing ones are skipped and the other side's continue; CRC32 of
the string, compared as a signed 32-bit integer". The strings are OKX's own (``"8476.98"``,
``"0.12060306"``), so they cannot be rebuilt from floats (``1.186e-05``, ``8477.0``).

Since 2026-06-23 the ``checksum`` field is "fixed to 0 and must no longer be used"; older
captures carry real values. :class:`BookTexts` keeps the wire strings of the books whose
snapshot carried a non-zero checksum, and only of those, so live books of today cost nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ...book import OrderBook
from ...crc import INTERLEAVED, LevelChecksum, signed, texts_crc
from .schemas import Level, LevelText

__all__ = ["DEPTH", "BookTexts", "checksum"]

DEPTH = 25
"""Levels per side the checksum covers."""

_MISMATCH = 1 << 40  # never equal to a signed 32-bit checksum


def checksum(bids: Sequence[str], asks: Sequence[str]) -> int:
    """The signed CRC32 of ``"px:sz"`` entries of the best levels, best first, interleaved bid/ask."""
    # bid1:ask1:bid2:ask2 ... then the longer side's remaining levels.
    return signed(texts_crc(bids[:DEPTH], asks[:DEPTH], INTERLEAVED))


class BookTexts:
    """The received ``"px:sz"`` strings of each checksummed book, keyed by price as the book holds it.

    Feed it every snapshot and delta of a tracked symbol beside the float levels decoded
    from the same frame; :meth:`checksum` then computes OKX's value for the maintained book
    (pass it to :class:`~collector.book.BookSync` as its checksum function).
    """

    def __init__(self) -> None:
        self._books: dict[str, tuple[dict[float, str], dict[float, str]]] = {}
        self._crc = LevelChecksum(DEPTH, INTERLEAVED, ":")

    def tracked(self, symbol: str) -> bool:
        """Whether ``symbol``'s level strings are kept (its snapshot carried a checksum)."""
        return symbol in self._books

    def load(
        self,
        symbol: str,
        bids: Sequence[Level],
        bid_texts: Sequence[LevelText],
        asks: Sequence[Level],
        ask_texts: Sequence[LevelText],
    ) -> None:
        """Start tracking ``symbol`` from a snapshot (the float and text decodings of the same levels)."""
        books = self._books[symbol] = ({}, {})
        _apply(books[0], bids, bid_texts)
        _apply(books[1], asks, ask_texts)

    def apply(
        self,
        symbol: str,
        bids: Sequence[Level],
        bid_texts: Sequence[LevelText],
        asks: Sequence[Level],
        ask_texts: Sequence[LevelText],
    ) -> None:
        """Apply a delta to a tracked book's strings: a new size replaces, size 0 removes."""
        books = self._books[symbol]
        _apply(books[0], bids, bid_texts)
        _apply(books[1], asks, ask_texts)

    def forget(self, symbol: str) -> None:
        """Stop tracking ``symbol`` (its snapshot carries no checksum, or its connection is gone)."""
        self._books.pop(symbol, None)

    def forget_all(self, symbols: Iterable[str]) -> None:
        """Stop tracking every one of ``symbols``."""
        for symbol in symbols:
            self._books.pop(symbol, None)

    def checksum(self, symbol: str, book: OrderBook) -> int:
        """OKX's checksum of ``book`` from the strings received for its best 25 levels per side.

        A level whose string was never received (which a consistent stream cannot produce)
        yields a value no checksum equals, so the book is rebuilt rather than trusted.
        """
        texts = self._books.get(symbol)
        crc = self._crc(book, *texts) if texts is not None else None
        return _MISMATCH if crc is None else signed(crc)


def _apply(side: dict[float, str], levels: Sequence[Level], texts: Sequence[LevelText]) -> None:
    for level, text in zip(levels, texts, strict=True):
        if level.sz:
            side[level.px] = f"{text.px}:{text.sz}"
        else:
            side.pop(level.px, None)
