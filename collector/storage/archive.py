"""``collector archive``: store the collector topics from Kafka/Redpanda, exactly once in effect.

::

    archiver = Archiver("localhost:19092", [PostgresTarget(dsn), FileTarget("data/")], group="archivers")
    await archiver.run()              # until cancelled, or idle_timeout / max_events

Processes started with the same ``group`` share the topics' partitions (each partition,
hence each symbol, is archived by one of them at a time), so archiving scales with
consumer groups up to the number of partitions.

Delivery, in order for every batch:

1. messages are decoded into rows (a message that is not a collector event becomes a
   dead-letter row with the reason and its bytes, never dropped);
2. the batch is written to every target — PostgreSQL commits it in one transaction;
   file datasets stage it in open files, sealed (fsync + rename) at their roll size or
   age, together with the offsets they reach;
3. only then are the offsets committed to Kafka.

A crash anywhere re-delivers what was not committed: PostgreSQL skips rows whose keys
it holds, and a file dataset starts from the offsets recorded with its last seal, so
the stored result is the same as without the crash (*exactly once in effect*). While a
target is down the batch is retried with the shared backoff, consumption pauses (the
consumer keeps its group membership), and nothing is dropped; the lag grows instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import partial
from typing import Any

from ..codec import decode_event
from ..consume import topics_for
from ..errors import BrokerUnavailable, MalformedFrame, UsageError
from ..log import get_logger
from ..models import Book, Outage
from ..sinks.kafka import DEFAULT_TOPIC_TEMPLATE
from .files import FileTarget, read_offsets
from .rows import Batch, RowBuilder
from .sink import StorageSettings
from .target import Checkpoint, Target, TargetDown, retrying

__all__ = ["ArchiveStats", "Archiver"]

log = get_logger("collector.archive")


@dataclass(slots=True)
class ArchiveStats:
    """Messages ``received``; ``decoded`` into events; ``undecodable`` (stored as dead letters);
    ``batches`` written; ``commits`` of offsets to Kafka; ``aborted`` batches dropped at a
    rebalance (read again by the partitions' next owner)."""

    received: int = 0
    decoded: int = 0
    undecodable: int = 0
    batches: int = 0
    commits: int = 0
    aborted: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


class _Aborted(Exception):
    """The batch in progress was given up (its partitions were revoked)."""


class Archiver:
    """Consume collector topics and store them in ``targets`` (see the module docstring).

    ``types`` (default all), explicit ``topics`` or a ``pattern`` choose what to read.
    ``start`` is where a group without committed offsets begins (``earliest``: everything
    retained). ``idle_timeout`` stops after that many seconds without a message and
    ``max_events`` after that many messages, both after a final write, seal and commit.
    """

    def __init__(
        self,
        bootstrap: str,
        targets: Sequence[Target],
        *,
        group: str,
        types: Sequence[str] | None = None,
        topics: Sequence[str] | None = None,
        pattern: str | None = None,
        topic_template: str = DEFAULT_TOPIC_TEMPLATE,
        start: str = "earliest",
        settings: StorageSettings | None = None,
        idle_timeout: float | None = None,
        max_events: int | None = None,
        connect_timeout: float = 10.0,
        options: dict[str, Any] | None = None,
    ) -> None:
        if not targets:
            raise UsageError("archive needs at least one target (--postgres, --parquet or --csv)")
        if not group:
            raise UsageError("archive needs a consumer group (--group)")
        if start not in ("earliest", "latest"):
            raise UsageError(f"start must be earliest or latest, not {start!r}")
        self.bootstrap = bootstrap
        self.targets = list(targets)
        self.group = group
        self.pattern = pattern
        self.topics = list(topics) if topics else ([] if pattern else topics_for(types, topic_template))
        self.settings = settings or StorageSettings()
        self.idle_timeout = idle_timeout
        self.max_events = max_events
        self.connect_timeout = connect_timeout
        self.stats = ArchiveStats()
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap,
            "group_id": group,
            "client_id": "collector-archive",
            "enable_auto_commit": False,  # offsets are committed once the rows are durable
            "auto_offset_reset": start,
            "metadata_max_age_ms": 10_000,
            **(options or {}),
        }
        self._files: list[FileTarget] = [t for t in self.targets if isinstance(t, FileTarget)]
        if len(self._files) > 1:
            # Each dataset records the offsets it reached; one archiver follows one of them.
            raise UsageError("archive writes one file dataset (--parquet or --csv); run one archiver per dataset")
        self._builder = RowBuilder(self.settings.book_interval)
        self._batch = Batch()
        self._batch_since: float | None = None
        self._next: dict[Any, int] = {}  # TopicPartition -> next offset, for everything in _batch or written
        self._committed: dict[Any, int] = {}
        self._book_owner: dict[tuple[str, str], Any] = {}  # (exchange, symbol) -> its book partition
        self._consumer: Any = None
        self._lock = asyncio.Lock()
        self._revoking = False
        self._notes: list[Outage] = []

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> ArchiveStats:
        """Open the targets, join the group and archive until stopped; returns the counters."""
        for target in self.targets:
            await target.open()
        try:
            await self._start_consumer()
            failure: Exception | None = None
            try:
                await self._loop()
            finally:
                try:
                    async with self._lock:
                        # Bounded: a target still down at shutdown leaves its rows to the next run.
                        await self._flush(final=True, deadline=time.monotonic() + self.settings.close_timeout)
                except _Aborted:
                    pass  # the partitions moved on; their next owner stores the batch
                except Exception as exc:
                    # Nothing unstored was committed: the next run reads it again.
                    log.error("stopped before the last batch was stored", error=repr(exc))
                    failure = exc
                finally:
                    await self._consumer.stop()
            if failure is not None:
                raise failure
        finally:
            for target in self.targets:
                with contextlib.suppress(Exception):
                    await target.close()
        return self.stats

    async def _start_consumer(self) -> None:
        try:
            from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
            from aiokafka.errors import KafkaError
        except ImportError as exc:
            raise UsageError("archive needs aiokafka: pip install 'crypto-collector[kafka]'") from exc
        archiver = self

        class Listener(ConsumerRebalanceListener):  # type: ignore[misc]
            async def on_partitions_revoked(self, revoked: Any) -> None:
                await archiver._on_revoked(revoked)

            async def on_partitions_assigned(self, assigned: Any) -> None:
                await archiver._on_assigned(assigned)

        consumer = AIOKafkaConsumer(**self._options)
        try:
            await asyncio.wait_for(consumer.start(), self.connect_timeout)
        except (KafkaError, OSError, TimeoutError) as exc:
            await consumer.stop()
            raise BrokerUnavailable(
                f"no Kafka broker reachable at {self.bootstrap}: {exc or type(exc).__name__}"
            ) from exc
        if self.pattern:
            consumer.subscribe(pattern=self.pattern, listener=Listener())
        else:
            consumer.subscribe(self.topics, listener=Listener())
        self._consumer = consumer

    async def _loop(self) -> None:
        settings = self.settings
        last = time.monotonic()
        while True:
            records = await self._consumer.getmany(timeout_ms=200, max_records=settings.batch_rows)
            now = time.monotonic()
            if records:
                last = now
                async with self._lock:
                    for tp, messages in records.items():
                        for message in messages:
                            self._take(tp, message)
            due = self._batch_since is not None and now - self._batch_since >= settings.flush_interval
            enough = self.max_events is not None and self.stats.received >= self.max_events
            if (
                len(self._batch) >= settings.batch_rows
                or due
                or self._notes
                or any(t.wants_seal() for t in self._files)
            ):
                async with self._lock:
                    with contextlib.suppress(_Aborted):
                        await self._flush(final=False)
            if enough or (self.idle_timeout is not None and now - last >= self.idle_timeout):
                return

    def _take(self, tp: Any, message: Any) -> None:
        stats = self.stats
        stats.received += 1
        self._next[tp] = message.offset + 1
        if self._batch_since is None:
            self._batch_since = time.monotonic()
        value = message.value or b""
        try:
            event = decode_event(value)
        except MalformedFrame as exc:
            stats.undecodable += 1
            source = f"{message.topic}[{message.partition}]@{message.offset}"
            self._batch.dead_letter(message.timestamp * 1000, source, str(exc), value)
            log.warning("undecodable message stored as a dead letter", source=source, error=str(exc)[:200])
            return
        stats.decoded += 1
        if type(event) is Book:
            self._book_owner[(event.exchange, event.symbol)] = tp
        self._builder.add(event, self._batch)

    # -- writing ---------------------------------------------------------------------------

    async def _flush(self, *, final: bool, deadline: float | None = None) -> None:
        """Write the batch everywhere, seal when due, then commit (caller holds ``_lock``)."""
        for note in self._notes:
            self._builder.add(note, self._batch)
        self._notes.clear()
        batch = self._batch
        if len(batch):
            for target in self.targets:
                await self._retry(target, partial(target.write, batch), deadline)
            self.stats.batches += 1
        self._batch = Batch()
        self._batch_since = None
        if any(not t.durable_on_write for t in self.targets):
            if not (final or any(t.wants_seal() for t in self._files)):
                return  # rows wait in open files; offsets are committed with the seal
            checkpoint = self._checkpoint()
            for target in self._files:
                await self._retry(target, partial(target.seal, checkpoint), deadline)
        await self._commit()

    def _checkpoint(self) -> Checkpoint:
        slots: dict[tuple[str, int], dict[str, int]] = {}
        for key, tp in self._book_owner.items():
            slots.setdefault((tp.topic, tp.partition), {}).update(self._builder.book_slots([key]))
        offsets = {(tp.topic, tp.partition): offset for tp, offset in self._next.items()}
        return Checkpoint(self.group, offsets, slots)

    async def _commit(self) -> None:
        fresh = {tp: o for tp, o in self._next.items() if self._committed.get(tp) != o}
        if not fresh:
            return
        from aiokafka.errors import KafkaError

        try:
            await self._consumer.commit(fresh)
        except KafkaError as exc:
            # The rows are durable; a new owner of these partitions reads them again, harmlessly.
            log.warning("offset commit failed; the next reader repeats part of the stream", error=repr(exc))
            return
        self._committed.update(fresh)
        self.stats.commits += 1

    async def _retry(self, target: Target, operation: Any, deadline: float | None) -> None:
        await retrying(
            operation,
            source=target.name,
            backoff=self.settings.backoff,
            stats=target.stats,
            on_status=self._on_status,
            deadline=deadline,
            idle=self._idle,
        )

    async def _idle(self, seconds: float) -> None:
        """Wait out a retry delay while keeping the group membership (poll with partitions paused)."""
        consumer = self._consumer
        deadline = time.monotonic() + seconds
        while True:
            if self._revoking:
                raise _Aborted
            left = deadline - time.monotonic()
            if left <= 0:
                return
            paused = consumer.assignment()
            consumer.pause(*paused)
            try:
                await consumer.getmany(timeout_ms=int(min(left, 0.5) * 1000))
            finally:
                consumer.resume(*[tp for tp in paused if tp in consumer.assignment()])

    def _on_status(self, source: str, kind: str, detail: str) -> None:
        # Stored with the next batch, so the archive keeps a record of its own gaps.
        self._notes.append(Outage("collector", None, None, time.time(), f"archive:{source}", kind, detail, None))

    # -- rebalances ------------------------------------------------------------------------

    async def _on_revoked(self, revoked: Any) -> None:
        """Before partitions move: store and commit what was read from them, or drop it all."""
        self._revoking = True
        try:
            async with self._lock:
                try:
                    await self._flush(final=True)
                except (_Aborted, TargetDown):
                    await self._abort()
        finally:
            self._revoking = False
        for tp in revoked:
            self._next.pop(tp, None)
            self._committed.pop(tp, None)

    async def _abort(self) -> None:
        self.stats.aborted += 1
        log.warning("dropped an unstored batch at a rebalance; its messages are read again", group=self.group)
        self._batch = Batch()
        self._batch_since = None
        self._next = dict(self._committed)
        for target in self.targets:
            await target.abort()

    async def _on_assigned(self, assigned: Any) -> None:
        """Resume each partition where the file datasets' last seal ended, if that is past Kafka's offset."""
        for target in self._files:
            stored = await asyncio.to_thread(read_offsets, target.root, self.group)
            for tp in assigned:
                found = stored.get((tp.topic, tp.partition))
                if found is None:
                    continue
                offset, slots = found
                committed = await self._consumer.committed(tp)
                if committed is None or offset > committed:
                    self._consumer.seek(tp, offset)
                self._builder.restore_book_slots(slots)
        for tp in assigned:
            self._committed.pop(tp, None)
        log.info("partitions assigned", group=self.group, partitions=len(assigned))
