"""The ``collector`` command line (design.md, "Command line").

::

    collector run binance:BTC/USDT,ETH/USDT binance_usdm:BTC/USDT:USDT --channels trades,book
    collector record binance:BTC/USDT -o session.jsonl.zst --duration 60
    collector replay session.jsonl.zst --book-top 5 --out events.jsonl
    collector simulate                      # a local exchange simulator, and the flags to use it
    collector demo --duration 15
    collector archive localhost:19092 --group archivers --postgres postgresql://localhost/market

Events are printed as JSON lines (the contract in design.md) on stdout or ``--out``;
logs and progress go to stderr. Every mistake ends with one line
``collector: error: ...`` and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from .. import __version__
from ..errors import CollectorError
from ..indicators.cli import add_arguments as add_indicator_arguments
from ..runner import Interrupted
from ..runner import run as run_program
from ..transport import TRANSPORTS
from .archive import add_archive_arguments, add_storage_arguments, archive_command
from .args import listen_address, output_path, parse_targets, positive_float, positive_int
from .consume import add_consume_arguments, run_consume
from .kafka import add_kafka_arguments
from .live import record_command, run_command, simulate_command
from .premium import add_premium_arguments, premium_command
from .replay import replay_command

__all__ = ["build_parser", "main", "parse_targets"]

LOG_LEVELS = ["debug", "info", "warning", "error"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors: ``collector: error: ...``, exit status 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("collector").strip()
        hint = f" (see: collector {command} --help)" if command else " (see: collector --help)"
        self.exit(2, f"collector: error: {message}{hint}\n")


def _add_common(p: argparse.ArgumentParser, *, default: object) -> None:
    # Accepted before and after the subcommand; after wins (SUPPRESS keeps the earlier value).
    p.add_argument("--log-level", default=default, choices=LOG_LEVELS, help="stderr log level (default info)")
    p.add_argument("--no-uvloop", action="store_true", default=default, help="use the default asyncio event loop")


def _add_live_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="+", metavar="EXCHANGE:SYMBOL[,SYMBOL]", help="e.g. binance:BTC/USDT,ETH/USDT")
    p.add_argument(
        "--channels",
        default=None,
        help="comma-separated: trades,ticker,book,candles,funding,liquidations "
        "(default: the market channels each exchange offers)",
    )
    p.add_argument("--interval", default="1m", help="exchange candle interval for the candles channel")
    p.add_argument("--duration", type=positive_float, default=None, help="stop after this many seconds")
    _add_transport(p)
    p.add_argument(
        "--poll-interval",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="seconds between REST polls of data without a stream (Binance futures open interest; "
        "default: the exchange's own, 10 s), within its REST weight budget",
    )
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="EXCHANGE=WS,REST",
        help="override an exchange's websocket and REST base URLs (see `collector simulate`)",
    )


def _add_transport(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default=None,
        help="websocket client: websockets (default) or picows (pip install 'crypto-collector[fast]', faster); "
        "COLLECTOR_TRANSPORT sets the default",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``collector`` command."""
    parser = _Parser(prog="collector", description="Crypto market data collector.")
    parser.add_argument("--version", action="version", version=f"collector {__version__}")
    _add_common(parser, default=None)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="collect live data and print JSON lines")
    _add_live_arguments(p)
    p.add_argument(
        "--workers",
        type=positive_int,
        default=1,
        metavar="N",
        help="run N collector processes (one per core), the subscriptions sharded between them by --shard's "
        "hash; their output is merged",
    )
    p.add_argument(
        "--metrics",
        type=listen_address,
        default=None,
        metavar="HOST:PORT",
        help="serve Prometheus metrics at /metrics and a health check at /health, e.g. 127.0.0.1:9464",
    )
    p.add_argument("--book-top", type=positive_int, default=None, metavar="N", help="add the best N levels to books")
    p.add_argument("--out", type=output_path, default=None, help="write JSON lines here instead of stdout")
    p.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="collect only the symbols of shard I of N (a stable hash of exchange:symbol), to split work "
        "across processes that all publish to the same Kafka topics",
    )
    add_indicator_arguments(p)
    add_kafka_arguments(p)
    add_storage_arguments(p)

    p = sub.add_parser("record", help="record raw frames to a capture file")
    _add_live_arguments(p)
    p.add_argument("-o", "--output", type=output_path, required=True, help="capture path (.jsonl or .jsonl.zst)")

    p = sub.add_parser("replay", help="replay a capture and print the unified events as JSON lines")
    p.add_argument("file", help="capture path (.jsonl or .jsonl.zst)")
    p.add_argument("--exchange", default=None, help="adapter id, when the capture's host is not recognised")
    p.add_argument("--book-top", type=positive_int, default=None, metavar="N", help="add the best N levels to books")
    p.add_argument("--out", type=output_path, default=None, help="write JSON lines here instead of stdout")
    add_indicator_arguments(p)
    add_kafka_arguments(p)

    p = sub.add_parser("simulate", help="run the local exchange simulator and print the --endpoint flags to use it")
    p.add_argument(
        "targets", nargs="*", metavar="EXCHANGE:SYMBOL[,SYMBOL]", help="markets to serve (default: every exchange)"
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    p.add_argument("--seed", type=int, default=1, help="market seed (same seed, same market)")
    p.add_argument("--tick", type=positive_float, default=0.1, help="seconds between market updates (default 0.1)")
    p.add_argument("--duration", type=positive_float, default=None, help="stop after this many seconds")

    p = sub.add_parser("demo", help="offline demo: local exchange simulator, real adapters, live view")
    p.add_argument("--duration", type=positive_float, default=15.0, help="seconds to run (default 15)")
    _add_transport(p)
    p.add_argument("--symbols", default=None, help="spot symbols to simulate on every spot exchange")
    add_indicator_arguments(p)
    add_kafka_arguments(p)

    p = sub.add_parser("premium", help="the KRW premium of assets on Korean venues over venues abroad, live")
    add_premium_arguments(p)
    _add_transport(p)

    p = sub.add_parser("consume", help="read events back from Kafka/Redpanda and print JSON lines")
    add_consume_arguments(p)

    p = sub.add_parser("archive", help="store events from Kafka/Redpanda in PostgreSQL, Parquet or CSV")
    add_archive_arguments(p)

    for subparser in sub.choices.values():
        _add_common(subparser, default=argparse.SUPPRESS)
    return parser


def _configure_logging(level: str) -> None:
    """Send collector's logs (stdlib ``logging``, see :mod:`collector.log`) to stderr at ``level``."""
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
    )
    # aiokafka logs every failed reconnect while a broker is down; the sink reports outages itself.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``collector`` console script; returns the exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    _configure_logging(args.log_level or "info")
    args.argv = list(argv) if argv is not None else sys.argv[1:]
    use_uvloop = not args.no_uvloop
    commands = {
        "run": run_command,
        "record": record_command,
        "replay": replay_command,
        "simulate": simulate_command,
        "consume": run_consume,
        "premium": premium_command,
        "archive": archive_command,
    }
    try:
        if args.command == "demo":
            from ..demo import run_demo

            return run_program(run_demo(args), use_uvloop=use_uvloop, graceful=True)
        return run_program(commands[args.command](args), use_uvloop=use_uvloop, graceful=True)
    except CollectorError as exc:
        print(f"collector: error: {exc}", file=sys.stderr)
        return 2
    except Interrupted as exc:
        print(f"collector: stopped by {exc}", file=sys.stderr)
        return 128 + exc.signum
    except BrokenPipeError:
        # The reader (e.g. ``| head``) went away: stop quietly, like other Unix filters.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:
        # The disk filled up, an output vanished: the user's environment, not a bug.
        print(f"collector: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
