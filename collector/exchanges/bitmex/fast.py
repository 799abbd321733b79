"""The fast path (:mod:`collector.fastpath`) for BitMEX table pushes that are a pure function of the frame.

Table pushes start with their table (``{"table":"quote","action":"insert","data":[...]}``): the
router reads the table name. A table carries the rows of every symbol subscribed on the
connection, each row naming its symbol, so a route reads the symbol per row
(``symbol_from``); a row of a symbol the route does not take declines the whole frame, which
the adapter's path then reads.

Routed: ``quote`` rows of the contracts whose ticker takes nothing from the ``instrument``
table (no last price or 24 h figures merged in), with their time as BitMEX writes it
(:data:`~.schemas.IsoTime`, read to the microsecond as the adapter's path reads it). A
contract leaves the route when ``instrument`` rows bring it statistics, and comes back when
a new ``instrument`` image has none.

Not routed: trades (the last trade is remembered, so that the image sent on a subscription
does not repeat what was emitted), book rows (a delta is the rows of one symbol, timed by
the last row, and crossing levels are removed against the held book), ``instrument``
(merged), ``tradeBin*`` and ``liquidation`` (remembered against repeats).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ...fastpath import RECEIVED, attr, const, emit, iso_seconds, symbol_from
from ...models import Ticker
from .schemas import RoutedQuote, Table

__all__ = ["FastRoutes"]

_quotes = msgspec.json.Decoder(Table[RoutedQuote], strict=False)


class FastRoutes:
    """The routes of one BitMEX adapter, and the contracts its ``quote`` route takes."""

    def __init__(self, router: Any, exchange: str) -> None:
        self.plain: dict[str, str] = {}
        """native -> unified symbol of the contracts whose quotes the route turns into tickers."""
        book = (attr("bidPrice"), attr("bidSize"), attr("askPrice"), attr("askSize"))
        row = (const(exchange), symbol_from("symbol", self.plain), iso_seconds("timestamp"), RECEIVED)
        router.add("quote", _quotes, None, emit(Ticker, *row, *book, each="data"))

    def listed(self, native: str, symbol: str, merged: bool) -> None:
        """``native``'s quotes take statistics from the ``instrument`` table (``merged``) or not."""
        if merged:
            self.plain.pop(native, None)
        else:
            self.plain[native] = symbol
