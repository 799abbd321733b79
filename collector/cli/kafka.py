"""``--kafka`` and its tuning options, shared by ``collector run``, ``replay`` and ``demo``."""

from __future__ import annotations

import argparse
from typing import get_args

from ..sinks.kafka import OVERFLOW_POLICIES, Compression, EmbeddedBroker, KafkaSettings, KafkaSink

__all__ = ["add_kafka_arguments", "sink_from_args"]


def add_kafka_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--kafka BOOTSTRAP`` and its tuning options (for ``run``, ``replay``, ``demo``)."""
    defaults = KafkaSettings()
    group = parser.add_argument_group("Kafka / Redpanda fan-out")
    group.add_argument(
        "--kafka",
        metavar="BOOTSTRAP",
        default=None,
        help="also publish every event to this broker (host:port[,host:port]); "
        "'embedded' starts a local in-memory test broker",
    )
    group.add_argument(
        "--kafka-topic-template",
        default=defaults.topic_template,
        metavar="TEMPLATE",
        help="topic name per event; may use {type} and {exchange} (default %(default)s)",
    )
    group.add_argument(
        "--kafka-overflow",
        choices=OVERFLOW_POLICIES,
        default=defaults.overflow,
        help="when the buffer is full: block the pipeline, drop the oldest event, or fail (default %(default)s)",
    )
    group.add_argument(
        "--kafka-buffer",
        type=int,
        default=defaults.buffer_size,
        metavar="EVENTS",
        help="events held until acknowledged (default %(default)s)",
    )
    group.add_argument(
        "--kafka-idempotence",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="idempotent producer (default on; off for --kafka embedded, which does not support it)",
    )
    group.add_argument("--kafka-compression", choices=get_args(Compression), default=None)
    group.add_argument(
        "--kafka-close-timeout",
        type=float,
        default=defaults.close_timeout,
        metavar="SECONDS",
        help="how long shutdown waits for acknowledgements (default %(default)s)",
    )


def sink_from_args(args: argparse.Namespace) -> KafkaSink | None:
    """The sink ``--kafka`` asks for, not yet started; ``None`` without ``--kafka``."""
    if not args.kafka:
        return None
    embedded = args.kafka == "embedded"
    idempotence = args.kafka_idempotence if args.kafka_idempotence is not None else not embedded
    settings = KafkaSettings(
        topic_template=args.kafka_topic_template,
        buffer_size=args.kafka_buffer,
        overflow=args.kafka_overflow,
        enable_idempotence=idempotence,
        compression=args.kafka_compression,
        close_timeout=args.kafka_close_timeout,
    )
    target: str | EmbeddedBroker = EmbeddedBroker() if embedded else args.kafka
    return KafkaSink(target, settings)
