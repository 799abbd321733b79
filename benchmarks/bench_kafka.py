"""Kafka sink throughput and added latency, against a local tansu broker it starts itself.

    python benchmarks/bench_kafka.py [CAPTURE] [--events N] [--rate EVENTS_PER_S]

Phase 1 (throughput): the capture's events (replayed once, then cycled up to ``--events``)
are written as fast as the sink takes them; events/s counts from the first write until
``close()`` returns, i.e. until the broker acknowledged the last one.
Phase 2 (latency): the same events paced at ``--rate`` (a live-feed load rather than a
flood), reporting the sink's added latency from ``write()`` to acknowledgement, p50/p99.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import time
from pathlib import Path

from collector import replay
from collector.models import Event
from collector.sinks.kafka import EmbeddedBroker, KafkaSettings, KafkaSink

DEFAULT_CAPTURE = Path(__file__).resolve().parents[2] / "shared" / "recordings" / "binance.jsonl.zst"


def quantiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p99 and max of ``values`` in milliseconds."""
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000, max(values) * 1000


async def flood(bootstrap: str, events: list[Event]) -> None:
    """Write everything at once; print events/s (to acknowledgement) and the latency under a flood."""
    sink = KafkaSink(bootstrap, KafkaSettings(enable_idempotence=False))
    await sink.start()
    started = time.perf_counter()
    for event in events:
        await sink.write(event)
    written = time.perf_counter()
    await sink.close()
    done = time.perf_counter()
    p50, p99, worst = quantiles(sink.ack_latencies())
    print(
        f"throughput: {len(events)} events in {done - started:.2f} s = {len(events) / (done - started):,.0f} events/s "
        f"acknowledged (write() alone: {len(events) / (written - started):,.0f} events/s); "
        f"acked={sink.stats.acked} failed={sink.stats.failed}"
    )
    print(f"  enqueue-to-ack under a flood (queueing included): p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms")


async def paced(bootstrap: str, events: list[Event], rate: float) -> None:
    """Write at ``rate`` events/s in 1 ms ticks; print the enqueue-to-ack latency."""
    sink = KafkaSink(bootstrap, KafkaSettings(enable_idempotence=False))
    await sink.start()
    per_tick = max(1, round(rate / 1000))
    started = time.perf_counter()
    for i in range(0, len(events), per_tick):
        for event in events[i : i + per_tick]:
            await sink.write(event)
        delay = started + (i + per_tick) / rate - time.perf_counter()
        await asyncio.sleep(max(delay, 0))
    await sink.close()
    p50, p99, worst = quantiles(sink.ack_latencies())
    print(
        f"latency at {rate:,.0f} events/s ({len(events)} events, linger {sink.settings.linger * 1000:.0f} ms): "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {worst:.2f} ms; acked={sink.stats.acked}"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?", default=str(DEFAULT_CAPTURE))
    parser.add_argument("--events", type=int, default=200_000, help="events in the throughput run")
    parser.add_argument("--rate", type=float, default=10_000, help="events/s in the latency run")
    parser.add_argument("--latency-events", type=int, default=50_000)
    args = parser.parse_args()
    source = list(replay(args.capture))
    events = list(itertools.islice(itertools.cycle(source), args.events))
    print(f"capture {args.capture}: {len(source)} events, cycled to {len(events)}")
    with EmbeddedBroker() as broker:
        print(f"broker: {' '.join(broker.command())}")
        await flood(broker.bootstrap, events)
    with EmbeddedBroker() as broker:
        await paced(broker.bootstrap, events[: args.latency_events], args.rate)


if __name__ == "__main__":
    asyncio.run(main())
