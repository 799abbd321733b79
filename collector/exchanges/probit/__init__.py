"""ProBit spot market data (ProBit Global, and ProBit Korea's KRW markets) over the ``marketdata`` channel."""

from .adapter import ProbitAdapter

__all__ = ["ProbitAdapter"]
