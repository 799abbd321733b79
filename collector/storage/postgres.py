"""PostgreSQL / TimescaleDB target: one transaction per batch, binary ``COPY``, idempotent keys.

Each batch is written in one transaction: per table, the rows are copied (binary
``COPY``) into a session-local staging table and moved into the real table with
``INSERT ... SELECT ... ON CONFLICT``, so a row whose key is already stored is skipped
(``DO NOTHING``), or, for candles and indicators, replaces the stored one unless that
one is closed and the new one is not. Repeating a batch therefore changes nothing:
that is what makes a redelivery from Kafka harmless.

A batch that the server refuses for its content (a value PostgreSQL cannot hold) is
written again table by table, and rows that still fail go to ``dead_letters`` with the
server's reason; the rest of the batch is stored. Connection failures, a server that is
starting up or shutting down, serialization failures and timeouts raise
:class:`~collector.storage.target.TargetDown`, which the writers retry with backoff.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from typing import Any, Final

import msgspec

from ..errors import UsageError
from ..log import get_logger
from .pg_schema import SchemaState, Timescale, ident, migrate
from .rows import Batch, Row, to_us
from .tables import TABLES, Table
from .target import Checkpoint, StorageError, StorageStats, StorageUnavailable, TargetDown

__all__ = ["PostgresTarget", "connect"]

log = get_logger("collector.storage.postgres")

_PG_EPOCH_US: Final = 946_684_800_000_000  # 2000-01-01 in Unix microseconds: timestamptz's binary zero
_RETRIABLE_CLASSES: Final = ("08", "40", "53", "57", "58")  # connection, rollback, resources, operator, system
_json = msgspec.json.Encoder()


def _asyncpg() -> Any:
    try:
        return importlib.import_module("asyncpg")
    except ImportError as exc:
        raise UsageError("the PostgreSQL target needs asyncpg: pip install 'crypto-collector[storage]'") from exc


def _retriable(exc: BaseException, asyncpg: Any) -> bool:
    # InternalClientError: a connection cut in the middle of an operation can be left in a
    # state asyncpg refuses to use; a new connection is the cure, as for a closed one.
    if isinstance(exc, (OSError, TimeoutError, asyncpg.InterfaceError, asyncpg.InternalClientError)):
        return True
    if isinstance(exc, asyncpg.PostgresError):
        return str(getattr(exc, "sqlstate", "") or "")[:2] in _RETRIABLE_CLASSES
    return False


async def connect(dsn: str, *, connect_timeout: float = 10.0, command_timeout: float | None = 60.0) -> Any:
    """An asyncpg connection set up for writing rows: ``timestamptz`` as integer Unix
    microseconds and ``jsonb`` as dicts, in both directions (the row format of
    :mod:`collector.storage.rows`)."""
    asyncpg = _asyncpg()
    try:
        conn = await asyncpg.connect(dsn, timeout=connect_timeout, command_timeout=command_timeout)
    except (ValueError, asyncpg.ClientConfigurationError) as exc:
        raise UsageError(f"not a usable PostgreSQL DSN: {exc}") from None
    await conn.set_type_codec(
        "timestamptz",
        schema="pg_catalog",
        encoder=lambda us: (us - _PG_EPOCH_US,),
        decoder=lambda t: t[0] + _PG_EPOCH_US,
        format="tuple",
    )
    # Binary jsonb is a version byte (1) and the JSON text; binary COPY needs binary codecs.
    await conn.set_type_codec(
        "jsonb",
        schema="pg_catalog",
        encoder=lambda value: b"\x01" + _json.encode(value),
        decoder=lambda data: msgspec.json.decode(data[1:]),
        format="binary",
    )
    return conn


class PostgresTarget:
    """Store batches in PostgreSQL (plain tables, or TimescaleDB hypertables when available).

    ``dsn`` is a libpq URL (``postgresql://user:pass@host:5432/db``). :meth:`open` connects
    (retrying for up to ``connect_timeout`` seconds, then :class:`StorageUnavailable`) and
    migrates ``schema``; :meth:`write` stores one batch durably or raises
    :class:`TargetDown`. ``command_timeout`` bounds every statement, so a hung server
    becomes a retry instead of a stall.
    """

    name = "postgres"

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "public",
        timescale: Timescale = "auto",
        connect_timeout: float = 30.0,
        command_timeout: float = 60.0,
    ) -> None:
        self.dsn = dsn
        self.schema = schema
        self.timescale = timescale
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.stats = StorageStats()
        self.state: SchemaState | None = None
        """What the migration found: schema version, and whether the tables are hypertables."""
        self._conn: Any = None
        self._asyncpg: Any = None
        self._insert: dict[str, str] = {t.name: self._insert_sql(t) for t in TABLES}

    @property
    def durable_on_write(self) -> bool:
        """Yes: a batch is committed before :meth:`write` returns."""
        return True

    # -- lifecycle -----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect and migrate; raises :class:`StorageUnavailable` or :class:`StorageError`."""
        self._asyncpg = asyncpg = _asyncpg()
        deadline = time.monotonic() + self.connect_timeout
        delay = 0.1
        while True:
            try:
                conn = await self._connect()
                break
            except TargetDown as exc:
                if time.monotonic() + delay > deadline:
                    raise StorageUnavailable(f"no PostgreSQL server reachable at {self._where()}: {exc}") from None
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        try:
            self.state = await migrate(conn, self.schema, self.timescale)
            await self._prepare(conn)
        except asyncpg.PostgresError as exc:
            conn.terminate()
            raise StorageError(f"cannot create the schema {self.schema!r}: {exc}") from None
        except TargetDown as exc:
            raise StorageUnavailable(f"PostgreSQL at {self._where()} went away during setup: {exc}") from None
        self._conn = conn

    async def close(self) -> None:
        """Close the connection (an open transaction is rolled back by the server)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 5)
            except Exception:
                conn.terminate()

    def wants_seal(self) -> bool:
        """Never: batches are durable when written."""
        return False

    async def seal(self, checkpoint: Checkpoint | None) -> None:
        """Nothing to do: every written batch is already committed."""

    async def abort(self) -> None:
        """Nothing to forget: nothing is staged between batches."""

    # -- writing ---------------------------------------------------------------------------

    async def write(self, batch: Batch) -> None:
        """Store ``batch`` in one transaction; raises :class:`TargetDown` to be retried."""
        asyncpg = self._asyncpg
        try:
            conn = self._conn or await self._reconnect()
            try:
                counts = await self._transaction(conn, batch, careful=False)
            except asyncpg.PostgresError as exc:
                if _retriable(exc, asyncpg):
                    raise
                log.warning("batch refused; retrying table by table", error=str(exc)[:300])
                counts = await self._transaction(conn, batch, careful=True)
        except Exception as exc:
            if not _retriable(exc, asyncpg):
                raise
            await self._drop_connection()
            raise TargetDown(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
        received, stored, dead = counts
        self.stats.received += received
        self.stats.stored += stored
        self.stats.duplicates += received - stored - dead
        self.stats.dead_letters += dead

    async def _transaction(self, conn: Any, batch: Batch, *, careful: bool) -> tuple[int, int, int]:
        received = stored = dead = 0
        refused = Batch()
        async with conn.transaction():
            for t, rows in batch.tables():
                received += len(rows)
                if not careful:
                    stored += await self._copy(conn, t, rows)
                    continue
                try:
                    async with conn.transaction():
                        stored += await self._copy(conn, t, rows)
                except self._asyncpg.PostgresError as exc:
                    if _retriable(exc, self._asyncpg):
                        raise
                    s, bad = await self._one_by_one(conn, t, rows, refused)
                    stored += s
                    dead += bad
            for t, rows in refused.tables():
                await self._copy(conn, t, rows)
        return received, stored, dead

    async def _one_by_one(self, conn: Any, t: Table, rows: list[Row], refused: Batch) -> tuple[int, int]:
        stored = bad = 0
        for row in rows:
            try:
                async with conn.transaction():
                    stored += await self._copy(conn, t, [row])
            except self._asyncpg.PostgresError as exc:
                if _retriable(exc, self._asyncpg):
                    raise
                bad += 1
                payload = msgspec.json.encode(dict(zip(t.names, row, strict=True)))
                refused.dead_letter(to_us(time.time()), f"postgres:{t.name}", f"{type(exc).__name__}: {exc}", payload)
        return stored, bad

    async def _copy(self, conn: Any, t: Table, rows: list[Row]) -> int:
        await conn.copy_records_to_table(f"stage_{t.name}", records=rows, columns=t.names)
        status: str = await conn.execute(self._insert[t.name])
        return int(status.rsplit(" ", 1)[-1])

    def _insert_sql(self, t: Table) -> str:
        target = f"{ident(self.schema)}.{ident(t.name)}"
        cols = ", ".join(map(ident, t.names))
        sql = f"INSERT INTO {target} ({cols}) SELECT {cols} FROM pg_temp.{ident('stage_' + t.name)} "
        if not t.upsert:
            # No conflict target: whichever unique key the table has (plain or hypertable form).
            return sql + "ON CONFLICT DO NOTHING"
        rest = [c for c in t.names if c not in t.key]
        updates = ", ".join(f"{ident(c)} = EXCLUDED.{ident(c)}" for c in rest)
        mine = ", ".join(f"{target}.{ident(c)}" for c in rest)
        theirs = ", ".join(f"EXCLUDED.{ident(c)}" for c in rest)
        # A stored row is replaced by a version received no earlier, a closed one only by a closed
        # one, and never by an identical one: repeating older versions (a redelivery) changes nothing.
        return (
            sql + f"ON CONFLICT ({', '.join(map(ident, t.key))}) DO UPDATE SET {updates} "
            f"WHERE (NOT {target}.{ident('closed')} OR EXCLUDED.{ident('closed')}) "
            f"AND EXCLUDED.{ident('received')} >= {target}.{ident('received')} "
            f"AND ({mine}) IS DISTINCT FROM ({theirs})"
        )

    # -- connection ------------------------------------------------------------------------

    async def _connect(self) -> Any:
        """A new connection (not yet prepared); setup mistakes raise, outages raise :class:`TargetDown`."""
        try:
            timeout = min(10.0, self.connect_timeout)
            return await connect(self.dsn, connect_timeout=timeout, command_timeout=self.command_timeout)
        except UsageError:
            raise
        except Exception as exc:
            if _retriable(exc, self._asyncpg):
                raise TargetDown(f"{type(exc).__name__}: {exc}") from exc
            raise StorageError(f"PostgreSQL at {self._where()} refused the connection: {exc}") from None

    async def _prepare(self, conn: Any) -> None:
        try:
            for t in TABLES:
                # Session-local staging tables, emptied at every commit.
                await conn.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {ident('stage_' + t.name)} "
                    f"(LIKE {ident(self.schema)}.{ident(t.name)}) ON COMMIT DELETE ROWS"
                )
        except Exception as exc:
            conn.terminate()
            if _retriable(exc, self._asyncpg):
                raise TargetDown(f"{type(exc).__name__}: {exc}") from exc
            raise

    async def _reconnect(self) -> Any:
        conn = await self._connect()
        await self._prepare(conn)
        self._conn = conn
        return conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()

    def _where(self) -> str:
        # The DSN without its password, for messages.
        head, at, tail = self.dsn.rpartition("@")
        return f"{head.split('://')[0]}://...@{tail}" if at else self.dsn

    def __repr__(self) -> str:
        return f"PostgresTarget({self._where()}, schema={self.schema!r})"
