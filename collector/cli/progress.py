"""A one-line progress display on stderr, only when stderr is a terminal."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Rewrites one status line (``frames``, ``events``, rate, elapsed) at most ``hz`` times a second.

    Silent when ``stream`` is not a terminal (a pipe, a log file, CI), so scripts see only
    the final summary line the command prints itself.
    """

    def __init__(self, label: str, stream: TextIO | None = None, *, hz: float = 4.0) -> None:
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = self.stream.isatty()
        self._period = 1.0 / hz
        self._start = time.monotonic()
        self._next = self._start
        self._shown = False

    def update(self, events: int, frames: int | None = None) -> None:
        """Show the counts if the last update is old enough (cheap to call per event)."""
        if not self.enabled:
            return
        now = time.monotonic()
        if now < self._next:
            return
        self._next = now + self._period
        elapsed = max(now - self._start, 1e-9)
        parts = [self.label]
        if frames is not None:
            parts.append(f"{frames:,} frames")
        parts.append(f"{events:,} events ({events / elapsed:,.0f}/s)")
        parts.append(f"{elapsed:,.1f}s")
        self.stream.write("\r\x1b[2K" + ", ".join(parts))
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        """Clear the line so the command's summary starts clean."""
        if self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False
