"""OKX order books into :class:`~collector.book.BookSync` (rule :data:`BOOKS`).

Book sizes stay as OKX sends them: base units on spot, **contracts** on SWAP/FUTURES.

The rules implemented (order book channel, "Sequence ID"):

- ``books``, ``books-l2-tbt``, ``books50-l2-tbt``: "first message action:snapshot with
  prevSeqId = -1", then updates whose "prevSeqId matches the seqId of the previous message".
  A stream snapshot replaces the book whenever it comes.
- OKX announced (changelog, "Delist initial snapshot and checksum field in order book
  channels", production "early August 2026") that these channels would stop pushing the
  snapshot: "Get a depth snapshot from GET / Order book ... discard any event where stream
  seqId is <= snapshot seqId ... The first buffered event should satisfy: stream prevSeqId
  <= snapshot seqId < stream seqId". So updates are buffered until a snapshot, and a book
  without one (or after a gap) asks for the REST book; an answer with a ``seqId`` is joined to
  the buffered updates by that rule, one without (the REST book had none before) is not
  used, and the book's channel is subscribed again as long as the stream pushes snapshots.
- "If there are no updates to the depth for an extended period (around 60 seconds) ... OKX
  will send a message with 'asks': [], 'bids': [] ... seqId is the same as the last sent
  message and prevSeqId equals seqId": a heartbeat, which only keeps the book from going stale.
- "The sequence number may be reset due to maintenance ... an incremental message with
  seqId smaller than prevSeqId": when its ``prevSeqId`` still links, the book is re-based
  on the new numbering (the updated book is loaded as a snapshot with the new ``seqId``);
  when it does not, the book is rebuilt at once.
- ``books5`` and ``bbo-tbt`` push whole books: each message replaces the book.
- Captures from before OKX added ``seqId`` (2023) carry none: their messages are numbered
  in arrival order, and the checksum is what catches a loss.
- ``checksum`` is 0 since 2026-06-23 ("must no longer be used"): 0 is not checked; a
  non-zero value (older captures, the simulator) is verified against the level strings as
  received (:class:`.checksum.BookTexts`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from ...book import Join, Link, Rule, Snapshots
from ...models import Book, Ticker
from ...models import Level as LevelPair
from ..base import Adapter, Output
from .checksum import BookTexts
from .instruments import BOOK_RANK, SNAPSHOT_BOOKS, Market
from .schemas import BookData, BookText, Level, Push

if TYPE_CHECKING:
    from .fast import FastRoutes

__all__ = ["BOOKS", "BookParsers"]

BOOKS = Rule("okx_books", Snapshots.REST, Link.PREV, Join.NEXT, crossable=True)
"""OKX's incremental books: live updates chain on ``prevSeqId``; a REST book (``seqId`` s) joins
the first update with ``prevSeqId <= s < seqId`` (each update is passed as ids
``prevSeqId + 1 .. seqId``); a stream snapshot replaces the book whenever it comes.

Crossable: "Best ask price may be lower than the best bid price during the pre-open period"
(books channel), so a crossed OKX book is the exchange's, not a lost update."""

_books = msgspec.json.Decoder(Push[list[BookData]], strict=False)
_texts = msgspec.json.Decoder(Push[list[BookText]], strict=False)


