"""The ``collector`` command line (design.md, "Command line").

::

    collector run binance:BTC/USDT,ETH/USDT binance_usdm:BTC/USDT:USDT --channels trades,book
    collector record binance:BTC/USDT -o session.jsonl.zst --duration 60
    collector replay session.jsonl.zst --book-top 5 --out events.jsonl
    collector demo --duration 15

Events are printed as JSON lines (the contract in design.md) on stdout or ``--out``;
logs go to stderr.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

from . import __version__
from .capture import CaptureWriter
from .client import Collector
from .consume import add_consume_arguments, run_consume
from .errors import CollectorError, UsageError
from .exchanges import CHANNELS, EXCHANGES, Endpoints
from .indicators import IndicatorEngine
from .indicators.cli import add_arguments as add_indicator_arguments
from .indicators.cli import engine_from_args
from .models import Event
from .replay import Replay
from .runner import run as run_program
from .sinks import JsonLinesSink
from .sinks.kafka import add_kafka_arguments, shard_of, sink_from_args

__all__ = ["build_parser", "main", "parse_targets"]


def parse_targets(targets: Sequence[str]) -> list[tuple[str, list[str]]]:
    """``["binance:BTC/USDT,ETH/USDT", "binance_usdm:BTC/USDT:USDT"]`` -> ``[(exchange, symbols), ...]``.

    The exchange id ends at the first ``:``; the rest is a comma-separated list of unified
    symbols (which may contain ``:`` themselves).
    """
    result = []
    for target in targets:
        exchange, sep, rest = target.partition(":")
        symbols = [s.strip() for s in rest.split(",") if s.strip()]
        if not sep or not symbols:
            raise UsageError(f"expected EXCHANGE:SYMBOL[,SYMBOL...], got {target!r}")
        if exchange not in EXCHANGES:
            raise UsageError(f"unknown exchange {exchange!r}; known: {', '.join(sorted(EXCHANGES))}")
        result.append((exchange, symbols))
    return result


def _parse_channels(text: str) -> list[str]:
    channels = [c.strip() for c in text.split(",") if c.strip()]
    for ch in channels:
        if ch not in CHANNELS:
            raise UsageError(f"unknown channel {ch!r}; use {', '.join(CHANNELS)}")
    return channels


def _parse_endpoints(items: Sequence[str]) -> dict[str, Endpoints]:
    result = {}
    for item in items:
        exchange, _, urls = item.partition("=")
        ws, _, rest = urls.partition(",")
        if not (exchange and ws and rest):
            raise UsageError(f"expected EXCHANGE=WS_BASE,REST_BASE, got {item!r}")
        result[exchange] = Endpoints(ws=ws, rest=rest)
    return result


def _add_live_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("targets", nargs="+", metavar="EXCHANGE:SYMBOL[,SYMBOL]", help="e.g. binance:BTC/USDT,ETH/USDT")
    p.add_argument(
        "--channels",
        default=None,
        help="comma-separated: trades,ticker,book,candles (default: every channel each exchange offers)",
    )
    p.add_argument("--interval", default="1m", help="exchange candle interval for the candles channel")
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument(
        "--endpoint",
        action="append",
        default=[],
        metavar="EXCHANGE=WS,REST",
        help="override an exchange's websocket and REST base URLs (e.g. a simulator)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``collector`` command."""
    parser = argparse.ArgumentParser(prog="collector", description="Crypto market data collector.")
    parser.add_argument("--version", action="version", version=f"collector {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--no-uvloop", action="store_true", help="use the default asyncio event loop")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("run", help="collect live data and print JSON lines")
    _add_live_arguments(p)
    p.add_argument("--book-top", type=int, default=None, metavar="N", help="add the best N levels to book events")
    p.add_argument("--out", default=None, help="write JSON lines here instead of stdout")
    p.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="collect only the symbols of shard I of N (a stable hash of exchange:symbol), to split work "
        "across processes that all publish to the same Kafka topics",
    )
    add_indicator_arguments(p)
    add_kafka_arguments(p)

    p = sub.add_parser("record", help="record raw frames to a capture file")
    _add_live_arguments(p)
    p.add_argument("-o", "--output", required=True, help="capture path (.jsonl or .jsonl.zst)")

    p = sub.add_parser("replay", help="replay a capture and print the unified events as JSON lines")
    p.add_argument("file", help="capture path (.jsonl or .jsonl.zst)")
    p.add_argument("--exchange", default=None, help="adapter id, when the capture's host is not recognised")
    p.add_argument("--book-top", type=int, default=None, metavar="N", help="add the best N levels to book events")
    p.add_argument("--out", default=None, help="write JSON lines here instead of stdout")
    add_indicator_arguments(p)
    add_kafka_arguments(p)

    p = sub.add_parser("demo", help="offline demo: local exchange simulator, real adapters, live view")
    p.add_argument("--duration", type=float, default=15.0, help="seconds to run (default 15)")
    p.add_argument("--symbols", default="BTC/USDT,ETH/USDT", help="spot symbols to simulate")
    add_indicator_arguments(p)
    add_kafka_arguments(p)

    p = sub.add_parser("consume", help="read events back from Kafka/Redpanda and print JSON lines")
    add_consume_arguments(p)
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


