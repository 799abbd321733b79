"""Bitget public market data (v2 spot and futures; v1 recordings replay too)."""

from .adapter import BitgetAdapter

__all__ = ["BitgetAdapter"]
