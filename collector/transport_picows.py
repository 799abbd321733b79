"""A websocket transport on picows (a Cython websocket client): the fast path for live data.

Install it with ``pip install 'crypto-collector[fast]'`` and choose it with
``Collector(transport="picows")``, ``collector run --transport picows`` or
``COLLECTOR_TRANSPORT=picows``. It behaves as :class:`~collector.transport.WebsocketsTransport`
does at the interface: the same exceptions for refused handshakes and bad addresses,
protocol pings with a reply timeout, a bounded message size, close codes in the
disconnect reason, TLS certificates verified.

Frames are parsed in picows's read callback and queued; :meth:`PicowsSocket.recv` hands
them out without a task switch while any are queued, so a burst of frames costs one
wake-up. A text frame that is not valid UTF-8 is handed on as bytes (the adapter reports
it as malformed) instead of ending the connection. When more than ``high_water`` frames
wait, the socket stops reading from the kernel until the reader catches up (TCP
backpressure, as the websockets client does with its own buffer).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any

try:
    import picows
except ImportError:  # pragma: no cover - depends on the installation
    picows = None  # type: ignore[assignment]

from .errors import UsageError
from .transport import BadAddress, HandshakeRejected, Socket, SocketClosed

__all__ = ["PicowsSocket", "PicowsTransport", "available"]


def available() -> bool:
    """Whether picows is installed."""
    return picows is not None


class _Listener(picows.WSListener if picows is not None else object):  # type: ignore[misc]
    """Collects whole messages from picows's frame callbacks (see the module docstring)."""

    def __init__(self, max_size: int, high_water: int) -> None:
        super().__init__()
        self.messages: deque[str | bytes] = deque()
        self.waiter: asyncio.Future[None] | None = None
        self.closed: str | None = None
        self.transport: picows.WSTransport | None = None
        self.paused = False
        self._max_size = max_size
        self._high_water = high_water
        self._parts: list[bytes] = []
        self._parts_size = 0
        self._parts_text = False
        self.push: Callable[[str | bytes], bool] | None = None
        # recv() handed out a message its caller may still be working on (awaiting room for its
        # events): nothing may be pushed past it until the caller comes back for the next one.
        self.holding = False
        self.tls = False

    def on_ws_connected(self, transport: picows.WSTransport) -> None:
        self.transport = transport
        underlying = transport.underlying_transport
        self.tls = underlying.get_extra_info("ssl_object") is not None
        # From the first read after the handshake on, reads are capped (see _CappedReads).
        underlying.set_protocol(_CappedReads(underlying.get_protocol(), underlying, self, _MAX_READ))

    def on_ws_frame(self, transport: picows.WSTransport, frame: picows.WSFrame) -> None:
        kind = frame.msg_type
        # picows reports a frame over its max_frame_size and starts disconnecting, yet still
        # hands that frame and the rest of the buffer over: the bound and "nothing after a
        # failure" are enforced here.
        whole = (kind is _TEXT or kind is _BINARY) and frame.fin
        if whole and frame.payload_size <= self._max_size and self.closed is None:
            # The hot path: a whole message (text, or binary as some exchanges send all their
            # data), handed to the consumer right here when it takes it (nothing queued ahead
            # of it, so the order is kept), else queued.
            if kind is _TEXT:
                try:
                    message: str | bytes = frame.get_payload_as_utf8_text()
                except UnicodeDecodeError:
                    message = frame.get_payload_as_bytes()  # the adapter reports it; the connection goes on
            else:
                message = frame.get_payload_as_bytes()
            push = self.push
            if push is None:
                self._deliver(message)
                return
            if not self.holding:
                # Messages queued while the consumer could not take them go first (the order is
                # kept). Handing them over here, not one at a time from recv(), is what brings
                # a connection that fell behind in a flood back onto this path.
                if self.messages:
                    self._catch_up(push)
                if not self.messages and push(message):
                    return
            self._deliver(message, behind=True)
            return
        if kind is _TEXT or kind is _BINARY or kind is picows.WSMsgType.CONTINUATION:
            if self.closed is not None:
                return  # the socket failed or is closing: nothing more is handed on
            if frame.payload_size > self._max_size:
                self._fail(transport, f"message larger than {self._max_size} bytes")
                return
        if kind is _TEXT or kind is _BINARY:
            self._parts = [frame.get_payload_as_bytes()]  # the first frame of a fragmented message
            self._parts_size = len(self._parts[0])
            self._parts_text = kind is picows.WSMsgType.TEXT
        elif kind is picows.WSMsgType.CONTINUATION:
            if not self._parts:
                self._fail(transport, "continuation frame without a first frame")
                return
            payload = frame.get_payload_as_bytes()
            self._parts_size += len(payload)
            if self._parts_size > self._max_size:
                self._fail(transport, f"message larger than {self._max_size} bytes")
                return
            self._parts.append(payload)
            if frame.fin:
                data = b"".join(self._parts)
                self._parts = []
                self._deliver(_text(data) if self._parts_text else data)
        elif kind is picows.WSMsgType.CLOSE:
            code = frame.get_close_code()
            message = frame.get_close_message() or b""
            self.closed = f"closed by peer: {code.value} {message.decode('utf-8', 'replace')}".rstrip()
            transport.send_close(code)
            transport.disconnect()
        # PING is answered by picows (enable_auto_pong); a PONG ends its reply timer.

    def on_ws_disconnected(self, transport: picows.WSTransport) -> None:
        if self.closed is None:
            self.closed = "connection lost (peer vanished or no pong in time)"
        self._wake()
        # picows keeps a protocol error (an oversized frame, a broken frame) in the future that
        # wait_disconnected() awaits; take it, or asyncio logs it as "never retrieved" once the
        # socket is gone. The reason is already in ``closed``.
        with contextlib.suppress(RuntimeError):  # no running loop any more: nothing to log either
            asyncio.ensure_future(transport.wait_disconnected()).add_done_callback(_taken)

    def _deliver(self, message: str | bytes, *, behind: bool = False) -> None:
        messages = self.messages
        messages.append(message)
        # Stop reading while messages wait: soon when the consumer refused them (it is behind, or
        # takes every frame through awaits: a sink), else at the high-water mark.
        limit = _BEHIND if behind else self._high_water
        if len(messages) >= limit and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.underlying_transport.pause_reading()
        self._wake()

    def take(self) -> str | bytes:
        """The oldest queued message, for the pull loop, which holds it until it asks again."""
        self.holding = True
        message = self.messages.popleft()
        self._resume()
        return message

    def _catch_up(self, push: Callable[[str | bytes], bool]) -> None:
        messages = self.messages
        while messages and push(messages[0]):
            messages.popleft()
        self._resume()

    def _resume(self) -> None:
        if self.paused and len(self.messages) < 64 and self.transport is not None:
            self.paused = False
            _resume_reading(self.transport.underlying_transport, self.tls)

    def _fail(self, transport: picows.WSTransport, reason: str) -> None:
        self.closed = reason
        transport.send_close(picows.WSCloseCode.MESSAGE_TOO_BIG)
        transport.disconnect()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


