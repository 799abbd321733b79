"""BitMEX ``orderBookL2`` / ``orderBookL2_25`` tables into book snapshots and deltas.

The book rule (``shared/exchanges/bitmex.md``, "Order book synchronization"):

- "Discard any book message for SYM until its partial arrives." A ``partial`` is the
  whole book and replaces what was held; ``insert`` adds a level, ``update`` sets its new
  absolute size, ``delete`` removes it, rows in array order.
- Rows are keyed by ``(symbol, id, side)``. Since the 2023 update every row carries its
  ``price`` and ids are opaque ("use the price as it is provided"); older captures leave
  ``price`` out of ``update``/``delete`` rows, so until a priced ``update``/``delete`` shows
  the feed is the new one, the id -> price map of the ``partial`` and ``insert`` rows is kept.
- There is no sequence number and no checksum (:data:`~collector.book.UNSEQUENCED`): a row
  for an id the map does not know, rows that cross each other, a stale book or a dropped
  connection rebuild the book by unsubscribing and subscribing the table again, which
  makes BitMEX send a new ``partial``.
- A level that moved to the other side can arrive as an ``insert`` before the ``delete`` of
  the level it replaced (one engine change, one message per action): the newer row wins
  and the opposite levels it crosses are removed with it (:meth:`L2Books._uncross`).

Sizes stay contracts, as on the wire. Rows of a live book whose rows carry prices take a
hot path that builds the delta in one pass; anything unusual takes the general one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec
import orjson

from ...actions import SendFrame
from ...models import Level
from ..base import Output
from .schemas import L2Row, Table

if TYPE_CHECKING:
    from .adapter import BitmexAdapter

__all__ = ["BOOK_TABLES", "BookFeed", "L2Books", "request"]

BOOK_TABLES = ("orderBookL2", "orderBookL2_25")
"""The incremental book tables: every level, or the best 25 per side."""

_decoder = msgspec.json.Decoder(Table[L2Row], strict=False)
_BUY, _SELL = "Buy", "Sell"
_CHANGES = frozenset({"insert", "update", "delete"})
_INF = float("inf")


def request(op: str, args: list[str]) -> str:
    """A command frame: ``{"op":"subscribe","args":["orderBookL2:XBTUSD"]}``."""
    return orjson.dumps({"op": op, "args": args}).decode()


@dataclass(slots=True)
class BookFeed:
    """One symbol's book table: where it comes from and what its rows need."""

    table: str
    conn: str
    native: str
    symbol: str
    live: bool = False  # a partial arrived since the (re)subscription
    priced: bool = False  # update/delete rows carry their price: no id map needed
    bid_ids: dict[int, float] = field(default_factory=dict)
    ask_ids: dict[int, float] = field(default_factory=dict)

    def topic(self) -> str:
        """The subscription topic, ``orderBookL2:XBTUSD``."""
        return f"{self.table}:{self.native}"


