"""Alert rules: parsing, edge-triggering, re-arming, crosses, callbacks."""

from __future__ import annotations

import pytest

from collector.errors import UsageError
from collector.indicators import IndicatorEngine, parse_rule
from collector.models import Alert, Event
from tests.indicators.util import T0, trade


def closes(engine: IndicatorEngine, prices: list[float], symbol: str = "BTC/USDT") -> list[Alert]:
    """One trade per minute at each price, plus one more so the last minute closes; the alerts."""
    out: list[Event] = []
    for i, price in enumerate([*prices, prices[-1]]):
        out += engine.process(trade(T0 + 60 * i, price, symbol=symbol))
    return [e for e in out if isinstance(e, Alert)]


def test_threshold_fires_once_per_false_to_true_and_rearms() -> None:
    """close > 100 over closes 99, 101, 102, 98, 103: fires at 101 and again at 103 only."""
    engine = IndicatorEngine(candles=["1m"], alerts=["close > 100"], forming_interval=None)
    alerts = closes(engine, [99, 101, 102, 98, 103])
    assert alerts == [
        Alert("binance", "BTC/USDT", T0 + 120, T0 + 120.1, "close > 100", "1m", {"close": 101.0}, T0 + 60),
        Alert("binance", "BTC/USDT", T0 + 300, T0 + 300.1, "close > 100", "1m", {"close": 103.0}, T0 + 240),
    ]
    assert engine.stats["alerts"] == 2


def test_threshold_true_on_first_bar_fires() -> None:
    """A threshold that is already true when values first exist fires then."""
    engine = IndicatorEngine(candles=["1m"], alerts=["close >= 100"], forming_interval=None)
    assert [a.start for a in closes(engine, [100, 101])] == [T0]


def test_crosses_above_needs_a_bar_at_or_below_first() -> None:
    """close crosses above 100: not on the first bar, then at each move from <= 100 to > 100."""
    engine = IndicatorEngine(candles=["1m"], alerts=["close crosses above 100"], forming_interval=None)
    alerts = closes(engine, [101, 99, 101, 102, 100, 101])
    assert [a.start - T0 for a in alerts] == [120, 300]
    assert alerts[0].values == {"close": 101.0}


def test_crosses_below() -> None:
    """close crosses below 100 fires on moves from >= 100 to < 100."""
    engine = IndicatorEngine(candles=["1m"], alerts=["close crosses below 100"], forming_interval=None)
    assert [a.start - T0 for a in closes(engine, [101, 99, 98, 100, 99.5])] == [60, 240]


def test_indicator_cross_and_threshold_on_indicator_values() -> None:
    """SMA(2) crosses above SMA(4) and RSI(3).real > 70 use the closed indicator values; warm-up never fires."""
    engine = IndicatorEngine(
        candles=["1m"], alerts=["SMA(2) crosses above SMA(4)", "RSI(3).real > 70"], forming_interval=None
    )
    prices = [10, 9, 8, 7, 6, 7, 9, 11, 12, 13]
    alerts = closes(engine, [float(p) for p in prices])
    cross = [a for a in alerts if a.rule == "SMA(2).real crosses above SMA(4).real"]
    rsi = [a for a in alerts if a.rule == "RSI(3).real > 70"]
    # SMA2 - SMA4 from bar 3: -1, -1, -0.5, +0.75: a cross on bar 6. RSI(3) from bar 3: 0, 0, 33.3, 66.7, 81.0.
    assert [a.start - T0 for a in cross] == [6 * 60]
    assert cross[0].values == {"SMA(2).real": 8.0, "SMA(4).real": 7.25}
    assert [a.start - T0 for a in rsi] == [7 * 60]
    assert rsi[0].values["RSI(3).real"] == pytest.approx(80.95238095238095, rel=1e-12)


def test_state_is_per_symbol() -> None:
    """One symbol's firing does not disarm the same rule on another symbol."""
    engine = IndicatorEngine(candles=["1m"], alerts=["close > 100"], forming_interval=None)
    a = closes(engine, [99, 101], "BTC/USDT")
    b = closes(engine, [99, 101], "ETH/USDT")
    assert [x.symbol for x in a + b] == ["BTC/USDT", "ETH/USDT"]


def test_interval_prefix_limits_the_rule() -> None:
    """'5m: close > 100' runs on 5m bars only."""
    engine = IndicatorEngine(candles=["1m", "5m"], alerts=["5m: close > 100"], forming_interval=None)
    alerts = closes(engine, [101.0] * 11)
    assert [(a.interval, a.start) for a in alerts] == [("5m", T0)]


def test_callbacks_get_alerts_and_a_failing_one_is_counted() -> None:
    """on_alert callbacks run for each alert; an exception in one is counted and does not stop the others."""
    engine = IndicatorEngine(candles=["1m"], alerts=["close > 100"], forming_interval=None)
    seen: list[str] = []

    def broken(alert: Alert) -> None:
        raise RuntimeError("bot bug")

    engine.on_alert(broken)
    engine.on_alert(lambda alert: seen.append(alert.rule))
    closes(engine, [99, 101, 99, 101])
    assert seen == ["close > 100", "close > 100"]
    assert engine.stats["alert_callback_errors"] == 2


def test_parse_rule_canonical_forms() -> None:
    """Rules parse to a canonical text with full indicator parameters and explicit outputs."""
    assert parse_rule("RSI(14).real>70").text == "RSI(14).real > 70"
    assert parse_rule("rsi > 70").text == "RSI(14).real > 70"
    assert parse_rule("  MACD(12,26,9).macd  CROSSES  ABOVE  MACD(12,26,9).macdsignal").text == (
        "MACD(12,26,9).macd crosses above MACD(12,26,9).macdsignal"
    )
    assert parse_rule("5m: BBANDS(20,2,2).upperband < close").text == "5m: BBANDS(20,2,2,0).upperband < close"
    assert parse_rule("60s: close > 5e4").text == "1m: close > 50000"
    assert parse_rule("STOCH(14,3,0,3,0).slowk crosses below 20").op == "crosses below"


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("RSI(14).real", "no comparison"),
        ("RSI(14).real > 70 > 80", "one comparison per rule"),
        ("1 > 2", "compares two constants"),
        ("MACD(12,26,9) > 0", "name one, e.g. .macd"),
        ("MACD(12,26,9).signal > 0", "has no output 'signal'"),
        ("RSX(14) > 70", "did you mean RSI"),
        ("> 70", "operand is missing"),
        ("7x: close > 1", "bad candle interval '7x'"),
        ("price > 1", "unknown indicator 'PRICE'"),
    ],
)
def test_parse_rule_errors_say_what_is_wrong(rule: str, message: str) -> None:
    """Bad rules raise UsageError with a message naming the problem."""
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(".", r"\.")):
        parse_rule(rule)
