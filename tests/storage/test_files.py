"""Parquet and CSV datasets: the documented partitions, readable by pyarrow and DuckDB, never a partial file."""

from __future__ import annotations

import asyncio
import datetime
import random
import signal
import sys
from pathlib import Path

import pytest

from collector.models import Event, Trade
from collector.storage import FileTarget
from collector.storage.rows import Batch, RowBuilder
from tests.storage.seal_child import PER_SEAL
from tests.storage.test_postgres import replayed_events
from tests.storage.util import (
    ROOT_DIR,
    event_time,
    expected_book_tops,
    expected_candles,
    expected_trades,
    parquet_counts,
    us,
)

duckdb = pytest.importorskip("duckdb")


async def write_dataset(root: Path, events: list[Event], fmt: str = "parquet", seal_every: int = 1000) -> FileTarget:
    target = FileTarget(root, format=fmt)  # type: ignore[arg-type]
    await target.open()
    builder = RowBuilder(1.0)
    for start in range(0, len(events), seal_every):
        batch = Batch()
        for event in events[start : start + seal_every]:
            builder.add(event, batch)
        await target.write(batch)
        await target.seal(None)
    await target.close()
    return target


def closed_candles(events: list[Event]) -> dict[tuple[object, ...], object]:
    return {k: c for k, c in expected_candles(events).items() if c.closed}


async def test_parquet_partitions_and_values(tmp_path: Path) -> None:
    """type=/exchange=/date= folders; rows per type and their values follow the events; pyarrow reads it."""
    import pyarrow.dataset as ds

    events = await replayed_events()
    await write_dataset(tmp_path, events)
    folders = sorted(str(p.relative_to(tmp_path)) for p in listing(tmp_path, "type=*/exchange=*/date=*"))
    assert folders == [
        f"type={label}/exchange=bybit/date=2026-08-09"
        for label in ("book_top", "candle", "derivative_ticker", "indicator", "status", "ticker", "trade")
    ]
    assert all(f.name.startswith("part-") and f.suffix == ".parquet" for f in listing(tmp_path, "type=*/*/*/*"))
    assert sorted(p.name for p in listing(tmp_path, "*")) == ["_tmp", *(f"type={x}" for x in _labels(folders))]

    counts = parquet_counts(tmp_path)
    assert counts["trades"] == len(expected_trades(events)) == 347
    assert counts["tickers"] == sum(1 for e in events if e.type == "ticker")
    assert counts["derivative_tickers"] == sum(1 for e in events if e.type == "derivative_ticker")
    assert counts["book_tops"] == len(expected_book_tops(events))
    assert counts["candles"] == len(closed_candles(events))

    trades = ds.dataset(tmp_path / "type=trade", format="parquet", partitioning="hive").to_table().to_pylist()
    got = {(r["exchange"], r["symbol"], r["id"]): r for r in trades}
    for key, (time_us, _, price, amount, side) in expected_trades(events).items():
        row = got[key]
        assert (us(row["time"].timestamp()), row["price"], row["amount"], row["side"]) == (time_us, price, amount, side)
        assert row["date"] == "2026-08-09"
    tops = ds.dataset(tmp_path / "type=book_top", format="parquet", partitioning="hive").to_table().to_pylist()
    first = min(tops, key=lambda r: (r["symbol"], r["time"]))
    book = expected_book_tops(events)[("bybit", first["symbol"], us(first["time"].timestamp()))]
    assert us(first["taken"].timestamp()) == event_time(book)
    assert first["bid_prices"] == [p for p, _ in book.top.bids]  # type: ignore[union-attr]


def listing(root: Path, pattern: str) -> list[Path]:
    """The paths under ``root`` matching ``pattern``, sorted."""
    return sorted(root.glob(pattern))


def _labels(folders: list[str]) -> list[str]:
    return sorted({f.split("/")[0].removeprefix("type=") for f in folders})


