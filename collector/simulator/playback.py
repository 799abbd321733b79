"""Capture-fed mode: a recorded session, indexed so the server can play it to clients.

A :class:`Recording` keeps the capture's received frames in time order, each tagged
with its stream name, and the recorded REST responses keyed by path and ``symbol``
parameter. The server plays the frames to every connection from the start of the
recording once it subscribes, sending only frames of streams that connection asked
for; REST calls are answered with the recorded bodies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import orjson

from ..actions import RestRequest
from ..capture import Frame, read_capture
from ..errors import CaptureError
from ..exchanges import create
from ..replay import detect_exchange
from .wire import RestAnswer, WireFormat

__all__ = ["Recorded", "Recording"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded frame: receipt time, stream (``None`` for frames without one) and data."""

    ts: float
    stream: str | None
    data: str | bytes
    book_key: str | None


class Recording:
    """The playable content of a capture for one exchange.

    ``source`` is a capture path or its frames (:func:`collector.read_capture`).
    ``exchange`` overrides the exchange detected from the ``connect`` records.
    """

    def __init__(self, source: str | Path | Iterable[Frame], exchange: str | None = None) -> None:
        frames = read_capture(source) if isinstance(source, str | Path) else list(source)
        frames.sort(key=lambda f: f.ts)
        self.exchange = exchange or detect_exchange(frames)
        self.frames: list[Recorded] = []
        self._http: dict[tuple[str, str], list[bytes]] = {}
        self._served: dict[tuple[str, str], int] = {}
        self._http_urls: list[tuple[str, bytes]] = []
        self._raw = [f for f in frames if f.kind in ("recv", "http")]
        if not any(f.kind == "recv" for f in self._raw):
            raise CaptureError("the capture has no received frames to play")

    def index(self, wire: WireFormat) -> None:
        """Tag frames with their streams using ``wire`` (call once before playing)."""
        for frame in self._raw:
            if frame.kind == "http":
                body = frame.data.encode() if isinstance(frame.data, str) else frame.data
                parts = urlsplit(frame.url)
                key = (parts.path, dict(parse_qsl(parts.query)).get("symbol", ""))
                self._http.setdefault(key, []).append(body)
                self._http_urls.append((frame.url, body))
                continue
            stream: str | None = None
            if isinstance(frame.data, str):
                try:
                    obj = orjson.loads(frame.data)
                except orjson.JSONDecodeError:
                    obj = None
                if isinstance(obj, dict):
                    if "stream" not in obj and ("result" in obj or "id" in obj):
                        # A recorded reply to the recorder's own request; the server makes its own.
                        continue
                    stream = obj.get("stream")
            book_key = wire.stream_book_key(stream) if stream else None
            self.frames.append(Recorded(frame.ts, stream, frame.data, book_key))
        self._raw = []

    @property
    def start(self) -> float:
        """Receipt time of the first playable frame."""
        return self.frames[0].ts if self.frames else 0.0

    def natives(self) -> dict[str, str]:
        """Unified symbol -> native id, from the recorded instrument list (empty if none was recorded)."""
        adapter = create(self.exchange)
        result: dict[str, str] = {}
        for url, body in self._http_urls:
            request = RestRequest(url, "instruments")
            if urlsplit(url).path != urlsplit(adapter.instrument_requests()[0].url).path:
                continue
            try:
                result.update({inst.symbol: inst.native for inst in adapter.parse_instruments(request, body)})
            except ValueError:
                continue
        return result

    def answer(self, path: str, query: Mapping[str, str]) -> RestAnswer:
        """The recorded response to ``GET path?query``.

        Responses recorded for the same path and symbol are served in recorded order; after
        the last one it is served again. Anything not recorded answers 404.
        """
        key = (path, query.get("symbol", ""))
        bodies = self._http.get(key)
        if not bodies:
            return RestAnswer(404, orjson.dumps({"code": -1, "msg": f"{path} {key[1]} is not in the recording"}))
        served = self._served.get(key, 0)
        self._served[key] = served + 1
        return RestAnswer(200, bodies[min(served, len(bodies) - 1)])
