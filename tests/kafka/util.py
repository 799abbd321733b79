"""Helpers for the Kafka tests: condition waits, synthetic events, exact reads of the broker's log."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from collector.codec import decode_event, encode_event
from collector.models import Book, Connected, Event, Resync, Trade
from collector.sinks.kafka import KafkaSettings, KafkaSink, SinkStats

SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
T0 = 1_700_000_000.0


async def wait_until(condition: Callable[[], bool], within: float = 20.0, what: str = "condition") -> None:
    """Poll ``condition`` every 10 ms until it holds; fail the test after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}")
        await asyncio.sleep(0.01)


def quick_settings(**changes: Any) -> KafkaSettings:
    """Settings for the test broker: no idempotence (tansu lacks it), short timeouts and backoff."""
    from collector.sinks.kafka import Backoff

    base: dict[str, Any] = {
        "enable_idempotence": False,
        "request_timeout": 2.0,
        "connect_timeout": 10.0,
        "close_timeout": 20.0,
        "backoff": Backoff(initial=0.05, cap=0.5),
    }
    return KafkaSettings(**(base | changes))


async def started_sink(bootstrap: str, **changes: Any) -> KafkaSink:
    """A started sink on ``bootstrap`` with :func:`quick_settings`."""
    sink = KafkaSink(bootstrap, quick_settings(**changes))
    await sink.start()
    return sink


def synthetic(start: int, count: int) -> list[Event]:
    """``count`` events numbered from ``start``: trades and book deltas over three symbols, some status events."""
    events: list[Event] = []
    for n in range(start, start + count):
        symbol = SYMBOLS[n % len(SYMBOLS)]
        ts = T0 + n / 1000
        if n % 50 == 0:
            events.append(Connected("binance", None, None, ts, f"conn{n}", "wss://example.invalid/ws"))
        elif n % 5 == 0:
            events.append(Book("binance", symbol, ts, ts, False, [(100.0 + n, 1.0)], [], n))
        else:
            events.append(Trade("binance", symbol, ts, ts, 100.0 + n, 0.5, "buy" if n % 2 else "sell", str(n)))
    return events


def resync(n: int) -> Resync:
    """A resync status event (its own topic) numbered ``n``."""
    return Resync("binance", SYMBOLS[n % len(SYMBOLS)], None, T0 + n, "gap", f"n={n}")


def streams(events: Iterable[Event]) -> dict[tuple[str, str, str | None], list[bytes]]:
    """Events split by ``(type, exchange, symbol)``, each stream in order, as JSON bytes."""
    result: dict[tuple[str, str, str | None], list[bytes]] = defaultdict(list)
    for event in events:
        result[(type(event).__name__, event.exchange, event.symbol)].append(encode_event(event))
    return dict(result)


def assert_balanced(stats: SinkStats) -> None:
    """Every accepted event is acked, dropped, failed or still buffered."""
    assert stats.accepted == stats.acked + stats.dropped + stats.failed + stats.buffered, stats


async def read_log(bootstrap: str, prefix: str = "collector.", within: float = 20.0) -> list[Any]:
    """Every record in the broker's ``prefix*`` topics, read up to the end offsets (exact, no idle waits).

    Returns aiokafka ``ConsumerRecord`` objects, each partition in offset order.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefix))
        partitions = [
            TopicPartition(topic, p) for topic in topics for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return []
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[Any] = []
        deadline = time.monotonic() + within
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            assert time.monotonic() < deadline, "timed out reading the broker's log"
            batches = await consumer.getmany(timeout_ms=200)
            for tp in partitions:
                records.extend(batches.get(tp, []))
        return records
    finally:
        await consumer.stop()


def decoded(records: Sequence[Any]) -> list[Event]:
    """The events in ``records`` (as returned by :func:`read_log`)."""
    return [decode_event(r.value) for r in records]
