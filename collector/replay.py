"""Replay: a capture is just another frame source for the same adapter code.

:func:`replay` feeds a capture's frames through the adapter's boundary in timestamp
order, with each frame's recorded time as its receipt time, so a replay is
deterministic. REST requests the adapter makes (instrument lists, book snapshots) are
answered from the capture's ``http`` records, matched by the adapter's ``match_key``
(host, endpoint and instrument parameter), and delivered no earlier than their recorded
time (design.md, "Capture and replay"). Answers to polls (``Adapter.poll_request``: open
interest ...) are delivered unasked at their recorded time.

A capture file is read twice, lazily: once for its header, connections and REST
answers, once for its frames. Memory is bounded by the REST answers it holds, not by the
number of frames. Records are replayed in time order within a window of
:data:`REORDER_WINDOW` records (a recorder writes them as they happen, so they are in
order up to small interleavings between connections and REST workers).
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Iterator
from operator import attrgetter
from pathlib import Path

import orjson

from .actions import Action, Reconnect, RestRequest, SendFrame
from .capture import CaptureTruncated, Frame, iter_capture
from .errors import CaptureError, UnknownExchange
from .exchanges import EXCHANGES, Adapter, ConnectionPlan, create
from .models import Error, Event
from .stats import Stats

__all__ = ["REORDER_WINDOW", "Replay", "detect_exchange", "replay"]

REORDER_WINDOW = 4096
"""Records held back to put a capture file in time order."""

_ACTIONS = (RestRequest, SendFrame, Reconnect)
_ACTION_TYPES = frozenset(_ACTIONS)
_TS = attrgetter("ts")


def _header_exchange(frames: Iterable[Frame]) -> str:
    for frame in frames:
        if frame.kind == "header":
            return str(orjson.loads(frame.data).get("exchange", ""))
    return ""


def detect_exchange(frames: Iterable[Frame]) -> str:
    """The adapter id for a capture: the one whose websocket host appears in its ``connect``
    records, else the header's exchange when it names an adapter (a capture recorded
    against a simulator or testnet). Raises :class:`~collector.errors.UnknownExchange`
    naming the capture's exchange when no adapter serves it."""
    header = ""
    url = ""
    for frame in frames:
        if frame.kind == "header":
            header = str(orjson.loads(frame.data).get("exchange", ""))
        elif frame.kind == "connect":
            url = frame.url
            for exchange_id, cls in EXCHANGES.items():
                if cls.recognizes(url):
                    return exchange_id
            break
    if header.lower() in EXCHANGES:
        return header.lower()
    supported = ", ".join(sorted(EXCHANGES))
    if header:
        raise UnknownExchange(f"{header} is not supported yet; supported: {supported}")
    if url:
        raise UnknownExchange(f"no adapter recognises {url!r}; pass exchange=... (supported: {supported})")
    raise CaptureError("capture has no connect record; pass exchange=... to replay it")


