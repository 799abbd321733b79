"""Upbit spot market data (KRW, BTC and USDT markets)."""

from .adapter import UpbitAdapter

__all__ = ["UpbitAdapter"]
