"""Exchange adapters and the registry that finds them by id.

Each adapter is pure (see :mod:`collector.exchanges.base`). Use :func:`create` to build
one by its exchange id, e.g. ``create("binance_usdm")``.
"""

from __future__ import annotations

from .base import CHANNELS, Adapter, Channel, ConnectionPlan, Endpoints, Output, Subscription
from .binance import BinanceAdapter, BinanceCoinmAdapter, BinanceUsdmAdapter
from .bybit import BybitAdapter
from .upbit import UpbitAdapter

__all__ = [
    "CHANNELS",
    "EXCHANGES",
    "Adapter",
    "Channel",
    "ConnectionPlan",
    "Endpoints",
    "Output",
    "Subscription",
    "create",
]

EXCHANGES: dict[str, type[Adapter]] = {
    cls.id: cls for cls in (BinanceAdapter, BinanceUsdmAdapter, BinanceCoinmAdapter, BybitAdapter, UpbitAdapter)
}
"""Adapter classes by exchange id."""


def create(exchange: str, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> Adapter:
    """Build the adapter for ``exchange``; raises :class:`~collector.errors.UnknownExchange`."""
    from ..errors import UnknownExchange

    try:
        cls = EXCHANGES[exchange]
    except KeyError:
        raise UnknownExchange(f"no exchange {exchange!r}; known: {', '.join(sorted(EXCHANGES))}") from None
    return cls(endpoints=endpoints, book_top=book_top)