class BookParsers(Adapter):
    """The order-book channels of the OKX adapter (a mixin of it)."""

    _fast: FastRoutes
    _markets: dict[str, Market]
    _texts: BookTexts
    _book_owner: dict[str, tuple[str, str]]
    """Unified symbol -> (connection, channel) whose pushes feed its book."""
    _planned_books: dict[str, tuple[str, str]]
    """Unified symbol -> (connection, channel) the plan subscribed for its book."""
    _stream_snapshots: bool
    """Whether an incremental channel has pushed a snapshot (OKX announced it would stop)."""

    def _on_book(self, conn: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        push = _books.decode(frame)
        native = push.arg.instId
        market = self._markets.get(native)
        if market is None:
            out.append(self.error(conn, "unknown_symbol", native[:100], received))
            return
        symbol = market.symbol
        whole = channel in SNAPSHOT_BOOKS
        action = push.action
        if not whole and action != "snapshot" and action != "update":
            out.append(self.error(conn, "malformed", f"{channel}: action {action[:20]!r}", received, symbol))
            return
        if channel == "bbo-tbt":
            self._bbo(symbol, push.data, received, out)
        if not self._owns(conn, channel, symbol, whole or action == "snapshot"):
            if channel != "bbo-tbt":
                self.control("second_book")
            return
        texts: list[BookText] | None = None
        for i, d in enumerate(push.data):
            bids = [(level.px, level.sz) for level in d.bids]
            asks = [(level.px, level.sz) for level in d.asks]
            ts = d.ts / 1000.0
            if whole:
                self.books.snapshot(out, symbol, bids, asks, d.seqId, ts, received, replace=True)
                continue
            check = d.checksum or None  # 0: "deprecated ... must no longer be used"
            text: BookText | None = None
            if check is not None or self._texts.tracked(symbol):
                if texts is None:
                    texts = _texts.decode(frame).data
                text = texts[i]
            if action == "snapshot":
                self._snapshot(out, symbol, d, text, bids, asks, ts, received, check)
            else:
                self._update(out, symbol, d, text, bids, asks, ts, received, check)
                if channel == "books" and text is None and d.seqId is not None:
                    # Its texts are not kept (no checksum to verify): later updates can come
                    # decoded by the fast path.
                    self._fast.books(conn, market, self._routed_update)

    def _snapshot(
        self,
        out: Output,
        symbol: str,
        d: BookData,
        text: BookText | None,
        bids: list[LevelPair],
        asks: list[LevelPair],
        ts: float,
        received: float,
        check: int | None,
    ) -> None:
        if check is not None and text is not None:
            self._texts.load(symbol, d.bids, text.bids, d.asks, text.asks)
        else:
            self._texts.forget(symbol)  # today's feed: nothing to verify, nothing to keep
        self._stream_snapshots = True  # this stream pushes its snapshots: a resubscription brings one
        self.books.snapshot(out, symbol, bids, asks, d.seqId, ts, received, check, replace=True)

    def _update(
        self,
        out: Output,
        symbol: str,
        d: BookData,
        text: BookText | None,
        bids: list[LevelPair],
        asks: list[LevelPair],
        ts: float,
        received: float,
        check: int | None,
    ) -> None:
        if text is not None:
            if self._texts.tracked(symbol):
                self._texts.apply(symbol, d.bids, text.bids, d.asks, text.asks)
            else:
                self.stats["checksum_untracked"] += 1
                check = None  # its snapshot carried none: the strings before this update are unknown
        self._linked(out, symbol, bids, asks, d.seqId, d.prevSeqId, ts, received, check)

    def _routed_update(
        self,
        out: Output,
        conn: str,
        symbol: str,
        bids: list[LevelPair],
        asks: list[LevelPair],
        seq: int | None,
        prev: int | None,
        ts: float,
        received: float,
        checksum: int | None,
    ) -> None:
        """A ``books`` update from the fast path (levels decoded in C): what :meth:`_on_book`
        does with one, for a book whose level texts are not kept."""
        if not self._owns(conn, "books", symbol, False):
            self.control("second_book")
            return
        if checksum or self._texts.tracked(symbol):
            # The route is declared for books without texts; a checksum sent after all cannot
            # be verified without them (OKX has sent 0 since 2026-06-23).
            self._texts.forget(symbol)
            self.stats["checksum_untracked"] += 1
        self._linked(out, symbol, bids, asks, seq, prev, ts, received, None)

    def _linked(
        self,
        out: Output,
        symbol: str,
        bids: list[LevelPair],
        asks: list[LevelPair],
        seq: int | None,
        prev: int | None,
        ts: float,
        received: float,
        check: int | None,
    ) -> None:
        """An update's place in the book's chain: a heartbeat, a reset, or the next delta."""
        if seq is None or prev is None:
            # Before seqId existed (captures from before 2023): chain the messages in arrival
            # order by a count of the book's own; its events carry no id ("sequence": exchange
            # update id or null).
            book = self.books.book(symbol)
            prev = book.sequence if book is not None and book.sequence is not None else 0
            start = len(out)
            self.books.delta(out, symbol, bids, asks, prev + 1, prev + 1, prev, ts, received, check)
            _restate(out, start, sequence=None)
            return
        if seq == prev and not bids and not asks:
            # "prevSeqId equals seqId ... to inform users that the connection is still active",
            # and "seqId is the same as the last sent message": one naming another id shows
            # that an update between them was lost.
            book = self.books.book(symbol)
            if book is not None and book.synced and book.sequence is not None and book.sequence != seq:
                detail = f"heartbeat at id {seq}, book at id {book.sequence}"
                self.books.resync(out, symbol, "gap", detail, received)
                return
            self.books.touch(symbol, received)
            self.control("book_heartbeat")
            return
        if seq < prev:
            self._reset(out, symbol, bids, asks, seq, prev, ts, received, check)
            return
        # An update covers (prevSeqId, seqId]: a REST book with seqId s joins the first update
        # with "prevSeqId <= s < seqId", i.e. first id prevSeqId + 1 <= s + 1 (Join.NEXT).
        self.books.delta(out, symbol, bids, asks, prev + 1, seq, prev, ts, received, check)

    def _reset(
        self,
        out: Output,
        symbol: str,
        bids: Sequence[LevelPair],
        asks: Sequence[LevelPair],
        seq: int,
        prev: int,
        ts: float,
        received: float,
        check: int | None,
    ) -> None:
        """A sequence reset: "an incremental message with seqId smaller than prevSeqId".

        When its ``prevSeqId`` links, the updated book is loaded under the new numbering and
        the message is reported as what it is, a delta with id ``seqId``; otherwise the book
        cannot be trusted and is rebuilt (ids that went backwards would make every later
        update look like a duplicate).
        """
        book = self.books.book(symbol)
        if book is None or not book.synced:
            self.books.delta(out, symbol, list(bids), list(asks), seq, seq, prev, ts, received, check)
            return
        if book.sequence != prev:
            detail = f"sequence reset to {seq} after {prev}, expected previous id {book.sequence}"
            self.books.resync(out, symbol, "gap", detail, received)
            return
        self.stats["sequence_reset"] += 1
        new_bids, new_asks = book.bids(), book.asks()
        for side, levels in ((new_bids, bids), (new_asks, asks)):
            for price, size in levels:
                if size:
                    side[price] = size
                else:
                    side.pop(price, None)
        start = len(out)
        self.books.snapshot(
            out, symbol, list(new_bids.items()), list(new_asks.items()), seq, ts, received, check, replace=True
        )
        # The book is re-based; what came is this update.
        _restate(out, start, snapshot=False, bids=list(bids), asks=list(asks))

    def _owns(self, conn: str, channel: str, symbol: str, snapshot: bool) -> bool:
        """Whether this push feeds ``symbol``'s book: the planned channel, else the first seen or a better one."""
        owner = self._book_owner.get(symbol)
        if owner is not None and owner[0] == conn and owner[1] == channel:
            return True
        planned = self._planned_books.get(symbol)
        if planned is None and self._planned_books:
            return False  # a live plan asked for no book of this symbol (bbo-tbt as its ticker, say)
        if planned is not None and planned[1] != channel:
            return False
        if owner is None or (snapshot and BOOK_RANK[channel] < BOOK_RANK[owner[1]]):
            self._book_owner[symbol] = (conn, channel)
            return True
        return False

    def _bbo(self, symbol: str, data: list[BookData], received: float, out: Output) -> None:
        """``bbo-tbt``: "1 depth level snapshot ... every 10 ms when it changes", as a ticker."""
        for d in data:
            bid = _best(d.bids)
            ask = _best(d.asks)
            out.append(Ticker(self.id, symbol, d.ts / 1000.0, received, bid[0], bid[1], ask[0], ask[1]))


def _restate(out: Output, start: int, **fields: object) -> None:
    """Give the book events appended to ``out`` since ``start`` other ``fields`` (what the
    book state machine reported, told as OKX sent it)."""
    for i in range(start, len(out)):
        event = out[i]
        if type(event) is Book:
            out[i] = msgspec.structs.replace(event, **fields)


def _best(levels: list[Level]) -> tuple[float | None, float | None]:
    if not levels:
        return None, None
    best = levels[0]
    return best.px, best.sz
