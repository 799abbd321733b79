"""``collector archive`` and the storage options of ``collector run`` (``--postgres``, ``--parquet``, ``--csv``).

::

    collector archive localhost:19092 --group archivers --postgres postgresql://localhost/market --parquet data/
    collector run binance:BTC/USDT --postgres postgresql://localhost/market --parquet data/
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import get_args

from ..errors import UsageError
from ..sinks.kafka import DEFAULT_TOPIC_TEMPLATE, EVENT_TYPES
from ..storage import Archiver, FileTarget, PostgresTarget, StorageSettings, StorageSink, Target, Timescale
from .args import positive_float, positive_int

__all__ = ["add_archive_arguments", "add_storage_arguments", "archive_command", "storage_sink_from_args"]


def add_storage_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--postgres``, ``--parquet``, ``--csv`` and their tuning options."""
    defaults = StorageSettings()
    group = parser.add_argument_group("storage (docs/storage.md)")
    group.add_argument("--postgres", metavar="DSN", default=None, help="store in PostgreSQL/TimescaleDB at this URL")
    group.add_argument("--postgres-schema", default="public", metavar="NAME", help="schema for the tables (public)")
    group.add_argument(
        "--timescale",
        choices=get_args(Timescale),
        default="auto",
        help="hypertables: auto (when the server has timescaledb), on (required), off (default auto)",
    )
    group.add_argument("--parquet", metavar="DIR", default=None, help="store a Parquet dataset under DIR")
    group.add_argument("--csv", metavar="DIR", default=None, help="store CSV files under DIR (same layout)")
    group.add_argument(
        "--book-interval",
        type=positive_float,
        default=defaults.book_interval,
        metavar="SECONDS",
        help="one book-top snapshot per symbol per interval (default %(default)s)",
    )
    group.add_argument(
        "--batch-rows",
        type=positive_int,
        default=defaults.batch_rows,
        metavar="N",
        help="rows per write (default %(default)s)",
    )
    group.add_argument(
        "--flush-interval",
        type=positive_float,
        default=defaults.flush_interval,
        metavar="SECONDS",
        help="longest wait before rows are written (default %(default)s)",
    )
    group.add_argument(
        "--roll-interval",
        type=positive_float,
        default=300.0,
        metavar="SECONDS",
        help="seal Parquet/CSV files at least this often (default %(default)s)",
    )
    group.add_argument(
        "--roll-size",
        type=positive_int,
        default=128,
        metavar="MIB",
        help="seal Parquet/CSV files once one reaches this size (default %(default)s MiB)",
    )


def _folder(text: str, option: str) -> Path:
    path = Path(text)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{option} {text}: not a directory")
    parent = path if path.exists() else path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise UsageError(f"{option} {text}: {parent} is not a directory")
    return path


def targets_from_args(args: argparse.Namespace) -> list[Target]:
    """The targets the storage options ask for (not yet opened)."""
    targets: list[Target] = []
    if args.postgres:
        timeout = getattr(args, "connect_timeout", 30.0)
        target = PostgresTarget(
            args.postgres, schema=args.postgres_schema, timescale=args.timescale, connect_timeout=timeout
        )
        targets.append(target)
    for option, fmt in (("--parquet", "parquet"), ("--csv", "csv")):
        value = getattr(args, option.removeprefix("--"))
        if value:
            targets.append(
                FileTarget(
                    _folder(value, option),
                    format=fmt,  # type: ignore[arg-type]
                    roll_bytes=args.roll_size * 1024 * 1024,
                    roll_interval=args.roll_interval,
                )
            )
    return targets


def _settings(args: argparse.Namespace) -> StorageSettings:
    return StorageSettings(
        batch_rows=args.batch_rows, flush_interval=args.flush_interval, book_interval=args.book_interval
    )


def storage_sink_from_args(args: argparse.Namespace) -> StorageSink | None:
    """The sink ``--postgres``/``--parquet``/``--csv`` ask for on ``collector run``; ``None`` without them."""
    targets = targets_from_args(args)
    return StorageSink(targets, _settings(args)) if targets else None


def add_archive_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``collector archive`` (pass the result to :func:`archive_command`)."""
    parser.add_argument("bootstrap", metavar="BOOTSTRAP", help="Kafka/Redpanda servers, host:port[,host:port]")
    parser.add_argument("--group", required=True, help="consumer group: archivers with the same group share the work")
    parser.add_argument(
        "--types", default=None, help=f"comma-separated event types (default all: {','.join(EVENT_TYPES)})"
    )
    parser.add_argument("--topic", action="append", default=[], help="read this topic (repeatable; overrides --types)")
    parser.add_argument("--pattern", default=None, help="read topics matching this regex")
    parser.add_argument("--topic-template", default=DEFAULT_TOPIC_TEMPLATE, help="the producers' topic template")
    parser.add_argument(
        "--start",
        choices=("earliest", "latest"),
        default="earliest",
        help="where a group without committed offsets begins (default earliest: all retained data)",
    )
    parser.add_argument("--max-events", type=positive_int, default=None, metavar="N", help="exit after N messages")
    parser.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="exit after this long without a message (after storing everything read)",
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="give up when no broker or database answers within this long (default 10)",
    )
    add_storage_arguments(parser)


async def archive_command(args: argparse.Namespace) -> int:
    """``collector archive``: store the collector topics; 0, or 1 when messages went to dead letters."""
    if args.pattern:
        try:
            re.compile(args.pattern)
        except re.error as exc:
            raise UsageError(f"--pattern is not a regular expression: {exc}") from None
    targets = targets_from_args(args)
    if not targets:
        raise UsageError("archive needs somewhere to store: --postgres DSN, --parquet DIR or --csv DIR")
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    archiver = Archiver(
        args.bootstrap,
        targets,
        group=args.group,
        types=types,
        topics=args.topic or None,
        pattern=args.pattern,
        topic_template=args.topic_template,
        start=args.start,
        settings=_settings(args),
        idle_timeout=args.idle_timeout,
        max_events=args.max_events,
        connect_timeout=args.connect_timeout,
    )
    try:
        stats = await archiver.run()
    finally:
        print(f"archive: {archiver.stats.as_dict()}", file=sys.stderr)
        for target in targets:
            print(f"{target.name}: {target.stats.as_dict()}", file=sys.stderr)
    return 1 if stats.undecodable else 0
