"""Deribit public market data (futures, perpetuals, options, spot): see :mod:`.adapter`."""

from .adapter import DeribitAdapter

__all__ = ["DeribitAdapter"]
