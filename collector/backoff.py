"""The one retry policy: capped exponential backoff with full jitter.

Every retry in collector (websocket reconnects, REST retries, Kafka re-sends, database
retries) draws its delays from a :class:`Backoff`. Full jitter (a delay drawn uniformly
from ``[0, ceiling]``) spreads a fleet of clients that lost the exchange at the same
moment, so they do not come back at the same moment either.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Backoff", "backoff_delays"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays ``uniform(0, min(cap, initial * factor**n))`` for the n-th retry in a row.

    Call :meth:`delays` for a fresh sequence after each success.
    """

    initial: float = 0.5
    factor: float = 2.0
    cap: float = 30.0

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """An endless iterator of delays."""
        draw = (rng or random.Random()).uniform
        ceiling = self.initial
        while True:
            yield draw(0.0, ceiling)
            ceiling = min(self.cap, ceiling * self.factor)


def backoff_delays(
    initial: float = 0.5, factor: float = 2.0, cap: float = 30.0, rng: random.Random | None = None
) -> Iterator[float]:
    """``Backoff(initial, factor, cap).delays(rng)``: a delay factory for connections and tests."""
    return Backoff(initial, factor, cap).delays(rng)
