"""HTX (formerly Huobi) public market data: spot (``htx``) and perpetual swaps (``htx_swap``)."""

from .spot import HtxAdapter
from .swap import HtxSwapAdapter

__all__ = ["HtxAdapter", "HtxSwapAdapter"]
