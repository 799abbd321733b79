"""The maintained L2 book: two sides of price levels, and the pure functions that change them.

:class:`OrderBook` holds levels and answers questions about them; it makes no decision
about whether a book is right. Every transition (snapshot joins, continuity, checksums,
resyncs) is :class:`collector.book.BookSync`'s. The level functions here have C twins in
``collector._speedups`` (``apply_delta``, ``load_side``) that must give the same results;
the tests compare them.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import TypeAlias

from .models import BookTop, Level

__all__ = ["OrderBook", "Side", "valid_levels"]

Side: TypeAlias = "tuple[array[float], array[float]]"
"""One side of a book as aligned (prices, sizes) arrays, prices ascending."""

_INF = float("inf")


def _apply_side(prices: array[float], sizes: array[float], levels: Iterable[Level]) -> None:
    # One side is two aligned arrays of doubles sorted by price ascending: the best level is
    # an index away, a lookup is a bisection, and insert/delete is a C memmove -- cheaper than
    # a dict beside a sorted list (two hashes per level) or any tree, for books of this size;
    # 16 bytes a level, and nothing in them for the cyclic GC to walk.
    for price, size in levels:
        i = bisect_left(prices, price)
        if i < len(prices) and prices[i] == price:
            if size:
                sizes[i] = size
            else:
                del prices[i]
                del sizes[i]
        elif size:
            prices.insert(i, price)
            sizes.insert(i, size)
        # else: a removal for a level we do not hold is normal (Binance: "a removal for a
        # level you do not hold"), nothing to do.


def valid_levels(levels: Iterable[Level]) -> bool:
    """True when every level is a finite positive price with a finite non-negative size."""
    # Chained comparisons are False for NaN, so NaN fails both.
    return all(0.0 < price < _INF and 0.0 <= size < _INF for price, size in levels)


def _apply_delta(
    bid_prices: array[float],
    bid_sizes: array[float],
    bids: Sequence[Level],
    ask_prices: array[float],
    ask_sizes: array[float],
    asks: Sequence[Level],
) -> int:
    """Validate then apply a delta to both sides: 0 applied, 1 invalid (nothing applied), 2 applied and crossed."""
    if not (valid_levels(bids) and valid_levels(asks)):
        return 1
    if bids:
        _apply_side(bid_prices, bid_sizes, bids)
    if asks:
        _apply_side(ask_prices, ask_sizes, asks)
    return 2 if bid_prices and ask_prices and bid_prices[-1] >= ask_prices[0] else 0


class OrderBook:
    """A maintained L2 book: price -> size on each side, with ordered access.

    Read it any time: :meth:`best_bid`, :meth:`best_ask`, :meth:`top`, :meth:`depth`.
    ``synced`` is ``False`` while the book is being rebuilt after a resync; the levels
    are then empty, never stale. ``updated`` is the receipt time of the last change (or
    exchange heartbeat) it saw.
    """

    __slots__ = (
        "_ask_prices",
        "_ask_sizes",
        "_bid_prices",
        "_bid_sizes",
        "sequence",
        "synced",
        "timestamp",
        "updated",
    )

    def __init__(self) -> None:
        # Both sides ascending by price: the best bid is the last bid, the best ask the first ask.
        # Each is two aligned arrays of doubles (16 bytes a level, contiguous, no boxed floats).
        self._bid_prices: array[float] = array("d")
        self._bid_sizes: array[float] = array("d")
        self._ask_prices: array[float] = array("d")
        self._ask_sizes: array[float] = array("d")
        self.sequence: int | None = None
        self.timestamp: float | None = None
        self.updated: float | None = None
        self.synced = False

    def clear(self) -> None:
        """Drop every level and mark the book unsynced."""
        self._bid_prices = array("d")
        self._bid_sizes = array("d")
        self._ask_prices = array("d")
        self._ask_sizes = array("d")
        self.sequence = None
        self.synced = False

    def load(self, bids: Iterable[Level], asks: Iterable[Level], sequence: int | None) -> None:
        """Replace the whole book with a snapshot (levels of size 0 are skipped; a repeated price keeps the last)."""
        self._replace(_sorted_side(bids), _sorted_side(asks))
        self.sequence = sequence
        self.synced = True

    def _replace(self, bids: Side, asks: Side) -> None:
        """Take sorted ``(prices, sizes)`` arrays, built for this book, as the two sides."""
        self._bid_prices, self._bid_sizes = bids
        self._ask_prices, self._ask_sizes = asks

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Apply a delta of absolute sizes; size 0 removes the level."""
        _apply_side(self._bid_prices, self._bid_sizes, bids)
        _apply_side(self._ask_prices, self._ask_sizes, asks)

    def truncate(self, depth: int) -> None:
        """Keep the best ``depth`` levels per side (for exchanges that never delete levels leaving their depth)."""
        if len(self._bid_prices) > depth:
            del self._bid_prices[:-depth]
            del self._bid_sizes[:-depth]
        if len(self._ask_prices) > depth:
            del self._ask_prices[depth:]
            del self._ask_sizes[depth:]

    def best_bid(self) -> Level | None:
        """The highest bid ``(price, size)``, or ``None`` if the side is empty."""
        if not self._bid_prices:
            return None
        return self._bid_prices[-1], self._bid_sizes[-1]

    def best_ask(self) -> Level | None:
        """The lowest ask ``(price, size)``, or ``None`` if the side is empty."""
        if not self._ask_prices:
            return None
        return self._ask_prices[0], self._ask_sizes[0]

    def crossed(self) -> bool:
        """True when best bid >= best ask, which a correct book never shows."""
        return bool(self._bid_prices and self._ask_prices and self._bid_prices[-1] >= self._ask_prices[0])

    def mid(self) -> float | None:
        """Midpoint of the best bid and ask, or ``None`` when a side is empty."""
        if not (self._bid_prices and self._ask_prices):
            return None
        return (self._bid_prices[-1] + self._ask_prices[0]) / 2.0

    def spread(self) -> float | None:
        """Best ask minus best bid, or ``None`` when a side is empty."""
        if not (self._bid_prices and self._ask_prices):
            return None
        return self._ask_prices[0] - self._bid_prices[-1]

    def top(self, n: int) -> BookTop:
        """The best ``n`` levels per side, best first."""
        if n <= 0:
            return BookTop(bids=[], asks=[])
        return BookTop(
            bids=list(zip(reversed(self._bid_prices[-n:]), reversed(self._bid_sizes[-n:]), strict=True)),
            asks=list(zip(self._ask_prices[:n], self._ask_sizes[:n], strict=True)),
        )

    def depth(self) -> BookTop:
        """Every level, best first."""
        return self.top(max(len(self._bid_prices), len(self._ask_prices)))

    def bids(self) -> dict[float, float]:
        """A copy of the bid side as ``{price: size}``."""
        return dict(zip(self._bid_prices, self._bid_sizes, strict=True))

    def asks(self) -> dict[float, float]:
        """A copy of the ask side as ``{price: size}``."""
        return dict(zip(self._ask_prices, self._ask_sizes, strict=True))

    def __len__(self) -> int:
        return len(self._bid_prices) + len(self._ask_prices)

    def __repr__(self) -> str:
        return (
            f"OrderBook(synced={self.synced}, sequence={self.sequence}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, levels={len(self)})"
        )


def _sorted_side(levels: Iterable[Level]) -> Side:
    """Snapshot levels as aligned (prices, sizes) arrays, ascending, size 0 dropped."""
    # Built with C-level loops (dict, sorted, map): a snapshot can carry 5000 levels a side.
    by_price = dict(levels)  # a repeated price: the last one wins
    prices = sorted(by_price)
    sizes = list(map(by_price.__getitem__, prices))
    if 0 in sizes:
        kept = [(p, s) for p, s in zip(prices, sizes, strict=True) if s]
        prices = [p for p, _ in kept]
        sizes = [s for _, s in kept]
    return array("d", prices), array("d", sizes)


def _load_side(levels: Iterable[Level]) -> Side | None:
    """Snapshot levels as aligned (prices, sizes) arrays, ascending, size 0 dropped, a repeated
    price keeping its last size; ``None`` when a level is impossible (see :func:`valid_levels`)."""
    if not valid_levels(levels):
        return None
    return _sorted_side(levels)
