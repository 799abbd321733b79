"""``collector consume``: read events back from Kafka/Redpanda and print them as JSON lines."""

from __future__ import annotations

import argparse
import re
import sys

from ..codec import encode_event
from ..consume import consume
from ..errors import UsageError
from ..sinks.kafka import DEFAULT_TOPIC_TEMPLATE, EVENT_TYPES
from .args import open_output, output_path, positive_float, positive_int

__all__ = ["add_consume_arguments", "run_consume"]


def add_consume_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``collector consume`` (pass the result to :func:`run_consume`)."""
    parser.add_argument("bootstrap", metavar="BOOTSTRAP", help="Kafka/Redpanda servers, host:port[,host:port]")
    parser.add_argument(
        "--types", default=None, help=f"comma-separated event types (default all: {','.join(EVENT_TYPES)})"
    )
    parser.add_argument("--topic", action="append", default=[], help="read this topic (repeatable; overrides --types)")
    parser.add_argument("--pattern", default=None, help="read topics matching this regex")
    parser.add_argument("--topic-template", default=DEFAULT_TOPIC_TEMPLATE, help="the producers' topic template")
    parser.add_argument("--group", default=None, help="consumer group id (share partitions, commit offsets)")
    parser.add_argument("--from-beginning", action="store_true", help="start at the earliest retained message")
    parser.add_argument("--max-events", type=positive_int, default=None, metavar="N", help="exit after N events")
    parser.add_argument(
        "--idle-timeout",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="exit after this long without a message",
    )
    parser.add_argument(
        "--connect-timeout",
        type=positive_float,
        default=10.0,
        metavar="SECONDS",
        help="give up when no broker answers within this long (default 10)",
    )
    parser.add_argument("--out", type=output_path, default=None, help="write JSON lines here instead of stdout")


async def run_consume(args: argparse.Namespace) -> int:
    """``collector consume``: print events as JSON lines; 0, or 1 when messages were undecodable."""
    if args.pattern:
        try:
            re.compile(args.pattern)
        except re.error as exc:
            raise UsageError(f"--pattern is not a regular expression: {exc}") from None
    types = [t.strip() for t in args.types.split(",") if t.strip()] if args.types else None
    stream = consume(
        args.bootstrap,
        args.topic or None,
        types=types,
        pattern=args.pattern,
        group=args.group,
        from_beginning=args.from_beginning,
        topic_template=args.topic_template,
        idle_timeout=args.idle_timeout,
        connect_timeout=args.connect_timeout,
    )
    out = open_output(args.out)
    count = 0
    try:
        await stream.start()  # a missing broker fails here, before anything is printed
        try:
            async for event in stream:
                out.write(encode_event(event) + b"\n")
                count += 1
                if args.max_events is not None and count >= args.max_events:
                    break
        finally:
            await stream.close()
            print(f"consumed {count} events; {stream.stats.as_dict()}", file=sys.stderr)
    finally:
        out.flush()
        if args.out:
            out.close()
    if stream.stats.undecodable:
        print(f"last undecodable message: {stream.last_error}", file=sys.stderr)
        return 1
    return 0
