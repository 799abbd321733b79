"""Fault injection: what :meth:`Simulator.inject` can do to one exchange, and its state.

Each fault reproduces something a real exchange connection does to a client, so tests
can check that the collector notices and recovers:

- ``GAP``: the next book diff of one symbol is withheld from every open connection of
  the exchange. The market keeps its ids, so the following diff does not link
  (Binance spot ``U > last + 1``, futures ``pu != last``; Bybit ``u`` skips one) and a
  correct client resyncs. Upbit sends whole books, which cannot gap: GAP raises there.
- ``ABRUPT_CLOSE``: every open connection is dropped at the TCP level, without a close
  frame (the client sees code 1006).
- ``STALL``: for ``seconds``, data frames and the exchange's own heartbeats are not sent
  (they are lost, as when an exchange's feed stalls); protocol pings, pongs and control
  replies still flow.
- ``FREEZE``: for ``seconds``, the server neither reads nor writes on the exchange's
  connections: client pings go unanswered and no frame or ping is sent. Frames produced
  meanwhile are queued and arrive afterwards, as from a process that was paused.
- ``CHECKSUM``: the next book diff of one symbol reaches every open connection with a
  wrong checksum (exchanges whose books carry one); a correct client resyncs that symbol.
- ``MALFORMED``: one frame that is not valid JSON (text, or binary on Upbit) is sent on
  every connection.
- ``RATE_LIMIT``: the next ``count`` REST calls answer 429 with ``Retry-After: 1``.
"""

from __future__ import annotations

import asyncio
import enum

__all__ = ["Fault", "FaultState"]


class Fault(enum.Enum):
    """A fault :meth:`collector.simulator.Simulator.inject` can apply (see the module docstring)."""

    GAP = "gap"
    CHECKSUM = "checksum"
    ABRUPT_CLOSE = "abrupt_close"
    STALL = "stall"
    FREEZE = "freeze"
    MALFORMED = "malformed"
    RATE_LIMIT = "rate_limit"


class FaultState:
    """The time-based faults of one exchange: stall deadline, freeze gate, pending 429s.

    ``running`` is set while the exchange is not frozen; readers, writers and pingers
    wait on it. Create it inside the event loop that serves the exchange.
    """

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.running.set()
        self.stall_until = 0.0
        self.rate_limited = 0
        self._freeze_until = 0.0
        self._thaw: asyncio.TimerHandle | None = None

    def stalled(self, now: float) -> bool:
        """Whether data frames are being withheld at loop time ``now``."""
        return now < self.stall_until

    def stall(self, now: float, seconds: float) -> None:
        """Withhold data frames until ``now + seconds`` (overlapping stalls extend)."""
        self.stall_until = max(self.stall_until, now + seconds)

    def freeze(self, loop: asyncio.AbstractEventLoop, seconds: float) -> None:
        """Stop all reading and writing for ``seconds`` (overlapping freezes extend)."""
        until = loop.time() + seconds
        if until <= self._freeze_until:
            return
        self._freeze_until = until
        self.running.clear()
        if self._thaw is not None:
            self._thaw.cancel()
        self._thaw = loop.call_at(until, self._unfreeze)

    def _unfreeze(self) -> None:
        self._thaw = None
        self.running.set()

    def close(self) -> None:
        """Cancel a pending thaw and let every waiter go (the server is stopping)."""
        if self._thaw is not None:
            self._thaw.cancel()
            self._thaw = None
        self.running.set()
