"""Crypto.com Exchange API v1 public market data (spot, perpetuals, futures): the adapter and its simulator."""

from .adapter import CryptocomAdapter

__all__ = ["CryptocomAdapter"]