_TEXT = picows.WSMsgType.TEXT if picows is not None else None
_BINARY = picows.WSMsgType.BINARY if picows is not None else None
_READ_BUFFER = 4096
"""Initial read buffer per connection (bytes); picows doubles it whenever a read fills it."""
_MAX_READ = 16 * 1024
"""Most bytes one read hands picows (see :class:`_CappedReads`)."""
_BEHIND = 256
"""Messages a consumer that refused them may have waiting before the socket stops reading."""


class _CappedReads(asyncio.BufferedProtocol):
    """picows's protocol, reading at most ``cap`` bytes at a time and one read per loop turn.

    picows doubles its read buffer whenever a read fills it, and the event loop reads a
    socket again at once while reads come back full: under a flood one turn of the loop
    parsed tens of thousands of frames before anything else ran (the ``async for``
    consumer, pings, REST answers, the other connections), and the events of a whole turn
    piled up in the queue, or past it. Here a read is at most ``cap`` bytes (a few hundred
    frames), and after a full one the socket waits for the next turn of the loop. Over TLS
    the transport already stops after a budget of bytes per turn: reads are only capped.
    """

    def __init__(self, protocol: Any, transport: asyncio.Transport, listener: _Listener, cap: int) -> None:
        self._protocol = protocol
        self._transport = transport
        self._listener = listener
        self._cap = cap
        self._get_buffer = protocol.get_buffer
        self._buffer_updated = protocol.buffer_updated
        self._loop = asyncio.get_running_loop()

    def get_buffer(self, sizehint: int) -> memoryview:
        view: memoryview = self._get_buffer(sizehint)
        return view[: self._cap] if len(view) > self._cap else view

    def buffer_updated(self, nbytes: int) -> None:
        self._buffer_updated(nbytes)
        # Over TLS the transport already stops after a budget of bytes per turn, and pausing
        # and resuming it is not free of risk there (see _resume_reading): only capped.
        listener = self._listener
        if nbytes >= self._cap and not listener.tls and not listener.paused and not self._transport.is_closing():
            self._transport.pause_reading()
            self._loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        # The listener may have paused reading meanwhile (messages waiting): it resumes then.
        if not self._listener.paused and not self._transport.is_closing():
            self._transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._protocol.connection_lost(exc)

    def eof_received(self) -> bool | None:
        result: bool | None = self._protocol.eof_received()
        return result

    def pause_writing(self) -> None:
        self._protocol.pause_writing()

    def resume_writing(self) -> None:
        self._protocol.resume_writing()


