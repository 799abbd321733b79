"""The ``l2`` feed of Gemini market data v2: books, trades, and tickers from the book's top.

One ``l2`` subscription per symbol carries three unified channels. :class:`L2Feed` turns
its messages into ``book`` events (through the :class:`~collector.book.BookSync`),
``trade`` events (de-duplicated by ``tid``) and ``ticker`` events (v2 has no ticker
channel: the best bid/offer of the maintained book, emitted whenever it changes), and
drops the channels a symbol was not subscribed for.
"""

from __future__ import annotations

from typing import Any

from ...book import BookSync, OrderBook
from ...models import Book, Level, Ticker, Trade
from ...stats import Stats
from ..base import Channel, Output
from .parse import TradeIds
from .schemas import Change, L2Updates, TradeMessage

__all__ = ["L2Feed"]

_INF = float("inf")
_NO_LEVEL: tuple[None, None] = (None, None)  # the ticker of an empty book side


class L2Feed:
    """Book, trades and book-top tickers of every symbol's ``l2`` subscription.

    ``muted`` maps a symbol to the channels of its ``l2`` feed it was not subscribed for
    (set from the connection plans; empty in replay, where everything is emitted).
    """

    def __init__(self, exchange: str, books: BookSync, stats: Stats) -> None:
        self.exchange = exchange
        self.books = books
        self.stats = stats
        self.muted: dict[str, frozenset[Channel]] = {}
        self.tids = TradeIds()
        self._top: dict[str, tuple[Level | None, Level | None]] = {}  # last best bid/ask sent as a ticker
        self._book_of: dict[str, OrderBook] = {}

    def mute(self, symbol: str, channels: frozenset[Channel]) -> None:
        """Emit none of ``channels`` (``book``, ``ticker``, ``trades``) of ``symbol`` from now on."""
        # A ticker kept while the ticker was muted may be old: the next change sends one again.
        self._top.pop(symbol, None)
        if channels:
            self.muted[symbol] = channels
        else:
            self.muted.pop(symbol, None)

    def initial(self, out: Output, symbol: str, msg: L2Updates, received: float) -> None:
        """The first message of a subscription: "the existing state of the order books and last 50 trades".

        The trades come first (they happened before), oldest first, each once: a
        resubscription's initial response repeats trades already emitted.
        """
        bids: list[Level] = []
        asks: list[Level] = []
        for side, price, size in msg.changes:
            (bids if side == "buy" else asks).append((price, size))
        muted = self.muted.get(symbol)
        if msg.trades and (muted is None or "trades" not in muted):
            fresh = self.tids.fresh
            for t in sorted(msg.trades, key=_tid):
                if fresh(symbol, t.tid):
                    ts = t.timestamp / 1000.0
                    out.append(Trade(self.exchange, symbol, ts, received, t.price, t.quantity, t.side, str(t.tid)))
                else:
                    self.stats["ignored.duplicate_trade"] += 1
        self._top.pop(symbol, None)
        start = len(out)
        # The whole book replaces whatever was held, never merges.
        self.books.snapshot(out, symbol, bids, asks, None, None, received)
        self._after(out, symbol, start, muted, received)

    def changes(self, out: Output, symbol: str, changes: list[Change], received: float) -> None:
        """Apply one later message: each change is a level's new absolute quantity, ``"0"`` deletes.

        Also what the fast path calls for routed ``l2_updates``.
        """
        bids: list[Level] = []
        asks: list[Level] = []
        top = self._top.get(symbol)
        if top is None:
            touched = True
            bid_line, ask_line = _INF, -_INF
        else:
            # Only a change at or inside the last ticker's prices can move the top.
            touched = False
            bid_line = top[0][0] if top[0] is not None else -_INF
            ask_line = top[1][0] if top[1] is not None else _INF
        for side, price, size in changes:
            if side == "buy":
                bids.append((price, size))
                if price >= bid_line:
                    touched = True
            else:
                asks.append((price, size))
                if price <= ask_line:
                    touched = True
        start = len(out)
        self.books.delta(out, symbol, bids, asks, 0, 0, None, None, received)
        muted = self.muted.get(symbol)
        if touched or muted is not None:
            self._after(out, symbol, start, muted, received)

    def trade(self, out: Output, symbol: str, msg: TradeMessage, received: float) -> bool:
        """One ``trade`` message; ``False`` when ``symbol``'s trades are not wanted (it is counted)."""
        muted = self.muted.get(symbol)
        if muted is not None and "trades" in muted:
            self.stats["ignored.trade"] += 1
            return False
        # A trade message is always new (only an initial response repeats trades); its tid
        # is where the next initial response's repeats end.
        self.tids.seen[symbol] = msg.tid
        ts = msg.timestamp / 1000.0
        out.append(Trade(self.exchange, symbol, ts, received, msg.price, msg.quantity, msg.side, str(msg.tid)))
        return True

    def _after(self, out: Output, symbol: str, start: int, muted: frozenset[Channel] | None, received: float) -> None:
        """What follows a book change: the book-top ticker, and the channels not subscribed dropped."""
        if muted is not None:
            if "book" in muted:
                out[start:] = [e for e in out[start:] if type(e) is not Book]
            if "ticker" in muted:
                return
        book = self._book_of.get(symbol)
        if book is None:
            book = self.books.book(symbol)
            if book is None:
                return
            self._book_of[symbol] = book  # BookSync keeps one OrderBook per symbol for good
        if not book.synced:
            return
        bid = book.best_bid()
        ask = book.best_ask()
        top = (bid, ask)
        if self._top.get(symbol) == top:
            return
        self._top[symbol] = top
        bid_price, bid_size = bid if bid is not None else _NO_LEVEL
        ask_price, ask_size = ask if ask is not None else _NO_LEVEL
        # l2_updates carry no time: the ticker has no exchange timestamp.
        out.append(Ticker(self.exchange, symbol, None, received, bid_price, bid_size, ask_price, ask_size))


def _tid(trade: Any) -> int:
    return int(trade.tid)
