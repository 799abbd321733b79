"""Captures: recorded raw frames in the JSON-lines format of design.md.

A capture starts with ``{"t":"header","format":2,"exchange":"BINANCE",...}`` and holds one
object per line: ``connect`` (``addr``), ``send`` (``data``), ``recv`` (``data`` for text
frames, ``b64`` for binary ones), ``http`` (``url``, ``data`` = body), each with ``conn``
and ``ts`` (float seconds). Files ending in ``.zst`` are zstd-compressed.

Read one with :func:`read_capture`; write one with :class:`CaptureWriter` (the
``collector record`` command does). :func:`collector.replay` turns a capture back into
events.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, TypeAlias

import msgspec
import orjson
import zstandard

from .errors import CaptureError

__all__ = ["CaptureWriter", "Frame", "FrameKind", "iter_capture", "read_capture"]

FrameKind: TypeAlias = Literal["header", "connect", "send", "recv", "http"]


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


def _open_text(path: Path) -> IO[bytes]:
    raw = path.open("rb")
    if path.suffix == ".zst":
        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(raw, closefd=True))
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
    """Yield the records of a capture file in file order (the header first, if any)."""
    p = Path(path)
    if not p.exists():
        raise CaptureError(f"no capture at {p}")
    try:
        with _open_text(p) as fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    obj = orjson.loads(line)
                    yield _frame(obj, line_no)
                except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    raise CaptureError(f"{p}:{line_no}: not a capture record: {exc}") from exc
    except zstandard.ZstdError as exc:
        raise CaptureError(f"{p}: not a zstd file: {exc}") from exc


def read_capture(path: str | Path) -> list[Frame]:
    """Return every record of a capture file (see :class:`Frame`); feed them to :func:`collector.replay`."""
    return list(iter_capture(path))


class CaptureWriter:
    """Write a capture file; ``.zst`` paths are zstd-compressed.

    Call :meth:`close` (or use it as a context manager) so the compressed stream is
    finished; an unclosed ``.zst`` capture is truncated.
    """

    def __init__(
        self, path: str | Path, exchange: str, config: dict[str, Any] | None = None, *, recorded: float = 0.0
    ) -> None:
        self.path = Path(path)
        self._raw = self.path.open("wb")
        self._out: IO[bytes]
        if self.path.suffix == ".zst":
            self._out = zstandard.ZstdCompressor(level=3).stream_writer(self._raw, closefd=False)
        else:
            self._out = self._raw
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

    def _write(self, obj: dict[str, Any]) -> None:
        self._out.write(orjson.dumps(obj) + b"\n")
        self.records += 1

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
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()

    def __enter__(self) -> CaptureWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
