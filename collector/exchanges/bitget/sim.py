"""Bitget v2's public wire format over the neutral market: spot and USDT-/coin-/USDC-M futures.

Everything follows ``shared/exchanges/bitget.md``:

- one websocket path, ``/v2/ws/public``; each subscription names its product line in
  ``instType`` (``SPOT``, ``USDT-FUTURES``, ``COIN-FUTURES``, ``USDC-FUTURES``), so stream
  names and market keys are qualified with it (``USDT-FUTURES:books:BTCUSDT``,
  ``SPOT:BTCUSDT``): ``BTCUSDT`` is both a spot pair and a perpetual.
- the text ``ping`` gets the text ``pong``; ``{"op":"subscribe"|"unsubscribe","args":[...]}``
  gets one ``{"event":...,"arg":...}`` per argument (``code`` 30001 "doesn't exist" for an
  unknown one, 30016 "Param error" past 4096 bytes of args), and a subscription starts
  with a snapshot: the whole book, recent trades (newest first), the ticker.
- ``books``: then updates with absolute sizes (``"0"`` removes), ``seq`` (the market's
  update id) and ``pseq`` (the previous push's ``seq``), and the CRC32 ``checksum`` of the
  top 25 levels written as sent; snapshots carry ``checksum`` 0, as current v2 does.
  ``books1``/``books5``/``books15`` push whole books with ``checksum`` 0.
- ``trade`` (``side`` is the taker's), ``ticker`` (whole, with mark/index/funding/open
  interest on futures), ``candle<interval>`` rows of the forming bar only (Bitget never
  marks a bar final).
- REST ``/api/v2/spot/public/symbols`` and ``/api/v2/mix/market/contracts?productType=``.
  Synthetic captures (:func:`collector.simulator.synthetic_frames`) record every listing
  under :attr:`BitgetWire.instruments_path`, spot as ``productType=SPOT``; the adapter's
  ``match_key`` pairs that with its spot listing request.

Sizes are in the base coin on every product line (contract size 1). Faults: ``GAP``
withholds one ``books`` update (the next ``pseq`` no longer links), ``CHECKSUM`` changes
one update's checksum. Capture playback keys recorded pushes by
``<INSTTYPE>:<channel>:<instId>`` and serves v1 recordings on their ``/spot|mix/v1/stream`` paths.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import orjson

from ...errors import UnknownExchange, UnknownSymbol, UsageError
from ...simulator.market import InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, Tag, WireFormat
from .instruments import CONTRACTS_PATH, FUTURES, SPOT_PATH, listing_family
from .parse import BOOK_CHANNELS, CANDLE_CHANNELS, CANDLE_INTERVALS
from .simdata import (
    BitgetMarket,
    answer,
    book_checksum,
    book_push,
    contract_entry,
    delivery_ms,
    dumps,
    family_of,
    hostile_frames,
    level_texts,
    push,
    spot_entry,
    ticker_push,
    trades_push,
)

__all__ = ["BitgetWire"]

_MODEL_INTERVALS = {"1m", "5m", "15m", "30m", "1h", "4h", "6h", "12h", "1d"}  # what the market model aggregates
_ROUTES = {"v2/ws/public": "public", "spot/v1/stream": "spot-v1", "mix/v1/stream": "mix-v1"}
_PATHS = {route: "/" + path for path, route in _ROUTES.items()}
_V1_ROUTE = {"SP": "spot-v1", "MC": "mix-v1"}
_FAMILIES = frozenset({"SPOT", *FUTURES})
_CHANNELS = frozenset({"trade", "ticker", *BOOK_CHANNELS, *CANDLE_INTERVALS})
_MAX_ARGS_BYTES = 4096  # "the total length of multiple channels cannot exceed 4096 bytes"


class BitgetWire(WireFormat):
    """Bitget v2 public market data for the ``bitget`` exchange id (spot and every futures line)."""

    default_ws = "wss://ws.bitget.com"
    default_rest = "https://api.bitget.com"
    endpoint_path = "/v2/ws/public"
    instruments_path = CONTRACTS_PATH
    checksums = True

    def __init__(self, exchange: str = "bitget") -> None:
        if exchange != "bitget":
            raise UnknownExchange(f"the Bitget wire format serves 'bitget', not {exchange!r}")
        super().__init__(exchange)
        self._markets: dict[str, BitgetMarket] = {}  # by market key

    # -- instruments ----------------------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """``BTC/USDT`` spot, ``BTC/USDT:USDT``, ``BTC/USDC:USDC``, ``BTC/USD:BTC``, ``ETH/USD:ETH-231229``."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
            dated = f"_{expiry}" if expiry else ""
            if expiry:
                delivery_ms(expiry)
        except ValueError as exc:
            raise UnknownSymbol(f"bitget: {exc}") from None
        if settle is None:
            native = base + quote
        elif settle == quote == "USDT" or (settle == base and quote == "USD"):
            native = base + quote + dated  # BTCUSDT, BTCUSD, ETHUSD_231229
        elif settle == quote == "USDC" and not expiry:
            native = base + "PERP"  # USDC-M ids leave the quote out
        else:
            raise UnknownSymbol(
                f"bitget lists no {symbol!r}; symbols look like BTC/USDT, BTC/USDT:USDT, BTC/USDC:USDC, BTC/USD:BTC"
            )
        spot = settle is None
        rng = random.Random(f"{seed}:bitget:{symbol}:spec")
        price = start_price(base, rng)
        magnitude = math.floor(math.log10(price))
        price_decimals = min(8, max(0, (6 if spot else 5) - magnitude))
        size_decimals = min(8, max(0, magnitude + (2 if spot else 0)))
        return InstrumentSpec(
            symbol=symbol,
            native=native,
            base=base,
            quote=quote,
            settle=settle,
            expiry=expiry,
            price_decimals=price_decimals,
            size_decimals=size_decimals,
            start_ticks=round(price * 10**price_decimals),
            mean_lots=max(1, round(3000.0 / price * 10**size_decimals)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """A :class:`BitgetMarket` whose update ids (the ``seq`` of its book) start near Bitget's."""
        key = self.market_key(spec)
        rng = random.Random(f"{seed}:bitget:{key}")
        market = BitgetMarket(spec, rng, depth=depth, start_id=4 * 10**11 + rng.randrange(10**10))
        self._markets[key] = market
        return market

    def market_key(self, spec: InstrumentSpec) -> str:
        """``USDT-FUTURES:BTCUSDT``: native ids repeat across product lines."""
        return f"{family_of(spec)}:{spec.native}"

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """One listing per product line of the markets, all on :attr:`instruments_path` (spot as ``SPOT``)."""
        families = {key.partition(":")[0] for key in keys}
        return [{"productType": family} for family in ("SPOT", *FUTURES) if family in families]

    def listed_key(self, url: str, native: str) -> str:
        """``<family>:<native>`` (v1 listings: ``SP``/``MC``, as v1 pushes name them)."""
        family = listing_family(url) or "SPOT"
        if "/v1/" in urlsplit(url).path:
            return f"{'SP' if family == 'SPOT' else 'MC'}:{native}"
        return f"{family}:{native}"

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """``public`` for ``v2/ws/public``; the v1 stream paths for capture playback."""
        return _ROUTES.get(path.strip("/"))

    def ws_path(self, route: str) -> str:
        return _PATHS.get(route, self.endpoint_path)

    def stream_route(self, stream: str) -> str:
        """v2 streams are served on ``public``, v1 ones (``SP:``/``MC:``) on their own stream path."""
        return _V1_ROUTE.get(stream.partition(":")[0], "public")

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """Subscribe frames for trades, ticker, ``books`` and ``interval`` candles of every spec."""
        channel = CANDLE_CHANNELS.get(interval)
        if channel is None or interval not in _MODEL_INTERVALS:
            raise UsageError(f"the bitget simulator has no candle interval {interval!r}")
        args = [
            {"instType": family_of(spec), "channel": name, "instId": spec.native}
            for spec in specs
            for name in ("trade", "ticker", "books", channel)
        ]
        frames: list[str] = []
        batch: list[dict[str, str]] = []
        for arg in args:
            if batch and len(dumps([*batch, arg])) > _MAX_ARGS_BYTES:
                frames.append(dumps({"op": "subscribe", "args": batch}))
                batch = []
            batch.append(arg)
        if batch:
            frames.append(dumps({"op": "subscribe", "args": batch}))
        return {"public": frames}

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``ping`` and subscribe/unsubscribe (acks, then each new stream's snapshot)."""

        def snapshot(stream: str) -> tuple[bool, str | None]:
            inst_type, channel, inst_id = stream.split(":", 2)
            market = markets.get(f"{inst_type}:{inst_id}")
            if not isinstance(market, BitgetMarket) or session.route != "public":
                return False, None
            return True, self._snapshot(inst_type, channel, market, now_ms)

        return self._control(text, session.streams, snapshot)

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """As :meth:`on_client_text` for a capture: streams of a known channel are served, nothing is made."""

        def served(stream: str) -> tuple[bool, str | None]:
            return stream in recorded or stream.split(":", 2)[1] in _CHANNELS, None

        return self._control(text, session.streams, served)

    def _control(self, text: str, current: list[str], subscribe: Callable[[str], tuple[bool, str | None]]) -> Control:
        if text == "ping":
            return Control("pong")
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(dumps({"event": "error", "code": 30002, "msg": f"Unrecognized request:{text[:100]}"}))
        op = msg.get("op") if isinstance(msg, dict) else None
        args = msg.get("args") if isinstance(msg, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            return Control(dumps({"event": "error", "code": 30003, "msg": "Illegal request"}))
        if len(dumps(args)) > _MAX_ARGS_BYTES:
            return Control(dumps({"event": "error", "code": 30016, "msg": "Param error", "op": op}))
        frames: list[str | bytes] = []
        added: list[str] = []
        gone: list[str] = []
        for arg in args:
            stream = _stream_of(arg)
            if stream is not None and stream[:3] in ("SP:", "MC:"):
                arg = arg | {"instType": stream[:2].lower()}  # v1 acknowledges "SP"/"MC" as "sp"/"mc"
            if stream is None:
                frames.append(dumps({"event": "error", "code": 30016, "msg": "Param error", "op": op}))
                continue
            if op == "unsubscribe":
                frames.append(dumps({"event": "unsubscribe", "arg": arg}))
                if stream in current:
                    gone.append(stream)
                continue
            served, first = subscribe(stream)
            if not served:
                what = f"instType:{arg['instType']},channel:{arg['channel']},instId:{arg['instId']} doesn't exist"
                frames.append(dumps({"event": "error", "arg": arg, "code": 30001, "msg": what, "op": op}))
                continue
            # Subscribing again is acknowledged again, with a fresh snapshot.
            frames.append(dumps({"event": "subscribe", "arg": arg}))
            if first is not None:
                frames.append(first)
            if stream not in current and stream not in added:
                added.append(stream)
        return Control(None, subscribe=added, unsubscribe=gone, frames=frames)

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """``<INSTTYPE>:<channel>:<instId>`` of a recorded push; replies and pongs are the recorder's."""
        if frame == "pong":
            return Tag(skip="reply")
        try:
            obj = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return Tag()
        if not isinstance(obj, dict):
            return Tag()
        if "event" in obj:
            return Tag(skip="reply")
        stream = _stream_of(obj.get("arg"))
        if stream is None:
            return Tag()
        inst_type, channel, inst_id = stream.split(":", 2)
        diff = channel == "books" and obj.get("action") == "update"
        return Tag(stream, f"{inst_type}:{inst_id}" if diff else None)

    def wanted_intervals(self, stream: str) -> str | None:
        """``SPOT:candle1H:BTCUSDT`` -> ``1h`` (intervals the market model aggregates, UTC-cut channels)."""
        channel = stream.split(":", 2)[1] if stream.count(":") >= 2 else ""
        interval = CANDLE_INTERVALS.get(channel)
        if interval in _MODEL_INTERVALS and CANDLE_CHANNELS[interval] == channel:
            return interval
        return None

    def stream_book_key(self, stream: str) -> str | None:
        """``SPOT:books:BTCUSDT`` -> ``SPOT:BTCUSDT``; whole-book channels have no diffs."""
        inst_type, channel, inst_id = [*stream.split(":", 2), "", ""][:3]
        return f"{inst_type}:{inst_id}" if channel == "books" else None

    # -- stream payloads ------------------------------------------------------------------------

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: ``books`` diffs and whole books, trades, ticker, forming candles."""
        key = self.market_key(spec)
        market = self._markets[key]
        inst_type, native = key.split(":", 1)
        out: list[Message] = []
        time_ms = update.time_ms
        if update.first_id is not None:
            stream = f"{inst_type}:books:{native}"
            if stream in subscribed:
                data = {
                    "asks": level_texts(spec, update.asks),
                    "bids": level_texts(spec, update.bids),
                    "checksum": book_checksum(market),
                    "seq": update.last_id,
                    "pseq": update.prev_id,
                    "ts": str(time_ms),
                }
                out.append(Message(stream, push("update", inst_type, "books", native, [data], time_ms), key))
            for channel in ("books1", "books5", "books15"):
                stream = f"{inst_type}:{channel}:{native}"
                if stream in subscribed:
                    out.append(Message(stream, book_push(inst_type, channel, market, time_ms)))
        if update.fills:
            stream = f"{inst_type}:trade:{native}"
            if stream in subscribed:
                out.append(Message(stream, trades_push("update", inst_type, market, update.fills, time_ms)))
        if update.fills or update.bbo_changed:
            stream = f"{inst_type}:ticker:{native}"
            if stream in subscribed:
                out.append(Message(stream, ticker_push(inst_type, market, time_ms)))
        for candle, closed in update.candles:
            channel = CANDLE_CHANNELS.get(candle.interval, "")
            stream = f"{inst_type}:{channel}:{native}"
            if closed or stream not in subscribed:
                continue  # Bitget pushes the forming bar; a later bar tells that one closed
            row = [
                str(candle.start_ms),
                spec.price(candle.open),
                spec.price(candle.high),
                spec.price(candle.low),
                spec.price(candle.close),
                spec.size(candle.lots),
                f"{candle.counter_volume:.6f}",
                f"{candle.counter_volume:.6f}",
            ]
            market.forming[channel] = row
            out.append(Message(stream, push("update", inst_type, channel, native, [row], time_ms)))
        return out

    def _snapshot(self, inst_type: str, channel: str, market: BitgetMarket, now_ms: int) -> str | None:
        """The push a new subscription starts with, if its channel has one."""
        native = market.spec.native
        if channel in BOOK_CHANNELS:
            return book_push(inst_type, channel, market, now_ms)
        if channel == "ticker":
            return ticker_push(inst_type, market, now_ms)
        if channel == "trade":
            return trades_push("snapshot", inst_type, market, list(market.recent), now_ms)
        row = market.forming.get(channel)
        return push("snapshot", inst_type, channel, native, [row], now_ms) if row is not None else None

    # -- books a client holds -------------------------------------------------------------------

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole book for ``books`` (``depth`` 1/5/15: the ``booksN`` levels) and its ``seq``."""
        if depth is not None and depth not in (1, 5, 15):
            raise UsageError(f"bitget has no books{depth}; use books, books1, books5 or books15")
        return super().true_book(market, depth)

    # -- REST -----------------------------------------------------------------------------------

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """The instrument listings; errors come as ``code`` with HTTP 400, as on Bitget."""
        if call.method != "GET" or call.path not in (SPOT_PATH, CONTRACTS_PATH):
            return answer(404, "40404", "Request URL NOT FOUND", None, now_ms)
        family = listing_family(f"{call.path}?productType={call.query.get('productType', '')}")
        if family is None:
            return answer(400, "40020", "Parameter productType error", None, now_ms)
        specs = [m.spec for key, m in markets.items() if key.partition(":")[0] == family]
        symbol = call.query.get("symbol")
        if symbol is not None:
            specs = [s for s in specs if s.native == symbol]
        listed = [spot_entry(s) if family == "SPOT" else contract_entry(s, family) for s in specs]
        return answer(200, "00000", "success", listed, now_ms)

    def rate_limited(self) -> RestAnswer:
        """Bitget's 429 body."""
        return answer(429, "429", "Too Many Requests", None, 0)

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A book update cut off mid-level."""
        return '{"action":"update","arg":{"instType":"SPOT","channel":"books","instId":"BTCUSDT"},"data":[{"asks":[["1'

    def corrupt(self, message: Message) -> Message:
        """The ``books`` update with a wrong (still non-zero) checksum."""
        msg = orjson.loads(message.text)
        data = msg["data"][0]
        data["checksum"] = (data["checksum"] ^ 0x5A5A5A) or 1
        return Message(message.stream, dumps(msg), message.book_key)

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Bitget-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        return hostile_frames(spec, now_ms)


def _stream_of(arg: Any) -> str | None:
    """``<INSTTYPE>:<channel>:<instId>`` of a subscription argument (``None`` if it is not one)."""
    if not isinstance(arg, dict):
        return None
    inst_type, channel, inst_id = arg.get("instType"), arg.get("channel"), arg.get("instId")
    if not (isinstance(inst_type, str) and isinstance(channel, str) and isinstance(inst_id, str)):
        return None
    inst_type = inst_type.upper()  # v1 acknowledges "SP"/"MC" as "sp"/"mc"
    if (inst_type not in _FAMILIES and inst_type not in _V1_ROUTE) or channel not in _CHANNELS:
        return None
    return f"{inst_type}:{channel}:{inst_id}"
