"""Binance spot, USDⓈ-M and COIN-M adapters."""

from .adapter import BinanceAdapter
from .futures import BinanceCoinmAdapter, BinanceUsdmAdapter

__all__ = ["BinanceAdapter", "BinanceCoinmAdapter", "BinanceUsdmAdapter"]
