"""GOPAX order books: the book rule, levels from book entries, and the replies a connection owes.

**The rule** (:data:`ENTRY_ID`). Every entry carries ``entryId``, documented as the "entry
update sequence (+1 incremental)", and the reply to a subscription carries ``maxEntryId``.
The counter is the whole exchange's, not the pair's: every snapshot taken at one moment
carries the same ``maxEntryId``, and one pair's consecutive deltas skip the ids of every
other pair's changes (public probes of 2026 saw jumps of 2 to 315). So:

- the book joins a snapshot like a REST snapshot whose id is ``maxEntryId``: deltas that
  arrived before it are buffered ("a delta can intermittently arrive first"), those whose
  ids are all at or below ``maxEntryId`` are in the snapshot already and are dropped, the
  others apply (:attr:`~collector.book.Join.AFTER`);
- a live book's deltas must carry ever higher ids (:attr:`~collector.book.Link.INCREASING`):
  one at or below what the book holds is old and skipped ("apply each entry only if it
  is newer ... order by updatedAt, entryId"), and of one that straddles the book's id
  only the newer entries apply (:func:`newer_entries`); a book waiting for its snapshot
  buffers such a delta entry by entry (:func:`single_entries`), so the join drops each
  entry the snapshot holds already;
- a lost delta cannot be told from the ids (they skip anyway). What shows is acted on: a
  crossed book, an impossible value, a run of old deltas, or silence past
  ``book_stale_after`` resync that one book from the REST book
  (``/trading-pairs/{pair}/book``, whose ``sequence`` joins it the same way), without
  touching the other books of the connection.

Snapshots come from two places: the subscription reply (on the stream, once per
subscription: GOPAX has no unsubscribe, and subscribing again is refused with 10325
"Already subscribed") and the REST book. :class:`BookReplies` tells the snapshot
request which one is coming.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter

from ...book import Join, Link, Rule, Snapshots
from ...models import Level
from .schemas import BookEntry

__all__ = ["ENTRY_ID", "BookReplies", "book_levels", "delta_levels", "newer_entries", "single_entries"]

ENTRY_ID = Rule("entry_id", Snapshots.REST, Link.INCREASING, Join.AFTER)
"""GOPAX books: joined by ``maxEntryId`` (or the REST ``sequence``), then ever higher entry ids."""

# "Order by updatedAt, entryId": the order entries of one delta take effect in.
_ORDER = attrgetter("updatedAt", "entryId")


def _in_time_order(entries: list[BookEntry]) -> list[Level]:
    """``(price, volume)`` of entries in the order they take effect (a later one at a price wins)."""
    if len(entries) > 1:
        entries = sorted(entries, key=_ORDER)
    return [(e.price, e.volume) for e in entries]


def book_levels(entries: list[BookEntry], *, descending: bool) -> list[Level]:
    """``(price, volume)`` of a snapshot side, best first: bids ``descending``, asks not.

    The documents promise no order of a side's entries, and their ``(updatedAt, entryId)``
    order is not the price order; a snapshot event lists them best first. A repeated price
    keeps its latest entry, by ``(updatedAt, entryId)``.
    """
    if len(entries) < 2:
        return [(e.price, e.volume) for e in entries]
    latest = dict(_in_time_order(entries))
    return sorted(latest.items(), reverse=descending)


def delta_levels(bid: list[BookEntry], ask: list[BookEntry]) -> tuple[list[Level], list[Level], int, int, float] | None:
    """``(bids, asks, lowest id, highest id, latest updatedAt)`` of a delta, ``None`` when it is empty.

    A delta's levels stay in time order: applied one after the other, a later entry at a
    price overrides an earlier one.
    """
    entries = bid + ask
    if not entries:
        return None
    if len(entries) == 1:
        e = entries[0]
        bids, asks = _alone(e, bool(bid))
        return bids, asks, e.entryId, e.entryId, e.updatedAt
    ids = [e.entryId for e in entries]
    latest = max(e.updatedAt for e in entries)
    return _in_time_order(bid), _in_time_order(ask), min(ids), max(ids), latest


def single_entries(bid: list[BookEntry], ask: list[BookEntry]) -> list[tuple[list[Level], list[Level], int, float]]:
    """A delta's entries one by one, in the order they take effect: ``(bids, asks, entryId, updatedAt)``."""
    sided = [(e, True) for e in bid] + [(e, False) for e in ask]
    sided.sort(key=lambda pair: _ORDER(pair[0]))
    return [(*_alone(e, is_bid), e.entryId, e.updatedAt) for e, is_bid in sided]


def _alone(e: BookEntry, is_bid: bool) -> tuple[list[Level], list[Level]]:
    """``(bids, asks)`` holding the one entry ``e`` on its side."""
    level = [(e.price, e.volume)]
    return (level, []) if is_bid else ([], level)


def newer_entries(bid: list[BookEntry], ask: list[BookEntry], held: int) -> tuple[list[BookEntry], list[BookEntry]]:
    """The entries of a delta with ids above ``held``, the id of the book they are applied to.

    "Apply each entry only if it is newer than what you hold": a delta whose ids straddle
    the book's id carries entries the book has already (or newer ones at their price).
    """
    return [e for e in bid if e.entryId > held], [e for e in ask if e.entryId > held]


class BookReplies:
    """Per connection: the books whose subscription reply (their snapshot) is still due, and
    the books the connection carries (a Primus ping on it says they are alive).

    Live, the plan names the books; in a replay they are learnt from the replies.
    """

    __slots__ = ("_books", "_conn_of", "_due")

    def __init__(self) -> None:
        self._due: dict[str, tuple[str, float]] = {}  # symbol -> (conn, since)
        self._books: dict[str, set[str]] = {}  # conn -> symbols
        self._conn_of: dict[str, str] = {}  # symbol -> conn

    def expect(self, conn: str, symbols: Iterable[str], since: float) -> None:
        """``conn`` just opened and will subscribe ``symbols``' books."""
        for symbol in symbols:
            self._due[symbol] = (conn, since)
            self._carry(conn, symbol)

    def answered(self, conn: str, symbol: str) -> None:
        """The reply for ``symbol`` came on ``conn`` (a book, or a refusal)."""
        self._due.pop(symbol, None)
        self._carry(conn, symbol)

    def pending(self, symbol: str) -> bool:
        """Whether ``symbol``'s subscription reply is still to come."""
        return symbol in self._due

    def overdue(self, now: float, timeout: float) -> list[str]:
        """Symbols whose reply is more than ``timeout`` seconds late; they are no longer awaited."""
        late = [symbol for symbol, (_, since) in self._due.items() if now - since > timeout]
        for symbol in late:
            del self._due[symbol]
        return late

    def conn_of(self, symbol: str) -> str | None:
        """The connection carrying ``symbol``'s book."""
        return self._conn_of.get(symbol)

    def books_on(self, conn: str) -> Iterable[str]:
        """The books connection ``conn`` carries."""
        return self._books.get(conn, ())

    def drop(self, conn: str) -> list[str]:
        """``conn`` is gone: forget what it owed and return the books it carried."""
        self._due = {s: due for s, due in self._due.items() if due[0] != conn}
        symbols = list(self._books.pop(conn, ()))
        for symbol in symbols:
            if self._conn_of.get(symbol) == conn:
                del self._conn_of[symbol]
        return symbols

    def _carry(self, conn: str, symbol: str) -> None:
        previous = self._conn_of.get(symbol)
        if previous != conn:
            if previous is not None:
                self._books.get(previous, set()).discard(symbol)
            self._conn_of[symbol] = conn
            self._books.setdefault(conn, set()).add(symbol)
