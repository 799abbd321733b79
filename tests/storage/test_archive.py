"""End to end: a real recording → Kafka (tansu) → ``collector archive`` → PostgreSQL and Parquet.

Rows equal the events ``collector replay`` prints, whatever happens in between: an archiver
killed mid-batch and restarted, the whole pipeline run twice, a database that stops and
comes back while messages wait in Kafka.
"""

from __future__ import annotations

import asyncio
import sys
from collections import Counter
from pathlib import Path

import pytest

from collector.backoff import Backoff
from collector.models import Event
from collector.sinks.kafka import EmbeddedBroker
from collector.storage import Archiver, FileTarget, PostgresTarget, StorageSettings
from tests.conftest import recording
from tests.storage.conftest import PgServer
from tests.storage.test_postgres import replayed_events
from tests.storage.util import (
    cli,
    distinct,
    expected_book_tops,
    expected_candles,
    expected_counts,
    expected_trades,
    fetch,
    parquet_counts,
    table_counts,
    wait_for,
)

FLAGS = ("--book-top", "5", "--candles", "1m", "--indicators", "SMA(3),RSI(2)")

# Several archiver runs each, with Kafka group joins of a few seconds: more than the default 120 s on a busy machine.
pytestmark = pytest.mark.timeout(400)


async def publish(bootstrap: str) -> None:
    """``collector replay`` of the Bybit session into the broker."""
    path = str(recording("bybit.jsonl.zst"))
    code, _, err = await cli(
        "replay", path, *FLAGS, "--out", "/dev/null", "--kafka", bootstrap, "--no-kafka-idempotence"
    )
    assert code == 0, err.decode()


def parquet_expected(events: list[Event]) -> dict[str, int]:
    """Rows per type in the dataset: as in the database, but only closed candles and indicator values."""
    counts = expected_counts(events)
    counts["candles"] = sum(1 for c in expected_candles(events).values() if c.closed)
    counts["indicators"] = sum(1 for e in events if e.type == "indicator" and e.closed)  # type: ignore[attr-defined]
    return counts


def parquet_keys(root: Path) -> dict[str, Counter[tuple[object, ...]]]:
    """Key occurrences per type in the dataset (a count above 1 would be a duplicate)."""
    import pyarrow.dataset as ds

    keys = {
        "trade": ("symbol", "id"),
        "ticker": ("uid",),
        "book_top": ("symbol", "time"),
        "candle": ("symbol", "interval", "source", "start"),
    }
    found = {}
    for label, columns in keys.items():
        table = ds.dataset(root / f"type={label}", format="parquet", partitioning="hive").to_table(
            columns=list(columns)
        )
        found[label] = Counter(zip(*(table.column(c).to_pylist() for c in columns), strict=True))
    return found


async def test_replay_kafka_archive_exactly_once(broker: EmbeddedBroker, pg_dsn: str, tmp_path: Path) -> None:
    """Killed mid-batch and restarted, then the whole pipeline again: every row once, none missing."""
    events = await replayed_events()
    want_db = expected_counts(events)
    want_files = parquet_expected(events)
    await publish(broker.bootstrap)
    archive = (
        *("archive", broker.bootstrap, "--group", "archivers", "--postgres", pg_dsn, "--parquet", str(tmp_path)),
        "--idle-timeout",
        "2",
    )
    # Small batches and frequent seals, so that the kill lands between some of them.
    slow = ("--batch-rows", "20", "--flush-interval", "0.05", "--roll-interval", "0.2")
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", *archive, *slow, stdout=asyncio.subprocess.DEVNULL
    )

    async def some_rows() -> bool:
        return (await table_counts(pg_dsn))["tickers"] > 0

    await wait_for(some_rows, 60, "the first rows")
    first.kill()
    await first.wait()
    partial = await table_counts(pg_dsn)
    assert sum(partial.values()) < sum(want_db.values()), "the archiver finished before it was killed"

    code, _, err = await cli(*archive)
    assert code == 0, err.decode()
    assert await table_counts(pg_dsn) == want_db
    assert parquet_counts(tmp_path) == want_files
    assert {label: [k for k, n in keys.items() if n > 1] for label, keys in parquet_keys(tmp_path).items()} == {
        label: [] for label in ("trade", "ticker", "book_top", "candle")
    }

    # Run it twice: the same capture published again (every message repeated), archived again.
    await publish(broker.bootstrap)
    code, _, err = await cli(*archive)
    assert code == 0, err.decode()
    assert "'received': 3817" in err.decode()
    assert await table_counts(pg_dsn) == want_db
    assert parquet_counts(tmp_path) == want_files

    trades = await fetch(pg_dsn, "SELECT exchange, symbol, id, price, amount, side FROM trades")
    assert {(r[0], r[1], r[2]): (r[3], r[4], r[5]) for r in trades} == {
        k: v[2:] for k, v in expected_trades(events).items()
    }
    tops = await fetch(pg_dsn, "SELECT count(*) FROM book_tops")
    assert tops[0][0] == len(expected_book_tops(events))


