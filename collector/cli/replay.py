"""``collector replay``: a capture's events as JSON lines, through the same pipeline as live data."""

from __future__ import annotations

import argparse
import sys

from ..indicators.cli import engine_from_args
from ..pipeline import Pipeline
from ..replay import Replay
from ..sinks import JsonLinesSink
from .args import open_output
from .kafka import sink_from_args
from .live import _book_top
from .progress import Progress

__all__ = ["replay_command"]


async def replay_command(args: argparse.Namespace) -> int:
    """Replay ``args.file``; 0 when it replayed whole, 1 when it was truncated or Kafka lost events."""
    engine = engine_from_args(args)  # bad specs fail before the capture is read
    run = Replay(args.file, exchange=args.exchange, book_top=_book_top(args))
    for warning in run.warnings:
        print(f"collector: warning: {warning}", file=sys.stderr)
    pipeline = Pipeline()
    if engine is not None:
        pipeline.processors.append(engine.process)
    sink = JsonLinesSink(open_output(args.out), owned=args.out is not None)
    pipeline.sinks.append(sink)
    kafka = sink_from_args(args)
    if kafka is not None:
        pipeline.sinks.append(kafka)
    progress = Progress(f"replaying {args.file}")
    await pipeline.start()
    try:
        for events, event in enumerate(run, 1):
            await pipeline.emit(event)
            if not events & 1023:
                progress.update(events)
    finally:
        progress.done()
        await pipeline.close()
    stats = dict(run.adapter.stats) | {f"book.{k}": v for k, v in run.adapter.books.stats.items()}
    print(f"replayed {sink.written} events; {stats}", file=sys.stderr)
    code = 0
    if run.truncated is not None:
        print(f"collector: warning: {run.truncated}; the events before it were written", file=sys.stderr)
        code = 1
    if kafka is not None:
        print(f"kafka: {kafka.stats.as_dict()}", file=sys.stderr)
        if kafka.stats.failed or kafka.stats.dropped:
            code = 1
    return code
