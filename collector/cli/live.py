"""``collector run``, ``collector record`` and ``collector simulate``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import time
from typing import Any

from ..capture import CaptureWriter
from ..client import Collector
from ..errors import UsageError
from ..exchanges import EXCHANGES
from ..indicators.cli import engine_from_args
from ..models import Event
from ..sinks import JsonLinesSink
from ..sinks.kafka import shard_of
from .archive import storage_sink_from_args
from .args import open_output, parse_channels, parse_endpoints, parse_shard, parse_targets
from .kafka import sink_from_args
from .progress import Progress

__all__ = ["record_command", "run_command", "simulate_command", "simulator_markets"]


def _collector_for(args: argparse.Namespace, **kwargs: Any) -> Collector:
    c = Collector(
        endpoints=parse_endpoints(args.endpoint),
        poll_interval=args.poll_interval,
        transport=args.transport,
        **kwargs,
    )
    channels = parse_channels(args.channels) if args.channels is not None else None
    shard = parse_shard(getattr(args, "shard", None))
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
    wanted = [n for n in (getattr(args, "book_top", None), getattr(args, "book_metrics", None)) if n]
    return max(wanted) if wanted else None


async def run_command(args: argparse.Namespace) -> int:
    """``collector run``: collect live data and print JSON lines (or publish them to Kafka)."""
    if args.workers > 1:
        from .workers import run_workers

        return await run_workers(args, args.argv)
    engine = engine_from_args(args)  # bad specs fail before anything connects
    storage = storage_sink_from_args(args)
    # Stored book snapshots are the maintained book's top levels: ask for them when storing.
    book_top = _book_top(args) or (10 if storage is not None else None)
    c = _collector_for(args, book_top=book_top, queue_size=0)
    out = open_output(args.out)
    sink = JsonLinesSink(out, owned=args.out is not None)
    if engine is not None:
        c.use_indicators(engine)
    c.add_sink(sink)
    kafka = sink_from_args(args)
    if kafka is not None:
        c.add_sink(kafka)
    if storage is not None:
        c.add_sink(storage)
    server = None
    if args.metrics is not None:
        from ..metrics import Metrics

        server = await Metrics(c).serve(*args.metrics)
        print(f"metrics at http://{server.host}:{server.port}/metrics", file=sys.stderr)
    try:
        await c.start()
        # Instrument maps, plans and books built at start live as long as the process: move them
        # out of the cyclic collector's sight, so its passes stay short with many connections.
        gc.freeze()
        await c.run(args.duration)
    finally:
        if server is not None:
            await server.stop()
    return 0


async def record_command(args: argparse.Namespace) -> int:
    """``collector record``: write every raw frame and REST answer to a capture file."""
    targets = parse_targets(args.targets)
    exchange = targets[0][0]
    if any(ex != exchange for ex, _ in targets):
        # Replay runs one adapter over a capture: record each exchange to its own file.
        raise UsageError("record one exchange per capture file (run one `collector record` per exchange)")
    config = {"targets": args.targets, "channels": args.channels}
    progress = Progress(f"recording {args.output}")
    with CaptureWriter(args.output, exchange, config, recorded=time.time()) as writer:
        c = _collector_for(args, record=writer, queue_size=0)
        events = 0

        def count(_: Event) -> None:
            nonlocal events
            events += 1
            progress.update(events, writer.records)

        c.on(count)
        try:
            await c.run(args.duration)
        finally:
            progress.done()
            print(f"recorded {writer.records} records to {args.output}", file=sys.stderr)
    return 0


def simulator_markets(targets: list[str]) -> dict[str, list[str]]:
    """The markets ``simulate`` and ``demo`` serve: the given targets, else every exchange's demo symbols."""
    from ..errors import CollectorError

    if targets:
        return dict(parse_targets(targets))
    markets: dict[str, list[str]] = {}
    for exchange in EXCHANGES:
        cls = EXCHANGES[exchange]
        try:
            cls.simulator_wire()
        except CollectorError:
            continue
        if cls.demo_symbols:
            markets[exchange] = list(cls.demo_symbols)
    return markets


async def simulate_command(args: argparse.Namespace) -> int:
    """``collector simulate``: serve exchange wire formats on localhost and print the flags to use them."""
    from ..simulator import Simulator

    markets = simulator_markets(args.targets)
    async with Simulator(markets, seed=args.seed, tick_interval=args.tick, host=args.host, port=args.port) as sim:
        flags = [f"--endpoint {ex}={sim.endpoints(ex).ws},{sim.endpoints(ex).rest}" for ex in sorted(markets)]
        print(f"simulator on {sim.host}:{sim.port} serving {', '.join(sorted(markets))}")
        for exchange in sorted(markets):
            print(f"  {exchange:<15} {', '.join(markets[exchange])}")
        example = next(iter(sorted(markets)))
        print("\nPoint collector at it with these flags (any subset):")
        for flag in flags:
            print(f"  {flag}")
        print(f"\ne.g.  collector run {example}:{markets[example][0]} {flags[sorted(markets).index(example)]}")
        print("Stop with Ctrl-C.", flush=True)
        if args.duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(args.duration)
    return 0
