"""KuCoin: spot (``kucoin``) and futures (``kucoin_futures``) public market data."""

from .adapter import KucoinAdapter
from .futures import KucoinFuturesAdapter

__all__ = ["KucoinAdapter", "KucoinFuturesAdapter"]
