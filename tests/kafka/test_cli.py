"""`collector replay CAPTURE --kafka HOST:PORT` delivers exactly what `collector replay CAPTURE` prints."""

from __future__ import annotations

import asyncio
import sys
from collections import defaultdict

from collector.codec import decode_event
from collector.sinks.kafka import EmbeddedBroker
from tests.conftest import recording
from tests.kafka.util import read_log


async def cli(*args: str) -> tuple[int, bytes, bytes]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "collector", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out, err


def per_stream(lines: list[bytes]) -> dict[tuple[str, str, str | None], list[bytes]]:
    streams: dict[tuple[str, str, str | None], list[bytes]] = defaultdict(list)
    for line in lines:
        event = decode_event(line)
        streams[(event.type, event.exchange, getattr(event, "symbol", None))].append(line)
    return dict(streams)


async def test_replay_to_kafka_delivers_exactly_the_printed_events(broker: EmbeddedBroker) -> None:
    """None missing, none doubled, and per (type, exchange, symbol) in the printed order."""
    path = str(recording("binance.jsonl.zst"))
    code, printed, err = await cli("replay", path, "--book-top", "5")
    assert code == 0, err.decode()
    code, also_printed, err = await cli(
        "replay", path, "--book-top", "5", "--kafka", broker.bootstrap, "--no-kafka-idempotence"
    )
    assert code == 0, err.decode()
    assert also_printed == printed
    lines = printed.splitlines()
    records = await read_log(broker.bootstrap)
    delivered = [record.value for record in records]
    assert len(delivered) == len(lines) == 265
    assert sorted(delivered) == sorted(lines)
    assert per_stream(delivered) == per_stream(lines)
    for record in records:
        event = decode_event(record.value)
        assert record.topic == f"collector.{event.type}"
        symbol = getattr(event, "symbol", None)
        assert record.key == (f"{event.exchange}:{symbol}" if symbol else event.exchange).encode()


async def test_a_broker_without_idempotent_producers_is_one_clear_line(broker: EmbeddedBroker) -> None:
    """tansu refuses idempotent producers: the command says so and names the flag that fixes it."""
    code, _, err = await cli("replay", str(recording("binance.jsonl.zst")), "--kafka", broker.bootstrap)
    assert code == 2
    assert err.decode().splitlines() == [
        f"collector: error: the broker at {broker.bootstrap} refused the idempotent producer (UnknownError); "
        "pass --no-kafka-idempotence (KafkaSettings(enable_idempotence=False))"
    ]
