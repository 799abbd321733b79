"""Order books: the one synchronisation state machine (the levels it keeps are a
:class:`~collector.orderbook.OrderBook`, re-exported here).

Everything that decides whether a book is correct lives in this module (design.md:
"one state machine, one file"); no other module, in any language, makes a transition.
Adapters feed it decoded deltas and snapshots; it buffers, joins a snapshot to the
buffered deltas by the exchange's rule, checks continuity (and the exchange's checksum,
where it has one) on every delta, and on any doubt discards *that one symbol's* book,
emits a :class:`~collector.models.Resync` event with the reason and asks the adapter
for a fresh snapshot. It never touches the network or the clock: snapshot requests come
back as the adapter's actions, times are passed in.

States per symbol (:class:`BookState`)::

    WAITING ──snapshot joins──► LIVE ──gap / checksum / crossed / invalid / stale──► WAITING
      ▲ buffers deltas (REST        applies deltas,                  (Resync event,
      │ rules), one request         checks the rule on each           new snapshot request)
      └── snapshot too old: request again

A :class:`Rule` is data: where snapshots come from (:class:`Snapshots`), how a REST
snapshot joins the buffered deltas (:class:`Join`) and how each live delta must follow
the previous one (:class:`Link`). The rules in use (the exchange fact sheets quote the
documents they come from):

``RANGE`` (Binance spot, Gate, KuCoin)
    REST snapshot. Drop buffered events with ``u <= lastUpdateId``; the first one kept
    must straddle the snapshot, ``U <= lastUpdateId + 1 <= u``; afterwards an event with
    ``u <= local id`` is a duplicate and ``U > local id + 1`` is a gap.
``PREV_ID`` (Binance USDⓈ-M / COIN-M, HTX)
    REST snapshot. Drop events with ``u < lastUpdateId``; the first must satisfy
    ``U <= lastUpdateId <= u``; afterwards every event's ``pu`` must equal the previous
    event's ``u``.
``NEXT_ID`` (Bybit, Kraken Futures)
    Snapshots on the stream; each delta's ``u`` must be exactly the last ``u`` + 1.
``STREAM_PREV`` (OKX, Deribit, Crypto.com)
    Snapshots on the stream; each delta's previous id must be the last id.
``MONOTONIC``
    Snapshots on the stream; each delta's ``u`` must be greater than the last.
``UNSEQUENCED`` (Kraken, Coinbase, BitMEX, Gemini)
    Snapshots on the stream, no ids: deltas apply in arrival order; the exchange's
    checksum (or the adapter, from a connection-wide sequence) catches a loss.
``SNAPSHOT`` (Upbit, Coinone)
    Every message is a whole book and replaces it.

Whatever the rule, a live book also resyncs when a delta carries an impossible value
(non-finite, non-positive price, negative size: ``invalid``), leaves the book crossed
(``crossed``; kept under a ``crossable`` rule), fails the checksum (``checksum``), jumps its
id implausibly far ahead, or when a run of duplicates shows it has fallen behind its own
stream (``gap``), and when :meth:`BookSync.expire` finds it silent for too long (``stale``).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from . import speedups
from .models import UNSET, Book, Level, Resync
from .orderbook import OrderBook, _apply_delta, _load_side, valid_levels
from .stats import Stats

__all__ = [
    "MONOTONIC",
    "NEXT_ID",
    "PREV_ID",
    "RANGE",
    "SNAPSHOT",
    "STREAM_PREV",
    "UNSEQUENCED",
    "BookState",
    "BookSync",
    "Checksum",
    "Exact",
    "Join",
    "Link",
    "OrderBook",
    "Rule",
    "Snapshots",
    "valid_levels",
]


class Snapshots(enum.Enum):
    """Where a book's full snapshots come from."""

    REST = "rest"
    """Fetched on request (a REST action) and joined to the deltas buffered meanwhile."""
    STREAM = "stream"
    """Sent on the stream (on subscribe; a resubscription asks for a new one)."""
    EVERY = "every"
    """Every message is a whole book."""


