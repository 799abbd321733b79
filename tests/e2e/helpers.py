"""Helpers shared by the end-to-end tests: fast reconnect policy, polling, an event recorder."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

from collector import Event
from collector.rest import backoff_delays

FAST = {"idle_timeout": 1.0, "ping_interval": 0.3, "ping_timeout": 0.6}
"""Plan overrides that detect a dead or idle connection in about a second."""


def quick_delays() -> Iterator[float]:
    """Reconnect backoff shrunk for tests (same shape as the default: capped, full jitter)."""
    return backoff_delays(initial=0.05, cap=0.2)


async def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``condition`` until true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


class Recorder:
    """Collects every event the collector delivers (use it as a callback)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[Any], exchange: str | None = None) -> list[Any]:
        """The recorded events of ``kind`` (optionally of one exchange), in arrival order."""
        return [e for e in self.events if isinstance(e, kind) and (exchange is None or e.exchange == exchange)]
