"""The one event pipeline: processors, then callbacks, then sinks, then the iterator's queue.

:class:`~collector.client.Collector` and ``collector replay`` both deliver through a
:class:`Pipeline`, so an event reaches a callback, a Kafka topic or a JSON-lines file the
same way whether it came from a live socket or a capture.

Every queue here has a bound and a stated overflow policy (:class:`EventQueue`); status
events (``connected``, ``disconnected``, ``resync``, ``error``, ``outage``) are never
dropped by it, so a consumer can see every data-quality gap.
"""

from __future__ import annotations

import asyncio
import inspect
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from .errors import UsageError
from .log import get_logger
from .models import Event, StatusEvent
from .sinks import Sink
from .stats import Stats

__all__ = ["Callback", "EventQueue", "Overflow", "Pipeline", "Processor"]

log = get_logger("collector.pipeline")

Callback = Callable[[Event], Awaitable[None] | None]
"""A function (or coroutine function) called with each matching event."""

Processor = Callable[[Event], list[Event]]
"""A pure step that may derive new events from each event (e.g. candles and indicators from trades)."""

Overflow = Literal["block", "drop_oldest"]


class _End:
    """The marker :meth:`EventQueue.get` returns once the queue is closed and empty."""


END = _End()


class EventQueue:
    """A bounded FIFO between the pipeline and one reader.

    When full, :meth:`put` either waits for room (``block``: backpressure reaches the
    sockets, nothing is lost) or drops the oldest *market* event (``drop_oldest``,
    counted in ``dropped``); status events are never dropped — if nothing else is left
    to drop, ``put`` waits.
    """

    def __init__(self, maxsize: int, overflow: Overflow = "block") -> None:
        if maxsize < 1:
            raise UsageError("the queue needs room for at least one event")
        if overflow not in ("block", "drop_oldest"):
            raise UsageError(f"overflow must be 'block' or 'drop_oldest', not {overflow!r}")
        self.maxsize = maxsize
        self.overflow = overflow
        self.dropped = 0
        self._items: deque[Event] = deque()
        self._getter: asyncio.Future[None] | None = None
        self._room = asyncio.Event()
        self._room.set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    async def put(self, event: Event) -> None:
        """Add ``event``, applying the overflow policy when the queue is full."""
        items = self._items
        while len(items) >= self.maxsize and not self._closed:
            if self.overflow == "drop_oldest" and self._drop_oldest():
                break
            self._room.clear()
            await self._room.wait()
        items.append(event)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

    def _drop_oldest(self) -> bool:
        items = self._items
        for i, item in enumerate(items):
            if not isinstance(item, StatusEvent):
                del items[i]
                self.dropped += 1
                return True
        return False

    async def get(self) -> Event | _End:
        """The next event, or :data:`END` once the queue is closed and drained."""
        items = self._items
        while not items:
            if self._closed:
                return END
            self._getter = asyncio.get_running_loop().create_future()
            try:
                await self._getter
            finally:
                self._getter = None
        event = items.popleft()
        if not self._room.is_set():
            self._room.set()
        return event

    def close(self) -> None:
        """No more events: readers get :data:`END` after the ones queued; blocked writers go on."""
        self._closed = True
        self._room.set()
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)


class Pipeline:
    """Processors → callbacks → sinks → queue, for every event (see the module docstring).

    A callback that raises is logged and counted (``callback_errors``), never propagated:
    one faulty consumer does not stop the others.
    """

    def __init__(self, queue: EventQueue | None = None) -> None:
        self.queue = queue
        self.stats = Stats()
        self.processors: list[Processor] = []
        self.callbacks: list[tuple[tuple[type[Any], ...], Callback]] = []
        self.sinks: list[Sink] = []

    async def emit(self, event: Event) -> None:
        """Deliver ``event`` and every event a processor derives from it, in order."""
        await self.deliver(event)
        for processor in self.processors:
            for derived in processor(event):
                await self.deliver(derived)

    async def deliver(self, event: Event) -> None:
        """Hand one event to the callbacks, the sinks and the queue (no processors)."""
        for types, callback in self.callbacks:
            if types and not isinstance(event, types):
                continue
            try:
                result = callback(event)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.stats["callback_errors"] += 1
                name = getattr(callback, "__qualname__", type(callback).__qualname__)
                log.error("callback failed", callback=name, error=repr(exc))
        for sink in self.sinks:
            await sink.write(event)
        if self.queue is not None:
            await self.queue.put(event)

    async def start(self) -> None:
        """Start every sink."""
        for sink in self.sinks:
            await sink.start()

    async def close(self) -> None:
        """Close (flush) every sink, then the queue; a sink that fails to close is logged."""
        for sink in self.sinks:
            try:
                await sink.close()
            except Exception as exc:
                log.error("sink close failed", sink=type(sink).__name__, error=repr(exc))
        if self.queue is not None:
            self.queue.close()
