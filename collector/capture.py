"""Captures: recorded raw frames in the JSON-lines format of design.md.

A capture starts with ``{"t":"header","format":2,"exchange":"BINANCE",...}`` and holds one
object per line: ``connect`` (``addr``), ``send`` (``data``), ``recv`` (``data`` for text
frames, ``b64`` for binary ones), ``http`` (``url``, ``data`` = body), each with ``conn``
and ``ts`` (float seconds). Files ending in ``.zst`` are zstd-compressed.

Read one lazily with :func:`iter_capture` (memory stays bounded whatever the file's size:
one line at a time, at most ``MAX_LINE`` bytes each) or whole with :func:`read_capture`;
write one with :class:`CaptureWriter` (the ``collector record`` command does), which
ends a complete zstd frame every few seconds so a recording killed mid-way still reads
up to its last flush. :func:`collector.replay` turns a capture back into events.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, TypeAlias

import msgspec
import orjson
import zstandard

from .errors import CaptureError

__all__ = ["MAX_LINE", "CaptureTruncated", "CaptureWriter", "Frame", "FrameKind", "iter_capture", "read_capture"]

FrameKind: TypeAlias = Literal["header", "connect", "send", "recv", "http"]

MAX_LINE = 64 * 1024 * 1024
"""The longest capture line read (a whole REST body is one line); longer is an error, not a crash."""


class CaptureTruncated(CaptureError):
    """The capture ends in the middle of a record (a recording that was killed); ``line`` is where."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class Frame(msgspec.Struct, frozen=True, gc=False):
    """One capture record.

    ``data`` is the frame (``str`` for text, ``bytes`` for binary) for ``recv``/``send``,
    the response body for ``http``, and the header's JSON for ``header``. ``url`` is the
    request URL of an ``http`` record or the address of a ``connect`` record.
    """

    kind: FrameKind
    conn: str
    ts: float
    data: str | bytes = ""
    url: str = ""


