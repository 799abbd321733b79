"""PostgreSQL target on a real server: versioned schema, exact values, idempotent writes, dead letters."""

from __future__ import annotations

import pytest

from collector.codec import decode_event
from collector.models import Candle, Error, Event, Trade
from collector.storage import PostgresTarget, StorageError, StorageUnavailable
from collector.storage.pg_schema import MIGRATIONS, SCHEMA_VERSION
from collector.storage.rows import Batch, RowBuilder
from collector.storage.tables import TABLES
from tests.conftest import recording
from tests.storage.conftest import PgServer
from tests.storage.util import (
    cli,
    dt_us,
    event_time,
    expected_book_tops,
    expected_candles,
    expected_counts,
    expected_indicators,
    expected_trades,
    fetch,
    table_counts,
    us,
)

T = 1_700_000_000.0


async def replayed_events() -> list[Event]:
    """The events `collector replay` prints for the Bybit session, with candles and indicators from trades."""
    path = str(recording("bybit.jsonl.zst"))
    code, out, err = await cli("replay", path, "--book-top", "5", "--candles", "1m", "--indicators", "SMA(3),RSI(2)")
    assert code == 0, err.decode()
    return [decode_event(line) for line in out.splitlines()]


async def store(dsn: str, events: list[Event], batch_rows: int = 500, **options: object) -> PostgresTarget:
    """Write ``events`` through a fresh target in batches of ``batch_rows`` events; returns the closed target."""
    target = PostgresTarget(dsn, **options)  # type: ignore[arg-type]
    await target.open()
    builder = RowBuilder(1.0)
    for start in range(0, len(events), batch_rows):
        batch = Batch()
        for event in events[start : start + batch_rows]:
            builder.add(event, batch)
        await target.write(batch)
    await target.close()
    return target


async def test_schema_is_created_once_and_versioned(pg_dsn: str) -> None:
    """The first open creates version 1 as plain tables here (no timescaledb); later opens change nothing."""
    first = PostgresTarget(pg_dsn)
    await first.open()
    await first.close()
    assert first.state is not None and (first.state.previous, first.state.version) == (0, SCHEMA_VERSION)
    assert first.state.timescale is False
    again = PostgresTarget(pg_dsn)
    await again.open()
    await again.close()
    assert again.state is not None and again.state.previous == SCHEMA_VERSION
    rows = await fetch(pg_dsn, "SELECT version, timescale FROM collector_schema")
    assert [tuple(r) for r in rows] == [(1, False)]
    types = await fetch(
        pg_dsn,
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_name = 'trades' ORDER BY ordinal_position",
    )
    assert [tuple(r) for r in types] == [
        ("exchange", "text"),
        ("symbol", "text"),
        ("time", "timestamp with time zone"),
        ("received", "timestamp with time zone"),
        ("id", "text"),
        ("price", "double precision"),
        ("amount", "double precision"),
        ("side", "text"),
    ]
    keys = await fetch(
        pg_dsn,
        "SELECT pg_get_constraintdef(oid) AS d FROM pg_constraint WHERE conname IN ('trades_key', 'candles_key')",
    )
    assert sorted(r["d"] for r in keys) == [
        'UNIQUE (exchange, symbol, "interval", source, start)',
        "UNIQUE (exchange, symbol, id)",
    ]


async def test_a_newer_schema_is_refused(pg_dsn: str) -> None:
    """A database migrated by a newer collector is not written with the old shape."""
    target = PostgresTarget(pg_dsn, schema="market")
    await target.open()
    await target.close()
    await fetch(pg_dsn, "INSERT INTO market.collector_schema (version, description, timescale) VALUES (99, 'x', false)")
    with pytest.raises(StorageError, match="version 99, newer than this collector's 1"):
        await PostgresTarget(pg_dsn, schema="market").open()


async def test_unreachable_and_misconfigured_servers(pg_server: PgServer) -> None:
    """No server: StorageUnavailable after connect_timeout. A missing database fails at once, no retries."""
    with pytest.raises(
        StorageUnavailable, match=r"no PostgreSQL server reachable at postgresql://\.\.\.@127\.0\.0\.1:1/x"
    ):
        await PostgresTarget("postgresql://postgres@127.0.0.1:1/x", connect_timeout=0.5).open()
    with pytest.raises(StorageError, match='refused the connection: database "nowhere" does not exist'):
        await PostgresTarget(pg_server.dsn("nowhere"), connect_timeout=30).open()


