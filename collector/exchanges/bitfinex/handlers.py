"""Bitfinex channel messages: the connection-wide sequence and one handler per channel.

The adapter routes a channel message ``[CHAN_ID, ...]`` here by its channel id and its
second element: a string tag (``"hb"``, ``"cs"``, ``"te"``, ``"tu"``) or the data itself.
Each handler decodes the frame once, typed.

Every handler decodes the whole frame before it touches any state: a frame that cannot be
read is one ``error`` event and consumes no sequence number (its number is not known).
A trade that is read but impossible (amount 0, no side) consumes its number and is one
``error`` event, raised by nobody: it arrived, and no book is missing anything. A book entry
that is impossible raises before its number is taken, so the connection's books resync as
after a lost message: the book cannot apply it and must not carry on without it. (What
raises reaches the adapter's boundary, which may run the handler once more: nothing that
raises may have changed state first.)
"""

from __future__ import annotations

import abc
import calendar
import time
from collections.abc import Callable

import msgspec

from ...models import Candle, Error, Level, Liquidation, Side, Ticker, Trade
from ..base import Adapter, Output
from ..derivatives import DerivativeTickers
from .channels import Channel, ConnState
from .schemas import (
    BookEntry,
    BookSnapshot,
    BookUpdate,
    CandleEntry,
    CandlesSnapshot,
    CandleUpdate,
    ChecksumMessage,
    Heartbeat,
    LiquidationFeed,
    StatusUpdate,
    TickerUpdate,
    TradeEntry,
    TradesSnapshot,
    TradeUpdate,
)

__all__ = ["MAX_SEQ_JUMP", "REJECTED_RUN", "ChannelHandlers"]

_heartbeat = msgspec.json.Decoder(Heartbeat, strict=False)
_checksum = msgspec.json.Decoder(ChecksumMessage, strict=False)
_book_snapshot = msgspec.json.Decoder(BookSnapshot, strict=False)
_book_update = msgspec.json.Decoder(BookUpdate, strict=False)
_trades_snapshot = msgspec.json.Decoder(TradesSnapshot, strict=False)
_trade_update = msgspec.json.Decoder(TradeUpdate, strict=False)
_ticker = msgspec.json.Decoder(TickerUpdate, strict=False)
_candles_snapshot = msgspec.json.Decoder(CandlesSnapshot, strict=False)
_candle_update = msgspec.json.Decoder(CandleUpdate, strict=False)
_status = msgspec.json.Decoder(StatusUpdate, strict=False)
_liquidations = msgspec.json.Decoder(LiquidationFeed, strict=False)

MAX_SEQ_JUMP = 100_000
"""A sequence number further ahead than this is a corrupted frame, not lost messages."""
REJECTED_RUN = 50
"""Sequence numbers refused in a row after which the stream is taken as it comes (and books resync)."""

_RECENT_TRADES = 2048  # trade ids remembered per symbol: a resubscription's snapshot repeats recent ones
_INTERVAL_MS = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "3h": 10_800_000,
    "6h": 21_600_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "1w": 604_800_000,
    "2w": 1_209_600_000,
}

# (conn, state, channel, text, index of the payload, receipt time, out)
Handler = Callable[[str, ConnState, Channel, str, int, float, Output], None]