def _parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    index, _, count = text.partition("/")
    if not (index.isdigit() and count.isdigit() and 0 <= int(index) < int(count)):
        raise UsageError(f"expected --shard I/N with 0 <= I < N, got {text!r}")
    return int(index), int(count)


def _collector_for(args: argparse.Namespace, **kwargs: Any) -> Collector:
    c = Collector(endpoints=_parse_endpoints(args.endpoint), **kwargs)
    channels = _parse_channels(args.channels) if args.channels else None
    shard = _parse_shard(getattr(args, "shard", None))
    subscribed = 0
    for exchange, symbols in parse_targets(args.targets):
        if shard is not None:
            symbols = [s for s in symbols if shard_of(exchange, s, shard[1]) == shard[0]]
        if symbols:
            c.subscribe(exchange, symbols, channels, interval=args.interval)  # type: ignore[arg-type]
            subscribed += len(symbols)
    if not subscribed:
        raise UsageError(f"shard {args.shard} owns none of the given symbols")
    return c


def _book_top(args: argparse.Namespace) -> int | None:
    """``--book-top``, widened to what ``--book-metrics`` needs."""
    wanted = [n for n in (args.book_top, getattr(args, "book_metrics", None)) if n]
    return max(wanted) if wanted else None


async def _run(args: argparse.Namespace) -> int:
    sink = JsonLinesSink(path=args.out)
    c = _collector_for(args, book_top=_book_top(args), queue_size=0)
    engine = engine_from_args(args)
    if engine is not None:
        c.use_indicators(engine)
    c.add_sink(sink)
    kafka = sink_from_args(args)
    if kafka is not None:
        c.add_sink(kafka)
    await c.run(args.duration)
    return 0


async def _record(args: argparse.Namespace) -> int:
    targets = parse_targets(args.targets)
    exchange = targets[0][0]
    if any(ex != exchange for ex, _ in targets):
        # Replay runs one adapter over a capture: record each exchange to its own file.
        raise UsageError("record one exchange per capture file (run one `collector record` per exchange)")
    config = {"targets": args.targets, "channels": args.channels}
    with CaptureWriter(args.output, exchange, config, recorded=time.time()) as writer:
        c = _collector_for(args, record=writer, queue_size=0)
        await c.run(args.duration)
    print(f"recorded {writer.records} records to {args.output}", file=sys.stderr)
    return 0


def _replay_events(run: Replay, engine: IndicatorEngine | None) -> Iterator[Event]:
    """The replayed events, each followed by the candles/indicators/alerts it causes."""
    for event in run:
        yield event
        if engine is not None:
            yield from engine.process(event)


def _replay(args: argparse.Namespace, use_uvloop: bool) -> int:
    engine = engine_from_args(args)  # bad specs fail before the capture is read
    run = Replay(args.file, exchange=args.exchange, book_top=_book_top(args))
    kafka = sink_from_args(args)
    out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115 - closed below
    sink = JsonLinesSink(out)
    try:
        if kafka is None:
            for event in _replay_events(run, engine):
                sink.write_now(event)
        else:

            async def publish_all() -> None:
                await kafka.start()
                try:
                    for event in _replay_events(run, engine):
                        sink.write_now(event)
                        await kafka.write(event)
                finally:
                    await kafka.close()

            run_program(publish_all(), use_uvloop=use_uvloop)
    finally:
        out.flush()
        if args.out:
            out.close()
    stats = dict(run.adapter.stats) | {f"book.{k}": v for k, v in run.adapter.books.stats.items()}
    print(f"replayed {sink.written} events; {stats}", file=sys.stderr)
    if kafka is not None:
        print(f"kafka: {kafka.stats.as_dict()}", file=sys.stderr)
        if kafka.stats.failed or kafka.stats.dropped:
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``collector`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    _configure_logging(args.log_level)
    use_uvloop = not args.no_uvloop
    try:
        if args.command == "run":
            return run_program(_run(args), use_uvloop=use_uvloop)
        if args.command == "record":
            return run_program(_record(args), use_uvloop=use_uvloop)
        if args.command == "replay":
            return _replay(args, use_uvloop)
        if args.command == "consume":
            return run_program(run_consume(args), use_uvloop=use_uvloop)
        if args.command == "demo":
            from .demo import run_demo

            return run_program(run_demo(args), use_uvloop=use_uvloop)
    except CollectorError as exc:
        print(f"collector: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader (e.g. ``| head``) went away: stop quietly, like other Unix filters.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    raise AssertionError(f"unhandled command {args.command}")


if __name__ == "__main__":
    sys.exit(main())
