"""Order-book metrics from the maintained book's best levels.

- ``spread``: best ask - best bid.
- ``mid``: (best bid + best ask) / 2.
- ``microprice``: the size-weighted mid, ``(bid * ask_size + ask * bid_size) / (bid_size + ask_size)``,
  which leans towards the side more likely to be taken out next.
- ``imbalance``: ``(bid volume - ask volume) / (bid volume + ask volume)`` over the best
  ``depth`` levels of each side, in [-1, 1]; positive means more resting bids.

Each is ``None`` when the book has no level on a side it needs.
"""

from __future__ import annotations

from ..models import Level

__all__ = ["BOOK_METRIC_NAMES", "BOOK_NAME", "book_values"]

BOOK_NAME = "BOOK"
"""The ``name`` of book-metric indicator events; ``params`` is ``[depth]``."""

BOOK_METRIC_NAMES = ("spread", "mid", "microprice", "imbalance")


def book_values(bids: list[Level], asks: list[Level]) -> dict[str, float | None]:
    """The metrics for the best levels given (best first), keyed by :data:`BOOK_METRIC_NAMES`."""
    bid_volume = sum(size for _, size in bids)
    ask_volume = sum(size for _, size in asks)
    total = bid_volume + ask_volume
    imbalance = (bid_volume - ask_volume) / total if total > 0 else None
    if not bids or not asks:
        return {"spread": None, "mid": None, "microprice": None, "imbalance": imbalance}
    bid, bid_size = bids[0]
    ask, ask_size = asks[0]
    top = bid_size + ask_size
    return {
        "spread": ask - bid,
        "mid": (bid + ask) / 2.0,
        "microprice": (bid * ask_size + ask * bid_size) / top if top > 0 else None,
        "imbalance": imbalance,
    }
