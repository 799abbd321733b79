"""Exchange adapters and the registry that finds them by id.

Each adapter is pure (see :mod:`collector.exchanges.base`) and lives in its own package,
``collector/exchanges/<package>/``, with everything that knows that exchange: wire
schemas, the adapter, its simulator wire format and its demo defaults. This module is
the only place that lists them: one line per exchange id in :data:`REGISTRY`. Packages
are imported the first time their id is looked up, so listing ids costs nothing.

Use :func:`create` to build an adapter by its id, e.g. ``create("binance_usdm")``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ..errors import UnknownExchange
from .base import CHANNELS, Adapter, Channel, ConnectionPlan, Endpoints, Output, Poll, RestPolicy, Subscription

__all__ = [
    "CHANNELS",
    "EXCHANGES",
    "REGISTRY",
    "Adapter",
    "Channel",
    "ConnectionPlan",
    "Endpoints",
    "Output",
    "Poll",
    "RestPolicy",
    "Subscription",
    "create",
]

REGISTRY: dict[str, str] = {
    "binance": "binance:BinanceAdapter",
    "binance_usdm": "binance:BinanceUsdmAdapter",
    "binance_coinm": "binance:BinanceCoinmAdapter",
    "bitfinex": "bitfinex:BitfinexAdapter",
    "bitget": "bitget:BitgetAdapter",
    "bithumb": "bithumb:BithumbAdapter",
    "bitmex": "bitmex:BitmexAdapter",
    "bitstamp": "bitstamp:BitstampAdapter",
    "bybit": "bybit:BybitAdapter",
    "coinbase": "coinbase:CoinbaseAdapter",
    "coinone": "coinone:CoinoneAdapter",
    "cryptocom": "cryptocom:CryptocomAdapter",
    "deribit": "deribit:DeribitAdapter",
    "gateio": "gateio:GateioAdapter",
    "gateio_futures": "gateio:GateioFuturesAdapter",
    "gemini": "gemini:GeminiAdapter",
    "gopax": "gopax:GopaxAdapter",
    "htx": "htx:HtxAdapter",
    "htx_swap": "htx:HtxSwapAdapter",
    "korbit": "korbit:KorbitAdapter",
    "kraken": "kraken:KrakenAdapter",
    "kraken_futures": "kraken_futures:KrakenFuturesAdapter",
    "kucoin": "kucoin:KucoinAdapter",
    "kucoin_futures": "kucoin:KucoinFuturesAdapter",
    "okx": "okx:OkxAdapter",
    "probit": "probit:ProbitAdapter",
    "upbit": "upbit:UpbitAdapter",
}
"""Exchange id -> ``"<package>:<adapter class>"`` below ``collector.exchanges``."""


class _Registry(Mapping[str, type[Adapter]]):
    """Adapter classes by exchange id, imported on first use."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._entries = entries
        self._loaded: dict[str, type[Adapter]] = {}

    def __getitem__(self, exchange: str) -> type[Adapter]:
        cls = self._loaded.get(exchange)
        if cls is None:
            package, _, name = self._entries[exchange].partition(":")
            module = importlib.import_module(f"{__name__}.{package}")
            cls = self._loaded[exchange] = getattr(module, name)
        return cls

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, exchange: object) -> bool:
        return exchange in self._entries


EXCHANGES: Mapping[str, type[Adapter]] = _Registry(REGISTRY)
"""Adapter classes by exchange id (``EXCHANGES["bybit"]``); iterating lists the ids."""


def create(exchange: str, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> Adapter:
    """Build the adapter for ``exchange``; raises :class:`~collector.errors.UnknownExchange`."""
    if exchange not in EXCHANGES:
        raise UnknownExchange(f"no exchange {exchange!r}; known: {', '.join(sorted(EXCHANGES))}")
    return EXCHANGES[exchange](endpoints=endpoints, book_top=book_top)
