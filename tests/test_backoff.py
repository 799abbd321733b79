"""The one retry policy: capped exponential backoff with full jitter."""

from __future__ import annotations

import random

from collector.backoff import Backoff, backoff_delays


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
