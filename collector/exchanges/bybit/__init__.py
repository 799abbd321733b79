"""Bybit v5 public market data (spot, linear, inverse)."""

from .adapter import BybitAdapter

__all__ = ["BybitAdapter"]
