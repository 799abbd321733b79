"""Capture-fed mode: a recorded session, indexed so the server can play it to clients.

A :class:`Recording` keeps the capture's received frames in time order, each tagged
with the stream key its wire format gives it (:meth:`WireFormat.tag_recorded`: Binance's
combined-stream name, Bybit's ``<category>:<topic>``, Upbit's ``type|code|stream_type``),
and the recorded REST responses keyed by endpoint and instrument parameter. The server
plays the frames to every connection from the start of the recording once it
subscribes, sending only frames of streams that connection asked for; REST calls are
answered with the recorded bodies.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from ..actions import RestRequest
from ..capture import Frame, read_capture
from ..errors import CaptureError, UsageError
from ..exchanges import EXCHANGES, create
from ..replay import detect_exchange
from .wire import RestAnswer, WireFormat

__all__ = ["Recorded", "Recording"]


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded frame: receipt time, stream key (``None``: played to every client) and data."""

    ts: float
    stream: str | None
    data: str | bytes
    book_key: str | None


class Recording:
    """The playable content of a capture for one exchange.

    ``source`` is a capture path or its frames (:func:`collector.read_capture`).
    ``exchange`` overrides the exchange detected from the ``connect`` records. Call
    :meth:`index` with the exchange's wire format before playing it.
    """

    def __init__(self, source: str | Path | Iterable[Frame], exchange: str | None = None) -> None:
        frames = read_capture(source) if isinstance(source, str | Path) else list(source)
        frames.sort(key=lambda f: f.ts)
        self.exchange = exchange or detect_exchange(frames)
        self.frames: list[Recorded] = []
        self.streams: frozenset[str] = frozenset()
        """Every stream key of the recording."""
        self.skipped: Counter[str] = Counter()
        """Recorded frames that are never played, by reason (``reply``: answers to the recorder's requests)."""
        self._wire: WireFormat | None = None
        self._http: dict[tuple[str, str], list[bytes]] = {}
        self._served: dict[tuple[str, str], int] = {}
        self._http_urls: list[tuple[str, bytes]] = []
        self._raw = [f for f in frames if f.kind in ("recv", "http", "connect")]
        if not any(f.kind == "recv" for f in self._raw):
            raise CaptureError("the capture has no received frames to play")

    def index(self, wire: WireFormat) -> None:
        """Tag frames with their stream keys using ``wire`` (call once before playing)."""
        self._wire = wire
        routes: dict[str, str | None] = {}  # recorded connection id -> route of its address
        for frame in self._raw:
            if frame.kind == "connect":
                routes[frame.conn] = _route(wire, frame.url)
            elif frame.kind == "http":
                body = frame.data.encode() if isinstance(frame.data, str) else frame.data
                self._http.setdefault(self._rest_key(frame.url), []).append(body)
                self._http_urls.append((frame.url, body))
            else:
                tag = wire.tag_recorded(routes.get(frame.conn), frame.data)
                if tag.skip:
                    self.skipped[tag.skip] += 1
                    continue
                self.frames.append(Recorded(frame.ts, tag.stream, frame.data, tag.book_key))
        self.streams = frozenset(f.stream for f in self.frames if f.stream is not None)
        self._raw = []

    @property
    def wire(self) -> WireFormat:
        """The wire format given to :meth:`index`."""
        if self._wire is None:
            raise UsageError("the recording is not indexed yet; call index(wire) first")
        return self._wire

    @property
    def start(self) -> float:
        """Receipt time of the first playable frame."""
        return self.frames[0].ts if self.frames else 0.0

    def natives(self) -> dict[str, str]:
        """Unified symbol -> market key (:meth:`WireFormat.listed_key`), from the recorded instrument lists.

        Empty if none was recorded. Bybit's keys carry the category (``linear:BTCUSDT``).
        """
        adapter = create(self.exchange)
        wire = self.wire
        listings = {urlsplit(request.url).path for request in adapter.instrument_requests()}
        result: dict[str, str] = {}
        for url, body in self._http_urls:
            if urlsplit(url).path not in listings:
                continue
            try:
                instruments = adapter.parse_instruments(RestRequest(url, "instruments"), body)
            except ValueError:
                continue
            result.update({inst.symbol: wire.listed_key(url, inst.native) for inst in instruments})
        return result

    def _rest_key(self, url: str) -> tuple[str, str]:
        """(endpoint, instrument) of a URL, as replay pairs requests with recorded responses, but host-free."""
        _, endpoint, instrument = EXCHANGES[self.exchange].match_key(url)
        return endpoint, instrument

    def answer(self, path: str, query: Mapping[str, str]) -> RestAnswer | None:
        """The recorded response to ``GET path?query``, ``None`` if the recording has none.

        Responses recorded for the same endpoint and instrument (see the adapter's ``match_key``)
        are served in recorded order;
        after the last one it is served again.
        """
        key = self._rest_key(f"{path}?{urlencode(query)}")
        bodies = self._http.get(key)
        if not bodies:
            return None
        served = self._served.get(key, 0)
        self._served[key] = served + 1
        return RestAnswer(200, bodies[min(served, len(bodies) - 1)])


def _route(wire: WireFormat, url: str) -> str | None:
    """The route of a recorded connection: the longest tail of its path the wire serves.

    Real addresses (``wss://stream.bybit.com/v5/public/linear``) and ones recorded against
    a simulator (``ws://127.0.0.1:P/bybit/v5/public/linear``) both resolve.
    """
    parts = urlsplit(url).path.strip("/").split("/")
    for i in range(len(parts)):
        route = wire.ws_route("/".join(parts[i:]))
        if route is not None:
            return route
    return None
