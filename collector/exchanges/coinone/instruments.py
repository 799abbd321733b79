"""Coinone's market list: ``GET /public/v2/markets/{quote_currency}`` as instruments."""

from __future__ import annotations

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import MarketsResponse

__all__ = ["decode_markets"]

_markets = msgspec.json.Decoder(MarketsResponse, strict=False)


def decode_markets(exchange: str, body: bytes) -> list[Instrument]:
    """The instruments of one markets answer; raises ``ValueError`` for an error answer.

    A market is ``{quote_currency, target_currency}`` (``KRW``/``BTC`` is ``BTC/KRW``); its
    native id here is ``KRW-BTC``, the order of the REST paths ``/{quote}/{target}``. A
    market is active while it trades at all (``trade_status`` 1 both ways, 2 no buys, 3 no
    sells) and is not under maintenance (``maintenance_status`` 0).
    """
    reply = _markets.decode(body)
    if reply.result != "success":
        # Errors come with HTTP 200: {"result":"error","error_code":"4",...}.
        raise ValueError(f"result {reply.result!r}, error_code {reply.error_code!r}")
    instruments = []
    for m in reply.markets:
        quote, base = m.quote_currency.upper(), m.target_currency.upper()
        if not (quote and base):
            continue
        instruments.append(
            Instrument(
                exchange=exchange,
                native=f"{quote}-{base}",
                symbol=unified_symbol(base, quote),
                base=base,
                quote=quote,
                kind="spot",
                tick_size=m.price_unit or None,
                step_size=m.qty_unit or None,
                active=m.trade_status != 0 and m.maintenance_status == 0,
            )
        )
    return instruments
