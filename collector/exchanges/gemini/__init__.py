"""Gemini market data v2 (spot and perpetuals): books, trades, book-top tickers, candles, funding."""

from .adapter import GeminiAdapter

__all__ = ["GeminiAdapter"]
