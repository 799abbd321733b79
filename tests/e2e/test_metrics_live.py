"""The Prometheus endpoint scraped by a real HTTP client during a live simulator run."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from collector import Collector
from collector.metrics import Metrics
from collector.models import Event
from collector.simulator import Fault, Simulator
from tests.e2e.helpers import synced, wait_for
from tests.e2e.test_cli_live import run_cli


async def scrape(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain")
        text = await resp.text()
    samples: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return samples


async def test_metrics_match_the_events_delivered_and_health_follows_the_books() -> None:
    markets = {"binance": ["BTC/USDT", "ETH/USDT"]}
    async with Simulator(markets, seed=6, tick_interval=0.02) as sim:
        c = Collector(endpoints={"binance": sim.endpoints("binance")}, queue_size=0)
        c.subscribe("binance", markets["binance"], ["trades", "book"])
        metrics = Metrics(c)
        seen: Counter[str] = Counter()

        def count(event: Event) -> None:
            seen[event.type] += 1

        c.on(count)
        server = await metrics.serve("127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.port}"
        try:
            async with aiohttp.ClientSession() as http, http.get(base + "/health") as resp:
                assert resp.status == 503  # nothing synced before the start
            await c.start()
            await wait_for(lambda: synced(c, markets) and seen["trade"] > 20, timeout=15)
            async with aiohttp.ClientSession() as http, http.get(base + "/health") as resp:
                assert resp.status == 200
                health: dict[str, Any] = await resp.json()
            assert health["healthy"] and set(health["books"]) == {"binance:BTC/USDT", "binance:ETH/USDT"}
            sim.inject("binance", Fault.GAP, symbol="BTC/USDT")
            await wait_for(lambda: seen["resync"] >= 1, timeout=10)
            # Frames are delivered while any coroutine awaits, the scrape's too: stall the feed
            # (pongs still flow), let what is in flight arrive, then the counters must equal
            # what the callback saw.
            sim.inject("binance", Fault.STALL, seconds=10)
            await asyncio.sleep(0.5)
            samples = await scrape(base + "/metrics")
            events = samples["collector_events_total"]
            for kind in ("trade", "book", "resync", "connected"):
                assert events[(("exchange", "binance"), ("type", kind))] == seen[kind], kind
            assert samples["collector_resyncs_total"][(("exchange", "binance"), ("reason", "gap"))] == seen["resync"]
            (frames,) = samples["collector_frames_total"].values()
            assert frames >= seen["trade"] / 10  # several trades per frame at most
            assert samples["collector_connection_up"] == {(("conn", "binance.0"), ("exchange", "binance")): 1.0}
            ages = samples["collector_book_age_seconds"]
            assert set(ages) == {(("exchange", "binance"), ("symbol", s)) for s in markets["binance"]}
            hist = samples["collector_delivery_latency_seconds_count"][(("exchange", "binance"),)]
            assert hist == seen["trade"] + seen["book"]
            assert samples["collector_rest_weight_used"][(("exchange", "binance"),)] > 0
        finally:
            await c.stop()
            await server.stop()


async def test_cli_metrics_address_mistake_is_one_line() -> None:
    code, _, err = await run_cli("run", "binance:BTC/USDT", "--metrics", "nohost")
    assert code == 2 and "expected HOST:PORT" in err.decode() and "Traceback" not in err.decode()
