"""The live path against exchanges that misbehave: flapping, rate limits, refusals, slow readers.

Every test runs real websocket and HTTP servers on loopback (the simulator, or a hostile
server of the test's own) and the real Collector.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from collector import Collector, ConnectionFailed, Outage, Resync
from collector.actions import RestRequest
from collector.exchanges import Endpoints
from collector.models import Connected, Disconnected, Error, Trade
from collector.pipeline import END, EventQueue
from collector.rest import RestClient
from collector.simulator import Fault, Simulator
from tests.e2e import helpers
from tests.e2e.helpers import FAST, Recorder, quick_delays, start_collector, wait_for

SYMBOLS = [f"C{i:02d}/USDT:USDT" for i in range(40)]


async def test_forty_books_converge_within_seconds_after_flapping_stops() -> None:
    """ABRUPT_CLOSE again and again on 40 books with a slow REST API: snapshot requests of dead
    connections that were not sent yet are abandoned (they would only burn the weight budget and
    queue behind each other), one request per symbol at a time, and once the flapping stops every
    book is synced within a few seconds, within the exchange's weight budget."""
    markets = {"binance_usdm": SYMBOLS}
    async with Simulator(markets, seed=4, tick_interval=0.05, rest_delay=0.3) as sim:
        c = Collector(
            endpoints={"binance_usdm": sim.endpoints("binance_usdm")},
            queue_size=0,
            delays=quick_delays,
            stable_after=5.0,
            plan_overrides={"idle_timeout": 30.0, "ping_interval": 1.0, "ping_timeout": 2.0},
        )
        c.subscribe("binance_usdm", SYMBOLS, ["book"])
        rec = Recorder()
        c.on(rec)
        most_pending = 0

        async def watch() -> None:
            nonlocal most_pending
            while True:
                most_pending = max(most_pending, len(c._inflight))
                await asyncio.sleep(0.01)

        watcher = asyncio.create_task(watch())
        await c.start()
        try:
            for _ in range(3):
                await asyncio.sleep(1.0)
                sim.inject("binance_usdm", Fault.ABRUPT_CLOSE)
            stopped = time.monotonic()
            book_of = c.adapter("binance_usdm").books.book
            await wait_for(lambda: all((b := book_of(s)) is not None and b.synced for s in SYMBOLS), timeout=8)
            recovery = time.monotonic() - stopped
        finally:
            watcher.cancel()
            await c.stop()
    assert recovery < 5.0, f"books took {recovery:.1f}s to converge"
    assert most_pending <= len(SYMBOLS)  # one request per symbol, never a backlog
    assert c.stats["rest_abandoned"] > 0  # the dead connections' requests were dropped, not run
    assert c._rest.stats["requests"] < 4 * len(SYMBOLS)  # far fewer than one per book per connection
    assert len(rec.of(Disconnected)) >= 3


@pytest.fixture
async def hostile_http() -> AsyncIterator[tuple[str, list[float]]]:
    """A REST endpoint that answers 429 with ``Retry-After: 86400`` once, then 200."""
    calls: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return web.Response(status=429, headers={"Retry-After": "86400"}, text="slow down")
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/x", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/x", calls
    await runner.cleanup()


@pytest.mark.parametrize("retry_after", ["86400", "inf", "nan", "-5", "Wed, 21 Oct 2099 07:28:00 GMT", "soon"])
async def test_retry_after_is_capped_and_reported(retry_after: str) -> None:
    """However long (or absurd) the server's Retry-After, the pause is at most max_pause and reported."""
    calls: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return web.Response(status=429, headers={"Retry-After": retry_after})
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/x", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    reports: list[tuple[str, str, str, float | None]] = []
    try:
        async with RestClient(max_pause=0.5, on_outage=lambda *r: reports.append(r)) as rest:
            status, _, _ = await rest.fetch(RestRequest(f"http://127.0.0.1:{port}/x", "snapshot"))
    finally:
        await runner.cleanup()
    assert status == 200
    assert len(calls) == 2
    assert calls[1] - calls[0] <= 1.5
    ((kind, host, _, retry_in),) = reports
    assert (kind, host) == ("rate_limited", f"127.0.0.1:{port}")
    assert retry_in is not None and 0.0 <= retry_in <= 0.5


