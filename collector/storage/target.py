"""What every storage target offers, its errors and counters, and the one retry loop.

A *target* (PostgreSQL, a Parquet or CSV dataset) takes :class:`~collector.storage.rows.Batch`
objects. PostgreSQL makes each batch durable when :meth:`Target.write` returns (one
transaction); file datasets make rows durable only when :meth:`Target.seal` closes and
renames their files. The writers (:class:`~collector.storage.sink.StorageSink` and
:class:`~collector.storage.archive.Archiver`) call ``seal`` before they treat anything as
stored, so both kinds look the same from outside: *stored* means *durable*.

Errors::

    SinkError (collector.errors)
    └── StorageError          the target cannot be used as configured; fix the setup
        ├── StorageUnavailable  the target could not be reached at start (within connect_timeout)
        └── TargetDown          a write failed for a reason a retry can fix (raised by targets, retried)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol

from ..backoff import Backoff
from ..errors import SinkError
from ..log import get_logger
from .rows import Batch

__all__ = [
    "Checkpoint",
    "OnStatus",
    "StorageError",
    "StorageStats",
    "StorageUnavailable",
    "Target",
    "TargetDown",
    "retrying",
]

log = get_logger("collector.storage")

OnStatus = Callable[[str, str, str], None]
"""``on_status(source, kind, detail)``: how a writer reports an outage (``unavailable``,
``backpressure``) and its end (``recovered``); the collector turns each into an ``outage`` event."""


class StorageError(SinkError):
    """A storage target cannot be used as configured (bad DSN, no permission, a newer schema)."""


class StorageUnavailable(StorageError):
    """The target could not be reached within ``connect_timeout`` at start."""


class TargetDown(StorageError):
    """A write failed for a reason a retry can fix (connection lost, server restarting, disk full)."""


@dataclass(slots=True)
class Checkpoint:
    """What a sealed state covers when the rows came from Kafka.

    ``offsets`` maps ``(topic, partition)`` to the next offset to read; ``book_slots``
    holds the book sampler's state per book partition, so a reader resuming from these
    offsets samples exactly as this one would have. ``group`` is the consumer group.
    """

    group: str
    offsets: dict[tuple[str, int], int] = field(default_factory=dict)
    book_slots: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict)


@dataclass(slots=True)
class StorageStats:
    """Counters of one target, in rows (``sealed`` and ``outages`` count events of their own).

    ``received``: rows handed to ``write``. ``stored``: rows that became new or updated
    rows. ``duplicates``: rows skipped because an equal key was already stored (the
    repeats of a redelivery, and forming candles behind a closed one). ``dead_letters``:
    rows stored in the dead-letter table instead (with their reason). ``retries``:
    write attempts that failed and were retried. ``outages``: episodes of retrying.
    ``sealed``: seals that made rows durable. ``lost``: rows given up on at close.
    """

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    retries: int = 0
    outages: int = 0
    sealed: int = 0
    lost: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict."""
        return asdict(self)


class Target(Protocol):
    """A place rows are stored (see the module docstring for what durable means here)."""

    name: str
    """Short name for reports: ``postgres``, ``parquet``, ``csv``."""
    stats: StorageStats

    @property
    def durable_on_write(self) -> bool:
        """``True`` when a batch is durable once :meth:`write` returns (a database transaction)."""
        ...

    async def open(self) -> None:
        """Connect or create folders, migrate; raises :class:`StorageError` for setup mistakes."""

    async def write(self, batch: Batch) -> None:
        """Store ``batch`` (or stage it for the next seal); raises :class:`TargetDown` to be retried."""

    def wants_seal(self) -> bool:
        """Whether staged rows reached the size or age at which they should be sealed."""
        ...

    async def seal(self, checkpoint: Checkpoint | None) -> None:
        """Make everything written so far durable, together with ``checkpoint``; may raise :class:`TargetDown`."""

    async def abort(self) -> None:
        """Forget everything written since the last seal (it will be written again)."""

    async def close(self) -> None:
        """Release connections and files (without sealing)."""


async def retrying(
    operation: Callable[[], Awaitable[None]],
    *,
    source: str,
    backoff: Backoff,
    stats: StorageStats,
    on_status: OnStatus | None = None,
    deadline: float | None = None,
    idle: Callable[[float], Awaitable[None]] | None = None,
) -> None:
    """Run ``operation`` until it succeeds, retrying :class:`TargetDown` with ``backoff``.

    The first failure of an episode is logged and reported as ``on_status(source,
    "unavailable", reason)``; success after failures as ``"recovered"``. ``idle(seconds)``
    replaces ``asyncio.sleep`` for the waits (the archiver keeps its Kafka session alive
    there). Past ``deadline`` (``time.monotonic()``) the last :class:`TargetDown` is raised.
    """
    delays = None
    started = 0.0
    while True:
        try:
            await operation()
        except TargetDown as exc:
            if delays is None:
                delays = backoff.delays()
                started = time.monotonic()
                stats.outages += 1
                log.warning("storage unavailable; retrying", target=source, error=str(exc))
                if on_status is not None:
                    on_status(source, "unavailable", str(exc))
            stats.retries += 1
            delay = next(delays)
            if deadline is not None and time.monotonic() + delay > deadline:
                raise
            await (idle(delay) if idle is not None else asyncio.sleep(delay))
            continue
        if delays is not None:
            took = time.monotonic() - started
            log.warning("storage recovered", target=source, seconds=round(took, 3))
            if on_status is not None:
                on_status(source, "recovered", f"writes succeed again after {took:.1f} s")
        return
