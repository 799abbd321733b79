"""Indicator specs and intervals: parsing, canonical forms, and clear UsageErrors."""

from __future__ import annotations

import pytest

from collector.errors import UsageError
from collector.indicators import canonical_interval, parse_indicator, parse_intervals, split_specs


def test_specs_fill_defaults_in_talib_order() -> None:
    """Parameters are TA-Lib's, in its order; missing ones take TA-Lib's defaults."""
    assert parse_indicator("RSI").key == parse_indicator("rsi(14)").key == ("RSI", (14,))
    macd = parse_indicator("MACD(12,26,9)")
    assert (macd.params, macd.inputs, macd.outputs) == ((12, 26, 9), ("close",), ("macd", "macdsignal", "macdhist"))
    bb = parse_indicator("BBANDS(20,2,2)")
    assert (bb.params, bb.text, bb.outputs) == (
        (20, 2.0, 2.0, 0),
        "BBANDS(20,2,2,0)",
        ("upperband", "middleband", "lowerband"),
    )
    stoch = parse_indicator("STOCH(14,3,0,3,0)")
    assert (stoch.inputs, stoch.outputs) == (("high", "low", "close"), ("slowk", "slowd"))
    assert parse_indicator("MFI(14)").inputs == ("high", "low", "close", "volume")
    assert parse_indicator("OBV").params == ()
    assert parse_indicator("T3(5, 0.7)").text == "T3(5,0.7)"
    assert parse_indicator("SVWAP").params == (24,)
    assert parse_indicator("RVWAP(50)").key == ("RVWAP", (50,))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RSX(14)", "unknown indicator 'RSX'.*did you mean RSI"),
        ("RSI(14,3)", "RSI takes at most 1 parameters"),
        ("RSI(x)", "parameter 'x' is not a number"),
        ("RSI(14.5)", "timeperiod must be a whole number"),
        ("RSI(1)", "TA-Lib rejects these parameters"),
        ("MAVP", "MAVP is not offered"),
        ("RSI(14", "bad indicator"),
        ("14", "bad indicator"),
        ("SVWAP(0)", "hours must be positive"),
    ],
)
def test_bad_specs_raise_usage_error(text: str, message: str) -> None:
    """Each mistake gets a UsageError that names it."""
    with pytest.raises(UsageError, match=message):
        parse_indicator(text)


def test_split_specs_respects_parentheses() -> None:
    """Commas inside parentheses belong to the spec."""
    assert split_specs("RSI(14),MACD(12,26,9), OBV ,BBANDS(20,2,2)") == [
        "RSI(14)",
        "MACD(12,26,9)",
        "OBV",
        "BBANDS(20,2,2)",
    ]
    with pytest.raises(UsageError, match="unclosed"):
        split_specs("RSI(14,MACD")
    with pytest.raises(UsageError, match="unbalanced"):
        split_specs("RSI)14(")


def test_intervals() -> None:
    """N s|m|h|d, canonicalised to the largest whole unit; months and weeks rejected."""
    assert [canonical_interval(t) for t in ("1s", "60s", "90s", "15m", "240m", "24h", "1d")] == [
        "1s", "1m", "90s", "15m", "4h", "1d", "1d",
    ]  # fmt: skip
    assert parse_intervals("5m,1m,1m,1h") == ["1m", "5m", "1h"]
    for bad in ("1M", "1w", "0m", "m", "5x", ""):
        with pytest.raises(UsageError):
            parse_intervals(bad) if bad == "" else canonical_interval(bad)