class ChannelHandlers(Adapter):
    """The channel handlers :class:`~collector.exchanges.bitfinex.BitfinexAdapter` is built on.

    Keeps what the channels need between frames (recent trade ids, merged derivative
    tickers, the liquidation filter); :class:`~.session.SessionEvents` provides :meth:`gap`.
    """

    def _init_handlers(self) -> None:
        self._recent: dict[str, dict[int, None]] = {}
        self._derivs = DerivativeTickers(self.id)
        self.liquidation_symbols: frozenset[str] | None = None
        """Symbols whose liquidations are wanted (``None``: every listed one, as in a replay)."""
        self._data: dict[str, Handler] = {
            "trades": self._on_trades,
            "ticker": self._on_ticker,
            "book": self._on_book,
            "candles": self._on_candles,
            "funding": self._on_funding,
            "liquidations": self._on_liquidations,
        }

    # -- the sequence -----------------------------------------------------------------------------

    def sequenced(self, conn: str, state: ConnState, seq: int | None, received: float, out: Output) -> bool:
        """Check a valid frame's ``SEQ_ALL`` number; ``False`` (with an error event) drops the frame.

        "SEQ_ALL: append a sequence number to every public message", one counter per
        connection, +1 per message. A number further on means messages were lost: which
        channel lost one cannot be known, so every book of the connection resyncs (reason
        ``gap``). A number behind, or implausibly far ahead, is a broken frame.
        """
        if not state.sequenced:
            return True
        expected = state.seq + 1
        if seq == expected:
            state.seq = seq
            if state.rejected:
                state.rejected = 0
            return True
        if seq is None:
            out.append(self.error(conn, "malformed", "no sequence number with SEQ_ALL on", received))
            return False
        if not state.seq:
            # The connection's first number (1 when conf preceded every subscription, as it
            # does here; later when a recorder sent conf after subscribing) starts the count.
            state.seq = seq
            return True
        if expected < seq <= expected + MAX_SEQ_JUMP or state.rejected >= REJECTED_RUN:
            state.seq = seq
            state.rejected = 0
            self.gap(conn, f"sequence {expected} expected, got {seq}", received, out)
            return True
        state.rejected += 1
        out.append(self.error(conn, "sequence", f"sequence {seq} when {expected} was expected", received))
        return False

    # -- tags: heartbeats, checksums, trade events ----------------------------------------------------

    def on_heartbeat(self, conn: str, state: ConnState, chan: Channel, text: str, received: float, out: Output) -> None:
        """``[CHAN_ID, "hb"]``: the channel is alive with nothing new; a book is not stale."""
        msg = _heartbeat.decode(text)
        if self.sequenced(conn, state, msg.seq, received, out):
            # Not control: a channel heartbeat is the exchange saying the feed is alive with
            # nothing new, so a connection of quiet channels is not idle (and is not reconnected).
            self.stats.count("ignored.hb")
            if chan.kind == "book":
                self.books.touch(chan.symbol, received)

    def on_checksum(self, conn: str, state: ConnState, chan: Channel, text: str, received: float, out: Output) -> None:
        """``[CHAN_ID, "cs", CHECKSUM]``: check the maintained book's best 25 levels a side."""
        if chan.kind != "book":
            out.append(self.error(conn, "unknown_message", f"checksum on a {chan.kind} channel", received, frame=text))
            return
        msg = _checksum.decode(text)
        if self.sequenced(conn, state, msg.seq, received, out):
            self.control("cs")
            if not state.paused:
                self.books.verify(out, chan.symbol, msg.checksum, received)

    def on_trade_event(
        self, conn: str, state: ConnState, chan: Channel, text: str, tag: str, received: float, out: Output
    ) -> None:
        """``te`` (executed) becomes the trade; ``tu`` (the same trade, updated later) is counted only.

        "Use exactly one of them to avoid double counting": ``te`` arrives first.
        """
        if chan.kind != "trades" or tag not in ("te", "tu"):
            out.append(self.error(conn, "unknown_message", f"{tag[:20]!r} on a {chan.kind} channel", received))
            return
        msg = _trade_update.decode(text)
        if not self.sequenced(conn, state, msg.seq, received, out):
            return
        trade = self._trade(chan.symbol, msg.trade, received)
        if trade is None:
            out.append(self._sideless(conn, chan, msg.trade, text, received))
        elif tag == "tu":
            self.control("tu")
        elif self._first_time(chan.symbol, msg.trade.id):
            out.append(trade)
        else:
            self.control("trade_repeat")

    # -- data -------------------------------------------------------------------------------------

    def _on_trades(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        # "[CHAN_ID, [[ID, MTS, AMOUNT, PRICE], ...]]": the recent trades, newest first, on subscribe.
        msg = _trades_snapshot.decode(text)
        if not self.sequenced(conn, state, msg.seq, received, out):
            return
        trades = [self._trade(chan.symbol, t, received) for t in reversed(msg.trades)]
        if None in trades:
            bad = next(entry for entry, t in zip(reversed(msg.trades), trades, strict=True) if t is None)
            out.append(self._sideless(conn, chan, bad, text, received))
            return
        # Oldest first; a resubscription's snapshot repeats trades already reported.
        first_time = self._first_time
        kept = [
            t
            for entry, t in zip(reversed(msg.trades), trades, strict=True)
            if t is not None and first_time(chan.symbol, entry.id)
        ]
        if kept:
            out.extend(kept)
        else:
            self.control("trade_repeat" if trades else "trades_empty")

    def _trade(self, symbol: str, t: TradeEntry, received: float) -> Trade | None:
        # "AMOUNT: How much was bought (positive) or sold (negative)"; the order that causes
        # the trade determines if it is a buy or a sell: the sign is the taker's side.
        if t.amount > 0.0:
            return Trade(self.id, symbol, t.mts / 1000.0, received, t.price, t.amount, "buy", str(t.id))
        if t.amount < 0.0:
            return Trade(self.id, symbol, t.mts / 1000.0, received, t.price, -t.amount, "sell", str(t.id))
        return None  # amount 0: no side (see _sideless)

    def _sideless(self, conn: str, chan: Channel, t: TradeEntry, text: str, received: float) -> Error:
        return self.error(
            conn, "malformed", f"trade {t.id} with amount 0 has no side", received, chan.symbol, frame=text
        )

    def _first_time(self, symbol: str, trade_id: int) -> bool:
        seen = self._recent.get(symbol)
        if seen is None:
            seen = self._recent[symbol] = {}
        if trade_id in seen:
            return False
        seen[trade_id] = None
        if len(seen) > _RECENT_TRADES:
            del seen[next(iter(seen))]
        return True

    def _on_ticker(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        msg = _ticker.decode(text)
        if not self.sequenced(conn, state, msg.seq, received, out):
            return
        t = msg.ticker
        # BID_SIZE/ASK_SIZE are "Sum of the 25 highest bid sizes" (lowest asks), not the size
        # at the best price: they are left out. A price of 0 means "none" (an empty side).
        out.append(
            Ticker(
                self.id,
                chan.symbol,
                None,
                received,
                t.bid or None,
                None,
                t.ask or None,
                None,
                last=t.last_price or None,
                high=t.high or None,
                low=t.low or None,
                volume=t.volume,
            )
        )

    def _on_book(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        head = text[at + 1]
        if head == "[" or head == "]":
            # The first message is the snapshot; with BULK_UPDATES later ones may be lists of updates.
            snap = _book_snapshot.decode(text)
            bids, asks = _levels(snap.entries)
            if not self.sequenced(conn, state, snap.seq, received, out):
                return
            if state.paused:
                self.control("maintenance")
            elif chan.synced and state.bulk:
                self.books.delta(out, chan.symbol, bids, asks, 0, 0, None, None, received)
            else:
                chan.synced = True
                self.books.snapshot(out, chan.symbol, bids, asks, None, None, received)
            return
        msg = _book_update.decode(text)
        e = msg.entry
        amount = e.amount
        # "AMOUNT > 0 bid, < 0 ask"; "COUNT = 0: delete the level (AMOUNT 1 bids, -1 asks)".
        if amount > 0.0:
            bids, asks = [(e.price, amount if e.count else 0.0)], []
        elif amount < 0.0:
            bids, asks = [], [(e.price, -amount if e.count else 0.0)]
        else:
            raise ValueError(f"book level {e.price} with amount 0 belongs to no side")
        if state.sequenced:
            # The common case inline (this runs for most frames); anything else is sequenced()'s.
            seq = msg.seq
            if seq == state.seq + 1 and not state.rejected:
                state.seq = seq
            elif not self.sequenced(conn, state, seq, received, out):
                return
        if state.paused:
            # Maintenance: "books cannot be trusted" until info 20061 and a fresh snapshot.
            self.control("maintenance")
            return
        self.books.delta(out, chan.symbol, bids, asks, 0, 0, None, None, received)

    def _on_candles(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        head = text[at + 1]
        if head == "[" or head == "]":
            snap = _candles_snapshot.decode(text)
            if not self.sequenced(conn, state, snap.seq, received, out):
                return
            if not snap.candles:
                self.control("candles_empty")
                return
            # The snapshot is history, newest first: only the bar being formed is reported
            # (history repeats on every resubscription); it is closed by the next bar's start.
            newest = max(snap.candles, key=lambda c: c.mts)
            chan.bar = newest
            out.append(self._candle(chan, newest, False, received))
            return
        msg = _candle_update.decode(text)
        if not self.sequenced(conn, state, msg.seq, received, out):
            return
        bar, new = chan.bar, msg.candle
        if bar is not None and new.mts < bar.mts:
            out.append(self._candle(chan, new, True, received))  # a late correction of a past bar
            return
        if bar is not None and new.mts > bar.mts:
            out.append(self._candle(chan, bar, True, received))
        chan.bar = new
        out.append(self._candle(chan, new, False, received))

    def _candle(self, chan: Channel, c: CandleEntry, closed: bool, received: float) -> Candle:
        start = c.mts / 1000.0
        return Candle(
            self.id,
            chan.symbol,
            None,
            received,
            chan.interval,
            start,
            _bar_end(chan.interval, c.mts) / 1000.0,
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,
            None,
            closed,
        )

    def _on_funding(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        msg = _status.decode(text)
        if not self.sequenced(conn, state, msg.seq, received, out):
            return
        s = msg.status
        oi, mark = s.open_interest, s.mark_price
        ticker = self._derivs.update(
            chan.symbol,
            s.mts / 1000.0,
            received,
            mark_price=mark,
            index_price=s.spot_price,  # the underlying spot pair's mid
            funding_rate=s.current_funding,
            next_funding_time=s.next_funding_mts / 1000.0 if s.next_funding_mts is not None else None,
            predicted_funding_rate=s.next_funding_accrued,
            open_interest=oi,  # base units: derivative amounts are in the base currency
            open_interest_value=oi * mark if oi is not None and mark is not None else None,
        )
        if ticker is None:
            self.control("funding_unchanged")
        else:
            out.append(ticker)

    def _on_liquidations(
        self, conn: str, state: ConnState, chan: Channel, text: str, at: int, received: float, out: Output
    ) -> None:
        msg = _liquidations.decode(text)
        wanted = self.liquidation_symbols
        symbol_of = self.instruments.symbol_of
        events: list[Liquidation] = []
        for liq in msg.entries:
            symbol = symbol_of(liq.symbol)
            if liq.kind != "pos" or symbol is None or (wanted is not None and symbol not in wanted):
                # The global feed names every pair; ones not listed or not asked for are counted.
                self.stats["ignored.liquidation_unwanted"] += 1
                continue
            if liq.is_match != 1 or liq.amount == 0.0:
                # "IS_MATCH 0: initial liquidation trigger, 1: market execution": one event per execution.
                self.stats["ignored.liquidation_trigger"] += 1
                continue
            price = liq.price or liq.base_price
            if price is None:
                raise ValueError(f"liquidation {liq.pos_id} has no price")
            # A long position (positive amount) is liquidated by a sell.
            side: Side = "sell" if liq.amount > 0.0 else "buy"
            status = "market" if liq.is_market_sold else "acquired"
            events.append(
                Liquidation(
                    self.id, symbol, liq.mts / 1000.0, received, side, price, abs(liq.amount), str(liq.pos_id), status
                )
            )
        if not self.sequenced(conn, state, msg.seq, received, out):
            return
        if events:
            out.extend(events)
        else:
            self.control()  # each entry was counted above

    # -- provided by the adapter --------------------------------------------------------------------

    @abc.abstractmethod
    def gap(self, conn: str, detail: str, received: float, out: Output) -> None:
        """Resync every book of ``conn``: messages were lost (reason ``gap``)."""


def _levels(entries: list[BookEntry]) -> tuple[list[Level], list[Level]]:
    """Book entries as absolute levels per side: "AMOUNT > 0 bid, < 0 ask"; "COUNT = 0: delete the level"."""
    bids: list[Level] = []
    asks: list[Level] = []
    for e in entries:
        amount = e.amount
        if amount > 0.0:
            bids.append((e.price, amount if e.count else 0.0))
        elif amount < 0.0:
            asks.append((e.price, -amount if e.count else 0.0))
        else:
            raise ValueError(f"book level {e.price} with amount 0 belongs to no side")
    return bids, asks


def _bar_end(interval: str, start_ms: int) -> int:
    """The end of a bar in ms; ``1M`` bars end at the next calendar month (UTC)."""
    length = _INTERVAL_MS.get(interval)
    if length is not None:
        return start_ms + length
    day = time.gmtime(start_ms / 1000)
    year, month = (day.tm_year + 1, 1) if day.tm_mon == 12 else (day.tm_year, day.tm_mon + 1)
    return calendar.timegm((year, month, 1, 0, 0, 0)) * 1000
