"""The one retry policy: capped exponential backoff with full jitter; connect pacing."""

from __future__ import annotations

import random
import time

import pytest

from collector.backoff import Backoff, ConnectPacer, backoff_delays


def test_full_jitter_is_capped_exponential() -> None:
    """Each delay is uniform in [0, min(cap, initial * factor**n)]."""
    gen = backoff_delays(initial=1.0, factor=2.0, cap=8.0, rng=random.Random(1))
    delays = [next(gen) for _ in range(200)]
    ceilings = [min(8.0, 2.0**n) for n in range(200)]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[10:]) > 6.0  # the cap is reached, not exceeded
    again = backoff_delays(initial=1.0, factor=2.0, cap=8.0, rng=random.Random(1))
    assert [next(again) for _ in range(200)] == delays  # an injected rng makes it reproducible


def test_backoff_object_and_function_agree() -> None:
    """``Backoff(...).delays(rng)`` is what ``backoff_delays(...)`` returns."""
    a = Backoff(0.1, 3.0, 2.0).delays(random.Random(7))
    b = backoff_delays(0.1, 3.0, 2.0, random.Random(7))
    assert [next(a) for _ in range(20)] == [next(b) for _ in range(20)]


async def test_connect_pacer_keeps_attempts_within_the_window() -> None:
    """No more than ``count`` attempts pass in any ``period``; the rest wait for the window to slide."""
    pacer = ConnectPacer(3, 0.4)
    times = []
    for _ in range(7):
        await pacer.wait()
        times.append(time.monotonic())
    for i in range(3, 7):
        assert times[i] - times[i - 3] >= 0.4 - 0.005
    assert times[2] - times[0] < 0.1  # the first three go at once
    assert pacer.waited >= 2


def test_connect_pacer_rejects_impossible_limits() -> None:
    """A limit of zero attempts (or a period of zero) is a programming error, said at once."""
    with pytest.raises(ValueError, match="count >= 1"):
        ConnectPacer(0, 1.0)
