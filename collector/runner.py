"""Run a coroutine as a program, on uvloop when it is installed and allowed.

The library itself never changes the event loop policy; programs (the CLI, examples)
opt in here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run"]

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T], *, use_uvloop: bool = True) -> T:
    """``asyncio.run(main)``, on a uvloop loop when ``use_uvloop`` and uvloop is importable."""
    if use_uvloop:
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)
