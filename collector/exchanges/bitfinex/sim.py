"""Bitfinex websocket v2's public wire format over the neutral market (``shared/exchanges/bitfinex.md``).

- one websocket path, ``/ws/2``. The first reply of a connection is preceded by
  ``{"event":"info","version":2,...,"platform":{"status":1}}``. ``conf`` sets the
  connection's flags (``SEQ_ALL``: every channel message ends with the connection's next
  sequence number; ``OB_CHECKSUM``: ``[CHAN_ID,"cs",CHECKSUM]`` after each book update);
  ``ping`` gets a ``pong``.
- ``subscribe`` answers ``subscribed`` with a channel id (the same for a channel on every
  connection of the server) and then the channel's snapshot: recent trades, the ticker,
  the book (bids then asks, best first), the forming candle, a derivative status.
  Refusals are ``error`` events with Bitfinex's codes (10001 unknown pair, 10011/10012
  book precision/length, 10301 already subscribed, 10302 unknown channel, 10305 more
  than 25 channels). ``unsubscribe`` by ``chanId``.
- ``trades``: ``te`` then ``tu`` per fill, ``[ID, MTS, AMOUNT, PRICE]`` with the amount
  negative when the taker sold. ``ticker``: after trades and best-price changes (sizes
  are the sums of the best 25 levels, as documented). ``book`` P0 at lengths 1/25/100/250:
  one message per level, deletions first, ``COUNT`` 0 with ``AMOUNT`` ±1 deletes.
  ``candles`` ``trade:<1m|5m|15m|30m|1h|6h|12h|1D>:<SYMBOL>`` (3h, 1W, 14D and 1M are
  accepted and stay silent). ``status`` ``deriv:<SYMBOL>`` about once a second for
  perpetuals; ``liq:global`` is accepted (the market model has no liquidations).
- ``[CHAN_ID,"hb"]`` every 15 s for each channel that sent nothing meanwhile.
- REST ``/v2/conf/pub:list:pair:exchange``, ``pub:list:pair:futures`` and ``pub:map:currency:sym``.

Numbers are JSON numbers written as JavaScript writes them (``2``, ``0.000017``), which is
what checksums are computed from. Faults: ``GAP`` withholds one book diff (its sequence
number is taken all the same, so a client sees the connection's sequence skip);
``CHECKSUM`` spoils the checksum following the next diff of one book.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import orjson

from ...errors import UsageError
from ...simulator.market import INTERVAL_MS, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, WireFormat
from .channels import BOOK_LENGTHS, CANDLE_INTERVALS, DEFAULT_BOOK_LENGTH, OB_CHECKSUM, SEQ_ALL
from .instruments import LISTINGS
from .sim_parts import (
    BitfinexMarket,
    BitfinexSession,
    BookChecksum,
    BookDiff,
    BookView,
    Numbers,
    hostile_frames,
    instrument_spec,
    json_numbers,
    level_body,
    status_body,
    ticker_body,
    trade_body,
)

__all__ = ["BitfinexWire"]

# As Bitfinex serves them: display labels, some in mixed case ("USDt"), which the adapter upper-cases.
_LABELS = {"UST": "USDt", "UDC": "USDC", "BCHN": "BCH", "DSH": "DASH", "IOT": "IOTA", "QTM": "QTUM", "XAUT": "XAUt"}
_TIMEFRAMES = {tf: unified for unified, tf in CANDLE_INTERVALS.items()}  # "1D" -> "1d"
_MODEL_TIMEFRAME = {unified: tf for tf, unified in _TIMEFRAMES.items() if unified in INTERVAL_MS}
_MAX_CHANNELS = 25
_ROUTE = "public"


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


class BitfinexWire(WireFormat):
    """The simulated Bitfinex (see the module docstring); market keys are native symbols (``tBTCUSD``)."""

    default_ws = "wss://api-pub.bitfinex.com/ws/2"
    default_rest = "https://api-pub.bitfinex.com"
    endpoint_path = "/ws/2"
    instruments_path = "/v2/conf/pub:list:pair:exchange"
    heartbeat_interval = 15.0  # "[CHAN_ID, "hb"]" when a channel had no update for 15 s
    checksums = True

    def __init__(self, exchange: str = "bitfinex") -> None:
        super().__init__(exchange)
        self._markets: dict[str, BitfinexMarket] = {}
        self._numbers: dict[str, Numbers] = {}
        self._views: dict[tuple[str, str], BookView] = {}
        self._serial: dict[str, int] = {}  # book stream -> diffs encoded
        self._chan_ids: dict[str, int] = {}
        self._bars: dict[str, str] = {}  # candle stream -> the last bar sent
        self._status_ms: dict[str, int] = {}  # status stream -> when it was last sent

    # -- instruments and markets ----------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USD`` (``tBTCUSD``), ``BTC/USDT`` (``tBTCUST``), ``DOGE/USD`` (``tDOGE:USD``), ``BTC/USDT:USDT``."""
        return instrument_spec(symbol, seed)

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`BitfinexMarket`, remembered for encoding."""
        rng = random.Random(f"{seed}:{self.exchange}:{spec.symbol}")
        market = BitfinexMarket(spec, rng, depth=depth, start_id=10**9 + rng.randrange(10**8))
        # Trade ids are exchange-wide on Bitfinex: each market numbers from its own block.
        market.trade_ids = 1_400_000_000 + 50_000_000 * len(self._markets)
        self._markets[spec.native] = market
        self._numbers[spec.native] = Numbers(spec)
        return market

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``ws/2``; other paths are 404."""
        return _ROUTE if path.strip("/") == "ws/2" else None

    def ws_path(self, route: str) -> str:
        return self.endpoint_path

    def stream_route(self, stream: str) -> str:
        return _ROUTE

    def open(self, route: str) -> Session:
        return BitfinexSession(route)

    def deliver(self, session: Session, message: Message) -> str | bytes | None:
        """Prefix the connection's channel id (and append its sequence number)."""
        return cast(BitfinexSession, session).deliver(message)

    def heartbeat(self, session: Session, now_ms: int) -> list[str | bytes]:
        return list(cast(BitfinexSession, session).heartbeats())

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """``conf`` (``SEQ_ALL | OB_CHECKSUM``, as the adapter sends) and every channel, 25 per connection."""
        timeframe = CANDLE_INTERVALS.get(interval)
        wanted: list[dict[str, Any]] = []
        for spec in specs:
            native = spec.native
            wanted += [{"channel": "trades", "symbol": native}, {"channel": "ticker", "symbol": native}]
            wanted.append({"channel": "book", "symbol": native, "prec": "P0", "freq": "F0", "len": DEFAULT_BOOK_LENGTH})
            if timeframe is not None:
                wanted.append({"channel": "candles", "key": f"trade:{timeframe}:{native}"})
        conf = _dumps({"event": "conf", "flags": SEQ_ALL | OB_CHECKSUM})
        routes: dict[str, list[str]] = {}
        for n, start in enumerate(range(0, len(wanted), _MAX_CHANNELS)):
            shard = wanted[start : start + _MAX_CHANNELS]
            frames = [_dumps({"event": "subscribe", **w}) for w in shard]
            routes[_ROUTE if n == 0 else f"{_ROUTE}.{n}"] = [conf, *frames]
        return routes

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``conf``, ``ping``, ``subscribe`` (reply, then the snapshot) and ``unsubscribe``."""
        s = cast(BitfinexSession, session)
        control = self._control(s, text, now_ms)
        if s.greeted:
            return control
        s.greeted = True
        info = _dumps({"event": "info", "version": 2, "serverId": "5b73a436-19ca-4a06", "platform": {"status": 1}})
        frames = [control.reply, *control.frames] if control.reply is not None else control.frames
        return Control(info, control.subscribe, control.unsubscribe, frames)

    def _control(self, s: BitfinexSession, text: str, now_ms: int) -> Control:
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(_dumps({"event": "error", "msg": "invalid JSON", "code": 10000}))
        event = msg.get("event") if isinstance(msg, dict) else None
        if event == "conf":
            flags = msg.get("flags")
            if type(flags) is not int or flags < 0:
                return Control(_dumps({"event": "error", "msg": "conf: invalid flags", "code": 10000}))
            s.flags = flags
            return Control(_dumps({"event": "conf", "status": "OK", "flags": flags}))
        if event == "ping":
            return Control(_dumps({"event": "pong", "ts": now_ms, "cid": msg.get("cid")}))
        if event == "subscribe":
            return self._subscribe(s, msg, now_ms)
        if event == "unsubscribe":
            chan_id = msg.get("chanId")
            stream = next((st for st, c in s.chan_of.items() if c == chan_id), None)
            if stream is None:
                return Control(_dumps({"event": "error", "msg": "unsubscribe: invalid", "code": 10400}))
            del s.chan_of[stream]
            return Control(_dumps({"event": "unsubscribed", "status": "OK", "chanId": chan_id}), unsubscribe=[stream])
        return Control(_dumps({"event": "error", "msg": "Unknown event", "code": 10000}))

    def _subscribe(self, s: BitfinexSession, msg: dict[str, Any], now_ms: int) -> Control:
        channel = msg.get("channel")
        echo: dict[str, Any] = {k: v for k, v in msg.items() if k != "event"}

        def refuse(code: int, why: str) -> Control:
            return Control(_dumps({"event": "error", "msg": why, "code": code, **echo}))

        # The reply echoes the request in Bitfinex's order: event, channel, chanId, then the
        # channel's parameters, subId, and pair last.
        fields: dict[str, Any]
        if channel in ("trades", "ticker", "book"):
            native = str(msg.get("symbol") or f"t{msg.get('pair', '')}")
            market = self._markets.get(native)
            if market is None:
                return refuse(10001, "symbol: invalid")
            fields, stream = {"symbol": native}, f"{channel}:{native}"
            if channel == "book":
                prec, length = msg.get("prec", "P0"), str(msg.get("len", "25"))
                if prec != "P0":
                    return refuse(10011, "book: prec invalid")
                if length not in BOOK_LENGTHS:
                    return refuse(10012, "book: len invalid")
                stream = f"book:{native}:{length}"
                fields |= {"prec": prec, "freq": msg.get("freq", "F0"), "len": length}
        elif channel == "candles":
            key = str(msg.get("key", ""))
            source, _, rest = key.partition(":")
            timeframe, _, native = rest.partition(":")
            market = self._markets.get(native)
            if source != "trade" or (timeframe not in _TIMEFRAMES and timeframe != "7D") or market is None:
                return refuse(10300, "subscribe: key invalid")
            fields, stream = {"key": key}, f"candles:{key}"
        elif channel == "status":
            key = str(msg.get("key", ""))
            market = self._markets.get(key.removeprefix("deriv:"))
            if key != "liq:global" and (market is None or market.spec.settle is None):
                return refuse(10300, "subscribe: key invalid")
            fields, stream = {"key": key}, f"status:{key}"
        else:
            return refuse(10302, "subscribe: channel unknown")
        if stream in s.chan_of:
            return refuse(10301, "subscribe: dup")
        if len(s.chan_of) >= _MAX_CHANNELS:
            return refuse(10305, "subscribe: limit")
        chan_id = self._chan_id(stream)
        s.chan_of[stream] = chan_id
        reply: dict[str, Any] = {"event": "subscribed", "channel": channel, "chanId": chan_id, **fields}
        if "subId" in msg:
            reply["subId"] = msg["subId"]
        if "symbol" in fields:
            reply["pair"] = native[1:]
        body = self._snapshot(stream, market, now_ms) if market is not None else None
        if stream.startswith("book:"):
            s.serials[stream] = self._serial.get(stream, 0)
        frames: list[str | bytes] = [s.frame(chan_id, body)] if body is not None else []
        return Control(_dumps(reply), subscribe=[stream], frames=frames)

    def _snapshot(self, stream: str, market: SymbolMarket, now_ms: int) -> str | None:
        """The message that follows a ``subscribed`` reply, if the channel has one."""
        native = market.spec.native
        nums = self._numbers[native]
        kind = stream.partition(":")[0]
        if kind == "trades":
            trades = cast(BitfinexMarket, market).trades
            ids = cast(BitfinexMarket, market).trade_ids
            return "[" + ",".join(trade_body(nums, f, ids) for f in reversed(trades)) + "]"
        if kind == "ticker":
            return ticker_body(cast(BitfinexMarket, market), nums)
        if kind == "book":
            view = self._view(native, stream.rpartition(":")[2])
            view.advance(market)
            bids, asks = view.best()
            entries = [level_body(nums, p, q, True) for p, q in bids]
            entries += [level_body(nums, p, q, False) for p, q in asks]
            return "[" + ",".join(entries) + "]"
        if kind == "candles":
            bar = self._bars.get(stream)
            return f"[{bar}]" if bar is not None else "[]"
        if kind == "status" and not stream.endswith("liq:global"):
            return status_body(market, nums, now_ms)
        return None

    # -- stream payloads ------------------------------------------------------------------------

    def wanted_intervals(self, stream: str) -> str | None:
        """``candles:trade:1m:tBTCUSD`` -> ``1m`` (time frames the model cannot aggregate -> ``None``)."""
        if not stream.startswith("candles:trade:"):
            return None
        unified = _TIMEFRAMES.get(stream.split(":")[2])
        return unified if unified in _MODEL_TIMEFRAME else None

    def stream_book_key(self, stream: str) -> str | None:
        """``book:tBTCUSD:100`` -> ``tBTCUSD``."""
        kind, _, rest = stream.partition(":")
        return rest.rpartition(":")[0] if kind == "book" else None

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Book levels and checksums per subscribed length, trades, ticker, candles, derivative status."""
        native = spec.native
        market = self._markets[native]
        nums = self._numbers[native]
        out: list[Message] = []
        for length in BOOK_LENGTHS:
            stream = f"book:{native}:{length}"
            if stream in subscribed:
                out.extend(self._book(stream, native, length, market, nums))
        if update.fills:
            stream = f"trades:{native}"
            if stream in subscribed:
                for f in update.fills:
                    body = trade_body(nums, f, market.trade_ids)
                    out.append(Message(stream, f'"te",{body}'))
                    out.append(Message(stream, f'"tu",{body}'))
        stream = f"ticker:{native}"
        if (update.fills or update.bbo_changed) and stream in subscribed:
            out.append(Message(stream, ticker_body(market, nums)))
        for candle, closed in update.candles:
            timeframe = _MODEL_TIMEFRAME.get(candle.interval)
            stream = f"candles:trade:{timeframe}:{native}"
            if closed or timeframe is None or stream not in subscribed:
                continue
            price = nums.price
            body = json_numbers(
                [
                    candle.start_ms,
                    price(candle.open),
                    price(candle.close),
                    price(candle.high),
                    price(candle.low),
                    nums.size(candle.lots),
                ]
            )
            self._bars[stream] = body
            out.append(Message(stream, body))
        stream = f"status:deriv:{native}"
        if spec.settle is not None and stream in subscribed and update.time_ms - self._status_ms.get(stream, 0) >= 1000:
            self._status_ms[stream] = update.time_ms
            out.append(Message(stream, status_body(market, nums, update.time_ms)))
        return out

    def _book(self, stream: str, native: str, length: str, market: SymbolMarket, nums: Numbers) -> list[Message]:
        view = self._view(native, length)
        changes = view.advance(market)
        if not changes:
            return []
        out: list[Message] = []
        serial = self._serial.get(stream, 0)
        for ticks, lots, is_bid in changes:
            serial += 1
            out.append(BookDiff(stream, level_body(nums, ticks, lots, is_bid), native, serial=serial))
        self._serial[stream] = serial
        out.append(BookChecksum(stream, "", value=view.checksum(nums)))
        return out

    def _view(self, native: str, length: str) -> BookView:
        view = self._views.get((native, length))
        if view is None:
            view = self._views[native, length] = BookView(int(length))
        return view

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The best ``depth`` levels (default 100) a book subscription of that length holds; books have no id."""
        length = DEFAULT_BOOK_LENGTH if depth is None else str(depth)
        if length not in BOOK_LENGTHS:
            raise UsageError(f"bitfinex books have lengths {BOOK_LENGTHS}, not {depth}")
        native = market.spec.native
        nums = self._numbers[native]
        view = self._view(native, length)
        view.advance(market)
        bids = {nums.price(p): nums.size(q) for p, q in view.bids.items()}
        asks = {nums.price(p): nums.size(q) for p, q in view.asks.items()}
        return bids, asks, None

    # -- REST -----------------------------------------------------------------------------------

    def instrument_calls(self, keys: Collection[str]) -> list[tuple[str, dict[str, str]]]:
        """The three configuration listings the adapter reads: spot pairs, perpetuals and labels."""
        return [(path, {}) for path in LISTINGS]

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """The configuration listings; anything else is Bitfinex's ``["error", 10020, ...]`` with 404."""
        if call.method == "GET":
            if call.path == "/v2/conf/pub:list:pair:exchange":
                pairs = [m.spec.native[1:] for m in markets.values() if m.spec.settle is None]
                return RestAnswer(200, orjson.dumps([pairs]))
            if call.path == "/v2/conf/pub:list:pair:futures":
                pairs = [m.spec.native[1:] for m in markets.values() if m.spec.settle is not None]
                return RestAnswer(200, orjson.dumps([pairs]))
            if call.path == "/v2/conf/pub:map:currency:sym":
                return RestAnswer(200, orjson.dumps([[list(pair) for pair in _LABELS.items()]]))
        return RestAnswer(404, orjson.dumps(["error", 10020, f"{call.path}: invalid"]))

    def rate_limited(self) -> RestAnswer:
        return RestAnswer(429, b'{"error":"ERR_RATE_LIMIT"}')

    # -- faults ---------------------------------------------------------------------------------

    def corrupt(self, message: Message) -> Message:
        """The book diff marked so the checksum that follows it is wrong on that connection."""
        return dataclasses.replace(message, corrupted=True) if isinstance(message, BookDiff) else message

    def malformed(self) -> str:
        """A book update cut off mid-array."""
        return "[17082,[7254.5,0,"

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Bitfinex-shaped frames for ``spec``'s channels with impossible values; each must be one error."""
        native = spec.native
        ids = [
            self._chan_id(f"trades:{native}"),
            self._chan_id(f"ticker:{native}"),
            self._chan_id(f"book:{native}:{DEFAULT_BOOK_LENGTH}"),
        ]
        return hostile_frames(spec, self._numbers.get(native) or Numbers(spec), now_ms, *ids)

    def _chan_id(self, stream: str) -> int:
        """The channel id of ``stream`` (the same on every connection of this server)."""
        return self._chan_ids.setdefault(stream, 17082 + 37 * len(self._chan_ids))
