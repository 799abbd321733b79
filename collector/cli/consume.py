"""``collector consume``: read events back from Kafka/Redpanda and print them as JSON lines."""

from __future__ import annotations

import argparse
import re
import sys

from ..codec import encode_event
from ..consume import consume
from ..sinks.kafka import DEFAULT_TOPIC_TEMPLATE, EVENT_TYPES

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
    parser.add_argument("--max-events", type=int, default=None, metavar="N", help="exit after N events")
    parser.add_argument(
        "--idle-timeout", type=float, default=None, metavar="SECONDS", help="exit after this long without a message"
    )
    parser.add_argument("--out", default=None, help="write JSON lines here instead of stdout")


async def run_consume(args: argparse.Namespace) -> int:
    """``collector consume``: print events as JSON lines; 0, or 1 when messages were undecodable."""
    if args.pattern:
        re.compile(args.pattern)
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
    )
    out = open(args.out, "wb") if args.out else sys.stdout.buffer  # noqa: SIM115, ASYNC230 - opened once, closed below
    count = 0
    try:
        async with stream:
            async for event in stream:
                out.write(encode_event(event) + b"\n")
                count += 1
                if args.max_events is not None and count >= args.max_events:
                    break
    finally:
        out.flush()
        if args.out:
            out.close()
        print(f"consumed {count} events; {stream.stats.as_dict()}", file=sys.stderr)
    if stream.stats.undecodable:
        print(f"last undecodable message: {stream.last_error}", file=sys.stderr)
        return 1
    return 0
