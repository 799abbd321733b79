"""Prometheus metrics and a health check for a running :class:`~collector.Collector`.

::

    metrics = Metrics(c)                          # before c.start(): it watches the events
    server = await metrics.serve("127.0.0.1", 9464)   # GET /metrics and GET /health
    ...
    await server.stop()

or ``collector run ... --metrics 127.0.0.1:9464``. A bot with its own Prometheus registry
registers :attr:`Metrics.registry`'s collector instead (``metrics`` is a
``prometheus_client`` collector: ``my_registry.register(metrics)``).

Nothing is computed per frame beyond what the collector counts anyway: frame and byte
counters live on the connections, resync and error counts in the adapters, and this
module reads them when scraped. Per event it only counts the event by type and, for
market events, records two latencies into fixed-bucket histograms (about 1 µs):

- ``collector_exchange_latency_seconds``: ``received - timestamp`` (exchange clock to
  local receipt; clock skew included);
- ``collector_delivery_latency_seconds``: receipt to this callback (the pipeline's own delay).

Cardinality is bounded: labels are exchange, connection, event type and reason; a
``symbol`` label (book age) appears only when ``symbol_labels`` is set, or when the
collector watches at most ``max_symbols`` books; otherwise book age is summarised per
exchange (the oldest book and the number of books not synced).
"""

from __future__ import annotations

import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import orjson
from aiohttp import web
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector as PrometheusCollector

from .models import Disconnected, Error, Event, MarketEvent, Resync

if TYPE_CHECKING:
    from .client import Collector