async def test_a_database_restart_mid_stream_loses_nothing(own_pg: PgServer, broker: EmbeddedBroker) -> None:
    """The database crashes while the archiver writes; messages wait in Kafka; after the restart every row is
    stored once, and the outage itself is recorded as status events."""
    events = await replayed_events()
    dsn = own_pg.dsn()
    target = PostgresTarget(dsn, connect_timeout=10, command_timeout=5)
    settings = StorageSettings(batch_rows=50, flush_interval=0.05, backoff=Backoff(initial=0.05, cap=0.5))
    archiver = Archiver(broker.bootstrap, [target], group="db-restart", settings=settings, idle_timeout=4)
    running = asyncio.create_task(archiver.run())
    await publish(broker.bootstrap)

    async def some_rows() -> bool:
        return 0 < (await table_counts(dsn))["tickers"] < len(distinct(events, "ticker"))

    await wait_for(some_rows, 60, "the first rows")
    await asyncio.to_thread(own_pg.stop, crash=True)
    await wait_for(lambda: target.stats.retries >= 3, 30, "retries while the database is down")
    await asyncio.to_thread(own_pg.start)
    stats = await asyncio.wait_for(running, 120)

    counts = await table_counts(dsn)
    want = expected_counts(events)
    assert {k: v for k, v in counts.items() if k != "status_events"} == {
        k: v for k, v in want.items() if k != "status_events"
    }
    assert stats.received == len(events) and stats.undecodable == 0
    assert target.stats.outages >= 1
    outages = await fetch(dsn, "SELECT source, kind FROM status_events WHERE type = 'outage'")
    assert {(r["source"], r["kind"]) for r in outages} == {
        ("archive:postgres", "unavailable"),
        ("archive:postgres", "recovered"),
    }
    assert counts["status_events"] == want["status_events"] + len(outages)


async def test_undecodable_messages_become_dead_letters(broker: EmbeddedBroker, pg_dsn: str, tmp_path: Path) -> None:
    """A message that is not a collector event is stored with its reason in both targets; the exit status says so."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("collector.trade", b"{not json", key=b"binance:BTC/USDT", partition=0)
    finally:
        await producer.stop()
    archive = ("archive", broker.bootstrap, "--group", "g", "--types", "trade", "--idle-timeout", "2")
    code, _, err = await cli(*archive, "--postgres", pg_dsn, "--parquet", str(tmp_path))
    assert code == 1, err.decode()
    letters = await fetch(pg_dsn, "SELECT source, reason, payload FROM dead_letters")
    assert [(r["source"], r["payload"]) for r in letters] == [("collector.trade[0]@0", b"{not json")]
    assert letters[0]["reason"].startswith("not a collector event: DecodeError")
    import pyarrow.dataset as ds

    stored = ds.dataset(tmp_path / "type=dead_letter", format="parquet", partitioning="hive").to_table()
    assert stored.column("payload").to_pylist() == [b"{not json"]


async def test_usage_mistakes_are_one_line(pg_server: PgServer, tmp_path: Path) -> None:
    """No target, an unreachable database, an unreachable broker: one `collector: error:` line each."""
    code, _, err = await cli("archive", "127.0.0.1:1", "--group", "g")
    assert (code, err.decode()) == (
        2,
        "collector: error: archive needs somewhere to store: --postgres DSN, --parquet DIR or --csv DIR\n",
    )
    code, _, err = await cli(
        "archive",
        "127.0.0.1:1",
        "--group",
        "g",
        "--connect-timeout",
        "0.5",
        "--postgres",
        "postgresql://u@127.0.0.1:1/x",
    )
    assert code == 2
    assert (
        err.decode()
        .splitlines()[-1]
        .startswith("collector: error: no PostgreSQL server reachable at postgresql://...@127.0.0.1:1/x")
    )
    code, _, err = await cli(
        "archive", "127.0.0.1:1", "--group", "g", "--connect-timeout", "1", "--parquet", str(tmp_path)
    )
    assert code == 2
    assert err.decode().splitlines()[-1].startswith("collector: error: no Kafka broker reachable at 127.0.0.1:1")
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = await cli("archive", "127.0.0.1:1", "--group", "g", "--parquet", str(blocker))
    assert (code, err.decode().splitlines()[-1]) == (2, f"collector: error: --parquet {blocker}: not a directory")


async def test_a_dataset_resumes_from_its_own_offsets(broker: EmbeddedBroker, tmp_path: Path) -> None:
    """A group with no committed Kafka offsets but a dataset that recorded them (a crash after the seal, before
    the commit) starts where the dataset ends: nothing is read twice."""
    import shutil

    await publish(broker.bootstrap)
    settings = StorageSettings(flush_interval=0.05)
    first = Archiver(broker.bootstrap, [FileTarget(tmp_path)], group="one", settings=settings, idle_timeout=2)
    stats = await first.run()
    assert stats.received == 3817
    counts = parquet_counts(tmp_path)
    # The same sealed state, as a group that never committed to Kafka:
    await asyncio.to_thread(shutil.copytree, tmp_path / "_offsets" / "one", tmp_path / "_offsets" / "two")
    again = Archiver(broker.bootstrap, [FileTarget(tmp_path)], group="two", settings=settings, idle_timeout=2)
    assert (await again.run()).received == 0
    assert parquet_counts(tmp_path) == counts
