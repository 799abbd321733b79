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


_DERIVED_ROOM = 256  # queue room kept for events processors derive from one frame's events
_TASKS: set[asyncio.Future[Any]] = set()  # callbacks' awaitables scheduled by emit_now, until done


def _keep(task: asyncio.Future[Any]) -> None:
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


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

    def free(self) -> int:
        """Room left before :meth:`put` would apply the overflow policy."""
        return self.maxsize - len(self._items)

    def offer(self, event: Event) -> bool:
        """Add ``event`` if there is room (no waiting); ``False`` when the caller must ``await put()``."""
        items = self._items
        if len(items) >= self.maxsize and not self._closed:
            return False
        items.append(event)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)
        return True

    def force(self, event: Event) -> None:
        """Add ``event`` even past the bound (see :meth:`Pipeline.emit_now`)."""
        self._items.append(event)
        getter = self._getter
        if getter is not None and not getter.done():
            getter.set_result(None)

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

    def poll(self) -> Event | None:
        """The next event if one is queued, else ``None`` (no waiting: a reader calls this first
        and awaits :meth:`get` only when the queue is empty, which saves a coroutine per event)."""
        items = self._items
        if not items:
            return None
        event = items.popleft()
        if not self._room.is_set():
            self._room.set()
        return event

    def drain(self) -> list[Event]:
        """Every queued event, oldest first (an empty list when none is queued; no waiting)."""
        items = self._items
        if not items:
            return []
        taken = list(items)
        items.clear()
        if not self._room.is_set():
            self._room.set()
        return taken

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
        event = self.poll()
        assert event is not None  # the loop above waited for one
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
        self._async_callbacks = 0  # coroutine functions among the callbacks

    def add_callback(self, types: tuple[type[Any], ...], callback: Callback) -> None:
        """Call ``callback`` for events of ``types`` (all when empty); coroutine functions are awaited."""
        self.callbacks.append((types, callback))
        call = getattr(callback, "__call__", None)  # noqa: B004 - an object's async __call__ counts too
        if inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(call):
            self._async_callbacks += 1

    def ready_now(self, count: int) -> bool:
        """Whether :meth:`emit_now` may deliver ``count`` events: nothing on the way needs awaiting
        (no sinks, no coroutine callbacks) and the queue has room for them and what processors derive."""
        if self.sinks or self._async_callbacks:
            return False
        queue = self.queue
        return queue is None or queue.free() >= count + _DERIVED_ROOM

    def emit_now(self, event: Event) -> None:
        """:meth:`emit` without awaiting; only after :meth:`ready_now` said yes.

        The live path takes this for every frame it can (a coroutine per event costs more
        than most callbacks); a plain function that returns an awaitable anyway has it
        scheduled as a task (counted as ``scheduled_callbacks``).
        """
        self.deliver_now(event)
        if self.processors:
            for processor in self.processors:
                for derived in processor(event):
                    self.deliver_now(derived)

    def deliver_now(self, event: Event) -> None:
        """Hand one event to the callbacks and the queue without awaiting (no processors); only
        after :meth:`ready_now` said yes."""
        for types, callback in self.callbacks:
            if types and not isinstance(event, types):
                continue
            try:
                result = callback(event)
                if result is not None and inspect.isawaitable(result):
                    self.stats["scheduled_callbacks"] += 1
                    _keep(asyncio.ensure_future(result))
            except Exception as exc:
                self.stats["callback_errors"] += 1
                name = getattr(callback, "__qualname__", type(callback).__qualname__)
                log.error("callback failed", callback=name, error=repr(exc))
        queue = self.queue
        if queue is not None and not queue.offer(event):
            # More derived events than the room reserved for them: the queue grows past its bound
            # by a few rather than losing one (ready_now keeps _DERIVED_ROOM free).
            queue.force(event)

    async def emit(self, event: Event) -> None:
        """Deliver ``event`` and every event a processor derives from it, in order."""
        await self.deliver(event)
        if self.processors:
            for processor in self.processors:
                for derived in processor(event):
                    await self.deliver(derived)

    async def emit_all(self, events: list[Any]) -> None:
        """:meth:`emit` each of ``events`` in order (one await for a whole frame's events)."""
        for event in events:
            await self.deliver(event)
            if self.processors:
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
                # Most callbacks are plain functions returning None: test that before isawaitable.
                if result is not None and inspect.isawaitable(result):
                    await result
            except Exception as exc:
                self.stats["callback_errors"] += 1
                name = getattr(callback, "__qualname__", type(callback).__qualname__)
                log.error("callback failed", callback=name, error=repr(exc))
        if self.sinks:
            for sink in self.sinks:
                await sink.write(event)
        queue = self.queue
        if queue is not None and not queue.offer(event):
            await queue.put(event)

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
