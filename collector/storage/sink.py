"""Store a collector's events directly, without Kafka: a :class:`~collector.sinks.Sink` over targets.

::

    sink = StorageSink([PostgresTarget("postgresql://localhost/market"), FileTarget("data/")])
    collector.add_sink(sink)          # or: collector run ... --postgres DSN --parquet DIR

``write()`` turns each event into rows and returns; a background task writes a batch
every ``flush_interval`` seconds or ``batch_rows`` rows, to every target in turn, and
retries a failing target with the shared backoff (reported as ``outage`` events of kind
``unavailable``/``recovered``). Rows wait in memory while a target is down, up to
``buffer_events`` events; then ``write()`` waits too (``backpressure``), which slows
the collector's pipeline instead of dropping anything.

Delivery: a batch is stored when every target has it durably (committed, or in a sealed
file). Events still in memory when the process dies are lost (at most ``buffer_events``),
as in the Kafka sink; ``close()`` writes and seals what it holds, for up to
``close_timeout`` seconds, and counts the rest in ``stats.lost``. For no loss across
crashes, publish to Kafka and store with ``collector archive``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial

from ..backoff import Backoff
from ..errors import SinkClosed, UsageError
from ..log import get_logger
from ..models import Event
from .rows import Batch, RowBuilder
from .target import OnStatus, StorageStats, Target, TargetDown, retrying

__all__ = ["StorageSettings", "StorageSink", "StorageSinkStats"]

log = get_logger("collector.storage")


@dataclass(frozen=True, slots=True)
class StorageSettings:
    """How a :class:`StorageSink` or an archiver batches and retries.

    ``batch_rows``: rows per write (more amortises round trips; fewer lowers latency).
    ``flush_interval``: the longest a row waits before its batch is written.
    ``buffer_events``: events held in memory before ``write()`` blocks (sink only).
    ``book_interval``: seconds between book-top snapshots per symbol.
    ``backoff``: the retry delays while a target is down. ``close_timeout``: how long
    ``close()`` keeps retrying the last batch.
    """

    batch_rows: int = 5_000
    flush_interval: float = 1.0
    buffer_events: int = 200_000
    book_interval: float = 1.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.2, cap=10.0))
    close_timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.batch_rows < 1 or self.buffer_events < 1:
            raise UsageError("batch_rows and buffer_events must be >= 1")
        if not (self.flush_interval > 0 and self.book_interval > 0 and self.close_timeout >= 0):
            raise UsageError("flush_interval and book_interval must be > 0, close_timeout >= 0")


@dataclass(slots=True)
class StorageSinkStats:
    """Events ``accepted`` by ``write()``, ``stored`` in every target, ``lost`` at close;
    ``blocked`` writes that waited for room; ``batches`` written."""

    accepted: int = 0
    stored: int = 0
    lost: int = 0
    blocked: int = 0
    batches: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


class StorageSink:
    """Write events to storage targets from a collector (see the module docstring)."""

    def __init__(self, targets: Sequence[Target], settings: StorageSettings | None = None) -> None:
        if not targets:
            raise UsageError("a storage sink needs at least one target")
        self.targets = list(targets)
        self.settings = settings or StorageSettings()
        self.stats = StorageSinkStats()
        self.name = "+".join(t.name for t in self.targets)
        self.on_status: OnStatus | None = None
        """Set by the collector: ``on_status(sink, kind, detail)`` becomes an ``outage`` event."""
        self._builder = RowBuilder(self.settings.book_interval)
        self._pending = Batch()
        self._inflight = 0
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._pressed = False

    def target_stats(self) -> dict[str, StorageStats]:
        """Each target's row counters, by target name."""
        return {t.name: t.stats for t in self.targets}

    async def start(self) -> None:
        """Open every target (connect, migrate, recover files); raises what a target's ``open`` raises."""
        for target in self.targets:
            await target.open()
        self._task = asyncio.create_task(self._flush_loop(), name=f"storage:{self.name}")

    async def write(self, event: Event) -> None:
        """Take one event; waits while ``buffer_events`` events are unwritten (backpressure)."""
        if self._closing:
            raise SinkClosed("write() on a closing storage sink")
        while self._pending.events + self._inflight >= self.settings.buffer_events:
            if not self._pressed:
                self._pressed = True
                self.stats.blocked += 1
                self._status("backpressure", f"{self.settings.buffer_events} events wait for storage")
            self._room.clear()
            self._wake.set()
            await self._room.wait()
            if self._closing:
                raise SinkClosed("the storage sink closed while write() waited")
        self._builder.add(event, self._pending)
        self.stats.accepted += 1
        if len(self._pending) >= self.settings.batch_rows:
            self._wake.set()

    async def close(self) -> None:
        """Write and seal what is held (for up to ``close_timeout`` s), then close the targets."""
        if self._closing:
            return
        self._closing = True
        self._room.set()
        self._wake.set()
        deadline = time.monotonic() + self.settings.close_timeout
        task = self._task
        if task is not None:
            # A flush stuck retrying an unreachable target is cancelled; its rows go back to pending.
            await asyncio.wait([task], timeout=self.settings.close_timeout)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        try:
            await self._flush(deadline, final=True)
        except TargetDown as exc:
            lost = self._pending.events + self._inflight
            self.stats.lost += lost
            log.error("storage gave up at close", sink=self.name, events=lost, error=str(exc))
        finally:
            for target in self.targets:
                with contextlib.suppress(Exception):
                    await target.close()

    async def _flush_loop(self) -> None:
        interval = self.settings.flush_interval
        while not self._closing:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            if self._closing:
                return
            await self._flush(None, final=False)

    async def _flush(self, deadline: float | None, *, final: bool) -> None:
        batch, self._pending = self._pending, Batch()
        self._inflight = batch.events
        try:
            if len(batch):
                for target in self.targets:
                    await self._retry(target, partial(target.write, batch), deadline)
                self.stats.batches += 1
            for target in self.targets:
                if not target.durable_on_write and (final or target.wants_seal()):
                    await self._retry(target, partial(target.seal, None), deadline)
        except BaseException:
            # Keep the rows for the next attempt (close() retries once more, then counts them lost).
            batch.merge(self._pending)
            self._pending = batch
            raise
        else:
            self.stats.stored += batch.events
        finally:
            self._inflight = 0
            self._release()

    async def _retry(self, target: Target, operation: Callable[[], Awaitable[None]], deadline: float | None) -> None:
        await retrying(
            operation,
            source=target.name,
            backoff=self.settings.backoff,
            stats=target.stats,
            on_status=self.on_status or _log_status,
            deadline=deadline,
        )

    def _release(self) -> None:
        if self._pending.events + self._inflight < self.settings.buffer_events:
            if self._pressed:
                self._pressed = False
                self._status("recovered", "storage takes events again")
            self._room.set()

    def _status(self, kind: str, detail: str) -> None:
        (self.on_status or _log_status)(self.name, kind, detail)


def _log_status(source: str, kind: str, detail: str) -> None:
    log.warning("storage status", source=source, kind=kind, detail=detail)
