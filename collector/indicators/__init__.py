"""Streaming indicators: candles from trades, TA-Lib indicators in O(1) per bar, VWAP, book metrics, alerts.

Start with :class:`IndicatorEngine`: feed it every pipeline event with
:meth:`~IndicatorEngine.process` and publish the candle, indicator and alert events it
returns. Specs (``RSI(14)``) are read by :func:`parse_indicator`, alert rules
(``RSI(14).real > 70``) by :func:`parse_rule`; the CLI options come from
:func:`add_arguments` and :func:`engine_from_args`.

    engine = IndicatorEngine(candles=["1m"], indicators=["RSI(14)"], alerts=["RSI(14).real > 70"])
    for event in collector.replay("session.jsonl.zst"):
        for derived in engine.process(event):
            ...
"""

from __future__ import annotations

from .alerts import AlertRule, parse_rule
from .book_metrics import BOOK_METRIC_NAMES, book_values
from .cli import add_arguments, engine_from_args
from .engine import AlertCallback, IndicatorEngine
from .intervals import canonical_interval, interval_seconds, parse_intervals
from .spec import BUILTINS, UNSUPPORTED, IndicatorSpec, parse_indicator, split_specs

__all__ = [
    "BOOK_METRIC_NAMES",
    "BUILTINS",
    "UNSUPPORTED",
    "AlertCallback",
    "AlertRule",
    "IndicatorEngine",
    "IndicatorSpec",
    "add_arguments",
    "book_values",
    "canonical_interval",
    "engine_from_args",
    "interval_seconds",
    "parse_indicator",
    "parse_intervals",
    "parse_rule",
    "split_specs",
]
