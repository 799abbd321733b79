"""Parquet and CSV datasets: partitioned by type, exchange and date, sealed atomically.

Layout (Hive-style names, which pyarrow, DuckDB, Spark and ClickHouse read as columns)::

    ROOT/type=trade/exchange=binance/date=2026-08-09/part-1754730000123-3f9a1c2e-0001.parquet
    ROOT/type=dead_letter/date=2026-08-09/part-....parquet
    ROOT/_tmp/<writer>/       files being written, a lock, and the seal journal
    ROOT/_offsets/<group>/<topic>/<partition>.json   Kafka positions the dataset covers

``date`` is the UTC day of the table's time column (``start`` for candles and indicators).
Rows go to a temporary file under ``_tmp`` and reach their partition only when the file
is sealed: closed, flushed to disk, and renamed in one step. A reader therefore never
sees a partial file, and names starting with ``_`` or ``.`` are skipped by readers.

A seal covers every open file at once. It first writes a journal of the renames (and,
for an archiver, the Kafka offsets the sealed rows reach), then renames, then records
the offsets. If the process dies half-way, the next writer to open the dataset finishes
the journal (a writer's ``_tmp`` folder is locked while it lives; an unlocked one
belonged to a dead writer), so a seal happens entirely or not at all; files that were
never sealed are deleted, and their rows are read again from Kafka.

Files are append-only, so they skip what the database would skip: rows whose key the
partition already holds (:mod:`collector.storage.dedupe`), and forming candles and
indicator values (only closed bars are written).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

from ..errors import UsageError
from ..log import get_logger
from .dedupe import SeenKeys
from .journal import apply_journal, read_offsets, write_atomically
from .rows import Batch, Row
from .tables import DEAD_LETTERS, TABLES, Table
from .target import Checkpoint, StorageError, StorageStats, TargetDown

__all__ = ["FileFormat", "FileTarget", "arrow_schema", "read_offsets", "to_arrow"]

log = get_logger("collector.storage.files")

FileFormat: TypeAlias = Literal["parquet", "csv"]
_DAY_US: Final = 86_400_000_000


def _pyarrow() -> Any:
    try:
        return importlib.import_module("pyarrow")
    except ImportError as exc:
        raise UsageError("Parquet and CSV output need pyarrow: pip install 'crypto-collector[storage]'") from exc


def _arrow_type(pa: Any, kind: str, fmt: FileFormat) -> Any:
    if fmt == "csv" and kind in ("floats", "json", "bytes"):
        return pa.string()  # CSV has no nested or binary cells: JSON text (bytes as UTF-8, replaced)
    return {
        "text": pa.string(),
        "float": pa.float64(),
        "int": pa.int64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("us", tz="UTC"),
        "floats": pa.list_(pa.float64()),
        "json": pa.map_(pa.string(), pa.float64()),
        "bytes": pa.binary(),
    }[kind]


def _cells(kind: str, values: tuple[Any, ...], fmt: FileFormat) -> Iterable[Any]:
    if kind == "json":
        return (json.dumps(v) for v in values) if fmt == "csv" else (list(v.items()) for v in values)
    if fmt == "csv" and kind == "floats":
        return (json.dumps(v) for v in values)
    if fmt == "csv" and kind == "bytes":
        return (v.decode("utf-8", "replace") for v in values)
    return values


def arrow_schema(t: Table, fmt: FileFormat = "parquet") -> Any:
    """The Arrow schema of table ``t`` in files of format ``fmt``."""
    pa = _pyarrow()
    return pa.schema([pa.field(c.name, _arrow_type(pa, c.kind, fmt), c.nullable) for c in t.columns])


def to_arrow(t: Table, rows: list[Row], fmt: FileFormat = "parquet", schema: Any = None) -> Any:
    """``rows`` of table ``t`` as an Arrow table (what a file of format ``fmt`` stores)."""
    pa = _pyarrow()
    schema = schema if schema is not None else arrow_schema(t, fmt)
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(_cells(c.kind, values, fmt), type=schema.field(i).type)
        for i, (c, values) in enumerate(zip(t.columns, columns, strict=True))
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


class _Open:
    """One file being written: its temporary path, final path, writer and rows not yet written."""

    __slots__ = ("count", "final", "rows", "table", "temp", "writer")

    def __init__(self, table: Table, temp: Path, final: Path) -> None:
        self.table = table
        self.count = 0
        self.temp = temp
        self.final = final
        self.rows: list[Row] = []
        self.writer: Any = None


class FileTarget:
    """A Parquet (default) or CSV dataset under ``root``; see the module docstring for the layout.

    Files roll together: :meth:`wants_seal` turns true when a file reaches ``roll_bytes``
    or the oldest unsealed row is ``roll_interval`` seconds old, and the writer then calls
    :meth:`seal`. ``row_group_rows`` rows are buffered per file before they are encoded
    (Parquet row groups). Parquet files use ``compression`` (zstd by default).
    """

    def __init__(
        self,
        root: str | Path,
        *,
        format: FileFormat = "parquet",
        roll_bytes: int = 128 * 1024 * 1024,
        roll_interval: float = 300.0,
        row_group_rows: int = 100_000,
        compression: str = "zstd",
    ) -> None:
        if format not in ("parquet", "csv"):
            raise UsageError(f"file format must be parquet or csv, not {format!r}")
        if roll_bytes < 1 or roll_interval <= 0 or row_group_rows < 1:
            raise UsageError("roll_bytes, roll_interval and row_group_rows must be positive")
        self.root = Path(root)
        self.format: FileFormat = format
        self.name: str = format
        self.roll_bytes = roll_bytes
        self.roll_interval = roll_interval
        self.row_group_rows = row_group_rows
        self.compression = compression
        self.stats = StorageStats()
        self.files_sealed = 0
        self.instance = uuid.uuid4().hex[:8]
        self._schemas: dict[str, Any] = {}
        self._open: dict[tuple[str, str | None, int], _Open] = {}
        self._seen = SeenKeys(self.root, format)
        self._offsets: dict[tuple[str, str, int], int] = {}  # (group, topic, partition) -> recorded offset
        self._since: float | None = None
        self._counter = 0
        self._lock_fd: int | None = None
        self._tmp = self.root / "_tmp" / self.instance

    @property
    def durable_on_write(self) -> bool:
        """No: rows are durable only once sealed."""
        return False

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Create the folders, finish or clear what dead writers left, take this writer's lock."""
        _pyarrow()
        if self.format == "parquet":
            importlib.import_module("pyarrow.parquet")
        else:
            importlib.import_module("pyarrow.csv")
        self._schemas = {t.name: arrow_schema(t, self.format) for t in TABLES}
        try:
            await asyncio.to_thread(self._open_sync)
        except OSError as exc:
            raise StorageError(f"cannot use {self.root} for {self.format} files: {exc.strerror or exc}") from None

    def _open_sync(self) -> None:
        (self.root / "_tmp").mkdir(parents=True, exist_ok=True)
        for folder in (self.root / "_tmp").iterdir():
            if folder.is_dir():
                self._recover(folder)
        self._tmp.mkdir()
        self._lock_fd = fd = os.open(self._tmp / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _recover(self, folder: Path) -> None:
        fd = os.open(folder / "lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return  # a live writer's folder
            journal = folder / "journal.json"
            if journal.exists():
                apply_journal(self.root, json.loads(journal.read_bytes()))
                log.warning("finished the seal of a writer that stopped during it", folder=str(folder))
            leftovers = [p for p in folder.iterdir() if p.suffix == ".tmp"]
            if leftovers:
                log.warning("deleted unsealed files of a stopped writer", folder=str(folder), files=len(leftovers))
            shutil.rmtree(folder)
        finally:
            os.close(fd)

    async def close(self) -> None:
        """Close without sealing (unsealed rows are dropped; seal first to keep them) and unlock."""
        await self.abort()
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                shutil.rmtree(self._tmp)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- writing ---------------------------------------------------------------------------

    async def write(self, batch: Batch) -> None:
        """Stage the batch's rows in their partitions' open files (durable at the next :meth:`seal`).

        Files are append-only, so forming candles and indicator values (``closed`` false)
        are left out: each would be a stale copy of the closed row that follows it.
        """
        full: list[_Open] = []
        for t, rows in batch.tables():
            self.stats.received += len(rows)
            if t.upsert:
                closed = t.index("closed")
                kept = [row for row in rows if row[closed]]
                self.stats.duplicates += len(rows) - len(kept)
                rows = kept
            for f in self._stage(t, rows):
                if len(f.rows) >= self.row_group_rows:
                    full.append(f)
        if self._since is None and len(batch):
            self._since = time.monotonic()
        if full:
            try:
                await asyncio.to_thread(self._flush_files, full)
            except OSError as exc:
                raise TargetDown(f"cannot write {self.format} files under {self.root}: {exc.strerror or exc}") from exc

    def _stage(self, t: Table, rows: list[Row]) -> set[_Open]:
        ex = t.index("exchange") if t is not DEAD_LETTERS else None
        ti = t.index(t.time)
        parts: dict[tuple[str, str | None, int], list[Row]] = {}
        for row in rows:
            parts.setdefault((t.name, row[ex] if ex is not None else None, row[ti] // _DAY_US), []).append(row)
        touched = set()
        for part, part_rows in parts.items():
            fresh = self._seen.fresh(t, part, self._folder(t, part[1], part[2]), part_rows)
            self.stats.duplicates += len(part_rows) - len(fresh)
            if not fresh:
                continue
            f = self._open.get(part)
            if f is None:
                f = self._open[part] = self._new_file(t, part[1], part[2])
            f.rows.extend(fresh)
            f.count += len(fresh)
            touched.add(f)
        return touched

    @staticmethod
    def _folder(t: Table, exchange: str | None, day: int) -> Path:
        date = datetime.fromtimestamp(day * 86_400, UTC).date().isoformat()
        return Path(f"type={t.label}") / (f"exchange={exchange}" if exchange is not None else "") / f"date={date}"

    def _new_file(self, t: Table, exchange: str | None, day: int) -> _Open:
        self._counter += 1
        suffix = "parquet" if self.format == "parquet" else "csv"
        name = f"part-{int(time.time() * 1000)}-{self.instance}-{self._counter:04d}.{suffix}"
        return _Open(t, self._tmp / f"{self._counter:04d}.{suffix}.tmp", self._folder(t, exchange, day) / name)

    def _flush_files(self, files: Iterable[_Open]) -> None:
        for f in files:
            if not f.rows:
                continue
            arrays = to_arrow(f.table, f.rows, self.format, self._schemas[f.table.name])
            if f.writer is None:
                f.writer = self._writer(f.table, f.temp)
            f.writer.write_table(arrays)
            f.rows = []

    def _writer(self, t: Table, path: Path) -> Any:
        schema = self._schemas[t.name]
        if self.format == "parquet":
            pq = importlib.import_module("pyarrow.parquet")
            return pq.ParquetWriter(str(path), schema, compression=self.compression)
        csv = importlib.import_module("pyarrow.csv")
        return csv.CSVWriter(str(path), schema)

    def wants_seal(self) -> bool:
        """True when the oldest unsealed row is ``roll_interval`` old or a file reached ``roll_bytes``."""
        if self._since is None:
            return False
        if time.monotonic() - self._since >= self.roll_interval:
            return True
        return any(f.temp.exists() and f.temp.stat().st_size >= self.roll_bytes for f in self._open.values())

    async def seal(self, checkpoint: Checkpoint | None) -> None:
        """Close, flush and rename every open file at once (with ``checkpoint``'s offsets); see the module docs."""
        if not self._open and checkpoint is None:
            return
        try:
            await asyncio.to_thread(self._seal_sync, checkpoint)
        except OSError as exc:
            raise TargetDown(f"cannot seal {self.format} files under {self.root}: {exc.strerror or exc}") from exc

    def _seal_sync(self, checkpoint: Checkpoint | None) -> None:
        files = list(self._open.values())
        self._flush_files(files)
        for f in files:
            f.writer.close()
            with open(f.temp, "rb+") as handle:  # the writer closed its own handle; make the bytes durable
                os.fsync(handle.fileno())
        journal: dict[str, Any] = {"renames": [[str(f.temp.relative_to(self.root)), str(f.final)] for f in files]}
        if checkpoint is not None:
            # Only positions that moved since the last seal: each is a small file written with fsync.
            moved = {tp: o for tp, o in checkpoint.offsets.items() if self._offsets.get((checkpoint.group, *tp)) != o}
            journal["group"] = checkpoint.group
            journal["offsets"] = {f"{t}:{p}": o for (t, p), o in moved.items()}
            journal["book_slots"] = {f"{t}:{p}": s for (t, p), s in checkpoint.book_slots.items() if (t, p) in moved}
        path = self._tmp / "journal.json"
        write_atomically(path, json.dumps(journal).encode())
        apply_journal(self.root, journal)
        path.unlink()
        if checkpoint is not None:
            self._offsets.update({(checkpoint.group, *tp): o for tp, o in moved.items()})
        self.stats.stored += sum(f.count for f in files)
        self.files_sealed += len(files)
        self.stats.sealed += 1
        self._open.clear()
        self._seen.settle()
        self._since = None

    async def abort(self) -> None:
        """Delete every unsealed file; its rows must be written again."""
        files = list(self._open.values())
        self._seen.forget(self._open)
        self._open.clear()
        self._since = None
        for f in files:
            if f.writer is not None:
                with contextlib.suppress(Exception):
                    f.writer.close()
            with contextlib.suppress(OSError):
                f.temp.unlink()
