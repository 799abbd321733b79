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
from bisect import bisect_left, insort
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .models import UNSET, Book, BookTop, Level, Resync

__all__ = ["BookSync", "OrderBook", "Rule"]


class Rule(enum.Enum):
    """How deltas are joined to a snapshot and checked for continuity (see the module docstring)."""

    RANGE = "range"
    PREV_ID = "prev_id"
    MONOTONIC = "monotonic"
    NEXT_ID = "next_id"
    SNAPSHOT = "snapshot"


def _apply_side(sizes: dict[float, float], prices: list[float], levels: Iterable[Level]) -> None:
    # ``prices`` is kept sorted ascending so the best level is an index away; list insert
    # and delete are a C memmove, cheaper than any tree in Python for books of this size.
    for price, size in levels:
        if size:
            if price not in sizes:
                insort(prices, price)
            sizes[price] = size
        elif sizes.pop(price, None) is not None:
            # A removal for a level we do not hold is normal (Binance: "a removal for a
            # level you do not hold"); only a held level has a price to delete.
            del prices[bisect_left(prices, price)]


class OrderBook:
    """A maintained L2 book: price -> size on each side, with ordered access.

    Read it any time: :meth:`best_bid`, :meth:`best_ask`, :meth:`top`, :meth:`depth`.
    ``synced`` is ``False`` while the book is being rebuilt after a resync; the levels
    are then empty, never stale.
    """

    __slots__ = ("_ask_prices", "_asks", "_bid_prices", "_bids", "sequence", "synced", "timestamp")

    def __init__(self) -> None:
        self._bids: dict[float, float] = {}
        self._asks: dict[float, float] = {}
        self._bid_prices: list[float] = []
        self._ask_prices: list[float] = []
        self.sequence: int | None = None
        self.timestamp: float | None = None
        self.synced = False

    def clear(self) -> None:
        """Drop every level and mark the book unsynced."""
        self._bids.clear()
        self._asks.clear()
        self._bid_prices.clear()
        self._ask_prices.clear()
        self.sequence = None
        self.synced = False

    def load(self, bids: Iterable[Level], asks: Iterable[Level], sequence: int | None) -> None:
        """Replace the whole book with a snapshot (levels of size 0 are skipped)."""
        self._bids = {p: s for p, s in bids if s}
        self._asks = {p: s for p, s in asks if s}
        self._bid_prices = sorted(self._bids)
        self._ask_prices = sorted(self._asks)
        self.sequence = sequence
        self.synced = True

    def apply(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Apply a delta of absolute sizes; size 0 removes the level."""
        _apply_side(self._bids, self._bid_prices, bids)
        _apply_side(self._asks, self._ask_prices, asks)

    def best_bid(self) -> Level | None:
        """The highest bid ``(price, size)``, or ``None`` if the side is empty."""
        if not self._bid_prices:
            return None
        price = self._bid_prices[-1]
        return price, self._bids[price]

    def best_ask(self) -> Level | None:
        """The lowest ask ``(price, size)``, or ``None`` if the side is empty."""
        if not self._ask_prices:
            return None
        price = self._ask_prices[0]
        return price, self._asks[price]

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
        bids = self._bids
        asks = self._asks
        bid_prices = self._bid_prices[-n:] if n > 0 else []
        return BookTop(
            bids=[(p, bids[p]) for p in reversed(bid_prices)],
            asks=[(p, asks[p]) for p in self._ask_prices[:n]],
        )

    def depth(self) -> BookTop:
        """Every level, best first."""
        return self.top(max(len(self._bid_prices), len(self._ask_prices)))

    def bids(self) -> dict[float, float]:
        """A copy of the bid side as ``{price: size}``."""
        return dict(self._bids)

    def asks(self) -> dict[float, float]:
        """A copy of the ask side as ``{price: size}``."""
        return dict(self._asks)

    def __len__(self) -> int:
        return len(self._bid_prices) + len(self._ask_prices)

    def __repr__(self) -> str:
        return (
            f"OrderBook(synced={self.synced}, sequence={self.sequence}, "
            f"best_bid={self.best_bid()}, best_ask={self.best_ask()}, levels={len(self)})"
        )


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
        if st.state == _LIVE:
            self._live(out, symbol, st, bids, asks, first, last, prev, timestamp, received)
            return
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
            out.append(Resync(self.exchange, symbol, None, received, "buffer", f"{self.max_buffer} deltas"))
        st.buffer.append((bids, asks, first, last, prev, timestamp, received))
        self._ask_snapshot(out, symbol, st)

    def _ask_snapshot(self, out: list[Any], symbol: str, st: _SymbolState) -> None:
        if not st.requested:
            st.requested = True
            self.stats["snapshot_requests"] += 1
            out.extend(self._request(symbol))

    def _live(
        self,
        out: list[Any],
        symbol: str,
        st: _SymbolState,
        bids: list[Level],
        asks: list[Level],
        first: int,
        last: int,
        prev: int | None,
        timestamp: float | None,
        received: float,
    ) -> None:
        # Fields arrive unpacked: a tuple is built only when the delta must be kept (a gap).
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
        if bids:
            _apply_side(book._bids, bid_prices, bids)
        if asks:
            _apply_side(book._asks, ask_prices, asks)
        st.last = last
        book.sequence = last
        book.timestamp = timestamp
        if bid_prices and ask_prices and bid_prices[-1] >= ask_prices[0]:
            self._gap(out, symbol, st, "crossed", f"bid {book.best_bid()} >= ask {book.best_ask()}", received, None)
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
            if st.state != _LIVE:
                # A buffered delta failed the rule: the gap handler re-buffers what follows.
                self.delta(out, symbol, *d)
            else:
                self._live(out, symbol, st, *d)

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
