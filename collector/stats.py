"""Counters with a bounded number of keys.

Adapters, books and the collector count what happens to every frame
(``ignored.<kind>``, ``error.<reason>``, ``resync.<reason>``). Some of those keys come
from the wire (a channel name), so a hostile peer could otherwise grow a counter by one
key per frame. Keys made from wire data go through :meth:`Stats.count`, which keeps at
most ``max_keys`` keys and counts the rest under ``"other"``; fixed keys are counted with
plain ``stats[key] += 1`` (a hot path pays nothing for the bound).
"""

from __future__ import annotations

from collections import Counter

__all__ = ["Stats"]


class Stats(Counter[str]):
    """A :class:`collections.Counter`; :meth:`count` keeps wire-derived keys bounded."""

    max_keys = 256

    def count(self, key: str, n: int = 1) -> None:
        """Add ``n`` to ``key``, or to ``"other"`` once ``max_keys`` keys exist."""
        if key not in self and len(self) >= self.max_keys:
            key = "other"
        self[key] += n
