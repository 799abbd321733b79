"""BitMEX realtime market data: perpetuals, futures (inverse, linear, quanto) and spot."""

from .adapter import BitmexAdapter

__all__ = ["BitmexAdapter"]
