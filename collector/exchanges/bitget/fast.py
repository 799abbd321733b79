"""The fast path of Bitget (:mod:`collector.fastpath`): spot tickers without Python parsing.

A spot ticker push starts ``{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"``,
so a router reads the pair's id right after that literal prefix. Its one ticker becomes an
event when the v2 quote and day values are all there and every price is above 0 (``""``
and ``0`` mean "no value", which the Python path turns into ``None``), and while the
pair's ticker is wanted (a plan may ask for its other channels only).

Not routed: books (their checksum is verified over the level texts kept beside each book),
trades and candles (a re-sent snapshot is deduplicated against what was emitted), futures
tickers (merged into derivative tickers).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ... import fastpath
from ...fastpath import RECEIVED, attr, emit, millis, symbol_from
from ...models import Ticker
from .schemas import Push, RoutedSpotTicker

if TYPE_CHECKING:
    from ..base import Adapter

__all__ = ["FastRoutes"]

_spot_ticker = msgspec.json.Decoder(Push[tuple[RoutedSpotTicker]], strict=False)
_PREFIX = '{"action":"snapshot","arg":{"instType":"SPOT","channel":"ticker","instId":"'
_MAX_ROUTES = 20_000


class FastRoutes:
    """The adapter's spot ticker router and its routes (nothing without the C module)."""

    def __init__(self, adapter: Adapter) -> None:
        self._exchange = fastpath.const(adapter.id)
        self._router = adapter.use_router("instId", prefix=_PREFIX)
        self.enabled = not isinstance(self._router, fastpath.NoRouter)
        self._gates: dict[str, dict[str, str]] = {}  # native -> {native: symbol} while its ticker is wanted

    def spot_ticker(self, native: str, symbol: str) -> None:
        """Route the spot pair's ticker pushes from now on (its ticker was parsed and is wanted)."""
        if not self.enabled:
            return
        gate = self._gates.get(native)
        if gate is not None:
            gate[native] = symbol
            return
        if len(self._gates) >= _MAX_ROUTES:
            return
        gate = self._gates[native] = {native: symbol}
        # The pair's own id, read from the payload as the push names it: a payload of another
        # pair is not in this route's map, and takes the Python path.
        unified = symbol_from("instId", gate)
        quote = (attr("bidPr"), attr("bidSz"), attr("askPr"), attr("askSz"))
        day = (attr("lastPr"), attr("open24h"), attr("high24h"), attr("low24h"), attr("baseVolume"))
        ticker = emit(
            Ticker, self._exchange, unified, millis("ts"), RECEIVED, *quote, *day, attr("quoteVolume"), each="data"
        )
        self._router.add(native, _spot_ticker, symbol, ticker)

    def replanned(self) -> None:
        """A new plan: routed tickers wait until the Python path sees they are still wanted."""
        for gate in self._gates.values():
            gate.clear()
