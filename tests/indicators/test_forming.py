"""Live values on the forming bar: equal to what the bar's close then gives."""

from __future__ import annotations

from collector.indicators import IndicatorEngine
from collector.models import Event, Indicator
from tests.indicators.util import T0, trade

SPECS = ["RSI(14)", "MACD(12,26,9)", "BBANDS(20,2,2)", "ATR(14)", "STOCH(14,3,0,3,0)", "SVWAP", "RVWAP(10)"]


def test_last_forming_values_equal_closed_values() -> None:
    """Every trade published: each bar's last forming values equal its closed values, warm-up included."""
    engine = IndicatorEngine(candles=["1m"], indicators=SPECS, forming_interval=0.0)
    out: list[Event] = []
    for i in range(3000):
        out += engine.process(trade(T0 + i * 17.0, 100.0 + ((i * 7919) % 101) / 10.0, 1.0 + (i % 5)))
    last_forming: dict[tuple[str, float], dict[str, float | None]] = {}
    closed: dict[tuple[str, float], dict[str, float | None]] = {}
    for e in out:
        if isinstance(e, Indicator):
            (closed if e.closed else last_forming)[(e.name, e.start)] = e.values
    compared = 0
    for key, values in closed.items():
        if key in last_forming:  # bars with trades (not filled ones)
            assert last_forming[key] == values, key
            compared += 1
    assert compared > 700 * len(SPECS)
    # The first RSI value appears on the forming bar before that bar closes.
    first_rsi = min(k[1] for k, v in closed.items() if k[0] == "RSI" and v["real"] is not None)
    assert last_forming[("RSI", first_rsi)]["real"] is not None


def test_forming_values_move_with_the_bar_and_commit_nothing() -> None:
    """Peeking at several versions of a bar does not change the values later bars get."""
    peeking = IndicatorEngine(candles=["1m"], indicators=["EMA(3)"], forming_interval=0.0)
    quiet = IndicatorEngine(candles=["1m"], indicators=["EMA(3)"], forming_interval=None)
    got: list[Event] = []
    want: list[Event] = []
    for i in range(400):
        t = trade(T0 + i * 11.0, 50.0 + (i * 31) % 13)
        got += peeking.process(t)
        want += quiet.process(t)
    closed = [e for e in got if isinstance(e, Indicator) and e.closed]
    assert closed == [e for e in want if isinstance(e, Indicator)]
    forming = [
        e.values["real"] for e in got if isinstance(e, Indicator) and not e.closed and e.start == closed[10].start
    ]
    assert len(set(forming)) > 1
