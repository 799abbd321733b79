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

import zlib
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import TypeAlias

from ...models import Level

__all__ = ["DEPTH", "LevelTexts", "Texts", "checksum", "signed"]

Texts: TypeAlias = Sequence[tuple[str, str]]
"""Levels as the ``[price, size]`` strings received."""

DEPTH = 25
"""Levels per side the checksum covers."""


def signed(value: int) -> int:
    """A CRC32 as the signed 32-bit integer Bitget sends (an unsigned spelling is folded in)."""
    value &= 0xFFFFFFFF
    return value - 0x100000000 if value & 0x80000000 else value


def checksum(bids: Sequence[str], asks: Sequence[str]) -> int:
    """The checksum of ``"price:size"`` level texts, each side best first (only the first 25 count)."""
    bids = bids[:DEPTH]
    asks = asks[:DEPTH]
    n = min(len(bids), len(asks))
    parts: list[str] = [""] * (2 * n)
    parts[0::2] = bids[:n]
    parts[1::2] = asks[:n]
    # One side ran out: "the missing depth data will be ignored", the other side goes on.
    parts += bids[n:] or asks[n:]
    return signed(zlib.crc32(":".join(parts).encode()))


class LevelTexts:
    """The ``"price:size"`` text of every level of one maintained book, as sent, by price.

    Keep it in step with the book: :meth:`load` on a snapshot, :meth:`apply` on a delta.
    Levels are given twice, as the raw strings and as the floats they parse to, in the same
    order. A removed level's text (``"27000.5:0"``) stays behind: the checksum only looks up
    prices the book holds, and a price that comes back brings its new text. Updates are
    C-level dict updates (Bitget updates often carry 50-100 levels); :meth:`prune` drops
    the leftovers now and then.
    """

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[float, str] = {}
        self.asks: dict[float, str] = {}

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

    def checksum(self, bids: Sequence[Level], asks: Sequence[Level]) -> int:
        """The checksum of a book whose best levels are ``bids``/``asks`` (best first, floats).

        A level missing from the texts (it never should be) is written from its floats,
        which makes the checksum fail and the book resync rather than raise.
        """
        try:
            bid_texts = list(map(self.bids.__getitem__, map(_price, bids[:DEPTH])))
            ask_texts = list(map(self.asks.__getitem__, map(_price, asks[:DEPTH])))
        except KeyError:
            bid_texts = [self.bids.get(p) or f"{p!r}:{s!r}" for p, s in bids[:DEPTH]]
            ask_texts = [self.asks.get(p) or f"{p!r}:{s!r}" for p, s in asks[:DEPTH]]
        return checksum(bid_texts, ask_texts)

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def prune(self, bids: Iterable[float], asks: Iterable[float]) -> None:
        """Keep the texts of these prices only (the levels the book holds)."""
        self.bids = {p: self.bids[p] for p in bids if p in self.bids}
        self.asks = {p: self.asks[p] for p in asks if p in self.asks}


_price = itemgetter(0)
