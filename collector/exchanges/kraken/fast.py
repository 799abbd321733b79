"""The fast path of Kraken websocket v2 (:mod:`collector.fastpath`): tickers without Python parsing.

v2 frames start with their channel (``{"channel":"ticker",...``) and name each payload's
symbol, so one route serves every pair of a connection. It is declared per connection,
once the Python path has read a ticker there as v2 (a v1 connection never gets one), and
takes tickers whose both sides of the book and last price are there (a 0 is "no value",
which the Python path turns into ``None``).

Not routed: ``book`` (its one object sits in a list, and a route can call the book
synchroniser only on the message itself), ``trade`` (every trade moves the newest trade id
a resubscription's snapshot is deduplicated against, which a route could only keep with a
call per trade) and ``ohlc`` (whether a bar is closed compares its end with the message time);
nothing of v1, whose data frames are JSON arrays, which no router reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from ... import fastpath
from ...fastpath import RECEIVED, attr, const, emit, iso_seconds, symbol_from
from ...models import Ticker
from .schemas import V2Push, V2RoutedTicker

if TYPE_CHECKING:
    from .adapter import KrakenAdapter

__all__ = ["FastRoutes"]

_ticker = msgspec.json.Decoder(V2Push[list[V2RoutedTicker]], strict=False)
_MAX_ROUTES = 4096  # connections with a ticker route


class FastRoutes:
    """The adapter's v2 router and the routes declared on it (nothing without the C module)."""

    def __init__(self, adapter: KrakenAdapter, names: dict[str, str]) -> None:
        self._exchange = const(adapter.id)
        self._router = adapter.use_router("channel", per_conn=True)
        self.enabled = not isinstance(self._router, fastpath.NoRouter)
        self._all = names  # v2 name -> unified symbol, as the listing fills it
        self._names: dict[str, dict[str, str]] = {}  # conn -> the names its routes know (none on v1)

    def v1(self, conn: str) -> None:
        """``conn`` speaks v1 (a connect record may reuse a connection id): its routes take nothing."""
        names = self._names.get(conn)
        if names is not None:
            names.clear()

    def tickers(self, conn: str) -> None:
        """The Python path read a ``ticker`` frame of ``conn`` as v2: route the next ones."""
        if not self.enabled:
            return
        names = self._names.get(conn)
        if names is None:
            if len(self._names) >= _MAX_ROUTES:
                return
            names = self._names[conn] = {}
            # Either quote is "no value" at 0, which only the Python path maps to None.
            quote = (attr("bid"), attr("bid_qty"), attr("ask"), attr("ask_qty"), attr("last"), const(None))
            stats = (attr("high"), attr("low"), attr("volume"))
            symbol = symbol_from("symbol", names)
            step = emit(Ticker, self._exchange, symbol, iso_seconds("timestamp"), RECEIVED, *quote, *stats, each="data")
            self._router.add("ticker", _ticker, None, step, conn=conn)
        if len(names) != len(self._all):
            names.update(self._all)  # pairs listed since
