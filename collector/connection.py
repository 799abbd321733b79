"""The connection layer: keeps one :class:`ConnectionPlan` connected for as long as asked.

Only this module and :mod:`collector.rest` touch the network. One :class:`Connection`
runs one plan:

- reconnects with capped, jittered backoff (:class:`~collector.backoff.Backoff`); a
  session that lasted ``stable_after`` seconds resets it, so a connection that drops
  once in a while comes back at once while one that dies on arrival backs off;
- decides in one place, :func:`is_fatal`, which connect failures end the connection
  (a 4xx answer to the upgrade, a bad address) instead of being retried forever; every
  failed attempt and the fatal end are reported as ``outage`` events;
- sends the plan's subscribe frames after every (re)connect, paced by the exchange's
  control-message interval, through a bounded queue;
- detects a dead peer with protocol pings (the transport's keepalive), separately from
  a silent feed: no *data* frame for ``idle_timeout`` (acks, pongs and heartbeats do not
  count, see :meth:`~collector.exchanges.base.Adapter.control`) reconnects;
- renews the connection before the exchange's forced disconnect (``max_lifetime``)
  make-before-break: the new socket subscribes while the old one still delivers, and
  takes over without any book being reset (see :class:`_Renewal`);
- hands every frame to the adapter's boundary (:meth:`Adapter.receive`) and the output
  to the collector.

Stopping wakes whatever is sleeping and closes the socket; nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator

from .actions import Reconnect, RestRequest, SendFrame
from .backoff import ConnectPacer, backoff_delays
from .capture import CaptureWriter
from .exchanges.base import Adapter, ConnectionPlan, Output
from .log import get_logger
from .models import Candle, Liquidation, Outage, Ticker, Trade
from .stalls import LoopStalls
from .transport import BadAddress, HandshakeRejected, Socket, SocketClosed, Transport

__all__ = ["ConnectPreparationFailed", "Connection", "Fetch", "OutputHandler", "is_fatal"]


OutputHandler = Callable[[Output], Awaitable[None]]
"""Receives everything the adapter produced: events for the pipeline, and actions to route
(REST requests to run, frames to send and reconnects, via :meth:`Connection.send` and
:meth:`Connection.reconnect` of the connection they name)."""

Fetch = Callable[[RestRequest], Awaitable[tuple[int, bytes]]]
"""Runs a REST request within the exchange's budget: ``(status, body)``, status 0 when it got no answer."""


class ConnectPreparationFailed(OSError):
    """The REST call an adapter needs before connecting (a websocket token) failed: retried with backoff."""


CONTROL_QUEUE = 1000
"""Frames the adapter may have queued for sending on one connection."""


def is_fatal(exc: BaseException) -> bool:
    """Whether a connect failure ends the connection rather than being retried.

    Fatal: the address cannot work (:class:`BadAddress`: not a websocket URL, a TLS
    certificate the host fails), or the server refused the upgrade with a 4xx status
    other than 408 (timeout) and 429 (too many requests), e.g. 404 for a wrong path or
    403 for a blocked region. Everything else (refused or reset TCP connections, DNS
    failures, timeouts, 5xx, 429) may pass and is retried with backoff.
    """
    if isinstance(exc, BadAddress | ssl.SSLCertVerificationError):
        return True
    if isinstance(exc, HandshakeRejected):
        return 400 <= exc.status < 500 and exc.status not in (408, 429)
    return False


class _Session:
    """One socket's state within a connection."""

    __slots__ = ("opened", "socket")

    def __init__(self, socket: Socket, opened: float) -> None:
        self.socket = socket
        self.opened = opened


class _Renewal:
    """A replacement socket being opened while the current one keeps delivering.

    Its frames are held (up to ``limit``) until the switch; then the old socket is
    dropped without resetting any book, and the held frames are processed after the
    old socket's last one. Duplicates are harmless to books (their update ids are behind
    the book's and are skipped by the rule); trades, tickers and candles seen from the
    old socket during the overlap are remembered so their second copies are dropped.
    """

    __slots__ = ("held", "limit", "plan", "ready", "seen", "socket", "task")

    def __init__(self, limit: int) -> None:
        self.socket: Socket | None = None
        self.plan: ConnectionPlan | None = None
        self.task: asyncio.Task[None] | None = None
        self.held: list[tuple[str | bytes, float]] = []
        self.limit = limit
        self.ready = asyncio.Event()
        self.seen: set[object] = set()


