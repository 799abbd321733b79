"""The seal journal and the Kafka offsets of a file dataset (see :mod:`collector.storage.files`).

A seal renames several files; :func:`apply_journal` finishes one from its journal, so a
seal interrupted by a crash is completed by the next writer. The offsets a seal reaches
are recorded per Kafka partition under ``_offsets/<group>/<topic>/<partition>.json``
(:func:`read_offsets`), each written atomically (temporary file, fsync, rename, fsync of
the folder).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["apply_journal", "fsync_dir", "read_offsets", "write_atomically"]


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temp, path)
    fsync_dir(path.parent)


def apply_journal(root: Path, journal: dict[str, Any]) -> None:
    """Finish a seal: rename what is still temporary, then record the offsets (idempotent)."""
    folders = set()
    for temp, final in journal["renames"]:
        t, f = root / temp, root / final
        if t.exists():
            f.parent.mkdir(parents=True, exist_ok=True)
            os.replace(t, f)
            folders.add(f.parent)
    for folder in folders:
        fsync_dir(folder)
    group = journal.get("group")
    slots = journal.get("book_slots", {})
    for name, offset in journal.get("offsets", {}).items():
        topic, _, partition = name.rpartition(":")
        record = {"next": offset, "book_slots": slots.get(name, {})}
        write_atomically(root / "_offsets" / str(group) / topic / f"{partition}.json", json.dumps(record).encode())


def read_offsets(root: str | Path, group: str) -> dict[tuple[str, int], tuple[int, dict[str, int]]]:
    """The Kafka positions a dataset covers for ``group``: ``(topic, partition) -> (next offset, book slots)``."""
    base = Path(root) / "_offsets" / group
    found: dict[tuple[str, int], tuple[int, dict[str, int]]] = {}
    if not base.is_dir():
        return found
    for topic_dir in base.iterdir():
        for entry in topic_dir.glob("*.json"):
            record = json.loads(entry.read_bytes())
            found[(topic_dir.name, int(entry.stem))] = (int(record["next"]), dict(record.get("book_slots", {})))
    return found
