"""Kraken spot public market data (websocket v2, and v1 for recordings made with it)."""

from .adapter import KrakenAdapter

__all__ = ["KrakenAdapter"]
