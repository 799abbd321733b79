"""Which Gemini v2 feeds carry which unified channels, and the subscribe messages that ask for them.

- ``trades``, ``ticker`` and ``book`` of a symbol all come from its one ``l2`` subscription.
- ``candles`` come from ``candles_<interval>``: 1m, 5m, 15m, 30m, 1h, 6h or 1d.
- ``funding`` (perpetuals only) comes from ``mark_price`` and ``funding_amount``.

Messages: ``{"type":"subscribe"|"unsubscribe","subscriptions":[{"name":<feed>,"symbols":[...]}]}``,
one feed per message, symbols as ``/v1/symbols/details`` names them (``BTCUSD``, ``BTCGUSDPERP``).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from ...errors import UsageError
from ...symbols import InstrumentMap
from ..base import Channel, Subscription
from .parse import INTERVAL_SECONDS

__all__ = ["CANDLE_FEEDS", "MARKET", "Wanted", "request", "wanted"]

CANDLE_FEEDS = {interval: f"candles_{interval}" for interval in INTERVAL_SECONDS}
"""Unified candle interval -> Gemini v2 subscription name."""

MARKET: frozenset[Channel] = frozenset({"trades", "ticker", "book"})
"""The channels of the ``l2`` feed."""

Wanted = tuple[dict[str, dict[str, str]], dict[str, set[Channel]]]
"""``(feed -> {native id: unified symbol}, symbol -> l2 channels asked for)``."""


def request(kind: str, feed: str, natives: list[str]) -> str:
    """A ``subscribe`` or ``unsubscribe`` message for one feed."""
    return orjson.dumps({"type": kind, "subscriptions": [{"name": feed, "symbols": natives}]}).decode()


def wanted(exchange: str, subscriptions: Sequence[Subscription], instruments: InstrumentMap) -> Wanted:
    """The feeds ``subscriptions`` need; raises ``UnknownSymbol`` or ``UsageError`` for what Gemini has not."""
    feeds: dict[str, dict[str, str]] = {}
    channels: dict[str, set[Channel]] = {}
    for sub in subscriptions:
        inst = instruments.by_symbol(sub.symbol)  # UnknownSymbol names the valid form
        if sub.channel in MARKET:
            names = ["l2"]
            channels.setdefault(sub.symbol, set()).add(sub.channel)
        elif sub.channel == "candles":
            feed = CANDLE_FEEDS.get(sub.interval)
            if feed is None:
                raise UsageError(f"{exchange}: no candle interval {sub.interval!r}; use one of {tuple(CANDLE_FEEDS)}")
            names = [feed]
        elif sub.channel == "funding":
            if inst.kind != "swap":
                raise UsageError(f"{exchange}: funding is published for perpetuals only, not {sub.symbol}")
            names = ["mark_price", "funding_amount"]
        else:
            raise UsageError(
                f"{exchange}: no {sub.channel!r} channel; use one of trades, ticker, book, candles, funding"
            )
        for name in names:
            feeds.setdefault(name, {})[inst.native] = sub.symbol
    return feeds, channels
