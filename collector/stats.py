"""Counters with a bounded number of keys.

Adapters, books and the collector count what happens to every frame
(``ignored.<kind>``, ``error.<reason>``, ``resync.<reason>``). Some of those keys come
from the wire (a channel name), so a hostile peer could otherwise grow a counter by one
key per frame. :class:`Stats` keeps at most ``max_keys`` keys; past that, new keys are
counted under ``"other"``.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["Stats"]


class Stats(Counter[str]):
    """A :class:`collections.Counter` of at most ``max_keys`` keys (then ``"other"`` takes the rest)."""

    max_keys = 256

    def __setitem__(self, key: str, value: int) -> None:
        if key not in self and len(self) >= self.max_keys:
            # A new key is only ever set to its first increment (a missing key reads as 0).
            key, value = "other", self.get("other", 0) + value
        super().__setitem__(key, value)
