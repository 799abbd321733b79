"""Read events back from Kafka/Redpanda as the typed models (the other end of the Kafka sink).

::

    async with collector.consume("localhost:9092", types=["trade"], group="my-bot") as stream:
        async for event in stream:
            ...

Offsets are committed for what was handed to you, not for what was fetched: a bot that
stops after 3 of 10 events and starts again in the same group gets the other 7
(at-least-once). Messages that are not collector events (poison messages) are counted
in ``stream.stats.undecodable``, logged with their topic, partition and offset, and
skipped; iteration goes on.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .codec import decode_event
from .errors import BrokerUnavailable, MalformedFrame, UsageError
from .log import get_logger
from .models import Event
from .sinks.kafka import DEFAULT_TOPIC_TEMPLATE, EVENT_TYPES

__all__ = [
    "ConsumeStats",
    "EventConsumer",
    "consume",
    "topics_for",
]

log = get_logger("collector.consume")


@dataclass(slots=True)
class ConsumeStats:
    """Counters of one consumer: messages ``received``, ``decoded`` into events, ``undecodable``."""

    received: int = 0
    decoded: int = 0
    undecodable: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


def topics_for(types: Sequence[str] | None = None, template: str = DEFAULT_TOPIC_TEMPLATE) -> list[str]:
    """Topic names the sink uses for these event types (all types by default).

    Only for templates that use ``{type}`` alone; with ``{exchange}`` pass topics or a pattern.
    """
    chosen = list(types) if types else list(EVENT_TYPES)
    unknown = sorted(set(chosen) - set(EVENT_TYPES))
    if unknown:
        raise UsageError(f"unknown event types {unknown}; known: {', '.join(EVENT_TYPES)}")
    if "{exchange}" in template:
        raise UsageError("the topic template uses {exchange}: pass topics=[...] or pattern=... instead")
    return [template.format(type=t) for t in chosen]


class EventConsumer:
    """An async iterator of events from Kafka topics; build it with :func:`consume`.

    Use it as ``async with`` (which starts and stops the underlying consumer), or just
    ``async for`` (which starts it and stops it when the loop ends). With ``group`` set,
    the offsets of the events handed out are committed every ``commit_interval`` seconds
    and on close (``auto_commit=True``), or when you call :meth:`commit`; the group's
    committed offsets win over ``from_beginning``.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Sequence[str] | None = None,
        *,
        types: Sequence[str] | None = None,
        pattern: str | None = None,
        group: str | None = None,
        from_beginning: bool = False,
        topic_template: str = DEFAULT_TOPIC_TEMPLATE,
        idle_timeout: float | None = None,
        auto_commit: bool = True,
        client_id: str = "collector-consume",
        options: dict[str, Any] | None = None,
        commit_interval: float = 5.0,
        connect_timeout: float = 10.0,
    ) -> None:
        if topics and pattern:
            raise UsageError("pass topics or pattern, not both")
        self.bootstrap = bootstrap
        self.topics = list(topics) if topics else ([] if pattern else topics_for(types, topic_template))
        self.pattern = pattern
        self.group = group
        self.idle_timeout = idle_timeout
        self.auto_commit = auto_commit and group is not None
        self.commit_interval = commit_interval
        self.connect_timeout = connect_timeout
        self.stats = ConsumeStats()
        self.last_error: str | None = None
        """The latest undecodable message's description, for reporting."""
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "group_id": group,
            "auto_offset_reset": "earliest" if from_beginning else "latest",
            # The consumer's own auto-commit commits what it fetched, which is more than was
            # handed out: offsets are committed here instead.
            "enable_auto_commit": False,
            # Type topics appear when their first event is produced (e.g. the first
            # resync); refresh metadata often enough that a pattern picks them up.
            "metadata_max_age_ms": 10_000,
            **(options or {}),
        }
        self._consumer: Any = None
        self._handed: dict[Any, int] = {}  # TopicPartition -> offset after the last message handed out
        self._committed: dict[Any, int] = {}
        self._committed_at = time.monotonic()

    async def start(self) -> None:
        """Connect and subscribe; raises :class:`UsageError` if aiokafka is missing and
        :class:`~collector.errors.BrokerUnavailable` if no broker answers within ``connect_timeout``."""
        try:
            from aiokafka import AIOKafkaConsumer
            from aiokafka.errors import KafkaError
        except ImportError as exc:
            raise UsageError("consuming needs aiokafka: pip install 'crypto-collector[kafka]'") from exc
        consumer = AIOKafkaConsumer(**self._options)
        try:
            await asyncio.wait_for(consumer.start(), self.connect_timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            await consumer.stop()
            reason = str(exc) or type(exc).__name__
            raise BrokerUnavailable(f"no Kafka broker reachable at {self.bootstrap}: {reason}") from exc
        if self.pattern:
            consumer.subscribe(pattern=self.pattern)
        else:
            consumer.subscribe(self.topics)
        self._consumer = consumer

    async def close(self) -> None:
        """Commit what was handed out (with auto-commit), leave the group and close connections."""
        consumer = self._consumer
        if consumer is None:
            return
        try:
            if self.auto_commit:
                await self.commit()
        finally:
            self._consumer = None
            await consumer.stop()

    async def commit(self) -> None:
        """Commit the offsets of every event handed out so far (needs ``group``)."""
        if self._consumer is None or self.group is None:
            return
        fresh = {tp: offset for tp, offset in self._handed.items() if self._committed.get(tp) != offset}
        if fresh:
            await self._consumer.commit(fresh)
            self._committed.update(fresh)
        self._committed_at = time.monotonic()

    async def __aenter__(self) -> EventConsumer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        owned = self._consumer is None
        if owned:
            await self.start()
        consumer = self._consumer
        stats = self.stats
        handed = self._handed
        last = time.monotonic()
        try:
            while True:
                if self.auto_commit and time.monotonic() - self._committed_at >= self.commit_interval:
                    await self.commit()
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                if not batches:
                    if self.idle_timeout is not None and time.monotonic() - last >= self.idle_timeout:
                        return
                    continue
                last = time.monotonic()
                for tp, messages in batches.items():
                    for message in messages:
                        stats.received += 1
                        # Handed out (or skipped as poison) from here on: a restart resumes after it.
                        handed[tp] = message.offset + 1
                        try:
                            event = decode_event(message.value or b"")
                        except MalformedFrame as exc:
                            stats.undecodable += 1
                            self.last_error = f"{message.topic}[{message.partition}]@{message.offset}: {str(exc)[:200]}"
                            log.warning("undecodable kafka message", error=self.last_error)
                            continue
                        stats.decoded += 1
                        yield event
        finally:
            if owned:
                await self.close()


def consume(
    bootstrap: str,
    topics: Sequence[str] | None = None,
    *,
    types: Sequence[str] | None = None,
    pattern: str | None = None,
    group: str | None = None,
    from_beginning: bool = False,
    topic_template: str = DEFAULT_TOPIC_TEMPLATE,
    idle_timeout: float | None = None,
    auto_commit: bool = True,
    options: dict[str, Any] | None = None,
    connect_timeout: float = 10.0,
) -> EventConsumer:
    """Events from the collector topics on ``bootstrap``, decoded into the typed models.

    Reads every event type by default; narrow it with ``types=["trade", "book"]``,
    explicit ``topics`` or a regex ``pattern``. ``group`` joins a consumer group so
    several processes share the partitions (per-symbol order holds within each). Without
    a group or committed offsets, ``from_beginning`` picks the earliest retained message
    instead of only new ones. ``idle_timeout`` ends the iteration after that many
    seconds without a message. ``options`` go to ``aiokafka.AIOKafkaConsumer``.
    Raises :class:`~collector.errors.BrokerUnavailable` (when started) if no broker
    answers within ``connect_timeout`` seconds.
    """
    return EventConsumer(
        bootstrap,
        topics,
        types=types,
        pattern=pattern,
        group=group,
        from_beginning=from_beginning,
        topic_template=topic_template,
        idle_timeout=idle_timeout,
        auto_commit=auto_commit,
        options=options,
        connect_timeout=connect_timeout,
    )
