"""Kraken Futures public market data (inverse and linear perpetuals and dated futures)."""

from .adapter import KrakenFuturesAdapter

__all__ = ["KrakenFuturesAdapter"]
