"""Bitfinex book checksums (``OB_CHECKSUM``) and the number text they are computed from.

The documented algorithm (docs.bitfinex.com, "WebSocket Checksum"): "The calculation
will need you to input the 25 highest bids and the 25 lowest asks", interleaved
``bids[0].price, bids[0].amount, asks[0].price, asks[0].amount, ...`` (a missing level is
skipped), asks with their negative amounts as on the wire, joined with ``":"``, CRC32'd;
"Checksums will be sent as a signed integer".

The values must be written exactly as they were received: Bitfinex writes numbers as
JavaScript does (``JSON.stringify``), so ``0.0000082`` stays fixed-point while ``1.7e-7``
does not, and ``2`` has no ``.0``. :func:`js_number` writes a parsed float back in that
form; since JavaScript prints the shortest text that reads back as the same double,
this gives back the received text itself, without keeping every level's text around.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from itertools import zip_longest

from ...book import OrderBook
from ...crc import INTERLEAVED, LevelChecksum, signed
from ...models import Level

__all__ = ["CHECKSUM_DEPTH", "BookChecksum", "book_checksum", "checksum_text", "js_number", "signed_crc32"]

CHECKSUM_DEPTH = 25
"""Levels per side the checksum covers."""

_MEMO_LIMIT = 50_000
_texts: dict[float, str] = {}
_pairs: dict[tuple[float, float], str] = {}


def js_number(value: float) -> str:
    """``value`` as JavaScript's ``Number.prototype.toString`` writes it: ``2``, ``0.000017``, ``1.7e-7``."""
    text = _texts.get(value)
    if text is not None:
        return text
    # repr has the shortest digits that read back as the same double, as JavaScript picks
    # them; only the layout differs: JavaScript is fixed-point for 1e-6 <= |x| < 1e21.
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    if not e:
        if value == 0.0:
            text = "0"  # -0 too
        elif text.endswith(".0"):
            text = text[:-2]  # "2", not "2.0"
    else:
        power = int(exponent)
        sign = "-" if mantissa.startswith("-") else ""
        digits = mantissa.lstrip("-").replace(".", "")
        if power < -6 or power >= 21:
            # JavaScript: no exponent padding: "1.7e-7", "1e+21".
            text = f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
        elif power < 0:
            text = f"{sign}0.{'0' * (-power - 1)}{digits}"  # 1.7e-05 -> 0.000017
        else:
            text = sign + digits + "0" * (power - len(digits) + 1)  # 7.2e+19 -> 72000000000000000000
    if len(_texts) >= _MEMO_LIMIT:
        _texts.clear()
    _texts[value] = text
    return text


def checksum_text(bids: Sequence[Level], asks: Sequence[Level]) -> str:
    """The string Bitfinex CRCs, from levels best first with positive sizes (asks are negated here)."""
    known, pair = _pairs.get, _pair_text
    b = [known((price, size)) or pair(price, size) for price, size in bids[:CHECKSUM_DEPTH]]
    a = [known((price, -size)) or pair(price, -size) for price, size in asks[:CHECKSUM_DEPTH]]
    if len(b) == len(a):
        return ":".join([x for level in zip(b, a, strict=True) for x in level])
    # One side is shorter: "if bid[i] exists push ..., if ask[i] exists push ...".
    return ":".join([x for level in zip_longest(b, a) for x in level if x is not None])


def _pair_text(price: float, amount: float) -> str:
    # A book's best levels mostly stay put between two checksums: their text is remembered.
    key = (price, amount)
    text = _pairs.get(key)
    if text is None:
        if len(_pairs) >= _MEMO_LIMIT:
            _pairs.clear()
        text = _pairs[key] = f"{js_number(price)}:{js_number(amount)}"
    return text


def signed_crc32(text: str) -> int:
    """CRC32 of ``text`` as the signed 32-bit integer Bitfinex sends."""
    return signed(zlib.crc32(text.encode()))


def book_checksum(symbol: str, book: OrderBook) -> int:
    """The checksum of a maintained book (a :data:`collector.book.Checksum` for ``BookSync``)."""
    top = book.top(CHECKSUM_DEPTH)
    return signed_crc32(checksum_text(top.bids, top.asks))


class BookChecksum:
    """:func:`book_checksum` for a :class:`~collector.book.BookSync`, in C when books are.

    Each book's level texts are kept by price with the amount they were written for (asks
    negative, as on the wire) and looked up in C (:class:`collector.crc.LevelChecksum`); a
    level not written yet, or since changed, is written here and kept. Build one per
    adapter, when its books are built.
    """

    __slots__ = ("_crc", "_texts")

    def __init__(self) -> None:
        self._crc = LevelChecksum(CHECKSUM_DEPTH, INTERLEAVED, ":", sized=True, negate_asks=True)
        self._texts: dict[str, dict[float, tuple[float, str]]] = {}

    def __call__(self, symbol: str, book: OrderBook) -> int:
        texts = self._texts.get(symbol)
        if texts is None or len(texts) >= _MEMO_LIMIT:
            texts = self._texts[symbol] = {}
        crc = self._crc(book, texts, texts)
        if crc is None:
            top = book.top(CHECKSUM_DEPTH)
            for price, size in top.bids:
                texts[price] = (size, _pair_text(price, size))
            for price, size in top.asks:
                texts[price] = (-size, _pair_text(price, -size))
            crc = self._crc(book, texts, texts)
            assert crc is not None, "every level of the checksum's depth was just written"
        return signed(crc)
