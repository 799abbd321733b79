"""Bitstamp channel frames into events: the handlers :class:`~.adapter.BitstampAdapter` routes to.

A handler gets a frame of a channel whose pair is known, decodes it once, typed, and
appends events to ``out``; it raises ``msgspec.DecodeError`` for anything that is not that
channel's data (a reply about the channel, a broken frame), which the adapter reports.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import msgspec

from ...models import Side, Ticker, Trade
from ..base import Adapter, Output
from ..derivatives import DerivativeTickers
from .books import SnapshotGate
from .schemas import BookMessage, FundingMessage, TopMessage, TradeMessage

__all__ = ["SIDES", "BitstampFeeds", "Handler"]

# "type: Trade type (0 - buy; 1 - sell)": the taker's side (the newer of buy_order_id and
# sell_order_id belongs to it in every documented example).
SIDES: dict[int, Side] = {0: "buy", 1: "sell"}

_trade = msgspec.json.Decoder(TradeMessage, strict=False)
_book = msgspec.json.Decoder(BookMessage, strict=False)
_top = msgspec.json.Decoder(TopMessage, strict=False)
_funding = msgspec.json.Decoder(FundingMessage, strict=False)

Handler = Callable[[str, str, str, "str | bytes", float, Output], None]
"""``handler(conn, unified symbol, channel, frame, received, out)``."""


class BitstampFeeds(Adapter):
    """The channel handlers of the Bitstamp adapter, and the book's connection it follows."""

    id: ClassVar[str] = "bitstamp"

    _derivatives: DerivativeTickers
    _book_conns: dict[str, str]
    """symbol -> the connection its diffs arrive on."""
    _tops: dict[str, tuple[str, tuple[float | None, ...]]]
    """symbol -> (connection, the last top of book published)."""
    _gate: SnapshotGate

    def _route_trades(self, conn: str, channel: str, symbol: str) -> None:
        """The adapter's path read a trade of ``channel`` on ``conn`` (the fast path may route it now)."""

    def _route_diffs(self, conn: str, channel: str, symbol: str) -> None:
        """The adapter's path read a diff of ``channel`` on ``conn``, the book's connection."""

    def _left(self, conn: str, channel: str) -> None:
        """A book's diffs (``channel``) no longer come on ``conn`` (the fast path stops routing them there)."""

    def _follow(self, conn: str, symbol: str, channel: str, received: float, out: Output) -> None:
        """Note the connection ``symbol``'s diffs come on; a book moving to another one resyncs."""
        held = self._book_conns.get(symbol)
        if held == conn:
            return
        self._book_conns[symbol] = conn
        if held is not None:
            # A capture whose recorder reconnected: what the old socket missed is unknown,
            # and a snapshot asked on it is no good for this one.
            self._left(held, channel)
            self._gate.moved(symbol)
            self.books.resync(out, symbol, "reconnect", f"{channel} moved from {held} to {conn}", received)

    def _on_trade(self, conn: str, symbol: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        m = _trade.decode(frame)
        t = m.data
        side = SIDES.get(t.type)
        if side is None or m.event != "trade" or m.channel != channel:
            raise msgspec.DecodeError(f"not a trade: event {m.event[:20]!r}, type {t.type}, channel {m.channel[:60]!r}")
        # amount is a binary float on the wire (0.014140160000000001); amount_str is exact.
        amount = t.amount if t.amount_str is None else t.amount_str
        price = t.price if t.price_str is None else t.price_str
        out.append(Trade(self.id, symbol, t.microtimestamp / 1e6, received, price, amount, side, str(t.id)))
        self._route_trades(conn, channel, symbol)

    def _on_diff(self, conn: str, symbol: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        m = _book.decode(frame)
        if m.event != "data" or m.channel != channel:
            raise msgspec.DecodeError(f"not a book diff: event {m.event[:20]!r}, channel {m.channel[:60]!r}")
        if self._book_conns.get(symbol) != conn:
            self._follow(conn, symbol, channel, received, out)
        d = m.data
        stamp = d.microtimestamp
        self.books.delta(out, symbol, d.bids, d.asks, stamp, stamp, None, stamp / 1e6, received)
        self._route_diffs(conn, channel, symbol)

    def _on_top(self, conn: str, symbol: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        """``order_book_<pair>``: the whole top 100 levels, of which the best bid and ask make a ticker.

        Only the best level of each side is decoded into numbers (:class:`~.schemas.BookTop`);
        the rest of the frame is checked to be JSON and skipped.
        """
        m = _top.decode(frame)
        if m.event != "data" or m.channel != channel:
            raise msgspec.DecodeError(f"not a book: event {m.event[:20]!r}, channel {m.channel[:60]!r}")
        d = m.data
        bid, bid_size = d.bids.best or (None, None)
        ask, ask_size = d.asks.best or (None, None)
        if bid is not None and ask is not None and bid >= ask:
            # "A snapshot may occasionally show the best bid >= best ask ... it will
            # self-correct within the next message": not a top to publish.
            self.stats["crossed_top"] += 1
            return
        top = (bid, bid_size, ask, ask_size)
        last = self._tops.get(symbol)
        if last is not None and last[1] == top:
            self.stats["unchanged_top"] += 1  # a change deeper in the book
            return
        self._tops[symbol] = (conn, top)
        out.append(Ticker(self.id, symbol, d.microtimestamp / 1e6, received, bid, bid_size, ask, ask_size))

    def _on_funding(
        self, conn: str, symbol: str, channel: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        m = _funding.decode(frame)
        if m.event != "funding_rate_saved" or m.channel != channel:
            raise msgspec.DecodeError(f"not a funding rate: event {m.event[:20]!r}, channel {m.channel[:60]!r}")
        f = m.data
        ticker = self._derivatives.update(
            symbol,
            float(f.timestamp),
            received,
            mark_price=f.mark_price,
            index_price=f.index_price,
            funding_rate=f.funding_rate,
            next_funding_time=float(f.next_funding_time),
        )
        if ticker is not None:
            out.append(ticker)
