"""Bitget's book channels feeding the one book state machine (:class:`collector.book.BookSync`).

- ``books``: "First update pushed is full data: snapshot, and then push the update data".
  Current v2 updates carry ``seq`` and ``pseq`` ("the serial number of the previous
  push"), so the rule is :data:`~collector.book.STREAM_PREV`; v1 (and older v2) updates
  carry no ``seq`` and are taken in arrival order, the checksum being the only guard.
- The checksum: "After applying, recompute the checksum"; 0 means none (snapshots of
  current v2, every push of ``books1/5/15``); an absent field means the stream has none.
- ``books1``/``books5``/``books15``: "Push snapshot each time".
- A gap or checksum mismatch asks for a fresh snapshot the only way Bitget gives one:
  "resubscribe (unsubscribe + subscribe)" that one channel (:meth:`BookFeed.resubscribe`).
"""

from __future__ import annotations

from ...actions import SendFrame
from ...book import BookSync, OrderBook
from ..base import Output
from . import parse as p
from .checksum import LevelTexts, signed
from .schemas import Arg, BookData, Push

__all__ = ["BookFeed"]

_RANK = {"books1": 1, "books5": 2, "books15": 3, "books": 4}  # which channel a book prefers


class BookFeed:
    """Which channel feeds each symbol's book, the level texts its checksum needs, and resubscription.

    Give :meth:`resubscribe` and :meth:`checksum` to the :class:`BookSync`, then set
    :attr:`books` to it; feed every book push that :meth:`accepts` to :meth:`push`.
    """

    def __init__(self, max_args_bytes: int) -> None:
        self.books: BookSync | None = None
        self._max_args_bytes = max_args_bytes
        self._texts: dict[str, LevelTexts] = {}  # level texts of books whose stream has a checksum
        self._subs: dict[str, tuple[str, Arg]] = {}  # symbol -> (conn, arg) feeding its book

    def accepts(self, symbol: str, channel: str, action: str) -> bool:
        """Whether a push of ``channel`` may feed ``symbol``'s book.

        Two depths of one symbol would fight over one book: the deeper one takes it over at
        its next snapshot, the other is ignored.
        """
        held = self._subs.get(symbol)
        if held is None or held[1].channel == channel:
            return True
        return _RANK[channel] > _RANK[held[1].channel] and action == "snapshot"

    def push(
        self, out: Output, conn: str, symbol: str, channel: str, env: Push[list[BookData]], received: float
    ) -> str | None:
        """Apply one push of ``channel`` to ``symbol``'s book; returns what is wrong with it, if anything.

        Levels that are not finite positive prices with non-negative sizes raise
        ``msgspec.ValidationError`` before anything is applied.
        """
        books = self.books
        assert books is not None, "BookFeed.books is not set"
        if not env.data:
            return f"{channel} without data"
        d = env.data[0]
        sides = p.levels(d)
        bids, asks = sides.bids, sides.asks
        action = env.action
        self._subs[symbol] = (conn, env.arg)
        ts = p.book_time(d, env.ts)
        if channel != "books":
            books.snapshot(out, symbol, bids, asks, d.seq, ts, received)  # whole books, checksum 0
        elif action == "snapshot":
            texts = None
            if d.checksum is not None:
                texts = self._texts[symbol] = LevelTexts()
                texts.load(d.bids, bids, d.asks, asks)
            else:
                self._texts.pop(symbol, None)  # this stream carries no checksum
            expected = signed(d.checksum) if d.checksum and texts is not None else None
            books.snapshot(out, symbol, bids, asks, d.seq, ts, received, expected)
        elif action == "update":
            book = books.book(symbol)
            last = book.sequence if book is not None else None
            seq, prev = d.seq, d.pseq
            if seq is None:
                prev = last or 0  # no seq (v1): taken in arrival order, the checksum is the guard
                seq = prev + 1
            elif prev is None:
                prev = last or 0  # a seq without pseq: only its increase can be checked
            if last is not None and seq < last and book is not None and book.synced:
                # "The seq ... is incrementing except during symbol maintenance": a seq that went
                # back starts a new numbering, which no delta of the old one can be joined to.
                books.resync(out, symbol, "gap", f"seq went back from {last} to {seq}", received)
                return None
            texts = self._texts.get(symbol)
            if texts is not None and (last is None or seq > last):
                texts.apply(d.bids, bids, d.asks, asks)
            expected = signed(d.checksum) if d.checksum and texts is not None else None
            books.delta(out, symbol, bids, asks, seq, seq, prev, ts, received, expected)
        else:
            return f"{channel} action {action[:20]!r}"
        return None

    def checksum(self, symbol: str, book: OrderBook) -> int:
        """Bitget's checksum of ``symbol``'s book, from the level texts kept beside it."""
        texts = self._texts.get(symbol)
        if texts is None:
            return 0  # only asked for books whose stream has a checksum, which keep texts
        if len(texts) > 2 * len(book) + 512:
            texts.prune(book.bids(), book.asks())  # removed levels' texts pile up; drop them now and then
        return texts.checksum(book)

    def resubscribe(self, symbol: str) -> list[SendFrame]:
        """The book's "snapshot request": unsubscribe and subscribe its channel again.

        "mismatch → resubscribe (unsubscribe + subscribe) to receive a fresh snapshot":
        the first push of a new ``books`` subscription is the whole book.
        """
        held = self._subs.get(symbol)
        if held is None:
            return []
        conn, arg = held
        # v1 replies name the product line "sp"/"mc"; requests spell it "SP"/"MC".
        key = (arg.instType.upper() if arg.instType in ("sp", "mc") else arg.instType, arg.channel, arg.instId)
        limit = self._max_args_bytes
        return [SendFrame(conn, p.subscribe_frames(op, [key], limit)[0]) for op in ("unsubscribe", "subscribe")]

    def forget(self, conn: str) -> None:
        """The connection is gone: the channels it carried no longer feed any book."""
        for symbol in [s for s, (c, _) in self._subs.items() if c == conn]:
            del self._subs[symbol]
