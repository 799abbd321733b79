"""HTX frame compression: every server frame is a gzip-compressed JSON document.

"All return data of websocket Market APIs are compressed with GZIP so they need to be
unzipped" (spot and every ``hbdm`` endpoint alike). :func:`inflate` undoes it with a
hard bound on the output: a frame that would inflate past :data:`MAX_INFLATED` bytes (a
gzip bomb: a few kilobytes that expand to gigabytes) is refused after that many bytes
were produced, never held whole in memory. The simulator compresses with :func:`deflate`.
"""

from __future__ import annotations

import gzip
import zlib

__all__ = ["GZIP_MAGIC", "MAX_INFLATED", "FrameError", "deflate", "inflate"]

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of every gzip stream (RFC 1952, ID1 ID2)."""

MAX_INFLATED = 4 << 20
"""Bytes of JSON one frame may inflate to. The largest frames HTX sends are 400-level
book snapshots and whole-market notifications, tens of kilobytes; 4 MiB leaves ample room."""

_GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's "gzip header and trailer" mode


class FrameError(ValueError):
    """A binary frame that is not a complete gzip stream within the size bound."""


def inflate(frame: bytes) -> bytes:
    """The JSON inside a gzip frame; raises :class:`FrameError` for a frame that is not one.

    Decompression stops at :data:`MAX_INFLATED` bytes: whatever is left means the frame
    is too large (or hostile), and it is reported instead of inflated further.
    """
    stream = zlib.decompressobj(_GZIP_WBITS)
    try:
        data = stream.decompress(frame, MAX_INFLATED)
    except zlib.error as exc:
        raise FrameError(f"not a gzip frame: {exc}") from None
    if stream.unconsumed_tail:
        raise FrameError(f"inflates past {MAX_INFLATED} bytes")
    if not stream.eof:
        raise FrameError("truncated gzip frame")
    return data


def deflate(data: bytes) -> bytes:
    """``data`` as HTX sends it: one gzip member (fixed header time, so output is reproducible)."""
    return gzip.compress(data, compresslevel=6, mtime=0)
