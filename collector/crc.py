"""CRC32 book checksums over level texts: the part every checksummed exchange shares.

OKX, Bitget, Kraken and Bitfinex each verify a maintained book by a CRC32 of its best
levels written as text. What differs is data: how many levels, which texts (the strings
received, or the floats printed the exchange's way), in which order (bid/ask interleaved,
or asks then bids), joined by what. An adapter keeps the text of each level it holds in a
dict per side, by price, and describes the rest with a :class:`LevelChecksum`; calling it
with a book and the two dicts gives the CRC, or ``None`` when a level of the book has no
text (the adapter then writes the missing ones, or reports a mismatch).

The work runs in C when the module is compiled (``collector._speedups.level_crc``, the
same result; the tests compare both), so a checksum costs a dict lookup per level, not a
Python loop over the book.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from . import speedups
from .book import OrderBook

__all__ = ["ASKS_THEN_BIDS", "INTERLEAVED", "LevelChecksum", "printed_digits", "signed", "texts_crc"]

INTERLEAVED = "interleaved"
"""``bid1 ask1 bid2 ask2 ...``, then the longer side's remaining levels (OKX, Bitget, Bitfinex)."""
ASKS_THEN_BIDS = "asks_then_bids"
"""The asks best first, then the bids best first (Kraken)."""

# The flags of collector._speedups.level_crc.
_INTERLEAVE, _SIZED, _NEGATE_ASKS, _PRINTED = 1, 2, 4, 8
_MEMO = 50_000  # printed levels memoized per book (the Python version only)

LevelCrc = Callable[..., "int | None"]


def signed(crc: int) -> int:
    """A CRC32 as the signed 32-bit integer OKX, Bitget and Bitfinex send."""
    crc &= 0xFFFFFFFF
    return crc - 0x100000000 if crc & 0x80000000 else crc


def printed_digits(value: float, decimals: int, scale: float) -> str:
    """``value`` printed with ``decimals`` places (``scale`` is ``10.0**decimals``), the point and
    leading zeros dropped: ``0.00100000`` -> ``"100000"``, ``0.0`` -> ``""`` (Kraken's level texts).

    Shortcut: when ``value * scale`` is within 0.25 of an integer ``n`` (and below 2**51, where
    the product is off by at most 0.25), the exact decimal value is closer to ``n`` than to any
    other integer, so printing rounds it to ``n``: its digits are ``n``'s. That is every value
    read from a wire text with at most ``decimals`` places. The C version does the same.
    """
    scaled = value * scale
    if 0.0 <= scaled < 2.0**51:
        n = round(scaled)
        if -0.25 < scaled - n < 0.25:
            return str(n) if n else ""
    return f"{value:.{decimals}f}".replace(".", "").lstrip("0")


def texts_crc(bids: Sequence[str], asks: Sequence[str], order: str, separator: str = ":") -> int:
    """The unsigned CRC32 of levels' texts, each side best first, joined in ``order`` by ``separator``.

    Give the sides already cut to the exchange's depth.
    """
    if order == INTERLEAVED:
        common = min(len(bids), len(asks))
        parts = [text for pair in zip(bids[:common], asks[:common], strict=True) for text in pair]
        parts += bids[common:] or asks[common:]
    else:
        parts = [*asks, *bids]
    return zlib.crc32(separator.join(parts).encode())


class LevelChecksum:
    """How one exchange writes a book for its CRC32.

    - ``depth``: levels per side.
    - ``order``: :data:`INTERLEAVED` or :data:`ASKS_THEN_BIDS`.
    - ``separator``: between two levels' texts (``":"``; Kraken: ``""``).
    - ``sized``: the dicts hold ``(size, text)`` by price, and a text written for another
      size than the book's is no text (texts the adapter writes from the floats and keeps
      while the level is unchanged; Kraken, Bitfinex).
    - ``negate_asks``: with ``sized``, an ask's text is the one written for ``-size``
      (Bitfinex writes ask amounts negative).
    - ``printed``: ``(price decimals, size decimals)``: a level's text is its price and then
      its size, each printed with :func:`printed_digits` (Kraken). No dicts are needed: pass
      empty ones, which the Python version fills as a memo of ``(size, text)`` by price (the
      C version prints every level, faster than a lookup). Never ``None``.

    Build it when the adapter is built: it takes the C implementation if books built now do
    (:func:`collector.speedups.disabled` turns both off).
    """

    __slots__ = ("_crc", "_decimals", "_flags", "depth", "separator")

    def __init__(
        self,
        depth: int,
        order: str,
        separator: str = ":",
        *,
        sized: bool = False,
        negate_asks: bool = False,
        printed: tuple[int, int] | None = None,
    ) -> None:
        if order not in (INTERLEAVED, ASKS_THEN_BIDS):
            raise ValueError(f"order must be {INTERLEAVED!r} or {ASKS_THEN_BIDS!r}, not {order!r}")
        if negate_asks and not sized:
            raise ValueError("negate_asks needs sized: plain texts carry no size")
        if printed is not None and (sized or not all(0 <= d <= 30 for d in printed)):
            raise ValueError("printed takes (price decimals, size decimals) from 0 to 30, and no sized texts")
        self.depth = depth
        self.separator = separator
        self._flags = (
            (_INTERLEAVE if order == INTERLEAVED else 0)
            | (_SIZED if sized else 0)
            | (_NEGATE_ASKS if negate_asks else 0)
            | (_PRINTED if printed is not None else 0)
        )
        self._decimals = printed or (0, 0)
        self._crc: LevelCrc = speedups.level_crc() or _level_crc

    def __call__(self, book: OrderBook, bid_texts: Mapping[float, Any], ask_texts: Mapping[float, Any]) -> int | None:
        """The unsigned CRC32 of ``book``'s best levels' texts, or ``None`` if one has no text.

        ``bid_texts``/``ask_texts`` are dicts by price of texts (or of ``(size, text)``, see the class).
        """
        args = (
            book._bid_prices,
            book._bid_sizes,
            book._ask_prices,
            book._ask_sizes,
            self.depth,
            bid_texts,
            ask_texts,
            self._flags,
            self.separator,
            *self._decimals,
        )
        crc = self._crc(*args)
        if crc is None and self._flags & _PRINTED:
            return _level_crc(*args)  # a number longer than the C version prints
        return crc


