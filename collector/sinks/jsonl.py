"""A sink that writes events as JSON lines to a binary stream (stdout by default)."""

from __future__ import annotations

import sys
from typing import BinaryIO

from ..codec import encode_event
from ..models import Event

__all__ = ["JsonLinesSink"]


class JsonLinesSink:
    """Write each event's JSON (design.md contract) and a newline to ``stream``.

    Lines are buffered by the stream; :meth:`close` flushes it, and closes it when the
    sink owns it (opened from ``path``, or passed with ``owned=True``).
    """

    def __init__(self, stream: BinaryIO | None = None, *, path: str | None = None, owned: bool = False) -> None:
        self._owned = owned or path is not None
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

    async def close(self) -> None:
        """Flush, and close the stream if this sink owns it."""
        self._stream.flush()
        if self._owned:
            self._stream.close()
