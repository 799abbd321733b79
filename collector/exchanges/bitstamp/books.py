"""Bitstamp's book rule, and which REST snapshot answers may join a book.

Bitstamp's book frames carry no sequence number and no checksum, so two things that
other exchanges' update ids decide must be decided here from what the adapter knows.
"""

from __future__ import annotations

from ...actions import RestRequest
from ...book import Join, Link, Rule, Snapshots

__all__ = ["BOOK_RULE", "SNAPSHOT_PATH", "SnapshotGate"]

BOOK_RULE = Rule("microtimestamp", Snapshots.REST, Link.INCREASING, Join.AFTER)
"""Bitstamp's book rule, as data (see :mod:`collector.book`).

Bitstamp's documented procedure for ``diff_order_book``: subscribe, buffer the diffs,
fetch ``/api/v2/order_book/<pair>/``, drop the buffered diffs whose ``microtimestamp`` is
at or before the snapshot's and apply the rest in order. So the microtimestamp is the
update id: a REST snapshot joins by dropping ``u <= s`` (``Join.AFTER``; the first newer
diff applies whatever it holds, ids being times leave no range to check) and each live
diff must be newer than the last (``Link.INCREASING``; an older one, e.g. a diff the
socket delivered after a REST snapshot that already holds it, is skipped as a duplicate).
A lost diff cannot be seen (there is no sequence and no checksum); only a crossed book,
a silent book (``stale``) or a dropped connection gives it away.
"""

SNAPSHOT_PATH = "/api/v2/order_book/{}/?group=1"
"""The REST book snapshot of one pair: every level, grouped by price (``group=1``, the default)."""

_MAX_ASKED = 8  # snapshot requests remembered per symbol (answers to older ones are not expected)


class SnapshotGate:
    """Which snapshot answers may join a book: only those asked since its connection last changed.

    With no sequence, a snapshot taken before a reconnect would join the new connection's
    diffs without any check noticing the diffs lost in between. (The I/O layer does not
    send a second request for a URL already in flight, so the answer that comes can be
    that older request's, asked before the drop.) Call :meth:`ask` for every request,
    :meth:`moved` when a book's connection drops or changes, and :meth:`current` on the answer.
    """

    def __init__(self) -> None:
        self._epochs: dict[str, int] = {}  # symbol -> how often its connection changed
        self._asked: dict[str, list[tuple[RestRequest, int]]] = {}

    def ask(self, request: RestRequest, symbol: str) -> RestRequest:
        """Remember ``request`` as asked now, for the book of ``symbol``; returns it."""
        asked = self._asked.setdefault(symbol, [])
        asked.append((request, self._epochs.get(symbol, 0)))
        del asked[:-_MAX_ASKED]
        return request

    def moved(self, symbol: str) -> None:
        """The connection carrying ``symbol``'s book dropped or changed: earlier requests are outdated."""
        self._epochs[symbol] = self._epochs.get(symbol, 0) + 1

    def current(self, symbol: str, request: RestRequest) -> bool:
        """Whether the answer to ``request`` may join ``symbol``'s book (requests it never saw may)."""
        asked = self._asked.get(symbol, [])
        for i, (mine, epoch) in enumerate(asked):
            if mine is request:
                del asked[i]
                return epoch == self._epochs.get(symbol, 0)
        return True