async def test_stop_is_prompt_while_a_host_is_paused_and_a_socket_backs_off(
    hostile_http: tuple[str, list[float]],
) -> None:
    """stop() returns in under a second whatever is sleeping: a capped-but-long rate-limit pause,
    a reconnect backoff."""
    url, _ = hostile_http
    c = Collector(rest=RestClient(max_pause=60.0), queue_size=0)
    rec = Recorder()
    c.on(rec)
    # A REST call stuck behind a 60 s pause, and a connection that cannot connect.
    c._rest.on_outage = c._rest_outage
    task = asyncio.create_task(c._rest.fetch(RestRequest(url, "snapshot")))
    c._tasks.add(task)
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await c.stop()
    assert time.monotonic() - started < 1.0
    assert task.cancelled() or task.done()


async def _refusing_server(status: int) -> tuple[web.AppRunner, str, list[float]]:
    attempts: list[float] = []

    async def handle(request: web.Request) -> web.Response:
        attempts.append(time.monotonic())
        if request.path.endswith("exchangeInfo"):
            return web.json_response({"symbols": [], "rateLimits": []})
        return web.Response(status=status, text="no such endpoint")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"127.0.0.1:{port}", attempts


@pytest.mark.parametrize("status", [404, 403, 401, 400])
async def test_a_4xx_handshake_is_fatal_and_told_to_the_user(status: int) -> None:
    """A 4xx answer to the upgrade is not retried: an outage event says why and run() raises ConnectionFailed."""
    async with Simulator({"binance": ["BTC/USDT"]}, seed=1) as sim:
        runner, host, attempts = await _refusing_server(status)
        try:
            endpoints = Endpoints(ws=f"ws://{host}/nope", rest=sim.endpoints("binance").rest)
            c = Collector(endpoints={"binance": endpoints}, queue_size=0, delays=quick_delays)
            c.subscribe("binance", "BTC/USDT", ["trades"])
            rec = Recorder()
            c.on(rec)
            started = time.monotonic()
            with pytest.raises(ConnectionFailed, match=f"HTTP {status}"):
                await asyncio.wait_for(c.run(30), 10)
            assert time.monotonic() - started < 5
        finally:
            await runner.cleanup()
    assert len(attempts) == 1  # asked once, not 35 times in 2 seconds
    (fatal,) = [o for o in rec.of(Outage) if o.kind == "fatal"]
    assert f"HTTP {status}" in fatal.detail and fatal.source == "binance.0"


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/not-ws", "ftp://example.invalid/x"])
async def test_a_bad_address_is_fatal(url: str) -> None:
    """A URL that is no websocket address ends the connection with a clear error instead of retrying."""
    async with Simulator({"binance": ["BTC/USDT"]}, seed=1) as sim:
        c = Collector(endpoints={"binance": Endpoints(ws=url, rest=sim.endpoints("binance").rest)}, queue_size=0)
        c.subscribe("binance", "BTC/USDT", ["trades"])
        rec = Recorder()
        c.on(rec)
        with pytest.raises(ConnectionFailed, match="not a websocket address"):
            await asyncio.wait_for(c.run(30), 10)
    assert [o.kind for o in rec.of(Outage)] == ["fatal"]


async def test_connect_failures_and_server_errors_are_retried_and_reported() -> None:
    """A refused TCP connection and a 503 upgrade answer are retried with backoff, each attempt an outage event."""
    runner, host, attempts = await _refusing_server(503)
    try:
        async with Simulator({"binance": ["BTC/USDT"]}, seed=1) as sim:
            c = Collector(
                endpoints={"binance": Endpoints(ws=f"ws://{host}/stream", rest=sim.endpoints("binance").rest)},
                queue_size=0,
                delays=quick_delays,
            )
            c.subscribe("binance", "BTC/USDT", ["trades"])
            rec = Recorder()
            c.on(rec)
            await c.start()
            try:
                await wait_for(lambda: len(rec.of(Outage)) >= 3, timeout=5)
            finally:
                await c.stop()
    finally:
        await runner.cleanup()
    outages = rec.of(Outage)
    assert {o.kind for o in outages} == {"connect_failed"}
    assert all(o.retry_in is not None and o.retry_in >= 0 for o in outages)
    assert "HTTP 503" in outages[0].detail
    assert len(attempts) >= 3  # repeated upgrades, each refused with 503


async def test_status_events_are_never_dropped_by_the_queue() -> None:
    """drop_oldest drops market events only; a queue full of status events makes the writer wait."""
    queue = EventQueue(3, "drop_oldest")
    trade = Trade("x", "A/B", 1.0, 1.0, 1.0, 1.0, "buy", "1")
    resync = Resync("x", "A/B", None, 1.0, "gap", "")
    for event in (resync, trade, trade, Resync("x", "A/B", None, 2.0, "stale", "")):
        await queue.put(event)
    assert queue.dropped == 1
    items = [await queue.get() for _ in range(3)]
    assert [type(e).__name__ for e in items] == ["Resync", "Trade", "Resync"]
    for event in (resync, resync, resync):
        await queue.put(event)
    blocked = asyncio.create_task(queue.put(resync))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # nothing droppable: the writer waits rather than lose a status event
    assert await queue.get() is resync
    await asyncio.wait_for(blocked, 1)
    queue.close()
    assert [await queue.get() for _ in range(3)] == [resync, resync, resync]
    assert await queue.get() is END


