"""Command-line options for indicators, shared by ``collector run``, ``replay`` and ``demo``.

Call :func:`add_arguments` on the subcommand's parser, then :func:`engine_from_args` on
the parsed namespace; feed every event through the engine it returns (``None`` when no
indicator option was given).
"""

from __future__ import annotations

import argparse

from .alerts import parse_rule
from .engine import IndicatorEngine
from .intervals import parse_intervals
from .spec import parse_indicator, split_specs

__all__ = ["DEFAULT_INTERVAL", "add_arguments", "engine_from_args"]

DEFAULT_INTERVAL = "1m"
"""The candle interval used when indicators or alerts are asked for without ``--candles``."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--candles``, ``--indicators``, ``--alert``, ``--forming-interval`` and ``--book-metrics``."""
    group = parser.add_argument_group("indicators")
    group.add_argument(
        "--candles",
        metavar="INTERVALS",
        help="build candles from trades at these intervals, e.g. 1m,5m (N followed by s, m, h or d)",
    )
    group.add_argument(
        "--indicators",
        metavar="SPECS",
        help="TA-Lib functions with TA-Lib's parameter order, e.g. 'RSI(14),MACD(12,26,9),BBANDS(20,2,2)'; "
        f"also SVWAP(hours) and RVWAP(bars); candles default to {DEFAULT_INTERVAL}",
    )
    group.add_argument(
        "--alert",
        metavar="RULE",
        action="append",
        default=[],
        help="alert rule, repeatable, e.g. 'RSI(14).real > 70', "
        "'MACD(12,26,9).macd crosses above MACD(12,26,9).macdsignal' or 'funding_rate > 0.0005'",
    )
    group.add_argument(
        "--forming-interval",
        metavar="SECONDS",
        type=float,
        default=1.0,
        help="publish a forming candle at most this often per interval (event time; default 1.0, 0 = every trade)",
    )
    group.add_argument(
        "--book-metrics",
        metavar="DEPTH",
        type=int,
        default=None,
        help="publish spread, mid, microprice and imbalance over the best DEPTH levels (needs the book channel)",
    )


def engine_from_args(args: argparse.Namespace) -> IndicatorEngine | None:
    """The engine the options ask for, or ``None`` if none was given; raises ``UsageError`` on a bad spec."""
    candles_text: str | None = getattr(args, "candles", None)
    indicators_text: str | None = getattr(args, "indicators", None)
    rules: list[str] = getattr(args, "alert", None) or []
    depth: int | None = getattr(args, "book_metrics", None)
    if not (candles_text or indicators_text or rules or depth):
        return None
    intervals = parse_intervals(candles_text) if candles_text else []
    specs = [parse_indicator(s) for s in split_specs(indicators_text)] if indicators_text else []
    parsed_rules = [parse_rule(r) for r in rules]
    # Event-field rules (funding_rate > x, premium > x) need no candles.
    if not intervals and (specs or any(r.event is None for r in parsed_rules)):
        intervals = [DEFAULT_INTERVAL]
    return IndicatorEngine(
        candles=intervals,
        indicators=specs,
        alerts=parsed_rules,
        forming_interval=getattr(args, "forming_interval", 1.0),
        book_metrics_depth=depth,
    )
