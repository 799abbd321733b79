"""Sinks: where events go besides the Python caller (JSON lines, Kafka/Redpanda, ...).

A sink is any object with the three coroutine methods of :class:`Sink`. The collector
calls ``start`` once, ``write`` for every event in pipeline order, and ``close`` at
shutdown, which must flush what the sink still holds. ``write`` may wait: that is how
a sink applies backpressure to the pipeline (see each sink's overflow policy).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..models import Event
from .jsonl import JsonLinesSink
from .kafka import KafkaSettings, KafkaSink

__all__ = ["JsonLinesSink", "KafkaSettings", "KafkaSink", "Sink"]


@runtime_checkable
class Sink(Protocol):
    """The sink interface: ``start``, then ``write`` per event, then ``close`` (flushes)."""

    async def start(self) -> None:
        """Open connections or files; called once before the first ``write``."""

    async def write(self, event: Event) -> None:
        """Take one event; may wait to apply backpressure."""

    async def close(self) -> None:
        """Flush everything accepted so far and release resources."""
