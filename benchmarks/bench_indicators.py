"""Per-trade cost of candle aggregation plus N indicators on M timeframes.

Run: ``python benchmarks/bench_indicators.py`` (about 15 s). Trades are synthetic, one
every 0.25 s of exchange time (4 trades/s, a busy spot pair), fed through
``IndicatorEngine.process`` with the default forming rate limit (1 s of event time);
every closed bar feeds each indicator through its ``talib.stream`` handle. The floor
is a plain Python loop that only reads each trade's fields, and the candles-only row
is the aggregation with no indicator.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np
import talib.stream

from collector.indicators import IndicatorEngine
from collector.models import Trade

__all__ = ["main"]

N_TRADES = 100_000
INDICATORS = [
    "RSI(14)",
    "MACD(12,26,9)",
    "BBANDS(20,2,2)",
    "ATR(14)",
    "EMA(20)",
    "SMA(50)",
    "STOCH(14,3,0,3,0)",
    "MFI(14)",
    "OBV",
    "ADX(14)",
]
TIMEFRAMES = ["1m", "5m", "15m", "1h", "4h"]


def _trades(n: int) -> list[Trade]:
    rng = random.Random(7)
    price = 30_000.0
    trades = []
    for i in range(n):
        price *= 1 + rng.gauss(0, 0.0002)
        ts = 1_700_000_000.0 + i * 0.25
        trades.append(Trade("binance", "BTC/USDT", ts, ts, round(price, 2), rng.uniform(0.001, 1), "buy", str(i)))
    return trades


def _time(run: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def _floor(trades: list[Trade]) -> Callable[[], object]:
    def run() -> float:
        total = 0.0
        for t in trades:
            total += t.price * t.amount
        return total

    return run


def _engine(trades: list[Trade], n: int, m: int, forming: float | None = 1.0) -> Callable[[], object]:
    def run() -> int:
        engine = IndicatorEngine(candles=TIMEFRAMES[:m], indicators=INDICATORS[:n], forming_interval=forming)
        process = engine.process
        count = 0
        for t in trades:
            count += len(process(t))
        return count

    return run


def _stream_updates() -> tuple[float, float]:
    """ns per talib.stream update and peek of RSI(14), the floor under each indicator per bar."""
    closes = 100 + np.cumsum(np.random.default_rng(1).normal(size=100_015))
    handle = talib.stream.RSI(closes[:15], timeperiod=14)
    values = [float(x) for x in closes[15:]]
    update = handle.update
    start = time.perf_counter()
    for v in values:
        update(v)
    per_update = (time.perf_counter() - start) / len(values)
    peek = handle.peek
    start = time.perf_counter()
    for v in values:
        peek(v)
    per_peek = (time.perf_counter() - start) / len(values)
    return per_update * 1e9, per_peek * 1e9


def main() -> None:
    """Print one row per configuration: ns per trade and trades per second."""
    trades = _trades(N_TRADES)
    rows: list[tuple[str, Callable[[], object]]] = [
        ("floor: plain loop over trades", _floor(trades)),
        ("candles only, 1 timeframe, no forming", _engine(trades, 0, 1, None)),
        ("candles only, 1 timeframe", _engine(trades, 0, 1)),
        ("candles only, 5 timeframes", _engine(trades, 0, 5)),
    ]
    for n, m in ((1, 1), (3, 1), (10, 1), (3, 3), (10, 3), (10, 5)):
        rows.append((f"{n} indicators x {m} timeframes", _engine(trades, n, m)))
    rows.append(("10 indicators x 5 timeframes, no forming", _engine(trades, 10, 5, None)))
    print(f"{N_TRADES} trades, 4 per second of exchange time; forming candles at most 1/s per timeframe")
    print(f"{'configuration':<44}{'ns/trade':>10}{'trades/s':>14}")
    for label, run in rows:
        seconds = _time(run)
        print(f"{label:<44}{seconds / N_TRADES * 1e9:>10.0f}{N_TRADES / seconds:>14,.0f}")
    update_ns, peek_ns = _stream_updates()
    print(f"talib.stream RSI(14): update {update_ns:.0f} ns, peek {peek_ns:.0f} ns (Python loop included)")


if __name__ == "__main__":
    main()