class L2Books:
    """The book tables of one adapter (see the module docstring)."""

    def __init__(self, adapter: BitmexAdapter) -> None:
        self.adapter = adapter
        self.feeds: dict[str, BookFeed] = {}  # unified symbol -> its book table
        # native id -> feed, for live books whose rows carry their price (the hot path)
        self._priced: dict[str, BookFeed] = {}

    def claim(self, symbol: str, table: str, conn: str, native: str) -> BookFeed | None:
        """The feed of ``symbol`` from ``table`` on ``conn``; ``None`` when another table already feeds it."""
        feed = self.feeds.get(symbol)
        if feed is None:
            feed = self.feeds[symbol] = BookFeed(table, conn, native, symbol)
        elif feed.table != table:
            return None
        return feed

    def resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe its table, which brings a new ``partial``."""
        feed = self.feeds.get(symbol)
        if feed is None:
            return []
        self._down(feed)
        topic = feed.topic()
        return [
            SendFrame(feed.conn, request("unsubscribe", [topic])),
            SendFrame(feed.conn, request("subscribe", [topic])),
        ]

    def drop(self, conn: str) -> list[str]:
        """Forget the partials of the books ``conn`` carried (it is gone); returns their symbols."""
        gone = []
        for symbol, feed in self.feeds.items():
            if feed.conn == conn:
                self._down(feed)
                gone.append(symbol)
        return gone

    def plan(self, symbol: str, table: str, conn: str, native: str) -> None:
        """``symbol``'s book comes from ``table`` on ``conn`` (a connection plan says so)."""
        old = self.feeds.get(symbol)
        if old is not None:
            self._down(old)
        self.feeds[symbol] = BookFeed(table, conn, native, symbol)

    def _down(self, feed: BookFeed) -> None:
        """The feed waits for a new partial."""
        feed.live = False
        if self._priced.get(feed.native) is feed:
            del self._priced[feed.native]

    def _up(self, feed: BookFeed) -> None:
        """The feed is live; with priced rows it takes the hot path."""
        feed.live = True
        if feed.priced:
            self._priced[feed.native] = feed

    # -- frames ---------------------------------------------------------------------------------

    def on_frame(self, conn: str, table: str, frame: str | bytes, received: float, out: Output) -> None:
        """One book table frame; rows of several symbols (a topic without ``:symbol``) are split."""
        msg = _decoder.decode(frame)
        rows = msg.data
        action = msg.action
        if rows and action in _CHANGES:
            # The hot path: rows of one live symbol of a post-2023 feed (priced rows). Nothing
            # is changed before every row has passed, so any surprise takes the full path below.
            native = rows[0].symbol
            feed = self._priced.get(native)
            if feed is not None and feed.table == table:
                bids: list[Level] = []
                asks: list[Level] = []
                if action == "delete":
                    for r in rows:
                        price = r.price
                        if price is None or r.symbol != native:
                            break
                        side = r.side
                        if side == _BUY:
                            bids.append((price, 0.0))
                        elif side == _SELL:
                            asks.append((price, 0.0))
                        else:
                            break
                    else:
                        self._delta(out, feed.symbol, bids, asks, rows, received)
                        return
                else:
                    high = 0.0  # the highest bid and the lowest ask of the rows
                    low = _INF
                    for r in rows:
                        price = r.price
                        size = r.size
                        if price is None or size is None or r.symbol != native:
                            break
                        side = r.side
                        if side == _BUY:
                            bids.append((price, size))
                            if price > high:
                                high = price
                        elif side == _SELL:
                            asks.append((price, size))
                            if price < low:
                                low = price
                        else:
                            break
                    else:
                        self._uncross(feed.symbol, bids, asks, high, low)
                        self._delta(out, feed.symbol, bids, asks, rows, received)
                        return
        if not rows:
            name = msg.filter.symbol if msg.filter is not None else None
            if action == "partial" and name:
                # An empty image is an empty book ("the filter names the symbol of an empty partial").
                self._rows(conn, table, action, name, rows, received, out)
            else:
                self.adapter.control("empty")  # "data may be an empty list" (cryptofeed #688)
            return
        native = rows[0].symbol
        n = len(rows)
        i = 1
        while i < n and rows[i].symbol == native:
            i += 1
        if i == n:
            self._rows(conn, table, action, native, rows, received, out)
            return
        start = 0
        for j in range(i, n + 1):
            if j == n or rows[j].symbol != native:
                self._rows(conn, table, action, native, rows[start:j], received, out)
                if j < n:
                    start, native = j, rows[j].symbol

    def _rows(
        self, conn: str, table: str, action: str, native: str, rows: list[L2Row], received: float, out: Output
    ) -> None:
        a = self.adapter
        symbol = a.instruments.symbols_by_native.get(native)
        if symbol is None:
            out.append(a.error(conn, "unknown_symbol", f"{table} {native[:100]}", received))
            return
        feed = self.claim(symbol, table, conn, native)
        if feed is None:
            a.control("second_book_table")  # two depths of one symbol would fight over one book
            return
        if action == "partial":
            self._partial(conn, feed, symbol, rows, received, out)
            return
        if not feed.live:
            # "Discard any book message for SYM until its partial arrives."
            a.control("before_partial")
            return
        if action == "insert" or action == "update":
            levels = self._sized(conn, feed, symbol, action, rows, received, out)
        elif action == "delete":
            levels = self._deleted(conn, feed, symbol, rows, received, out)
        else:
            out.append(a.error(conn, "malformed", f"{table}: action {action[:20]!r}", received, symbol))
            return
        if levels is not None:
            bids, asks = levels
            if action != "delete":
                self._uncross(symbol, bids, asks, max(bids)[0] if bids else 0.0, min(asks)[0] if asks else _INF)
            self._delta(out, symbol, bids, asks, rows, received)

    def _delta(
        self, out: Output, symbol: str, bids: list[Level], asks: list[Level], rows: list[L2Row], received: float
    ) -> None:
        """Hand the levels to the book, timed by the last row (no ids: the rule links nothing)."""
        ts = rows[-1].timestamp
        self.adapter.books.delta(out, symbol, bids, asks, 0, 0, None, ts.timestamp() if ts else None, received)

    def _uncross(self, symbol: str, bids: list[Level], asks: list[Level], high: float, low: float) -> None:
        """Remove the levels a delta shows to be gone, before the book takes it.

        BitMEX splits one engine change into a message per action, so a level that changed
        sides (an ask taken out, the rest of the order resting as a bid at that price) can
        arrive as an ``insert`` before the ``delete`` of what it replaced. A resting bid at or
        above an ask cannot be (the engine would have matched them), so the newest rows win:
        the opposite levels they cross (``high`` is the rows' highest bid, ``low`` their
        lowest ask) are removed now, and the ``delete`` that follows finds nothing to remove.
        Rows that cross each other still leave the book crossed, and it resyncs.
        """
        book = self.adapter.books.book(symbol)
        if book is None or not book.synced:
            return
        if bids:
            ask = book.best_ask()
            if ask is not None and ask[0] <= high:
                self._stale(book.asks(), bids, asks, True)
        if asks:
            bid = book.best_bid()
            if bid is not None and bid[0] >= low:
                self._stale(book.bids(), asks, bids, False)

    def _stale(self, held: dict[float, float], new: list[Level], opposite: list[Level], bids: bool) -> None:
        """Add to ``opposite`` the removal of every held level the positive levels of ``new`` cross."""
        sized = [price for price, size in new if size]
        if not sized:
            return
        if bids:
            limit = max(sized)
            stale = [price for price in held if price <= limit]
        else:
            limit = min(sized)
            stale = [price for price in held if price >= limit]
        if stale:
            self.adapter.stats["book.uncrossed"] += 1
            opposite.extend((price, 0.0) for price in stale)

    def _partial(self, conn: str, feed: BookFeed, symbol: str, rows: list[L2Row], received: float, out: Output) -> None:
        a = self.adapter
        bids: list[Level] = []
        asks: list[Level] = []
        bid_ids, ask_ids = feed.bid_ids, feed.ask_ids
        bid_ids.clear()
        ask_ids.clear()
        for r in rows:
            price, size, side = r.price, r.size, r.side
            if price is None or size is None or (side != _BUY and side != _SELL):
                out.append(a.error(conn, "malformed", f"{feed.table} partial row {r.id}", received, symbol))
                return
            if side == _BUY:
                bids.append((price, size))
                bid_ids[r.id] = price
            else:
                asks.append((price, size))
                ask_ids[r.id] = price
        if feed.priced:
            bid_ids.clear()
            ask_ids.clear()
        feed.conn = conn
        self._up(feed)
        a.book_on(conn, symbol)
        ts = rows[-1].timestamp if rows else None
        # The image lists sells then buys, each highest price first: a snapshot is best first.
        bids.sort(reverse=True)
        asks.sort()
        # "partial: a table image, replace your data entirely."
        a.books.snapshot(out, symbol, bids, asks, None, ts.timestamp() if ts else None, received)

    def _sized(
        self, conn: str, feed: BookFeed, symbol: str, action: str, rows: list[L2Row], received: float, out: Output
    ) -> tuple[list[Level], list[Level]] | None:
        """Levels of ``insert``/``update`` rows (absolute sizes), or ``None`` after reporting why not."""
        bids: list[Level] = []
        asks: list[Level] = []
        update = action == "update"
        for r in rows:
            side, size, price = r.side, r.size, r.price
            if size is None or (side != _BUY and side != _SELL):
                out.append(self.adapter.error(conn, "malformed", f"{feed.table} {action} row {r.id}", received, symbol))
                return None
            if not feed.priced:
                ids = feed.bid_ids if side == _BUY else feed.ask_ids
                if price is None:
                    price = ids.get(r.id) if update else None
                    if price is None:
                        self._unknown(conn, feed, symbol, action, r, received, out)
                        return None
                else:
                    # "Since April 2023, the price is provided on every 'update' message", deletes
                    # only from July 2023: an id is mapped until a delete comes priced too.
                    ids[r.id] = price
            elif price is None:
                self._unknown(conn, feed, symbol, action, r, received, out)
                return None
            (bids if side == _BUY else asks).append((price, size))
        return bids, asks

    def _deleted(
        self, conn: str, feed: BookFeed, symbol: str, rows: list[L2Row], received: float, out: Output
    ) -> tuple[list[Level], list[Level]] | None:
        """Levels of ``delete`` rows (size 0), or ``None`` after reporting why not."""
        bids: list[Level] = []
        asks: list[Level] = []
        for r in rows:
            side, price = r.side, r.price
            if side != _BUY and side != _SELL:
                out.append(self.adapter.error(conn, "malformed", f"{feed.table} delete row {r.id}", received, symbol))
                return None
            if not feed.priced:
                ids = feed.bid_ids if side == _BUY else feed.ask_ids
                known = ids.pop(r.id, None)
                if price is None:
                    price = known
                    if price is None:
                        self._unknown(conn, feed, symbol, "delete", r, received, out)
                        return None
                else:
                    self._priced_rows(feed)
            elif price is None:
                self._unknown(conn, feed, symbol, "delete", r, received, out)
                return None
            (bids if side == _BUY else asks).append((price, 0.0))
        return bids, asks

    def _priced_rows(self, feed: BookFeed) -> None:
        """Rows carry their price ("price is now provided on all insert, update and delete
        messages"): the id map is no longer needed, and the book takes the hot path."""
        feed.priced = True
        feed.bid_ids.clear()
        feed.ask_ids.clear()
        self._up(feed)

    def _unknown(
        self, conn: str, feed: BookFeed, symbol: str, action: str, r: L2Row, received: float, out: Output
    ) -> None:
        """A row whose price cannot be known: the book has lost track ("on an unknown-id update, resubscribe")."""
        if action == "insert":
            out.append(self.adapter.error(conn, "malformed", f"{feed.table} insert row {r.id} without price", received))
            return
        self.adapter.books.resync(out, symbol, "gap", f"{feed.table} {action} for unknown id {r.id}", received)
