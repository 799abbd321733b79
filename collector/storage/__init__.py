"""Storage: events into PostgreSQL/TimescaleDB, Parquet and CSV, directly or from Kafka.

Two ways in, the same tables and files out:

- :class:`StorageSink` is a :class:`~collector.sinks.Sink`: add it to a collector
  (``collector run ... --postgres DSN --parquet DIR``) to store without Kafka.
- :class:`Archiver` consumes the collector topics in a consumer group
  (``collector archive BOOTSTRAP --group archivers ...``) and commits offsets only after
  the rows are durable, which makes the stored result exactly once in effect.

Targets: :class:`PostgresTarget` (one transaction per batch, idempotent keys, versioned
schema, hypertables when TimescaleDB is present) and :class:`FileTarget` (Parquet or CSV,
partitioned ``type=/exchange=/date=``, sealed atomically). The stored columns are in
:mod:`collector.storage.tables`; docs/storage.md explains keys and guarantees.
"""

from __future__ import annotations

from .archive import Archiver, ArchiveStats
from .files import FileFormat, FileTarget, read_offsets
from .pg_schema import SCHEMA_VERSION, Timescale, migrate
from .postgres import PostgresTarget
from .rows import Batch, RowBuilder
from .sink import StorageSettings, StorageSink, StorageSinkStats
from .tables import TABLES, Column, Table
from .target import Checkpoint, StorageError, StorageStats, StorageUnavailable, Target, TargetDown

__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "ArchiveStats",
    "Archiver",
    "Batch",
    "Checkpoint",
    "Column",
    "FileFormat",
    "FileTarget",
    "PostgresTarget",
    "RowBuilder",
    "StorageError",
    "StorageSettings",
    "StorageSink",
    "StorageSinkStats",
    "StorageStats",
    "StorageUnavailable",
    "Table",
    "Target",
    "TargetDown",
    "Timescale",
    "migrate",
    "read_offsets",
]
