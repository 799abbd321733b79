"""REST client: book snapshots, instrument lists and tokens, within each exchange's limits.

One of the two modules that touch the network (the other is :mod:`collector.connection`).
Every request goes through :meth:`RestClient.fetch`, which

- bounds concurrency (a semaphore) and the size of a response body (``max_body``: a
  hostile or broken server cannot make one answer take gigabytes);
- keeps each host's used weight under its per-minute budget: it counts what it sends
  and trusts the exchange's own figure when the response carries one (the exchange's
  :class:`~collector.exchanges.base.RestPolicy` names the header), waiting for the next
  minute when a request would not fit;
- honours the statuses that mean "slow down" (429, 418, 403 by default) with
  ``Retry-After`` by pausing *every* request to that host, not just the one that failed;
  the pause is capped at ``max_pause`` (a server asking for a day, or for ``inf``, gets
  ``max_pause``) and reported through ``on_outage``;
- retries timeouts, connection errors and 5xx with the shared :class:`~collector.backoff.Backoff`.

Other 4xx answers are returned to the caller (the adapter reports them).
"""

from __future__ import annotations

import asyncio
import email.utils
import math
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import aiohttp

from .actions import RestRequest
from .backoff import Backoff
from .errors import HttpError
from .exchanges.base import RestPolicy
from .log import get_logger

__all__ = ["OutageReporter", "ResponseTooLarge", "RestClient"]

log = get_logger("collector.rest")

OutageReporter = Callable[[str, str, str, "float | None"], None]
"""``report(kind, host, detail, retry_in)``: the client tells its owner about pauses and failures."""


_RETRIES = Backoff(initial=0.5, cap=10.0)


class ResponseTooLarge(HttpError):
    """A response body was larger than the client's ``max_body``; nothing of it is used."""


class _HostBudget:
    __slots__ = ("limit", "minute", "paused_until", "policy", "used")

    def __init__(self, policy: RestPolicy) -> None:
        self.policy = policy
        self.limit = policy.weight_limit
        self.minute = 0
        self.used = 0
        self.paused_until = 0.0


