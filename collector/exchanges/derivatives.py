"""Derivative tickers assembled from partial updates, emitted only when something changed.

Exchanges publish mark price, index price, funding and open interest on one channel
(Bybit ``tickers``, Deribit ``ticker``) or spread over several (OKX ``mark-price``,
``funding-rate``, ``open-interest``; Binance ``markPrice`` plus a polled open interest).
:class:`DerivativeTickers` keeps the latest value of every field per symbol, merges
whatever an update carries, and returns a :class:`~collector.models.DerivativeTicker`
only when a field changed — one event per change, never one per frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from msgspec.structs import astuple

from ..models import DerivativeTicker
from ..validate import invalid

__all__ = ["FIELDS", "DerivativeTickers"]

FIELDS = (
    "mark_price",
    "index_price",
    "funding_rate",
    "next_funding_time",
    "predicted_funding_rate",
    "open_interest",
    "open_interest_value",
    "last_price",
)
"""The merged fields of a derivative ticker, in the event's order."""
_FIRST = DerivativeTicker.__struct_fields__.index(FIELDS[0])
_COUNT = len(FIELDS)
_INDEX = {name: i for i, name in enumerate(FIELDS)}


class DerivativeTickers:
    """The latest derivative ticker per symbol of one exchange (see the module docstring)."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._last: dict[str, DerivativeTicker] = {}

    def update(
        self, symbol: str, timestamp: float | None, received: float, **fields: float | None
    ) -> DerivativeTicker | None:
        """Merge ``fields`` (``None`` means "not in this update") into ``symbol``'s ticker.

        Returns the new ticker when any field changed, else ``None``. Unknown field names
        raise ``TypeError`` (a bug in the adapter, not in the frame).
        """
        values: list[float | None] = [None] * _COUNT
        for name, value in fields.items():
            i = _INDEX.get(name)
            if i is None:
                raise TypeError(f"derivative ticker has no field {name!r}")
            values[i] = value
        return self.merge(symbol, timestamp, received, values)

    def merge(
        self, symbol: str, timestamp: float | None, received: float, values: Sequence[float | None]
    ) -> DerivativeTicker | None:
        """:meth:`update` with every field given by position, in :data:`FIELDS` order (``None``
        means "not in this update"): for adapters that hold all of them at once."""
        # Runs for every derivative frame of every symbol: the merge works on the previous
        # event's values as one tuple, by position, not a dict of names.
        previous = self._last.get(symbol)
        if previous is None:
            merged = list(values)
            if merged.count(None) == _COUNT:
                return None
        else:
            old = astuple(previous)[_FIRST:]
            merged = list(values)
            if None in merged:
                for i, value in enumerate(values):
                    if value is None:
                        merged[i] = old[i]
            if merged == list(old):
                return None
        event = DerivativeTicker(self.exchange, symbol, timestamp, received, *merged)
        if invalid(event) is None:
            # An impossible value is reported by the adapter boundary and never becomes the
            # state later updates merge into.
            self._last[symbol] = event
        return event

    def latest(self, symbol: str) -> DerivativeTicker | None:
        """The last ticker emitted for ``symbol``."""
        return self._last.get(symbol)

    def forget(self, symbol: str) -> None:
        """Drop ``symbol``'s state (its stream restarts with a fresh snapshot)."""
        self._last.pop(symbol, None)
