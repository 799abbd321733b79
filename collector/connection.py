"""The connection layer: keeps one :class:`ConnectionPlan` connected for as long as asked.

Only this module and :mod:`collector.rest` touch the network. One :class:`Connection`
runs one plan:

- reconnects as an ``async for`` loop over :func:`reconnecting`, with capped exponential
  backoff and full jitter that resets once a connection stayed up for ``stable_after``;
- sends the plan's subscribe frames after every (re)connect, paced by the exchange's
  control-message interval (e.g. Binance spot allows 5 incoming messages per second);
- detects a dead peer with protocol pings (the transport's keepalive), separately from
  data idleness (no frame for ``idle_timeout``), and reconnects on either;
- reconnects proactively before the exchange's forced disconnect (``max_lifetime``);
- hands every frame to the adapter and the adapter's output to the collector.

Stopping cancels the connection's tasks and closes the socket; nothing is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator

from .actions import Reconnect, SendFrame
from .capture import CaptureWriter
from .exchanges.base import Adapter, ConnectionPlan, Output
from .log import get_logger
from .rest import backoff_delays
from .transport import Socket, SocketClosed, Transport

__all__ = ["Connection", "OutputHandler", "reconnecting"]


OutputHandler = Callable[[Output], Awaitable[None]]
"""Receives everything the adapter produced: events for the pipeline, and actions to route
(REST requests to run, frames to send and reconnects, via :meth:`Connection.send` and
:meth:`Connection.reconnect` of the connection they name)."""


async def reconnecting(
    connect: Callable[[], Awaitable[Socket]],
    *,
    delays: Callable[[], Iterator[float]] = backoff_delays,
    stable_after: float = 30.0,
    on_error: Callable[[BaseException, float], None] | None = None,
) -> AsyncGenerator[Socket, None]:
    """Yield a fresh socket each time the previous one is done, forever.

    Failed attempts wait ``next(delays)`` (full jitter, capped); the delay sequence starts
    over once a socket has stayed up for ``stable_after`` seconds, so a connection that
    drops once a day reconnects at once, while a flapping one backs off. ``on_error`` is
    told of every failed attempt and the delay before the next.
    """
    sequence = delays()
    while True:
        try:
            socket = await connect()
        except (OSError, SocketClosed, TimeoutError) as exc:
            delay = next(sequence)
            if on_error is not None:
                on_error(exc, delay)
            await asyncio.sleep(delay)
            continue
        opened = time.monotonic()
        yield socket
        if time.monotonic() - opened >= stable_after:
            sequence = delays()
        else:
            await asyncio.sleep(next(sequence))


class Connection:
    """Keep ``plan`` connected and feed its frames through ``adapter`` until :meth:`stop`."""

    def __init__(
        self,
        plan: ConnectionPlan,
        adapter: Adapter,
        handle: OutputHandler,
        transport: Transport,
        *,
        recorder: CaptureWriter | None = None,
        stable_after: float = 30.0,
        open_timeout: float = 10.0,
        delays: Callable[[], Iterator[float]] = backoff_delays,
    ) -> None:
        self.plan = plan
        self.adapter = adapter
        self._handle = handle
        self._transport = transport
        self._recorder = recorder
        self._stable_after = stable_after
        self._open_timeout = open_timeout
        self._delays = delays
        self._socket: Socket | None = None
        self._close_reason: str | None = None
        self._control: asyncio.Queue[str] = asyncio.Queue()
        self._stopping = False
        self.connects = 0
        self.log = get_logger("collector.connection", exchange=adapter.id, conn=plan.conn)

    async def _connect(self) -> Socket:
        plan = self.plan
        return await self._transport.connect(
            plan.url,
            headers=plan.headers,
            ping_interval=plan.ping_interval,
            ping_timeout=plan.ping_timeout,
            open_timeout=self._open_timeout,
        )

    def _connect_failed(self, exc: BaseException, delay: float) -> None:
        self.log.warning("connect failed", error=str(exc) or type(exc).__name__, retry_in=round(delay, 3))

    async def run(self) -> None:
        """Connect, stream, reconnect; returns only after :meth:`stop` (or when cancelled)."""
        sockets = reconnecting(
            self._connect, delays=self._delays, stable_after=self._stable_after, on_error=self._connect_failed
        )
        async with contextlib.aclosing(sockets):
            async for socket in sockets:
                if self._stopping:
                    await socket.close()
                    return
                reason = await self._session(socket)
                received = time.time()
                self.log.info("disconnected", reason=reason)
                await self._handle(self.adapter.on_disconnect(self.plan.conn, reason, received))
                if self._stopping:
                    return

    def stop(self) -> None:
        """Ask the connection to close; :meth:`run` returns once the socket is closed."""
        self._stopping = True
        self.close_socket("stopped")

    def close_socket(self, reason: str) -> None:
        """Drop the current socket (it reconnects unless stopping); ``reason`` is reported."""
        if self._socket is not None and self._close_reason is None:
            self._close_reason = reason
            self._socket.abort()

    def send(self, action: SendFrame) -> None:
        """Queue a frame the adapter asked to send (paced like the subscriptions)."""
        self._control.put_nowait(action.data)

    def reconnect(self, action: Reconnect) -> None:
        """Drop the socket at the adapter's request (e.g. the exchange announced a shutdown)."""
        self.log.info("reconnect requested", reason=action.reason)
        self.close_socket(action.reason)

    async def _session(self, socket: Socket) -> str:
        plan = self.plan
        self._socket = socket
        self._close_reason = None
        self.connects += 1
        now = time.time()
        if self._recorder is not None:
            self._recorder.connect(plan.conn, plan.url, now)
        self.log.info("connected", url=plan.url, attempt=self.connects)
        # Frames queued for an earlier socket were for its subscriptions; the plan resends them.
        self._control = asyncio.Queue()
        for frame in plan.subscribe:
            self._control.put_nowait(frame)
        await self._handle(self.adapter.on_connect(plan, now))
        state = _SessionState(now)
        tasks = [
            asyncio.create_task(self._send_loop(socket), name=f"{plan.conn}:send"),
            asyncio.create_task(self._watchdog(state), name=f"{plan.conn}:watchdog"),
        ]
        if plan.app_ping:
            tasks.append(asyncio.create_task(self._app_ping_loop(plan.app_ping), name=f"{plan.conn}:ping"))
        try:
            reason = await self._recv_loop(socket, state)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, SocketClosed):
                    await task
            self._socket = None
            await socket.close()
        return self._close_reason or reason

    async def _recv_loop(self, socket: Socket, state: _SessionState) -> str:
        conn = self.plan.conn
        parse = self.adapter.frame_parser()
        recorder = self._recorder
        handle = self._handle
        while True:
            try:
                frame = await socket.recv()
            except SocketClosed as exc:
                return exc.reason
            received = time.time()
            state.last_frame = received
            if recorder is not None:
                recorder.recv(conn, frame, received)
            out = parse(conn, frame, received)
            if out:
                await handle(out)

    async def _send_loop(self, socket: Socket) -> None:
        interval = self.plan.control_interval
        conn = self.plan.conn
        while True:
            data = await self._control.get()
            await socket.send(data)
            if self._recorder is not None:
                self._recorder.send(conn, data, time.time())
            if interval:
                # The exchange counts control messages per second per connection; exceeding it
                # gets the connection closed (Binance spot: 5/s, pings and pongs included).
                await asyncio.sleep(interval)

    async def _app_ping_loop(self, text: str) -> None:
        while True:
            await asyncio.sleep(self.plan.app_ping_interval)
            self._control.put_nowait(text)

    async def _watchdog(self, state: _SessionState) -> None:
        plan = self.plan
        idle = plan.idle_timeout
        lifetime = plan.max_lifetime
        tick = min(x for x in (idle / 4 if idle else 5.0, 5.0) if x > 0)
        while True:
            await asyncio.sleep(tick)
            now = time.time()
            if idle and now - state.last_frame > idle:
                self.log.warning("no data, reconnecting", idle_seconds=round(now - state.last_frame, 1))
                self.close_socket(f"idle for {idle:g}s")
                return
            if lifetime and now - state.opened > lifetime:
                self.log.info("proactive reconnect before the exchange's forced disconnect")
                self.close_socket(f"lifetime {lifetime:g}s reached")
                return


class _SessionState:
    __slots__ = ("last_frame", "opened")

    def __init__(self, now: float) -> None:
        self.opened = now
        self.last_frame = now