class RestClient:
    """HTTP with rate-limit budgets per host. Use as an async context manager, or call :meth:`close`.

    ``policy`` applies to hosts without one of their own (:meth:`set_policy`); ``safety``
    is the fraction of a budget actually used. ``window`` is the budget period in seconds
    (calendar-aligned, as exchanges count).
    """

    def __init__(
        self,
        *,
        max_concurrency: int = 4,
        policy: RestPolicy | None = None,
        safety: float = 0.8,
        timeout: float = 10.0,
        retries: int = 4,
        window: float = 60.0,
        max_pause: float = 120.0,
        max_body: int = 64 * 1024 * 1024,
        backoff: Backoff = _RETRIES,
        on_outage: OutageReporter | None = None,
    ) -> None:
        self._sem = asyncio.Semaphore(max_concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._budgets: dict[str, _HostBudget] = {}
        self._prefixes: list[str] = []  # URL-prefix scopes, longest first
        self.policy = policy or RestPolicy()
        self.safety = safety
        self.retries = retries
        self.window = window
        self.max_pause = max_pause
        self.max_body = max_body
        self.backoff = backoff
        self.on_outage = on_outage
        self.stats: dict[str, int] = {"requests": 0, "retries": 0, "rate_limited": 0, "failed": 0, "waited": 0}

    def set_policy(self, scope: str, policy: RestPolicy, weight_limit: int | None = None) -> None:
        """Use an exchange's ``policy`` for the requests under ``scope`` (``weight_limit`` overrides its
        budget, e.g. from Binance ``exchangeInfo.rateLimits``).

        ``scope`` is a host (``api.binance.com``) or a URL prefix (an exchange's REST base,
        ``http://127.0.0.1:8000/bitfinex``): each scope has its own budget, so exchanges
        served from one host (the simulator) do not share one, and a request counts against
        the longest scope its URL starts with, else against its host.
        """
        budget = self._budget(scope)
        budget.policy = policy
        budget.limit = weight_limit or policy.weight_limit
        if "/" in scope and scope not in self._prefixes:
            self._prefixes.append(scope)
            self._prefixes.sort(key=len, reverse=True)

    def set_weight_limit(self, scope: str, limit: int) -> None:
        """Use ``limit`` weight per minute for ``scope`` (see :meth:`set_policy`)."""
        self._budget(scope).limit = limit

    def scope_of(self, url: str) -> str:
        """The budget scope a request to ``url`` counts against (see :meth:`set_policy`)."""
        for prefix in self._prefixes:
            if url.startswith(prefix) and url[len(prefix) : len(prefix) + 1] in ("", "/", "?"):
                return prefix
        return urlsplit(url).netloc

    def usage(self) -> dict[str, tuple[int, int]]:
        """``scope -> (weight used this window, weight limit)`` for every scope that has a budget."""
        return {scope: (b.used, b.limit) for scope, b in self._budgets.items()}

    def _budget(self, scope: str) -> _HostBudget:
        budget = self._budgets.get(scope)
        if budget is None:
            budget = self._budgets[scope] = _HostBudget(self.policy)
        return budget

    def _report(self, kind: str, host: str, detail: str, retry_in: float | None) -> None:
        if self.on_outage is not None:
            self.on_outage(kind, host, detail, retry_in)

    async def _wait_for_budget(self, budget: _HostBudget, weight: int) -> int:
        """Wait until ``weight`` fits the host's budget and reserve it; returns the budget minute."""
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
                return minute
            # Exchange weight windows are calendar minutes: wait for the next one.
            self.stats["waited"] += 1
            await asyncio.sleep((minute + 1) * self.window - now + 0.05)

    async def _once(self, request: RestRequest) -> tuple[int, bytes, dict[str, str]]:
        assert self._session is not None
        try:
            async with self._session.request(
                request.method, request.url, data=request.body or None, headers=dict(request.headers) or None
            ) as resp:
                length = resp.content_length
                if length is not None and length > self.max_body:
                    raise ResponseTooLarge(request.url, resp.status, f"{length} bytes announced")
                body = bytearray()
                async for chunk in resp.content.iter_chunked(1 << 16):
                    body += chunk
                    if len(body) > self.max_body:
                        raise ResponseTooLarge(request.url, resp.status, f"more than {self.max_body} bytes")
                return resp.status, bytes(body), {k.lower(): v for k, v in resp.headers.items()}
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            return 0, (str(exc) or type(exc).__name__).encode(), {}

    async def fetch(
        self, request: RestRequest, on_send: Callable[[], None] | None = None
    ) -> tuple[int, bytes, dict[str, str]]:
        """Request ``request.url``; return ``(status, body, headers)``. Status 0 means it never got an answer.

        ``on_send`` is called when the request leaves (its weight is then spent, so cancelling
        it no longer saves anything). Raises :class:`ResponseTooLarge` when the body exceeds
        ``max_body``.
        """
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        host = self.scope_of(request.url)
        budget = self._budget(host)
        delays = self.backoff.delays()
        status, body, headers = 0, b"", dict[str, str]()
        for attempt in range(self.retries + 1):
            minute = await self._wait_for_budget(budget, request.weight)
            try:
                await self._sem.acquire()
            except asyncio.CancelledError:
                # Abandoned before it left: the weight it reserved was never spent.
                if budget.minute == minute:
                    budget.used = max(0, budget.used - request.weight)
                raise
            try:
                self.stats["requests"] += 1
                if on_send is not None:
                    on_send()
                status, body, headers = await self._once(request)
            except ResponseTooLarge as exc:
                self.stats["failed"] += 1
                self._report("rest_failed", host, str(exc), None)
                raise
            finally:
                self._sem.release()
            header = budget.policy.weight_header
            used = headers.get(header) if header else None
            if used is not None and used.isdigit():
                # The exchange's count includes other clients on this IP: trust it.
                budget.used = max(budget.used, int(used))
            if status in budget.policy.rate_limited:
                self.stats["rate_limited"] += 1
                pause = self._pause(headers, default=60.0 if status == 418 else 5.0)
                budget.paused_until = max(budget.paused_until, time.time() + pause)
                log.warning("rate limited, pausing host", host=host, status=status, pause=pause, url=request.url)
                self._report("rate_limited", host, f"HTTP {status} for {request.url}", pause)
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
        self._report("rest_failed", host, f"HTTP {status or 'no answer'} for {request.url}", None)
        return status, body, headers

    def _pause(self, headers: dict[str, str], default: float) -> float:
        """Seconds to pause from ``Retry-After`` (seconds or an HTTP date), within ``[0, max_pause]``."""
        value = headers.get("retry-after", "").strip()
        seconds = default
        if value:
            try:
                seconds = float(value)
            except ValueError:
                try:
                    when = email.utils.parsedate_to_datetime(value)
                    seconds = when.timestamp() - time.time()
                except (TypeError, ValueError, IndexError, OverflowError):
                    seconds = default
        if math.isnan(seconds):
            seconds = default
        return min(max(seconds, 0.0), self.max_pause)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
