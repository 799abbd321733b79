"""Kraken spot instruments from REST ``AssetPairs`` and the book checksum that needs their precisions.

A Kraken pair has three names: the REST key (``XXBTZUSD``, the instrument's native id
here), the v1 websocket name ``wsname`` (``XBT/USD``, legacy asset codes) and the v2
websocket name (``BTC/USD``), which is ``wsname`` with Kraken's legacy codes replaced by
the ISO ones ("v2 uses BTC not XBT, DOGE not XDG"). The v2 name is already the unified
symbol. ``wsname`` is ``BASE/QUOTE`` by definition, so its two halves are the assets.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import msgspec

from ...book import OrderBook
from ...symbols import Instrument, unified_symbol
from .schemas import AssetPairsResponse

__all__ = ["LEGACY_ASSETS", "Digits", "Pair", "checksum_text", "parse_asset_pairs", "v2_name"]

LEGACY_ASSETS = {"XBT": "BTC", "XDG": "DOGE"}
"""Kraken's legacy asset codes that websocket v2 (and the unified symbols) spell the ISO way."""

_decoder = msgspec.json.Decoder(AssetPairsResponse, strict=False)
_MEMO = 4096  # formatted prices/sizes kept per book; the top 10 levels revisit the same values


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


@dataclass(slots=True)
class Digits:
    """The Kraken checksum of a float book, printed with fixed decimals.

    The book keeps floats, so each value is printed with the pair's precision
    (``"%.{decimals}f"``), which gives back the wire text including its trailing zeros
    (``0.00100000`` -> ``100000``). Printed texts are memoised: the top levels change
    slowly, so most values were printed before.
    """

    price_decimals: int
    size_decimals: int
    _prices: dict[float, str] = field(default_factory=dict, repr=False)
    _sizes: dict[float, str] = field(default_factory=dict, repr=False)

    def checksum(self, book: OrderBook) -> int:
        """CRC32 (unsigned) of the book's top 10 asks (ascending) and bids (descending)."""
        top = book.top(10)
        prices, sizes = self._prices, self._sizes
        parts: list[str] = []
        append = parts.append
        # Runs after every update of every book: the memo lookups are inlined.
        for side in (top.asks, top.bids):
            for p, q in side:
                text = prices.get(p)
                append(text if text is not None else self._price(p))
                text = sizes.get(q)
                append(text if text is not None else self._size(q))
        return zlib.crc32("".join(parts).encode())

    def _price(self, value: float) -> str:
        text = self._prices.get(value)
        if text is None:
            if len(self._prices) >= _MEMO:
                self._prices.clear()
            text = self._prices[value] = _digits(f"{value:.{self.price_decimals}f}")
        return text

    def _size(self, value: float) -> str:
        text = self._sizes.get(value)
        if text is None:
            if len(self._sizes) >= _MEMO:
                self._sizes.clear()
            text = self._sizes[value] = _digits(f"{value:.{self.size_decimals}f}")
        return text