class Join(enum.Enum):
    """How a REST snapshot with update id ``s`` meets the buffered deltas ``[U, u]``."""

    NEXT = "next"
    """Drop ``u <= s``; the first kept must have ``U <= s + 1`` (Binance spot, Gate, KuCoin)."""
    COVER = "cover"
    """Drop ``u < s``; the first kept must have ``U <= s <= u``, even one ending at ``s``
    (Binance futures: "the first processed event should have U <= lastUpdateId AND u >= lastUpdateId")."""
    AFTER = "after"
    """Drop ``u <= s``; the first kept applies whatever its ``U`` (ids are times, e.g. Bitstamp)."""


class Link(enum.Enum):
    """How each delta of a live book must follow the previous one (``last`` is the book's id)."""

    CONTIGUOUS = "contiguous"
    """``U <= last + 1`` (a delta may overlap what the book has: sizes are absolute)."""
    PREV = "prev"
    """The delta's previous id equals ``last``."""
    NEXT = "next"
    """``u == last + 1``."""
    INCREASING = "increasing"
    """``u > last``."""
    NONE = "none"
    """No ids: deltas apply in arrival order."""


@dataclass(frozen=True, slots=True)
class Rule:
    """An exchange's book rule, as data. Use one of the module constants, or build one.

    ``max_jump``: a live delta whose id runs further ahead than this is taken for a
    corrupted frame, not a future update (one such frame would otherwise make every
    later delta look old while the book claims to be synced).

    ``crossable``: the exchange's own book may be crossed by design (an opening auction),
    so a crossed book is kept and counted (``crossed_kept``) instead of rebuilt; every other
    check still applies.

    ``restart_id``: a delta carrying this id is a whole book sent after the exchange
    restarted its ids (Bybit: "u=1 ... is a snapshot data due to the restart of the service.
    So please overwrite your local orderbook"): taken as a snapshot (``restart_snapshot``).
    """

    name: str
    snapshots: Snapshots
    link: Link
    join: Join = Join.NEXT
    max_jump: int = 1 << 40
    crossable: bool = False
    restart_id: int | None = None


RANGE = Rule("range", Snapshots.REST, Link.CONTIGUOUS, Join.NEXT)
PREV_ID = Rule("prev_id", Snapshots.REST, Link.PREV, Join.COVER)
NEXT_ID = Rule("next_id", Snapshots.STREAM, Link.NEXT)
STREAM_PREV = Rule("stream_prev", Snapshots.STREAM, Link.PREV)
MONOTONIC = Rule("monotonic", Snapshots.STREAM, Link.INCREASING)
UNSEQUENCED = Rule("unsequenced", Snapshots.STREAM, Link.NONE)
SNAPSHOT = Rule("snapshot", Snapshots.EVERY, Link.NONE)


class BookState(enum.Enum):
    """Where one symbol's book is in its life."""

    WAITING = "waiting"
    """No trustworthy book: waiting for (or joining) a snapshot. Levels are empty."""
    LIVE = "live"
    """Synced: deltas are checked and applied."""


Checksum = Callable[[str, "OrderBook"], int]
"""The exchange's checksum of a maintained book: ``checksum(symbol, book) -> int``.

Compared with the value an update (or a separate checksum message) carries; a mismatch
resyncs that symbol with reason ``checksum``."""

Exact = Callable[[str, "OrderBook"], bool]
"""Whether the checksum of a maintained book can be computed exactly: ``exact(symbol, book)``.

False when a level's wire text cannot be printed back from its float (Kraken prints sizes
with 8 decimals: above 2**52 units of the last place, a float no longer holds every digit)."""

SnapshotRequester = Callable[[str], Sequence[Any]]
"""Given a unified symbol, return the actions that fetch a fresh snapshot of its book."""

STALE_RUN = 200
"""Duplicates in a row (deltas older than a live book) after which the book is rebuilt."""


