"""The PostgreSQL schema: versioned migrations, plain tables or TimescaleDB hypertables.

:func:`migrate` brings a database schema to :data:`SCHEMA_VERSION` inside one transaction,
under an advisory lock, so several writers starting at once apply each migration exactly
once. The applied versions are rows of ``collector_schema``; a database migrated by a
newer collector is refused rather than written with the wrong shape.

With the ``timescaledb`` extension (``timescale="auto"`` uses it when the server has it),
every table becomes a hypertable on its time column with the table's chunk interval, and
a compression policy compresses chunks older than its ``compress_after``, segmented by
exchange and symbol (so a query for one market decompresses only that market). Without
it, the tables are plain tables with the same columns and keys.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias

from ..errors import UsageError
from ..log import get_logger
from .tables import TABLES, Column, Table
from .target import StorageError

__all__ = [
    "MIGRATIONS",
    "PG_TYPES",
    "SCHEMA_VERSION",
    "Migration",
    "SchemaState",
    "Timescale",
    "ident",
    "migrate",
]

log = get_logger("collector.storage.postgres")

Timescale: TypeAlias = Literal["auto", "on", "off"]

PG_TYPES: Final[dict[str, str]] = {
    "text": "text",
    "float": "double precision",
    "int": "bigint",
    "bool": "boolean",
    "time": "timestamptz",
    "floats": "double precision[]",
    "json": "jsonb",
    "bytes": "bytea",
}


def ident(name: str) -> str:
    """``name`` as a quoted SQL identifier (columns such as ``end`` and ``values`` are keywords)."""
    return '"' + name.replace('"', '""') + '"'


def _column(c: Column) -> str:
    return f"{ident(c.name)} {PG_TYPES[c.kind]}{'' if c.nullable else ' NOT NULL'}"


def _table_ddl(schema: str, t: Table, timescale: bool) -> list[str]:
    qualified = f"{ident(schema)}.{ident(t.name)}"
    key = t.hyper_key if timescale else t.key
    cols = ", ".join([*map(_column, t.columns), f"CONSTRAINT {ident(t.name + '_key')} UNIQUE ({_names(key)})"])
    ddl = [f"CREATE TABLE IF NOT EXISTS {qualified} ({cols})"]
    if key[:3] != ("exchange", "symbol", t.time) and "exchange" in t.names:
        # The key serves lookups by identity; queries ask "this market, this time range".
        ddl.append(
            f"CREATE INDEX IF NOT EXISTS {ident(t.name + '_market_time')} ON {qualified} "
            f"({ident('exchange')}, {ident('symbol')}, {ident(t.time)} DESC)"
            if "symbol" in t.names
            else f"CREATE INDEX IF NOT EXISTS {ident(t.name + '_time')} ON {qualified} ({ident(t.time)} DESC)"
        )
    if timescale:
        literal = qualified.replace("'", "''")
        segment = [c for c in t.segment_by if c in t.names]
        order = [f"{ident(t.time)} DESC", *(ident(c) for c in key if c != t.time and c not in segment)]
        ddl += [
            f"SELECT create_hypertable('{literal}', '{t.time}', chunk_time_interval => INTERVAL '{t.chunk}', "
            "if_not_exists => TRUE, migrate_data => TRUE)",
            f"ALTER TABLE {qualified} SET (timescaledb.compress, "
            f"timescaledb.compress_segmentby = '{_names(segment)}', "
            f"timescaledb.compress_orderby = '{', '.join(order)}')",
            f"SELECT add_compression_policy('{literal}', INTERVAL '{t.compress_after}', if_not_exists => TRUE)",
        ]
    return ddl


def _names(columns: Sequence[str]) -> str:
    return ", ".join(map(ident, columns))


def _v1(schema: str, timescale: bool) -> list[str]:
    statements = [f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}"]
    for t in TABLES:
        statements += _table_ddl(schema, t, timescale)
    return statements


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema version: ``statements(schema, timescale)`` gives its SQL."""

    version: int
    description: str
    statements: Callable[[str, bool], list[str]]


MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "market tables, book tops, indicators, status events, dead letters", _v1),
)
"""Every migration in order; a new version is appended here, never edited in place."""

SCHEMA_VERSION: Final = MIGRATIONS[-1].version


@dataclass(frozen=True, slots=True)
class SchemaState:
    """What :func:`migrate` found and did: the version now, the one before, and hypertables or not."""

    version: int
    previous: int
    timescale: bool


async def _timescale_wanted(conn: Any, mode: Timescale) -> bool:
    if mode == "off":
        return False
    installed = await conn.fetchval("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    if installed is None:
        available = await conn.fetchval("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
        if available:
            try:
                async with conn.transaction():  # a savepoint: a refused CREATE EXTENSION keeps the migration alive
                    await conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
                installed = True
            except Exception as exc:
                if mode == "on":
                    raise StorageError(f"cannot create the timescaledb extension: {exc}") from exc
                log.warning("timescaledb is available but could not be created; using plain tables", error=str(exc))
    if installed is None and mode == "on":
        raise StorageError("timescale='on' but the server has no timescaledb extension")
    return installed is not None


async def migrate(conn: Any, schema: str = "public", timescale: Timescale = "auto") -> SchemaState:
    """Bring ``schema`` to :data:`SCHEMA_VERSION` on the asyncpg connection ``conn``.

    Safe to run from many writers at once and on every start. Raises :class:`StorageError`
    when the database holds a newer schema than this collector knows (upgrade collector) or
    when ``timescale="on"`` cannot be honoured.
    """
    if timescale not in ("auto", "on", "off"):
        raise UsageError(f"timescale must be auto, on or off, not {timescale!r}")
    versions = f"{ident(schema)}.collector_schema"
    async with conn.transaction():
        # One migrator per schema at a time; the lock ends with the transaction.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"collector_schema:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {versions} (version integer PRIMARY KEY, description text NOT NULL, "
            "timescale boolean NOT NULL, applied timestamptz NOT NULL DEFAULT now())"
        )
        rows = await conn.fetch(f"SELECT version, timescale FROM {versions} ORDER BY version")
        current = rows[-1]["version"] if rows else 0
        if current > SCHEMA_VERSION:
            raise StorageError(
                f"schema {schema!r} is at version {current}, newer than this collector's {SCHEMA_VERSION}; "
                "upgrade collector (or use another --postgres-schema)"
            )
        hyper = bool(rows[0]["timescale"]) if rows else await _timescale_wanted(conn, timescale)
        if rows and timescale == "on" and not hyper:
            log.warning("schema was created without timescaledb; keeping plain tables", schema=schema)
        for migration in MIGRATIONS:
            if migration.version <= current:
                continue
            for statement in migration.statements(schema, hyper):
                await conn.execute(statement)
            await conn.execute(
                f"INSERT INTO {versions} (version, description, timescale) VALUES ($1, $2, $3)",
                migration.version,
                migration.description,
                hyper,
            )
            log.info("schema migrated", schema=schema, version=migration.version, timescale=hyper)
    return SchemaState(SCHEMA_VERSION, current, hyper)
