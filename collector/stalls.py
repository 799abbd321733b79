"""Telling a silent feed from a process that was not running.

A book with no update for its limit is resynced as ``stale``, a connection with no data
for ``idle_timeout`` is reconnected. Both judge by the wall clock, so when the event loop
itself is blocked (a callback that does heavy work, a long garbage collection, a container
starved of CPU) every feed looks silent for as long: the frames that arrived meanwhile are
unread in the socket buffers, not missing. Without a correction, one 10 s block resyncs
every book and reconnects every connection.

:class:`LoopStalls` measures how late the periodic checks wake up; a wake-up later than
:data:`STALL` records a stall. :meth:`LoopStalls.allowance` then tells a check how many
seconds since a given time the process was stalled, and the check subtracts them from the
silence it measured: a stall is never counted against a feed, and a feed that is really
dead is still found once it has been silent for its limit of running time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from .log import get_logger

__all__ = ["STALL", "LoopStalls"]

STALL = 0.5
"""A periodic wake-up this many seconds late means the event loop was blocked."""

log = get_logger("collector.stalls")


class LoopStalls:
    """The recent stalls of one event loop, as ``(wall time it ended, seconds)``.

    Share one per collector: each periodic task sleeps through :meth:`sleep`, and whichever
    wakes first after a block records it (the others see the same stall and do not count it
    twice). Keeps the last ``keep`` stalls.
    """

    def __init__(self, keep: int = 256) -> None:
        self._stalls: deque[tuple[float, float]] = deque(maxlen=keep)
        self.total = 0.0
        """Seconds of stall recorded so far."""

    async def sleep(self, seconds: float) -> float:
        """Sleep ``seconds``; return the wall time on waking, after recording a stall if it came late."""
        loop = asyncio.get_running_loop()
        due = loop.time() + seconds
        await asyncio.sleep(seconds)
        late = loop.time() - due
        now = time.time()
        if late > STALL:
            self.record(now, late)
        return now

    def record(self, ended: float, seconds: float) -> None:
        """Note that the process did not run for ``seconds`` up to wall time ``ended``."""
        if self._stalls and self._stalls[-1][0] >= ended - seconds:
            # Another task woke late from the same block: extend that stall, do not add one.
            last_end, last_seconds = self._stalls[-1]
            start = min(last_end - last_seconds, ended - seconds)
            end = max(last_end, ended)
            self.total += (end - start) - last_seconds
            self._stalls[-1] = (end, end - start)
            return
        self._stalls.append((ended, seconds))
        self.total += seconds
        log.warning("the event loop was blocked; feeds are not judged silent for it", seconds=round(seconds, 2))

    def allowance(self, since: float) -> float:
        """Seconds the process was stalled after wall time ``since`` (what a silence since then
        should not be blamed for)."""
        total = 0.0
        for ended, seconds in reversed(self._stalls):
            if ended <= since:
                break
            total += min(seconds, ended - since)
        return total