# A buffered delta: (bids, asks, first id U, last id u, previous id pu, timestamp, received, checksum).
_Delta = tuple[list[Level], list[Level], int, int, "int | None", "float | None", float, "int | None"]
_WAITING = BookState.WAITING
_LIVE = BookState.LIVE
_NO_LINK = Link.NONE
_CONTIGUOUS = Link.CONTIGUOUS
_PREV = Link.PREV
_NEXT = Link.NEXT


class _SymbolState:
    __slots__ = ("book", "buffer", "depth", "joined", "last", "requested", "stale_run", "state")

    def __init__(self, depth: int | None) -> None:
        self.book = OrderBook()
        self.depth = depth  # best levels kept per side (None: all)
        self.state = _WAITING
        self.last = 0
        self.joined = False  # a delta has been applied since the last snapshot
        self.requested = False
        self.stale_run = 0
        self.buffer: list[_Delta] = []


class BookSync:
    """The per-exchange book synchroniser: one :class:`OrderBook` and state per symbol.

    Construct it with the exchange's :class:`Rule` and a function returning the actions
    that fetch a snapshot (a REST request, or a resubscription for exchanges that send
    snapshots on the stream). Feed it with :meth:`delta` and :meth:`snapshot`; both
    append the resulting events and actions to ``out``.

    - ``top_n``: every book event carries the maintained book's best ``top_n`` levels.
    - ``checksum``: the exchange's checksum function (see :data:`Checksum`); updates that
      carry a value are checked against it after they are applied.
    - ``exact``: whether the checksum can be computed exactly from a book's float levels
      (:data:`Exact`); a mismatch on a book where it cannot is counted
      (``checksum_unverifiable``), not resynced. Asked only on a mismatch.
    - ``depth``: keep only the best ``depth`` levels per side after every delta, for
      exchanges that do not delete levels pushed out of the subscribed depth (Kraken);
      :meth:`set_depth` sets it per symbol.
    - ``max_buffer``: deltas kept while waiting for a REST snapshot.
    """

    def __init__(
        self,
        exchange: str,
        rule: Rule,
        request_snapshot: SnapshotRequester,
        *,
        top_n: int | None = None,
        checksum: Checksum | None = None,
        exact: Exact | None = None,
        depth: int | None = None,
        max_buffer: int = 10_000,
    ) -> None:
        self.exchange = exchange
        self.rule = rule
        self.top_n = top_n
        self.checksum = checksum
        self.exact = exact
        self.depth = depth
        self.max_buffer = max_buffer
        self.stats = Stats()
        self._request = request_snapshot
        self._symbols: dict[str, _SymbolState] = {}
        self._rest = rule.snapshots is Snapshots.REST
        self._cover = self._rest and rule.join is Join.COVER
        self._every = rule.snapshots is Snapshots.EVERY
        self._link = rule.link
        self._max_jump = rule.max_jump
        self._crossable = rule.crossable
        self._restart_id = rule.restart_id
        # The C versions of _apply_delta and _load_side when compiled (same results; see collector.speedups).
        self._apply = speedups.delta_applier() or _apply_delta
        self._load = speedups.side_loader() or _load_side

    def set_depth(self, symbol: str, depth: int | None) -> None:
        """Keep only ``symbol``'s best ``depth`` levels per side (``None``: all), e.g. the depth a
        recording subscribed that book at; other books keep the synchroniser's ``depth``."""
        if depth is not None and depth < 1:
            raise ValueError(f"book depth must be at least 1 level, not {depth}")
        self._state(symbol).depth = depth

    def book(self, symbol: str) -> OrderBook | None:
        """The maintained book for ``symbol``, or ``None`` if no data arrived for it yet."""
        st = self._symbols.get(symbol)
        return st.book if st is not None else None

    def touch_of(self, symbol: str) -> tuple[float | None, float | None, float | None, float | None]:
        """``(bid, bid size, ask, ask size)`` of ``symbol``'s book while it is synced, all ``None``
        otherwise (no book yet, being rebuilt, a side empty): for a ticker that carries no best
        bid/offer of its own and reports the maintained book's."""
        st = self._symbols.get(symbol)
        if st is None or not st.book.synced:
            return None, None, None, None
        bid, ask = st.book.best_bid(), st.book.best_ask()
        return (
            bid[0] if bid else None,
            bid[1] if bid else None,
            ask[0] if ask else None,
            ask[1] if ask else None,
        )

    def state(self, symbol: str) -> BookState | None:
        """Where ``symbol``'s book is (``None`` before its first data)."""
        st = self._symbols.get(symbol)
        return st.state if st is not None else None

    def symbols(self) -> list[str]:
        """Symbols with a book (synced or being rebuilt)."""
        return list(self._symbols)

    def _state(self, symbol: str) -> _SymbolState:
        st = self._symbols.get(symbol)
        if st is None:
            st = self._symbols[symbol] = _SymbolState(self.depth)
        return st

    # -- deltas -----------------------------------------------------------------------------

    def delta(
        self,
        out: list[Any],
        symbol: str,
        bids: list[Level],
        asks: list[Level],
        first: int,
        last: int,
        prev: int | None,
        timestamp: float | None,
        received: float,
        checksum: int | None = None,
    ) -> None:
        """Take one delta for ``symbol``: update ids ``first``..``last`` (use ``last`` twice when
        the exchange gives one id), previous id ``prev``, and the checksum it carries, if any.

        Rules without ids (:attr:`Link.NONE`) ignore the ids; pass 0.
        """
        st = self._symbols.get(symbol) or self._state(symbol)
        book = st.book
        book.updated = received
        if st.state is not _LIVE:
            if last == self._restart_id:
                self._restarted(out, symbol, bids, asks, last, timestamp, received, checksum)
                return
            self._waiting(out, symbol, st, (bids, asks, first, last, prev, timestamp, received, checksum))
            return
        # The live path runs for every delta of every symbol, so it is one function, the
        # fields arrive unpacked (a tuple is built only when the delta must be kept) and the
        # rule is read from plain attributes, not enum members (each of those is a lookup).
        link = self._link
        sequence: int | None = None
        if link is not _NO_LINK:
            held = st.last
            if last <= held and not (last == held and self._cover and not st.joined):
                if last == self._restart_id:
                    self._restarted(out, symbol, bids, asks, last, timestamp, received, checksum)
                    return
                # A duplicate (an overlapping stream, a replayed message). A long run of them
                # means the book's id ran ahead of its own stream: it cannot be right. (Under
                # Join.COVER the delta ending at the snapshot's id is its first: "U <= s <= u".)
                self.stats["stale_delta"] += 1
                st.stale_run += 1
                if st.stale_run > STALE_RUN:
                    self._gap(out, symbol, st, "gap", f"{st.stale_run} deltas behind id {held}", received, None)
                return
            if last - held > self._max_jump:
                self._gap(out, symbol, st, "gap", f"id jumped from {held} to {last}", received, None)
                return
            if not st.joined and self._rest:
                # The first delta after a REST snapshot must straddle it.
                if not self._joins(first, last, prev, held):
                    d = (bids, asks, first, last, prev, timestamp, received, checksum)
                    self._gap(out, symbol, st, "gap", f"first delta [{first}, {last}] misses id {held}", received, d)
                    return
            elif link is _CONTIGUOUS:
                # Binance spot: "If the event U is > the local book's update ID + 1, something went wrong."
                if first > held + 1:
                    d = (bids, asks, first, last, prev, timestamp, received, checksum)
                    self._gap(out, symbol, st, "gap", f"expected U<={held + 1}, got U={first}", received, d)
                    return
            elif link is _PREV:
                # "each new event's pu should be equal to the previous event's u"
                if prev != held:
                    d = (bids, asks, first, last, prev, timestamp, received, checksum)
                    self._gap(out, symbol, st, "gap", f"expected previous id {held}, got {prev}", received, d)
                    return
            elif link is _NEXT and last != held + 1:
                self._gap(out, symbol, st, "gap", f"expected u={held + 1}, got u={last}", received, None)
                return
            st.last = sequence = last
        st.joined = True
        st.stale_run = 0
        try:
            verdict = self._apply(book._bid_prices, book._bid_sizes, bids, book._ask_prices, book._ask_sizes, asks)
        except (TypeError, ValueError):
            verdict = 1  # not (price, size) pairs of numbers; nothing was applied
        if verdict:
            if verdict == 1:
                self._gap(out, symbol, st, "invalid", "non-finite, non-positive price or negative size", received, None)
                return
            if not self._crossable:
                self._crossed(out, symbol, st, received)
                return
            self.stats["crossed_kept"] += 1
        if st.depth is not None:
            book.truncate(st.depth)
        book.sequence = sequence
        book.timestamp = timestamp
        if checksum is not None and self.checksum is not None and not self._checks(out, symbol, st, checksum, received):
            return
        if not (bids or asks):
            # A delta that changes nothing (HTX's quiet 100 ms, Crypto.com's empty updates) moves
            # the book's id on, and is no event.
            self.stats["empty_delta"] += 1
            return
        top_n = self.top_n
        out.append(
            Book(
                self.exchange,
                symbol,
                timestamp,
                received,
                False,
                bids,
                asks,
                sequence,
                book.top(top_n) if top_n else UNSET,
            )
        )

    def _restarted(
        self,
        out: list[Any],
        symbol: str,
        bids: list[Level],
        asks: list[Level],
        last: int,
        timestamp: float | None,
        received: float,
        checksum: int | None,
    ) -> None:
        """A delta with the rule's ``restart_id``: the whole book, the ids start over from it."""
        self.stats["restart_snapshot"] += 1
        self.snapshot(out, symbol, bids, asks, last, timestamp, received, checksum, replace=True)

    def _joins(self, first: int, last: int, prev: int | None, snapshot_id: int) -> bool:
        join = self.rule.join
        if join is Join.NEXT:
            return first <= snapshot_id + 1
        if join is Join.COVER:
            # "The first processed event should have U <= lastUpdateId AND u >= lastUpdateId";
            # when the event ending exactly at lastUpdateId was skipped as already in the
            # snapshot, the next one links to it by its previous id instead.
            return first <= snapshot_id <= last or prev == snapshot_id
        return True

    def _crossed(self, out: list[Any], symbol: str, st: _SymbolState, received: float) -> None:
        book = st.book
        self._gap(out, symbol, st, "crossed", f"bid {book.best_bid()} >= ask {book.best_ask()}", received, None)

    def _checks(self, out: list[Any], symbol: str, st: _SymbolState, expected: int, received: float) -> bool:
        assert self.checksum is not None
        computed = self.checksum(symbol, st.book)
        if computed == expected:
            self.stats["checksum_ok"] += 1
            return True
        if self.exact is not None and not self.exact(symbol, st.book):
            self.stats["checksum_unverifiable"] += 1
            return True
        self._gap(out, symbol, st, "checksum", f"expected {expected}, computed {computed}", received, None)
        return False

    def _waiting(self, out: list[Any], symbol: str, st: _SymbolState, d: _Delta) -> None:
        """A delta for a book that is not live: keep it for the snapshot join, and ask for one."""
        if not self._rest:
            # The snapshot comes on the stream; a delta before it is useless.
            self.stats["delta_before_snapshot"] += 1
            self._ask_snapshot(out, symbol, st)
            return
        if len(st.buffer) >= self.max_buffer:
            # The snapshot is not coming fast enough; start over rather than grow without bound.
            self.stats["buffer_overflow"] += 1
            st.buffer.clear()
            st.requested = False
            self.stats["resync.buffer"] += 1
            out.append(Resync(self.exchange, symbol, None, d[6], "buffer", f"{self.max_buffer} deltas"))
        st.buffer.append(d)
        self._ask_snapshot(out, symbol, st)

    def _ask_snapshot(self, out: list[Any], symbol: str, st: _SymbolState) -> None:
        if not st.requested:
            st.requested = True
            self.stats["snapshot_requests"] += 1
            out.extend(self._request(symbol))

    def verify(self, out: list[Any], symbol: str, expected: int, received: float) -> None:
        """Check a live book against a checksum sent on its own (Bitfinex ``cs`` messages)."""
        st = self._symbols.get(symbol)
        if st is None or st.state is not _LIVE or self.checksum is None:
            self.stats["checksum_unchecked"] += 1
            return
        st.book.updated = received
        self._checks(out, symbol, st, expected, received)

    def touch(self, symbol: str, received: float) -> None:
        """The exchange says ``symbol``'s book is unchanged but alive (a heartbeat): it is not stale."""
        st = self._symbols.get(symbol)
        if st is not None:
            st.book.updated = received

    # -- snapshots --------------------------------------------------------------------------

    def snapshot(
        self,
        out: list[Any],
        symbol: str,
        bids: list[Level],
        asks: list[Level],
        last_id: int | None,
        timestamp: float | None,
        received: float,
        checksum: int | None = None,
        *,
        replace: bool = False,
    ) -> None:
        """Take a full book for ``symbol`` (REST response or in-stream snapshot) with update id ``last_id``.

        Where every message is a whole book, one older than the book held (by ``timestamp``) is
        skipped: messages can overtake each other ("drop messages older than the last applied").
        ``replace=True`` marks a whole book sent on the stream under a REST-joined rule (Gate's
        ``full`` updates, HTX's periodic full depth): it replaces a live book at once, and the
        deltas after it continue from ``last_id`` as if the book had been live all along.
        """
        st = self._symbols.get(symbol) or self._state(symbol)
        if (
            self._every
            and st.state is _LIVE
            and timestamp is not None
            and st.book.timestamp is not None
            and timestamp < st.book.timestamp
        ):
            self.stats["stale_snapshot"] += 1
            return
        st.requested = False
        st.book.updated = received
        seq = last_id or 0
        kept: list[_Delta] = []
        if self._rest and not replace:
            if st.state is _LIVE:
                # A late answer to a request made before the book synced: the live book is newer.
                self.stats["snapshot_unused"] += 1
                return
            join = self.rule.join
            if join is Join.COVER:
                kept = [d for d in st.buffer if d[3] >= seq]
                too_old = bool(kept) and kept[0][2] > seq
            else:
                kept = [d for d in st.buffer if d[3] > seq]
                too_old = join is Join.NEXT and bool(kept) and kept[0][2] > seq + 1
            if too_old:
                # "If the snapshot's lastUpdateId is < the first event's U, fetch again."
                self.stats["snapshot_too_old"] += 1
                st.buffer = kept
                self._ask_snapshot(out, symbol, st)
                return
        if st.buffer:
            st.buffer = []
        try:
            bid_side = self._load(bids)
            ask_side = self._load(asks)
        except (TypeError, ValueError):
            bid_side = ask_side = None  # not (price, size) pairs of numbers
        if bid_side is None or ask_side is None:
            st.book.clear()
            st.state = _WAITING
            self.stats["resync.invalid"] += 1
            out.append(Resync(self.exchange, symbol, None, received, "invalid", "snapshot has impossible values"))
            if self._rest:
                self._ask_snapshot(out, symbol, st)
            return
        book = st.book
        book._replace(bid_side, ask_side)
        book.sequence = last_id
        book.synced = True
        if st.depth is not None:
            book.truncate(st.depth)
        book.timestamp = timestamp
        st.state = _LIVE
        st.last = seq
        # A REST snapshot must be straddled by the first delta; a replacing stream book is
        # already in the stream's chain.
        st.joined = replace
        st.stale_run = 0
        self.stats["snapshots"] += 1
        if book.crossed():
            if not self._crossable:
                detail = f"snapshot bid {book.best_bid()} >= ask {book.best_ask()}"
                self._gap(out, symbol, st, "crossed", detail, received, None)
                return
            self.stats["crossed_kept"] += 1
        if checksum is not None and self.checksum is not None and not self._checks(out, symbol, st, checksum, received):
            return
        out.append(
            Book(
                self.exchange,
                symbol,
                timestamp,
                received,
                True,
                bids,
                asks,
                last_id,
                book.top(self.top_n) if self.top_n else UNSET,
            )
        )
        for d in kept:
            # After a buffered delta fails the rule the book is waiting again, and delta()
            # re-buffers the rest for the next snapshot.
            self.delta(out, symbol, *d)

    def snapshot_failed(self, symbol: str) -> None:
        """The snapshot request failed for good; the next delta asks again."""
        st = self._symbols.get(symbol)
        if st is not None:
            st.requested = False
        self.stats["snapshot_failures"] += 1

    def cancel_requests(self, symbols: Iterable[str]) -> None:
        """Snapshot requests for ``symbols`` were abandoned (their connection dropped): ask again when needed."""
        for symbol in symbols:
            st = self._symbols.get(symbol)
            if st is not None:
                st.requested = False

    # -- resync -----------------------------------------------------------------------------

    def resync(self, out: list[Any], symbol: str, reason: str, detail: str, received: float) -> None:
        """Discard ``symbol``'s book and rebuild it (an adapter saw a connection-wide gap, say)."""
        st = self._symbols.get(symbol)
        if st is None:
            return
        self._gap(out, symbol, st, reason, detail, received, None)

    def expire(
        self, out: list[Any], now: float, max_age: float, stalled: Callable[[float], float] | None = None
    ) -> None:
        """Resync every live book that saw nothing for more than ``max_age`` seconds (reason ``stale``).

        ``stalled(since)``: seconds the process itself was not running after ``since``
        (:meth:`collector.stalls.LoopStalls.allowance`); they do not count as silence.
        """
        for symbol, st in self._symbols.items():
            updated = st.book.updated
            if st.state is _LIVE and updated is not None and now - updated > max_age:
                silent = now - updated - (stalled(updated) if stalled is not None else 0.0)
                if silent <= max_age:
                    continue
                st.book.updated = now  # one resync per silence, not one per check
                self._gap(out, symbol, st, "stale", f"no update for {silent:.1f}s", now, None)

    def reset(
        self,
        out: list[Any],
        symbols: Iterable[str],
        reason: str,
        received: float,
        *,
        report: bool = True,
        detail: str = "",
    ) -> None:
        """Discard the books of ``symbols`` without requesting snapshots (their connection is gone,
        or the exchange announced maintenance: ``reason`` ``maintenance``).

        With ``report``, a ``Resync`` event is emitted for each book that was live; the first
        delta after the reconnect starts the rebuild. A collector that is stopping passes
        ``report=False``: nothing is being rebuilt.
        """
        for symbol in symbols:
            st = self._symbols.get(symbol)
            if st is None:
                continue
            was_live = st.state is _LIVE
            st.book.clear()
            st.state = _WAITING
            st.buffer = []
            st.requested = False
            st.joined = False
            if was_live and report:
                self.stats["resync." + reason] += 1
                out.append(Resync(self.exchange, symbol, None, received, reason, detail))

    def _gap(
        self,
        out: list[Any],
        symbol: str,
        st: _SymbolState,
        reason: str,
        detail: str,
        received: float,
        keep: _Delta | None,
    ) -> None:
        self.stats["resync." + reason] += 1
        st.book.clear()
        st.state = _WAITING
        st.joined = False
        st.stale_run = 0
        st.buffer = [keep] if keep is not None and self._rest else []
        out.append(Resync(self.exchange, symbol, None, received, reason, detail))
        self._ask_snapshot(out, symbol, st)
