"""The simulated Coinone KRW market: prices in won, the day's statistics and message ids.

Coinone lists KRW markets only. A coin trades about 2.5 % dearer in Korea than abroad
(the "kimchi premium"), so a market is priced at its USD start price times 1400 KRW/USD
times 1.025; dollar stablecoins (``USDT/KRW``) sit at 1400 (:mod:`collector.simulator.krw`).
Prices of 1,000 KRW and more move in whole ticks of a won table; cheaper coins quote decimals.
"""

from __future__ import annotations

import random
from typing import Any

from ...simulator.krw import Decimals, KrwMarket, KrwMarkets
from ...simulator.market import CandleState, Fill, InstrumentSpec, Update

__all__ = ["BOOK_LEVELS", "KRW_MARKETS", "CoinoneMarket"]

BOOK_LEVELS = 16
"""Levels per side of every ``ORDERBOOK`` message (the REST book stops at 16 too)."""

KRW_MARKETS = KrwMarkets(
    premium=1.025,
    # Won tick table, highest band first: (price at or above, tick in KRW). Cheaper coins quote
    # decimals (the price_unit Coinone lists follows the price).
    ticks=((1_000_000, 1000), (500_000, 500), (100_000, 100), (50_000, 50), (10_000, 10), (1_000, 1)),
    decimals=Decimals(at_one=4),
    native=lambda base: f"KRW-{base}",
)
"""Coinone's ``BASE/KRW`` markets (native ``KRW-BASE``): call ``KRW_MARKETS.spec(exchange, symbol, seed)``."""


class CoinoneMarket(KrwMarket):
    """A :class:`~collector.simulator.krw.KrwMarket` that also keeps the buyer-initiated volume
    and message ids. The UTC day and the 24 h window both start with the simulation, at the
    start price. Ids are Coinone's: the millisecond time followed by a 3-digit counter, always
    increasing.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, unit: int) -> None:
        super().__init__(spec, rng, depth=depth, unit=unit)
        self.buy_lots = 0  # volume of buyer-initiated fills (for volume_power)
        self._last_id = 0
        # The last ORDERBOOK message: its levels, id and time (ms).
        self.published: tuple[tuple[list[tuple[int, int]], list[tuple[int, int]]], int, int] | None = None

    def next_id(self, time_ms: int) -> int:
        """A new message id: ``<ms><3-digit counter>``, larger than every id before it."""
        self._last_id = max(self._last_id + 1, time_ms * 1000 + 1)
        return self._last_id

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`KrwMarket.step`) and count the buyer-initiated volume."""
        update = super().step(time_ms)
        self.buy_lots += sum(f.lots for f in update.fills if not f.buyer_maker)
        return update

    # -- message bodies (the ``data`` of each channel) ----------------------------------------------

    def book_data(self) -> dict[str, Any]:
        """``ORDERBOOK`` data of the last published book."""
        assert self.published is not None
        (bids, asks), book_id, time_ms = self.published
        size = self.spec.size
        return {
            "quote_currency": self.spec.quote,
            "target_currency": self.spec.base,
            "timestamp": time_ms,
            "id": str(book_id),
            # As on the wire: asks worst first (descending), bids best first.
            "asks": [{"price": self.price(p), "qty": size(q)} for p, q in reversed(asks)],
            "bids": [{"price": self.price(p), "qty": size(q)} for p, q in bids],
        }

    def trade_data(self, f: Fill) -> dict[str, Any]:
        """``TRADE`` data of one fill (a new id each call)."""
        return {
            "quote_currency": self.spec.quote,
            "target_currency": self.spec.base,
            "id": str(self.next_id(f.time_ms)),
            "timestamp": f.time_ms,
            "price": self.price(f.ticks),
            "qty": self.spec.size(f.lots),
            # "Whether the seller is the maker": true when a buyer took a resting ask.
            "is_seller_maker": not f.buyer_maker,
        }

    def ticker_data(self, time_ms: int) -> dict[str, Any]:
        """``TICKER`` data now: the touch with sizes, the day's prices, the volumes."""
        spec = self.spec
        bid, bid_lots, ask, ask_lots = self.best()
        sold = self.day.lots - self.buy_lots
        # "volume_power: buy/sell strength over 24 h (0 % to 500 %)".
        power = min(500.0, 100.0 * self.buy_lots / sold) if sold else 500.0
        opening = self.price(self.day.open_ticks)
        return {
            "quote_currency": spec.quote,
            "target_currency": spec.base,
            "timestamp": time_ms,
            "quote_volume": f"{self.day.counter_volume:.4f}",
            "target_volume": f"{self.day.lots / 10**spec.size_decimals:.8f}",
            "high": self.price(self.day.high),
            "low": self.price(self.day.low),
            "first": opening,
            "last": self.price(self.last_price),
            "volume_power": f"{power:.0f}",
            "ask_best_price": self.price(ask),
            "ask_best_qty": spec.size(ask_lots),
            "bid_best_price": self.price(bid),
            "bid_best_qty": spec.size(bid_lots),
            "id": str(self.next_id(time_ms)),
            "yesterday_high": opening,
            "yesterday_low": opening,
            "yesterday_first": opening,
            "yesterday_last": opening,
            "yesterday_quote_volume": "0",
            "yesterday_target_volume": "0",
        }

    def bar_data(self, candle: CandleState, time_ms: int) -> dict[str, Any]:
        """``CHART`` data of a forming bar."""
        # Won-tick markets count price ticks in units of their tick: scale the quote volume.
        quote_volume = candle.counter_volume * self.unit if self.unit else candle.counter_volume
        return {
            "quote_currency": self.spec.quote,
            "target_currency": self.spec.base,
            "interval": candle.interval,
            "timestamp": time_ms,
            "id": str(self.next_id(time_ms)),
            "candle_timestamp": candle.start_ms,
            "high": self.price(candle.high),
            "low": self.price(candle.low),
            "first": self.price(candle.open),
            "last": self.price(candle.close),
            "quote_volume": f"{quote_volume:.4f}",
            "target_volume": self.spec.size(candle.lots),
        }
