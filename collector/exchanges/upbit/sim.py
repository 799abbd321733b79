"""Upbit's public wire format over the neutral market: KRW, BTC and USDT spot markets.

Everything follows ``shared/exchanges/upbit.md``:

- one websocket path, ``/websocket/v1``. A client sends one JSON array
  ``[{"ticket":...}, {"type":"trade"|"ticker"|"orderbook","codes":[...]}..., {"format":...}]``;
  there is no acknowledgement, the SNAPSHOT message of every requested stream follows at
  once (unless ``is_only_realtime``; ``is_only_snapshot`` sends only that), and a new
  request **replaces** the previous subscription set. Lower-case or unknown codes are
  silently ignored. ``PING`` (text) is answered with ``{"status":"UP"}``;
  ``LIST_SUBSCRIPTIONS`` lists the current set; malformed requests get
  ``{"error":{"name":"WRONG_FORMAT"|"NO_TICKET"|"NO_TYPE"|"NO_CODES"|"INVALID_PARAM",...}}``.
- every server frame is **binary** UTF-8 JSON, in the ``DEFAULT`` (full keys) or
  ``SIMPLE`` (abbreviated keys) format the request chose; numbers are JSON numbers.
- ``orderbook``: every message is a full snapshot of the best 30 levels (``CODE.{1|5|15|30}``
  chooses the depth, any other suffix means 30), sent when those levels change.
  ``trade``: one message per fill, ``ask_bid`` the taker side. ``ticker``: after trades.
- REST ``/v1/market/all`` and ``/v1/orderbook?markets=...``.

Stream names carry the format and depth (``SIMPLE|orderbook|KRW-BTC|15``) because the
format is chosen per connection while the server encodes a frame once per stream.
Prices follow Upbit's KRW tick table (``1000`` KRW at and above 1,000,000 KRW, ...).

Faults (:mod:`.faults`): ``GAP`` raises :class:`~collector.errors.UsageError`, since a
book that is replaced whole by every message has no sequence to break (use ``STALL`` for
lost messages); ``MALFORMED`` is a truncated binary frame; the others act as on any
exchange. :meth:`UpbitWire.true_book` is the best ``depth`` levels (default 30), which
is what the last ``orderbook`` message of that depth carried; it has no update id.

Capture playback keys recorded messages by ``type|code|stream_type`` and plays them as
recorded (their format and depth), whatever format the client's request names.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, Tag, WireFormat, hostile_json

__all__ = ["BOOK_LEVELS", "DEFAULT_LEVELS", "FORMATS", "UpbitMarket", "UpbitWire"]

FORMATS = ("DEFAULT", "SIMPLE")
"""Response formats served (the list formats ``JSON_LIST``/``SIMPLE_LIST`` are refused)."""

BOOK_LEVELS = (1, 5, 15, 30)
"""Order book depths a code may ask for with ``.N``; any other suffix gets the default."""

DEFAULT_LEVELS = 30
"""Levels per side of an ``orderbook`` message without a depth suffix (raised from 15 in 2025)."""

_TYPES = ("trade", "ticker", "orderbook")
_QUOTES = {"KRW": 1400.0, "USDT": 1.0}  # quote units per USD; BTC markets divide by the BTC price
# Coins trade dearer in Korea than abroad (the "kimchi premium"); dollar stablecoins do not.
_KRW_PREMIUM = 1.025
_STABLE = frozenset({"USDT", "USDC"})
# KRW tick table, highest band first: (price at or above, tick in KRW).
_KRW_TICKS = ((1_000_000, 1000), (500_000, 500), (100_000, 100), (50_000, 50), (10_000, 10), (5_000, 5), (1_000, 1))
_WEIGHT_HEADER = "X-Sim-Used-Weight"  # Upbit's Remaining-Req counts down per group; not simulated

# SIMPLE format abbreviations (upbit.md "Channels").
_SIMPLE = {
    "type": "ty",
    "code": "cd",
    "timestamp": "tms",
    "stream_type": "st",
    "trade_date": "td",
    "trade_time": "ttm",
    "trade_timestamp": "ttms",
    "trade_price": "tp",
    "trade_volume": "tv",
    "ask_bid": "ab",
    "prev_closing_price": "pcp",
    "change": "c",
    "change_price": "cp",
    "sequential_id": "sid",
    "best_ask_price": "bap",
    "best_ask_size": "bas",
    "best_bid_price": "bbp",
    "best_bid_size": "bbs",
    "opening_price": "op",
    "high_price": "hp",
    "low_price": "lp",
    "signed_change_price": "scp",
    "change_rate": "cr",
    "signed_change_rate": "scr",
    "acc_trade_volume": "atv",
    "acc_trade_volume_24h": "atv24h",
    "acc_trade_price": "atp",
    "acc_trade_price_24h": "atp24h",
    "acc_ask_volume": "aav",
    "acc_bid_volume": "abv",
    "highest_52_week_price": "h52wp",
    "highest_52_week_date": "h52wdt",
    "lowest_52_week_price": "l52wp",
    "lowest_52_week_date": "l52wdt",
    "market_state": "ms",
    "is_trading_suspended": "its",
    "delisting_date": "dd",
    "market_warning": "mw",
    "total_ask_size": "tas",
    "total_bid_size": "tbs",
    "orderbook_units": "obu",
    "level": "lv",
    "ask_price": "ap",
    "bid_price": "bp",
    "ask_size": "as",
    "bid_size": "bs",
}
# The ticker's trade date and time have their own SIMPLE keys (the trade's are td/ttm).
_SIMPLE_TICKER = {**_SIMPLE, "trade_date": "tdt"}


_PONG = b'{"status":"UP"}'


def _error(name: str, message: str) -> bytes:
    return orjson.dumps({"error": {"name": name, "message": message}})


@dataclass(frozen=True, slots=True)
class _Wanted:
    """One code of one type in a request: ``code`` without its ``.N`` suffix, which is ``suffix``."""

    kind: str
    code: str
    suffix: str
    snapshot: bool  # send the SNAPSHOT message
    realtime: bool  # then the REALTIME ones


@dataclass(frozen=True, slots=True)
class _Request:
    """A validated subscribe request, or a ``LIST_SUBSCRIPTIONS`` call when ``listing``."""

    ticket: Any
    fmt: str = "DEFAULT"
    listing: bool = False
    wanted: tuple[_Wanted, ...] = ()


def _read_request(text: str) -> _Request | Control:
    """Parse a client request array; the error reply Upbit sends when it is malformed."""
    try:
        request = orjson.loads(text)
    except orjson.JSONDecodeError:
        return Control(_error("WRONG_FORMAT", "the request is not valid JSON"))
    if not isinstance(request, list) or not all(isinstance(item, dict) for item in request):
        return Control(_error("WRONG_FORMAT", "the request must be a JSON array of objects"))
    ticket = next((item for item in request if "ticket" in item), None)
    if ticket is None:
        return Control(_error("NO_TICKET", "the request has no ticket"))
    fmt = "DEFAULT"
    kinds: list[dict[str, Any]] = []
    for item in request:
        if "format" in item:
            fmt = item["format"]
        elif item.get("method") == "LIST_SUBSCRIPTIONS":
            return _Request(ticket.get("ticket"), listing=True)
        elif "type" in item:
            kinds.append(item)
    if fmt not in FORMATS:
        return Control(_error("INVALID_PARAM", f"format {fmt!r} is not simulated; use DEFAULT or SIMPLE"))
    if not kinds:
        return Control(_error("NO_TYPE", "the request has no type"))
    wanted: list[_Wanted] = []
    for item in kinds:
        kind, codes = item.get("type"), item.get("codes")
        if kind not in _TYPES:
            return Control(_error("INVALID_PARAM", f"type {kind!r} is not simulated"))
        if not isinstance(codes, list) or not codes or not all(isinstance(c, str) for c in codes):
            return Control(_error("NO_CODES", f"type {kind!r} has no codes"))
        # Both spellings are in use: current docs snake_case, older clients camelCase.
        only_snapshot = bool(item.get("is_only_snapshot", item.get("isOnlySnapshot", False)))
        only_realtime = bool(item.get("is_only_realtime", item.get("isOnlyRealtime", False)))
        for raw in codes:
            code, _, suffix = raw.partition(".")
            wanted.append(_Wanted(str(kind), code, suffix, not only_realtime, not only_snapshot))
    return _Request(ticket.get("ticket"), fmt, wanted=tuple(wanted))


def _list(entries: list[tuple[str, str]], ticket: Any) -> bytes:
    """The ``LIST_SUBSCRIPTIONS`` answer for ``(type, code)`` entries in subscription order."""
    grouped: dict[str, list[str]] = {}
    for kind, code in entries:
        grouped.setdefault(kind, []).append(code)
    result: list[dict[str, Any]] = []
    for kind, codes in grouped.items():
        entry: dict[str, Any] = {"type": kind, "codes": codes}
        if kind == "orderbook":
            entry["level"] = 0
        result.append(entry)
    return orjson.dumps({"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": ticket})


def _simple(obj: dict[str, Any], keys: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        if key == "orderbook_units":
            value = [{keys[k]: v for k, v in unit.items()} for unit in value]
        out[keys[key]] = value
    return out


def _round(value: float) -> float:
    # Upbit volumes have 8 decimals; rounding keeps sums printable without float noise.
    return round(value, 8)


class UpbitMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps Upbit's ticker statistics and the last fill.

    The day and the 24 h window both start with the simulation; the start price is the
    previous close.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.acc_lots = 0
        self.acc_price = 0.0  # quote units
        self.ask_lots = 0  # volume of seller-initiated fills
        self.bid_lots = 0  # volume of buyer-initiated fills
        self.last_fill: Fill | None = None
        self.last_best = self.best()

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the ticker statistics."""
        update = super().step(time_ms)
        scale = 1.0 / 10.0 ** (self.spec.price_decimals + self.spec.size_decimals)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.acc_lots += f.lots
            self.acc_price += f.ticks * f.lots * scale
            if f.buyer_maker:
                self.ask_lots += f.lots
            else:
                self.bid_lots += f.lots
            self.last_fill = f
        if update.fills:
            self.last_best = update.best
        return update


