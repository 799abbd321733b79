"""Order books: the maintained L2 book and the one synchronisation state machine.

Everything that decides whether a book is correct lives in this module (design.md:
"one state machine, one file"). Adapters feed it decoded deltas and snapshots; it
buffers, joins the snapshot to the buffered deltas by the exchange's rule, checks
continuity on every delta, and on any doubt discards *that one symbol's* book, emits a
:class:`~collector.models.Resync` event with the reason and asks the adapter for a
fresh snapshot. It never touches the network: snapshot requests come back as the
adapter's actions.

States per symbol::

    WAIT ──snapshot joins──► LIVE ──gap / crossed / reconnect / stale──► WAIT
      ▲ buffers deltas,        applies deltas,                 (Resync event,
      │ one snapshot request   checks the rule on each         new snapshot request)
      └── snapshot too old: request again

Rules (the exchange fact sheets quote the documents these come from):

``RANGE`` (Binance spot)
    Drop buffered events with ``u <= lastUpdateId``; the first one kept must straddle
    the snapshot, ``U <= lastUpdateId + 1 <= u``; afterwards an event with
    ``u <= local id`` is ignored and ``U > local id + 1`` is a gap.
``PREV_ID`` (Binance USDⓈ-M / COIN-M)
    Drop events with ``u < lastUpdateId``; the first must satisfy
    ``U <= lastUpdateId <= u``; afterwards every event's ``pu`` must equal the
    previous event's ``u``.
``MONOTONIC`` (snapshot and deltas on the stream)
    A snapshot (re)starts the book; each delta's ``u`` must be greater than the last.
``NEXT_ID`` (snapshot and deltas on the stream, e.g. Bybit)
    As ``MONOTONIC``, and each delta's ``u`` must be exactly the last ``u`` + 1.
``SNAPSHOT`` (every message is a full book, e.g. Upbit)
    Each snapshot replaces the book.
"""

from __future__ import annotations

import enum
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from . import speedups
from .models import UNSET, Book, BookTop, Level, Resync

__all__ = ["BookSync", "OrderBook", "Rule"]


class Rule(enum.Enum):
    """How deltas are joined to a snapshot and checked for continuity (see the module docstring)."""

    RANGE = "range"
    PREV_ID = "prev_id"
    MONOTONIC = "monotonic"
    NEXT_ID = "next_id"
    SNAPSHOT = "snapshot"


def _apply_side(prices: list[float], sizes: list[float], levels: Iterable[Level]) -> None:
    # One side is two aligned lists sorted by price ascending: the best level is an index
    # away, a lookup is a bisection, and list insert/delete is a C memmove -- cheaper than a
    # dict beside a sorted list (two hashes per level) or any tree, for books of this size.
    for price, size in levels:
        i = bisect_left(prices, price)
        if i < len(prices) and prices[i] == price:
            if size:
                sizes[i] = size
            else:
                del prices[i]
                del sizes[i]
        elif size:
            prices.insert(i, price)
            sizes.insert(i, size)
        # else: a removal for a level we do not hold is normal (Binance: "a removal for a
        # level you do not hold"), nothing to do.


