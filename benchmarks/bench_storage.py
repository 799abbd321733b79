"""Rows/s into PostgreSQL and Parquet, each against its floor: a bare COPY, a bare pyarrow write.

    python benchmarks/bench_storage.py [CAPTURE] [--trades N] [--repeat R] [--batch-rows B]

The rows come from a real session: the capture's trades and tickers (Bybit by default),
cycled with fresh ids and times up to ``--trades`` trades and as many tickers. It starts
its own PostgreSQL server (Debian's binaries, a temporary folder, fsync on, as a
database that keeps data would run; as ``nobody`` when run as root) on a free loopback port.

Measured per run, on the same rows:

- ``builder``: events → rows (:class:`~collector.storage.rows.RowBuilder`), no I/O.
- ``postgres``: :class:`~collector.storage.PostgresTarget` writes in batches of
  ``--batch-rows`` rows: binary COPY into a staging table, then ``INSERT ... ON CONFLICT``
  into the keyed table, one transaction per batch.
- ``postgres again``: the same rows a second time (every row a duplicate: a redelivery).
- ``COPY floor``: asyncpg's binary ``copy_records_to_table`` of the same rows, same batches,
  straight into an unkeyed table with the same columns: what the server takes at best.
- ``COPY into the keyed tables``: the same bare COPY into empty tables with the keys and
  indexes of the real ones (no staging, no conflict handling): what the indexes cost.
- ``parquet``: :class:`~collector.storage.FileTarget` writes and seals the rows (zstd).
- ``pyarrow floor``: the same rows turned into Arrow tables and written with
  ``pyarrow.parquet.write_table`` (zstd), one file per table: no partitioning, no dedupe,
  no fsync, no rename.

Prints min / median / max rows/s over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pwd
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from glob import glob
from pathlib import Path

from collector import read_capture, replay
from collector.models import Event, Ticker, Trade
from collector.storage import FileTarget, PostgresTarget
from collector.storage.files import to_arrow
from collector.storage.postgres import connect
from collector.storage.rows import Batch, RowBuilder
from collector.storage.tables import TABLES

DEFAULT_CAPTURE = Path(__file__).resolve().parents[2] / "shared" / "recordings" / "bybit.jsonl.zst"


class Server:
    """A throwaway PostgreSQL server on 127.0.0.1 (see the module docstring)."""

    def __init__(self) -> None:
        found = sorted(glob("/usr/lib/postgresql/*/bin/postgres"))
        binary = found[-1] if found else shutil.which("postgres")
        if binary is None:
            sys.exit("no PostgreSQL server binaries found (apt-get install postgresql)")
        self.bin = Path(binary).parent
        self.folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.user = "nobody" if os.geteuid() == 0 else None
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        data = str(self.folder / "data")
        subprocess.run(
            [str(self.bin / "initdb"), "-D", data, "-U", "postgres", "-A", "trust"],
            check=True,
            user=self.user,
            capture_output=True,
        )
        options = ["-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.folder}"]
        command = [str(self.bin / "postgres"), "-D", data, "-p", str(self.port), *options]
        self.process = subprocess.Popen(command, user=self.user, stderr=subprocess.DEVNULL, start_new_session=True)
        ready = [str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)]
        while subprocess.run(ready, capture_output=True, check=False).returncode != 0:
            time.sleep(0.05)
        self.dsn = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        self.process.wait(30)
        shutil.rmtree(self.folder, ignore_errors=True)


def events_from(capture: Path, trades: int) -> list[Event]:
    """``trades`` trades and as many tickers, cycled from the capture with fresh ids and later times."""
    real = [e for e in replay(read_capture(capture)) if type(e) in (Trade, Ticker)]
    base = [e for e in real if type(e) is Trade], [e for e in real if type(e) is Ticker]
    out: list[Event] = []
    for kind in base:
        for n in range(trades):
            e = kind[n % len(kind)]
            cycle = n // len(kind)
            shift = cycle * 3600.0  # each cycle an hour later, with ids after the last cycle's, as a live feed
            ts = (e.timestamp or e.received) + shift
            if type(e) is Trade:
                out.append(
                    Trade(
                        e.exchange, e.symbol, ts, e.received + shift, e.price, e.amount, e.side, f"{cycle:06d}-{e.id}"
                    )
                )
            else:
                out.append(Ticker(e.exchange, e.symbol, ts, e.received + shift, e.bid, e.bid_size, e.ask, e.ask_size))  # type: ignore[attr-defined]
    return out


def batches_of(events: list[Event], rows: int) -> list[Batch]:
    builder = RowBuilder()
    batches = [Batch()]
    for event in events:
        if len(batches[-1]) >= rows:
            batches.append(Batch())
        builder.add(event, batches[-1])
    return batches


async def timed(
    label: str, rows: int, runs: list[Callable[[], Awaitable[None]]], results: dict[str, list[float]]
) -> None:
    for run in runs:
        started = time.perf_counter()
        await run()
        results.setdefault(label, []).append(rows / (time.perf_counter() - started))


async def bench(capture: Path, trades: int, repeat: int, batch_rows: int) -> None:
    events = events_from(capture, trades)
    rows = len(events)
    results: dict[str, list[float]] = {}
    server = Server()
    folder = Path(tempfile.mkdtemp(prefix="bench-parquet-"))
    try:
        for run in range(repeat):

            async def build() -> None:
                batches_of(events, batch_rows)

            await timed("builder (events -> rows)", rows, [build], results)
            batches = batches_of(events, batch_rows)
            target = PostgresTarget(server.dsn, schema=f"run{run}")
            await target.open()

            async def write_all(target: PostgresTarget = target, batches: list[Batch] = batches) -> None:
                for batch in batches:
                    await target.write(batch)

            await timed("postgres (COPY + upsert)", rows, [write_all], results)
            await timed("postgres again (all duplicates)", rows, [write_all], results)
            await target.close()

            conn = await connect(server.dsn)
            for t in TABLES:
                await conn.execute(f'CREATE TABLE floor_{t.name}_{run} (LIKE "run{run}"."{t.name}")')

            async def bare_copy(conn: object = conn, batches: list[Batch] = batches, run: int = run) -> None:
                for batch in batches:
                    for t, table_rows in batch.tables():
                        await conn.copy_records_to_table(f"floor_{t.name}_{run}", records=table_rows, columns=t.names)  # type: ignore[attr-defined]

            await timed("COPY floor (bare binary COPY)", rows, [bare_copy], results)
            keyed = PostgresTarget(server.dsn, schema=f"keyed{run}")
            await keyed.open()  # the same tables with their keys and indexes, empty
            await keyed.close()

            async def keyed_copy(conn: object = conn, batches: list[Batch] = batches, run: int = run) -> None:
                for batch in batches:
                    for t, table_rows in batch.tables():
                        await conn.copy_records_to_table(  # type: ignore[attr-defined]
                            t.name, records=table_rows, columns=t.names, schema_name=f"keyed{run}"
                        )

            await timed("COPY into the keyed tables (no upsert)", rows, [keyed_copy], results)
            await conn.close()  # type: ignore[attr-defined]

            files = FileTarget(folder / f"run{run}", row_group_rows=100_000)
            await files.open()

            async def parquet(files: FileTarget = files, batches: list[Batch] = batches) -> None:
                for batch in batches:
                    await files.write(batch)
                await files.seal(None)

            await timed("parquet (FileTarget, sealed)", rows, [parquet], results)
            await files.close()

            def bare_pyarrow(batches: list[Batch] = batches, run: int = run) -> None:
                import pyarrow.parquet as pq

                merged = Batch()
                for batch in batches:
                    merged.merge(batch)
                for t, table_rows in merged.tables():
                    path = folder / f"floor-{run}-{t.name}.parquet"
                    pq.write_table(to_arrow(t, table_rows), path, compression="zstd")

            async def floor() -> None:
                bare_pyarrow()

            await timed("pyarrow floor (bare write_table)", rows, [floor], results)
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{rows} rows ({trades} trades + {trades} tickers), batches of {batch_rows}, {repeat} runs; rows/s:")
    for label, values in results.items():
        low, mid, high = min(values), statistics.median(values), max(values)
        print(f"  {label:40} min {low:>10,.0f}  median {mid:>10,.0f}  max {high:>10,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", type=Path, default=DEFAULT_CAPTURE)
    parser.add_argument("--trades", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch-rows", type=int, default=5_000)
    args = parser.parse_args()
    asyncio.run(bench(args.capture, args.trades, args.repeat, args.batch_rows))


if __name__ == "__main__":
    main()
