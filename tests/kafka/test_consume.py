"""collector.consume and the ``collector consume`` pieces against a real broker."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from collector.cli.consume import add_consume_arguments, run_consume
from collector.cli.kafka import add_kafka_arguments, sink_from_args
from collector.codec import encode_event
from collector.consume import consume, topics_for
from collector.errors import UsageError
from collector.sinks.kafka import EVENT_TYPES, EmbeddedBroker, KafkaSink, publish
from tests.kafka.util import quick_settings, streams, synthetic

# Short group timeouts so joining after a member left takes about a second, not the defaults' 10-20 s.
FAST_GROUP = {"session_timeout_ms": 2000, "heartbeat_interval_ms": 300, "rebalance_timeout_ms": 2000}


async def test_undecodable_messages_are_counted_not_raised(broker: EmbeddedBroker) -> None:
    """Garbage on a collector topic is skipped, counted and described; the events around it come through."""
    good = synthetic(1, 2)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("collector.trade", encode_event(good[0]), key=b"k", partition=0)
        await producer.send_and_wait("collector.trade", b"{not json", key=b"k", partition=0)
        await producer.send_and_wait("collector.trade", b'{"type":"nope"}', key=b"k", partition=0)
        await producer.send_and_wait("collector.trade", encode_event(good[1]), key=b"k", partition=0)
    finally:
        await producer.stop()
    got = []
    async with consume(broker.bootstrap, types=["trade"], from_beginning=True) as stream:
        async for event in stream:
            got.append(event)
            if len(got) == 2:
                break
    assert got == good
    assert stream.stats.as_dict() == {"received": 4, "decoded": 2, "undecodable": 2}
    assert stream.last_error is not None
    assert stream.last_error.startswith("collector.trade[0]@2: ")


async def test_consumer_group_resumes_after_commit(broker: EmbeddedBroker) -> None:
    """A group member that committed does not see old events again; a new member of the group gets only new ones."""
    first, second = synthetic(0, 30), synthetic(30, 30)
    await publish(first, KafkaSink(broker.bootstrap, quick_settings()))
    got = []
    async with consume(
        broker.bootstrap, group="bots", from_beginning=True, auto_commit=False, options=FAST_GROUP
    ) as stream:
        async for event in stream:
            got.append(event)
            if len(got) == len(first):
                break
        await stream.commit()
    assert streams(got) == streams(first)

    await publish(second, KafkaSink(broker.bootstrap, quick_settings()))
    got = []
    async with consume(broker.bootstrap, group="bots", from_beginning=True, options=FAST_GROUP) as stream:
        async for event in stream:
            got.append(event)
            if len(got) == len(second):
                break
    assert streams(got) == streams(second)


async def test_run_consume_prints_json_lines(broker: EmbeddedBroker, tmp_path: Path) -> None:
    """``collector consume BOOTSTRAP --from-beginning --max-events N --out FILE`` writes the events as JSON lines."""
    events = synthetic(0, 40)
    await publish(events, KafkaSink(broker.bootstrap, quick_settings()))
    out = tmp_path / "events.jsonl"
    parser = argparse.ArgumentParser()
    add_consume_arguments(parser)
    args = parser.parse_args([broker.bootstrap, "--from-beginning", "--max-events", "40", "--out", str(out)])
    assert await run_consume(args) == 0
    lines = out.read_bytes().splitlines()
    assert sorted(lines) == sorted(encode_event(e) for e in events)


def test_topics_for() -> None:
    """Event types map to the sink's topic names; unknown types are a usage error."""
    assert topics_for(["trade", "book"]) == ["collector.trade", "collector.book"]
    assert topics_for(["trade"], "md.{type}.v1") == ["md.trade.v1"]
    assert topics_for() == [f"collector.{t}" for t in EVENT_TYPES]
    with pytest.raises(UsageError):
        topics_for(["trades"])


def test_sink_from_args() -> None:
    """``--kafka`` and its options become the sink's settings; no ``--kafka``, no sink."""
    parser = argparse.ArgumentParser()
    add_kafka_arguments(parser)
    assert sink_from_args(parser.parse_args([])) is None
    sink = sink_from_args(
        parser.parse_args(
            [
                "--kafka",
                "h1:9092,h2:9092",
                "--kafka-overflow",
                "drop_oldest",
                "--kafka-buffer",
                "500",
                "--no-kafka-idempotence",
            ]
        )
    )
    assert sink is not None
    assert sink.bootstrap == "h1:9092,h2:9092"
    s = sink.settings
    assert (s.overflow, s.buffer_size, s.enable_idempotence, s.topic_template) == (
        "drop_oldest",
        500,
        False,
        "collector.{type}",
    )
    default = sink_from_args(parser.parse_args(["--kafka", "h1:9092"]))
    assert default is not None
    assert default.settings.enable_idempotence is True


async def test_a_consumer_stopped_early_resumes_exactly_after_what_it_was_given(broker: EmbeddedBroker) -> None:
    """3 of 10 events handed out, then a clean stop: the next member of the group gets the other 7, no more,
    no less (the offsets committed are those handed out, not those fetched)."""
    events = synthetic(0, 10)
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait("collector.trade", encode_event(event), key=b"k", partition=0)
    finally:
        await producer.stop()
    got: list[object] = []
    async with consume(broker.bootstrap, types=["trade"], group="bot", from_beginning=True, options=FAST_GROUP) as s:
        async for event in s:
            got.append(event)
            if len(got) == 3:
                break
    assert got == events[:3]
    rest: list[object] = []
    async with consume(
        broker.bootstrap, types=["trade"], group="bot", from_beginning=True, idle_timeout=3.0, options=FAST_GROUP
    ) as s:
        async for event in s:
            rest.append(event)
    assert rest == events[3:]


async def test_a_poison_message_is_skipped_and_the_good_ones_after_it_delivered(broker: EmbeddedBroker) -> None:
    """Deep nesting in an extra field (which makes the decoder recurse) is counted, skipped, and committed past."""
    good = synthetic(5, 2)
    poison = encode_event(good[0])[:-1] + b',"extra":' + b"[" * 5000 + b"]" * 5000 + b"}"
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait("collector.trade", poison, key=b"k", partition=0)
        for event in good:
            await producer.send_and_wait("collector.trade", encode_event(event), key=b"k", partition=0)
    finally:
        await producer.stop()
    got: list[object] = []
    async with consume(broker.bootstrap, types=["trade"], group="g", from_beginning=True, options=FAST_GROUP) as s:
        async for event in s:
            got.append(event)
            if len(got) == 2:
                break
    assert got == good
    assert s.stats.as_dict() == {"received": 3, "decoded": 2, "undecodable": 1}
    # Committed past the poison too: a restart does not trip on it again.
    async with consume(
        broker.bootstrap, types=["trade"], group="g", from_beginning=True, idle_timeout=2.0, options=FAST_GROUP
    ) as s:
        assert [e async for e in s] == []
    assert s.stats.undecodable == 0


async def test_consuming_from_no_broker_is_a_clear_error() -> None:
    """No broker at the address: BrokerUnavailable with the address, after the connect timeout."""
    from collector.errors import BrokerUnavailable

    with pytest.raises(BrokerUnavailable, match=r"127\.0\.0\.1:1"):
        async with consume("127.0.0.1:1", types=["trade"], connect_timeout=2.0):
            pass
