"""GOPAX's instrument list: ``GET /trading-pairs``, every listed pair (delisted ones are absent)."""

from __future__ import annotations

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import TradingPair

__all__ = ["INSTRUMENTS_PATH", "decode_instruments"]

INSTRUMENTS_PATH = "/trading-pairs"

_pairs = msgspec.json.Decoder(list[TradingPair], strict=False)


def decode_instruments(exchange: str, body: bytes) -> list[Instrument]:
    """Instruments from a ``/trading-pairs`` answer (raises ``msgspec.DecodeError`` if it is not one).

    Symbols come from ``baseAsset``/``quoteAsset``, not from splitting ``name`` (``BTC-KRW``
    is BASE-QUOTE, the opposite of Upbit's). The quantity step is ``10**-baseAssetScale``;
    the price tick depends on the price band (``/price-tick-size``), so it is left unset.
    """
    instruments = []
    for pair in _pairs.decode(body):
        if not (pair.name and pair.baseAsset and pair.quoteAsset):
            continue
        scale = pair.baseAssetScale
        instruments.append(
            Instrument(
                exchange=exchange,
                native=pair.name,
                symbol=unified_symbol(pair.baseAsset, pair.quoteAsset),
                base=pair.baseAsset,
                quote=pair.quoteAsset,
                kind="spot",
                step_size=10.0**-scale if scale is not None and 0 <= scale <= 18 else None,
            )
        )
    return instruments
