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
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from typing import Any, Literal

import msgspec

from .actions import RestRequest, SendFrame
from .backoff import ConnectPacer, backoff_delays
from .book import OrderBook
from .capture import CaptureWriter
from .connection import Connection
from .dispatch import Handle, Handler, RestWork
from .errors import ConnectionFailed, HttpError, UsageError
from .exchanges import CHANNELS, EXCHANGES, Adapter, Channel, Endpoints, Poll, Subscription, create
from .indicators import IndicatorEngine
from .log import get_logger
from .models import Event, Outage
from .pipeline import END, Callback, EventQueue, Pipeline, Processor, _End
from .premium import DEFAULT_MAX_AGE, PremiumMonitor
from .rest import ResponseTooLarge, RestClient
from .sinks import Sink
from .stalls import LoopStalls
from .stats import Stats
from .transport import Transport, create_transport

__all__ = ["Callback", "Collector", "Processor"]

log = get_logger("collector")


class Collector:
    """Connects to exchanges, keeps books, and delivers unified events.

    - ``endpoints``: per-exchange overrides (a simulator, a testnet).
    - ``book_top``: every book event carries the maintained book's best ``N`` levels.
    - ``queue_size``: bound of the queue behind ``async for``; ``overflow`` says what
      happens when the reader falls behind: ``"block"`` (default: backpressure reaches
      the sockets, nothing is lost) or ``"drop_oldest"`` (market events only, counted in
      ``stats["dropped_oldest"]``; status events are never dropped). ``0`` disables the
      queue (callbacks and sinks only).
    - ``transport``: ``"websockets"`` (default), ``"picows"`` (``pip install
      'crypto-collector[fast]'``: several times faster per frame) or a
      :class:`~collector.transport.Transport`; ``COLLECTOR_TRANSPORT`` sets the default.
    - ``record``: a :class:`~collector.capture.CaptureWriter` that receives every raw frame
      and REST response.
    - ``plan_overrides``: fields to replace in every connection plan, e.g.
      ``{"idle_timeout": 5.0, "ping_interval": 1.0}`` (tests use it to shrink timeouts).
    - ``stable_after``: a connection that stayed up this long reconnects at once when it
      drops; shorter ones back off (``delays``).
    - ``check_interval``: how often books are checked for staleness (seconds).
    - ``poll_interval``: seconds between the REST polls adapters make for data with no
      stream (Binance futures open interest); ``None`` keeps each adapter's own interval.
      Polls count against the exchange's REST weight budget like every other request.
    """

    def __init__(
        self,
        *,
        endpoints: dict[str, Endpoints] | None = None,
        book_top: int | None = None,
        queue_size: int = 10_000,
        overflow: Literal["block", "drop_oldest"] = "block",
        transport: Transport | str | None = None,
        record: CaptureWriter | None = None,
        rest: RestClient | None = None,
        stable_after: float = 5.0,
        delays: Callable[[], Iterator[float]] = backoff_delays,
        plan_overrides: dict[str, Any] | None = None,
        check_interval: float = 1.0,
        renewal_overlap: float = 2.0,
        poll_interval: float | None = None,
    ) -> None:
        if book_top is not None and book_top < 1:
            raise UsageError(f"book_top must be a positive number of levels, not {book_top}")
        if poll_interval is not None and not poll_interval > 0:
            raise UsageError(f"poll_interval must be a positive number of seconds, not {poll_interval}")
        self.stats = Stats()
        self._poll_interval = poll_interval
        self._endpoints = endpoints or {}
        self._book_top = book_top
        self._queue = EventQueue(queue_size, overflow) if queue_size else None
        self._pipeline = Pipeline(self._queue)
        self._transport = create_transport(transport)
        self._recorder = record
        self._rest = rest or RestClient()
        if self._rest.on_outage is None:
            self._rest.on_outage = self._rest_outage
        self._stable_after = stable_after
        self._delays = delays
        self._plan_overrides = plan_overrides or {}
        self._check_interval = check_interval
        self._stalls = LoopStalls()  # a blocked event loop is not a silent feed
        self._overlap = renewal_overlap
        self._subs: dict[str, list[Subscription]] = {}
        self._adapters: dict[str, Adapter] = {}
        self._hosts: dict[str, str] = {}  # REST budget scope -> exchange id
        self._connections: list[Connection] = []
        self._by_conn: dict[str, Connection] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._conn_tasks: list[asyncio.Task[Any]] = []
        self._rest_work = RestWork(self._fetch, self._spawn, self.stats)
        self._done = asyncio.Event()
        self._engine: IndicatorEngine | None = None
        self._started = False
        self._stopped = False
        self._failure: ConnectionFailed | None = None

    # -- configuration ----------------------------------------------------------------------------

    def subscribe(
        self,
        exchange: str,
        symbols: str | Iterable[str],
        channels: Iterable[Channel] | str | None = None,
        *,
        interval: str = "1m",
    ) -> None:
        """Ask for ``channels`` of ``symbols`` on ``exchange``: ``trades``, ``ticker``, ``book``,
        ``candles``, and on derivatives ``funding`` (mark/index/funding/open interest) and ``liquidations``.

        Without ``channels``, the market channels the exchange's adapter offers. Symbols are
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
            channels = cls.default_channels or tuple(c for c in cls.channels if c not in ("funding", "liquidations"))
        chans = [channels] if isinstance(channels, str) else list(channels)
        for ch in chans:
            if ch not in CHANNELS:
                raise UsageError(f"unknown channel {ch!r}; use {', '.join(CHANNELS)}")
            if ch not in cls.channels:
                raise UsageError(f"{exchange} offers no {ch} channel; it offers {', '.join(cls.channels)}")
        subs = self._subs.setdefault(exchange, [])
        for symbol in names:
            for ch in chans:
                sub = Subscription(symbol, ch, interval)  # type: ignore[arg-type]
                if sub not in subs:  # asking twice (a bot and its premium monitor) subscribes once
                    subs.append(sub)

    def on(self, callback: Callback, *types: type[Event]) -> None:
        """Call ``callback(event)`` for every event of ``types`` (all events when none given).

        A coroutine function is awaited (slow callbacks slow the pipeline: that is the
        backpressure). Exceptions are logged and counted, never propagated.
        """
        self._pipeline.add_callback(tuple(types), callback)

    def add_processor(self, processor: Processor) -> None:
        """Run ``processor`` on every event; the events it returns join the stream after it."""
        self._pipeline.processors.append(processor)

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

    def premium(
        self,
        bases: Iterable[str],
        krw: Sequence[str],
        usd: Sequence[str],
        *,
        quote: str = "USDT",
        fx: str | float | None = None,
        max_age: float = DEFAULT_MAX_AGE,
        min_interval: float = 1.0,
        alerts: Iterable[str] = (),
    ) -> PremiumMonitor:
        """Compute the KRW premium of ``bases`` live, e.g. ``c.premium(["BTC", "ETH"], ["upbit"], ["binance"])``.

        Subscribes the ``book`` and ``trades`` channels of every market it reads
        (``BTC/KRW`` on each KRW venue, ``BTC/USDT`` abroad, ``USDT/KRW`` on the FX venue)
        and adds ``premium`` events (and alerts, e.g. ``"premium > 0.03"``) to the stream.
        See :mod:`collector.premium` for the price and staleness rules. Call before
        :meth:`start`; returns the monitor (:meth:`~collector.premium.PremiumMonitor.latest`).
        """
        monitor = PremiumMonitor(
            bases,
            krw,
            usd,
            book_of=self.book,
            quote=quote,
            fx=fx,
            max_age=max_age,
            min_interval=min_interval,
            alerts=alerts,
        )
        for exchange, symbols in monitor.markets().items():
            self.subscribe(exchange, symbols, ["book", "trades"])
        self.add_processor(monitor.process)
        return monitor

    def use_indicators(self, engine: IndicatorEngine) -> IndicatorEngine:
        """Run a configured :class:`~collector.indicators.IndicatorEngine` on every event.

        While running, the collector also closes the bars of quiet markets once a second
        (``engine.flush``), a couple of seconds behind the local clock to leave room for latency.
        """
        if self._engine is not None and self._engine is not engine:
            raise UsageError("this collector already has an indicator engine")
        self._engine = engine
        if engine.process not in self._pipeline.processors:
            self._pipeline.processors.append(engine.process)
        return engine

    def add_sink(self, sink: Sink) -> None:
        """Send every event to ``sink`` too (started with the collector, closed and flushed with it).

        A sink with an ``on_status`` attribute gets a function to report its backpressure
        with; the collector turns each report into an ``outage`` event.
        """
        if hasattr(sink, "on_status"):
            sink.on_status = self._sink_status
        self._pipeline.sinks.append(sink)

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

    @property
    def rest(self) -> RestClient:
        """The REST client (its ``stats`` and ``usage()`` show the weight budgets)."""
        return self._rest

    @property
    def queue_depth(self) -> int:
        """Events waiting in the queue behind ``async for`` (0 without a queue)."""
        return len(self._queue) if self._queue is not None else 0

    def subscriptions(self) -> dict[str, list[Subscription]]:
        """What was subscribed, per exchange."""
        return {exchange: list(subs) for exchange, subs in self._subs.items()}

    def exchange_of(self, scope: str) -> str:
        """The exchange a REST budget scope belongs to (the scope itself when unknown)."""
        return self._hosts.get(scope, scope)

    @property
    def sinks(self) -> list[Sink]:
        """The sinks events go to."""
        return list(self._pipeline.sinks)

    @property
    def pipeline(self) -> Pipeline:
        """The event pipeline (its ``stats`` count callback errors)."""
        return self._pipeline

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        """Load instruments, plan connections and start them. Raises on unknown symbols."""
        if self._started:
            return
        if not self._subs:
            raise UsageError("nothing to collect: call subscribe() first")
        self._started = True
        try:
            await self._pipeline.start()
            for exchange, subs in self._subs.items():
                await self._start_exchange(exchange, subs)
            if self._engine is not None:
                self._spawn(self._flush_loop(self._engine), "indicators:flush")
        except BaseException:
            await self.stop()
            raise

    async def _start_exchange(self, exchange: str, subs: Sequence[Subscription]) -> None:
        adapter = create(exchange, endpoints=self._endpoints.get(exchange), book_top=self._book_top)
        self._adapters[exchange] = adapter
        # Budgets are per exchange REST base: the simulator serves every exchange from one host.
        host = adapter.endpoints.rest.rstrip("/")
        self._hosts[host] = exchange
        self._rest.set_policy(host, adapter.rest_policy)
        handle = self._handler(adapter)
        adapter.stalled = self._stalls.allowance
        for request in adapter.instrument_requests():
            status, body = await self._fetch(request)
            if status != 200:
                raise HttpError(request.url, status, body.decode("utf-8", "replace"))
            await handle(adapter.answer(request, status, body, time.time()))
        if adapter.rest_weight_limit:
            self._rest.set_policy(host, adapter.rest_policy, adapter.rest_weight_limit)
        plans = [msgspec.structs.replace(p, **self._plan_overrides) for p in adapter.plan(subs)]
        log.info("starting", exchange=exchange, connections=len(plans), subscriptions=len(subs))
        limit = adapter.connect_limit
        pacer = ConnectPacer(*limit) if limit is not None else None
        for plan in plans:
            conn = Connection(
                plan,
                adapter,
                handle,
                self._transport,
                stalls=self._stalls,
                recorder=self._recorder,
                stable_after=self._stable_after,
                delays=self._delays,
                overlap=self._overlap,
                pacer=pacer,
                fetch=self._fetch,
            )
            self._connections.append(conn)
            self._by_conn[plan.conn] = conn
            task = self._spawn(self._run_connection(conn), f"{plan.conn}:run")
            self._conn_tasks.append(task)
        self._spawn(self._check_loop(adapter, handle), f"{exchange}:check")
        for poll in adapter.polls(subs):
            if self._poll_interval is not None:
                poll = msgspec.structs.replace(poll, interval=self._poll_interval)
            self._spawn(self._poll_loop(adapter, poll, handle), f"{exchange}:poll:{poll.request.url}")

    async def _run_connection(self, conn: Connection) -> None:
        await conn.run()
        if conn.failed is not None and all(c.failed is not None for c in self._connections):
            # Nothing is left collecting: end the run with the reason rather than idle forever.
            reasons = "; ".join(sorted({f"{c.plan.conn}: {c.failed}" for c in self._connections}))
            self._failure = ConnectionFailed(f"every connection failed for good ({reasons})")
            log.error("every connection failed for good", reasons=reasons)
            self._spawn(self.stop(), "stop")

    async def _check_loop(self, adapter: Adapter, handle: Handle) -> None:
        while True:
            out = adapter.check(await self._stalls.sleep(self._check_interval))
            if out:
                await handle(out)

    async def _poll_loop(self, adapter: Adapter, poll: Poll, handle: Handle) -> None:
        # A first call at once, then every interval (a REST budget wait delays, never skips, one).
        while True:
            status, body = await self._fetch(poll.request)
            await handle(adapter.answer(poll.request, status, body, time.time()))
            await asyncio.sleep(poll.interval)

    async def _flush_loop(self, engine: IndicatorEngine, period: float = 1.0, lag: float = 2.0) -> None:
        while True:
            await asyncio.sleep(period)
            for event in engine.flush(time.time() - lag):
                await self._pipeline.deliver(event)

    async def _fetch(self, request: RestRequest, on_send: Callable[[], None] | None = None) -> tuple[int, bytes]:
        try:
            status, body, _ = await self._rest.fetch(request, on_send)
        except ResponseTooLarge as exc:
            return 0, str(exc).encode()
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
        """Close every connection, cancel REST work, flush and close sinks. Safe to call twice.

        Returns promptly whatever is sleeping (a backoff, a rate-limit pause): sockets get
        a moment to close politely, everything else is cancelled.
        """
        if self._stopped:
            return
        self._stopped = True
        self._done.set()
        for conn in self._connections:
            conn.stop()
        current = asyncio.current_task()
        others = [t for t in self._tasks if t is not current and t not in self._conn_tasks]
        for task in others:
            task.cancel()
        conns = [t for t in self._conn_tasks if not t.done() and t is not current]
        if conns:
            _, pending = await asyncio.wait(conns, timeout=0.8)
            for task in pending:
                task.cancel()
        waiting = [t for t in (*others, *conns) if not t.done()]
        for task in waiting:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self._rest.close()
        await self._pipeline.close()

    async def __aenter__(self) -> Collector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def run(self, duration: float | None = None) -> None:
        """Start (if needed) and run for ``duration`` seconds, or until cancelled; then stop.

        Raises :class:`~collector.errors.ConnectionFailed` when every connection failed for good.
        """
        await self.start()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._done.wait(), duration)
        finally:
            await self.stop()
        if self._failure is not None:
            raise self._failure

    # -- the pipeline -----------------------------------------------------------------------------

    def _handler(self, adapter: Adapter) -> Handler:
        return Handler(adapter, self._pipeline, self.stats, self._route, self.abandon)

    def _route(self, adapter: Adapter, item: Any, handle: Handle) -> None:
        """Route one action: the one place actions go, whether they came from a frame or a REST answer."""
        if isinstance(item, RestRequest):
            if not self._stopped:
                self._rest_work.request(adapter, item, handle)
        elif (conn := self._by_conn.get(item.conn)) is None:
            self.stats["actions_for_unknown_connection"] += 1
        elif isinstance(item, SendFrame):
            conn.send(item)
        else:
            conn.reconnect(item)

    def abandon(self, conn: str) -> None:
        """Cancel the REST requests for connection ``conn`` that have not left yet (it dropped; its books
        start over). Requests already sent finish: their weight is spent and a snapshot taken after
        the reconnect still joins the new connection's deltas."""
        self._rest_work.abandon(conn)

    def _rest_outage(self, kind: str, host: str, detail: str, retry_in: float | None) -> None:
        exchange = self._hosts.get(host, host)
        event = Outage(exchange, None, None, time.time(), host, kind, detail, retry_in)
        if not self._stopped:
            self._spawn(self._pipeline.emit(event), "outage")

    def _sink_status(self, sink: str, kind: str, detail: str) -> None:
        event = Outage("collector", None, None, time.time(), sink, kind, detail, None)
        if not self._stopped:
            self._spawn(self._pipeline.emit(event), "outage")

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Event]:
        if self._queue is None:
            raise UsageError("this collector was made with queue_size=0; use callbacks")
        await self.start()
        queue = self._queue
        poll = queue.poll
        while True:
            item: Event | _End | None = poll()
            if item is None:
                item = await queue.get()
                if item is END:
                    if self._failure is not None:
                        raise self._failure
                    return
            yield item  # type: ignore[misc]

    async def batches(self) -> AsyncIterator[list[Event]]:
        """The same events as ``async for event in c``, in the same order, as lists: each list is
        everything queued when you asked (at least one event). Starts the collector like
        iterating does.

        For readers that work on several events at once (a database writer, a batch of
        signals): one await per list instead of one per event. Callbacks remain the cheapest
        way to receive events (``benchmarks/bench_live.py`` measures all three)::

            async for events in c.batches():
                for event in events:
                    ...
        """
        if self._queue is None:
            raise UsageError("this collector was made with queue_size=0; use callbacks")
        await self.start()
        queue = self._queue
        while True:
            batch = queue.drain()
            if not batch:
                item = await queue.get()
                if isinstance(item, _End):
                    if self._failure is not None:
                        raise self._failure
                    return
                batch = [item, *queue.drain()]
            yield batch

    @property
    def dropped(self) -> int:
        """Market events dropped by ``overflow="drop_oldest"`` so far."""
        return self._queue.dropped if self._queue is not None else 0
