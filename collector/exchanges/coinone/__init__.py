"""Coinone spot market data (KRW markets)."""

from .adapter import CoinoneAdapter

__all__ = ["CoinoneAdapter"]
