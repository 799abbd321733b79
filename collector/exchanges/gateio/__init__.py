"""Gate (Gate.io) API v4: spot (``gateio``) and perpetual futures (``gateio_futures``) adapters."""

from .adapter import GateioAdapter
from .futures_adapter import GateioFuturesAdapter

__all__ = ["GateioAdapter", "GateioFuturesAdapter"]
