"""Types of the optional C module; see collector/_speedups.c and collector.speedups."""

from array import array
from collections.abc import Callable
from typing import Any

__all__ = ["Router", "apply_delta", "level_crc", "load_side", "parse_iso"]

def load_side(levels: Any, /) -> tuple[array[float], array[float]] | None: ...
def parse_iso(text: Any, /) -> float | None: ...
def apply_delta(
    bid_prices: array[float],
    bid_sizes: array[float],
    bids: Any,
    ask_prices: array[float],
    ask_sizes: array[float],
    asks: Any,
    /,
) -> int: ...
def level_crc(
    bid_prices: array[float],
    bid_sizes: array[float],
    ask_prices: array[float],
    ask_sizes: array[float],
    depth: int,
    bid_texts: dict[Any, Any] | None,
    ask_texts: dict[Any, Any] | None,
    flags: int,
    separator: str,
    price_decimals: int = ...,
    size_decimals: int = ...,
    /,
) -> int | None: ...

class Router:
    def __init__(
        self,
        key: str,
        data_at: dict[str, float],
        fallback: Callable[[str, str | bytes, float], list[Any]],
        on_error: Callable[[str, str | bytes, float, BaseException], list[Any]],
        *,
        per_conn: bool = False,
        within: int = 0,
        prefix: str | None = None,
    ) -> None: ...
    def add(self, value: str, decoder: Any, symbol: str | None, *steps: Any, conn: str | None = None) -> None: ...
    def __call__(self, conn: str, frame: str | bytes, received: float, /) -> list[Any]: ...
    def __len__(self) -> int: ...
