"""A sink that writes events as JSON lines to a binary stream (stdout by default)."""

from __future__ import annotations

import sys
from typing import BinaryIO

from ..codec import encode_event
from ..models import Event

__all__ = ["JsonLinesSink"]


class JsonLinesSink:
    """Write each event's JSON (design.md contract) and a newline to ``stream``.

    Lines are buffered by the stream; :meth:`close` flushes it (and closes it when the
    sink opened it from a path).
    """

    def __init__(self, stream: BinaryIO | None = None, *, path: str | None = None) -> None:
        self._owned = path is not None
        if path is not None:
            self._stream: BinaryIO = open(path, "wb")  # noqa: SIM115 - closed in close()
        else:
            self._stream = stream if stream is not None else sys.stdout.buffer
        self.written = 0

    async def start(self) -> None:
        """Nothing to open."""

    async def write(self, event: Event) -> None:
        """Write one line."""
        self._stream.write(encode_event(event) + b"\n")
        self.written += 1

    def write_now(self, event: Event) -> None:
        """Synchronous :meth:`write`, for replay loops that have no event loop."""
        self._stream.write(encode_event(event) + b"\n")
        self.written += 1

    async def close(self) -> None:
        """Flush, and close the file if this sink opened it."""
        self._stream.flush()
        if self._owned:
            self._stream.close()
