"""Events to rows: one pure step shared by every storage target.

:class:`RowBuilder` turns each event into a row of its table (:mod:`collector.storage.tables`)
and collects rows in a :class:`Batch`, which targets then write as one unit. It keeps one
piece of state, the book-top sampler: a ``book`` event that carries ``top`` (collectors
started with ``book_top=N``) becomes a ``book_tops`` row when it is the first of its
``book_interval`` for its symbol. The sampler's state can be saved and restored
(:meth:`RowBuilder.book_slots`) so that a restarted archiver samples exactly as before.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeAlias

from ..codec import encode_event
from ..log import get_logger
from ..models import (
    Alert,
    Book,
    Candle,
    Connected,
    DerivativeTicker,
    Disconnected,
    Error,
    Event,
    Indicator,
    Liquidation,
    Outage,
    Premium,
    Resync,
    Ticker,
    Trade,
)
from .tables import DEAD_LETTERS, TABLES, Table

__all__ = ["Batch", "Row", "RowBuilder", "to_us", "uid_of"]

log = get_logger("collector.storage")
_NO_TOP = "start the collector that produces them with --book-top N (book_top=N)"

Row: TypeAlias = tuple[Any, ...]

_UPSERT: Final = {t.name: t for t in TABLES if t.upsert}
_CLOSED: Final = {name: t.index("closed") for name, t in _UPSERT.items()}
_KEYS: Final = {name: tuple(t.index(k) for k in t.key) for name, t in _UPSERT.items()}


def to_us(seconds: float) -> int:
    """Float epoch seconds to integer microseconds (the resolution of ``timestamptz``)."""
    return round(seconds * 1_000_000)


def uid_of(data: bytes) -> int:
    """A signed 64-bit identity of a row without a natural key: BLAKE2b of the event's JSON.

    The same event, delivered twice, has the same JSON and so the same ``uid``; two
    different events share one with probability 2**-64.
    """
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


class Batch:
    """Rows waiting to be written, by table, plus the number of events they came from.

    Rows of upsert tables (candles, indicators) are kept once per key: a later version
    replaces an earlier one in the batch unless the earlier is closed and the later is
    not, which is the rule the database applies too.
    """

    __slots__ = ("_latest", "_size", "events", "rows")

    def __init__(self) -> None:
        self.rows: dict[str, list[Row]] = {}
        self._latest: dict[str, dict[tuple[Any, ...], Row]] = {}
        self._size = 0
        self.events = 0

    def add(self, name: str, row: Row) -> None:
        """Add one row to table ``name``."""
        if name in _UPSERT:
            latest = self._latest.setdefault(name, {})
            key = tuple(row[i] if type(row[i]) is not list else tuple(row[i]) for i in _KEYS[name])
            held = latest.get(key)
            closed = _CLOSED[name]
            if held is None:
                self._size += 1
                latest[key] = row
            elif row[closed] or not held[closed]:
                latest[key] = row
            return
        self._size += 1
        self.rows.setdefault(name, []).append(row)

    def dead_letter(self, time_us: int, source: str, reason: str, payload: bytes) -> None:
        """Add a row that could not be stored as data: where it came from, why, and its bytes."""
        uid = uid_of(source.encode() + b"\0" + payload)
        self.rows.setdefault(DEAD_LETTERS.name, []).append((time_us, uid, source, reason[:2000], payload))
        self._size += 1

    def tables(self) -> Iterable[tuple[Table, list[Row]]]:
        """``(table, rows)`` for every table with rows, in :data:`~collector.storage.tables.TABLES` order."""
        for t in TABLES:
            rows = list(self._latest.get(t.name, {}).values()) if t.name in _UPSERT else self.rows.get(t.name, [])
            if rows:
                yield t, rows

    def __len__(self) -> int:
        return self._size

    def merge(self, other: Batch) -> None:
        """Append ``other``'s rows after this batch's (the upsert rule applies across both)."""
        for t, rows in other.tables():
            for row in rows:
                self.add(t.name, row)
        self.events += other.events


def _time(e: Any) -> int:
    ts = e.timestamp
    return to_us(ts if ts is not None else e.received)


def _opt_us(value: float | None) -> int | None:
    return None if value is None else to_us(value)


def _trade(e: Trade) -> Row:
    return (e.exchange, e.symbol, _time(e), to_us(e.received), e.id, e.price, e.amount, e.side)


def _ticker(e: Ticker) -> Row:
    return (
        *(e.exchange, e.symbol, _time(e), to_us(e.received), uid_of(encode_event(e))),
        *(e.bid, e.bid_size, e.ask, e.ask_size, e.last, e.open, e.high, e.low, e.volume, e.quote_volume),
    )


def _derivative(e: DerivativeTicker) -> Row:
    return (
        *(e.exchange, e.symbol, _time(e), to_us(e.received), uid_of(encode_event(e))),
        *(e.mark_price, e.index_price, e.funding_rate, _opt_us(e.next_funding_time), e.predicted_funding_rate),
        *(e.open_interest, e.open_interest_value, e.last_price),
    )


def _liquidation(e: Liquidation) -> Row:
    return (
        *(e.exchange, e.symbol, _time(e), to_us(e.received), uid_of(encode_event(e))),
        *(e.side, e.price, e.amount, e.id, e.status),
    )


def _candle(e: Candle) -> Row:
    return (
        *(e.exchange, e.symbol, e.interval, e.source, to_us(e.start), to_us(e.end), _time(e), to_us(e.received)),
        *(e.open, e.high, e.low, e.close, e.volume, e.trades, e.closed),
    )


def _indicator(e: Indicator) -> Row:
    return (
        *(e.exchange, e.symbol, e.interval, e.source, e.name, [float(p) for p in e.params]),
        *(to_us(e.start), _time(e), to_us(e.received), e.closed, dict(e.values)),
    )


def _alert(e: Alert) -> Row:
    return (
        *(e.exchange, e.symbol, _time(e), to_us(e.received), uid_of(encode_event(e))),
        *(e.rule, e.interval, _opt_us(e.start), dict(e.values)),
    )


def _premium(e: Premium) -> Row:
    return (
        *(e.exchange, e.symbol, _time(e), to_us(e.received), uid_of(encode_event(e))),
        *(e.base, e.krw_exchange, e.krw_price, e.usd_exchange, e.usd_symbol, e.usd_price, e.fx, e.fx_source),
        *(e.premium, e.krw_source, e.usd_source),
    )


def _status(e: Connected | Disconnected | Resync | Error | Outage) -> Row:
    # Columns: conn, url, reason, kind, source, detail, retry_in (null where the type has no such field).
    head = (e.type, e.exchange, e.symbol, _time(e), to_us(e.received), uid_of(encode_event(e)))
    if isinstance(e, Connected):
        return (*head, e.conn, e.url, None, None, None, None, None)
    if isinstance(e, Disconnected):
        return (*head, e.conn, None, e.reason, None, None, None, None)
    if isinstance(e, Resync):
        return (*head, None, None, e.reason, None, None, e.detail, None)
    if isinstance(e, Error):
        return (*head, e.conn, None, e.reason, None, None, e.detail, None)
    return (*head, None, None, None, e.kind, e.source, e.detail, e.retry_in)


_ROWS: Final[dict[type, tuple[str, Callable[[Any], Row]]]] = {
    Trade: ("trades", _trade),
    Ticker: ("tickers", _ticker),
    DerivativeTicker: ("derivative_tickers", _derivative),
    Liquidation: ("liquidations", _liquidation),
    Candle: ("candles", _candle),
    Indicator: ("indicators", _indicator),
    Alert: ("alerts", _alert),
    Premium: ("premiums", _premium),
    Connected: ("status_events", _status),
    Disconnected: ("status_events", _status),
    Resync: ("status_events", _status),
    Error: ("status_events", _status),
    Outage: ("status_events", _status),
}


class RowBuilder:
    """Turns events into rows of :class:`Batch`; samples book tops every ``book_interval`` seconds.

    Call :meth:`add` per event in stream order. ``book_interval`` must be positive: a
    ``book_tops`` row is keyed by the start of its interval, and the first book event of
    each interval (per exchange and symbol) that carries ``top`` fills it.
    """

    def __init__(self, book_interval: float = 1.0) -> None:
        if not (book_interval > 0 and math.isfinite(book_interval)):
            raise ValueError(f"book_interval must be a positive number of seconds, got {book_interval!r}")
        self.book_interval = book_interval
        self._slot_us = max(1, to_us(book_interval))
        self._slots: dict[tuple[str, str], int] = {}
        self.books_without_top = 0
        """Book events that carried no ``top`` (start the producing collector with ``book_top=N``)."""

    def add(self, event: Event, batch: Batch) -> bool:
        """Add ``event``'s row to ``batch``; ``False`` when it makes no row (a book event not sampled)."""
        batch.events += 1
        if type(event) is Book:
            return self._book(event, batch)
        name, make = _ROWS[type(event)]
        batch.add(name, make(event))
        return True

    def _book(self, e: Book, batch: Batch) -> bool:
        top = e.top
        if not top:  # UNSET (no book_top) is falsy
            if not self.books_without_top:
                log.warning("book events without top levels: no book snapshots are stored", hint=_NO_TOP)
            self.books_without_top += 1
            return False
        taken = _time(e)
        slot = taken - taken % self._slot_us
        key = (e.exchange, e.symbol)
        if slot <= self._slots.get(key, -1):
            return False
        self._slots[key] = slot
        bids, asks = top.bids, top.asks
        row = (
            *(e.exchange, e.symbol, slot, taken, to_us(e.received), e.sequence),
            *([p for p, _ in bids], [s for _, s in bids], [p for p, _ in asks], [s for _, s in asks]),
        )
        batch.add("book_tops", row)
        return True

    def book_slots(self, keys: Iterable[tuple[str, str]] | None = None) -> dict[str, int]:
        """The sampler's state (``"exchange symbol"`` -> last sampled interval start, µs), all or for ``keys``."""
        chosen = self._slots if keys is None else {k: self._slots[k] for k in keys if k in self._slots}
        return {f"{ex} {sym}": slot for (ex, sym), slot in chosen.items()}

    def restore_book_slots(self, state: dict[str, int]) -> None:
        """Continue from a state saved by :meth:`book_slots` (later intervals win)."""
        for name, slot in state.items():
            ex, _, sym = name.partition(" ")
            key = (ex, sym)
            self._slots[key] = max(slot, self._slots.get(key, -1))
