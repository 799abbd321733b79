"""Read events back from Kafka/Redpanda as the typed models (the other end of the Kafka sink).

::

    async with collector.consume("localhost:9092", types=["trade"], group="my-bot") as stream:
        async for event in stream:
            ...

Messages that are not collector events are counted in ``stream.stats.undecodable``
and logged with their topic, partition and offset; iteration goes on.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .codec import decode_event, encode_event
from .errors import MalformedFrame, UsageError
from .log import get_logger
from .models import Event
from .sinks.kafka import DEFAULT_TOPIC_TEMPLATE, EVENT_TYPES

__all__ = [
    "ConsumeStats",
    "EventConsumer",
    "add_consume_arguments",
    "consume",
    "run_consume",
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
    offsets are committed automatically (``auto_commit=True``, at most every 5 s) or
    when you call :meth:`commit`; the group's committed offsets win over
    ``from_beginning``.
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
    ) -> None:
        if topics and pattern:
            raise UsageError("pass topics or pattern, not both")
        self.bootstrap = bootstrap
        self.topics = list(topics) if topics else ([] if pattern else topics_for(types, topic_template))
        self.pattern = pattern
        self.group = group
        self.idle_timeout = idle_timeout
        self.stats = ConsumeStats()
        self.last_error: str | None = None
        """The latest undecodable message's description, for reporting."""
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "client_id": client_id,
            "group_id": group,
            "auto_offset_reset": "earliest" if from_beginning else "latest",
            "enable_auto_commit": auto_commit and group is not None,
            # Type topics appear when their first event is produced (e.g. the first
            # resync); refresh metadata often enough that a pattern picks them up.
            "metadata_max_age_ms": 10_000,
            **(options or {}),
        }
        self._consumer: Any = None

    async def start(self) -> None:
        """Connect and subscribe; raises :class:`UsageError` if aiokafka is missing."""
        try:
            from aiokafka import AIOKafkaConsumer
        except ImportError as exc:
            raise UsageError("consuming needs aiokafka: pip install 'collector[kafka]'") from exc
        consumer = AIOKafkaConsumer(**self._options)
        await consumer.start()
        if self.pattern:
            consumer.subscribe(pattern=self.pattern)
        else:
            consumer.subscribe(self.topics)
        self._consumer = consumer

    async def close(self) -> None:
        """Leave the group (committing if auto-commit is on) and close connections."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def commit(self) -> None:
        """Commit the offsets of every event yielded so far (needs ``group``)."""
        if self._consumer is not None and self.group is not None:
            await self._consumer.commit()

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
        last = time.monotonic()
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=200, max_records=2000)
                if not batches:
                    if self.idle_timeout is not None and time.monotonic() - last >= self.idle_timeout:
                        return
                    continue
                last = time.monotonic()
                for messages in batches.values():
                    for message in messages:
                        stats.received += 1
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
) -> EventConsumer:
    """Events from the collector topics on ``bootstrap``, decoded into the typed models.

    Reads every event type by default; narrow it with ``types=["trade", "book"]``,
    explicit ``topics`` or a regex ``pattern``. ``group`` joins a consumer group so
    several processes share the partitions (per-symbol order holds within each). Without
    a group or committed offsets, ``from_beginning`` picks the earliest retained message
    instead of only new ones. ``idle_timeout`` ends the iteration after that many
    seconds without a message. ``options`` go to ``aiokafka.AIOKafkaConsumer``.
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
    )


def add_consume_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``collector consume`` (pass the result to :func:`run_consume`)."""
    parser.add_argument("bootstrap", metavar="BOOTSTRAP", help="Kafka/Redpanda servers, host:port[,host:port]")
    parser.add_argument(
        "--types", default=None, help=f"comma-separated event types (default all: {','.join(EVENT_TYPES)})"
    )
    parser.add_argument("--topic", action="append", default=[], help="read this topic (repeatable; overrides --types)")
    parser.add_argument("--pattern", default=None, help="read topics matching this regex")
    parser.add_argument("--topic-template", default=DEFAULT_TOPIC_TEMPLATE, help="the producers' topic template")
    parser.add_argument("--group", default=None, help="consumer group id (share partitions, commit offsets)")
    parser.add_argument("--from-beginning", action="store_true", help="start at the earliest retained message")
    parser.add_argument("--max-events", type=int, default=None, metavar="N", help="exit after N events")
    parser.add_argument(
        "--idle-timeout", type=float, default=None, metavar="SECONDS", help="exit after this long without a message"
    )
    parser.add_argument("--out", default=None, help="write JSON lines here instead of stdout")


async def run_consume(args: argparse.Namespace) -> int:
    """``collector consume``: print events as JSON lines; 0, or 1 when messages were undecodable."""
    if args.pattern:
        re.compile(args.pattern)
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    stream = consume(
        args.bootstrap,
        args.topic or None,
        types=types,
        pattern=args.pattern,
        group=args.group,
        from_beginning=args.from_beginning,
        topic_template=args.topic_template,
        idle_timeout=args.idle_timeout,
    )
    out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115, ASYNC230 - opened once, closed below
    count = 0
    try:
        async with stream:
            async for event in stream:
                out.write(encode_event(event) + b"\n")
                count += 1
                if args.max_events is not None and count >= args.max_events:
                    break
    finally:
        out.flush()
        if args.out:
            out.close()
        print(f"consumed {count} events; {stream.stats.as_dict()}", file=sys.stderr)
    if stream.stats.undecodable:
        print(f"last undecodable message: {stream.last_error}", file=sys.stderr)
        return 1
    return 0
