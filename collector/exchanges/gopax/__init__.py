"""GOPAX spot market data (KRW and USDC pairs) over GOPAX's Primus websocket."""

from .adapter import GopaxAdapter

__all__ = ["GopaxAdapter"]