def _resume_reading(transport: Any, tls: bool) -> None:
    """Resume a paused transport, and over TLS have what it already holds read at once.

    picows's TLS transport (aiofastnet) resumes by scheduling a socket read, which returns as
    soon as the socket has nothing new: records it had already received stay in its TLS
    buffers until the next packet arrives (on a quiet feed, indefinitely). Its ``_do_read``
    hands them over; where it has none, resuming is all there is to do.
    """
    transport.resume_reading()
    if tls:
        do_read = getattr(transport, "_do_read", None)
        if do_read is not None:
            asyncio.get_running_loop().call_soon(do_read)


def _text(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data  # handed on as bytes: the adapter reports it, the connection goes on


def _taken(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


class PicowsSocket:
    """An open picows websocket (see :class:`~collector.transport.Socket`)."""

    __slots__ = ("_listener", "_transport")

    def __init__(self, transport: picows.WSTransport, listener: _Listener) -> None:
        self._transport = transport
        self._listener = listener

    async def recv(self) -> str | bytes:
        listener = self._listener
        messages = listener.messages
        listener.holding = False  # the caller is done with the message it had
        while not messages:
            if listener.closed is not None:
                raise SocketClosed(listener.closed)
            listener.waiter = asyncio.get_running_loop().create_future()
            try:
                await listener.waiter
            finally:
                listener.waiter = None
        return listener.take()

    def recv_now(self) -> str | bytes | None:
        """The next queued message without waiting, or ``None`` when none is queued (then await
        :meth:`recv`). Like :meth:`recv`, calling it says the previous message is dealt with."""
        listener = self._listener
        if not listener.messages:
            listener.holding = False
            return None
        return listener.take()

    def set_push(self, push: Callable[[str | bytes], bool] | None) -> None:
        """Hand each whole text message to ``push`` as it is parsed, instead of queueing it for
        :meth:`recv`; ``push`` returns ``False`` when it cannot take one now (it is queued then,
        and so are the messages after it, until :meth:`recv` has drained them). It must not
        raise. ``None`` turns pushing off."""
        self._listener.push = push

    async def send(self, data: str | bytes) -> None:
        listener = self._listener
        if listener.closed is not None or self._transport.is_disconnected:
            raise SocketClosed(listener.closed or "connection lost")
        if isinstance(data, str):
            self._transport.send(picows.WSMsgType.TEXT, data.encode())
        else:
            self._transport.send(picows.WSMsgType.BINARY, data)

    async def close(self) -> None:
        transport = self._transport
        try:
            if not transport.is_disconnected:
                if self._listener.closed is None:
                    self._listener.closed = "closed"
                transport.send_close(picows.WSCloseCode.OK)
                await asyncio.wait_for(transport.wait_disconnected(), 2.0)
        except Exception:  # a bounded, polite close; whatever happens, the socket goes
            self.abort()

    def abort(self) -> None:
        if self._listener.closed is None:
            self._listener.closed = "aborted"
        self._transport.disconnect(graceful=False)


class PicowsTransport:
    """Opens picows websockets. ``max_size`` bounds one message; ``high_water`` the frames queued unread."""

    def __init__(self, *, max_size: int = 16 * 1024 * 1024, high_water: int = 10_000) -> None:
        if picows is None:
            raise UsageError("the picows transport is not installed: pip install 'crypto-collector[fast]'")
        self.max_size = max_size
        self.high_water = high_water

    async def connect(
        self,
        url: str,
        *,
        headers: dict[str, str],
        ping_interval: float | None,
        ping_timeout: float | None,
        open_timeout: float,
    ) -> Socket:
        pinging = ping_interval is not None
        interval = ping_interval or 20.0
        # picows waits for a pong at most until the next ping is due.
        reply_timeout = min(ping_timeout or interval, interval)
        try:
            transport, listener = await asyncio.wait_for(
                picows.ws_connect(
                    lambda: _Listener(self.max_size, self.high_water),
                    url,
                    websocket_handshake_timeout=open_timeout,
                    enable_auto_ping=pinging,
                    auto_ping_idle_timeout=interval,
                    auto_ping_reply_timeout=reply_timeout,
                    auto_ping_strategy=picows.WSAutoPingStrategy.PING_PERIODICALLY,
                    max_frame_size=self.max_size,
                    extra_headers=headers or None,
                    logger_name="collector",
                    # picows starts every connection with a 16 KiB read buffer and doubles it
                    # whenever a read fills it; most connections carry small frames, and with
                    # thousands of them the initial size is a third of their memory.
                    read_buffer_init_size=_READ_BUFFER,
                ),
                open_timeout,
            )
        except picows.WSInvalidURL as exc:
            raise BadAddress(f"not a websocket address: {exc}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise BadAddress(f"TLS certificate rejected: {exc.verify_message or exc}") from exc
        except picows.WSInvalidStatusError as exc:
            status = exc.response.status if exc.response is not None else 0
            raise HandshakeRejected(f"handshake rejected: HTTP {int(status)}", int(status)) from exc
        except picows.WSError as exc:
            raise SocketClosed(f"handshake failed: {exc}") from exc
        assert isinstance(listener, _Listener)
        return PicowsSocket(transport, listener)