class OrderBook:
    """A maintained L2 book: price -> size on each side, with ordered access.

    Read it any time: :meth:`best_bid`, :meth:`best_ask`, :meth:`top`, :meth:`depth`.
    ``synced`` is ``False`` while the book is being rebuilt after a resync; the levels
    are then empty, never stale.
    """

    __slots__ = ("_ask_prices", "_ask_sizes", "_bid_prices", "_bid_sizes", "sequence", "synced", "timestamp")

    def __init__(self) -> None:
        # Both sides ascending by price: the best bid is the last bid, the best ask the first ask.
        self._bid_prices: list[float] = []
        self._bid_sizes: list[float] = []
        self._ask_prices: list[float] = []
        self._ask_sizes: list[float] = []
        self.sequence: int | None = None
        self.timestamp: float | None = None
        self.synced = False

    def clear(self) -> None:
        """Drop every level and mark the book unsynced."""
        self._bid_prices.clear()
        self._bid_sizes.clear()
        self._ask_prices.clear()
        self._ask_sizes.clear()
        self.sequence = None
        self.synced = False

    def load(self, bids: Iterable[Level], asks: Iterable[Level], sequence: int | None) -> None:
        """Replace the whole book with a snapshot (levels of size 0 are skipped; a repeated price keeps the last)."""
        self._bid_prices, self._bid_sizes = _sorted_side(bids)
        self._ask_prices, self._ask_sizes = _sorted_side(asks)
        self.sequence = sequence
        self.synced = True

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Apply a delta of absolute sizes; size 0 removes the level."""
        _apply_side(self._bid_prices, self._bid_sizes, bids)
        _apply_side(self._ask_prices, self._ask_sizes, asks)

    def best_bid(self) -> Level | None:
        """The highest bid ``(price, size)``, or ``None`` if the side is empty."""
        if not self._bid_prices:
            return None
        return self._bid_prices[-1], self._bid_sizes[-1]

    def best_ask(self) -> Level | None:
        """The lowest ask ``(price, size)``, or ``None`` if the side is empty."""
        if not self._ask_prices:
            return None
        return self._ask_prices[0], self._ask_sizes[0]

    def crossed(self) -> bool:
        """True when best bid >= best ask, which a correct book never shows."""
        return bool(self._bid_prices and self._ask_prices and self._bid_prices[-1] >= self._ask_prices[0])

    def mid(self) -> float | None:
        """Midpoint of the best bid and ask, or ``None`` when a side is empty."""
        if not (self._bid_prices and self._ask_prices):
            return None
        return (self._bid_prices[-1] + self._ask_prices[0]) / 2.0

    def spread(self) -> float | None:
        """Best ask minus best bid, or ``None`` when a side is empty."""
        if not (self._bid_prices and self._ask_prices):
            return None
        return self._ask_prices[0] - self._bid_prices[-1]

    def top(self, n: int) -> BookTop:
        """The best ``n`` levels per side, best first."""
        if n <= 0:
            return BookTop(bids=[], asks=[])
        return BookTop(
            bids=list(zip(reversed(self._bid_prices[-n:]), reversed(self._bid_sizes[-n:]), strict=True)),
            asks=list(zip(self._ask_prices[:n], self._ask_sizes[:n], strict=True)),
        )

    def depth(self) -> BookTop:
        """Every level, best first."""
        return self.top(max(len(self._bid_prices), len(self._ask_prices)))

    def bids(self) -> dict[float, float]:
        """A copy of the bid side as ``{price: size}``."""
        return dict(zip(self._bid_prices, self._bid_sizes, strict=True))

    def asks(self) -> dict[float, float]:
        """A copy of the ask side as ``{price: size}``."""
        return dict(zip(self._ask_prices, self._ask_sizes, strict=True))

    def __len__(self) -> int:
        return len(self._bid_prices) + len(self._ask_prices)

    def __repr__(self) -> str:
        return (
            f"OrderBook(synced={self.synced}, sequence={self.sequence}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, levels={len(self)})"
        )


def _sorted_side(levels: Iterable[Level]) -> tuple[list[float], list[float]]:
    """Snapshot levels as aligned (prices, sizes) lists, ascending, size 0 dropped."""
    # Built with C-level loops (dict, sorted, map): a snapshot can carry 5000 levels a side.
    by_price = dict(levels)  # a repeated price: the last one wins
    prices = sorted(by_price)
    sizes = list(map(by_price.__getitem__, prices))
    if 0 in sizes:
        kept = [(p, s) for p, s in zip(prices, sizes, strict=True) if s]
        prices = [p for p, _ in kept]
        sizes = [s for _, s in kept]
    return prices, sizes


# Rules whose snapshots arrive on the stream: a delta before one cannot be buffered usefully.
_STREAM_SNAPSHOTS = frozenset({Rule.MONOTONIC, Rule.NEXT_ID, Rule.SNAPSHOT})

# A buffered delta: (bids, asks, first id U, last id u, previous id pu, timestamp, received).
_Delta = tuple[list[Level], list[Level], int, int, int | None, float | None, float]
_WAIT = 0
_LIVE = 1


class _SymbolState:
    __slots__ = ("book", "buffer", "first_pending", "last", "requested", "state")

    def __init__(self) -> None:
        self.book = OrderBook()
        self.state = _WAIT
        self.last = 0
        self.first_pending = True
        self.requested = False
        self.buffer: list[_Delta] = []


SnapshotRequester = Callable[[str], Sequence[Any]]
"""Given a unified symbol, return the actions that fetch a fresh snapshot of its book."""


class BookSync:
    """The per-exchange book synchroniser: one :class:`OrderBook` and state per symbol.

    Construct it with the exchange's :class:`Rule` and a function returning the actions
    that fetch a snapshot (a REST request, or a resubscription for exchanges that send
    snapshots on the stream). Feed it with :meth:`delta` and :meth:`snapshot`; both
    append the resulting events and actions to ``out``. With ``top_n`` set, every book
    event carries the maintained book's best ``top_n`` levels.
    """

    def __init__(
        self,
        exchange: str,
        rule: Rule,
        request_snapshot: SnapshotRequester,
        *,
        top_n: int | None = None,
        max_buffer: int = 10_000,
    ) -> None:
        self.exchange = exchange
        self.rule = rule
        self.top_n = top_n
        self.max_buffer = max_buffer
        self.stats: Counter[str] = Counter()
        self._request = request_snapshot
        self._symbols: dict[str, _SymbolState] = {}
        # The C version of _apply_side when compiled (same results; see collector.speedups).
        self._apply_side = speedups.book_applier() or _apply_side

    def book(self, symbol: str) -> OrderBook | None:
        """The maintained book for ``symbol``, or ``None`` if no data arrived for it yet."""
        st = self._symbols.get(symbol)
        return st.book if st is not None else None

    def symbols(self) -> list[str]:
        """Symbols with a book (synced or being rebuilt)."""
        return list(self._symbols)

    def _state(self, symbol: str) -> _SymbolState:
        st = self._symbols.get(symbol)
        if st is None:
            st = self._symbols[symbol] = _SymbolState()
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
    ) -> None:
        """Take one delta (update ids ``first``..``last``, previous id ``prev``) for ``symbol``."""
        st = self._symbols.get(symbol) or self._state(symbol)
        if st.state != _LIVE:
            self._buffer(out, symbol, st, (bids, asks, first, last, prev, timestamp, received))
            return
        # The live path runs for every delta of every symbol, so it is one function and the
        # fields arrive unpacked: a tuple is built only when the delta must be kept (a gap).
        rule = self.rule
        if rule is Rule.RANGE:
            # Binance spot: "If the event u is < the local book's update ID, ignore it.
            # If the event U is > the local book's update ID + 1, something went wrong."
            if last <= st.last:
                self.stats["stale_delta"] += 1
                return
            if first > st.last + 1:
                d = (bids, asks, first, last, prev, timestamp, received)
                self._gap(out, symbol, st, "gap", f"expected U<={st.last + 1}, got U={first}", received, d)
                return
        elif rule is Rule.PREV_ID:
            if st.first_pending:
                # Binance futures: drop u < lastUpdateId; the first processed event must
                # have U <= lastUpdateId AND u >= lastUpdateId.
                if last < st.last:
                    self.stats["stale_delta"] += 1
                    return
                if first > st.last:
                    d = (bids, asks, first, last, prev, timestamp, received)
                    self._gap(out, symbol, st, "gap", f"first event U={first} > lastUpdateId={st.last}", received, d)
                    return
            elif prev != st.last:
                # "each new event's pu should be equal to the previous event's u"
                d = (bids, asks, first, last, prev, timestamp, received)
                self._gap(out, symbol, st, "gap", f"expected pu={st.last}, got pu={prev}", received, d)
                return
        elif last <= st.last:
            self._gap(out, symbol, st, "gap", f"sequence went from {st.last} to {last}", received, None)
            return
        elif rule is Rule.NEXT_ID and last != st.last + 1:
            self._gap(out, symbol, st, "gap", f"expected u={st.last + 1}, got u={last}", received, None)
            return
        st.first_pending = False
        book = st.book
        # OrderBook.apply and .crossed inlined: this runs for every delta of every symbol.
        bid_prices = book._bid_prices
        ask_prices = book._ask_prices
        apply_side = self._apply_side
        if bids:
            apply_side(bid_prices, book._bid_sizes, bids)
        if asks:
            apply_side(ask_prices, book._ask_sizes, asks)
        st.last = last
        book.sequence = last
        book.timestamp = timestamp
        if bid_prices and ask_prices and bid_prices[-1] >= ask_prices[0]:
            self._crossed(out, symbol, st, received)
            return
        out.append(
            Book(
                self.exchange,
                symbol,
                timestamp,
                received,
                False,
                bids,
                asks,
                last,
                book.top(self.top_n) if self.top_n else UNSET,
            )
        )

    def _crossed(self, out: list[Any], symbol: str, st: _SymbolState, received: float) -> None:
        """A delta left the book crossed: treat it as a gap (also called by the C step)."""
        book = st.book
        self._gap(out, symbol, st, "crossed", f"bid {book.best_bid()} >= ask {book.best_ask()}", received, None)

    def c_book_path(self) -> tuple[Any, ...] | None:
        """What the C scanner's ``enable_books`` needs to apply steady-state diffs itself.

        ``None`` when this book must stay on the Python path: rules other than RANGE and
        PREV_ID, or ``top_n`` (book events then carry the maintained top levels). The C step
        does only what :meth:`delta` does for a live book whose diff passes the rule, in the
        same order; every other case it leaves to :meth:`delta`.
        """
        codes = {Rule.RANGE: 0, Rule.PREV_ID: 1}
        if self.top_n or self.rule not in codes:
            return None
        return (self._symbols, _SymbolState, OrderBook, codes[self.rule], _LIVE, self._crossed, Book, UNSET)

    def _buffer(self, out: list[Any], symbol: str, st: _SymbolState, d: _Delta) -> None:
        """A delta for a book that is not live: keep it for the snapshot join, and ask for one."""
        if self.rule in _STREAM_SNAPSHOTS:
            # These exchanges send the snapshot on the stream; a delta before it is useless.
            self.stats["delta_before_snapshot"] += 1
            self._ask_snapshot(out, symbol, st)
            return
        if len(st.buffer) >= self.max_buffer:
            # The snapshot is not coming fast enough; start over rather than grow without bound.
            self.stats["buffer_overflow"] += 1
            st.buffer.clear()
            st.requested = False
            out.append(Resync(self.exchange, symbol, None, d[6], "buffer", f"{self.max_buffer} deltas"))
        st.buffer.append(d)
        self._ask_snapshot(out, symbol, st)

    def _ask_snapshot(self, out: list[Any], symbol: str, st: _SymbolState) -> None:
        if not st.requested:
            st.requested = True
            self.stats["snapshot_requests"] += 1
            out.extend(self._request(symbol))

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
    ) -> None:
        """Take a full book for ``symbol`` (REST response or in-stream snapshot) with update id ``last_id``."""
        st = self._state(symbol)
        st.requested = False
        rule = self.rule
        seq = last_id or 0
        kept: list[_Delta] = []
        if rule is Rule.RANGE or rule is Rule.PREV_ID:
            if st.state == _LIVE:
                # A late answer to a request made before the book synced: the live book is newer.
                self.stats["snapshot_unused"] += 1
                return
            if rule is Rule.RANGE:
                kept = [d for d in st.buffer if d[3] > seq]
                too_old = bool(kept) and kept[0][2] > seq + 1
            else:
                kept = [d for d in st.buffer if d[3] >= seq]
                too_old = bool(kept) and kept[0][2] > seq
            if too_old:
                # "If the snapshot's lastUpdateId is < the first event's U, fetch again."
                self.stats["snapshot_too_old"] += 1
                st.buffer = kept
                self._ask_snapshot(out, symbol, st)
                return
        st.buffer = []
        book = st.book
        book.load(bids, asks, last_id)
        book.timestamp = timestamp
        st.state = _LIVE
        st.last = seq
        st.first_pending = True
        self.stats["snapshots"] += 1
        if book.crossed():
            self._gap(
                out,
                symbol,
                st,
                "crossed",
                f"snapshot bid {book.best_bid()} >= ask {book.best_ask()}",
                received,
                None,
            )
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

    # -- resync -----------------------------------------------------------------------------

    def resync(self, out: list[Any], symbol: str, reason: str, detail: str, received: float) -> None:
        """Discard ``symbol``'s book and rebuild it (e.g. ``reason="stale"``)."""
        st = self._symbols.get(symbol)
        if st is None:
            return
        self._gap(out, symbol, st, reason, detail, received, None)

    def reset(self, out: list[Any], symbols: Iterable[str], reason: str, received: float) -> None:
        """Discard the books of ``symbols`` without requesting snapshots (their connection is gone).

        A ``Resync`` event is emitted for each book that was live; the first delta after
        the reconnect starts the rebuild.
        """
        for symbol in symbols:
            st = self._symbols.get(symbol)
            if st is None:
                continue
            was_live = st.state == _LIVE
            st.book.clear()
            st.state = _WAIT
            st.buffer = []
            st.requested = False
            st.first_pending = True
            if was_live:
                self.stats["resync." + reason] += 1
                out.append(Resync(self.exchange, symbol, None, received, reason, ""))

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
        st.state = _WAIT
        st.first_pending = True
        st.buffer = [keep] if keep is not None and self.rule in (Rule.RANGE, Rule.PREV_ID) else []
        out.append(Resync(self.exchange, symbol, None, received, reason, detail))
        self._ask_snapshot(out, symbol, st)
