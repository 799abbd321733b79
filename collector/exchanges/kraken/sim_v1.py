"""The simulator's Kraken websocket v1 (``wss://ws.kraken.com``), beside v2 in :mod:`.sim`.

- ``{"event":"subscribe","pair":[...],"subscription":{"name":...}}`` is answered per pair with
  a ``subscriptionStatus`` (``channelID``, ``channelName`` such as ``book-10``), or one with
  ``status: error`` and an ``errorMessage``; then the book snapshot (``as``/``bs``) or ticker.
  ``{"event":"ping"}`` gets a ``pong``; idle connections get ``{"event":"heartbeat"}``.
- Data are arrays ``[channelID, payload, channelName, pair]`` with quoted decimals. Book
  prices are printed with at least five places whatever the pair's precision, as v1 does
  (``"60000.10000"``), volumes with eight; the checksum ``c`` of an update is taken of
  those texts. A level coming back into the subscribed depth is sent with a fourth element ``"r"``.
- Pairs use the v1 names (``XBT/USD``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Collection, Mapping
from typing import Any

import orjson

from ...simulator.market import InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Control, Message, Session
from .sim_market import DEPTHS, INTERVALS, KrakenMarket, View, digits, kraken_names

__all__ = ["V1_PRICE_PLACES", "V1Frames"]

V1_PRICE_PLACES = 5
"""The fewest decimal places v1 prints a book price with (``XBT/USD`` ``"5541.30000"``)."""


def _seconds(ms: int) -> str:
    return f"{ms / 1000:.6f}"


class V1Frames:
    """v1 control replies and data frames of a :class:`~collector.exchanges.kraken.sim.KrakenWire`."""

    def __init__(self, view: Callable[[str, int], View]) -> None:
        self.view = view  # the wire's shared book view of (symbol, depth)
        self.active = False  # whether any v1 stream was ever subscribed (encode skips v1 otherwise)
        self._ids: dict[str, int] = {}  # stream -> channelID
        self._formats: dict[str, str] = {}  # native -> printf format of v1 book prices

    def channel_id(self, stream: str) -> int:
        """The channel id of a stream, fixed for the life of the wire."""
        cid = self._ids.get(stream)
        if cid is None:
            cid = self._ids[stream] = 1000 + 4 * len(self._ids)
        return cid

    def price(self, spec: InstrumentSpec, ticks: int) -> str:
        """A book price as v1 prints it: at least :data:`V1_PRICE_PLACES` decimals."""
        fmt = self._formats.get(spec.native)
        if fmt is None:
            fmt = self._formats[spec.native] = f"%.{max(spec.price_decimals, V1_PRICE_PLACES)}f"
        return str(fmt % (ticks / 10**spec.price_decimals))

    # -- control --------------------------------------------------------------------------------

    def control(self, session: Session, text: str, markets: Mapping[str, SymbolMarket], now_ms: int) -> Control:
        """Answer ``ping``, ``subscribe`` (one status per pair, then snapshots) and ``unsubscribe``."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return Control(orjson.dumps({"errorMessage": "Malformed request", "event": "error"}).decode())
        if not isinstance(msg, dict):
            return Control(orjson.dumps({"errorMessage": "Malformed request", "event": "error"}).decode())
        event = msg.get("event")
        if event == "ping":
            return Control(orjson.dumps({"event": "pong", "reqid": msg.get("reqid")}).decode())
        subscription = msg.get("subscription")
        pairs = msg.get("pair")
        if event not in ("subscribe", "unsubscribe") or not isinstance(subscription, dict):
            return Control(orjson.dumps({"errorMessage": "Unsupported event", "event": "error"}).decode())
        if not isinstance(pairs, list) or not pairs or not all(isinstance(p, str) for p in pairs):
            return Control(orjson.dumps({"errorMessage": "Pair(s) not found", "event": "error"}).decode())
        by_wsname = {kraken_names(m.spec.base, m.spec.quote)[2]: m for m in markets.values()}
        replies: list[str] = []
        frames: list[str | bytes] = []
        added: list[str] = []
        removed: list[str] = []
        current = set(session.streams)
        for pair in pairs:
            status: dict[str, Any] = {"event": "subscriptionStatus", "pair": pair, "subscription": subscription}
            market = by_wsname.get(pair)
            named = self._stream(subscription, market.spec.native if market is not None else "")
            error = None if market is not None else f"Currency pair not supported {pair}"
            if error is None and named is None:
                error = "Subscription name invalid"
            elif named is not None and event == "subscribe" and named[0] in current:
                error = "Already subscribed"
            elif named is not None and event == "unsubscribe" and named[0] not in current:
                error = "Subscription Not Found"
            if error is not None or named is None or market is None:
                replies.append(orjson.dumps({"errorMessage": error, **status, "status": "error"}).decode())
                continue
            stream, name = named
            status |= {"channelID": self.channel_id(stream), "channelName": name}
            if event == "unsubscribe":
                removed.append(stream)
                replies.append(orjson.dumps({**status, "status": "unsubscribed"}).decode())
                continue
            self.active = True
            added.append(stream)
            current.add(stream)
            replies.append(orjson.dumps({**status, "status": "subscribed"}).decode())
            snapshot = self._snapshot(stream, name, market, now_ms)
            if snapshot is not None:
                frames.append(snapshot)
        return Control(replies[0], subscribe=added, unsubscribe=removed, frames=[*replies[1:], *frames])

    @staticmethod
    def _stream(subscription: dict[str, Any], native: str) -> tuple[str, str] | None:
        """(stream, channelName) of a subscription, ``None`` when v1 has no such channel or parameter."""
        name = subscription.get("name")
        if name == "book":
            depth = subscription.get("depth", 10)
            return (f"v1:book:{depth}:{native}", f"book-{depth}") if depth in DEPTHS else None
        if name == "ohlc":
            minutes = subscription.get("interval", 1)
            return (f"v1:ohlc:{minutes}:{native}", f"ohlc-{minutes}") if minutes in INTERVALS else None
        if name in ("trade", "ticker"):
            return f"v1:{name}:{native}", str(name)
        return None

    def _snapshot(self, stream: str, name: str, market: SymbolMarket, now_ms: int) -> str | None:
        spec = market.spec
        wsname = kraken_names(spec.base, spec.quote)[2]
        cid = self.channel_id(stream)
        if name.startswith("book-"):
            view = self.view(spec.native, int(name[5:]))
            view.advance(market)
            stamp = _seconds(now_ms)
            asks = ",".join(self._level(spec, p, q, stamp) for p, q in sorted(view.asks.items()))
            bids = ",".join(self._level(spec, p, q, stamp) for p, q in sorted(view.bids.items(), reverse=True))
            return f'[{cid},{{"as":[{asks}],"bs":[{bids}]}},"{name}","{wsname}"]'
        if name == "ticker":
            return self._ticker(cid, market, wsname)
        return None

    def _level(self, spec: InstrumentSpec, ticks: int, lots: int, stamp: str, flag: str = "") -> str:
        extra = f',"{flag}"' if flag else ""
        return f'["{self.price(spec, ticks)}","{spec.size(lots)}","{stamp}"{extra}]'

    # -- data -----------------------------------------------------------------------------------

    def book_update(
        self,
        spec: InstrumentSpec,
        depth: int,
        view: View,
        bids: list[tuple[int, int]],
        asks: list[tuple[int, int]],
        update: Update,
    ) -> str:
        """``[id, {"a":[...]}, {"b":[...],"c":"<crc>"}, "book-<depth>", pair]`` (one object when one side changed)."""
        stamp = _seconds(update.time_ms)
        # A level the market did not change this step but the window now shows came back into scope.
        changed_bids = {p for p, _ in update.bids}
        changed_asks = {p for p, _ in update.asks}
        ask_text = ",".join(self._level(spec, p, q, stamp, "r" if q and p not in changed_asks else "") for p, q in asks)
        bid_text = ",".join(self._level(spec, p, q, stamp, "r" if q and p not in changed_bids else "") for p, q in bids)
        crc = self.checksum(spec, view)
        parts = []
        if asks:
            parts.append(f'{{"a":[{ask_text}]' + ("}" if bids else f',"c":"{crc}"}}'))
        if bids:
            parts.append(f'{{"b":[{bid_text}],"c":"{crc}"}}')
        cid = self.channel_id(f"v1:book:{depth}:{spec.native}")
        return f'[{cid},{",".join(parts)},"book-{depth}","{kraken_names(spec.base, spec.quote)[2]}"]'

    def checksum(self, spec: InstrumentSpec, view: View) -> int:
        """CRC32 of the top 10 asks then bids, of the prices and volumes as v1 prints them."""
        asks = sorted(view.asks.items())[:10]
        bids = sorted(view.bids.items(), reverse=True)[:10]
        text = "".join(digits(self.price(spec, p)) + digits(spec.size(q)) for p, q in asks + bids)
        return zlib.crc32(text.encode())

    def encode(self, market: KrakenMarket, update: Update, subscribed: Collection[str]) -> list[Message]:
        """Trades, tickers (on trades, as v1 does) and running bars of one step, for v1 subscribers."""
        spec = market.spec
        native, wsname = spec.native, kraken_names(spec.base, spec.quote)[2]
        out: list[Message] = []
        if update.fills:
            stream = f"v1:trade:{native}"
            if stream in subscribed:
                price, size, stamp = spec.price, spec.size, _seconds(update.time_ms)
                trades = ",".join(
                    f'["{price(f.ticks)}","{size(f.lots)}","{stamp}","{"s" if f.buyer_maker else "b"}",'
                    f'"{"l" if f.agg_id % 3 == 0 else "m"}",""]'
                    for f in update.fills
                )
                out.append(Message(stream, f'[{self.channel_id(stream)},[{trades}],"trade","{wsname}"]'))
            stream = f"v1:ticker:{native}"
            if stream in subscribed:
                out.append(Message(stream, self._ticker(self.channel_id(stream), market, wsname)))
        for candle, closed in update.candles:
            minutes = next((m for m, name in INTERVALS.items() if name == candle.interval), None)
            stream = f"v1:ohlc:{minutes}:{native}"
            if closed or minutes is None or stream not in subscribed:
                continue
            price = spec.price
            bar = (
                f'["{_seconds(update.time_ms)}","{_seconds(candle.end_ms)}","{price(candle.open)}",'
                f'"{price(candle.high)}","{price(candle.low)}","{price(candle.close)}","{price(candle.close)}",'
                f'"{spec.size(candle.lots)}",{candle.trades}]'
            )
            out.append(Message(stream, f'[{self.channel_id(stream)},{bar},"ohlc-{minutes}","{wsname}"]'))
        return out

    def _ticker(self, cid: int, market: SymbolMarket, wsname: str) -> str:
        spec = market.spec
        price, size = spec.price, spec.size
        bid, bid_lots, ask, ask_lots = market.best()
        stats = market if isinstance(market, KrakenMarket) else None
        volume = size(stats.volume_lots) if stats else size(0)
        count = stats.trades if stats else 0
        low = price(stats.low) if stats else price(market.last_price)
        high = price(stats.high) if stats else price(market.last_price)
        opened = price(stats.open_ticks) if stats else price(market.last_price)
        unit = 10**spec.size_decimals
        data = (
            f'{{"a":["{price(ask)}",{ask_lots // unit},"{size(ask_lots)}"],'
            f'"b":["{price(bid)}",{bid_lots // unit},"{size(bid_lots)}"],'
            f'"c":["{price(market.last_price)}","{size(0)}"],"v":["{volume}","{volume}"],'
            f'"p":["{price(market.last_price)}","{price(market.last_price)}"],"t":[{count},{count}],'
            f'"l":["{low}","{low}"],"h":["{high}","{high}"],"o":["{opened}","{opened}"]}}'
        )
        return f'[{cid},{data},"ticker","{wsname}"]'
