"""OKX API v5 public market data (spot, swaps, futures): the adapter and its simulator wire format."""

from .adapter import OkxAdapter

__all__ = ["OkxAdapter"]
