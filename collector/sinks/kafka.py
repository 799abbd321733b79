"""Fan events out to Kafka or Redpanda: one topic per event type, keyed by ``exchange:symbol``.

Delivery (stated in full in the README section "Kafka / Redpanda"):

* **At-least-once within a bounded buffer.** :meth:`KafkaSink.write` takes an event into
  an in-memory buffer of ``buffer_size`` events; it leaves the buffer only when the broker
  has acknowledged it with ``acks=all``, when the overflow policy drops it (``dropped``),
  or when the broker refuses it for good or ``close()`` runs out of time (``failed``).
  Retriable errors (connection lost, broker restart, leader change, timeouts) never lose
  an event: it is sent again, with capped exponential backoff and jitter.
* **Per-key order.** Each partition has at most one batch outstanding, and a batch that
  failed is re-sent before anything written after it, so every partition (hence every
  ``exchange:symbol`` key of every type topic) holds the events in ``write()`` order.
  Without idempotence a lost acknowledgement can repeat a contiguous run of events right
  after its first copy; with ``enable_idempotence=True`` (the default) the broker discards
  those repeats.

The accounting always balances: ``accepted == acked + dropped + failed + buffered``.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, get_args

from ..backoff import Backoff
from ..codec import encode_event
from ..errors import BrokerUnavailable, BufferOverflow, SinkClosed, SinkError, UsageError
from ..log import get_logger
from ..models import Event
from .embedded_broker import EmbeddedBroker
from .kafka_settings import (
    DEFAULT_TOPIC_TEMPLATE,
    EVENT_TYPES,
    OVERFLOW_POLICIES,
    Compression,
    KafkaSettings,
    Overflow,
    SinkStats,
    public_settings,
    shard_of,
)

__all__ = [
    "DEFAULT_TOPIC_TEMPLATE",
    "EVENT_TYPES",
    "OVERFLOW_POLICIES",
    "Backoff",
    "BrokerUnavailable",
    "BufferOverflow",
    "Compression",
    "EmbeddedBroker",
    "KafkaSettings",
    "KafkaSink",
    "Overflow",
    "SinkClosed",
    "SinkError",
    "SinkStats",
    "publish",
    "shard_of",
]

log = get_logger("collector.kafka")

_TAGS: Final[dict[type, str]] = {cls: str(cls.__struct_config__.tag) for cls in get_args(Event)}


class _Record:
    """One event on its way: the bytes to send, and when it was taken (for latency)."""

    __slots__ = ("enqueued", "event", "headers", "key", "seq", "value")

    def __init__(
        self, seq: int, event: Event, key: bytes, value: bytes, headers: list[tuple[str, bytes]], enqueued: float
    ) -> None:
        self.seq = seq
        self.event = event
        self.key = key
        self.value = value
        self.headers = headers
        self.enqueued = enqueued


class _Lane:
    """One topic-partition: its queue in write order and the task that drains it, one batch at a time."""

    __slots__ = ("partition", "queued", "solo", "task", "topic", "wake")

    def __init__(self, topic: str, partition: int) -> None:
        self.topic = topic
        self.partition = partition
        self.queued: deque[_Record] = deque()
        self.wake = asyncio.Event()
        self.solo = 0  # records to send one per batch, to isolate a record the broker refused
        self.task: asyncio.Task[None] | None = None


class _Topic:
    """A topic; records wait in ``unassigned`` until its partition count is known."""

    __slots__ = ("keys", "lanes", "name", "partitions", "task", "unassigned")

    def __init__(self, name: str) -> None:
        self.name = name
        self.partitions: list[int] | None = None
        self.unassigned: deque[_Record] = deque()
        self.lanes: dict[int, _Lane] = {}
        self.keys: dict[bytes, _Lane] = {}  # murmur2 is pure Python: hash each key once
        self.task: asyncio.Task[None] | None = None


class _Route:
    """Where events of one (class, exchange, symbol) go; cached so ``write()`` formats nothing."""

    __slots__ = ("headers", "key", "lane", "topic")

    def __init__(self, topic: _Topic, key: bytes, headers: list[tuple[str, bytes]]) -> None:
        self.topic = topic
        self.key = key
        self.headers = headers
        self.lane: _Lane | None = None


def _aiokafka() -> Any:
    try:
        return importlib.import_module("aiokafka")
    except ImportError as exc:
        raise UsageError("the Kafka sink needs aiokafka: pip install 'crypto-collector[kafka]'") from exc


class KafkaSink:
    """Publish events to Kafka/Redpanda with the guarantees in the module docstring.

    ``bootstrap`` is ``host:port[,host:port]``, or an :class:`EmbeddedBroker` that the sink
    starts and stops itself. Call :meth:`start`, then :meth:`write` per event, then
    :meth:`close`, which flushes; read :attr:`stats` at any time, and
    :attr:`undelivered` after ``close()`` for events that never got an acknowledgement.
    """

    def __init__(self, bootstrap: str | EmbeddedBroker, settings: KafkaSettings | None = None) -> None:
        self.settings = settings or KafkaSettings()
        self._embedded = bootstrap if isinstance(bootstrap, EmbeddedBroker) else None
        self.bootstrap = bootstrap if isinstance(bootstrap, str) else ""
        self.stats = SinkStats()
        self.undelivered: list[Event] = []
        """Events still unacknowledged when :meth:`close` gave up, in write order."""
        self._producer: Any = None
        self._errors: Any = None
        self._murmur2: Any = None
        self._routes: dict[tuple[type, str, str | None], _Route] = {}
        self._topics: dict[str, _Topic] = {}
        self._queues: list[deque[_Record]] = []
        self._seq = 0
        self._room = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closing = False
        self._closed = False
        self._overflowing = False
        self._episode_losses = 0
        self._latencies: deque[float] = deque(maxlen=200_000)
        self._loop_time = time.monotonic
        self.on_status: Callable[[str, str, str], None] | None = None
        """Set by the collector: ``on_status(sink, kind, detail)`` reports backpressure and recovery."""

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to the cluster; raises :class:`BrokerUnavailable` after ``connect_timeout``.

        After a successful start, outages no longer raise: events wait in the buffer.
        """
        kafka = _aiokafka()
        self._errors = importlib.import_module("aiokafka.errors")
        self._murmur2 = importlib.import_module("aiokafka.partitioner").murmur2
        if self._embedded is not None:
            if not self._embedded.running:
                await asyncio.to_thread(self._embedded.start)
            self.bootstrap = self._embedded.bootstrap
        s = self.settings
        deadline = time.monotonic() + s.connect_timeout
        delays = s.backoff.delays()
        while True:
            producer = kafka.AIOKafkaProducer(
                bootstrap_servers=self.bootstrap,
                client_id=s.client_id,
                acks="all",
                enable_idempotence=s.enable_idempotence,
                compression_type=s.compression,
                # The sink cuts its own batches (one outstanding per partition), so the
                # producer's batch size is ours and its own lingering is not needed.
                max_batch_size=s.batch_bytes,
                max_request_size=max(1024 * 1024, 2 * s.batch_bytes),
                linger_ms=0,
                request_timeout_ms=int(s.request_timeout * 1000),
                retry_backoff_ms=200,
            )
            try:
                await producer.start()
            except self._errors.KafkaConnectionError as exc:
                await producer.stop()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BrokerUnavailable(f"no Kafka broker reachable at {self.bootstrap}: {exc}") from exc
                log.warning("kafka broker not reachable yet", bootstrap=self.bootstrap, error=str(exc))
                await asyncio.sleep(min(next(delays), left))
            except self._errors.KafkaError as exc:
                await producer.stop()
                if s.enable_idempotence:
                    raise SinkError(
                        f"the broker at {self.bootstrap} refused the idempotent producer ({type(exc).__name__}); "
                        "pass --no-kafka-idempotence (KafkaSettings(enable_idempotence=False))"
                    ) from exc
                raise SinkError(f"the broker at {self.bootstrap} refused the producer: {exc!r}") from exc
            else:
                break
        self._producer = producer
        self._room.set()
        log.info("kafka sink started", bootstrap=self.bootstrap, **public_settings(s))

    async def close(self) -> None:
        """Flush: wait up to ``close_timeout`` for every buffered event to be acknowledged.

        What is still unacknowledged then is counted as ``failed``, listed in
        :attr:`undelivered` and logged as an error. Writers blocked on a full buffer get
        :class:`SinkClosed`.
        """
        if self._closed or self._closing:
            return
        self._closing = True
        self._room.set()
        for lane in self._lanes():
            lane.wake.set()
        deadline = time.monotonic() + self.settings.close_timeout
        try:
            async with asyncio.timeout(self.settings.close_timeout):
                await self._drained.wait()
        except TimeoutError:
            pass
        tasks = [t for t in self._tasks() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        leftovers = sorted((r for q in self._queues for r in q), key=lambda r: r.seq)
        for queue in self._queues:
            queue.clear()
        if leftovers:
            self.undelivered = [r.event for r in leftovers]
            self.stats.failed += len(leftovers)
            self.stats.buffered -= len(leftovers)
            log.error(
                "kafka sink closed with unacknowledged events",
                undelivered=len(leftovers),
                timeout=self.settings.close_timeout,
                **self.stats.as_dict(),
            )
        await self._stop_producer(max(deadline - time.monotonic(), 1.0))
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
        self._closed = True
        log.info("kafka sink closed", **self.stats.as_dict())

    async def _stop_producer(self, grace: float) -> None:
        producer = self._producer
        if producer is None:
            return
        try:
            async with asyncio.timeout(grace):
                await producer.stop()
        except TimeoutError:
            # aiokafka's stop() waits for every batch it still holds; with the broker gone
            # (and idempotence on, batches never expire) that is forever. Abandon them.
            sender = getattr(producer, "_sender", None)
            if sender is not None:
                await sender.close()
            await producer.client.close()

    async def __aenter__(self) -> KafkaSink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- the write path ------------------------------------------------------------------

    async def write(self, event: Event) -> None:
        """Take one event; returns once it is buffered (not acknowledged).

        With a full buffer: ``block`` waits for room, ``drop_oldest`` discards the oldest
        event not yet on the wire, ``fail`` raises :class:`BufferOverflow`.
        """
        if self._closing or self._producer is None:
            raise SinkClosed("write() on a Kafka sink that is not started or is closing")
        stats = self.stats
        if stats.buffered >= self.settings.buffer_size:
            await self._make_room()
        route = self._routes.get((type(event), event.exchange, event.symbol))
        if route is None:
            route = self._route(event)
        self._seq += 1
        record = _Record(self._seq, event, route.key, encode_event(event), route.headers, self._loop_time())
        stats.accepted += 1
        stats.buffered += 1
        self._drained.clear()
        lane = route.lane
        if lane is None:
            topic = route.topic
            if topic.partitions is None:
                topic.unassigned.append(record)
                return
            lane = route.lane = self._lane_for(topic, route.key)
        lane.queued.append(record)
        lane.wake.set()

    async def _make_room(self) -> None:
        policy = self.settings.overflow
        stats = self.stats
        waited = False
        while stats.buffered >= self.settings.buffer_size:
            if not self._overflowing:
                self._overflowing = True
                self._episode_losses = 0
                log.warning("kafka buffer full", policy=policy, **stats.as_dict())
                if self.on_status is not None:
                    self.on_status("kafka", "backpressure", f"buffer of {self.settings.buffer_size} full ({policy})")
            if policy == "fail":
                stats.rejected += 1
                raise BufferOverflow(f"Kafka sink buffer full ({stats.buffered} events unacknowledged); event rejected")
            if policy == "drop_oldest" and self._drop_oldest():
                continue
            # ``block``, or ``drop_oldest`` with every buffered event already on the wire.
            if not waited:
                stats.blocked += 1
                waited = True
            self._room.clear()
            await self._room.wait()
            if self._closing:
                raise SinkClosed("the Kafka sink closed while write() waited for room")

    def _drop_oldest(self) -> bool:
        oldest: deque[_Record] | None = None
        for queue in self._queues:
            if queue and (oldest is None or queue[0].seq < oldest[0].seq):
                oldest = queue
        if oldest is None:
            return False
        oldest.popleft()
        self.stats.dropped += 1
        self._episode_losses += 1
        self._release(1)
        return True

    def _route(self, event: Event) -> _Route:
        tag = _TAGS[type(event)]
        symbol = event.symbol
        name = self.settings.topic_template.format(type=tag, exchange=event.exchange)
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = _Topic(name)
            self._queues.append(topic.unassigned)
            topic.task = asyncio.create_task(self._resolve(topic), name=f"kafka-metadata-{name}")
        key = f"{event.exchange}:{symbol}" if symbol is not None else event.exchange
        headers = [("type", tag.encode()), ("exchange", event.exchange.encode())]
        route = _Route(topic, key.encode(), headers)
        self._routes[(type(event), event.exchange, symbol)] = route
        return route

    def _lane_for(self, topic: _Topic, key: bytes) -> _Lane:
        lane = topic.keys.get(key)
        if lane is not None:
            return lane
        partitions = topic.partitions
        assert partitions is not None
        # Same hash as the Java client and aiokafka's default partitioner, so producers in
        # any language agree on which partition holds a key.
        partition = partitions[(self._murmur2(key) & 0x7FFFFFFF) % len(partitions)]
        lane = topic.lanes.get(partition)
        if lane is None:
            lane = topic.lanes[partition] = _Lane(topic.name, partition)
            self._queues.append(lane.queued)
            lane.task = asyncio.create_task(self._drive(lane), name=f"kafka-{topic.name}-{partition}")
        topic.keys[key] = lane
        return lane

    async def _resolve(self, topic: _Topic) -> None:
        """Learn the topic's partitions, then move its waiting records to their lanes in order."""
        delays = self.settings.backoff.delays()
        while True:
            try:
                partitions = await self._producer.partitions_for(topic.name)
            except Exception as exc:  # every failure here is worth another try; the buffer bounds the wait
                log.warning("kafka topic metadata unavailable", topic=topic.name, error=repr(exc))
                partitions = None
            if partitions:
                break
            await asyncio.sleep(next(delays))
        topic.partitions = sorted(partitions)
        while topic.unassigned:
            record = topic.unassigned.popleft()
            lane = self._lane_for(topic, record.key)
            lane.queued.append(record)
            lane.wake.set()

    # -- delivery ------------------------------------------------------------------------

    async def _drive(self, lane: _Lane) -> None:
        """Send the lane's records one batch at a time; a failed batch goes back to the front."""
        producer = self._producer
        settings = self.settings
        stats = self.stats
        queued = lane.queued
        delays: Iterator[float] | None = None
        while True:
            if not queued:
                # Runs until close() cancels it: records may still arrive from _resolve.
                lane.wake.clear()
                await lane.wake.wait()
                # Coming from idle: give the batch a moment to fill. Under load the
                # previous round trip already did that, so no linger there.
                if settings.linger > 0 and not self._closing:
                    await asyncio.sleep(settings.linger)
                continue
            builder = producer.create_batch()
            batch: list[_Record] = []
            limit = 1 if lane.solo else len(queued)
            while queued and len(batch) < limit:
                record = queued[0]
                if builder.append(key=record.key, value=record.value, timestamp=None, headers=record.headers) is None:
                    break
                batch.append(queued.popleft())
            builder.close()
            n = len(batch)
            lane.solo = max(lane.solo - n, 0)
            stats.sent += n
            stats.in_flight += n
            try:
                future = await producer.send_batch(builder, lane.topic, partition=lane.partition)
                await future
            except asyncio.CancelledError:
                # close() gave up waiting: keep the batch so it is reported undelivered.
                queued.extendleft(reversed(batch))
                raise
            except Exception as exc:
                queued.extendleft(reversed(batch))
                if self._retriable(exc):
                    stats.retried += n
                    if delays is None:
                        delays = settings.backoff.delays()
                        log.warning(
                            "kafka send failed; retrying",
                            topic=lane.topic,
                            partition=lane.partition,
                            events=n,
                            error=repr(exc),
                        )
                    await asyncio.sleep(next(delays))
                elif n > 1:
                    # Send this batch's records one by one so only the refused one fails.
                    lane.solo = n
                else:
                    queued.popleft()
                    stats.failed += 1
                    self._release(1)
                    log.error(
                        "kafka refused an event; not retrying",
                        topic=lane.topic,
                        partition=lane.partition,
                        error=repr(exc),
                        event=encode_event(batch[0].event).decode(),
                    )
            else:
                if delays is not None:
                    delays = None
                    log.info("kafka sends recovered", topic=lane.topic, partition=lane.partition)
                stats.acked += n
                now = self._loop_time()
                self._latencies.extend(now - r.enqueued for r in batch)
                self._release(n)
            finally:
                stats.in_flight -= n

    def _retriable(self, exc: BaseException) -> bool:
        # A batch that expired in the producer reports a timeout, which aiokafka does not
        # flag as retriable; for the sink it is the broker being away, so retry it.
        errors = self._errors
        return isinstance(exc, errors.KafkaTimeoutError) or bool(getattr(exc, "retriable", False))

    def _release(self, n: int) -> None:
        stats = self.stats
        stats.buffered -= n
        if stats.buffered == 0:
            self._drained.set()
        if stats.buffered < self.settings.buffer_size:
            self._room.set()
        # An overflow episode ends at half the bound, so a buffer hovering at the bound
        # (e.g. drop_oldest making room one event at a time) logs once, not per event.
        if self._overflowing and stats.buffered <= self.settings.buffer_size // 2:
            self._overflowing = False
            log.warning("kafka buffer has room again", lost_while_full=self._episode_losses, **stats.as_dict())
            if self.on_status is not None:
                self.on_status("kafka", "recovered", f"{self._episode_losses} events dropped while full")

    # -- introspection -------------------------------------------------------------------

    def ack_latencies(self) -> list[float]:
        """Seconds from ``write()`` to the broker's acknowledgement, for recent events (up to 200k)."""
        return list(self._latencies)

    def _lanes(self) -> Iterator[_Lane]:
        for topic in self._topics.values():
            yield from topic.lanes.values()

    def _tasks(self) -> Iterator[asyncio.Task[None]]:
        for topic in self._topics.values():
            if topic.task is not None:
                yield topic.task
            for lane in topic.lanes.values():
                if lane.task is not None:
                    yield lane.task


async def publish(events: Iterable[Event], sink: KafkaSink) -> SinkStats:
    """Start ``sink``, write every event, close it (flush) and return its counters.

    For replaying a capture into Kafka: ``await publish(collector.replay(path), sink)``.
    """
    await sink.start()
    try:
        for event in events:
            await sink.write(event)
    finally:
        await sink.close()
    return sink.stats
