"""Kraken spot websocket v2 (``wss://ws.kraken.com/v2``): frames into events.

Data messages are ``{"channel": ..., "type": "snapshot"|"update", "data": [...]}``; the
parser routes on the leading ``channel`` key without decoding, then decodes the frame
once with that channel's typed decoder. Replies (``method``), ``heartbeat`` and
``status`` frames go through a small envelope decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import msgspec

from ...fastpath import iso_reader
from ...models import Candle, Side, Ticker, Trade
from ..base import Output
from .schemas import V2Bars, V2Book, V2Envelope, V2Push, V2Ticker, V2Trade

if TYPE_CHECKING:
    from .adapter import KrakenAdapter

__all__ = ["V2_INTERVALS", "V2Parser", "rfc3339"]

_envelope = msgspec.json.Decoder(V2Envelope, strict=False)
_book = msgspec.json.Decoder(V2Push[list[V2Book]], strict=False)
_trades = msgspec.json.Decoder(V2Push[list[V2Trade]], strict=False)
_ticker = msgspec.json.Decoder(V2Push[list[V2Ticker]], strict=False)
_ohlc = msgspec.json.Decoder(V2Bars, strict=False)
_read_iso = iso_reader()

_PREFIX = '{"channel":"'
_SIDES: dict[str, Side] = {"buy": "buy", "sell": "sell"}
V2_INTERVALS = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 240: "4h", 1440: "1d", 10080: "1w", 21600: "15d"}
"""``ohlc`` interval in minutes -> unified candle interval (the intervals Kraken offers)."""
# Public channels of v2 that carry no event here, and private ones a recording may still hold.
_UNUSED = frozenset({"status", "instrument", "level3", "executions", "balances"})

# (conn, frame, received, out)
_Handler = Callable[[str, str | bytes, float, Output], None]


def _trade_id(trade: V2Trade) -> int:
    return trade.trade_id


class V2Parser:
    """The v2 half of :class:`~collector.exchanges.kraken.KrakenAdapter` (it owns books and symbols)."""

    def __init__(self, adapter: KrakenAdapter) -> None:
        self.adapter = adapter
        self._routes: dict[str, _Handler] = {
            "book": self._book,
            "trade": self._trades,
            "ticker": self._ticker,
            "ohlc": self._candles,
        }

    def parse(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        """Turn one v2 frame into events (appended to ``out``)."""
        a = self.adapter
        if type(frame) is str and frame.startswith(_PREFIX):
            channel = frame[12 : frame.find('"', 12)]
        else:
            try:
                env = _envelope.decode(frame)
            except msgspec.DecodeError as exc:
                out.append(a.error(conn, "malformed", str(exc), received, frame=frame))
                return
            if env.method or env.success is False:
                self._reply(conn, env, received, out)
                return
            channel = env.channel
            if not channel:
                out.append(a.error(conn, "unknown_message", "not a channel message or a reply", received, frame=frame))
                return
        handler = self._routes.get(channel)
        if handler is None:
            if channel == "heartbeat":
                # "Sent approximately once every second in the absence of any other channel
                # updates": the connection is alive and the books on it are unchanged.
                a.heartbeat(conn, received)
                a.control("heartbeat")
            elif channel in _UNUSED:
                a.control(channel)
            else:
                out.append(a.error(conn, "unknown_channel", channel[:50], received, frame=frame))
            return
        try:
            handler(conn, frame, received, out)
        except msgspec.DecodeError as exc:
            out.append(a.error(conn, "malformed", f"{channel}: {exc}", received, frame=frame))

    def _reply(self, conn: str, env: V2Envelope, received: float, out: Output) -> None:
        a = self.adapter
        if env.success is False:
            a.control()
            detail = f"{env.method or 'request'}: {env.error[:200]} (req_id {env.req_id})"
            out.append(a.error(conn, "rejected", detail, received))
        elif env.method == "pong":
            a.control("pong")
        else:
            result = env.result
            if env.method == "subscribe" and result is not None and result.channel == "book":
                # "One ack per symbol", with the depth the book was granted.
                symbol = a.v2_symbol(result.symbol)
                if symbol is not None:
                    a.book_subscribed(conn, symbol, result.depth)
            a.control("ack")

    def _book(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        a = self.adapter
        msg = _book.decode(frame)
        kind = msg.type
        if kind != "snapshot" and kind != "update":
            out.append(a.error(conn, "malformed", f"book: type {kind[:20]!r}", received, frame=frame))
            return
        for d in msg.data:
            symbol = a.v2_symbol(d.symbol)
            if symbol is None:
                out.append(a.error(conn, "unknown_symbol", d.symbol[:50], received))
                continue
            bids = [(lv.price, lv.qty) for lv in d.bids]
            asks = [(lv.price, lv.qty) for lv in d.asks]
            ts = d.timestamp.timestamp() if d.timestamp is not None else None
            if kind == "snapshot":
                a.book_snapshot(conn, symbol, bids, asks, ts, received, d.checksum, None, out)
            else:
                a.book_update(conn, symbol, bids, asks, ts, received, d.checksum, out)

    def _trades(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        a = self.adapter
        msg = _trades.decode(frame)
        snapshot = msg.type == "snapshot"
        # A snapshot fills in trades missed since the last one seen, oldest first.
        trades = sorted(msg.data, key=_trade_id) if snapshot else msg.data
        seen: dict[str, int | None] = {}  # symbol -> last trade id before this message
        for t in trades:
            symbol = a.v2_symbol(t.symbol)
            if symbol is None:
                out.append(a.error(conn, "unknown_symbol", t.symbol[:50], received))
                continue
            side = _SIDES.get(t.side)
            if side is None:
                out.append(a.error(conn, "malformed", f"trade: side {t.side[:20]!r}", received, symbol))
                continue
            current = a.last_trades.get(symbol)
            last = seen.setdefault(symbol, current)
            a.last_trades[symbol] = t.trade_id if current is None else max(current, t.trade_id)
            if snapshot and last is not None and t.trade_id <= last:
                # A resubscription's snapshot repeats trades already emitted. The first one is
                # emitted whole: those are real trades, as Coinbase's and Gemini's are.
                a.stats["ignored.trade_snapshot"] += 1
                continue
            out.append(Trade(a.id, symbol, t.timestamp.timestamp(), received, t.price, t.qty, side, str(t.trade_id)))

    def _ticker(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        a = self.adapter
        msg = _ticker.decode(frame)
        for t in msg.data:
            symbol = a.v2_symbol(t.symbol)
            if symbol is None:
                out.append(a.error(conn, "unknown_symbol", t.symbol[:50], received))
                continue
            try:
                ts = rfc3339(t.timestamp) if t.timestamp is not None else None
            except ValueError as exc:
                out.append(a.error(conn, "malformed", f"ticker: {exc}", received, symbol))
                continue
            # A price of 0 is an empty book side (or no trade yet): "no value", not a price.
            bid = t.bid or None
            ask = t.ask or None
            out.append(
                Ticker(
                    a.id,
                    symbol,
                    ts,
                    received,
                    bid,
                    t.bid_qty if bid is not None else None,
                    ask,
                    t.ask_qty if ask is not None else None,
                    last=t.last or None,
                    high=t.high or None,
                    low=t.low or None,
                    volume=t.volume,
                )
            )
        a.fast.tickers(conn)

    def _candles(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        a = self.adapter
        msg = _ohlc.decode(frame)
        sent = msg.timestamp.timestamp() if msg.timestamp is not None else None
        for c in msg.data:
            symbol = a.v2_symbol(c.symbol)
            if symbol is None:
                out.append(a.error(conn, "unknown_symbol", c.symbol[:50], received))
                continue
            interval = V2_INTERVALS.get(c.interval)
            if interval is None:
                out.append(a.error(conn, "malformed", f"ohlc: interval {c.interval}", received, symbol))
                continue
            start = c.interval_begin.timestamp()
            end = start + c.interval * 60
            # The candle's own "timestamp" is its interval's END ("deprecated ... use
            # 'interval_begin'"): it says nothing of when the message was sent, so without the
            # message's timestamp the candle has none and closes by the local receipt time.
            stamp = sent
            # Updates are "generated on trade events" for the running interval; a snapshot
            # also carries past intervals, which ended before the message was sent.
            closed = end <= (stamp if stamp is not None else received)
            out.append(
                Candle(
                    a.id,
                    symbol,
                    stamp,
                    received,
                    interval,
                    start,
                    end,
                    c.open,
                    c.high,
                    c.low,
                    c.close,
                    c.volume,
                    c.trades,
                    closed,
                )
            )


def rfc3339(text: str) -> float:
    """Epoch seconds of a v2 time (``2023-09-25T07:49:37.708706Z``), read as the fast path reads it
    (:func:`collector.fastpath.parse_iso`, digits past the microsecond cut off); other ISO 8601
    spellings with an offset are read too. Raises ``ValueError`` for anything else."""
    seconds = _read_iso(text)
    if seconds is not None:
        return seconds
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an RFC 3339 time: {text[:40]!r}") from None
    if when.tzinfo is None:
        raise ValueError(f"a time without an offset: {text[:40]!r}")
    return when.timestamp()
