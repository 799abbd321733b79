"""KafkaSink against a real broker: layout, end-to-end replay, flush, restarts and overflow policies."""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

import pytest

from collector import replay
from collector.codec import encode_event
from collector.consume import consume
from collector.errors import UsageError
from collector.models import Connected, Trade
from collector.sinks import Sink
from collector.sinks.kafka import BufferOverflow, EmbeddedBroker, KafkaSink, SinkClosed, publish
from tests.conftest import recording
from tests.kafka.conftest import Crashable
from tests.kafka.util import (
    assert_balanced,
    decoded,
    quick_settings,
    read_log,
    resync,
    started_sink,
    streams,
    synthetic,
    wait_until,
)


async def test_record_layout(broker: EmbeddedBroker) -> None:
    """Topic per type, key exchange:symbol (exchange alone for connection events), JSON value, two headers."""
    trade = Trade("binance", "BTC/USDT", 1.0, 2.0, 100.0, 0.5, "buy", "7")
    status = Connected("binance", None, None, 3.0, "c1", "wss://example.invalid")
    sink = KafkaSink(broker.bootstrap, quick_settings())
    assert isinstance(sink, Sink)
    await publish([trade, status], sink)
    records = {r.topic: r for r in await read_log(broker.bootstrap)}
    assert sorted(records) == ["collector.connected", "collector.trade"]
    t, c = records["collector.trade"], records["collector.connected"]
    assert (t.key, t.value, list(t.headers)) == (
        b"binance:BTC/USDT",
        encode_event(trade),
        [("type", b"trade"), ("exchange", b"binance")],
    )
    assert (c.key, c.value, list(c.headers)) == (
        b"binance",
        encode_event(status),
        [("type", b"connected"), ("exchange", b"binance")],
    )


async def test_replay_end_to_end(broker: EmbeddedBroker) -> None:
    """A real capture replayed into the broker comes back through consume() exactly once, in per-stream order."""
    events = list(replay(recording("binance.jsonl.zst")))
    stats = await publish(events, KafkaSink(broker.bootstrap, quick_settings()))
    assert (stats.accepted, stats.acked, stats.dropped, stats.failed, stats.buffered) == (
        len(events),
        len(events),
        0,
        0,
        0,
    )

    # The broker holds exactly len(events) records: nothing doubled.
    assert len(await read_log(broker.bootstrap)) == len(events)
    got = []
    async with consume(broker.bootstrap, from_beginning=True) as stream:
        async for event in stream:
            got.append(event)
            if len(got) == len(events):
                break
    assert stream.stats.undecodable == 0
    assert Counter(map(encode_event, got)) == Counter(map(encode_event, events))
    assert streams(got) == streams(events)


async def test_close_flushes_everything(broker: EmbeddedBroker) -> None:
    """close() right after a burst of writes returns only when every event is acknowledged."""
    events = synthetic(0, 3000)
    sink = await started_sink(broker.bootstrap)
    for event in events:
        await sink.write(event)
    assert sink.stats.acked < len(events)  # the burst outran the broker: close() has work to do
    await sink.close()
    assert (sink.stats.acked, sink.stats.buffered, sink.undelivered) == (3000, 0, [])
    assert streams(decoded(await read_log(broker.bootstrap))) == streams(events)


async def test_broker_restart_resends_unacknowledged(crashable: Crashable) -> None:
    """Acked events were readable before the crash; every unacknowledged one is delivered after the restart."""
    before, during, after = synthetic(0, 1000), [*synthetic(1000, 1000), resync(1)], synthetic(2000, 1000)
    sink = await started_sink(crashable.bootstrap, request_timeout=1.0)
    for event in before:
        await sink.write(event)
    await wait_until(lambda: sink.stats.acked == len(before), what="first part acked")
    read_before = decoded(await read_log(crashable.bootstrap))
    assert streams(read_before) == streams(before)

    crashable.kill()
    for event in during:  # includes a type (resync) whose topic the sink has not seen yet
        await sink.write(event)
    # The producer gives up after request_timeout and the sink's own retry loop takes over.
    await wait_until(lambda: sink.stats.retried > 0, what="a retry while the broker is down")
    assert sink.stats.acked == len(before)
    assert sink.stats.buffered == len(during)

    crashable.restart()
    for event in after:
        await sink.write(event)
    await sink.close()
    assert (sink.stats.acked, sink.stats.failed, sink.stats.dropped) == (3001, 0, 0)
    assert_balanced(sink.stats)
    # The restarted broker lost what it held; it now has exactly what was unacknowledged at the crash and later.
    read_after = decoded(await read_log(crashable.bootstrap))
    assert streams(read_after) == streams([*during, *after])


async def test_overflow_block_waits_for_the_broker(crashable: Crashable) -> None:
    """``block``: a write beyond the bound waits while the broker is down and completes after it returns."""
    events = synthetic(1, 7)
    sink = await started_sink(crashable.bootstrap, buffer_size=5, overflow="block")
    await sink.write(events[0])  # learn the topics' metadata while the broker is up
    await sink.write(events[4])
    await wait_until(lambda: sink.stats.acked == 2, what="warm-up acked")
    crashable.kill()
    for event in events[1:4] + events[5:7]:
        await sink.write(event)
    assert sink.stats.buffered == 5
    blocked = asyncio.create_task(sink.write(synthetic(100, 1)[0]))
    await wait_until(lambda: sink.stats.blocked == 1, what="the sixth write to block")
    assert not blocked.done()

    crashable.restart()
    await asyncio.wait_for(blocked, 20)
    await sink.close()
    assert (sink.stats.accepted, sink.stats.acked, sink.stats.dropped, sink.stats.rejected) == (8, 8, 0, 0)
    assert len(await read_log(crashable.bootstrap)) == 6  # what the restarted broker got


