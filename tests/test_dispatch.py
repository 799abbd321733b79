"""collector.dispatch.RestWork: one request in flight per exchange and URL, and a dropped
connection's unsent requests cancelled. The network is the one stand-in here: a fetch that
answers when the test lets it, so what is in flight at each moment is known."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from collector.actions import RestRequest
from collector.dispatch import RestWork
from collector.exchanges import Output, create
from collector.stats import Stats


class Network:
    """Holds every fetch until released; ``on_send`` runs when a request is let onto the wire."""

    def __init__(self) -> None:
        self.fetched: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}
        self.wire: dict[str, asyncio.Event] = {}

    async def fetch(self, request: RestRequest, on_send: Callable[[], None] | None) -> tuple[int, bytes]:
        self.fetched.append(request.url)
        await self.wire.setdefault(request.url, asyncio.Event()).wait()
        if on_send is not None:
            on_send()
        await self.gates.setdefault(request.url, asyncio.Event()).wait()
        return 503, b"unavailable"

    def send(self, url: str) -> None:
        self.wire.setdefault(url, asyncio.Event()).set()

    def answer(self, url: str) -> None:
        self.send(url)
        self.gates.setdefault(url, asyncio.Event()).set()


def spawner(tasks: list[asyncio.Task[Any]]) -> Callable[[Awaitable[Any], str], asyncio.Task[Any]]:
    def spawn(coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        tasks.append(task)
        return task

    return spawn


class Rig:
    """A RestWork on the held network, for a Binance adapter; ``answers`` collects what ``handle`` is given."""

    def __init__(self) -> None:
        self.net, self.stats = Network(), Stats()
        self.tasks: list[asyncio.Task[Any]] = []
        self.answers: list[Output] = []
        self.work = RestWork(self.net.fetch, spawner(self.tasks), self.stats)
        self.adapter = create("binance")

    async def handle(self, out: Output) -> None:
        self.answers.append(out)


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_request_in_flight_is_asked_for_once() -> None:
    rig = Rig()
    request = RestRequest("https://api.binance.com/api/v3/depth?symbol=BTCUSDT&limit=1000", "snapshot", 250)
    rig.work.request(rig.adapter, request, rig.handle)
    rig.work.request(rig.adapter, request, rig.handle)  # the same URL while the first is in flight
    await settle()
    assert rig.net.fetched == [request.url] and rig.stats["rest_coalesced"] == 1
    rig.net.answer(request.url)
    await asyncio.gather(*rig.tasks)
    assert len(rig.answers) == 1  # the one answer reached the adapter (a 503 it reports)
    rig.work.request(rig.adapter, request, rig.handle)  # done: asking again fetches again
    await settle()
    assert rig.net.fetched == [request.url, request.url]
    await asyncio.gather(*rig.tasks)


async def test_a_dropped_connections_unsent_requests_are_cancelled_and_sent_ones_finish() -> None:
    rig = Rig()
    waiting = RestRequest("https://api.binance.com/api/v3/depth?symbol=ETHUSDT", "snapshot", conn="c1")
    sent = RestRequest("https://api.binance.com/api/v3/depth?symbol=BTCUSDT", "snapshot", conn="c1")
    other = RestRequest("https://api.binance.com/api/v3/depth?symbol=SOLUSDT", "snapshot", conn="c2")
    for request in (waiting, sent, other):
        rig.work.request(rig.adapter, request, rig.handle)
    rig.net.send(sent.url)  # on the wire: its weight is spent, its answer may still join a book
    await settle()
    rig.work.abandon("c1")
    assert rig.stats["rest_abandoned"] == 1
    rig.net.answer(sent.url)
    rig.net.answer(other.url)
    results = await asyncio.gather(*rig.tasks, return_exceptions=True)
    assert [isinstance(r, asyncio.CancelledError) for r in results] == [True, False, False]
    assert len(rig.answers) == 2  # the sent one and the other connection's
    rig.work.request(rig.adapter, waiting, rig.handle)  # a cancelled request is not "in flight" any more
    await settle()
    assert rig.net.fetched.count(waiting.url) == 2
    rig.net.answer(waiting.url)
    await asyncio.gather(*rig.tasks[3:])