class Replay:
    """One replay run. Iterate it for events; afterwards :attr:`stats` and :attr:`adapter` tell what happened.

    ``source`` is a capture path or the frames themselves (as :func:`collector.read_capture`
    returns them). ``exchange`` overrides the adapter id found from the ``connect``
    records; ``book_top=N`` adds the maintained book's best ``N`` levels to every book
    event. :attr:`warnings` lists what the caller should be told (an ``exchange`` that
    contradicts the capture's header); :attr:`truncated` is set when the capture ended
    mid-record (the events before it are replayed, then an ``error`` event reports it).
    """

    def __init__(
        self,
        source: str | Path | Iterable[Frame],
        *,
        exchange: str | None = None,
        book_top: int | None = None,
    ) -> None:
        self.warnings: list[str] = []
        self.truncated: CaptureTruncated | None = None
        self._path: Path | None = None
        self._frames: list[Frame] | None = None
        if isinstance(source, str | Path):
            self._path = Path(source)
            head = self._scan(self._path)
        else:
            # Records are written as they happen on several connections and REST workers;
            # replay them in time order (stable, so equal times keep file order).
            self._frames = sorted(source, key=_TS)
            head = self._frames
        if exchange is None:
            exchange = detect_exchange(head)
        elif exchange not in EXCHANGES:
            raise UnknownExchange(f"no exchange {exchange!r}; known: {', '.join(sorted(EXCHANGES))}")
        else:
            named = _header_exchange(head)
            if named and named.lower() != exchange and named.lower() in EXCHANGES:
                self.warnings.append(f"the capture's header names {named}, replaying it as {exchange} as asked")
        self.exchange = exchange
        self.adapter: Adapter = create(exchange, book_top=book_top)
        self.stats = Stats()
        # Pending REST answers: (delivery time, order, request, recorded response).
        self._pending: list[tuple[float, int, RestRequest, Frame]] = []
        self._order = 0
        self._http: dict[tuple[str, str, str], deque[Frame]] = {}
        match_key = self.adapter.match_key
        for frame in head:
            if frame.kind != "http":
                continue
            poll = self.adapter.poll_request(frame.url)
            if poll is not None:
                # A polled answer (open interest ...) nobody asks for during replay: it is
                # delivered at the time it was recorded, as the live poll loop received it.
                self._order += 1
                heapq.heappush(self._pending, (frame.ts, self._order, poll, frame))
            else:
                self._http.setdefault(match_key(frame.url), deque()).append(frame)

    def _scan(self, path: Path) -> list[Frame]:
        """First pass over a file: the header, connect and http records (what replay needs up front)."""
        head: list[Frame] = []
        try:
            for frame in iter_capture(path):
                if frame.kind in ("header", "connect", "http"):
                    head.append(frame)
        except CaptureTruncated as exc:
            self.truncated = exc
        head.sort(key=_TS)
        return head

    def _records(self) -> Iterator[Frame]:
        """The capture's records in time order (within the reorder window for files)."""
        if self._frames is not None:
            yield from self._frames
            return
        assert self._path is not None
        heap: list[tuple[float, int, Frame]] = []
        try:
            for n, frame in enumerate(iter_capture(self._path)):
                heapq.heappush(heap, (frame.ts, n, frame))
                if len(heap) > REORDER_WINDOW:
                    yield heapq.heappop(heap)[2]
        except CaptureTruncated as exc:
            self.truncated = exc
        while heap:
            yield heapq.heappop(heap)[2]

    def _answer(self, request: RestRequest) -> Frame | None:
        key = self.adapter.match_key(request.url)
        queue = self._http.get(key)
        if not queue:
            # Recorded against another base URL (a simulator, a testnet, a proxy path
            # prefix): accept the same endpoint path under any host and prefix.
            _, path, instrument = key
            queue = next((q for (_, p, i), q in self._http.items() if q and i == instrument and p.endswith(path)), None)
        if not queue:
            self.stats["unanswered_requests"] += 1
            return None
        return queue.popleft()

    def __iter__(self) -> Iterator[Event]:
        # One event at a time, not in batches: a caller reading the maintained book between
        # events must see it exactly as of the event in hand.
        adapter = self.adapter
        answered = 0
        missing = []
        for request in adapter.instrument_requests():
            answer = self._answer(request)
            if answer is None:
                missing.append(request.url)
            else:
                answered += 1
                yield from self._handle(adapter.answer(request, 200, _body(answer), answer.ts), answer.ts)
        if missing and not answered:
            # A capture need not hold every listing the adapter can ask for (Bybit lists each
            # category apart); only a capture with none at all cannot map its symbols.
            detail = f"capture has no response for {', '.join(missing)}; symbols cannot be mapped"
            yield Error(adapter.id, None, None, 0.0, "replay", "no_instruments", detail)
        pending = self._pending
        receive = adapter.receive
        actions = _ACTION_TYPES
        records = self._frames if self._frames is not None else self._records()
        for frame in records:
            ts = frame.ts
            if pending and pending[0][0] <= ts:
                yield from self._deliver(ts)
            kind = frame.kind
            if kind == "recv":
                out = receive(frame.conn, frame.data, ts)
            elif kind == "connect":
                out = adapter.connected(ConnectionPlan(frame.conn, frame.url), ts)
            else:
                self.stats["skipped." + kind] += 1
                continue
            # The hot path: most frames yield events only, so test for actions inline.
            for item in out:
                if type(item) in actions:
                    self._act(item, ts)  # type: ignore[arg-type]
                else:
                    yield item  # type: ignore[misc]
        # Responses recorded after the last frame would still have arrived: deliver them.
        yield from self._deliver(float("inf"))
        if self.truncated is not None:
            self.stats["truncated"] += 1
            detail = f"{self.truncated}; the events before it were replayed"
            yield Error(adapter.id, None, None, 0.0, "replay", "truncated_capture", detail)

    def _deliver(self, until: float) -> Iterator[Event]:
        """Hand the adapter every pending REST answer due by ``until``."""
        pending = self._pending
        while pending and pending[0][0] <= until:
            due, _, request, answer = heapq.heappop(pending)
            yield from self._handle(self.adapter.answer(request, 200, _body(answer), due), due)

    def _handle(self, out: list[Event | Action], now: float) -> Iterator[Event]:
        for item in out:
            if isinstance(item, _ACTIONS):
                self._act(item, now)
            else:
                yield item

    def _act(self, action: Action, now: float) -> None:
        if isinstance(action, RestRequest):
            answer = self._answer(action)
            if answer is not None:
                self._order += 1
                heapq.heappush(self._pending, (max(now, answer.ts), self._order, action, answer))
        else:
            # A capture cannot answer sends or reconnects; the recorded frames already reflect them.
            self.stats["ignored." + type(action).__name__] += 1


def _body(frame: Frame) -> bytes:
    data = frame.data
    return data.encode() if isinstance(data, str) else data


def replay(
    source: str | Path | Iterable[Frame], *, exchange: str | None = None, book_top: int | None = None
) -> Iterator[Event]:
    """Yield the unified events of a capture, deterministically, through the live adapter code.

    ``source`` is a capture path or frames from :func:`collector.read_capture`. Use
    :class:`Replay` instead when you also want the adapter's counters afterwards.
    """
    return iter(Replay(source, exchange=exchange, book_top=book_top))
