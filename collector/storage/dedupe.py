"""Keys already in a file dataset, so that append-only files skip repeats as the database does.

PostgreSQL refuses a second row with a stored key; a folder of Parquet files cannot.
:class:`SeenKeys` keeps, per partition (table, exchange, day), the 64-bit hashes of the
keys of every row stored there: read once from the partition's sealed files when the
partition is first touched, then extended as rows are staged. A row whose key hash is
known is skipped. That covers a redelivery after a crash, a producer that repeated a
run of events, and replaying the same capture twice.

Memory is 8 bytes per stored row of the partitions in use (a numpy array, plus a set
for the rows added since the last seal); partitions unused for the longest are
forgotten past ``max_partitions`` and read again if touched. Two different keys share a
hash with probability 2**-64; such a row would be skipped.
"""

from __future__ import annotations

import importlib
import json
from collections import OrderedDict
from collections.abc import Iterable
from itertools import repeat
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from .rows import Row
from .tables import Table

__all__ = ["SeenKeys", "key_columns"]

Partition = tuple[str, str | None, int]


def key_columns(t: Table) -> tuple[int, ...]:
    """Positions of the key columns that identify a row within one partition."""
    return tuple(t.index(c) for c in t.key if c != "exchange")


def _hash(values: Iterable[Any]) -> int:
    # Lists (indicator params) are not hashable: tuples hash the same values.
    return hash(tuple(tuple(v) if type(v) is list else v for v in values))


class _Keys:
    __slots__ = ("added", "known")

    def __init__(self, known: np.ndarray[Any, np.dtype[np.int64]]) -> None:
        self.known = known  # sorted, unique
        self.added: set[int] = set()

    def settle(self) -> None:
        if self.added:
            self.known = np.union1d(self.known, np.fromiter(self.added, np.int64, len(self.added)))
            self.added = set()


class SeenKeys:
    """Key hashes per partition of a dataset under ``root`` written as ``fmt`` files."""

    def __init__(self, root: Path, fmt: str, max_partitions: int = 64) -> None:
        self.root = root
        self.fmt = fmt
        self.max_partitions = max_partitions
        self._parts: OrderedDict[Partition, _Keys] = OrderedDict()

    def fresh(self, t: Table, part: Partition, folder: Path, rows: list[Row]) -> list[Row]:
        """The rows whose keys are not yet stored or staged in ``part``; remembers their keys."""
        keys = self._parts.get(part)
        if keys is None:
            keys = self._parts[part] = _Keys(self._load(t, folder))
            while len(self._parts) > self.max_partitions:
                self._parts.popitem(last=False)
        else:
            self._parts.move_to_end(part)
        cols = key_columns(t)
        if len(cols) > 1 and all(t.columns[i].kind != "floats" for i in cols):
            pick = itemgetter(*cols)
            hashes = [hash(pick(row)) for row in rows]
        else:
            hashes = [_hash(row[i] for i in cols) for row in rows]
        # One vectorised look-up in the sealed keys, then the few staged since the last seal.
        stored: Iterable[Any] = np.isin(np.array(hashes, np.int64), keys.known) if len(keys.known) else repeat(False)
        added = keys.added
        kept = []
        for row, h, old in zip(rows, hashes, stored, strict=False):
            if old or h in added:
                continue
            added.add(h)
            kept.append(row)
        return kept

    def settle(self) -> None:
        """Fold the keys added since the last seal into the compact arrays (call after a seal)."""
        for keys in self._parts.values():
            keys.settle()

    def forget(self, parts: Iterable[Partition]) -> None:
        """Drop what is known of ``parts`` (after an abort: staged keys were not stored)."""
        for part in parts:
            self._parts.pop(part, None)

    def _load(self, t: Table, folder: Path) -> np.ndarray[Any, np.dtype[np.int64]]:
        folder = self.root / folder
        pattern = "part-*.parquet" if self.fmt == "parquet" else "part-*.csv"
        files = sorted(folder.glob(pattern)) if folder.is_dir() else []
        if not files:
            return np.empty(0, np.int64)
        pa = importlib.import_module("pyarrow")
        names = [t.names[i] for i in key_columns(t)]
        hashes: list[int] = []
        for path in files:
            table = self._read(pa, t, path, names)
            columns = []
            for name in names:
                column = table.column(name)
                if pa.types.is_timestamp(column.type):
                    column = column.cast(pa.int64())  # rows hold microseconds
                values = column.to_pylist()
                if self.fmt == "csv" and t.columns[t.index(name)].kind == "floats":
                    values = [json.loads(v) for v in values]  # CSV keeps lists as JSON text
                columns.append(values)
            hashes.extend(_hash(values) for values in zip(*columns, strict=True))
        return np.unique(np.array(hashes, np.int64))

    def _read(self, pa: Any, t: Table, path: Path, names: list[str]) -> Any:
        if self.fmt == "parquet":
            return importlib.import_module("pyarrow.parquet").read_table(path, columns=names)
        csv = importlib.import_module("pyarrow.csv")
        kinds = {c.name: c.kind for c in t.columns}
        types = {n: pa.timestamp("us", tz="UTC") if kinds[n] == "time" else pa.string() for n in names}
        types.update({n: pa.int64() for n in names if kinds[n] == "int"})
        options = csv.ConvertOptions(include_columns=names, column_types=types)
        return csv.read_csv(path, convert_options=options)