async def test_duckdb_reads_the_dataset_as_documented(tmp_path: Path) -> None:
    """The query in docs/storage.md and examples/ works: Hive partitions become columns."""
    events = await replayed_events()
    await write_dataset(tmp_path, events)
    glob = str(tmp_path / "type=trade" / "**" / "*.parquet")
    rows = duckdb.sql(
        f"SELECT exchange, date, count(*) AS n, round(sum(price * amount), 6) AS notional "
        f"FROM read_parquet('{glob}', hive_partitioning = true) GROUP BY ALL"
    ).fetchall()
    trades = [e for e in events if isinstance(e, Trade)]
    assert rows == [("bybit", datetime.date(2026, 8, 9), 347, round(sum(t.price * t.amount for t in trades), 6))]
    everything = duckdb.sql(
        f"SELECT type, count(*) FROM read_parquet('{tmp_path}/type=*/**/*.parquet', hive_partitioning = true, "
        "union_by_name = true) GROUP BY ALL ORDER BY type"
    ).fetchall()
    assert dict(everything) == {k: v for k, v in _by_label(parquet_counts(tmp_path)).items() if v}


def _by_label(counts: dict[str, int]) -> dict[str, int]:
    labels = {"status_events": "status"}
    return {labels.get(name, name.removesuffix("s")): n for name, n in counts.items()}


async def test_csv_dataset(tmp_path: Path) -> None:
    """The CSV layout is the Parquet one; DuckDB reads it back with the same values."""
    events = await replayed_events()
    await write_dataset(tmp_path, events, fmt="csv")
    files = listing(tmp_path, "type=trade/exchange=bybit/date=2026-08-09/part-*.csv")
    assert files
    rows = duckdb.sql(
        f"SELECT count(*), round(sum(price), 6) FROM read_csv('{tmp_path}/type=trade/**/*.csv', header = true)"
    ).fetchall()
    trades = [e for e in events if isinstance(e, Trade)]
    assert rows == [(347, round(sum(t.price for t in trades), 6))]
    header = files[0].read_bytes().splitlines()[0].decode()
    assert header == '"exchange","symbol","time","received","id","price","amount","side"'


async def test_no_partial_file_is_ever_visible_after_a_kill(tmp_path: Path) -> None:
    """A writer killed at random moments (during writes and seals): every visible file is whole and reads,
    nothing is duplicated, and once the next writer has opened the dataset (finishing a seal the kill
    interrupted) the rows are a whole number of seals."""
    rng = random.Random(7)
    for _ in range(6):
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.storage.seal_child",
            str(tmp_path),
            cwd=ROOT_DIR,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        await asyncio.wait_for(child.stdout.readline(), 60)  # at least one seal done
        await asyncio.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        await child.wait()
        _assert_whole(tmp_path, sealed=False)
    recovering = FileTarget(tmp_path)
    await recovering.open()  # finishes or clears what the killed writers left
    await recovering.close()
    assert list((tmp_path / "_tmp").iterdir()) == []
    _assert_whole(tmp_path)


def _assert_whole(root: Path, sealed: bool = True) -> None:
    import pyarrow.parquet as pq

    visible = list(root.glob("type=*/**/*"))
    assert not [p for p in visible if p.is_file() and p.suffix != ".parquet"]
    ids: list[str] = []
    for path in (p for p in visible if p.suffix == ".parquet"):
        ids += pq.read_table(path, columns=["id"]).column("id").to_pylist()
    assert len(ids) == len(set(ids))
    seals = {i.rsplit("-", 1)[0] for i in ids}
    if sealed:
        # A seal is six files renamed one after another; a kill between two renames is finished by recovery.
        assert len(ids) == len(seals) * PER_SEAL
    else:
        assert len(seals) * PER_SEAL - len(ids) < PER_SEAL


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
async def test_writing_the_same_events_again_adds_nothing(tmp_path: Path, fmt: str) -> None:
    """A second writer (a new process) skips every row whose key the dataset already holds."""
    events = await replayed_events()
    first = await write_dataset(tmp_path, events, fmt=fmt)
    files = listing(tmp_path, "type=*/**/part-*")
    second = await write_dataset(tmp_path, events, fmt=fmt, seal_every=333)
    assert listing(tmp_path, "type=*/**/part-*") == files
    assert second.stats.stored == 0
    assert second.stats.duplicates == second.stats.received > 0
    if fmt == "parquet":
        assert first.stats.stored == sum(parquet_counts(tmp_path).values())