async def test_overflow_block_writer_released_by_close(crashable: Crashable) -> None:
    """A writer blocked on a full buffer gets SinkClosed when the sink is closed; the buffer is reported."""
    events = synthetic(1, 4)
    sink = await started_sink(crashable.bootstrap, buffer_size=3, close_timeout=0.5)
    await sink.write(events[0])
    await wait_until(lambda: sink.stats.acked == 1, what="warm-up acked")
    crashable.kill()
    for event in events[1:]:
        await sink.write(event)
    blocked = asyncio.create_task(sink.write(events[0]))
    await wait_until(lambda: sink.stats.blocked == 1, what="the write to block")
    await sink.close()
    with pytest.raises(SinkClosed):
        await blocked
    assert sink.undelivered == events[1:]
    assert (sink.stats.failed, sink.stats.buffered) == (3, 0)
    assert_balanced(sink.stats)


async def test_overflow_drop_oldest(crashable: Crashable) -> None:
    """``drop_oldest``: the oldest events not yet on the wire are dropped and counted; the rest arrive in order."""
    trades = [e for e in synthetic(1, 100) if isinstance(e, Trade) and e.symbol == "ETH/USDT"][:16]
    warm, first, rest = trades[0], trades[1], trades[2:]
    sink = await started_sink(crashable.bootstrap, buffer_size=10, overflow="drop_oldest", request_timeout=30.0)
    await sink.write(warm)
    await wait_until(lambda: sink.stats.acked == 1, what="warm-up acked")
    crashable.kill()
    await sink.write(first)
    await wait_until(lambda: sink.stats.in_flight == 1, what="the first event on the wire")
    for event in rest:  # 14 more: the buffer holds 10, so the 5 oldest queued ones go
        await sink.write(event)
    assert (sink.stats.dropped, sink.stats.buffered, sink.stats.blocked) == (5, 10, 0)

    crashable.restart()
    await sink.close()
    assert (sink.stats.acked, sink.stats.dropped, sink.stats.failed) == (11, 5, 0)
    assert_balanced(sink.stats)
    assert decoded(await read_log(crashable.bootstrap)) == [first, *rest[5:]]


async def test_overflow_fail(crashable: Crashable) -> None:
    """``fail``: a write beyond the bound raises BufferOverflow and is counted; accepted events still arrive."""
    events = synthetic(1, 12)
    sink = await started_sink(crashable.bootstrap, buffer_size=10, overflow="fail")
    crashable.kill()
    for event in events[:10]:
        await sink.write(event)
    with pytest.raises(BufferOverflow):
        await sink.write(events[10])
    assert (sink.stats.rejected, sink.stats.accepted, sink.stats.buffered) == (1, 10, 10)

    crashable.restart()
    await sink.close()
    assert (sink.stats.acked, sink.stats.failed) == (10, 0)
    assert streams(decoded(await read_log(crashable.bootstrap))) == streams(events[:10])


async def test_close_timeout_reports_undelivered(crashable: Crashable) -> None:
    """With the broker gone for good, close() returns after its timeout and lists what was never acknowledged."""
    events = synthetic(0, 20)
    sink = await started_sink(crashable.bootstrap, close_timeout=1.0, request_timeout=30.0)
    await sink.write(events[0])
    await wait_until(lambda: sink.stats.acked == 1, what="warm-up acked")
    crashable.kill()
    for event in events[1:]:
        await sink.write(event)
    started = time.monotonic()
    await sink.close()
    assert time.monotonic() - started < 5.0
    assert sink.undelivered == events[1:]
    assert (sink.stats.acked, sink.stats.failed, sink.stats.buffered, sink.stats.in_flight) == (1, 19, 0, 0)
    assert_balanced(sink.stats)
    with pytest.raises(SinkClosed):
        await sink.write(events[0])


async def test_embedded_broker_owned_by_the_sink() -> None:
    """``--kafka embedded`` gives a sink that starts a local broker (no idempotence) and stops it on close()."""
    import argparse

    from collector.cli.kafka import add_kafka_arguments, sink_from_args

    parser = argparse.ArgumentParser()
    add_kafka_arguments(parser)
    try:
        sink = sink_from_args(parser.parse_args(["--kafka", "embedded"]))
    except UsageError:
        pytest.skip("tansu is not installed")
    assert sink is not None
    assert sink.settings.enable_idempotence is False
    events = synthetic(0, 10)
    await sink.start()
    for event in events:
        await sink.write(event)
    await wait_until(lambda: sink.stats.acked == 10, what="events acked")
    assert streams(decoded(await read_log(sink.bootstrap))) == streams(events)
    await sink.close()
    host, port = sink.bootstrap.split(":")
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=1).close()
