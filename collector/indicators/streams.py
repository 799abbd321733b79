"""One running indicator on one bar series: TA-Lib streaming handles and the built-in VWAPs.

Every stream answers two calls, both O(1) once warmed up:

- ``update(bar)`` for each closed bar, in order: commits it and returns the values on it;
- ``peek(bar)`` for the still-forming bar: the values ``update`` would return if the bar
  closed now, committing nothing (call it as often as the bar changes).

Values are tuples in the order of the spec's ``outputs``; ``None`` stands for "no value"
(warm-up, or a NaN/infinite TA-Lib output such as ``ACOS`` of a price above 1).

TA-Lib (the installed ``ta-lib`` 0.8 wheel) offers ``talib.stream.<FUNC>(history, **params)``
handles: opened on a history of at least ``lookback + 1`` bars (``InsufficientHistory``
otherwise), then ``update()`` per closed bar and ``peek()`` for a forming one, each value
bit-identical to the batch function over the same full history. The handle is therefore
opened on *every* bar since the series began, not a recent window: functions with an
unstable period (EMA, RSI, ATR, ADX, ...) depend on all of it. Until then the bars are
kept; afterwards nothing but the handle is.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from typing import Any, Protocol

import numpy as np

from ._talib import InsufficientHistory, abstract, stream
from .spec import IndicatorSpec

__all__ = ["Bar", "RollingVwap", "SessionVwap", "Stream", "TalibStream", "Values", "make_stream", "typical_pv"]

Values = tuple[float | None, ...]


class Bar:
    """A mutable OHLCV bar covering ``[start, end)``; ``pv`` is the sum of price x amount of its trades."""

    __slots__ = ("close", "end", "high", "low", "open", "pv", "start", "trades", "volume")

    def __init__(
        self,
        start: float,
        end: float,
        open: float,
        high: float,
        low: float,
        close: float,
        volume: float,
        trades: int,
        pv: float,
    ) -> None:
        self.start = start
        self.end = end
        self.open = open
        self.high = high
        self.low = low
        self.close = close
        self.volume = volume
        self.trades = trades
        self.pv = pv


class Stream(Protocol):
    """What the engine needs from one running indicator."""

    spec: IndicatorSpec

    def update(self, bar: Bar) -> Values:
        """Commit a closed bar and return its values."""
        ...

    def peek(self, bar: Bar) -> Values:
        """Return the values on a forming bar without committing it."""
        ...


class TalibStream:
    """A TA-Lib function on a bar series, through ``talib.stream`` handles."""

    __slots__ = (
        "_cls",
        "_get",
        "_handle",
        "_history",
        "_kwargs",
        "_min_bars",
        "_none",
        "_one_input",
        "_single",
        "spec",
    )

    def __init__(self, spec: IndicatorSpec) -> None:
        self.spec = spec
        self._cls: Any = getattr(stream, spec.name)
        function = abstract.Function(spec.name)
        self._kwargs = dict(zip(function.parameters, spec.params, strict=True))
        function.set_parameters(self._kwargs)
        # Opening needs lookback + 1 bars at least (a few functions want more; we retry).
        self._min_bars = function.lookback + 1
        self._get = operator.attrgetter(*spec.inputs)
        self._one_input = len(spec.inputs) == 1
        self._single = len(spec.outputs) == 1
        self._none: Values = (None,) * len(spec.outputs)
        self._handle: Any = None
        self._history: list[tuple[float, ...]] | None = []

    def _args(self, bar: Bar) -> tuple[float, ...]:
        got = self._get(bar)
        return (got,) if self._one_input else got

    def _values(self, raw: Any) -> Values:
        # x - x is 0.0 exactly when x is finite (NaN and infinities give NaN); cheaper than a call.
        if self._single:
            v = float(raw)
            return (v if v - v == 0.0 else None,)
        return tuple([v if v - v == 0.0 else None for v in map(float, raw)])

    def _open(self, rows: list[tuple[float, ...]]) -> Any:
        if len(rows) < self._min_bars:
            return None
        columns = [np.array(col, dtype=np.float64) for col in zip(*rows, strict=True)]
        try:
            return self._cls(*columns, **self._kwargs)
        except InsufficientHistory:
            return None

    def update(self, bar: Bar) -> Values:
        handle = self._handle
        if handle is not None:
            return self._values(handle.update(*self._args(bar)))
        history = self._history
        assert history is not None
        history.append(self._args(bar))
        handle = self._open(history)
        if handle is None:
            return self._none
        self._handle = handle
        self._history = None  # from here on the handle carries all the state
        return self._values(handle.value)

    def peek(self, bar: Bar) -> Values:
        handle = self._handle
        if handle is not None:
            return self._values(handle.peek(*self._args(bar)))
        history = self._history
        assert history is not None
        # Still warming up: a throwaway handle over history + this bar gives exactly what
        # update would. It costs O(history), but only during the warm-up bars.
        trial = self._open([*history, self._args(bar)])
        return self._none if trial is None else self._values(trial.value)


def typical_pv(bar: Bar) -> float:
    """Price x volume of a bar whose trades are unknown (exchange candles): typical price x volume."""
    return (bar.high + bar.low + bar.close) / 3.0 * bar.volume


class SessionVwap:
    """``SVWAP(hours)``: VWAP since the start of the current session (UTC blocks of ``hours``)."""

    __slots__ = ("_pv", "_session", "_span", "_vol", "spec")

    def __init__(self, spec: IndicatorSpec) -> None:
        self.spec = spec
        self._span = spec.params[0] * 3600.0
        self._session = -1.0
        self._pv = 0.0
        self._vol = 0.0

    def _sums(self, bar: Bar) -> tuple[float, float, float]:
        session = bar.start // self._span
        pv, vol = (self._pv, self._vol) if session == self._session else (0.0, 0.0)
        return session, pv + bar.pv, vol + bar.volume

    def update(self, bar: Bar) -> Values:
        self._session, self._pv, self._vol = self._sums(bar)
        return (self._pv / self._vol if self._vol > 0 else None,)

    def peek(self, bar: Bar) -> Values:
        _, pv, vol = self._sums(bar)
        return (pv / vol if vol > 0 else None,)


class RollingVwap:
    """``RVWAP(bars)``: VWAP over the last ``bars`` bars, the current one included."""

    __slots__ = ("_n", "_pv", "_since_exact", "_vol", "_window", "spec")

    def __init__(self, spec: IndicatorSpec) -> None:
        self.spec = spec
        self._n = int(spec.params[0])
        self._window: deque[tuple[float, float]] = deque()
        self._pv = 0.0
        self._vol = 0.0
        self._since_exact = 0

    def _next(self, bar: Bar) -> tuple[float, float, int]:
        """The sums and resync counter after ``bar``, committing nothing (so peek equals update exactly)."""
        window = self._window
        full = len(window) >= self._n
        pv = self._pv + bar.pv
        vol = self._vol + bar.volume
        if full:
            old_pv, old_vol = window[0]
            pv -= old_pv
            vol -= old_vol
        since = self._since_exact + 1
        if since >= self._n:
            # Running sums drift by rounding as values leave the window; re-add them
            # exactly once per window length, which keeps the cost O(1) per bar.
            kept = list(window)[1:] if full else list(window)
            pv = math.fsum([*(p for p, _ in kept), bar.pv])
            vol = math.fsum([*(v for _, v in kept), bar.volume])
            since = 0
        return pv, vol, since

    def update(self, bar: Bar) -> Values:
        self._pv, self._vol, self._since_exact = self._next(bar)
        self._window.append((bar.pv, bar.volume))
        if len(self._window) > self._n:
            self._window.popleft()
        return (self._pv / self._vol if self._vol > 0 else None,)

    def peek(self, bar: Bar) -> Values:
        pv, vol, _ = self._next(bar)
        return (pv / vol if vol > 0 else None,)


def make_stream(spec: IndicatorSpec) -> Stream:
    """A fresh stream for ``spec`` (no bars seen yet)."""
    if spec.name == "SVWAP":
        return SessionVwap(spec)
    if spec.name == "RVWAP":
        return RollingVwap(spec)
    return TalibStream(spec)
