"""Logging: structlog's bound context, delivered through the standard ``logging`` module.

Every collector logger is named ``collector...`` and renders its event and bound context
(exchange, connection, symbol, ...) as ``key=value`` text, then hands the line to
``logging``. An embedding program therefore decides where logs go and at which level
with its usual ``logging`` configuration; without one, Python prints warnings and errors
to stderr and drops the rest — nothing ever lands on the program's stdout. The
``collector`` command configures ``logging`` itself (``--log-level``).
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

__all__ = ["get_logger"]

_PROCESSORS: list[Any] = [
    structlog.processors.format_exc_info,
    structlog.processors.KeyValueRenderer(key_order=["event"], drop_missing=True),
]


def get_logger(name: str, **context: Any) -> Any:
    """A structlog logger writing to ``logging.getLogger(name)``, with ``context`` bound."""
    logger = structlog.wrap_logger(
        logging.getLogger(name), processors=_PROCESSORS, wrapper_class=structlog.stdlib.BoundLogger
    )
    return logger.bind(**context) if context else logger