__all__ = ["LATENCY_BUCKETS", "Metrics", "MetricsServer"]

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Histogram bucket bounds in seconds (a latency above the last goes to ``+Inf``)."""

_MAX_REASONS = 64  # distinct disconnect reasons kept per exchange; the rest count as "other"


class _Histogram:
    """Cumulative bucket counts over fixed bounds, and the sum: what a Prometheus histogram exposes."""

    __slots__ = ("counts", "sum")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(LATENCY_BUCKETS, value)] += 1
        self.sum += value

    def buckets(self) -> list[tuple[str, float]]:
        out, total = [], 0
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), self.counts, strict=True):
            total += count
            out.append(("+Inf" if bound == float("inf") else repr(bound), float(total)))
        return out


def _reason_class(reason: str) -> str:
    """A bounded label from a disconnect reason: its text up to the first ``:`` or digit."""
    head = reason.split(":", 1)[0].strip()
    return "".join(ch for ch in head if not ch.isdigit()).strip()[:40] or "unknown"


class Metrics(PrometheusCollector):
    """Prometheus metrics of one collector (see the module docstring). Create it before ``start()``."""

    def __init__(self, collector: Collector, *, symbol_labels: bool | None = None, max_symbols: int = 200) -> None:
        self.collector = collector
        self.symbol_labels = symbol_labels
        self.max_symbols = max_symbols
        self.started = time.time()
        self._events: Counter[tuple[str, str]] = Counter()
        self._resyncs: Counter[tuple[str, str]] = Counter()
        self._errors: Counter[tuple[str, str]] = Counter()
        self._disconnects: Counter[tuple[str, str]] = Counter()
        self._exchange_latency: dict[str, _Histogram] = {}
        self._delivery_latency: dict[str, _Histogram] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        collector.on(self.observe)

    # -- per event ----------------------------------------------------------------------------

    def observe(self, event: Event) -> None:
        """Count ``event`` and record its latencies (a collector callback; :meth:`__init__` adds it)."""
        exchange = event.exchange
        self._events[exchange, event.type] += 1
        if isinstance(event, MarketEvent):
            now = time.time()
            hist = self._delivery_latency.get(exchange)
            if hist is None:
                hist = self._delivery_latency[exchange] = _Histogram()
                self._exchange_latency[exchange] = _Histogram()
            hist.observe(max(0.0, now - event.received))
            if event.timestamp is not None:
                self._exchange_latency[exchange].observe(max(0.0, event.received - event.timestamp))
        elif isinstance(event, Resync):
            self._resyncs[exchange, event.reason] += 1
        elif isinstance(event, Error):
            self._errors[exchange, event.reason] += 1
        elif isinstance(event, Disconnected):
            reason = _reason_class(event.reason)
            if (exchange, reason) not in self._disconnects:
                kinds = sum(1 for ex, _ in self._disconnects if ex == exchange)
                reason = reason if kinds < _MAX_REASONS else "other"
            self._disconnects[exchange, reason] += 1

    # -- health -------------------------------------------------------------------------------

    def health(self, now: float | None = None) -> tuple[bool, dict[str, Any]]:
        """Whether every subscribed book is synced and fresh (updated within its exchange's
        ``book_stale_after``), and every connection is up; with the details per book."""
        now = time.time() if now is None else now
        c = self.collector
        books: dict[str, dict[str, Any]] = {}
        healthy = True
        for exchange, subs in c.subscriptions().items():
            try:
                adapter = c.adapter(exchange)
            except Exception:  # not started yet
                healthy = False
                continue
            limit = adapter.book_stale_after
            for symbol in dict.fromkeys(s.symbol for s in subs if s.channel == "book"):
                book = adapter.book(symbol)
                age = now - book.updated if book is not None and book.updated is not None else None
                ok = book is not None and book.synced and age is not None and age <= limit
                healthy &= ok
                books[f"{exchange}:{symbol}"] = {"synced": bool(book and book.synced), "age": age, "ok": ok}
        down = [conn.plan.conn for conn in c.connections if not conn.up]
        healthy &= not down
        return healthy, {"healthy": healthy, "books": books, "connections_down": down}

    # -- scrape -------------------------------------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        """Every metric, computed now (prometheus_client calls this on each scrape)."""
        c = self.collector
        events = CounterMetricFamily("collector_events", "Events delivered", labels=["exchange", "type"])
        for (exchange, kind), n in sorted(self._events.items()):
            events.add_metric([exchange, kind], n)
        yield events
        yield from self._connections(c)
        resyncs = CounterMetricFamily("collector_resyncs", "Book resyncs", labels=["exchange", "reason"])
        for (exchange, reason), n in sorted(self._resyncs.items()):
            resyncs.add_metric([exchange, reason], n)
        yield resyncs
        errors = CounterMetricFamily("collector_errors", "Error events (bad frames ...)", labels=["exchange", "reason"])
        for (exchange, reason), n in sorted(self._errors.items()):
            errors.add_metric([exchange, reason], n)
        yield errors
        disconnects = CounterMetricFamily("collector_disconnects", "Disconnects", labels=["exchange", "reason"])
        for (exchange, reason), n in sorted(self._disconnects.items()):
            disconnects.add_metric([exchange, reason], n)
        yield disconnects
        yield from self._books(c)
        for name, doc, hists in (
            ("collector_exchange_latency_seconds", "Exchange timestamp to receipt", self._exchange_latency),
            ("collector_delivery_latency_seconds", "Receipt to delivery", self._delivery_latency),
        ):
            family = HistogramMetricFamily(name, doc, labels=["exchange"])
            for exchange, hist in sorted(hists.items()):
                family.add_metric([exchange], hist.buckets(), hist.sum)
            yield family
        yield GaugeMetricFamily("collector_queue_depth", "Events waiting behind async for", value=c.queue_depth)
        drops = CounterMetricFamily("collector_dropped_events", "Market events dropped by drop_oldest")
        drops.add_metric([], c.stats.get("dropped_oldest", 0))
        yield drops
        yield from self._rest(c)
        yield from self._sinks(c)

    def _connections(self, c: Collector) -> Iterator[Metric]:
        labels = ["exchange", "conn"]
        frames = CounterMetricFamily("collector_frames", "Websocket frames received", labels=labels)
        size = CounterMetricFamily("collector_received_bytes", "Websocket payload received", labels=labels)
        connects = CounterMetricFamily("collector_connects", "Connections opened (1 + reconnects)", labels=labels)
        up = GaugeMetricFamily("collector_connection_up", "1 while the connection is open", labels=labels)
        for conn in c.connections:
            key = [conn.adapter.id, conn.plan.conn]
            frames.add_metric(key, conn.frames)
            size.add_metric(key, conn.bytes)
            connects.add_metric(key, conn.connects)
            up.add_metric(key, 1.0 if conn.up else 0.0)
        yield from (frames, size, connects, up)

    def _books(self, c: Collector) -> Iterator[Metric]:
        now = time.time()
        watched = [(ex, s.symbol) for ex, subs in c.subscriptions().items() for s in subs if s.channel == "book"]
        watched = list(dict.fromkeys(watched))
        per_symbol = self.symbol_labels if self.symbol_labels is not None else len(watched) <= self.max_symbols
        oldest = GaugeMetricFamily("collector_book_age_max_seconds", "Oldest book update", labels=["exchange"])
        unsynced = GaugeMetricFamily("collector_books_unsynced", "Books not synced", labels=["exchange"])
        ages = GaugeMetricFamily(
            "collector_book_age_seconds", "Seconds since the book changed", labels=["exchange", "symbol"]
        )
        worst: dict[str, float] = {}
        waiting: Counter[str] = Counter()
        for exchange, symbol in watched:
            try:
                book = c.book(exchange, symbol)
            except Exception:
                book = None
            if book is None or not book.synced or book.updated is None:
                waiting[exchange] += 1
                continue
            age = max(0.0, now - book.updated)
            worst[exchange] = max(worst.get(exchange, 0.0), age)
            if per_symbol:
                ages.add_metric([exchange, symbol], age)
        for exchange in sorted({ex for ex, _ in watched}):
            oldest.add_metric([exchange], worst.get(exchange, 0.0))
            unsynced.add_metric([exchange], waiting[exchange])
        yield from (oldest, unsynced)
        if per_symbol:
            yield ages

    def _rest(self, c: Collector) -> Iterator[Metric]:
        used = GaugeMetricFamily("collector_rest_weight_used", "REST weight used this window", labels=["exchange"])
        limit = GaugeMetricFamily("collector_rest_weight_limit", "REST weight budget", labels=["exchange"])
        for scope, (spent, budget) in sorted(c.rest.usage().items()):
            exchange = c.exchange_of(scope)
            used.add_metric([exchange], spent)
            limit.add_metric([exchange], budget)
        requests = CounterMetricFamily("collector_rest", "REST client counters", labels=["kind"])
        for kind, n in sorted(c.rest.stats.items()):
            requests.add_metric([kind], n)
        yield from (used, limit, requests)

    def _sinks(self, c: Collector) -> Iterator[Metric]:
        family = GaugeMetricFamily("collector_sink", "Sink delivery counters", labels=["sink", "counter"])
        for sink in c.sinks:
            as_dict = getattr(getattr(sink, "stats", None), "as_dict", None)
            counters: dict[str, int] = as_dict() if callable(as_dict) else {}
            for counter, value in sorted(counters.items()):
                family.add_metric([type(sink).__name__, counter], float(value))
        yield family

    # -- HTTP ---------------------------------------------------------------------------------

    async def serve(self, host: str = "127.0.0.1", port: int = 9464) -> MetricsServer:
        """Serve ``GET /metrics`` (Prometheus text) and ``GET /health`` (JSON; 503 when unhealthy)."""
        server = MetricsServer(self, host, port)
        await server.start()
        return server


class MetricsServer:
    """The HTTP endpoint of a :class:`Metrics`; :meth:`stop` it with the collector."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0: a free one, then read :attr:`port`)."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server: Any = site._server
        sockets = getattr(server, "sockets", None) or []
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self.metrics.registry)
        return web.Response(body=body, headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"})

    async def _health(self, request: web.Request) -> web.Response:
        healthy, detail = self.metrics.health()
        return web.Response(body=orjson.dumps(detail), status=200 if healthy else 503, content_type="application/json")
