"""What a :class:`~collector.sinks.kafka.KafkaSink` is told and what it counts: its settings,
its delivery counters, the topics events go to and the shard that owns a key."""

from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal, TypeAlias, get_args

from ..backoff import Backoff
from ..errors import UsageError
from ..models import Event

__all__ = [
    "DEFAULT_TOPIC_TEMPLATE",
    "EVENT_TYPES",
    "OVERFLOW_POLICIES",
    "Compression",
    "KafkaSettings",
    "Overflow",
    "SinkStats",
    "shard_of",
]

Overflow: TypeAlias = Literal["block", "drop_oldest", "fail"]
Compression: TypeAlias = Literal["gzip", "snappy", "lz4", "zstd"]
OVERFLOW_POLICIES: Final[tuple[Overflow, ...]] = ("block", "drop_oldest", "fail")
DEFAULT_TOPIC_TEMPLATE: Final = "collector.{type}"
EVENT_TYPES: Final[tuple[str, ...]] = tuple(str(cls.__struct_config__.tag) for cls in get_args(Event))
"""The ``type`` tag of every event, i.e. every topic the default template can produce."""


@dataclass(frozen=True, slots=True)
class KafkaSettings:
    """How a :class:`KafkaSink` publishes. The defaults suit a Redpanda or Kafka cluster.

    ``topic_template`` may use ``{type}`` and ``{exchange}``. ``buffer_size`` bounds the
    events held until acknowledged; ``overflow`` says what ``write()`` does when it is
    full. ``linger`` is how long an idle partition waits to fill its first batch;
    under load, batches fill while the previous one is in flight. Set
    ``enable_idempotence=False`` only for brokers without idempotent producers (the
    embedded test broker). ``request_timeout`` bounds one produce attempt (and how long
    the producer retries internally before the sink's own backoff takes over).
    """

    topic_template: str = DEFAULT_TOPIC_TEMPLATE
    buffer_size: int = 100_000
    overflow: Overflow = "block"
    enable_idempotence: bool = True
    compression: Compression | None = None
    linger: float = 0.005
    batch_bytes: int = 256 * 1024
    request_timeout: float = 30.0
    backoff: Backoff = field(default_factory=lambda: Backoff(initial=0.1, cap=5.0))
    connect_timeout: float = 30.0
    close_timeout: float = 30.0
    client_id: str = "collector"

    def __post_init__(self) -> None:
        if self.overflow not in OVERFLOW_POLICIES:
            raise UsageError(f"overflow must be one of {', '.join(OVERFLOW_POLICIES)}, not {self.overflow!r}")
        if self.buffer_size < 1 or self.batch_bytes < 1024:
            raise UsageError("buffer_size must be >= 1 and batch_bytes >= 1024")
        try:
            self.topic_template.format(type="trade", exchange="example")
        except (KeyError, IndexError, ValueError) as exc:
            raise UsageError(f"topic template {self.topic_template!r} may only use {{type}} and {{exchange}}") from exc


@dataclass(slots=True)
class SinkStats:
    """Delivery counters of one sink (``sink.stats``), in events.

    ``accepted``: taken by ``write()``. ``sent``: handed to the producer, re-sends
    included. ``acked``: acknowledged by the broker (each event once). ``retried``:
    put back for another attempt after a retriable error. ``dropped``: discarded by
    ``drop_oldest``. ``failed``: refused for good by the broker, or still unacknowledged
    when ``close()`` timed out (see ``sink.undelivered``). ``rejected``: writes refused by
    ``fail``. ``blocked``: writes that had to wait for room. ``buffered`` and
    ``in_flight`` are gauges. Always ``accepted == acked + dropped + failed + buffered``.
    """

    accepted: int = 0
    sent: int = 0
    acked: int = 0
    retried: int = 0
    dropped: int = 0
    failed: int = 0
    rejected: int = 0
    blocked: int = 0
    buffered: int = 0
    in_flight: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for logs and JSON)."""
        return asdict(self)


def shard_of(exchange: str, symbol: str, shards: int) -> int:
    """The shard (``0 <= i < shards``) that owns a subscription under ``--shard i/n``.

    A CRC-32 of ``exchange:symbol`` (the Kafka key): stable across processes, hosts and
    Python versions, unlike ``hash()``.
    """
    return zlib.crc32(f"{exchange}:{symbol}".encode()) % shards


def public_settings(settings: KafkaSettings) -> dict[str, Any]:
    """The settings worth logging (everything but the backoff policy object)."""
    return {k: v for k, v in asdict(settings).items() if k not in ("backoff",)}
