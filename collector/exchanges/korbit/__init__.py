"""Korbit spot market data (KRW markets, API v2)."""

from .adapter import KorbitAdapter

__all__ = ["KorbitAdapter"]
