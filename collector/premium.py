"""The KRW premium, live: KRW prices on Korean venues over USD(T) prices abroad.

For every base asset watched on a KRW venue (``upbit``: ``BTC/KRW``) and a USD(T) venue
(``binance``: ``BTC/USDT``), :class:`PremiumMonitor` emits :class:`~collector.models.Premium`
events::

    premium = krw_price / (usd_price * fx) - 1

- Prices are the mid of the maintained book when it is synced and was updated within
  ``max_age`` seconds (30 by default), else the last trade if it is that recent; a
  market with neither is not used (no premium rather than a stale one).
- ``fx`` is KRW per unit of the quote currency: by default the price of ``USDT/KRW`` on
  the first KRW venue (the rate Korean traders actually convert at), taken with the
  same staleness rule; or a venue named by the caller; or a fixed rate (``fx=1380.0``,
  source ``fixed``).
- One event per pair when its value changed (or came back after its inputs went stale),
  at most every ``min_interval`` seconds of receipt time per pair (book updates arrive
  many times a second).
- Alert rules over premium fields (``premium > 0.03``) are edge-triggered per pair, like
  indicator alerts.

Use :meth:`collector.Collector.premium` to subscribe the markets and attach a monitor;
or attach one to a replay by handing it a book accessor and feeding it events.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from .book import OrderBook
from .errors import UsageError
from .indicators.alerts import AlertRule, RuleState, parse_rule
from .models import Alert, Book, Event, Premium, Resync, Trade

__all__ = ["DEFAULT_MAX_AGE", "BookOf", "PremiumMonitor", "PremiumPair"]

DEFAULT_MAX_AGE = 30.0
"""Seconds a book update or trade stays usable for a premium (a synced book quieter than this is used as is)."""

BookOf = Callable[[str, str], OrderBook | None]
"""``book_of(exchange, symbol)``: the maintained book, or ``None``."""


class PremiumPair(NamedTuple):
    """One premium series: ``base`` on ``krw_exchange`` over ``base`` on ``usd_exchange``."""

    base: str
    krw_exchange: str
    usd_exchange: str


class PremiumMonitor:
    """Computes KRW premiums from the events it is fed (see the module docstring).

    ``bases``: assets (``BTC``); ``krw``/``usd``: venues; ``quote``: the quote currency
    abroad (``USDT``); ``fx``: a KRW venue for ``<quote>/KRW``, a fixed rate, or ``None``
    for the first KRW venue. ``book_of`` reads maintained books. Feed every event to
    :meth:`process` (a pipeline processor); read :meth:`latest` any time.
    """

    def __init__(
        self,
        bases: Iterable[str],
        krw: Sequence[str],
        usd: Sequence[str],
        *,
        book_of: BookOf,
        quote: str = "USDT",
        fx: str | float | None = None,
        max_age: float = DEFAULT_MAX_AGE,
        min_interval: float = 1.0,
        alerts: Iterable[str | AlertRule] = (),
    ) -> None:
        self.bases = [b.strip().upper() for b in bases if b.strip()]
        if not self.bases:
            raise UsageError("premium: name at least one base asset, e.g. BTC")
        if not krw or not usd:
            raise UsageError("premium: name at least one KRW venue and one USD(T) venue")
        if max_age <= 0 or min_interval < 0:
            raise UsageError("premium: max_age must be > 0 and min_interval >= 0 seconds")
        self.krw = list(krw)
        self.usd = list(usd)
        self.quote = quote.upper()
        self.max_age = max_age
        self.min_interval = min_interval
        self._book_of = book_of
        self.fixed_fx: float | None = None
        self.fx_venue: str | None = None
        if isinstance(fx, int | float):
            if not fx > 0:
                raise UsageError(f"premium: a fixed FX rate must be positive, not {fx}")
            self.fixed_fx = float(fx)
        else:
            self.fx_venue = fx or self.krw[0]
        self.fx_symbol = f"{self.quote}/KRW"
        self.pairs = [PremiumPair(b, k, u) for b in self.bases for k in self.krw for u in self.usd]
        rules = [parse_rule(r) if isinstance(r, str) else r for r in alerts]
        for rule in rules:
            if rule.event != "premium":
                raise UsageError(f"premium alert {rule.text!r}: use premium fields (premium, krw_price, usd_price, fx)")
        self._rules = rules
        self._states: dict[PremiumPair, list[RuleState]] = {}
        self._trades: dict[tuple[str, str], tuple[float, float]] = {}  # market -> (price, received)
        self._latest: dict[PremiumPair, Premium] = {}
        self._emitted_at: dict[PremiumPair, float] = {}
        self._lost: set[PremiumPair] = set()  # pairs whose inputs went stale since their last event
        # Which pairs a market's events can change.
        self._affects: dict[tuple[str, str], list[PremiumPair]] = {}
        for pair in self.pairs:
            self._affects.setdefault((pair.krw_exchange, f"{pair.base}/KRW"), []).append(pair)
            self._affects.setdefault((pair.usd_exchange, f"{pair.base}/{self.quote}"), []).append(pair)
        if self.fx_venue is not None:
            self._affects.setdefault((self.fx_venue, self.fx_symbol), []).extend(self.pairs)

    def markets(self) -> dict[str, list[str]]:
        """Every market the monitor reads, per exchange (subscribe their ``book`` and ``trades``)."""
        out: dict[str, list[str]] = {}
        for exchange, symbol in self._affects:
            out.setdefault(exchange, []).append(symbol)
        return out

    def latest(self, base: str, krw_exchange: str, usd_exchange: str) -> Premium | None:
        """The last premium emitted for this pair."""
        return self._latest.get(PremiumPair(base.upper(), krw_exchange, usd_exchange))

    def process(self, event: Event) -> list[Event]:
        """Take one pipeline event; return the premium (and alert) events it causes."""
        if not isinstance(event, Book | Trade | Resync) or event.symbol is None:
            return []
        key = (event.exchange, event.symbol)
        pairs = self._affects.get(key)
        if pairs is None:
            return []
        if isinstance(event, Trade):
            self._trades[key] = (event.price, event.received)
        out: list[Event] = []
        now = event.received
        for pair in pairs:
            premium = self._compute(pair, event.timestamp, now)
            if premium is None:
                if pair in self._latest:
                    self._lost.add(pair)  # the next value is news even if it equals the last one
                continue
            last = self._latest.get(pair)
            if last is not None and (
                (last.premium == premium.premium and pair not in self._lost)
                or now - self._emitted_at[pair] < self.min_interval
            ):
                continue
            self._lost.discard(pair)
            self._latest[pair] = premium
            self._emitted_at[pair] = now
            out.append(premium)
            if self._rules:
                out.extend(self._alerts(pair, premium))
        return out

    def _compute(self, pair: PremiumPair, timestamp: float | None, now: float) -> Premium | None:
        krw = self._price(pair.krw_exchange, f"{pair.base}/KRW", now)
        usd_symbol = f"{pair.base}/{self.quote}"
        usd = self._price(pair.usd_exchange, usd_symbol, now)
        if krw is None or usd is None:
            return None
        if self.fixed_fx is not None:
            fx, fx_source = self.fixed_fx, "fixed"
        else:
            assert self.fx_venue is not None
            rate = self._price(self.fx_venue, self.fx_symbol, now)
            if rate is None:
                return None
            fx, fx_source = rate[0], f"{self.fx_venue}:{self.fx_symbol}"
        value = krw[0] / (usd[0] * fx) - 1.0
        return Premium(
            pair.krw_exchange,
            f"{pair.base}/KRW",
            timestamp,
            now,
            pair.base,
            pair.krw_exchange,
            krw[0],
            pair.usd_exchange,
            usd_symbol,
            usd[0],
            fx,
            fx_source,
            value,
            krw[1],
            usd[1],
        )

    def _price(self, exchange: str, symbol: str, now: float) -> tuple[float, str] | None:
        """``(price, "mid" | "last")`` of a market, or ``None`` when nothing recent enough exists."""
        try:
            book = self._book_of(exchange, symbol)
        except UsageError:
            book = None  # that exchange is not running (yet)
        if book is not None and book.synced and book.updated is not None and now - book.updated <= self.max_age:
            mid = book.mid()
            if mid is not None:
                return mid, "mid"
        trade = self._trades.get((exchange, symbol))
        if trade is not None and now - trade[1] <= self.max_age:
            return trade[0], "last"
        return None

    def _alerts(self, pair: PremiumPair, premium: Premium) -> list[Event]:
        states = self._states.get(pair)
        if states is None:
            states = self._states[pair] = [RuleState(rule, {}) for rule in self._rules]
        fired: list[Event] = []
        for state in states:
            values = state.check(premium, [])
            if values is not None:
                # The alert names the KRW market; the rule text says which market abroad.
                rule = f"{state.rule.text} ({pair.usd_exchange} {premium.usd_symbol})"
                p = premium
                fired.append(Alert(p.exchange, p.symbol, p.timestamp, p.received, rule, None, values))
        return fired
