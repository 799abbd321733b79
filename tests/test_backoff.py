"""Reconnect policy: capped exponential backoff with full jitter, reset after a stable connection."""

from __future__ import annotations

import random

from collector.connection import reconnecting
from collector.rest import backoff_delays
from collector.transport import SocketClosed


def test_full_jitter_is_capped_exponential() -> None:
    """Each delay is uniform in [0, min(cap, initial * factor**n)]."""
    gen = backoff_delays(initial=1.0, factor=2.0, cap=8.0, rng=random.Random(1))
    delays = [next(gen) for _ in range(200)]
    ceilings = [min(8.0, 2.0**n) for n in range(200)]
    assert all(0.0 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    assert max(delays[10:]) > 6.0  # the cap is reached, not exceeded
    again = backoff_delays(initial=1.0, factor=2.0, cap=8.0, rng=random.Random(1))
    assert [next(again) for _ in range(200)] == delays  # an injected rng makes it reproducible


async def test_reconnecting_retries_failures_and_resets_after_stable() -> None:
    """Failed connects wait next(delays); a socket that stayed up long enough restarts the sequence."""
    attempts: list[str] = []
    outcomes = iter(["fail", "fail", "ok", "fail", "ok"])
    calls: list[list[float]] = []

    def delays() -> object:
        seq: list[float] = []
        calls.append(seq)

        def gen():  # type: ignore[no-untyped-def]
            n = 0
            while True:
                n += 1
                seq.append(0.001 * n)
                yield 0.001 * n

        return gen()

    async def connect() -> str:
        outcome = next(outcomes)
        attempts.append(outcome)
        if outcome == "fail":
            raise SocketClosed("refused")
        return "socket"

    errors: list[str] = []
    got = []
    sockets = reconnecting(
        connect,  # type: ignore[arg-type]
        delays=delays,  # type: ignore[arg-type]
        stable_after=0.0,
        on_error=lambda exc, delay: errors.append(f"{exc}:{delay}"),
    )
    async for socket in sockets:
        got.append(socket)
        if len(got) == 2:
            break
    await sockets.aclose()
    assert attempts == ["fail", "fail", "ok", "fail", "ok"]
    assert errors == ["refused:0.001", "refused:0.002", "refused:0.001"]
    assert len(calls) == 2  # stable_after=0: the first socket counted as stable, so the delays restarted
