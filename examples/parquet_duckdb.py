"""Query a collector Parquet dataset with DuckDB: trades per market and day, 1-minute VWAP, spreads.

The dataset is what ``collector archive ... --parquet DIR`` or ``collector run ... --parquet DIR``
writes. To try it offline, build one from a capture first::

    python examples/parquet_duckdb.py data/ --from-capture ../shared/recordings/bybit.jsonl.zst
    python examples/parquet_duckdb.py data/            # later: just query

Needs ``pip install duckdb`` (and the storage extra: ``pip install -e '.[storage]'``).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import collector
from collector.storage import FileTarget, StorageSink


async def build(capture: Path, root: Path) -> None:
    """Replay ``capture`` into a Parquet dataset under ``root`` (book tops of 5 levels, one per second)."""
    sink = StorageSink([FileTarget(root)])
    await sink.start()
    for event in collector.replay(collector.read_capture(capture), book_top=5):
        await sink.write(event)
    await sink.close()  # seals the files: they appear in their partitions only now


def query(root: Path) -> None:
    import duckdb

    def scan(kind: str) -> str:
        # One folder per type; Hive-style folder names become the columns exchange and date.
        return f"read_parquet('{root}/type={kind}/**/*.parquet', hive_partitioning = true)"

    print("trades per market and day")
    for row in duckdb.sql(
        f"SELECT exchange, symbol, date, count(*) AS trades, sum(amount) AS volume "
        f"FROM {scan('trade')} GROUP BY ALL ORDER BY trades DESC LIMIT 10"
    ).fetchall():
        print(f"  {row[0]:10} {row[1]:18} {row[2]}  {row[3]:>7} trades  volume {row[4]:.6g}")

    print("1-minute VWAP of the busiest market")
    for row in duckdb.sql(
        f"""WITH busiest AS (SELECT exchange, symbol FROM {scan("trade")} GROUP BY ALL ORDER BY count(*) DESC LIMIT 1)
        SELECT time_bucket(INTERVAL 1 minute, time) AS minute, sum(price * amount) / sum(amount) AS vwap, count(*)
        FROM {scan("trade")} JOIN busiest USING (exchange, symbol) GROUP BY ALL ORDER BY minute LIMIT 5"""
    ).fetchall():
        print(f"  {row[0]:%Y-%m-%d %H:%M} UTC  vwap {row[1]:.6g}  ({row[2]} trades)")

    print("median spread from the book-top snapshots (basis points)")
    for row in duckdb.sql(
        f"SELECT exchange, symbol, median((ask_prices[1] - bid_prices[1]) / bid_prices[1] * 1e4) AS bps, count(*) "
        f"FROM {scan('book_top')} WHERE len(bid_prices) > 0 AND len(ask_prices) > 0 "
        f"GROUP BY ALL ORDER BY bps LIMIT 5"
    ).fetchall():
        print(f"  {row[0]:10} {row[1]:18} {row[2]:8.3f} bps over {row[3]} snapshots")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path, help="the dataset folder (--parquet DIR)")
    parser.add_argument("--from-capture", type=Path, default=None, help="first replay this capture into the dataset")
    args = parser.parse_args()
    if args.from_capture is not None:
        asyncio.run(build(args.from_capture, args.dataset))
    query(args.dataset)


if __name__ == "__main__":
    main()
