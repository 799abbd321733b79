"""Bitfinex websocket v2 public market data (spot pairs and perpetuals)."""

from .adapter import BitfinexAdapter

__all__ = ["BitfinexAdapter"]
