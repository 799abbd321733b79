"""The embeddable entry point: :class:`Collector`.

::

    async with collector.Collector() as c:
        c.subscribe("binance", ["BTC/USDT", "ETH/USDT"], channels=["trades", "book"])
        await c.start()          # or let the first ``async for`` start it
        async for event in c:
            ...
            best = c.book("binance", "BTC/USDT").best_bid()

Callbacks are the alternative to iterating: ``c.on(callback, collector.Trade)``; pass
``queue_size=0`` when nothing iterates so events are not held for an absent reader.
The collector keeps no global state, installs no signal handlers and leaves the event
loop policy alone; :func:`collector.runner.run` is there for programs that want uvloop.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec

from .actions import RestRequest, SendFrame
from .book import OrderBook
from .capture import CaptureWriter
from .connection import Connection
from .errors import HttpError, UsageError
from .exchanges import CHANNELS, EXCHANGES, Adapter, Channel, Endpoints, Output, Subscription, create
from .indicators import IndicatorEngine
from .log import get_logger
from .models import Event, EventBase
from .rest import RestClient, backoff_delays
from .sinks import Sink
from .transport import Transport, WebsocketsTransport

__all__ = ["Callback", "Collector", "Processor"]

log = get_logger("collector")

Callback = Callable[[Event], Awaitable[None] | None]
"""A function (or coroutine function) called with each matching event."""

Processor = Callable[[Event], list[Event]]
"""A pure step that may derive new events from each event (e.g. candles and indicators from trades)."""

_STOP = object()


class Collector:
    """Connects to exchanges, keeps books, and delivers unified events.

    - ``endpoints``: per-exchange overrides (a simulator, a testnet).
    - ``book_top``: every book event carries the maintained book's best ``N`` levels.
    - ``queue_size``: bound of the queue behind ``async for``; ``overflow`` says what
      happens when the reader falls behind: ``"block"`` (default: backpressure reaches
      the sockets, nothing is lost) or ``"drop_oldest"`` (counted in ``stats``). ``0``
      disables the queue (callbacks and sinks only).
    - ``record``: a :class:`~collector.capture.CaptureWriter` that receives every raw frame
      and REST response.
    - ``plan_overrides``: fields to replace in every connection plan, e.g.
      ``{"idle_timeout": 5.0, "ping_interval": 1.0}`` (tests use it to shrink timeouts).
    """

    def __init__(
        self,
        *,
        endpoints: dict[str, Endpoints] | None = None,
        book_top: int | None = None,
        queue_size: int = 10_000,
        overflow: Literal["block", "drop_oldest"] = "block",
        transport: Transport | None = None,
        record: CaptureWriter | None = None,
        rest: RestClient | None = None,
        stable_after: float = 30.0,
        delays: Callable[[], Iterator[float]] = backoff_delays,
        plan_overrides: dict[str, Any] | None = None,
    ) -> None:
        if overflow not in ("block", "drop_oldest"):
            raise UsageError(f"overflow must be 'block' or 'drop_oldest', not {overflow!r}")
        self._endpoints = endpoints or {}
        self._book_top = book_top
        self._queue: asyncio.Queue[object] | None = asyncio.Queue(queue_size) if queue_size else None
        self._overflow = overflow
        self._transport = transport or WebsocketsTransport()
        self._recorder = record
        self._rest = rest or RestClient()
        self._stable_after = stable_after
        self._delays = delays
        self._plan_overrides = plan_overrides or {}
        self._subs: dict[str, list[Subscription]] = {}
        self._adapters: dict[str, Adapter] = {}
        self._connections: list[Connection] = []
        self._by_conn: dict[str, Connection] = {}
        self._flush_task: asyncio.Task[Any] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._callbacks: list[tuple[tuple[type[Any], ...], Callback]] = []
        self._processors: list[Processor] = []
        self._sinks: list[Sink] = []
        self._engine: IndicatorEngine | None = None
        self._started = False
        self._stopped = False
        self.stats: Counter[str] = Counter()

    # -- configuration ----------------------------------------------------------------------------

    def subscribe(
        self,
        exchange: str,
        symbols: str | Iterable[str],
        channels: Iterable[Channel] | str | None = None,
        *,
        interval: str = "1m",
    ) -> None:
        """Ask for ``channels`` (``trades``, ``ticker``, ``book``, ``candles``) of ``symbols`` on ``exchange``.

        Without ``channels``, every channel the exchange's adapter offers. Symbols are
        unified (``BTC/USDT``, ``BTC/USDT:USDT``); unknown ones raise
        :class:`~collector.errors.UnknownSymbol` when the collector starts.
        """
        if self._started:
            raise UsageError("subscribe before the collector starts")
        cls = EXCHANGES.get(exchange)
        if cls is None:
            create(exchange)  # raises UnknownExchange with the list of known ids
            return
        names = [symbols] if isinstance(symbols, str) else list(symbols)
        if channels is None:
            channels = cls.channels
        chans = [channels] if isinstance(channels, str) else list(channels)
        for ch in chans:
            if ch not in CHANNELS:
                raise UsageError(f"unknown channel {ch!r}; use {', '.join(CHANNELS)}")
        subs = self._subs.setdefault(exchange, [])
        subs.extend(Subscription(symbol, ch, interval) for symbol in names for ch in chans)  # type: ignore[arg-type]

    def on(self, callback: Callback, *types: type[Event]) -> None:
        """Call ``callback(event)`` for every event of ``types`` (all events when none given).

        A coroutine function is awaited (slow callbacks slow the pipeline: that is the
        backpressure). Exceptions are logged and counted, never propagated.
        """
        self._callbacks.append((tuple(types), callback))

    def add_processor(self, processor: Processor) -> None:
        """Run ``processor`` on every event; the events it returns join the stream after it."""
        self._processors.append(processor)

    def indicators(self, exchange: str, symbol: str, interval: str, *specs: str) -> IndicatorEngine:
        """Compute TA-Lib indicators on candles built from ``symbol``'s trades, e.g.
        ``c.indicators("binance", "BTC/USDT", "1m", "RSI(14)", "MACD(12,26,9)")``.

        The resulting ``candle`` (``source="trades"``), ``indicator`` and ``alert`` events join
        the stream; subscribe to the ``trades`` channel of the symbol. Returns the engine
        (add alert rules with ``engine.on_alert`` or read ``engine.latest(...)``).
        """
        engine = self._engine
        if engine is None:
            engine = self.use_indicators(IndicatorEngine())
        engine.add(exchange, symbol, interval, *specs)
        return engine

    def use_indicators(self, engine: IndicatorEngine) -> IndicatorEngine:
        """Run a configured :class:`~collector.indicators.IndicatorEngine` on every event.

        While running, the collector also closes the bars of quiet markets once a second
        (``engine.flush``), a couple of seconds behind the local clock to leave room for latency.
        """
        if self._engine is not None and self._engine is not engine:
            raise UsageError("this collector already has an indicator engine")
        self._engine = engine
        if engine.process not in self._processors:
            self._processors.append(engine.process)
        return engine

    def add_sink(self, sink: Sink) -> None:
        """Send every event to ``sink`` too (started with the collector, closed and flushed with it)."""
        self._sinks.append(sink)

    # -- access -----------------------------------------------------------------------------------

    def adapter(self, exchange: str) -> Adapter:
        """The running adapter of ``exchange`` (its ``stats`` count frames, ignores, errors)."""
        try:
            return self._adapters[exchange]
        except KeyError:
            raise UsageError(f"{exchange!r} is not running; subscribe to it first") from None

    def book(self, exchange: str, symbol: str) -> OrderBook | None:
        """The maintained book (``None`` before its first data); check ``book.synced`` before trusting it."""
        return self.adapter(exchange).book(symbol)

    @property
    def connections(self) -> list[Connection]:
        """The running connections (one per connection plan)."""
        return list(self._connections)

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load instruments, plan connections and start them. Raises on unknown symbols."""
        if self._started:
            return
        if not self._subs:
            raise UsageError("nothing to collect: call subscribe() first")
        self._started = True
        for sink in self._sinks:
            await sink.start()
        try:
            for exchange, subs in self._subs.items():
                await self._start_exchange(exchange, subs)
            if self._engine is not None:
                self._flush_task = self._spawn(self._flush_loop(self._engine), "indicators:flush")
        except BaseException:
            await self.stop()
            raise

    async def _start_exchange(self, exchange: str, subs: Sequence[Subscription]) -> None:
        adapter = create(exchange, endpoints=self._endpoints.get(exchange), book_top=self._book_top)
        self._adapters[exchange] = adapter
        handle = self._handler(adapter)
        for request in adapter.instrument_requests():
            status, body = await self._fetch(request)
            if status != 200:
                raise HttpError(request.url, status, body.decode("utf-8", "replace"))
            await handle(adapter.on_http(request, status, body, time.time()))
        if adapter.rest_weight_limit:
            self._rest.set_weight_limit(urlsplit(adapter.endpoints.rest).netloc, adapter.rest_weight_limit)
        plans = [msgspec.structs.replace(p, **self._plan_overrides) for p in adapter.plan(subs)]
        log.info("starting", exchange=exchange, connections=len(plans), subscriptions=len(subs))
        for plan in plans:
            conn = Connection(
                plan,
                adapter,
                handle,
                self._transport,
                recorder=self._recorder,
                stable_after=self._stable_after,
                delays=self._delays,
            )
            self._connections.append(conn)
            self._by_conn[plan.conn] = conn
            self._spawn(conn.run(), f"{plan.conn}:run")

    async def _flush_loop(self, engine: IndicatorEngine, period: float = 1.0, lag: float = 2.0) -> None:
        while not self._stopped:
            await asyncio.sleep(period)
            for event in engine.flush(time.time() - lag):
                await self._deliver(event)

    async def _fetch(self, request: RestRequest) -> tuple[int, bytes]:
        status, body, _ = await self._rest.fetch(request)
        if self._recorder is not None and status == 200:
            self._recorder.http(request.url, body, time.time())
        return status, body

    def _spawn(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats["task_errors"] += 1
            log.error("task failed", task=task.get_name(), error=repr(task.exception()))

    async def stop(self) -> None:
        """Close every connection, cancel REST work, flush and close sinks. Safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        for conn in self._connections:
            conn.stop()
        if self._flush_task is not None:
            self._flush_task.cancel()
        tasks = list(self._tasks)
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=5.0)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self._rest.close()
        for sink in self._sinks:
            try:
                await sink.close()
            except Exception as exc:
                log.error("sink close failed", sink=type(sink).__name__, error=repr(exc))
        if self._queue is not None:
            self._put_final()

    def _put_final(self) -> None:
        assert self._queue is not None
        while True:
            try:
                self._queue.put_nowait(_STOP)
                return
            except asyncio.QueueFull:
                self._queue.get_nowait()
                self.stats["dropped_at_stop"] += 1

    async def __aenter__(self) -> Collector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run(self, duration: float | None = None) -> None:
        """Start (if needed) and run for ``duration`` seconds, or until cancelled; then stop."""
        await self.start()
        try:
            if duration is None:
                await asyncio.Event().wait()
            else:
                await asyncio.sleep(duration)
        finally:
            await self.stop()

    # -- the pipeline -----------------------------------------------------------------------------

    def _handler(self, adapter: Adapter) -> Callable[[Output], Awaitable[None]]:
        async def handle(out: Output) -> None:
            # The one place actions are routed, whether they came from a frame or a REST answer.
            for item in out:
                if isinstance(item, EventBase):
                    await self._emit(item)
                elif isinstance(item, RestRequest):
                    self._spawn(self._rest_roundtrip(adapter, item, handle), f"rest:{item.url}")
                elif (conn := self._by_conn.get(item.conn)) is None:
                    self.stats["actions_for_unknown_connection"] += 1
                elif isinstance(item, SendFrame):
                    conn.send(item)
                else:
                    conn.reconnect(item)

        return handle

    async def _rest_roundtrip(
        self, adapter: Adapter, request: RestRequest, handle: Callable[[Output], Awaitable[None]]
    ) -> None:
        status, body = await self._fetch(request)
        await handle(adapter.on_http(request, status, body, time.time()))

    async def _emit(self, event: Event) -> None:
        self.stats["events"] += 1
        await self._deliver(event)
        for processor in self._processors:
            for derived in processor(event):
                await self._deliver(derived)

    async def _deliver(self, event: Event) -> None:
        for types, callback in self._callbacks:
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
        for sink in self._sinks:
            await sink.write(event)
        queue = self._queue
        if queue is not None:
            if self._overflow == "block":
                await queue.put(event)
            else:
                if queue.full():
                    queue.get_nowait()
                    self.stats["dropped_oldest"] += 1
                queue.put_nowait(event)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        if self._queue is None:
            raise UsageError("this collector was made with queue_size=0; use callbacks")
        await self.start()
        queue = self._queue
        while True:
            item = await queue.get()
            if item is _STOP:
                return
            yield item  # type: ignore[misc]
