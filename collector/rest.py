"""REST client: book snapshots and instrument lists, within the exchange's weight budget.

One of the two modules that touch the network (the other is :mod:`collector.connection`).
Every request goes through :meth:`RestClient.fetch`, which

- bounds concurrency (a semaphore),
- keeps each host's used weight under its per-minute budget: it counts what it sends
  and trusts the exchange's own figure when the response carries one
  (Binance ``X-MBX-USED-WEIGHT-1M``), waiting for the next minute when a request would
  not fit,
- honours 429 (too many requests), 418 (IP banned) and 403 (Bybit's per-IP limit,
  Binance's WAF) with ``Retry-After`` by pausing *every* request to that host, not just
  the one that failed,
- retries timeouts, connection errors and 5xx with capped, jittered backoff.

Other 4xx answers are returned to the caller (the adapter reports them).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import aiohttp

from .actions import RestRequest
from .log import get_logger

__all__ = ["RestClient", "backoff_delays"]

log = get_logger("collector.rest")


def backoff_delays(
    initial: float = 0.5, factor: float = 2.0, cap: float = 30.0, rng: random.Random | None = None
) -> Iterator[float]:
    """Endless capped exponential backoff with full jitter: ``uniform(0, min(cap, initial * factor**n))``.

    Full jitter spreads reconnecting clients out, so a fleet that lost the exchange at
    once does not come back at once. Start a new generator to reset after a success.
    """
    draw = (rng or random.Random()).uniform
    ceiling = initial
    while True:
        yield draw(0.0, ceiling)
        ceiling = min(cap, ceiling * factor)


class _HostBudget:
    __slots__ = ("limit", "minute", "paused_until", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.minute = 0
        self.used = 0
        self.paused_until = 0.0


class RestClient:
    """GET with rate-limit budgets per host. Use as an async context manager, or call :meth:`close`.

    ``weight_limit`` is the per-minute weight budget per host (a safety fraction of the
    exchange's limit is used); set it from the exchange's instrument listing when known.
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 4,
        weight_limit: int = 1200,
        safety: float = 0.8,
        timeout: float = 10.0,
        retries: int = 4,
        weight_header: str = "x-mbx-used-weight-1m",
        window: float = 60.0,
    ) -> None:
        self._sem = asyncio.Semaphore(max_concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._budgets: dict[str, _HostBudget] = {}
        self.weight_limit = weight_limit
        self.safety = safety
        self.retries = retries
        self.weight_header = weight_header
        self.window = window  # seconds per weight window (calendar-aligned, as the exchange counts)
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "rate_limited": 0, "failed": 0, "waited": 0}

    def set_weight_limit(self, host: str, limit: int) -> None:
        """Use ``limit`` weight per minute for ``host`` (e.g. from Binance ``exchangeInfo.rateLimits``)."""
        self._budget(host).limit = limit

    def _budget(self, host: str) -> _HostBudget:
        budget = self._budgets.get(host)
        if budget is None:
            budget = self._budgets[host] = _HostBudget(self.weight_limit)
        return budget

    async def _wait_for_budget(self, budget: _HostBudget, weight: int) -> None:
        while True:
            now = time.time()
            if now < budget.paused_until:
                self.stats["waited"] += 1
                await asyncio.sleep(budget.paused_until - now)
                continue
            minute = int(now // self.window)
            if minute != budget.minute:
                budget.minute = minute
                budget.used = 0
            if budget.used + weight <= budget.limit * self.safety or budget.used == 0:
                budget.used += weight
                return
            # Exchange weight windows are calendar minutes: wait for the next one.
            self.stats["waited"] += 1
            await asyncio.sleep((minute + 1) * self.window - now + 0.05)

    async def fetch(self, request: RestRequest) -> tuple[int, bytes, dict[str, str]]:
        """GET ``request.url``; return ``(status, body, headers)``. Status 0 means it never got an answer."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        host = urlsplit(request.url).netloc
        budget = self._budget(host)
        delays = backoff_delays(initial=0.5, cap=10.0)
        status, body, headers = 0, b"", {}
        for attempt in range(self.retries + 1):
            await self._wait_for_budget(budget, request.weight)
            async with self._sem:
                self.stats["requests"] += 1
                try:
                    async with self._session.get(request.url) as resp:
                        status = resp.status
                        body = await resp.read()
                        headers = {k.lower(): v for k, v in resp.headers.items()}
                except (aiohttp.ClientError, TimeoutError) as exc:
                    status, body, headers = 0, str(exc).encode(), {}
            used = headers.get(self.weight_header)
            if used is not None and used.isdigit():
                # The exchange's count includes other clients on this IP: trust it.
                budget.used = max(budget.used, int(used))
            if status in _RATE_LIMITED:
                self.stats["rate_limited"] += 1
                pause = _retry_after(headers, default=60.0 if status == 418 else 5.0)
                budget.paused_until = max(budget.paused_until, time.time() + pause)
                log.warning("rate limited, pausing host", host=host, status=status, pause=pause, url=request.url)
            elif status == 0 or status >= 500:
                if attempt < self.retries:
                    delay = next(delays)
                    log.info("retrying request", url=request.url, status=status, delay=round(delay, 3))
                    await asyncio.sleep(delay)
            else:
                return status, body, headers
            if attempt < self.retries:
                self.stats["retries"] += 1
        self.stats["failed"] += 1
        log.warning("request failed", url=request.url, status=status)
        return status, body, headers

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# 429: too many requests; 418: Binance's IP ban after ignoring 429s; 403: Bybit's per-IP
# limit ("access too frequent") and Binance's WAF limit. All mean: stop asking this host for a while.
_RATE_LIMITED = frozenset({403, 418, 429})


def _retry_after(headers: dict[str, str], default: float) -> float:
    value = headers.get("retry-after", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return default
