"""Upbit's public wire format over the neutral market: KRW, BTC and USDT spot markets.

The protocol is :class:`~.simwire.QuotationWire`'s (``shared/exchanges/upbit.md``); Upbit's
own facts are here: every frame is **binary** UTF-8 JSON, dates and times are UTC, trades
carry the best bid/offer at the time of the fill (since 2024-11-27), an ungrouped book
reports ``level`` 0, candles come as ``candle.1m`` ... ``candle.240m`` and KRW prices follow
Upbit's tick table (``1000`` KRW at and above 1,000,000 KRW, ...). KRW markets price coins
:data:`KRW_PREMIUM` above their dollar price times the rate (the "kimchi premium").
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from ...simulator.krw import KRW_PER_USD, KRW_TICKS, TickTable
from ...simulator.market import InstrumentSpec
from .simframes import Style
from .simwire import DEFAULT_DEPTH, QuotationWire

__all__ = ["BOOK_DEPTHS", "DEFAULT_DEPTH", "KRW_PREMIUM", "UpbitWire"]

BOOK_DEPTHS = (1, 5, 15, 30)
"""Order book depths a code may ask for with ``.N``; any other suffix gets the default."""

KRW_PREMIUM = 1.025
"""Coins trade dearer in Korea than abroad; dollar stablecoins do not."""


class UpbitWire(QuotationWire):
    """Upbit's public websocket and quotation REST for the ``upbit`` exchange id."""

    default_ws = "wss://api.upbit.com"
    default_rest = "https://api.upbit.com"
    exchange_id: ClassVar[str] = "upbit"
    style: ClassVar[Style] = Style(trade_bbo=True, string_ids=False, micros_books=False, local_hours=0)
    quotes: ClassVar[dict[str, float]] = {"KRW": KRW_PER_USD, "USDT": 1.0}
    krw_premium: ClassVar[float] = KRW_PREMIUM
    # KRW tick table, highest band first: (price at or above, tick in KRW).
    krw_ticks: ClassVar[TickTable] = KRW_TICKS
    depths: ClassVar[tuple[int, ...]] = BOOK_DEPTHS
    # "candle.1s: 초봉, candle.1m: 1분봉 ... candle.240m: 240분봉". The market model has no 10 min
    # bars, and 1 s bars are left out (a request for them is refused as not simulated).
    candle_units: ClassVar[dict[str, str]] = {
        "1m": "1m",
        "3m": "3m",
        "5m": "5m",
        "15m": "15m",
        "30m": "30m",
        "60m": "1h",
        "240m": "4h",
    }
    binary: ClassVar[bool] = True
    request_format: ClassVar[str] = "SIMPLE"

    def instrument_queries(self, keys: Collection[str]) -> list[dict[str, str]]:
        """``/v1/market/all?is_details=true``, as the adapter asks."""
        return [{"is_details": "true"}]

    def hostile_messages(self, spec: InstrumentSpec, now_ms: int) -> list[tuple[dict[str, Any], str]]:
        """The protocol's hostile messages and candles with impossible values."""
        price = self._price(spec, spec.start_ticks)
        bar: dict[str, Any] = {"type": "candle.1m", "code": spec.native, "candle_date_time_utc": "2026-01-01T00:00:00"}
        bar |= {"opening_price": price, "high_price": price, "low_price": price, "trade_price": price}
        bar |= {"candle_acc_trade_volume": 1.0, "timestamp": now_ms, "stream_type": "REALTIME"}
        return [
            *super().hostile_messages(spec, now_ms),
            (bar | {"low_price": -price}, "candle with a negative price"),
            (bar | {"candle_date_time_utc": "yesterday"}, "candle with a time that is no time"),
        ]
