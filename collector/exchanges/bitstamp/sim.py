"""Bitstamp's wire format over the neutral market (``PROTOCOL.md`` in this package).

- One websocket at the host's root. ``{"event": "bts:subscribe", "data": {"channel": ...}}``
  subscribes one channel and is answered ``bts:subscription_succeeded`` (a well-formed
  channel of an unknown pair too, which then stays silent, as on the real server);
  ``bts:unsubscribe`` likewise; ``{"event": "bts:heartbeat"}`` is answered with a heartbeat
  event. Text that is not JSON, a frame without a channel and a malformed channel name get
  the documented ``bts:error`` messages; a frame over 512 bytes closes the socket (1009).
- Channels ``live_trades_<pair>``, ``diff_order_book_<pair>`` (changed levels, absolute
  amounts, ``"0.00000000"`` removes), ``order_book_<pair>`` (the top 100 levels on every
  change) and, for perpetuals, ``funding_rate_<pair>`` (mark, index and funding rate once a
  second, hourly funding), written as Bitstamp writes them: ``data`` first, Python-style
  spacing, decimal strings, ``microtimestamp`` in µs as a string.
- Microtimestamps strictly increase per pair, and a REST snapshot's ``microtimestamp`` is
  that of the last diff produced, so the documented join (drop diffs at or before the
  snapshot, apply the rest) ends with exactly the simulator's book.
- REST ``/api/v2/trading-pairs-info/`` and ``/api/v2/order_book/<pair>/`` (every level).
- Captures play (``Simulator.from_capture``): a recorded frame's stream is its channel; the
  recorder's own acks and heartbeat answers are not played, ``bts:request_reconnect`` is.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

from ...errors import UnknownSymbol
from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Control, Message, RestAnswer, RestCall, Session, Tag, WireFormat, hostile_json

__all__ = ["BitstampWire"]

_INFO_PATH = "/api/v2/trading-pairs-info/"
_BOOK_PREFIX = "/api/v2/order_book/"
_KINDS = ("live_trades", "diff_order_book", "order_book", "detail_order_book", "live_orders", "funding_rate")
_CHANNEL = re.compile(rf"^(?:{'|'.join(_KINDS)})_[a-z0-9-]+$")
_MAX_FRAME = 512  # "keep them under 512 bytes": a longer client frame closes the socket
_TOP_LEVELS = 100  # order_book_<pair>: "Top 100 bids and asks"
# Answers to a client's own frames: a capture's are the recorder's, never played to another client.
_REPLIES = frozenset({"bts:subscription_succeeded", "bts:unsubscription_succeeded", "bts:heartbeat", "bts:error"})


class _Names(NamedTuple):
    """Channel names of one pair, built once."""

    trades: str
    diff: str
    top: str
    funding: str


def _frame(data: dict[str, Any], channel: str, event: str) -> str:
    """A data frame as Bitstamp writes it: ``data`` first, ``", "`` and ``": "`` separators."""
    return json.dumps({"data": data, "channel": channel, "event": event})


def _reply(event: str, channel: str = "", data: Any = None) -> str:
    return json.dumps({"event": event, "channel": channel, "data": {} if data is None else data})


def _error(message: str) -> str:
    return _reply("bts:error", "", {"code": None, "message": message})


def _number(text: str) -> int | float:
    """The JSON number Bitstamp sends beside a decimal string (``38416``, ``0.0028``)."""
    value = float(text)
    return int(value) if value.is_integer() else value


class BitstampWire(WireFormat):
    """The Bitstamp websocket v2 and REST v2 wire format (see the module docstring)."""

    default_ws = "wss://ws.bitstamp.net"
    default_rest = "https://www.bitstamp.net"
    endpoint_path = "/"  # the feed is served at the host's root
    instruments_path = _INFO_PATH
    # Diffs carry no sequence: a withheld one cannot be told from the book alone.
    sequenced = False

    def __init__(self, exchange: str = "bitstamp") -> None:
        super().__init__(exchange)
        self._names: dict[str, _Names] = {}
        self._markets: dict[str, SymbolMarket] = {}  # by native id: order_book_ needs the whole top
        self._stamps: dict[str, int] = {}  # native id -> last microtimestamp given out
        self._orders = 1_500_000_000  # order ids: a trade's taker order is newer than its maker's
        self._funding_at: dict[str, int] = {}  # native id -> second of the last funding_rate frame

    # -- instruments and markets ----------------------------------------------------------------

    def instrument(self, symbol: str, seed: int) -> InstrumentSpec:
        """A spot pair (``BTC/USD`` is ``btcusd``) or a USD-settled perpetual (``BTC/USD:USD``, ``btcusd-perp``)."""
        try:
            base, quote, settle, expiry = split_symbol(symbol)
        except ValueError as exc:
            raise UnknownSymbol(f"{self.exchange}: {exc}") from None
        if expiry is not None or settle not in (None, quote):
            kinds = "spot pairs (BTC/USD) and perpetuals (BTC/USD:USD)"
            raise UnknownSymbol(f"{self.exchange} lists {kinds}, no {symbol!r}")
        rng = random.Random(f"{seed}:{self.exchange}:{symbol}:spec")
        price = start_price(base, rng)
        # BTC/USD trades in whole dollars and ETH/USD in dimes; amounts have 8 decimals.
        decimals = min(8, max(0, 4 - math.floor(math.log10(price))))
        return InstrumentSpec(
            symbol=symbol,
            native=f"{base}{quote}".lower() + ("-perp" if settle else ""),
            base=base,
            quote=quote,
            settle=settle,
            expiry=None,
            price_decimals=decimals,
            size_decimals=8,
            start_ticks=round(price * 10**decimals),
            mean_lots=max(1, round(3000.0 / price * 1e8)),
        )

    def market(self, spec: InstrumentSpec, seed: int, depth: int) -> SymbolMarket:
        """The default market, remembered: ``order_book_<pair>`` frames carry its whole top."""
        market = super().market(spec, seed, depth)
        self._markets[spec.native] = market
        return market

    def _stamp(self, key: str, time_ms: int) -> int:
        """The next microtimestamp of pair ``key``: its time, strictly after the last one given."""
        stamp = max(time_ms * 1000, self._stamps.get(key, 0) + 1)
        self._stamps[key] = stamp
        return stamp

    def names(self, spec: InstrumentSpec) -> _Names:
        """The channel names of ``spec``."""
        names = self._names.get(spec.native)
        if names is None:
            n = spec.native
            names = self._names[n] = _Names(
                f"live_trades_{n}", f"diff_order_book_{n}", f"order_book_{n}", f"funding_rate_{n}"
            )
        return names

    # -- websocket ------------------------------------------------------------------------------

    def ws_route(self, path: str) -> str | None:
        """The one feed, at the root."""
        return "" if path == "" else None

    def ws_path(self, route: str) -> str:
        """The root path."""
        return ""

    def on_client_text(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``bts:subscribe``, ``bts:unsubscribe`` and ``bts:heartbeat``; anything else is a ``bts:error``."""
        if len(text.encode()) > _MAX_FRAME:
            return Control(None, close=1009)  # "read limited at 513 bytes"
        try:
            msg = json.loads(text)
        except ValueError:
            return Control(_error("Incorrect JSON format."))
        event = msg.get("event") if isinstance(msg, dict) else None
        if event == "bts:heartbeat":
            return Control(_reply("bts:heartbeat", "", {"status": "success"}))
        data = msg.get("data") if isinstance(msg, dict) else None
        channel = data.get("channel") if isinstance(data, dict) else None
        if event not in ("bts:subscribe", "bts:unsubscribe") or not isinstance(channel, str):
            return Control(_error("Bad subscription string."))
        if not _CHANNEL.match(channel):
            return Control(_error("Invalid channel provided."))
        if event == "bts:subscribe":
            return Control(_reply("bts:subscription_succeeded", channel), subscribe=[channel])
        return Control(_reply("bts:unsubscription_succeeded", channel), unsubscribe=[channel])

    def subscribe_all(self, specs: Sequence[InstrumentSpec], interval: str) -> dict[str, list[str]]:
        """One ``bts:subscribe`` per channel: trades, top of book and book diffs of every pair (and funding)."""
        frames = []
        for spec in specs:
            n = self.names(spec)
            for channel in (n.trades, n.diff, n.top, *((n.funding,) if spec.settle else ())):
                frames.append(json.dumps({"event": "bts:subscribe", "data": {"channel": channel}}))
        return {"": frames}

    def stream_book_key(self, stream: str) -> str | None:
        """``diff_order_book_btcusd`` -> ``btcusd`` (the market key); other channels -> ``None``."""
        kind, _, pair = stream.rpartition("_")
        return pair if kind == "diff_order_book" else None

    def encode(self, spec: InstrumentSpec, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Frames for one update: the book diff and the top 100 (when the book changed), and the trades."""
        n = self.names(spec)
        out: list[Message] = []
        key = spec.native
        price, size = spec.price, spec.size
        if update.first_id is not None and (n.diff in subscribed or n.top in subscribed):
            stamp = self._stamp(key, update.time_ms)
            head = {"timestamp": str(stamp // 1_000_000), "microtimestamp": str(stamp)}
            if n.diff in subscribed:
                bids = [[price(p), size(q)] for p, q in update.bids]
                asks = [[price(p), size(q)] for p, q in update.asks]
                out.append(Message(n.diff, _frame(head | {"bids": bids, "asks": asks}, n.diff, "data"), key))
            if n.top in subscribed:
                top_bids, top_asks = self._markets[key].levels(_TOP_LEVELS)
                bids = [[price(p), size(q)] for p, q in top_bids]
                asks = [[price(p), size(q)] for p, q in top_asks]
                out.append(Message(n.top, _frame(head | {"bids": bids, "asks": asks}, n.top, "data")))
        if update.fills and n.trades in subscribed:
            for f in update.fills:
                out.append(Message(n.trades, self._trade(spec, n.trades, f)))
        second = update.time_ms // 1000
        if spec.settle and n.funding in subscribed and self._funding_at.get(key) != second:
            self._funding_at[key] = second
            out.append(Message(n.funding, self._funding(spec, n.funding, update, second)))
        return out

    def _funding(self, spec: InstrumentSpec, channel: str, update: Update, second: int) -> str:
        bid, _, ask, _ = update.best
        mark = (bid + ask) / 2 / 10**spec.price_decimals
        data = {
            "market": spec.native,
            "mark_price": f"{mark:.8f}",
            "index_price": f"{mark * 0.99995:.8f}",
            "funding_rate": "0.000100",
            "timestamp": str(second),
            "next_funding_time": str((second // 3600 + 1) * 3600),
        }
        return _frame(data, channel, "funding_rate_saved")

    def _trade(self, spec: InstrumentSpec, channel: str, fill: Fill) -> str:
        self._orders += 2
        maker, taker = self._orders - 1, self._orders
        amount, price = spec.size(fill.lots), spec.price(fill.ticks)
        buy, ms = not fill.buyer_maker, fill.time_ms
        data = {
            "id": fill.agg_id,
            "timestamp": str(ms // 1000),
            "amount": _number(amount),
            "amount_str": amount,
            "price": _number(price),
            "price_str": price,
            "type": 0 if buy else 1,  # the taker's side
            "microtimestamp": str(ms * 1000),
            "buy_order_id": taker if buy else maker,
            "sell_order_id": maker if buy else taker,
        }
        return _frame(data, channel, "trade")

    def true_book(
        self, market: SymbolMarket, depth: int | None
    ) -> tuple[dict[float, float], dict[float, float], int | None]:
        """The whole book, with the microtimestamp of the last diff as its update id."""
        bids, asks, _ = super().true_book(market, depth)
        return bids, asks, self._stamps.get(market.spec.native)

    def tag_recorded(self, route: str | None, frame: str | bytes) -> Tag:
        """A recorded frame's channel is its stream; the recorder's replies are skipped."""
        try:
            obj = json.loads(frame)
        except ValueError:
            return Tag()
        if not isinstance(obj, dict):
            return Tag()
        event, channel = obj.get("event"), obj.get("channel")
        if event in _REPLIES:
            return Tag(skip="reply")
        if not isinstance(channel, str) or not channel:
            return Tag()  # bts:request_reconnect and the like: every client gets it
        return Tag(channel, self.stream_book_key(channel))

    def on_recorded_text(self, session: Session, text: str, recorded: Collection[str]) -> Control:
        """As :meth:`on_client_text`: Bitstamp acknowledges any well-formed channel, recorded or not."""
        return self.on_client_text(session, text, {}, 0)

    # -- REST -----------------------------------------------------------------------------------

    def snapshot_path(self, key: str) -> str:
        """``/api/v2/order_book/btcusd/?group=1`` (the adapter's snapshot request)."""
        return f"{_BOOK_PREFIX}{key}/?group=1"

    def rest(self, call: RestCall, markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """The pair listing and book snapshots (with or without the trailing slash)."""
        if call.method != "GET":
            return RestAnswer(405, b'{"status": "error", "reason": "Method not allowed"}')
        if call.path == _INFO_PATH:
            return RestAnswer(200, json.dumps([self._pair(m.spec) for m in markets.values()]).encode())
        if call.path.startswith(_BOOK_PREFIX):
            market = markets.get(call.path[len(_BOOK_PREFIX) :].strip("/"))
            if market is not None:
                return RestAnswer(200, self._snapshot(market, now_ms).encode())
        return RestAnswer(404, b'{"status": "error", "reason": "Not found"}')

    def _snapshot(self, market: SymbolMarket, now_ms: int) -> str:
        spec = market.spec
        key = spec.native
        stamp = self._stamps.get(key)
        if stamp is None:
            stamp = self._stamps[key] = now_ms * 1000
        bids, asks = market.levels(len(market.bids) + len(market.asks))
        body = {
            "timestamp": str(stamp // 1_000_000),
            "microtimestamp": str(stamp),
            "bids": [[spec.price(p), spec.size(q)] for p, q in bids],
            "asks": [[spec.price(p), spec.size(q)] for p, q in asks],
        }
        return json.dumps(body)

    def _pair(self, spec: InstrumentSpec) -> dict[str, Any]:
        minimum = f"10 {spec.quote}"
        entry: dict[str, Any] = {
            "name": f"{spec.base}/{spec.quote}" + ("-PERP" if spec.settle else ""),
            "url_symbol": spec.native,
            "base_decimals": spec.size_decimals,
            "counter_decimals": spec.price_decimals,
            "instant_order_counter_decimals": spec.price_decimals,
            "minimum_order": minimum,
            "trading": "Enabled",
            "instant_and_market_orders": "Enabled",
            "description": f"{spec.base} / {spec.quote}",
        }
        if spec.settle:
            entry |= {
                "market_type": "PERPETUAL",
                "base_currency": spec.base,
                "counter_currency": spec.quote,
                "contract_size": "1.00000000",
            }
        return entry

    # -- faults ---------------------------------------------------------------------------------

    def malformed(self) -> str:
        """A diff frame cut off mid-object, as a broken proxy would deliver it."""
        return '{"data": {"timestamp": "1700000000", "microtimestamp": "1700000000123456", "bids": [["6'

    def hostile(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[str | bytes, str]]:
        """Bitstamp-shaped frames of ``spec`` with impossible values, each of which a client must reject."""
        n = self.names(spec)
        price, size = spec.price(spec.start_ticks), spec.size(1)
        micro = str(now_ms * 1000)

        def frame(channel: str, data: Any, event: str = "data") -> str:
            return hostile_json({"data": data, "channel": channel, "event": event})

        def trade(**changes: Any) -> str:
            t = {"id": 7, "timestamp": str(now_ms // 1000), "amount": float(size), "amount_str": size}
            t |= {"price": float(price), "price_str": price, "type": 0, "microtimestamp": micro} | changes
            return frame(n.trades, t, "trade")

        def diff(channel: str = n.diff, **changes: Any) -> str:
            d = {"timestamp": str(now_ms // 1000), "microtimestamp": micro, "bids": [], "asks": []}
            return frame(channel, d | changes)

        return [
            (trade(price_str="NaN"), "NaN price"),
            (trade(price_str="Infinity", price=float("inf")), "infinite price"),
            (trade(price_str="0", price=0), "zero price"),
            (trade(price_str="-" + price, price=-float(price)), "negative price"),
            (trade(amount_str="-" + size), "negative amount"),
            (trade(price_str={"value": price}), "price of the wrong type"),
            (trade(price_str=None, price=None), "null price"),
            (trade(id=2**70), "trade id beyond 64 bits"),
            (trade(price_str="1e400"), "price beyond a double"),
            (trade(type=7), "a trade type that is neither buy nor sell"),
            (trade(microtimestamp=str(2**70)), "microtimestamp beyond 64 bits"),
            (diff(bids=[["NaN", size]]), "NaN book level"),
            (diff(asks=[[price, "-1"]]), "negative book amount"),
            (diff(bids=[[price]]), "book level without an amount"),
            (diff(microtimestamp=str(2**70)), "book microtimestamp beyond 64 bits"),
            (diff(n.top, bids=[["nan", size]]), "NaN best bid"),
            (frame(n.trades, None, "trade"), "null payload"),
            (frame(n.diff, [1, 2, 3]), "array payload"),
            (frame(f"no_such_channel_{spec.native}", {}), "unknown channel"),
            (frame("live_trades_nosuchpair", {"id": 1}, "trade"), "unknown pair"),
        ]
