"""The Upbit quotation protocol served by the simulator, for every exchange that speaks it.

:class:`QuotationWire` is the websocket side of ``shared/exchanges/upbit.md`` (markets,
books, REST and hostile frames are :class:`~.simmarkets.QuotationMarkets`'); each exchange's
``sim.py`` subclasses it with its prices, tick table, hosts and :class:`~.simframes.Style`:

- one websocket path, ``/websocket/v1``. A client sends one JSON array (:mod:`.simrequest`);
  there is no acknowledgement, the SNAPSHOT message of every requested stream follows at
  once (unless ``is_only_realtime``; ``is_only_snapshot`` sends only that), and a new
  request **replaces** the previous subscription set. Lower-case or unknown codes, and
  grouping levels a market does not support, are silently ignored (no data ever comes).
  ``PING`` (text) is answered with ``{"status":"UP"}``; ``LIST_SUBSCRIPTIONS`` lists the set.
- frames in the ``DEFAULT`` or ``SIMPLE`` key set the request chose; numbers are JSON numbers.
- ``orderbook``: every message is a full snapshot of the best 30 levels (``CODE.{n}`` chooses
  the depth), grouped into price bands when the request names a ``level``, sent when those
  levels change. ``trade``: one message per fill. ``ticker``: after trades. ``candle.<unit>``:
  the bar, after each step that traded in it.

Faults: ``GAP`` raises :class:`~collector.errors.UsageError` (``book_diffs = False``: a book
replaced whole by every message has no sequence to break; ``STALL`` loses messages);
``MALFORMED`` is a frame cut off mid-object. :meth:`QuotationWire.true_book` is the best
``depth`` levels (default 30), what the last ``orderbook`` message of that depth carried.
Capture playback keys recorded messages by ``type|code|stream_type`` and plays them as
recorded (their format and depth), whatever format the client's request names.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, ClassVar

import orjson

from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, Session, Tag
from .simframes import CANDLE_KEYS, TICKER_KEYS, QuotationMarket, Side
from .simmarkets import DEFAULT_DEPTH, QuotationMarkets
from .simrequest import FORMATS, Stream, list_reply, read_request

__all__ = ["DEFAULT_DEPTH", "QuotationWire"]

_PONG = b'{"status":"UP"}'
_BASIC = ("trade", "ticker", "orderbook")


class QuotationWire(QuotationMarkets):
    """The Upbit quotation protocol over the neutral market; subclass it per exchange."""

    endpoint_path = "/websocket/v1"
    book_diffs = False

    candle_units: ClassVar[dict[str, str]] = {}
    """The exchange's ``candle.<unit>`` units -> the interval the market aggregates."""

    def __init__(self, exchange: str) -> None:
        super().__init__(exchange)
        self._published: dict[tuple[str, int, float], tuple[Side, Side]] = {}
        self._variants: dict[str, set[tuple[int, float]]] = {}  # native -> (depth, level) books subscribed
        self._kinds = _BASIC + tuple(f"candle.{unit}" for unit in self.candle_units)

    # -- websocket ------------------------------------------------------------------------------

    def ws_path(self, route: str) -> str:
        """``/websocket/v1``."""
        return self.endpoint_path

    def ws_route(self, path: str) -> str | None:
        """The one public route; the private and info paths are not simulated."""
        return "" if path == "websocket/v1" else None

    def _depth(self, suffix: str) -> int:
        """The depth a ``CODE.{n}`` suffix asks for: "지원하지 않은 숫자로 지원 시 default(30)"."""
        return int(suffix) if suffix.isdigit() and int(suffix) in self.depths else DEFAULT_DEPTH

    def _code(self, s: Stream) -> str:
        return f"{s.code}.{s.depth}" if s.kind == "orderbook" and s.depth != DEFAULT_DEPTH else s.code

    def _subscribe_frame(self, streams: list[str], request_id: int) -> str:
        """The request array for ``streams`` (their format is the first stream's)."""
        parsed = [Stream.parse(s) for s in streams]
        codes: dict[tuple[str, float], list[str]] = {}
        for s in parsed:
            codes.setdefault((s.kind, s.level), []).append(self._code(s))
        request: list[dict[str, Any]] = [{"ticket": f"simulator-{request_id}"}]
        for (kind, level), c in codes.items():
            item: dict[str, Any] = {"type": kind, "codes": c}
            if kind == "orderbook" and level != self.style.default_level:
                item["level"] = level
            request.append(item)
        request.append({"format": parsed[0].fmt if parsed else "DEFAULT"})
        return orjson.dumps(request).decode()

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """One request for trades, tickers and 30-level books of ``specs``.

        Candles are served on request but left out of synthetic sessions: they are replayed as a
        cryptofeed recorder subscribes (its Upbit feed streams no candles), and played back whole.
        """
        fmt = self.request_format
        level = self.style.default_level
        streams = [
            Stream(fmt, kind, spec.native, DEFAULT_DEPTH if kind == "orderbook" else 0, level)
            for spec in specs
            for kind in _BASIC
        ]
        return {"": [self._subscribe_frame([s.name for s in streams], 1)]}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Replace the connection's subscriptions with the request's, sending each stream's SNAPSHOT first."""
        current = session.streams
        if text == "PING":
            return Control(_PONG)
        request = read_request(text, self._kinds)
        if isinstance(request, Control):
            return request
        if request.listing:
            entries = []
            for name in current:
                s = Stream.parse(name)
                entries.append((s.kind, self._code(s), s.level if s.kind == "orderbook" else None))
            return Control(list_reply(entries, request.ticket))
        wanted: list[Stream] = []
        snapshots: list[Stream] = []
        for w in request.wanted:
            market = markets.get(w.code)
            if market is None:
                continue  # "lower-case / unknown codes are silently ignored"
            depth, level = 0, self.style.default_level
            if w.kind == "orderbook":
                depth = self._depth(w.suffix)
                level = level if w.level is None else w.level
                if level != self.style.default_level and level not in self.supported_levels(market.spec):
                    continue  # "지원하지 않는 단위를 지정하면 데이터가 수신되지 않을 수 있습니다"
                self._variants.setdefault(w.code, set()).add((depth, level))
            stream = Stream(request.fmt, w.kind, w.code, depth, level)
            if w.snapshot:
                snapshots.append(stream)
            if w.realtime:
                wanted.append(stream)
        names = list(dict.fromkeys(s.name for s in wanted))
        keep = set(names)
        frames: list[str | bytes] = []
        for stream in snapshots:
            market = markets[stream.code]
            if isinstance(market, QuotationMarket):
                frame = self._snapshot(stream, market, now_ms)
                if frame is not None:
                    frames.append(frame)
        # "A new request on the same socket ... replaces the first."
        return Control(None, subscribe=names, unsubscribe=[s for s in current if s not in keep], frames=frames)

    def _recorded_kind(self, kind: str, level: float | None) -> str:
        """A book grouped by a level other than the default is its own recorded stream."""
        if kind == "orderbook" and level is not None and level != self.style.default_level:
            return f"orderbook@{level:g}"
        return kind

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """As :meth:`on_client_text`, for a capture: subscribe the recorded keys ``type|code|stream_type``.

        The recorded frames are played as they were recorded, in their format and book
        depth, whatever format and ``.N`` depth suffix the request names: a recording
        holds one rendering of each message. ``is_only_snapshot``/``is_only_realtime``
        select the recorded SNAPSHOT or REALTIME messages.
        """
        current = session.streams
        if text == "PING":
            return Control(_PONG)
        request = read_request(text, self._kinds)
        if isinstance(request, Control):
            return request
        if request.listing:
            entries = [(key.split("|")[0].partition("@")[0], key.split("|")[1], None) for key in current]
            return Control(list_reply(list(dict.fromkeys(entries)), request.ticket))
        keys: list[str] = []
        for w in request.wanted:
            kind = self._recorded_kind(w.kind, w.level)
            if w.snapshot:
                keys.append(f"{kind}|{w.code}|SNAPSHOT")
            if w.realtime:
                keys.append(f"{kind}|{w.code}|REALTIME")
        names = list(dict.fromkeys(keys))
        keep = set(names)
        return Control(None, subscribe=names, unsubscribe=[s for s in current if s not in keep])

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """``type|code|stream_type`` of a recorded message, SIMPLE (``ty``/``cd``/``st``) or DEFAULT keys.

        Replies to the recorder's own requests (``{"status":"UP"}``, errors, subscription
        lists) are skipped; anything else goes to every playing client.
        """
        try:
            obj = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return Tag()
        if not isinstance(obj, dict):
            return Tag()
        kind = obj.get("ty", obj.get("type"))
        code = obj.get("cd", obj.get("code"))
        if isinstance(kind, str) and isinstance(code, str):
            stream_type = obj.get("st", obj.get("stream_type")) or "REALTIME"
            level = obj.get("lv", obj.get("level"))
            level = float(level) if isinstance(level, int | float) and not isinstance(level, bool) else None
            # A depth suffix ("KRW-BTC.15") is not part of the market the client names.
            return Tag(f"{self._recorded_kind(kind, level)}|{code.partition('.')[0]}|{stream_type}")
        if "status" in obj or "error" in obj or obj.get("method") == "LIST_SUBSCRIPTIONS":
            return Tag(skip="reply")
        return Tag()

    def listed_key(self, url: str, native: str) -> str:
        """The native id (``KRW-BTC``): market codes are unique."""
        return native

    def _snapshot(self, stream: Stream, market: QuotationMarket, now_ms: int) -> str | bytes | None:
        """The SNAPSHOT message of one stream: the current book, last trade, ticker or bar."""
        render = self.render
        if stream.kind == "orderbook":
            levels = self.book_levels(market, stream.depth, stream.level)
            self._published[market.spec.native, stream.depth, stream.level] = levels
            body = render.orderbook(market, levels, now_ms, "SNAPSHOT", stream.level)
            return self._out(render.frame(stream.fmt, body))
        if stream.kind == "trade":
            fill = market.last_fill
            if fill is None:
                return None  # nothing has traded yet
            body = render.trade(market, fill, market.last_best, now_ms, "SNAPSHOT")
            return self._out(render.frame(stream.fmt, body))
        if stream.kind == "ticker":
            return self._out(render.frame(stream.fmt, render.ticker(market, now_ms, "SNAPSHOT"), TICKER_KEYS))
        unit = stream.kind.partition(".")[2]
        bar = market.bars.get(self.candle_units[unit])
        if bar is None:
            return None  # no bar has traded yet
        return self._out(render.frame(stream.fmt, render.candle(market, bar, unit, now_ms, "SNAPSHOT"), CANDLE_KEYS))

    def wanted_intervals(self, stream: str) -> str | None:
        """The interval a ``candle.<unit>`` stream needs the market to aggregate."""
        kind = stream.split("|")[1]
        return self.candle_units.get(kind.partition(".")[2]) if kind.startswith("candle.") else None

    def stream_book_key(self, stream: str) -> str | None:
        """No stream of this protocol carries book deltas."""
        return None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: a message per fill, a ticker and bars after trades, books whose levels changed."""
        market = self._markets[spec.native]
        native = spec.native
        render = self.render
        out: list[Message] = []
        time_ms = update.time_ms
        if update.fills:
            for fmt in FORMATS:
                trade = f"{fmt}|trade|{native}"
                if trade in subscribed:
                    for f in update.fills:
                        body = render.trade(market, f, update.best, time_ms, "REALTIME")
                        out.append(Message(trade, self._out(render.frame(fmt, body))))
                ticker = f"{fmt}|ticker|{native}"
                if ticker in subscribed:
                    body = render.ticker(market, time_ms, "REALTIME")
                    out.append(Message(ticker, self._out(render.frame(fmt, body, TICKER_KEYS))))
            out.extend(self._bars(market, update, subscribed))
        if update.first_id is None:
            return out
        for depth, level in self._variants.get(native, ()):
            streams = [s for fmt in FORMATS if (s := f"{fmt}|orderbook|{native}|{depth}|{level:g}") in subscribed]
            if not streams:
                continue
            levels = self.book_levels(market, depth, level)
            if self._published.get((native, depth, level)) == levels:
                continue  # the change was deeper than this book shows
            self._published[native, depth, level] = levels
            body = render.orderbook(market, levels, time_ms, "REALTIME", level)
            for stream in streams:
                out.append(Message(stream, self._out(render.frame(stream.partition("|")[0], body))))
        return out

    def _bars(self, market: QuotationMarket, update: Update, subscribed: Collection[str]) -> list[Message]:
        """``candle.<unit>`` messages of the bars this update traded in (closed bars are not re-sent)."""
        out: list[Message] = []
        for unit, interval in self.candle_units.items():
            streams = [s for fmt in FORMATS if (s := f"{fmt}|candle.{unit}|{market.spec.native}") in subscribed]
            bar = market.bars.get(interval)
            if not streams or bar is None or bar.start_ms > update.time_ms or update.time_ms >= bar.end_ms:
                continue
            body = self.render.candle(market, bar, unit, update.time_ms, "REALTIME")
            out.extend(
                Message(s, self._out(self.render.frame(s.partition("|")[0], body, CANDLE_KEYS))) for s in streams
            )
        return out
