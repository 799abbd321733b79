"""Where an adapter's output goes while a :class:`~collector.client.Collector` runs.

:class:`Handler` takes what an adapter produced for one frame or REST answer: events into
the pipeline, actions to their connection or to :class:`RestWork`, which runs the REST
requests adapters ask for (book snapshots, polls' follow-ups): one in flight per exchange
and URL, and those a dropped connection was waiting for cancelled while still unsent.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .actions import RestRequest
from .exchanges import Adapter, Output
from .models import Disconnected, EventBase
from .pipeline import Pipeline
from .stats import Stats

__all__ = ["Fetch", "Handle", "Handler", "RestWork", "Spawn"]

Fetch = Callable[[RestRequest, "Callable[[], None] | None"], Awaitable[tuple[int, bytes]]]
"""``fetch(request, on_send)``: the status and body of one REST request (``on_send`` runs once it is on the wire)."""
Handle = Callable[[Output], Awaitable[None]]
"""Takes an adapter's output (a :class:`Handler`)."""
Spawn = Callable[[Awaitable[Any], str], "asyncio.Task[Any]"]
"""``spawn(coroutine, name)``: a task the collector tracks (and cancels when it stops)."""


class RestWork:
    """The REST requests adapters ask for while running.

    A request for a URL already in flight for the same exchange is coalesced into it
    (``stats["rest_coalesced"]``): a burst of resyncs asks for each snapshot once. Requests
    serving a connection (its books' snapshots) are cancelled by :meth:`abandon` when it
    drops, unless already sent (``stats["rest_abandoned"]``).
    """

    def __init__(self, fetch: Fetch, spawn: Spawn, stats: Stats) -> None:
        self._fetch = fetch
        self._spawn = spawn
        self._stats = stats
        self._inflight: dict[tuple[str, str], asyncio.Task[Any]] = {}  # (exchange, url) -> its task
        self._pending: dict[str, set[asyncio.Task[Any]]] = {}  # connection -> unsent tasks serving it

    def request(self, adapter: Adapter, request: RestRequest, handle: Handle) -> None:
        """Run ``request`` for ``adapter`` and hand the answer to ``handle``, unless the same one is in flight."""
        key = (adapter.id, request.url)
        if key in self._inflight:
            self._stats["rest_coalesced"] += 1
            return
        conn = request.conn or (adapter.book_conn(request.symbol) if request.symbol is not None else None)
        serving = self._pending.setdefault(conn, set()) if conn is not None else set()

        def sent() -> None:
            # On the wire, its weight spent: let it finish, its answer may still join the next book.
            serving.discard(task)

        task = self._spawn(self._roundtrip(adapter, request, handle, sent), f"rest:{request.url}")
        self._inflight[key] = task
        task.add_done_callback(lambda _: self._inflight.pop(key, None))
        serving.add(task)
        task.add_done_callback(serving.discard)

    async def _roundtrip(
        self, adapter: Adapter, request: RestRequest, handle: Handle, on_send: Callable[[], None]
    ) -> None:
        status, body = await self._fetch(request, on_send)
        await handle(adapter.answer(request, status, body, time.time()))

    def abandon(self, conn: str) -> None:
        """Cancel the requests for connection ``conn`` that have not left yet (it dropped; its books
        start over). Requests already sent finish: their weight is spent and a snapshot taken after
        the reconnect still joins the new connection's deltas."""
        for task in list(self._pending.pop(conn, ())):
            task.cancel()
            self._stats["rest_abandoned"] += 1


class Handler:
    """Takes what one adapter produced: events into the pipeline, actions to ``route``.

    ``await handle(out)`` always works; :meth:`now` delivers a frame's output without a
    coroutine when the pipeline can take it synchronously (the live path's common case).
    A ``disconnected`` event first abandons the REST work of its connection.
    """

    __slots__ = ("_abandon", "_adapter", "_pipeline", "_route", "_stats")

    def __init__(
        self,
        adapter: Adapter,
        pipeline: Pipeline,
        stats: Stats,
        route: Callable[[Adapter, Any, Handler], None],
        abandon: Callable[[str], None],
    ) -> None:
        self._adapter = adapter
        self._pipeline = pipeline
        self._stats = stats
        self._route = route
        self._abandon = abandon

    async def __call__(self, out: Output) -> None:
        emit = self._pipeline.emit
        for item in out:
            if isinstance(item, EventBase):
                self._stats["events"] += 1
                if type(item) is Disconnected:
                    self._abandon(item.conn)
                await emit(item)
            else:
                self._route(self._adapter, item, self)

    def ready(self) -> bool:
        """Whether :meth:`now` would take a frame's output (room for the largest one a frame makes)."""
        return self._pipeline.ready_now(0)

    def now(self, out: Output) -> bool:
        """Handle ``out`` without awaiting if nothing on the way must wait; ``False`` (nothing done) otherwise."""
        if not self._pipeline.ready_now(len(out)):
            return False
        self.deliver_now(out)
        return True

    def deliver_now(self, out: Output) -> None:
        """Handle ``out`` without awaiting, after :meth:`ready` said yes (a frame's output fits the
        room it keeps; a larger one grows the queue past its bound rather than losing events)."""
        pipeline = self._pipeline
        # Without processors an event goes straight to the callbacks and the queue: one call
        # less per event on the hottest path there is.
        emit_now = pipeline.emit_now if pipeline.processors else pipeline.deliver_now
        events = 0
        for item in out:
            if isinstance(item, EventBase):
                events += 1
                if type(item) is Disconnected:
                    self._abandon(item.conn)
                emit_now(item)
            else:
                self._route(self._adapter, item, self)
        self._stats["events"] += events
