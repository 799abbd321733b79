"""Coinbase Advanced Trade public market data (spot and Coinbase Derivatives futures)."""

from .adapter import CoinbaseAdapter

__all__ = ["CoinbaseAdapter"]