def _level_crc(
    bid_prices: array[float],
    bid_sizes: array[float],
    ask_prices: array[float],
    ask_sizes: array[float],
    depth: int,
    bid_texts: Mapping[float, Any],
    ask_texts: Mapping[float, Any],
    flags: int,
    separator: str,
    price_decimals: int = 0,
    size_decimals: int = 0,
) -> int | None:
    """The specification of ``collector._speedups.level_crc`` (sides ascending: best bid last).

    With ``PRINTED`` the C version returns ``None`` for a number printed longer than
    64 characters; this one prints it (:class:`LevelChecksum` falls back to it then).
    """
    if len(bid_prices) != len(bid_sizes) or len(ask_prices) != len(ask_sizes):
        raise ValueError("level_crc: prices and sizes differ in length")
    sized = flags & _SIZED
    ask_sign = -1.0 if flags & _NEGATE_ASKS else 1.0
    nb = min(max(depth, 0), len(bid_prices))
    na = min(max(depth, 0), len(ask_prices))
    if flags & _PRINTED:
        printer = _Printer(price_decimals, size_decimals, bid_texts, ask_texts)
        printed_bids = [printer.level(bid_texts, bid_prices[-i], bid_sizes[-i]) for i in range(1, nb + 1)]
        printed_asks = [printer.level(ask_texts, ask_prices[i], ask_sign * ask_sizes[i]) for i in range(na)]
        order = INTERLEAVED if flags & _INTERLEAVE else ASKS_THEN_BIDS
        return texts_crc(printed_bids, printed_asks, order, separator)
    # Best bid last, best ask first; the first level without a text ends the search.
    bids: list[str] = []
    for i in range(1, nb + 1):
        text = _text_of(bid_texts, bid_prices[-i], bid_sizes[-i], sized)
        if text is None:
            return None
        bids.append(text)
    asks: list[str] = []
    for i in range(na):
        text = _text_of(ask_texts, ask_prices[i], ask_sign * ask_sizes[i], sized)
        if text is None:
            return None
        asks.append(text)
    return texts_crc(bids, asks, INTERLEAVED if flags & _INTERLEAVE else ASKS_THEN_BIDS, separator)


def _text_of(texts: Mapping[float, Any], price: float, size: float, sized: int) -> str | None:
    text = texts.get(price)
    if sized and text is not None:
        if type(text) is not tuple or len(text) != 2:
            raise TypeError("level_crc: sized level texts must be (size, text) pairs")
        text = text[1] if text[0] == size else None
    if text is not None and not isinstance(text, str):
        raise TypeError("level_crc: level texts must be str")
    return text


class _Printer:
    """Levels printed for ``PRINTED``, memoized in the caller's dicts as ``(size, text)`` by price."""

    __slots__ = ("_price", "_price_scale", "_size", "_size_scale")

    def __init__(self, price_decimals: int, size_decimals: int, *memos: Any) -> None:
        if not all(0 <= d <= 30 for d in (price_decimals, size_decimals)):
            raise ValueError("level_crc: decimals must be 0 to 30")
        for memo in memos:
            if isinstance(memo, dict) and len(memo) >= _MEMO:
                memo.clear()
        self._price, self._size = price_decimals, size_decimals
        self._price_scale, self._size_scale = 10.0**price_decimals, 10.0**size_decimals

    def level(self, memo: Any, price: float, size: float) -> str:
        known = memo.get(price) if isinstance(memo, dict) else None
        if known is not None and known[0] == size:
            return known[1]  # type: ignore[no-any-return]
        text = printed_digits(price, self._price, self._price_scale) + printed_digits(
            size, self._size, self._size_scale
        )
        if isinstance(memo, dict):
            memo[price] = (size, text)
        return text
