"""Websocket transports: the small interface the connection layer talks to.

:class:`WebsocketsTransport` (the default) wraps the ``websockets`` library. A faster
transport only has to provide :class:`Transport` and :class:`Socket`; nothing else in
collector imports a websocket library.

Connect failures are told apart here, in one place: :class:`HandshakeRejected` (the
server answered the upgrade with an HTTP status) and :class:`BadAddress` (the URL cannot
be connected to at all) carry what :func:`collector.connection.is_fatal` needs to decide
between retrying and giving up.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Protocol

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.messages import Assembler
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.typing import Data

__all__ = [
    "TRANSPORTS",
    "BadAddress",
    "HandshakeRejected",
    "Socket",
    "SocketClosed",
    "Transport",
    "WebsocketsTransport",
    "create_transport",
]

TRANSPORTS = ("websockets", "picows")
"""Transport names :func:`create_transport` knows."""


class SocketClosed(Exception):
    """The socket is gone (or never opened); ``reason`` says why (close code, keepalive timeout, ...)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class HandshakeRejected(SocketClosed):
    """The server answered the websocket upgrade with HTTP ``status`` instead of 101."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


class BadAddress(SocketClosed):
    """The URL is not a websocket address we can connect to (scheme, host, certificate)."""


class Socket(Protocol):
    """An open websocket."""

    async def recv(self) -> str | bytes:
        """The next message (``str`` for text frames); raises :class:`SocketClosed`."""
        ...

    async def send(self, data: str | bytes) -> None:
        """Send one message; raises :class:`SocketClosed`."""
        ...

    async def close(self) -> None:
        """Close politely (bounded wait); never raises."""
        ...

    def abort(self) -> None:
        """Drop the TCP connection at once, without a closing handshake."""
        ...


class Transport(Protocol):
    """Opens sockets. ``ping_interval``/``ping_timeout`` ask for protocol pings (``None``: off)."""

    async def connect(
        self,
        url: str,
        *,
        headers: dict[str, str],
        ping_interval: float | None,
        ping_timeout: float | None,
        open_timeout: float,
    ) -> Socket:
        """Open a websocket to ``url``; raises ``OSError``, ``TimeoutError`` or :class:`SocketClosed`."""
        ...


class _LenientAssembler(Assembler):
    """websockets' message assembler, except that a text message that is not UTF-8 comes out
    as its bytes instead of failing the connection with 1007.

    An exchange that sends one bad text frame should cost one ``error`` event (the adapter
    reports undecodable frames), not the connection and every book on it; the picows
    transport behaves the same way.
    """

    async def get(self, decode: bool | None = None) -> Data:  # type: ignore[override]
        try:
            return await super().get(decode)
        except UnicodeDecodeError as exc:
            # The message was taken off the queue whole before decoding failed: its bytes are
            # the error's object, and the assembler is ready for the next message.
            return bytes(exc.object)


class _Connection(ClientConnection):
    """A websockets client connection with :class:`_LenientAssembler`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # creates the assembler
        # Same state, one method changed. Only on the assembler this was written against: a
        # websockets release that assembles messages differently keeps its own behaviour
        # (the transport tests say so) rather than breaking every connection.
        if type(getattr(self, "recv_messages", None)) is Assembler:
            self.recv_messages.__class__ = _LenientAssembler


class _WebsocketsSocket:
    __slots__ = ("_ws",)

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    async def recv(self) -> str | bytes:
        try:
            return await self._ws.recv()
        except ConnectionClosed as exc:
            raise SocketClosed(_reason(exc)) from exc

    async def send(self, data: str | bytes) -> None:
        try:
            await self._ws.send(data)
        except ConnectionClosed as exc:
            raise SocketClosed(_reason(exc)) from exc

    async def close(self) -> None:
        try:
            await self._ws.close()
        except Exception:
            self.abort()

    def abort(self) -> None:
        transport = self._ws.transport
        if transport is not None:
            transport.abort()


def _reason(exc: ConnectionClosed) -> str:
    rcvd = exc.rcvd
    if rcvd is None:
        # No close frame: the peer vanished or our keepalive ping timed out (code 1011).
        sent = exc.sent
        return f"no close frame from peer ({sent.reason or sent.code})" if sent else "connection lost"
    return f"closed by peer: {rcvd.code} {rcvd.reason}".rstrip()


class WebsocketsTransport:
    """The default transport, on the ``websockets`` asyncio client.

    ``max_size`` bounds one message (Binance snapshots on websockets can be a few MB).
    """

    def __init__(self, *, max_size: int = 16 * 1024 * 1024) -> None:
        self.max_size = max_size

    async def connect(
        self,
        url: str,
        *,
        headers: dict[str, str],
        ping_interval: float | None,
        ping_timeout: float | None,
        open_timeout: float,
    ) -> Socket:
        try:
            ws = await websockets.connect(
                url,
                additional_headers=headers or None,
                ping_interval=ping_interval,
                ping_timeout=ping_timeout,
                open_timeout=open_timeout,
                close_timeout=2.0,
                max_size=self.max_size,
                # Exchanges send many small frames: per-message deflate costs more CPU than it saves.
                compression=None,
                create_connection=_Connection,
            )
        except InvalidURI as exc:
            raise BadAddress(f"not a websocket address: {exc}") from exc
        except ssl.SSLCertVerificationError as exc:
            raise BadAddress(f"TLS certificate rejected: {exc.verify_message or exc}") from exc
        except InvalidStatus as exc:
            status = exc.response.status_code
            raise HandshakeRejected(f"handshake rejected: HTTP {status}", status) from exc
        except InvalidHandshake as exc:
            raise SocketClosed(f"handshake failed: {exc}") from exc
        return _WebsocketsSocket(ws)


def create_transport(choice: str | Transport | None = None) -> Transport:
    """A transport by name (``websockets``, ``picows``), or ``choice`` itself when it is one.

    ``None`` reads ``COLLECTOR_TRANSPORT`` from the environment (default ``websockets``).
    Raises :class:`~collector.errors.UsageError` for an unknown name, or for ``picows``
    when it is not installed (``pip install 'crypto-collector[fast]'``).
    """
    if choice is not None and not isinstance(choice, str):
        return choice
    name = choice or os.environ.get("COLLECTOR_TRANSPORT") or "websockets"
    if name == "websockets":
        return WebsocketsTransport()
    if name == "picows":
        from .transport_picows import PicowsTransport

        return PicowsTransport()
    from .errors import UsageError

    raise UsageError(f"no transport {name!r}; use one of {', '.join(TRANSPORTS)}")
