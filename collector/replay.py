"""Replay: a capture is just another frame source for the same adapter code.

:func:`replay` feeds a capture's frames through the adapter in timestamp order, with
each frame's recorded time as its receipt time, so a replay is deterministic. REST
requests the adapter makes (instrument lists, book snapshots) are answered from the
capture's ``http`` records, matched on host, path and the instrument parameter, and
delivered no earlier than their recorded time (design.md, "Capture and replay").
"""

from __future__ import annotations

import heapq
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from operator import attrgetter
from pathlib import Path

import orjson

from .actions import Action, Reconnect, RestRequest, SendFrame
from .capture import Frame, read_capture
from .errors import CaptureError, UnknownExchange
from .exchanges import EXCHANGES, Adapter, ConnectionPlan, create
from .models import Error, Event

__all__ = ["Replay", "detect_exchange", "replay"]

_ACTIONS = (RestRequest, SendFrame, Reconnect)
_ACTION_TYPES = frozenset(_ACTIONS)
_TS = attrgetter("ts")


def detect_exchange(frames: Iterable[Frame]) -> str:
    """The adapter id for a capture: the one whose websocket host appears in its ``connect``
    records, else the header's exchange when it names an adapter (a capture recorded
    against a simulator or testnet)."""
    header_id = ""
    url = ""
    for frame in frames:
        if frame.kind == "header":
            header_id = str(orjson.loads(frame.data).get("exchange", "")).lower()
        elif frame.kind == "connect":
            url = frame.url
            for exchange_id, cls in EXCHANGES.items():
                if cls.recognizes(url):
                    return exchange_id
            break
    if header_id in EXCHANGES:
        return header_id
    if url:
        raise UnknownExchange(f"no adapter recognises {url!r}; pass exchange=...")
    raise CaptureError("capture has no connect record; pass exchange=... to replay it")


class Replay:
    """One replay run. Iterate it for events; afterwards :attr:`stats` and :attr:`adapter` tell what happened.

    ``source`` is a capture path or the frames themselves (as :func:`collector.read_capture`
    returns them). ``exchange`` overrides the adapter id found from the ``connect``
    records; ``book_top=N`` adds the maintained book's best ``N`` levels to every book event.
    """

    def __init__(
        self,
        source: str | Path | Iterable[Frame],
        *,
        exchange: str | None = None,
        book_top: int | None = None,
    ) -> None:
        frames = read_capture(source) if isinstance(source, str | Path) else list(source)
        # Records are written as they happen on several connections and REST workers;
        # replay them in time order (stable, so equal times keep file order).
        self.frames = sorted(frames, key=_TS)
        self.exchange = exchange or detect_exchange(self.frames)
        self.adapter: Adapter = create(self.exchange, book_top=book_top)
        self.stats: Counter[str] = Counter()
        # Pending REST answers: (delivery time, order, request, recorded response).
        self._pending: list[tuple[float, int, RestRequest, Frame]] = []
        self._order = 0
        self._http: dict[tuple[str, str, str], deque[Frame]] = {}
        for frame in self.frames:
            if frame.kind == "http":
                key = RestRequest(frame.url, "").match_key()
                self._http.setdefault(key, deque()).append(frame)

    def _answer(self, request: RestRequest) -> Frame | None:
        key = request.match_key()
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
        for request in adapter.instrument_requests():
            answer = self._answer(request)
            if answer is None:
                yield Error(
                    adapter.id,
                    None,
                    None,
                    0.0,
                    "replay",
                    "no_instruments",
                    f"capture has no response for {request.url}; symbols cannot be mapped",
                )
            else:
                yield from self._handle(adapter.on_http(request, 200, _body(answer), answer.ts), answer.ts)
        pending = self._pending
        parse = adapter.frame_parser()
        stats = self.stats
        for frame in self.frames:
            ts = frame.ts
            if pending and pending[0][0] <= ts:
                yield from self._deliver(ts)
            kind = frame.kind
            if kind == "recv":
                out = parse(frame.conn, frame.data, ts)
            elif kind == "connect":
                out = adapter.on_connect(ConnectionPlan(frame.conn, frame.url), ts)
            else:
                stats["skipped." + kind] += 1
                continue
            # The hot path: most frames yield events only, so test for actions inline.
            for item in out:
                if type(item) in _ACTION_TYPES:
                    self._act(item, ts)  # type: ignore[arg-type]
                else:
                    yield item  # type: ignore[misc]
        # Responses recorded after the last frame would still have arrived: deliver them.
        yield from self._deliver(float("inf"))

    def _deliver(self, until: float) -> Iterator[Event]:
        """Hand the adapter every pending REST answer due by ``until``."""
        pending = self._pending
        while pending and pending[0][0] <= until:
            due, _, request, answer = heapq.heappop(pending)
            yield from self._handle(self.adapter.on_http(request, 200, _body(answer), due), due)

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
