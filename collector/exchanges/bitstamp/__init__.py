"""Bitstamp websocket v2 public market data (spot pairs and perpetuals)."""

from .adapter import BitstampAdapter

__all__ = ["BitstampAdapter"]
