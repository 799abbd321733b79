"""Candles from ``candle.<unit>`` messages: the forming bar, closed once the next one starts.

"캔들은 해당 시간대에 체결이 발생하여 직전 캔들 대비 캔들 데이터가 변경될 때에만 생성됩니다":
a bar is sent (at most once a second) only while trades change it, the same bar may come
several times, and "가장 마지막으로 수신한 데이터가 최신 데이터" (the last one received is the
latest). No message says a bar is final, so a bar is reported closed when a later one starts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ...models import Candle

__all__ = ["SECONDS", "Bars"]

SECONDS = {"1s": 1, "1m": 60, "3m": 180, "5m": 300, "10m": 600, "15m": 900, "30m": 1800, "1h": 3600, "4h": 14400}
"""Seconds per unified candle interval the protocol streams."""


def _start(when: datetime) -> float:
    """A bar's start in epoch seconds: ``candle_date_time_utc`` carries no zone and is UTC."""
    return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


class Bars:
    """The bar held per (symbol, interval) and the connection it came on.

    Call :meth:`update` with every decoded candle message; it appends the candle events and
    returns ``False`` for a bar older than the one held (the caller counts it).
    Call :meth:`forget` when a connection drops: its bars missed updates.
    """

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._held: dict[tuple[str, str], tuple[str, float, Any]] = {}  # (symbol, interval) -> (conn, start, bar)

    def update(self, out: list[Any], conn: str, symbol: str, interval: str, bar: Any, received: float) -> bool:
        """Take one ``candle.<unit>`` message (a decoded :class:`~.schemas.Candle`) of ``symbol``."""
        start = _start(bar.candle_date_time_utc)
        key = (symbol, interval)
        held = self._held.get(key)
        if held is not None:
            _, held_start, last = held
            if start < held_start:
                return False
            if start > held_start:
                out.append(self._candle(symbol, interval, held_start, last, True, received))
        self._held[key] = (conn, start, bar)
        out.append(self._candle(symbol, interval, start, bar, False, received))
        return True

    def forget(self, conn: str) -> None:
        """Drop the bars ``conn`` carried."""
        for key in [key for key, (owner, _, _) in self._held.items() if owner == conn]:
            del self._held[key]

    def _candle(self, symbol: str, interval: str, start: float, c: Any, closed: bool, received: float) -> Candle:
        return Candle(
            self.exchange,
            symbol,
            c.timestamp / 1000.0 if c.timestamp is not None else None,
            received,
            interval,
            start,
            start + SECONDS[interval],
            c.opening_price,
            c.high_price,
            c.low_price,
            c.trade_price,
            c.candle_acc_trade_volume,  # base units
            None,  # the bar carries no trade count
            closed,
        )
