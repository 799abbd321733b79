"""Bithumb spot market data (KRW and BTC markets) on its current public socket."""

from .adapter import BithumbAdapter

__all__ = ["BithumbAdapter"]
