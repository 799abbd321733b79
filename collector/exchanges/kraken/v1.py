"""Kraken spot websocket v1 (``wss://ws.kraken.com``): frames into events.

Still served, frozen, and what cryptofeed's Kraken feed speaks, so recordings made with
it replay through here. Data messages are arrays ``[channelID, payload, channelName,
pair]`` (a book update may carry its asks and bids in two payload objects: five
elements); control messages are objects with an ``event``. The parser reads the
channel name from the end of the text (``..."book-100","XBT/USD"]``), then decodes the
frame once with that channel's typed decoder. A frame without a name (the first v1
versions sent ``[channelID, payload]``) is resolved through the channel ids that
``subscriptionStatus`` announced.

Book levels are quoted decimals printed with a fixed number of places per pair, which
need not be the AssetPairs precision (``XMR/USD`` prices come as ``"354.80000000"`` while
``pair_decimals`` is 2); the checksum is taken of those texts, so the places are read
from each snapshot's first level.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from ...models import Candle, Side, Ticker, Trade
from ..base import Output
from .schemas import V1BookMsg, V1BookPart, V1Candle, V1CandleMsg, V1Event, V1Ticker, V1TickerMsg, V1Trade, V1TradeMsg

if TYPE_CHECKING:
    from .adapter import KrakenAdapter

__all__ = ["BOOK_DEPTHS", "V1_INTERVALS", "V1Parser"]

BOOK_DEPTHS = (10, 25, 100, 500, 1000)
"""Book depths Kraken offers (v1 and v2)."""
V1_INTERVALS = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 240: "4h", 1440: "1d", 10080: "1w", 21600: "15d"}
"""``ohlc-<minutes>`` -> unified candle interval."""

_event = msgspec.json.Decoder(V1Event, strict=False)
_book = msgspec.json.Decoder(V1BookMsg, strict=False)
_trades = msgspec.json.Decoder(V1TradeMsg, strict=False)
_ticker = msgspec.json.Decoder(V1TickerMsg, strict=False)
_ohlc = msgspec.json.Decoder(V1CandleMsg, strict=False)
_raw = msgspec.json.Decoder(list[msgspec.Raw])
_book_part = msgspec.json.Decoder(V1BookPart, strict=False)
_trade_list = msgspec.json.Decoder(list[V1Trade], strict=False)
_ticker_payload = msgspec.json.Decoder(V1Ticker, strict=False)
_candle_payload = msgspec.json.Decoder(V1Candle, strict=False)

_SIDES: dict[str, Side] = {"b": "buy", "s": "sell"}
# The first level of a snapshot side, as text: its decimal places are the pair's wire precision.
_FIRST_LEVEL = re.compile(r'"[ab]s"\s*:\s*\[\s*\[\s*"(\d+(?:\.\d*)?)"\s*,\s*"(\d+(?:\.\d*)?)"')
# Public channels without events here; "spread" is the best bid/offer, which the ticker also has.
_UNUSED = frozenset({"spread", "ownTrades", "openOrders"})
_EVENTS_IGNORED = {
    "systemStatus": "status",
    "pong": "pong",
    "addOrderStatus": "order_status",
    "cancelOrderStatus": "order_status",
    "cancelAllStatus": "order_status",
    "editOrderStatus": "order_status",
}

# (conn, parameter, text, received, out)
_Handler = Callable[[str, int, str, float, Output], None]


class V1Parser:
    """The v1 half of :class:`~collector.exchanges.kraken.KrakenAdapter` (it owns books and symbols)."""

    def __init__(self, adapter: KrakenAdapter) -> None:
        self.adapter = adapter
        self._ids: dict[tuple[str, int], tuple[str, str]] = {}  # (conn, channelID) -> (channelName, pair)
        self._routes: dict[str, tuple[_Handler, int]] = {"trade": (self._trades, 0), "ticker": (self._ticker, 0)}
        for depth in BOOK_DEPTHS:
            self._routes[f"book-{depth}"] = (self._book, depth)
        for minutes in V1_INTERVALS:
            self._routes[f"ohlc-{minutes}"] = (self._candle, minutes)

    def forget(self, conn: str) -> None:
        """Drop the channel ids of a closed connection."""
        for key in [k for k in self._ids if k[0] == conn]:
            del self._ids[key]

    def parse(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """Turn one v1 frame into events (appended to ``out``)."""
        a = self.adapter
        text = a.text_of(conn, frame, received, out)
        if text is None:
            return
        if text[:1] != "[":
            self._event(conn, text, received, out)
            return
        # [..., "<channelName>", "<pair>"]: the name is the string before the last one.
        sep = text.rfind('","')
        start = text.rfind('"', 0, sep) if sep > 0 else -1
        route = self._routes.get(text[start + 1 : sep]) if start >= 0 else None
        if route is None:
            self._unnamed(conn, text, received, out)
            return
        handler, param = route
        try:
            handler(conn, param, text, received, out)
        except msgspec.DecodeError as exc:
            out.append(a.error(conn, "malformed", str(exc), received, frame=text))

    def _symbol(self, conn: str, pair: str, received: float, out: Output) -> str | None:
        symbol = self.adapter.v1_symbol(pair)
        if symbol is None:
            out.append(self.adapter.error(conn, "unknown_symbol", pair[:50], received))
        return symbol

    def _unnamed(self, conn: str, text: str, received: float, out: Output) -> None:
        """A data array whose channel is not named at its end: an unused channel, or one known by id."""
        a = self.adapter
        try:
            items = _raw.decode(text)
            channel_id = msgspec.json.decode(items[0], type=int) if items else None
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            out.append(a.error(conn, "malformed", str(exc), received, frame=text))
            return
        if len(items) >= 4:
            try:
                name = msgspec.json.decode(items[-2], type=str)
            except (msgspec.DecodeError, msgspec.ValidationError):
                name = ""
            if name in _UNUSED:
                a.control(name)
            else:
                out.append(a.error(conn, "unknown_channel", name[:50] or "unnamed", received, frame=text))
            return
        known = self._ids.get((conn, channel_id)) if channel_id is not None and len(items) >= 2 else None
        if known is None:
            out.append(a.error(conn, "unknown_channel", f"channel id {channel_id}", received, frame=text))
            return
        name, pair = known
        if name in _UNUSED:
            a.control(name)
            return
        if name not in self._routes:
            out.append(a.error(conn, "unknown_channel", name[:50], received, frame=text))
            return
        symbol = self._symbol(conn, pair, received, out)
        if symbol is None:
            return
        kind, _, param = name.partition("-")
        try:
            if kind == "book":
                parts = [_book_part.decode(raw) for raw in items[1:]]
                self._apply_book(conn, symbol, int(param), parts, text, received, out)
            elif kind == "trade":
                self._apply_trades(conn, symbol, _trade_list.decode(items[1]), received, out)
            elif kind == "ticker":
                self._apply_ticker(symbol, _ticker_payload.decode(items[1]), received, out)
            else:
                self._apply_candle(symbol, int(param), _candle_payload.decode(items[1]), received, out)
        except msgspec.DecodeError as exc:
            out.append(a.error(conn, "malformed", str(exc), received, symbol, frame=text))

    # -- control ----------------------------------------------------------------------------------

    def _event(self, conn: str, text: str, received: float, out: Output) -> None:
        a = self.adapter
        try:
            ev = _event.decode(text)
        except msgspec.DecodeError as exc:
            out.append(a.error(conn, "malformed", str(exc), received, frame=text))
            return
        kind = ev.event
        if kind == "heartbeat":
            # Sent "if no subscription traffic has been sent within the last second".
            a.heartbeat(conn, received)
            a.control("heartbeat")
        elif kind == "subscriptionStatus":
            self._subscription(conn, ev, received, out)
        elif kind == "error":
            a.control()
            out.append(a.error(conn, "rejected", f"error: {ev.errorMessage[:200]} (reqid {ev.reqid})", received))
        elif kind in _EVENTS_IGNORED:
            a.control(_EVENTS_IGNORED[kind])
        else:
            out.append(a.error(conn, "unknown_message", f"event {kind[:50]!r}", received, frame=text))

    def _subscription(self, conn: str, ev: V1Event, received: float, out: Output) -> None:
        a = self.adapter
        if ev.status == "error":
            a.control()
            detail = f"{ev.channelName or ev.pair}: {ev.errorMessage[:200]} (reqid {ev.reqid})"
            out.append(a.error(conn, "rejected", detail, received))
            return
        a.control("ack")
        if ev.channelID is None:
            return
        if ev.status == "subscribed":
            self._ids[conn, ev.channelID] = (ev.channelName, ev.pair)
            if ev.channelName.startswith("book-"):
                symbol = a.v1_symbol(ev.pair)
                if symbol is not None:
                    a.book_subscribed(conn, symbol, ev.subscription.depth if ev.subscription else None)
        elif ev.status == "unsubscribed":
            self._ids.pop((conn, ev.channelID), None)

    # -- channels ---------------------------------------------------------------------------------

    def _book(self, conn: str, depth: int, text: str, received: float, out: Output) -> None:
        msg = _book.decode(text)
        # Four elements: [id, part, name, pair]; five: [id, asks part, bids part, name, pair].
        if isinstance(msg.second, V1BookPart):
            pair, parts = msg.fourth, [msg.part, msg.second]
        else:
            pair, parts = msg.third, [msg.part]
        symbol = self._symbol(conn, pair, received, out)
        if symbol is not None:
            self._apply_book(conn, symbol, depth, parts, text, received, out)

    def _apply_book(
        self, conn: str, symbol: str, depth: int, parts: list[V1BookPart], text: str, received: float, out: Output
    ) -> None:
        a = self.adapter
        first = parts[0]
        a.book_depth_of(symbol, depth)
        if first.snapshot_asks is not None or first.snapshot_bids is not None:
            ask_levels = first.snapshot_asks or []
            bid_levels = first.snapshot_bids or []
            asks = [(lv.price, lv.volume) for lv in ask_levels]
            bids = [(lv.price, lv.volume) for lv in bid_levels]
            ts = max((lv.timestamp for lv in ask_levels + bid_levels), default=None)
            a.book_snapshot(conn, symbol, bids, asks, ts, received, None, _places(text), out)
            return
        asks, bids = [], []
        checksum = None
        latest = 0.0
        for part in parts:
            # "Apply levels in the order received; do not sort by timestamp."
            for lv in part.asks or ():
                asks.append((lv.price, lv.volume))
                latest = max(latest, lv.timestamp)
            for lv in part.bids or ():
                bids.append((lv.price, lv.volume))
                latest = max(latest, lv.timestamp)
            if part.checksum is not None:
                checksum = part.checksum  # "in the last bid or ask map"
        a.book_update(conn, symbol, bids, asks, latest or None, received, checksum, out)

    def _trades(self, conn: str, param: int, text: str, received: float, out: Output) -> None:
        msg = _trades.decode(text)
        symbol = self._symbol(conn, msg.pair, received, out)
        if symbol is not None:
            self._apply_trades(conn, symbol, msg.trades, received, out)

    def _apply_trades(self, conn: str, symbol: str, trades: list[V1Trade], received: float, out: Output) -> None:
        a = self.adapter
        for t in trades:
            side = _SIDES.get(t.side)
            if side is None:
                out.append(a.error(conn, "malformed", f"trade: side {t.side[:20]!r}", received, symbol))
                continue
            # v1 trades carry no id ("timestamps should not be considered unique").
            out.append(Trade(a.id, symbol, t.time, received, t.price, t.volume, side, ""))

    def _ticker(self, conn: str, param: int, text: str, received: float, out: Output) -> None:
        msg = _ticker.decode(text)
        symbol = self._symbol(conn, msg.pair, received, out)
        if symbol is not None:
            self._apply_ticker(symbol, msg.ticker, received, out)

    def _apply_ticker(self, symbol: str, t: V1Ticker, received: float, out: Output) -> None:
        bid = t.b[0] or None
        ask = t.a[0] or None
        # Two-element arrays are [today, last 24 hours]: the 24 h values are the ticker's.
        out.append(
            Ticker(
                self.adapter.id,
                symbol,
                None,
                received,
                bid,
                t.b[2] if bid is not None else None,
                ask,
                t.a[2] if ask is not None else None,
                last=t.c[0] or None,
                open=(t.o[1] or None) if t.o is not None else None,
                high=(t.h[1] or None) if t.h is not None else None,
                low=(t.l[1] or None) if t.l is not None else None,
                volume=t.v[1] if t.v is not None else None,
            )
        )

    def _candle(self, conn: str, minutes: int, text: str, received: float, out: Output) -> None:
        msg = _ohlc.decode(text)
        symbol = self._symbol(conn, msg.pair, received, out)
        if symbol is not None:
            self._apply_candle(symbol, minutes, msg.candle, received, out)

    def _apply_candle(self, symbol: str, minutes: int, c: V1Candle, received: float, out: Output) -> None:
        # "time" is the candle's last update, "etime" the end of its interval. A snapshot
        # "of the last valid candle (irrespective of the endtime)" may be an old, ended one.
        out.append(
            Candle(
                self.adapter.id,
                symbol,
                c.time,
                received,
                V1_INTERVALS[minutes],
                c.etime - minutes * 60,
                c.etime,
                c.open,
                c.high,
                c.low,
                c.close,
                c.volume,
                c.count,
                c.etime <= received,
            )
        )


def _places(text: str) -> tuple[int, int] | None:
    """Decimal places of a snapshot's first level (price, volume) as printed, or ``None``."""
    match = _FIRST_LEVEL.search(text)
    if match is None:
        return None
    price, volume = match.groups()
    return _decimals(price), _decimals(volume)


def _decimals(number: str) -> int:
    dot = number.find(".")
    return len(number) - dot - 1 if dot >= 0 else 0
