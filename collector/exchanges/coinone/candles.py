"""Coinone ``CHART`` bars, and when each one is final.

Coinone sends the forming bar of a subscribed interval whenever it changes and never
marks a bar closed ("최신 차트 데이터가 변경될 경우 해당 데이터를 내려줍니다": the latest
chart data, whenever it changes). A bar is therefore final once a bar with a later start
arrives: its last update held its final values, and it is emitted once more with
``closed=True`` just before the new bar. A bar older than the forming one (a
resubscription repeating history) is skipped.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...models import Candle
from .schemas import ChartData

__all__ = ["INTERVAL_SECONDS", "Bars"]

INTERVAL_SECONDS: dict[str, int] = {
    "1m": 60,
    "3m": 180,
    "5m": 300,
    "15m": 900,
    "30m": 1_800,
    "1h": 3_600,
    "2h": 7_200,
    "4h": 14_400,
    "6h": 21_600,
    "1d": 86_400,
    "1w": 604_800,
}
"""``CHART`` intervals ("분봉: 1m, 3m, 5m, 15m, 30m 시간봉: 1h, 2h, 4h, 6h, 일봉 1d 주봉 1w") in seconds;
Coinone spells them as the unified intervals do."""


class Bars:
    """The forming bar per (symbol, interval); :meth:`take` turns each ``CHART`` update into candles."""

    __slots__ = ("_forming", "exchange")

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._forming: dict[tuple[str, str], Candle] = {}

    def take(self, out: list[Any], symbol: str, d: ChartData, received: float) -> bool:
        """Append the candles ``d`` gives (the previous bar closed first, if ``d`` starts a new one).

        Returns ``False`` when ``d`` is older than the bar being formed (nothing appended).
        The caller checks ``d.interval`` is one of :data:`INTERVAL_SECONDS`.
        """
        interval = d.interval
        start = d.candle_timestamp / 1000.0
        key = (symbol, interval)
        forming = self._forming.get(key)
        if forming is not None:
            if start < forming.start:
                return False
            if start > forming.start:
                out.append(msgspec.structs.replace(forming, received=received, closed=True))
        candle = Candle(
            self.exchange,
            symbol,
            d.timestamp / 1000.0 if d.timestamp is not None else None,
            received,
            interval,
            start,
            start + INTERVAL_SECONDS[interval],
            d.first,
            d.high,
            d.low,
            d.last,
            d.target_volume,
            None,
            False,
        )
        out.append(candle)
        self._forming[key] = candle
        return True
