"""Types of the optional C module; see collector/_speedups.c and collector.speedups."""

from collections.abc import Callable
from typing import Any

__all__ = ["BinanceScanner", "apply_side"]

def apply_side(prices: list[float], sizes: list[float], levels: Any, /) -> None: ...

class BinanceScanner:
    def __init__(
        self,
        exchange: str,
        symbols: dict[str, str],
        channels: dict[str, int],
        trade: type,
        ticker: type,
        candle: type,
        fallback: Callable[[str, str | bytes, float], list[Any]],
        delta: Callable[..., None],
    ) -> None: ...
    def __call__(self, frame: str | bytes, received: float, /) -> Any: ...
    def parse(self, conn: str, frame: str | bytes, received: float, /) -> list[Any]: ...
    def enable_books(
        self,
        states: dict[str, Any],
        state_type: type,
        book_type: type,
        rule: int,
        live: object,
        crossed: Callable[..., None],
        book_event: type,
        unset: object,
        /,
    ) -> None: ...
