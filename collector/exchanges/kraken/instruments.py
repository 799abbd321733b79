"""Kraken spot instruments from REST ``AssetPairs`` and the book checksum that needs their precisions.

A Kraken pair has three names: the REST key (``XXBTZUSD``, the instrument's native id
here), the v1 websocket name ``wsname`` (``XBT/USD``, legacy asset codes) and the v2
websocket name (``BTC/USD``), which is ``wsname`` with Kraken's legacy codes replaced by
the ISO ones ("v2 uses BTC not XBT, DOGE not XDG"). The v2 name is already the unified
symbol. ``wsname`` is ``BASE/QUOTE`` by definition, so its two halves are the assets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from ...book import OrderBook
from ...crc import ASKS_THEN_BIDS, LevelChecksum
from ...symbols import Instrument, unified_symbol
from .schemas import AssetPairsResponse

__all__ = ["LEGACY_ASSETS", "Digits", "Pair", "checksum_text", "parse_asset_pairs", "v2_name"]

LEGACY_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}
"""Kraken's legacy asset codes that websocket v2 (and the unified symbols) spell the ISO way."""

_decoder = msgspec.json.Decoder(AssetPairsResponse, strict=False)


@dataclass(frozen=True, slots=True)
class Pair:
    """One spot pair: its unified symbol, its three Kraken names and its precisions."""

    symbol: str  # unified, e.g. "BTC/USD" (also the v2 websocket name)
    native: str  # REST key, e.g. "XXBTZUSD"
    v1: str  # v1 websocket name, e.g. "XBT/USD"
    price_decimals: int  # AssetPairs pair_decimals
    lot_decimals: int  # AssetPairs lot_decimals


def v2_name(wsname: str) -> tuple[str, str]:
    """``("BTC", "USD")`` for the v1 name ``XBT/USD``: legacy codes replaced, halves split at ``/``."""
    base, _, quote = wsname.partition("/")
    return LEGACY_ASSETS.get(base, base), LEGACY_ASSETS.get(quote, quote)


def parse_asset_pairs(exchange: str, body: bytes) -> list[tuple[Instrument, Pair]]:
    """Instruments of an ``AssetPairs`` answer; raises ``ValueError`` when Kraken reports an error.

    Pairs without a ``wsname`` (dark-pool ``.d`` pairs) cannot be streamed and are skipped.
    """
    resp = _decoder.decode(body)
    if resp.error:
        raise ValueError(f"AssetPairs error: {', '.join(resp.error)[:200]}")
    out = []
    for key, info in resp.result.items():
        if "/" not in info.wsname:
            continue
        base, quote = v2_name(info.wsname)
        if not (base and quote):
            continue
        symbol = unified_symbol(base, quote)
        inst = Instrument(
            exchange=exchange,
            native=key,
            symbol=symbol,
            base=base,
            quote=quote,
            kind="spot",
            tick_size=info.tick_size or 10.0**-info.pair_decimals,
            step_size=10.0**-info.lot_decimals,
            active=info.status == "online",
        )
        out.append((inst, Pair(symbol, key, info.wsname, info.pair_decimals, info.lot_decimals)))
    return out


def checksum_text(asks: Iterable[tuple[str, str]], bids: Iterable[tuple[str, str]]) -> str:
    """The string Kraken's CRC32 is taken of, from price/quantity texts as printed on the wire.

    "For each of the top 10 ask price levels, sorted by price low to high: remove '.' from
    price, remove leading zeros; remove '.' from qty, remove leading zeros; append price +
    qty. Then the top 10 bids, sorted high to low. Concatenate asks + bids."
    """
    return "".join(_digits(p) + _digits(q) for levels in (asks, bids) for p, q in levels)


def _digits(text: str) -> str:
    return text.replace(".", "").lstrip("0")


class Digits:
    """The Kraken checksum of a float book, printed with fixed decimals.

    The book keeps floats, so each value is printed with the pair's precision
    (``"%.{decimals}f"``), which gives back the wire text including its trailing zeros
    (``0.00100000`` -> ``100000``): :class:`collector.crc.LevelChecksum` with ``printed``
    does it for the top ten levels of each side (in C when compiled, where printing a
    level costs less than looking it up; the Python version keeps the levels it printed).
    """

    __slots__ = ("_crc", "_memo", "price_decimals", "size_decimals")

    def __init__(self, price_decimals: int, size_decimals: int) -> None:
        self.price_decimals = price_decimals
        self.size_decimals = size_decimals
        self._memo: dict[float, tuple[float, str]] = {}  # price -> (size, its text): the Python version's memo
        self._crc = LevelChecksum(10, ASKS_THEN_BIDS, "", printed=(price_decimals, size_decimals))

    def checksum(self, book: OrderBook) -> int:
        """CRC32 (unsigned) of the book's top 10 asks (ascending) and bids (descending)."""
        crc = self._crc(book, self._memo, self._memo)
        assert crc is not None  # printed texts always exist
        return crc

    def exact(self, book: OrderBook) -> bool:
        """Whether every value of the top 10 levels prints back to its wire text.

        A float read from a text with ``d`` decimals prints back to it while a unit of its
        last place is at least its spacing: below 2**52 units of the last place. Kraken asks
        to "parse price and qty fields using a decimal or string decoder to preserve full
        precision"; the book keeps floats, so a level of 2**52 / 10**8 (~45 million) units
        or more at 8 lot decimals cannot be checked.
        """
        top = book.top(10)
        price_limit = 2.0**52 / 10.0**self.price_decimals
        size_limit = 2.0**52 / 10.0**self.size_decimals
        return all(p < price_limit and q < size_limit for side in (top.bids, top.asks) for p, q in side)
