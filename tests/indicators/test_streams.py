"""TA-Lib functions streamed bar by bar equal TA-Lib's batch functions over the full history."""

from __future__ import annotations

import numpy as np
import pytest
import talib
from talib import abstract

from collector.indicators import UNSUPPORTED, parse_indicator
from collector.indicators.spec import IndicatorSpec
from collector.indicators.streams import Bar, make_stream
from tests.indicators.util import assert_series_close, synthetic_ohlcv

N_BARS = 3000
DATA = synthetic_ohlcv(N_BARS, seed=11)
BARS = [
    Bar(60.0 * i, 60.0 * (i + 1), *(float(DATA[f][i]) for f in ("open", "high", "low", "close", "volume")), 1, 0.0)
    for i in range(N_BARS)
]
GROUPS = talib.get_function_groups()
FUNCTIONS = sorted(name for names in GROUPS.values() for name in names if name not in UNSUPPORTED)

# Non-default parameters, including unstable-period functions and TA-Lib's own MA types.
EXTRA_SPECS = [
    "RSI(7)",
    "EMA(50)",
    "MACD(5,35,5)",
    "BBANDS(10,1.5,2.5,1)",
    "STOCH(14,3,0,3,0)",
    "STOCH(9,5,1,4,2)",
    "ATR(21)",
    "ADX(9)",
    "MFI(10)",
    "MA(30,3)",
    "KAMA(20)",
    "T3(7,0.5)",
    "SAR(0.01,0.1)",
]


def _batch(spec: IndicatorSpec) -> list[np.ndarray]:
    function = abstract.Function(spec.name)
    params = dict(zip(function.parameters, spec.params, strict=True))
    function.set_parameters(params)
    result = getattr(talib, spec.name)(*(DATA[f] for f in spec.inputs), **params)
    outputs = [np.asarray(r) for r in result] if isinstance(result, tuple | list) else [np.asarray(result)]
    columns = []
    for out in outputs:
        column = out.astype(np.float64)
        if out.dtype.kind == "i":
            # Integer outputs (candlestick patterns) cannot hold NaN: batch writes 0 on the
            # warm-up bars, where the stream says None.
            column[: function.lookback] = np.nan
        columns.append(column)
    return columns


def _check(spec: IndicatorSpec) -> None:
    stream = make_stream(spec)
    columns: list[list[float | None]] = [[] for _ in spec.outputs]
    for i, bar in enumerate(BARS):
        peeked = stream.peek(bar) if i % 5 == 0 else None
        values = stream.update(bar)
        if peeked is not None:
            # peek on a bar gives exactly what update then commits for it.
            assert peeked == values, f"{spec.text} bar {i}: peek {peeked} != update {values}"
        for column, value in zip(columns, values, strict=True):
            column.append(value)
    for name, column, batch in zip(spec.outputs, columns, _batch(spec), strict=True):
        assert_series_close(f"{spec.text}.{name}", column, batch)


def test_groups_cover_the_families() -> None:
    """TA-Lib's groups include the overlap, momentum, volatility and volume families, and only MAVP is left out."""
    for group in ("Overlap Studies", "Momentum Indicators", "Volatility Indicators", "Volume Indicators"):
        assert GROUPS[group]
    assert set(UNSUPPORTED) == {"MAVP"}
    assert len(FUNCTIONS) == sum(len(v) for v in GROUPS.values()) - 1


@pytest.mark.parametrize("name", FUNCTIONS)
def test_every_function_streams_like_batch(name: str) -> None:
    """Each TA-Lib function with default parameters, 3000 bars, values and warm-up match batch to 1e-9."""
    _check(parse_indicator(name))


@pytest.mark.parametrize("text", EXTRA_SPECS)
def test_non_default_parameters_stream_like_batch(text: str) -> None:
    """Explicit parameters are passed in TA-Lib's order."""
    _check(parse_indicator(text))


def test_warm_up_is_none_then_values() -> None:
    """RSI(14) has no value on its first 14 bars and one on every bar after."""
    stream = make_stream(parse_indicator("RSI(14)"))
    values = [stream.update(bar)[0] for bar in BARS[:20]]
    assert values[:14] == [None] * 14
    assert all(v is not None for v in values[14:])


def test_session_vwap_resets_each_session() -> None:
    """SVWAP(1) over 1-minute bars: sum(pv)/sum(volume) since the top of the hour, exactly."""
    spec = parse_indicator("SVWAP(1)")
    stream = make_stream(spec)
    pv = 0.0
    vol = 0.0
    for i, bar in enumerate(BARS[:200]):
        bar = Bar(bar.start, bar.end, bar.open, bar.high, bar.low, bar.close, bar.volume, 1, bar.close * bar.volume)
        if i % 60 == 0:
            pv = vol = 0.0
        pv += bar.pv
        vol += bar.volume
        peeked = stream.peek(bar)
        assert stream.update(bar) == peeked == ((pv / vol) if vol else None,)


def test_rolling_vwap_over_last_bars() -> None:
    """RVWAP(5): the last five bars' pv over their volume, within 1e-12."""
    stream = make_stream(parse_indicator("RVWAP(5)"))
    pvs: list[float] = []
    vols: list[float] = []
    for bar in BARS[:500]:
        bar = Bar(bar.start, bar.end, bar.open, bar.high, bar.low, bar.close, bar.volume, 1, bar.close * bar.volume)
        pvs.append(bar.pv)
        vols.append(bar.volume)
        want = sum(pvs[-5:]) / sum(vols[-5:])
        peeked = stream.peek(bar)[0]
        got = stream.update(bar)[0]
        assert got is not None
        assert peeked is not None
        assert got == pytest.approx(want, rel=1e-12)
        assert peeked == pytest.approx(want, rel=1e-12)
