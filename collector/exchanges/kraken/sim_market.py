"""The simulated Kraken spot market pieces both websocket versions share.

:class:`KrakenMarket` keeps the ticker statistics, :class:`View` what a ``book``
subscription at one depth has published (Kraken sends no delete for a level pushed out of
the depth, and sends a level again when it comes back into it), and :func:`kraken_names`
Kraken's three names of a pair.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update

__all__ = ["DEPTHS", "INTERVALS", "KrakenMarket", "View", "digits", "kraken_names", "stamp"]

DEPTHS = (10, 25, 100, 500, 1000)
"""Book depths Kraken offers."""
INTERVALS = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 240: "4h", 1440: "1d"}
"""``ohlc`` intervals in minutes the simulated market aggregates, with their unified names."""

# Unified asset -> (Kraken code, REST asset name) for the assets Kraken spells its own way.
_ASSETS = {
    "BTC": ("XBT", "XXBT"),
    "DOGE": ("XDG", "XXDG"),
    "ETH": ("ETH", "XETH"),
    "LTC": ("LTC", "XLTC"),
    "XRP": ("XRP", "XXRP"),
    "XMR": ("XMR", "XXMR"),
    "ETC": ("ETC", "XETC"),
    "USD": ("USD", "ZUSD"),
    "EUR": ("EUR", "ZEUR"),
    "GBP": ("GBP", "ZGBP"),
    "JPY": ("JPY", "ZJPY"),
    "CAD": ("CAD", "ZCAD"),
}


def kraken_names(base: str, quote: str) -> tuple[str, str, str, str]:
    """``(REST key, altname, wsname, base asset)`` of a pair: ``("XXBTZUSD", "XBTUSD", "XBT/USD", "XXBT")``."""
    base_code, base_asset = _ASSETS.get(base, (base, base))
    quote_code, quote_asset = _ASSETS.get(quote, (quote, quote))
    altname = base_code + quote_code
    # Pairs of two legacy-coded assets keep the four-letter REST names (XXBTZUSD); others use altname.
    key = base_asset + quote_asset if base in _ASSETS and quote in _ASSETS else altname
    return key, altname, f"{base_code}/{quote_code}", base_asset


def stamp(ms: int) -> str:
    """RFC 3339 with microseconds, as v2 prints times."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def digits(text: str) -> str:
    """A decimal's text as the checksum takes it: no point, no leading zeros."""
    return text.replace(".", "").lstrip("0")


class KrakenMarket(SymbolMarket):
    """A market that also keeps the ticker's statistics (since the start of the simulation) and
    its 50 most recent trades (a v2 ``trade`` snapshot: "the most recent 50 trades")."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.open_ticks = self.high = self.low = spec.start_ticks
        self.volume_lots = 0
        self.trades = 0
        self.notional = 0  # sum of ticks * lots, for the volume-weighted average price
        self.recent: deque[Fill] = deque(maxlen=50)

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        update = super().step(time_ms)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.trades += 1
            self.notional += f.ticks * f.lots
        self.recent.extend(update.fills)
        return update


@dataclass(slots=True)
class View:
    """What ``book`` at ``depth`` has published for one market: its best ``depth`` levels."""

    depth: int
    bids: dict[int, int]
    asks: dict[int, int]
    market_id: int = -1

    def advance(self, market: SymbolMarket) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The changes since the last call, best first (none when the market did not change)."""
        if self.market_id == market.last_id:
            return [], []
        new_bids, new_asks = market.levels(self.depth)
        bids = _changes(self.bids, new_bids, market.bids, descending=True)
        asks = _changes(self.asks, new_asks, market.asks, descending=False)
        self.bids = dict(new_bids)
        self.asks = dict(new_asks)
        self.market_id = market.last_id
        return bids, asks

    def top(self, n: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The best ``n`` asks (ascending) and bids (descending), as the checksum takes them."""
        return sorted(self.asks.items())[:n], sorted(self.bids.items(), reverse=True)[:n]


def _changes(
    old: dict[int, int], new: list[tuple[int, int]], book: dict[int, int], *, descending: bool
) -> list[tuple[int, int]]:
    changed = [(p, q) for p, q in new if old.get(p) != q]
    kept = {p for p, _ in new}
    # A level that left the window is deleted only if it left the book: "you will not
    # receive qty 0 for levels that fall out of scope".
    changed += [(p, 0) for p in old if p not in kept and p not in book]
    changed.sort(reverse=descending)
    return changed