def _identity(event: object) -> object | None:
    """What makes two copies of an event the same event (``None``: not deduplicated)."""
    if isinstance(event, Trade):
        return (Trade, event.symbol, event.id)
    if isinstance(event, Ticker | Candle | Liquidation):
        return event  # frozen structs compare by value
    return None


class Connection:
    """Keep ``plan`` connected and feed its frames through ``adapter`` until :meth:`stop`.

    ``failed`` holds the reason when the connection ended for good (a fatal connect error).
    """

    def __init__(
        self,
        plan: ConnectionPlan,
        adapter: Adapter,
        handle: OutputHandler,
        transport: Transport,
        *,
        recorder: CaptureWriter | None = None,
        stable_after: float = 5.0,
        open_timeout: float = 10.0,
        delays: Callable[[], Iterator[float]] = backoff_delays,
        overlap: float = 2.0,
        pacer: ConnectPacer | None = None,
        fetch: Fetch | None = None,
        stalls: LoopStalls | None = None,
    ) -> None:
        self.plan = plan
        """The plan of the current socket: the adapter's plan, or what :meth:`Adapter.connect_plan` made of it."""
        self.base_plan = plan
        self._pacer = pacer
        self._fetch = fetch
        self.adapter = adapter
        self._handle = handle
        self._transport = transport
        self._recorder = recorder
        self._stable_after = stable_after
        self._open_timeout = open_timeout
        self._delays = delays
        self._overlap = overlap
        self._session: _Session | None = None
        self._close_reason: str | None = None
        self._control: asyncio.Queue[str] = asyncio.Queue(CONTROL_QUEUE)
        self._stopped = asyncio.Event()
        self._renewal: _Renewal | None = None
        self._stalls = stalls or LoopStalls()
        self.connects = 0
        self.renewals = 0
        self.frames = 0  # frames received, for metrics
        self.bytes = 0  # their payload bytes (UTF-8 length of text frames approximated by characters)
        self.failed: str | None = None
        self.log = get_logger("collector.connection", exchange=adapter.id, conn=plan.conn)

    @property
    def up(self) -> bool:
        """Whether a socket is open right now."""
        return self._session is not None

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopped.is_set()

    async def _prepared(self) -> ConnectionPlan:
        """The plan for the next socket: the adapter's, completed by its pre-connect REST call if it has one."""
        base = self.base_plan
        request = self.adapter.connect_request(base)
        if request is None:
            return base
        if self._fetch is None:
            raise ConnectPreparationFailed(f"{request.url}: no REST client to ask before connecting")
        status, body = await self._fetch(request)
        try:
            return self.adapter.connect_plan(base, status, body)
        except Exception as exc:  # the adapter's verdict on the answer: retried like a refused connect
            raise ConnectPreparationFailed(f"{request.url}: HTTP {status}: {exc}") from exc

    async def _connect(self) -> tuple[Socket, ConnectionPlan]:
        plan = await self._prepared()
        if self._pacer is not None:
            await self._pacer.wait()  # the exchange's limit on new connections per IP
        socket = await self._transport.connect(
            plan.url,
            headers=plan.headers,
            ping_interval=plan.ping_interval,
            ping_timeout=plan.ping_timeout,
            open_timeout=self._open_timeout,
        )
        return socket, plan

    def _outage(self, kind: str, detail: str, retry_in: float | None = None) -> Output:
        return [Outage(self.adapter.id, None, None, time.time(), self.plan.conn, kind, detail, retry_in)]

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when the connection is stopped."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopped.wait(), seconds)

    async def run(self) -> None:
        """Connect, stream, reconnect; returns after :meth:`stop`, or when a connect error is fatal."""
        delays = self._delays()
        while not self.stopping:
            try:
                socket, self.plan = await self._connect()
            except Exception as exc:  # whatever a connect raises is reported and retried, never a dead task
                reason = str(exc) or type(exc).__name__
                if not isinstance(exc, OSError | SocketClosed | TimeoutError):
                    self.log.exception("connect raised unexpectedly", url=self.plan.url)
                    reason = f"{type(exc).__name__}: {reason}"
                if is_fatal(exc):
                    self.failed = reason
                    self.log.error("connection failed for good", url=self.plan.url, error=reason)
                    await self._handle(self._outage("fatal", f"{self.plan.url}: {reason}"))
                    return
                delay = next(delays)
                self.log.warning("connect failed", error=reason, retry_in=round(delay, 3))
                await self._handle(self._outage("connect_failed", f"{self.plan.url}: {reason}", delay))
                await self._pause(delay)
                continue
            if self.stopping:
                await socket.close()
                return
            opened = time.monotonic()
            reason = await self._run_session(socket)
            received = time.time()
            self.log.info("disconnected", reason=reason)
            # A clean stop is not a loss: no resync events for books nobody rebuilds.
            await self._handle(self.adapter.disconnected(self.plan.conn, reason, received, report=not self.stopping))
            if self.stopping:
                return
            if time.monotonic() - opened >= self._stable_after:
                delays = self._delays()
                await self._pause(next(delays) / 10.0)  # a little jitter, so a fleet does not return at once
            else:
                await self._pause(next(delays))

    def stop(self) -> None:
        """Ask the connection to close; :meth:`run` returns once the socket is closed."""
        self._stopped.set()
        self.close_socket("stopped")
        renewal = self._renewal
        if renewal is not None and renewal.socket is not None:
            renewal.socket.abort()

    def close_socket(self, reason: str) -> None:
        """Drop the current socket (it reconnects unless stopping); ``reason`` is reported."""
        if self._session is not None and self._close_reason is None:
            self._close_reason = reason
            self._session.socket.abort()

    def send(self, action: SendFrame) -> None:
        """Queue a frame the adapter asked to send (paced like the subscriptions)."""
        try:
            self._control.put_nowait(action.data)
        except asyncio.QueueFull:
            self.adapter.stats["error.control_queue_full"] += 1
            self.log.error("control queue full, frame dropped", limit=CONTROL_QUEUE, frame=action.data[:100])

    def reconnect(self, action: Reconnect) -> None:
        """Drop the socket at the adapter's request (e.g. the exchange announced a shutdown)."""
        self.log.info("reconnect requested", reason=action.reason)
        self.close_socket(action.reason)

    # -- one session ----------------------------------------------------------------------------

    async def _opened(self, socket: Socket) -> float:
        plan = self.plan
        now = time.time()
        self.connects += 1
        if self._recorder is not None:
            self._recorder.connect(plan.conn, plan.url, now)
        self.log.info("connected", url=plan.url, attempt=self.connects)
        return now

    async def _run_session(self, socket: Socket) -> str:
        plan = self.plan
        now = await self._opened(socket)
        self._session = _Session(socket, now)
        self._close_reason = None
        # Frames queued for an earlier socket were for its subscriptions; the plan resends them.
        self._control = asyncio.Queue(CONTROL_QUEUE)
        for frame in plan.subscribe:
            self._control.put_nowait(frame)
        await self._handle(self.adapter.connected(plan, now))
        tasks = [
            asyncio.create_task(self._send_loop(), name=f"{plan.conn}:send"),
            asyncio.create_task(self._watchdog(), name=f"{plan.conn}:watchdog"),
        ]
        if plan.app_ping:
            tasks.append(asyncio.create_task(self._app_ping_loop(plan.app_ping), name=f"{plan.conn}:ping"))
        try:
            while True:
                session = self._session
                reason = await self._recv_loop(session.socket)
                renewal = self._renewal
                if renewal is None or not renewal.ready.is_set() or renewal.socket is None or self.stopping:
                    return self._close_reason or reason
                # Make-before-break: the replacement takes over; books and state carry on.
                await self._take_over(renewal)
        finally:
            for task in tasks:
                task.cancel()
            await self._drop_renewal()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, SocketClosed):
                    await task
            session = self._session
            self._session = None
            if session is not None:
                await session.socket.close()

    async def _recv_loop(self, socket: Socket) -> str:
        """Deliver the socket's frames until it closes: pushed from the transport's read callback
        where it can push them (picows), pulled with ``recv()`` otherwise and whenever the
        pipeline must be awaited."""
        handle = self._handle
        # The collector's handler delivers a frame's events without a coroutine when it can.
        now: Callable[[Output], bool] | None = getattr(handle, "now", None)
        ready: Callable[[], bool] | None = getattr(handle, "ready", None)
        deliver_now: Callable[[Output], None] | None = getattr(handle, "deliver_now", None)
        set_push: Callable[[Callable[[str | bytes], bool] | None], None] | None = getattr(socket, "set_push", None)
        if set_push is not None and deliver_now is not None and ready is not None:
            set_push(self._pusher(deliver_now, ready))
        try:
            return await self._pull(socket, now)
        finally:
            if set_push is not None:
                set_push(None)

    def _pusher(
        self, deliver_now: Callable[[Output], None], ready: Callable[[], bool]
    ) -> Callable[[str | bytes], bool]:
        """What a pushing transport calls with each message as it is parsed (see ``set_push``).

        It runs inside the transport's read callback: the frame is parsed and its events
        delivered right there when the pipeline can take them synchronously; otherwise it
        returns ``False`` and the transport queues the frame for :meth:`_pull`. It never raises.
        """
        conn = self.plan.conn
        receive = self.adapter.receive
        recorder = self._recorder

        def push(frame: str | bytes) -> bool:
            if not ready():
                return False  # a sink or a full queue must be awaited: the pull loop takes over
            try:
                received = time.time()
                self.frames += 1
                self.bytes += len(frame)
                if recorder is not None:
                    recorder.recv(conn, frame, received)
                out = receive(conn, frame, received)
                if self._renewal is not None:
                    out = self._remember(out)
                if out:
                    deliver_now(out)  # ready() left room for this frame's output
            except Exception:  # a bug; the transport's read callback must go on
                self.log.exception("delivering a frame failed", conn=conn)
            return True

        return push

    async def _pull(self, socket: Socket, now: Callable[[Output], bool] | None) -> str:
        conn = self.plan.conn
        receive = self.adapter.receive
        recorder = self._recorder
        handle = self._handle
        # A transport that can hand over queued messages without a coroutine each (picows).
        recv_now: Callable[[], str | bytes | None] | None = getattr(socket, "recv_now", None)
        while True:
            frame = recv_now() if recv_now is not None else None
            if frame is None:
                try:
                    frame = await socket.recv()
                except SocketClosed as exc:
                    return exc.reason
            received = time.time()
            self.frames += 1
            self.bytes += len(frame)
            if not self.frames & 255:
                # A transport with frames queued returns them without yielding; let REST answers,
                # pings and timers run every 256 frames, or a flood would starve them.
                await asyncio.sleep(0)
            if recorder is not None:
                recorder.recv(conn, frame, received)
            out = receive(conn, frame, received)
            if self._renewal is not None:
                out = self._remember(out)
            if out and (now is None or not now(out)):
                await handle(out)

    def _remember(self, out: Output) -> Output:
        """During a renewal, remember what the old socket delivered (and drop what was delivered twice)."""
        renewal = self._renewal
        assert renewal is not None
        kept: Output = []
        for item in out:
            key = _identity(item)
            if key is not None:
                if key in renewal.seen:
                    continue
                if len(renewal.seen) < 1_000_000:
                    renewal.seen.add(key)
            kept.append(item)
        return kept

    async def _send_loop(self) -> None:
        interval = self.plan.control_interval
        conn = self.plan.conn
        if self.plan.subscribe_delay:
            # Some exchanges count requests sent right after the handshake against a
            # pro-rated limit: wait before the subscriptions go out.
            await asyncio.sleep(self.plan.subscribe_delay)
        while True:
            data = await self._control.get()
            session = self._session
            if session is None:
                return
            await session.socket.send(data)
            if self._recorder is not None:
                self._recorder.send(conn, data, time.time())
            if interval:
                # The exchange counts control messages per second per connection; exceeding it
                # gets the connection closed (Binance spot: 5/s, pings and pongs included).
                await asyncio.sleep(interval)

    async def _app_ping_loop(self, text: str) -> None:
        while True:
            await asyncio.sleep(self.plan.app_ping_interval)
            with contextlib.suppress(asyncio.QueueFull):
                self._control.put_nowait(text)

    async def _watchdog(self) -> None:
        plan = self.plan
        idle = plan.idle_timeout
        lifetime = plan.max_lifetime
        tick = min(x for x in (idle / 4 if idle else 5.0, lifetime / 4 if lifetime else 5.0, 5.0) if x > 0)
        while True:
            now = await self._stalls.sleep(tick)
            session = self._session
            if session is None:
                return
            # Data frames only: an exchange that keeps answering pings while its feed has
            # stopped is as useless as a dead one. The seconds the process itself was blocked
            # are not the exchange's silence (collector.stalls).
            last = max(self.adapter.data_at.get(plan.conn, 0.0), session.opened)
            if idle and now - last - self._stalls.allowance(last) > idle:
                self.log.warning("no data, reconnecting", idle_seconds=round(now - last, 1))
                self.close_socket(f"no data for {idle:g}s")
                return
            if lifetime and now - session.opened > lifetime and self._renewal is None:
                self.log.info("renewing the connection before the exchange's forced disconnect")
                self._renewal = _Renewal(limit=100_000)
                self._renewal.task = asyncio.create_task(self._renew(self._renewal), name=f"{plan.conn}:renew")

    # -- make-before-break renewal ----------------------------------------------------------------

    async def _renew(self, renewal: _Renewal) -> None:
        """Open the replacement socket, subscribe it, hold its frames, then signal the switch."""
        try:
            socket, plan = await self._connect()
        except (OSError, SocketClosed, TimeoutError) as exc:
            # The old socket still works: keep it, try again at the next watchdog tick.
            self.log.warning("renewal failed, keeping the current connection", error=str(exc) or type(exc).__name__)
            self._renewal = None
            return
        renewal.socket = socket
        renewal.plan = plan
        try:
            if plan.subscribe_delay:
                await asyncio.sleep(plan.subscribe_delay)
            for request in plan.subscribe:
                await socket.send(request)
                if plan.control_interval:
                    await asyncio.sleep(plan.control_interval)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._overlap
            while loop.time() < deadline and len(renewal.held) < renewal.limit:
                try:
                    frame = await asyncio.wait_for(socket.recv(), deadline - loop.time())
                except TimeoutError:
                    break
                renewal.held.append((frame, time.time()))
        except SocketClosed as exc:
            self.log.warning("renewal socket lost, keeping the current connection", reason=exc.reason)
            self._renewal = None
            await socket.close()
            return
        renewal.ready.set()
        self.close_socket("renewed")  # the session loop sees the old socket end and takes over

    async def _take_over(self, renewal: _Renewal) -> None:
        """Make the replacement socket current and process what it held, after the old socket's last frame."""
        assert renewal.socket is not None
        old = self._session
        if old is not None:
            old.socket.abort()
        if renewal.plan is not None:
            self.plan = renewal.plan
        now = await self._opened(renewal.socket)
        self._session = _Session(renewal.socket, now)
        self._close_reason = None
        self.renewals += 1
        conn = self.plan.conn
        receive = self.adapter.receive
        for frame, _ in renewal.held:
            received = time.time()
            if self._recorder is not None:
                self._recorder.recv(conn, frame, received)
            out = self._remember(receive(conn, frame, received))
            if out:
                await self._handle(out)
        self._renewal = None

    async def _drop_renewal(self) -> None:
        renewal, self._renewal = self._renewal, None
        if renewal is None:
            return
        if renewal.task is not None and not renewal.task.done():
            renewal.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewal.task
        if renewal.socket is not None and (self._session is None or renewal.socket is not self._session.socket):
            await renewal.socket.close()