def _open(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    if path.suffix == ".zst":
        # A recording flushes complete frames as it goes: read across them.
        reader = zstandard.ZstdDecompressor().stream_reader(raw, closefd=True, read_across_frames=True)
        return io.BufferedReader(reader, buffer_size=1 << 20)
    return raw


def _frame(obj: dict[str, Any], line_no: int) -> Frame:
    kind = obj.get("t")
    if kind == "recv":
        if "b64" in obj:
            return Frame("recv", obj["conn"], float(obj["ts"]), base64.b64decode(obj["b64"]))
        return Frame("recv", obj["conn"], float(obj["ts"]), obj["data"])
    if kind == "send":
        return Frame("send", obj["conn"], float(obj["ts"]), obj.get("data", ""))
    if kind == "http":
        return Frame("http", obj.get("conn", ""), float(obj["ts"]), obj.get("data", ""), obj["url"])
    if kind == "connect":
        return Frame("connect", obj["conn"], float(obj["ts"]), "", obj.get("addr", ""))
    if kind == "header":
        return Frame("header", "", float(obj.get("recorded", 0.0)), orjson.dumps(obj).decode())
    raise CaptureError(f"line {line_no}: unknown record type {kind!r}")


def iter_capture(path: str | Path) -> Iterator[Frame]:
    """Yield the records of a capture file in file order (the header first, if any).

    Raises :class:`CaptureError` for a file that is missing, a directory, not zstd or not
    capture records, and :class:`CaptureTruncated` — after yielding every complete record —
    when the file stops in the middle of one (a recording that was killed).
    """
    p = Path(path)
    if p.is_dir():
        raise CaptureError(f"{p} is a directory, not a capture file")
    if not p.exists():
        raise CaptureError(f"no capture at {p}")
    line_no = 0
    try:
        with _open(p) as fh:
            while True:
                line = fh.readline(MAX_LINE + 1)
                if not line:
                    return
                line_no += 1
                if len(line) > MAX_LINE:
                    raise CaptureError(f"{p}:{line_no}: a record longer than {MAX_LINE} bytes")
                if not line.strip():
                    continue
                if not line.endswith(b"\n"):
                    # The last line of a killed recording: complete if it parses, cut off if not.
                    try:
                        obj = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        raise CaptureTruncated(f"{p}: the capture ends mid-record at line {line_no}", line_no) from None
                    yield _frame(obj, line_no)
                    return
                try:
                    obj = orjson.loads(line)
                    yield _frame(obj, line_no)
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise CaptureError(f"{p}:{line_no}: not a capture record: {exc}") from exc
    except zstandard.ZstdError as exc:
        if line_no:
            raise CaptureTruncated(f"{p}: the compressed data ends after line {line_no} ({exc})", line_no) from exc
        raise CaptureError(f"{p}: not a zstd file: {exc}") from exc
    except OSError as exc:
        raise CaptureError(f"{p}: cannot read: {exc.strerror or exc}") from exc


def read_capture(path: str | Path) -> list[Frame]:
    """Every record of a capture file (see :class:`Frame`), in memory; prefer :func:`iter_capture` for big ones."""
    return list(iter_capture(path))


class CaptureWriter:
    """Write a capture file; ``.zst`` paths are zstd-compressed.

    Every ``flush_every`` seconds (checked as records are written) the writer ends a
    complete zstd frame and flushes it to the file, so a process killed mid-recording
    leaves a capture that replays up to that point. Call :meth:`close` (or use it as a
    context manager) to finish the file.
    """

    def __init__(
        self,
        path: str | Path,
        exchange: str,
        config: dict[str, Any] | None = None,
        *,
        recorded: float = 0.0,
        flush_every: float = 2.0,
    ) -> None:
        self.path = Path(path)
        try:
            self._raw = self.path.open("wb")
        except OSError as exc:
            raise CaptureError(f"cannot write {self.path}: {exc.strerror or exc}") from exc
        self._zst: Any = None
        self._out: IO[bytes]
        if self.path.suffix == ".zst":
            self._zst = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
            self._out = self._zst
        else:
            self._out = self._raw
        self.flush_every = flush_every
        self._flushed = time.monotonic()
        self.records = 0
        self._write(
            {
                "t": "header",
                "format": 2,
                "exchange": exchange.upper(),
                "config": config or {},
                "recorded": recorded,
            }
        )
        self.flush()

    def _write(self, obj: dict[str, Any]) -> None:
        self._out.write(orjson.dumps(obj) + b"\n")
        self.records += 1
        if time.monotonic() - self._flushed >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        """End the current zstd frame and push everything written so far to the file."""
        if self._zst is not None:
            self._zst.flush(zstandard.FLUSH_FRAME)
        self._raw.flush()
        self._flushed = time.monotonic()

    def connect(self, conn: str, addr: str, ts: float) -> None:
        """Record that connection ``conn`` was opened to ``addr``."""
        self._write({"t": "connect", "conn": conn, "ts": ts, "addr": addr})

    def send(self, conn: str, data: str | bytes, ts: float) -> None:
        """Record a frame we sent."""
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        self._write({"t": "send", "conn": conn, "ts": ts, "data": text})

    def recv(self, conn: str, data: str | bytes, ts: float) -> None:
        """Record a received frame (binary frames are stored base64-encoded as ``b64``)."""
        if isinstance(data, bytes):
            self._write({"t": "recv", "conn": conn, "ts": ts, "b64": base64.b64encode(data).decode()})
        else:
            self._write({"t": "recv", "conn": conn, "ts": ts, "data": data})

    def http(self, url: str, body: bytes, ts: float, conn: str = "http") -> None:
        """Record a REST response body."""
        self._write({"t": "http", "conn": conn, "ts": ts, "url": url, "data": body.decode("utf-8", "replace")})

    def close(self) -> None:
        """Finish the file (ends the zstd frame)."""
        if self._zst is not None:
            self._zst.close()
        self._raw.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
