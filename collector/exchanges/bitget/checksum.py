"""Bitget's order-book checksum, computed over the level strings exactly as received.

The rule (spot Depth Channel and futures Order Book Channel pages, identical text):

    "Use the first 25 bids and asks in the local snapshot to build a string (where a
    colon connects the price and amount in an ask or a bid), and then calculate the
    CRC32 value (32-bit signed integer)." Bids and asks alternate,
    ``bid1:ask1:bid2:ask2:...``; "When the bid or ask depth data is less than 25
    levels, the missing depth data will be ignored" (``bid1:ask1:ask2:ask3``); and
    "If price is '0.5000', DO NOT calculate the checksum by '0.5', please DO use the
    original value".

So the adapter keeps, beside the float book that :mod:`collector.book` maintains, the
text ``"price:size"`` of every level it holds (:class:`LevelTexts`), and the checksum
looks the book's best 25 prices of each side up in it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TypeAlias

from ...book import OrderBook
from ...crc import INTERLEAVED, LevelChecksum, signed, texts_crc
from ...models import Level

__all__ = ["DEPTH", "LevelTexts", "Texts", "checksum", "signed"]

Texts: TypeAlias = Sequence[tuple[str, str]]
"""Levels as the ``[price, size]`` strings received."""

DEPTH = 25
"""Levels per side the checksum covers."""


def checksum(bids: Sequence[str], asks: Sequence[str]) -> int:
    """The checksum of ``"price:size"`` level texts, each side best first (only the first 25 count)."""
    # One side ran out: "the missing depth data will be ignored", the other side goes on.
    return signed(texts_crc(bids[:DEPTH], asks[:DEPTH], INTERLEAVED))


class LevelTexts:
    """The ``"price:size"`` text of every level of one maintained book, as sent, by price.

    Keep it in step with the book: :meth:`load` on a snapshot, :meth:`apply` on a delta.
    Levels are given twice, as the raw strings and as the floats they parse to, in the same
    order. A removed level's text (``"27000.5:0"``) stays behind: the checksum only looks up
    prices the book holds, and a price that comes back brings its new text. Updates are
    C-level dict updates (Bitget updates often carry 50-100 levels); :meth:`prune` drops
    the leftovers now and then.
    """

    __slots__ = ("_crc", "asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[float, str] = {}
        self.asks: dict[float, str] = {}
        self._crc = LevelChecksum(DEPTH, INTERLEAVED, ":")

    def load(self, bid_texts: Texts, bids: Sequence[Level], ask_texts: Texts, asks: Sequence[Level]) -> None:
        """Replace both sides with a snapshot's levels."""
        self.bids = dict(zip(map(_price, bids), map(":".join, bid_texts), strict=True))
        self.asks = dict(zip(map(_price, asks), map(":".join, ask_texts), strict=True))

    def apply(self, bid_texts: Texts, bids: Sequence[Level], ask_texts: Texts, asks: Sequence[Level]) -> None:
        """Apply a delta's levels (absolute sizes; a later level of the same price wins, as in the book)."""
        if bids:
            self.bids.update(zip(map(_price, bids), map(":".join, bid_texts), strict=True))
        if asks:
            self.asks.update(zip(map(_price, asks), map(":".join, ask_texts), strict=True))

    def checksum(self, book: OrderBook) -> int:
        """The checksum of ``book`` (the book these texts are kept beside), signed as Bitget sends it.

        A level missing from the texts (it never should be) is written from its floats,
        which makes the checksum fail and the book resync rather than raise.
        """
        crc = self._crc(book, self.bids, self.asks)
        if crc is not None:
            return signed(crc)
        top = book.top(DEPTH)
        bid_texts = [self.bids.get(p) or f"{p!r}:{s!r}" for p, s in top.bids]
        ask_texts = [self.asks.get(p) or f"{p!r}:{s!r}" for p, s in top.asks]
        return checksum(bid_texts, ask_texts)

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def prune(self, bids: Iterable[float], asks: Iterable[float]) -> None:
        """Keep the texts of these prices only (the levels the book holds)."""
        self.bids = {p: self.bids[p] for p in bids if p in self.bids}
        self.asks = {p: self.asks[p] for p in asks if p in self.asks}


_price = itemgetter(0)
