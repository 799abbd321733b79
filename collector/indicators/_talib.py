"""The TA-Lib entry points this package uses, in one place.

The ``ta-lib`` wheel's bundled stubs leave out the abstract ``Function`` class,
``get_functions`` and ``InsufficientHistory``, so they are reached here as untyped
objects and everything else imports them from this module.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["InsufficientHistory", "abstract", "function_names", "stream"]

_talib: Any = importlib.import_module("talib")
abstract: Any = importlib.import_module("talib.abstract")
stream: Any = importlib.import_module("talib.stream")
InsufficientHistory: type[Exception] = _talib.InsufficientHistory


def function_names() -> list[str]:
    """Every TA-Lib function name, e.g. ``RSI``."""
    names: list[str] = _talib.get_functions()
    return names