async def test_a_slow_reader_with_drop_oldest_loses_market_events_but_no_status() -> None:
    """A reader that never keeps up sees every connected/resync event and a bounded queue."""
    async with Simulator({"binance": ["BTC/USDT"]}, seed=2, tick_interval=0.01) as sim:
        c = Collector(
            endpoints={"binance": sim.endpoints("binance")}, queue_size=50, overflow="drop_oldest", delays=quick_delays
        )
        c.subscribe("binance", "BTC/USDT")
        seen: list[object] = []
        async with c:
            async for event in c:
                seen.append(event)
                if len(seen) == 5:
                    sim.inject("binance", Fault.ABRUPT_CLOSE)
                await asyncio.sleep(0.02)  # a slow reader
                if any(isinstance(e, Connected) for e in seen[1:]) and len(seen) > 40:
                    break
        assert c.dropped > 0
    kinds = [type(e).__name__ for e in seen]
    assert kinds.count("Connected") >= 2
    assert "Disconnected" in kinds
    assert not any(isinstance(e, Error) for e in seen)


async def test_connections_open_no_faster_than_the_exchange_allows() -> None:
    """OKX accepts 3 new connections per second per IP: 90 books need 4 connections (fewer than 30
    books each), and the fourth opens a second after the first, also when all of them reconnect."""
    symbols = [f"C{i:02d}/USDT" for i in range(90)]
    markets = {"okx": symbols}
    async with Simulator(markets, seed=5, tick_interval=0.1) as sim:
        c = Collector(endpoints={"okx": sim.endpoints("okx")}, queue_size=0, delays=quick_delays, stable_after=0.5)
        c.subscribe("okx", symbols, ["book"])
        rec = Recorder()
        c.on(rec)
        await c.start()
        try:
            await wait_for(lambda: len(rec.of(Connected, "okx")) == 4, timeout=10)
            sim.inject("okx", Fault.ABRUPT_CLOSE)
            await wait_for(lambda: len(rec.of(Connected, "okx")) == 8, timeout=10)
        finally:
            await c.stop()
    opened = sorted(e.received for e in rec.of(Connected, "okx"))
    assert len({e.conn for e in rec.of(Connected, "okx")}) == 4
    for i in range(3, len(opened)):
        # Attempts are paced exactly (tests/test_backoff.py checks the pacer on its own clock);
        # these are the times the handshakes completed, and on a loaded machine the earlier one
        # can finish up to ~150 ms after its attempt (seen once in CI: 0.853 s). A 4th attempt
        # within the second would show as well under 0.8 s.
        assert opened[i] - opened[i - 3] >= 0.8, opened


async def test_a_blocked_event_loop_is_not_a_silent_feed() -> None:
    """The process blocked for 2.5 s (a heavy callback, a long GC) against limits of 1 s: the
    frames of that time wait unread, so no book goes ``stale`` and no connection is dropped as
    idle. A market that really stops for as long is still caught, by both checks."""
    markets = {"binance": ["BTC/USDT", "ETH/USDT"]}
    async with Simulator(markets, seed=8, tick_interval=0.05) as sim:
        c, rec = await start_collector(sim, markets, plan_overrides=FAST | {"idle_timeout": 1.0}, check_interval=0.1)
        try:
            await wait_for(lambda: helpers.synced(c, markets))
            c.adapter("binance").book_stale_after = 1.0  # type: ignore[misc]

            def judged() -> list[object]:
                stale = [e for e in rec.of(Resync, "binance") if e.reason == "stale"]
                return stale + [e for e in rec.events if isinstance(e, Disconnected)]

            time.sleep(2.5)  # noqa: ASYNC251 -- the point: block the loop, collector and simulator alike
            await asyncio.sleep(1.5)
            assert judged() == []
            assert c._stalls.total >= 2.0

            sim.pause()  # now the market is silent while the process runs
            await wait_for(lambda: len(judged()) >= 3, timeout=5.0)  # two stale books, one idle socket
            sim.resume()
            await wait_for(lambda: helpers.synced(c, markets))
        finally:
            await c.stop()