@dataclass(frozen=True, slots=True)
class _Stream:
    """One parsed stream name: ``SIMPLE|orderbook|KRW-BTC|15``."""

    fmt: str
    kind: str
    code: str
    levels: int

    @property
    def name(self) -> str:
        return f"{self.fmt}|{self.kind}|{self.code}" + (f"|{self.levels}" if self.kind == "orderbook" else "")

    @classmethod
    def parse(cls, name: str) -> _Stream:
        fmt, kind, code, *rest = name.split("|")
        return cls(fmt, kind, code, int(rest[0]) if rest else 0)


class UpbitWire(WireFormat):
    """Upbit's public websocket and quotation REST for the ``upbit`` exchange id."""

    default_ws = "wss://api.upbit.com"
    default_rest = "https://api.upbit.com"
    instruments_path = "/v1/market/all"
    endpoint_path = "/websocket/v1"
    book_diffs = False

    def __init__(self, exchange: str = "upbit") -> None:
        if exchange != "upbit":
            raise UnknownExchange(f"the Upbit wire format serves 'upbit', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, UpbitMarket] = {}  # by native id
        self._units: dict[str, float] = {}  # native id -> KRW per tick, for ticks of 1 KRW and more
        self._published: dict[tuple[str, int], tuple[list[tuple[int, int]], list[tuple[int, int]]]] = {}
        self._rest: dict[str, Callable[[Mapping[str, str], Mapping[str, SymbolMarket], int], RestAnswer]] = {
            "/v1/market/all": self._market_all,
            "/v1/orderbook": self._orderbook_rest,
        }

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """The simulated market for ``BTC/KRW``, ``ETH/BTC`` or ``BTC/USDT`` (native ``QUOTE-BASE``)."""
        try:
            base, quote, settle, _ = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"upbit: {exc}") from None
        if settle is not None or quote not in ("KRW", "BTC", "USDT") or base == quote:
            raise UnknownSymbol(f"upbit lists no {symbol!r}; markets look like BTC/KRW, ETH/BTC, BTC/USDT")
        rng = random.Random(f"{seed}:upbit:{symbol}:spec")
        usd = start_price(base, rng)
        price = usd / start_price("BTC", rng) if quote == "BTC" else usd * _QUOTES[quote]
        if quote == "KRW" and base not in _STABLE:
            price *= _KRW_PREMIUM
        native = f"{quote}-{base}"
        unit = next((tick for floor, tick in _KRW_TICKS if price >= floor), 0) if quote == "KRW" else 0
        if unit:
            price_decimals = 0
            self._units[native] = float(unit)
            start_ticks = max(1, round(price / unit))
        else:
            price_decimals = min(8, max(0, 5 - math.floor(math.log10(price))))
            start_ticks = round(price * 10**price_decimals)
        size_decimals = 8
        # A typical level holds about 3000 USD, in the market's quote currency.
        level_value = 3000.0 / start_price("BTC", rng) if quote == "BTC" else 3000.0 * _QUOTES[quote]
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=None,
            expiry=None,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            start_ticks=start_ticks,
            mean_lots=max(1, round(level_value / price * 10**size_decimals)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """An :class:`UpbitMarket`; the wire remembers it to answer subscribes and REST."""
        rng = random.Random(f"{seed}:upbit:{spec.symbol}")
        market = UpbitMarket(spec, rng, depth=depth, start_id=10**9)
        self._markets[spec.native] = market
        return market

    def market_key(self, spec: InstrumentSpec) -> str:
        """The native id (``KRW-BTC``): Upbit ids are unique."""
        return spec.native

    def _price(self, spec: InstrumentSpec, ticks: int) -> float:
        unit = self._units.get(spec.native)
        return ticks * unit if unit is not None else float(spec.price(ticks))

    def _size(self, spec: InstrumentSpec, lots: int) -> float:
        return float(spec.size(lots))

    # -- websocket ------------------------------------------------------------------------------

    def ws_path(self, route: str) -> str:
        """``/websocket/v1``."""
        return self.endpoint_path

    def ws_route(self, path: str) -> str | None:
        """The one public route; the private and info paths are not simulated."""
        return "" if path == "websocket/v1" else None

    def stream_route(self, stream: str) -> str:
        """Every stream is served on the one path."""
        return ""

    def url_streams(self, query: Mapping[str, str]) -> list[str]:
        """Upbit subscribes by message only."""
        return []

    def _subscribe_frame(self, streams: list[str], request_id: int) -> str:
        """The request array for ``streams`` (their format is the first stream's)."""
        parsed = [_Stream.parse(s) for s in streams]
        codes: dict[str, list[str]] = {}
        for s in parsed:
            code = f"{s.code}.{s.levels}" if s.kind == "orderbook" and s.levels != DEFAULT_LEVELS else s.code
            codes.setdefault(s.kind, []).append(code)
        request: list[dict[str, Any]] = [{"ticket": f"simulator-{request_id}"}]
        request += [{"type": kind, "codes": c} for kind, c in codes.items()]
        request.append({"format": parsed[0].fmt if parsed else "DEFAULT"})
        return orjson.dumps(request).decode()

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """One SIMPLE request for trades, tickers and 30-level books of ``specs`` (Upbit has no candle stream)."""
        streams = [
            _Stream("SIMPLE", kind, spec.native, DEFAULT_LEVELS if kind == "orderbook" else 0)
            for spec in specs
            for kind in _TYPES
        ]
        return {"": [self._subscribe_frame([s.name for s in streams], 1)]}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Replace the connection's subscriptions with the request's, sending each stream's SNAPSHOT first."""
        current = session.streams
        if text == "PING":
            return Control(_PONG)
        request = _read_request(text)
        if isinstance(request, Control):
            return request
        if request.listing:
            entries = []
            for name in current:
                s = _Stream.parse(name)
                code = f"{s.code}.{s.levels}" if s.kind == "orderbook" and s.levels != DEFAULT_LEVELS else s.code
                entries.append((s.kind, code))
            return Control(_list(entries, request.ticket))
        wanted: list[_Stream] = []
        snapshots: list[_Stream] = []
        for w in request.wanted:
            if w.code not in markets:
                continue  # "lower-case / unknown codes are silently ignored"
            levels = 0
            if w.kind == "orderbook":
                levels = int(w.suffix) if w.suffix.isdigit() and int(w.suffix) in BOOK_LEVELS else DEFAULT_LEVELS
            stream = _Stream(request.fmt, w.kind, w.code, levels)
            if w.snapshot:
                snapshots.append(stream)
            if w.realtime:
                wanted.append(stream)
        names = list(dict.fromkeys(s.name for s in wanted))
        keep = set(names)
        frames: list[str | bytes] = []
        for stream in snapshots:
            market = markets[stream.code]
            if isinstance(market, UpbitMarket):
                frame = self._snapshot(stream, market, now_ms)
                if frame is not None:
                    frames.append(frame)
        # "A new request on the same socket ... replaces the first."
        return Control(None, subscribe=names, unsubscribe=[s for s in current if s not in keep], frames=frames)

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
        request = _read_request(text)
        if isinstance(request, Control):
            return request
        if request.listing:
            entries = [(key.split("|")[0], key.split("|")[1]) for key in current]
            return Control(_list(list(dict.fromkeys(entries)), request.ticket))
        keys: list[str] = []
        for w in request.wanted:
            if w.snapshot:
                keys.append(f"{w.kind}|{w.code}|SNAPSHOT")
            if w.realtime:
                keys.append(f"{w.kind}|{w.code}|REALTIME")
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
            # A depth suffix ("KRW-BTC.15") is not part of the market the client names.
            return Tag(f"{kind}|{code.partition('.')[0]}|{stream_type}")
        if "status" in obj or "error" in obj or obj.get("method") == "LIST_SUBSCRIPTIONS":
            return Tag(skip="reply")
        return Tag()

    def listed_key(self, url: str, native: str) -> str:
        """The native id (``KRW-BTC``): Upbit ids are unique."""
        return native

    def _snapshot(self, stream: _Stream, market: UpbitMarket, now_ms: int) -> bytes | None:
        """The SNAPSHOT message of one stream: the current book, the last trade or the ticker."""
        if stream.kind == "orderbook":
            levels = market.levels(stream.levels)
            self._published[market.spec.native, stream.levels] = levels
            return self._frame(stream.fmt, self._orderbook(market, levels, now_ms, "SNAPSHOT"))
        if stream.kind == "trade":
            fill = market.last_fill
            if fill is None:
                return None  # nothing has traded yet
            return self._frame(stream.fmt, self._trade(market, fill, market.last_best, now_ms, "SNAPSHOT"))
        return self._frame(stream.fmt, self._ticker(market, now_ms, "SNAPSHOT"), ticker=True)

    def wanted_intervals(self, stream: str) -> str | None:
        """Upbit's public socket has no candle stream here."""
        return None

    def stream_book_key(self, stream: str) -> str | None:
        """No Upbit stream carries book deltas."""
        return None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: a message per fill, a ticker after trades, books whose top levels changed."""
        market = self._markets[spec.native]
        native = spec.native
        out: list[Message] = []
        time_ms = update.time_ms
        for fmt in FORMATS:
            trade = f"{fmt}|trade|{native}"
            if update.fills and trade in subscribed:
                for f in update.fills:
                    out.append(
                        Message(trade, self._frame(fmt, self._trade(market, f, update.best, time_ms, "REALTIME")))
                    )
            ticker = f"{fmt}|ticker|{native}"
            if update.fills and ticker in subscribed:
                out.append(Message(ticker, self._frame(fmt, self._ticker(market, time_ms, "REALTIME"), ticker=True)))
        if update.first_id is None:
            return out
        for depth in BOOK_LEVELS:
            streams = [s for s in (f"{fmt}|orderbook|{native}|{depth}" for fmt in FORMATS) if s in subscribed]
            if not streams:
                continue
            levels = market.levels(depth)
            if self._published.get((native, depth)) == levels:
                continue  # the change was deeper than this depth
            self._published[native, depth] = levels
            body = self._orderbook(market, levels, time_ms, "REALTIME")
            for stream in streams:
                out.append(Message(stream, self._frame(stream.partition("|")[0], body)))
        return out

    def _frame(self, fmt: str, obj: dict[str, Any], *, ticker: bool = False) -> bytes:
        # Upbit sends every message as a binary frame of UTF-8 JSON.
        if fmt == "SIMPLE":
            obj = _simple(obj, _SIMPLE_TICKER if ticker else _SIMPLE)
        return orjson.dumps(obj)

    def _change(self, market: UpbitMarket, ticks: int) -> tuple[str, float]:
        diff = self._price(market.spec, ticks) - self._price(market.spec, market.open_ticks)
        return ("RISE" if diff > 0 else "FALL" if diff < 0 else "EVEN"), diff

    def _trade(
        self, market: UpbitMarket, f: Fill, best: tuple[int, int, int, int], time_ms: int, stream_type: str
    ) -> dict[str, Any]:
        spec = market.spec
        when = datetime.fromtimestamp(f.time_ms / 1000, UTC)
        change, diff = self._change(market, f.ticks)
        bid, bid_lots, ask, ask_lots = best
        return {
            "type": "trade",
            "code": spec.native,
            "timestamp": time_ms,
            "trade_date": f"{when:%Y-%m-%d}",
            "trade_time": f"{when:%H:%M:%S}",
            "trade_timestamp": f.time_ms,
            "trade_price": self._price(spec, f.ticks),
            "trade_volume": self._size(spec, f.lots),
            # Taker side: BID = a buyer took the ask.
            "ask_bid": "ASK" if f.buyer_maker else "BID",
            "prev_closing_price": self._price(spec, market.open_ticks),
            "change": change,
            "change_price": abs(diff),
            "sequential_id": f.time_ms * 10_000 + f.agg_id % 10_000,
            "best_ask_price": self._price(spec, ask),
            "best_ask_size": self._size(spec, ask_lots),
            "best_bid_price": self._price(spec, bid),
            "best_bid_size": self._size(spec, bid_lots),
            "stream_type": stream_type,
        }

    def _ticker(self, market: UpbitMarket, time_ms: int, stream_type: str) -> dict[str, Any]:
        spec = market.spec
        last = market.last_price
        fill = market.last_fill
        traded_ms = fill.time_ms if fill is not None else time_ms
        when = datetime.fromtimestamp(traded_ms / 1000, UTC)
        change, diff = self._change(market, last)
        prev_close = self._price(spec, market.open_ticks)
        rate = diff / prev_close
        volume = _round(market.acc_lots / 10**spec.size_decimals)
        quote_volume = _round(market.acc_price)
        return {
            "type": "ticker",
            "code": spec.native,
            "opening_price": prev_close,
            "high_price": self._price(spec, market.high),
            "low_price": self._price(spec, market.low),
            "trade_price": self._price(spec, last),
            "prev_closing_price": prev_close,
            "change": change,
            "change_price": abs(diff),
            "signed_change_price": diff,
            "change_rate": _round(abs(rate)),
            "signed_change_rate": _round(rate),
            "trade_volume": self._size(spec, fill.lots) if fill is not None else 0.0,
            "acc_trade_volume": volume,
            "acc_trade_volume_24h": volume,
            "acc_trade_price": quote_volume,
            "acc_trade_price_24h": quote_volume,
            "trade_date": f"{when:%Y%m%d}",
            "trade_time": f"{when:%H%M%S}",
            "trade_timestamp": traded_ms,
            "ask_bid": "ASK" if fill is not None and fill.buyer_maker else "BID",
            "acc_ask_volume": _round(market.ask_lots / 10**spec.size_decimals),
            "acc_bid_volume": _round(market.bid_lots / 10**spec.size_decimals),
            "highest_52_week_price": self._price(spec, market.high),
            "highest_52_week_date": f"{when:%Y-%m-%d}",
            "lowest_52_week_price": self._price(spec, market.low),
            "lowest_52_week_date": f"{when:%Y-%m-%d}",
            "market_state": "ACTIVE",
            "is_trading_suspended": False,
            "delisting_date": None,
            "market_warning": "NONE",
            "timestamp": time_ms,
            "stream_type": stream_type,
        }

    def _orderbook(
        self,
        market: SymbolMarket,
        levels: tuple[list[tuple[int, int]], list[tuple[int, int]]],
        time_ms: int,
        stream_type: str,
    ) -> dict[str, Any]:
        spec = market.spec
        bids, asks = levels
        units = []
        # One unit per row holds the i-th ask and the i-th bid; a short side is padded with 0.
        for i in range(max(len(bids), len(asks))):
            ask, ask_lots = asks[i] if i < len(asks) else (0, 0)
            bid, bid_lots = bids[i] if i < len(bids) else (0, 0)
            units.append(
                {
                    "ask_price": self._price(spec, ask),
                    "bid_price": self._price(spec, bid),
                    "ask_size": self._size(spec, ask_lots),
                    "bid_size": self._size(spec, bid_lots),
                }
            )
        scale = 10**spec.size_decimals
        return {
            "type": "orderbook",
            "code": spec.native,
            "timestamp": time_ms,
            "total_ask_size": _round(sum(q for _, q in asks) / scale),
            "total_bid_size": _round(sum(q for _, q in bids) / scale),
            "orderbook_units": units,
            "stream_type": stream_type,
            "level": 0,
        }

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The best ``depth`` levels (default 30) as the last ``orderbook`` message has them; no update id."""
        depth = DEFAULT_LEVELS if depth is None else depth
        if depth not in BOOK_LEVELS:
            raise UsageError(f"upbit books have {', '.join(map(str, BOOK_LEVELS))} levels, not {depth}")
        spec = market.spec
        bids, asks = market.levels(depth)
        return (
            {self._price(spec, p): self._size(spec, q) for p, q in bids},
            {self._price(spec, p): self._size(spec, q) for p, q in asks},
            None,
        )

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """Answer ``/v1/...`` quotation calls."""
        handler = self._rest.get(call.path)
        if handler is None or call.method != "GET":
            return RestAnswer(404, _error("404", f"path {call.path} not found"))
        return handler(call.query, markets, now_ms)

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """``/v1/market/all?is_details=true``, as the adapter asks."""
        return [{"is_details": "true"}]

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Upbit-shaped binary frames of ``spec`` with impossible values, each of which a client must reject."""
        code = spec.native
        price = self._price(spec, spec.start_ticks)

        def simple(obj: dict[str, Any]) -> bytes:
            return hostile_json(obj).encode()

        def trade(**changes: Any) -> bytes:
            t = {"ty": "trade", "cd": code, "tms": now_ms, "td": "2026-01-01", "ttm": "00:00:00", "ttms": now_ms}
            t |= {"tp": price, "tv": 0.5, "ab": "BID", "pcp": price, "c": "EVEN", "cp": 0, "sid": 1, "st": "REALTIME"}
            return simple(t | changes)

        def book(units: list[dict[str, Any]]) -> bytes:
            book = {"ty": "orderbook", "cd": code, "tms": now_ms, "tas": 1, "tbs": 1, "obu": units}
            return simple(book | {"st": "REALTIME"})

        unit = {"ap": price * 1.01, "bp": price, "as": 1.0, "bs": 1.0}
        return [
            (b'{"ty":"trade","cd":"' + code.encode() + b'","tp":NaN}', "NaN literal (not JSON)"),
            (trade(tp=1e400), "price beyond a double"),
            (trade(tp=0), "zero price"),
            (trade(tp=-price), "negative price"),
            (trade(tv=-1.5), "negative size"),
            (trade(tp="cheap"), "price of the wrong type"),
            (trade(ab="SIDEWAYS"), "unknown taker side"),
            (trade(sid=2**70), "trade id beyond 64 bits"),
            (book([unit | {"bp": -price}]), "negative book price"),
            (book([unit | {"as": -1.0}]), "negative book size"),
            (simple({"ty": "trade", "cd": "KRW-NOSUCHCOIN", "tp": price}), "unknown market"),
            (simple({"ty": "notAType", "cd": code}), "unknown message type"),
        ]

    def rate_limited(self) -> RestAnswer:
        """Upbit's answer when the request rate is exceeded (HTTP 429)."""
        return RestAnswer(429, _error("too_many_requests", "Too many API requests."))

    def malformed(self) -> bytes:
        """A binary frame cut off mid-object."""
        return b'{"ty":"orderbook","cd":"KRW-BTC","tms":1746601573804,"obu":[{"ap":'

    def weight_header(self) -> str:
        """A simulator-only header with the minute's REST weight."""
        return _WEIGHT_HEADER

    def _market_all(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        details = query.get("is_details", "false") == "true"
        listed: list[dict[str, Any]] = []
        for native, market in markets.items():
            entry: dict[str, Any] = {
                "market": native,
                "korean_name": market.spec.base,
                "english_name": market.spec.base,
            }
            if details:
                entry["market_warning"] = "NONE"
                entry["market_event"] = {"warning": False, "caution": {}}
            listed.append(entry)
        return RestAnswer(200, orjson.dumps(listed))

    def _orderbook_rest(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        codes = [c for c in query.get("markets", "").split(",") if c]
        if not codes:
            return RestAnswer(400, _error("validation_error", "markets is required"))
        raw_count = query.get("count", str(DEFAULT_LEVELS))
        count = int(raw_count) if raw_count.isdigit() and 1 <= int(raw_count) <= DEFAULT_LEVELS else DEFAULT_LEVELS
        books = []
        for code in codes:
            market = markets.get(code)
            if market is None:
                return RestAnswer(404, _error("404", "Code not found"))
            book = self._orderbook(market, market.levels(count), now_ms, "SNAPSHOT")
            del book["type"], book["stream_type"], book["code"]
            books.append({"market": code, **book})
        return RestAnswer(200, orjson.dumps(books))
