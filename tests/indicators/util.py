"""Helpers shared by the indicator tests: synthetic bars and trades, and value comparison."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from collector.models import Trade

__all__ = ["T0", "assert_series_close", "synthetic_ohlcv", "trade"]

T0 = 1_700_000_100.0  # a 5-minute boundary (and not an hour or day one)


def trade(ts: float, price: float, amount: float = 1.0, symbol: str = "BTC/USDT", exchange: str = "binance") -> Trade:
    """A trade at exchange time ``ts`` (received 0.1 s later)."""
    return Trade(exchange, symbol, ts, ts + 0.1, price, amount, "buy", f"{ts}")


def synthetic_ohlcv(n: int, seed: int) -> dict[str, np.ndarray]:
    """``n`` random-walk bars; every 37th is flat with volume 0, like an empty interval."""
    rng = np.random.default_rng(seed)
    close = 100.0 + np.cumsum(rng.normal(0.0, 1.0, n))
    open_ = np.r_[close[0], close[:-1]] + rng.normal(0.0, 0.2, n)
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    volume = rng.random(n) * 10.0 + 0.01
    flat = np.arange(n) % 37 == 36
    open_[flat] = high[flat] = low[flat] = close[flat] = close[np.where(flat)[0] - 1]
    volume[flat] = 0.0
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def assert_series_close(label: str, streamed: Sequence[float | None], batch: np.ndarray, rel: float = 1e-9) -> None:
    """``streamed`` equals ``batch`` bar by bar: ``None`` exactly where batch is NaN, else within ``rel``."""
    assert len(streamed) == len(batch), label
    for i, (got, want) in enumerate(zip(streamed, batch, strict=True)):
        if not math.isfinite(want):
            assert got is None, f"{label}[{i}]: expected None (batch {want}), got {got}"
        else:
            assert got is not None, f"{label}[{i}]: expected {want}, got None"
            assert math.isclose(got, want, rel_tol=rel, abs_tol=0.0), f"{label}[{i}]: {got} != {want}"
