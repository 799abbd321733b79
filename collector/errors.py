"""The one exception tree of collector.

::

    CollectorError
    ├── UsageError            you asked for something that cannot work
    │   ├── UnknownExchange   no adapter with that id
    │   ├── UnknownSymbol     the exchange lists no such instrument
    │   └── UnknownChannel    the adapter does not offer that channel
    ├── RemoteError           the exchange (or a capture of it) misbehaved
    │   ├── MalformedFrame    a frame could not be decoded
    │   ├── HttpError         a REST call failed after its retries
    │   └── ConnectionFailed  every connection failed for good (a 4xx handshake, a bad URL)
    ├── CaptureError          a capture file is unreadable or not in the capture format
    └── SinkError             a sink could not take or deliver events
        ├── BufferOverflow    overflow="fail" and the buffer is full
        ├── BrokerUnavailable the broker could not be reached at start
        └── SinkClosed        write() on a closing sink

Adapters never raise :class:`RemoteError` out of a connection: a bad frame becomes an
``error`` event and a counter. The classes are raised to callers only where the caller
can act on them (a misspelled symbol at subscribe time, an unreadable capture path).
"""

from __future__ import annotations

__all__ = [
    "BrokerUnavailable",
    "BufferOverflow",
    "CaptureError",
    "CollectorError",
    "ConnectionFailed",
    "HttpError",
    "MalformedFrame",
    "RemoteError",
    "SinkClosed",
    "SinkError",
    "UnknownChannel",
    "UnknownExchange",
    "UnknownSymbol",
    "UsageError",
]


class CollectorError(Exception):
    """Base class of every error collector raises on purpose."""


class UsageError(CollectorError):
    """The caller asked for something that cannot work; fix the call."""


class UnknownExchange(UsageError):
    """No adapter is registered under this exchange id; see ``collector.exchanges.EXCHANGES``."""


class UnknownSymbol(UsageError):
    """The exchange's instrument list has no such symbol (unified or native)."""


class UnknownChannel(UsageError):
    """The adapter does not offer this channel."""


class RemoteError(CollectorError):
    """The exchange, or a capture of it, sent something we cannot use."""


class MalformedFrame(RemoteError):
    """A websocket frame or REST body could not be decoded into the documented shape."""


class HttpError(RemoteError):
    """A REST request failed for good (after retries, or with a non-retriable status)."""

    def __init__(self, url: str, status: int, body: str = "") -> None:
        super().__init__(f"HTTP {status} for {url}: {body[:200]}")
        self.url = url
        self.status = status
        self.body = body


class ConnectionFailed(RemoteError):
    """Every connection of a collector ended with an error that retrying cannot fix.

    The ``outage`` events with ``kind="fatal"`` say which connection and why (a 404 for a
    wrong endpoint path, a 403 for a blocked region, an address that is not a websocket URL).
    """


class CaptureError(CollectorError):
    """A capture file is missing, unreadable or not in the capture format (design.md)."""


class SinkError(CollectorError):
    """A sink could not take or deliver events."""


class BufferOverflow(SinkError):
    """``write()`` under ``overflow="fail"`` found the buffer full; the event was not taken.

    Slow down, or choose ``block`` (backpressure) or ``drop_oldest`` (bounded loss).
    """


class BrokerUnavailable(SinkError):
    """``start()`` could not reach the bootstrap servers within ``connect_timeout``."""


class SinkClosed(SinkError):
    """``write()`` was called on (or was waiting in) a sink that is closing."""
