"""REST client against a real local HTTP server: weight budget, 429 pauses, retries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from collector.actions import RestRequest
from collector.exchanges import RestPolicy
from collector.rest import RestClient


class Server:
    """Answers GET /x with a scripted status and used-weight header, and records request times."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str]]] = []
        self.times: list[float] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.times.append(time.time())
        status, headers = self.script.pop(0) if self.script else (200, {})
        return web.Response(status=status, body=b'{"ok":true}', headers=headers)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    srv = Server()
    app = web.Application()
    app.router.add_get("/x", srv.handle)
    app.router.add_get("/a/x", srv.handle)
    app.router.add_get("/b/x", srv.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    srv.url = f"http://127.0.0.1:{port}/x"
    yield srv
    await runner.cleanup()


async def test_used_weight_header_makes_the_next_request_wait_for_the_window(server: Server) -> None:
    """When the exchange says the budget is spent, the next request waits for the next window."""
    server.script = [(200, {"X-MBX-USED-WEIGHT-1M": "95"}), (200, {})]
    policy = RestPolicy(weight_limit=100, weight_header="x-mbx-used-weight-1m")
    async with RestClient(policy=policy, safety=1.0, window=1.0) as rest:
        assert (await rest.fetch(RestRequest(server.url, "snapshot", 10)))[0] == 200
        assert (await rest.fetch(RestRequest(server.url, "snapshot", 10)))[0] == 200
    assert rest.stats["waited"] == 1
    # Windows are calendar-aligned (1 s here, a minute on Binance): the second request is in the next one.
    assert int(server.times[1]) == int(server.times[0]) + 1


async def test_429_pauses_the_host_for_retry_after_then_retries(server: Server) -> None:
    """429 with Retry-After pauses every request to that host, then the request is retried."""
    server.script = [(429, {"Retry-After": "1"}), (200, {})]
    async with RestClient(window=60.0) as rest:
        status, body, _ = await rest.fetch(RestRequest(server.url, "snapshot", 1))
    assert (status, body) == (200, b'{"ok":true}')
    assert server.times[1] - server.times[0] >= 0.95
    assert (rest.stats["rate_limited"], rest.stats["retries"]) == (1, 1)


async def test_5xx_is_retried_4xx_is_returned(server: Server) -> None:
    """Server errors are retried with backoff; client errors go back to the adapter at once."""
    server.script = [(503, {}), (502, {}), (200, {})]
    async with RestClient() as rest:
        assert (await rest.fetch(RestRequest(server.url, "snapshot", 1)))[0] == 200
        assert rest.stats["retries"] == 2
        server.script = [(400, {})]
        assert (await rest.fetch(RestRequest(server.url, "snapshot", 1)))[0] == 400
    assert len(server.times) == 4


async def test_unreachable_host_fails_after_retries() -> None:
    """A refused connection is retried, then reported as status 0."""
    async with RestClient(retries=2) as rest:
        status, _, _ = await rest.fetch(RestRequest("http://127.0.0.1:9/x", "snapshot", 1))
    assert status == 0
    assert (rest.stats["failed"], rest.stats["retries"]) == (1, 2)


async def test_exchanges_served_from_one_host_have_their_own_budgets(server: Server) -> None:
    """Scopes are REST bases: a strict budget for one (``/a``) never throttles another (``/b``) on the host."""
    base = server.url.removesuffix("/x")
    async with RestClient(safety=1.0, window=60.0) as rest:
        rest.set_policy(f"{base}/a", RestPolicy(weight_limit=1))
        rest.set_policy(f"{base}/b", RestPolicy(weight_limit=1000))
        assert rest.scope_of(f"{base}/a/x?q=1") == f"{base}/a"
        assert rest.scope_of(f"{base}/ab/x") == base.removeprefix("http://")  # not under /a: the host's
        assert (await rest.fetch(RestRequest(f"{base}/a/x", "instruments", 1)))[0] == 200
        for _ in range(5):
            assert (await rest.fetch(RestRequest(f"{base}/b/x", "snapshot", 1)))[0] == 200
        assert rest.stats["waited"] == 0
        # /a's budget is spent: its next request waits for the next minute (cancelled here).
        waiting = asyncio.ensure_future(rest.fetch(RestRequest(f"{base}/a/x", "instruments", 1)))
        await asyncio.sleep(0.2)
        assert not waiting.done() and rest.stats["waited"] == 1
        waiting.cancel()
    assert len(server.times) == 6
