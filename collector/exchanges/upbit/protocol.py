"""Facts of the Upbit quotation protocol that every exchange speaking it shares.

Response key sets, the price grouping units an ``orderbook`` may be subscribed with and the
book keys grouped books are kept under, the typed decoders of one key set, and the market
list of ``GET /v1/market/all``. :mod:`.quotation` builds the adapter on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from ...errors import UsageError
from ...symbols import Instrument, unified_symbol
from .schemas import Market

__all__ = ["FORMATS", "LEVELS", "Decoders", "book_key", "level_text", "market_list", "split_book_key"]

FORMATS = ("DEFAULT", "SIMPLE")
"""Response key sets the adapters read (the list formats are never requested)."""

# "지원하는 전체 단위": every price grouping unit Upbit documents, as the text a book key carries.
_LEVEL_TEXTS = (
    "100000000",
    "10000000",
    "1000000",
    "100000",
    "10000",
    "1000",
    "100",
    "10",
    "1",
    "0",
    "0.1",
    "0.01",
    "0.001",
    "0.0001",
    "0.00001",
    "0.000001",
    "0.0000001",
)
LEVELS: dict[float, str] = {float(text): text for text in _LEVEL_TEXTS}
"""Grouping units (``level``) a book may carry, with their text in book keys."""


@dataclass(frozen=True, slots=True)
class Decoders:
    """The typed decoders of one key set (``DEFAULT`` or ``SIMPLE``), built once per exchange."""

    trade: msgspec.json.Decoder[Any]
    ticker: msgspec.json.Decoder[Any]
    orderbook: msgspec.json.Decoder[Any]
    candle: msgspec.json.Decoder[Any]


def level_text(level: float) -> str | None:
    """The text of a documented grouping unit (``10000.0`` -> ``"10000"``), ``None`` for any other value."""
    return LEVELS.get(level)


def book_key(symbol: str, level: float, default: float) -> str | None:
    """The book a message of ``symbol`` grouped by ``level`` feeds: the symbol itself for the
    exchange's ``default`` level and for level 0, ``<symbol>@<level>`` for a grouped book,
    ``None`` for a level that is no documented unit."""
    # Level 0 groups nothing: it is Upbit's default (level "default 0 (none)"). Bithumb's
    # default is 1 ("level | 호가 모아보기 단위 (default: 1, 기본 호가단위)", the plain tick)
    # and its books may still report 0: the plain book too. Upbit's default is 0, so this
    # changes nothing there.
    if level == default or level == 0.0:
        return symbol
    text = LEVELS.get(level)
    return None if text is None else f"{symbol}@{text}"


def split_book_key(key: str) -> tuple[str, float | None]:
    """``"BTC/KRW@10000"`` -> ``("BTC/KRW", 10000.0)``; a plain symbol has no level.

    Raises :class:`~collector.errors.UsageError` for a level that is no grouping unit.
    """
    symbol, at, text = key.partition("@")
    if not at:
        return symbol, None
    try:
        level = float(text)
    except ValueError:
        level = -1.0
    if level not in LEVELS:
        raise UsageError(f"{key!r}: a book's grouping level is one of {', '.join(_LEVEL_TEXTS)}")
    return symbol, level


_markets = msgspec.json.Decoder(list[Market])


def market_list(exchange: str, body: bytes) -> list[Instrument]:
    """Spot instruments of a ``GET /v1/market/all`` answer.

    Market codes are "{Quote}-{Base}" (docs glossary), the listing's only description of a
    market: ``KRW-BTC`` is ``BTC/KRW``. Tick sizes depend on the price (KRW bands) and are
    not in the listing.
    """
    instruments = []
    for m in _markets.decode(body):
        quote, _, base = m.market.partition("-")
        if not (quote and base):
            continue
        instruments.append(
            Instrument(
                exchange=exchange,
                native=m.market,
                symbol=unified_symbol(base, quote),
                base=base,
                quote=quote,
                kind="spot",
            )
        )
    return instruments
