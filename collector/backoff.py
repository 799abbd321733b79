"""The one retry policy: capped exponential backoff with full jitter; connect pacing.

Every retry in collector (websocket reconnects, REST retries, Kafka re-sends, database
retries) draws its delays from a :class:`Backoff`. Full jitter (a delay drawn uniformly
from ``[0, ceiling]``) spreads a fleet of clients that lost the exchange at the same
moment, so they do not come back at the same moment either.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["Backoff", "ConnectPacer", "backoff_delays"]


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


class ConnectPacer:
    """At most ``count`` connection attempts in any ``period`` seconds (a sliding window).

    Exchanges limit how fast one IP may open websockets (OKX: 3 per second; Bitfinex: 20
    per minute; Binance: 300 per 5 minutes). Every connection of an exchange awaits
    :meth:`wait` before each attempt, so a plan of many connections, or a fleet of them
    reconnecting after an outage, opens no faster than that.
    """

    def __init__(self, count: int, period: float, clock: Callable[[], float] = time.monotonic) -> None:
        if count < 1 or period <= 0:
            raise ValueError(f"connect pacing needs count >= 1 and period > 0, got {count}/{period}")
        self.count = count
        self.period = period
        self.waited = 0
        self._clock = clock
        self._times: deque[float] = deque()

    async def wait(self) -> None:
        """Return when one more attempt fits the window (and count it)."""
        while True:
            now = self._clock()
            times = self._times
            while times and now - times[0] >= self.period:
                times.popleft()
            if len(times) < self.count:
                times.append(now)
                return
            self.waited += 1
            await asyncio.sleep(times[0] + self.period - now)
