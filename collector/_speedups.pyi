"""Types of the optional C module; see collector/_speedups.c and collector.speedups."""

from typing import Any

__all__ = ["apply_delta"]

def apply_delta(
    bid_prices: list[float],
    bid_sizes: list[float],
    bids: Any,
    ask_prices: list[float],
    ask_sizes: list[float],
    asks: Any,
    /,
) -> int: ...