async def test_a_replay_is_stored_exactly_and_twice_changes_nothing(pg_dsn: str) -> None:
    """Rows per table and their values follow the printed events; writing them all again adds nothing."""
    events = await replayed_events()
    target = await store(pg_dsn, events)
    counts = await table_counts(pg_dsn)
    assert counts == expected_counts(events)
    assert counts["trades"] == 347 and counts["book_tops"] > 0 and counts["indicators"] > 0
    assert target.stats.dead_letters == 0

    trades = await fetch(pg_dsn, "SELECT exchange, symbol, id, time, received, price, amount, side FROM trades")
    assert {(r[0], r[1], r[2]): (dt_us(r[3]), dt_us(r[4]), r[5], r[6], r[7]) for r in trades} == expected_trades(events)

    candles = await fetch(
        pg_dsn, 'SELECT exchange, symbol, "interval", source, start, close, volume, closed FROM candles'
    )
    want = {k: (c.close, c.volume, c.closed) for k, c in expected_candles(events).items()}
    assert {(r[0], r[1], r[2], r[3], dt_us(r[4])): (r[5], r[6], r[7]) for r in candles} == want

    values = await fetch(pg_dsn, 'SELECT exchange, symbol, name, params, start, "values"::text FROM indicators')
    assert len(values) == len(expected_indicators(events))

    tops = await fetch(pg_dsn, "SELECT exchange, symbol, time, taken, bid_prices, ask_sizes FROM book_tops")
    want_tops = {
        k: (event_time(b), [p for p, _ in b.top.bids], [s for _, s in b.top.asks])  # type: ignore[union-attr]
        for k, b in expected_book_tops(events).items()
    }
    assert {(r[0], r[1], dt_us(r[2])): (dt_us(r[3]), r[4], r[5]) for r in tops} == want_tops

    again = await store(pg_dsn, events, batch_rows=777)
    assert await table_counts(pg_dsn) == counts
    assert again.stats.stored == 0 and again.stats.duplicates == again.stats.received > 0


async def test_a_closed_candle_is_never_replaced_by_a_forming_one(pg_dsn: str) -> None:
    """Forming, closed, then a late forming copy (a redelivery): the closed candle stays."""

    def candle(close: float, closed: bool) -> Candle:
        return Candle("binance", "BTC/USDT", T, T, "1m", T, T + 60, 1.0, 5.0, 0.5, close, 10.0, 3, closed)

    await store(pg_dsn, [candle(1.0, False)])
    await store(pg_dsn, [candle(2.0, True)])
    await store(pg_dsn, [candle(3.0, False)])
    rows = await fetch(pg_dsn, "SELECT close, closed FROM candles")
    assert [tuple(r) for r in rows] == [(2.0, True)]


async def test_a_row_postgres_cannot_hold_goes_to_dead_letters(pg_dsn: str) -> None:
    """Text with a NUL byte is refused by PostgreSQL: that row is a dead letter with the reason, the rest is stored."""
    good = Trade("binance", "BTC/USDT", T, T, 1.0, 2.0, "buy", "1")
    bad = Error("binance", None, None, T, "c1", "malformed", "frame \x00 excerpt")
    target = await store(pg_dsn, [good, bad])
    assert target.stats.dead_letters == 1 and target.stats.stored == 1
    assert (await table_counts(pg_dsn))["trades"] == 1
    letters = await fetch(pg_dsn, "SELECT source, reason, payload FROM dead_letters")
    assert len(letters) == 1
    assert letters[0]["source"] == "postgres:status_events"
    assert letters[0]["reason"] == 'CharacterNotInRepertoireError: invalid byte sequence for encoding "UTF8": 0x00'
    assert b'"detail":"frame \\u0000 excerpt"' in letters[0]["payload"]
    assert us(T) == dt_us((await fetch(pg_dsn, "SELECT time FROM trades"))[0]["time"])


def test_timescale_statements() -> None:
    """With TimescaleDB, keys gain the time column, and each table gets a hypertable and a compression policy.

    (No TimescaleDB server is available to the tests; the plain-table path above runs for real.)
    """
    statements = MIGRATIONS[-1].statements("market", True)
    trades = [s for s in statements if '"market"."trades"' in s]
    assert trades == [
        'CREATE TABLE IF NOT EXISTS "market"."trades" ("exchange" text NOT NULL, "symbol" text NOT NULL, '
        '"time" timestamptz NOT NULL, "received" timestamptz NOT NULL, "id" text NOT NULL, '
        '"price" double precision NOT NULL, "amount" double precision NOT NULL, "side" text NOT NULL, '
        'CONSTRAINT "trades_key" UNIQUE ("exchange", "symbol", "id", "time"))',
        'CREATE INDEX IF NOT EXISTS "trades_market_time" ON "market"."trades" ("exchange", "symbol", "time" DESC)',
        "SELECT create_hypertable('\"market\".\"trades\"', 'time', chunk_time_interval => INTERVAL '1 day', "
        "if_not_exists => TRUE, migrate_data => TRUE)",
        'ALTER TABLE "market"."trades" SET (timescaledb.compress, '
        'timescaledb.compress_segmentby = \'"exchange", "symbol"\', '
        'timescaledb.compress_orderby = \'"time" DESC, "id"\')',
        "SELECT add_compression_policy('\"market\".\"trades\"', INTERVAL '7 days', if_not_exists => TRUE)",
    ]
    hypertables = [s for s in statements if s.startswith("SELECT create_hypertable")]
    assert len(hypertables) == len(TABLES)
    assert not [s for s in MIGRATIONS[-1].statements("market", False) if "timescaledb" in s or "hypertable" in s]
