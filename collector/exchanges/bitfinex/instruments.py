"""Bitfinex instruments from the public configuration endpoints.

- ``GET /v2/conf/pub:list:pair:exchange``: spot pairs, ``[["BTCUSD", "BTC:CNHT", ...]]``;
- ``GET /v2/conf/pub:list:pair:futures``: perpetuals, ``[["BTCF0:USTF0", ...]]``;
- ``GET /v2/conf/pub:map:currency:sym``: display labels, ``[[["UST", "USDT"], ...]]``.

The listings give no base/quote fields; the pair id *is* the documented pair format
(docs.bitfinex.com, "Supported Pairs"): "t" + pair, and "if either leg has more than 3
characters the pair is colon-separated", so a pair is split on its colon, else 3 + 3.
Perpetual legs carry an ``F0`` suffix (``BTCF0:USTF0``) that is not part of the currency.
Currency codes are Bitfinex's own (``UST`` is Tether's USDT, ``UDC`` USDC, ``BCHN`` BCH):
the label map turns them into the codes users know. Without it (a capture made by a
recorder that never asked for it) the few labels the fact sheet names are used.

Every derivative is linear and sized in its base currency: a contract size of 1.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import CurrencyMap, PairList

__all__ = ["FALLBACK_LABELS", "LISTINGS", "Listing", "split_pair"]

LISTINGS = {
    "/v2/conf/pub:list:pair:exchange": "spot",
    "/v2/conf/pub:list:pair:futures": "swap",
    "/v2/conf/pub:map:currency:sym": "labels",
}
"""Configuration paths the adapter reads -> what they hold."""

FALLBACK_LABELS = {"UST": "USDT", "UDC": "USDC", "BCHN": "BCH"}
"""Labels used until (or unless) ``pub:map:currency:sym`` is loaded."""

_pairs = msgspec.json.Decoder(PairList)
_labels = msgspec.json.Decoder(CurrencyMap)


def split_pair(pair: str) -> tuple[str, str] | None:
    """``"BTCUSD"`` -> ``("BTC", "USD")``, ``"BTC:CNHT"`` -> ``("BTC", "CNHT")``; ``None`` if it is neither form."""
    if ":" in pair:
        base, _, quote = pair.partition(":")
    elif len(pair) == 6:
        base, quote = pair[:3], pair[3:]
    else:
        return None
    return (base, quote) if base and quote and ":" not in quote else None


class Listing:
    """The pair lists and label map received so far; :meth:`instruments` builds from all of them.

    Answers may arrive in any order (the label map after a pair list), so each load
    rebuilds every instrument with the labels known by then.
    """

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.spot: list[str] = []
        self.swap: list[str] = []
        self.labels: dict[str, str] = dict(FALLBACK_LABELS)

    def load(self, kind: str, body: bytes) -> list[Instrument]:
        """Take one answer (``kind`` from :data:`LISTINGS`); return the instruments it lists (none for labels).

        Raises ``msgspec.DecodeError`` or ``ValueError`` when the body is not that listing
        (Bitfinex errors come as ``["error", CODE, "message"]``).
        """
        if kind == "labels":
            entries = _labels.decode(body)
            if len(entries) != 1:
                raise ValueError(f"expected one currency map, got {len(entries)} lists")
            # The map holds display labels in mixed case ("UST" -> "USDt", "XAUT" -> "XAUt"):
            # unified symbols are upper case, and the fallbacks name the stablecoins as every
            # other exchange does ("BTC/USDT", not "BTC/USDt").
            self.labels = {code: label.upper() for code, label in entries[0]} | FALLBACK_LABELS
            return []
        lists = _pairs.decode(body)
        if len(lists) != 1:
            raise ValueError(f"expected one pair list, got {len(lists)} lists")
        if kind == "spot":
            self.spot = lists[0]
        else:
            self.swap = lists[0]
        return list(self._build(kind, lists[0]))

    def instruments(self) -> list[Instrument]:
        """Every instrument of every listing loaded, with the current labels (the first of a symbol wins)."""
        seen: dict[str, Instrument] = {}
        for inst in [*self._build("spot", self.spot), *self._build("swap", self.swap)]:
            seen.setdefault(inst.symbol, inst)
        return list(seen.values())

    def _build(self, kind: str, pairs: Iterable[str]) -> Iterable[Instrument]:
        label = self.labels
        for pair in pairs:
            legs = split_pair(pair)
            if legs is None:
                continue
            base, quote = legs
            if kind == "spot":
                b, q = label.get(base, base), label.get(quote, quote)
                yield Instrument(self.exchange, f"t{pair}", unified_symbol(b, q), b, q, "spot")
                continue
            # "BTCF0:USTF0": perpetual legs end in F0; the collateral is the quote currency.
            if not (base.endswith("F0") and quote.endswith("F0")) or len(base) < 3 or len(quote) < 3:
                continue
            b, q = label.get(base[:-2], base[:-2]), label.get(quote[:-2], quote[:-2])
            yield Instrument(self.exchange, f"t{pair}", unified_symbol(b, q, q), b, q, "swap", settle=q)
