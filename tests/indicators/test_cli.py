"""CLI options: --candles, --indicators (commas inside parentheses), --alert."""

from __future__ import annotations

import argparse

import pytest

from collector.errors import UsageError
from collector.indicators import add_arguments, engine_from_args


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_no_options_no_engine() -> None:
    """Without indicator options there is no engine."""
    assert engine_from_args(parse()) is None


def test_options_build_the_engine() -> None:
    """Intervals, specs (split outside parentheses), repeatable alerts, forming interval and book depth."""
    engine = engine_from_args(
        parse(
            "--candles", "5m,1m", "--indicators", "RSI(14),MACD(12,26,9),BBANDS(20,2,2)",
            "--alert", "RSI(14).real > 70", "--alert", "close crosses below SMA(20)",
            "--forming-interval", "0.5", "--book-metrics", "10",
        )
    )  # fmt: skip
    assert engine is not None
    assert engine.intervals == ["1m", "5m"]
    assert [s.text for s in engine.indicators] == ["RSI(14)", "MACD(12,26,9)", "BBANDS(20,2,2,0)"]
    assert [r.text for r in engine.rules] == ["RSI(14).real > 70", "close crosses below SMA(20).real"]
    assert (engine.forming_interval, engine.book_metrics_depth) == (0.5, 10)


def test_indicators_without_candles_default_to_one_minute() -> None:
    """--indicators alone builds 1m candles."""
    engine = engine_from_args(parse("--indicators", "OBV"))
    assert engine is not None
    assert engine.intervals == ["1m"]


@pytest.mark.parametrize(
    "argv",
    [("--candles", "1M"), ("--indicators", "RSI(14"), ("--indicators", "FOO"), ("--alert", "RSI(14) >")],
)
def test_bad_options_raise_usage_error(argv: tuple[str, ...]) -> None:
    """Mistakes surface as UsageError for the CLI to print."""
    with pytest.raises(UsageError):
        engine_from_args(parse(*argv))
