"""HTX instrument listings and the channel vocabulary shared by the spot and swap adapters.

- Spot: ``GET https://api.huobi.pro/v1/common/symbols`` (what cryptofeed's recorder asks
  for too); ``base-currency``/``quote-currency`` are lower case (``btc``/``usdt``), the
  price tick is ``10**-price-precision`` and the size step ``10**-amount-precision``.
- Swaps: ``GET https://api.hbdm.com/linear-swap-api/v1/swap_contract_info`` (USDT-margined)
  and ``/swap-api/v1/swap_contract_info`` (coin-margined). ``contract_size`` is the base
  coin per contract on linear contracts ("BTC-USDT": 0.001 BTC) and USD per contract on
  coin-margined ones ("BTC-USD": 100 USD); ``contract_status`` 1 is "listed".

Unified symbols come from these fields, never from splitting ``btcusdt`` or ``BTC-USDT``.
"""

from __future__ import annotations

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import ContractList, SpotSymbolList

__all__ = [
    "KLINE_PERIODS",
    "PERIOD_SECONDS",
    "UNUSED_PERIODS",
    "Market",
    "contract_instruments",
    "spot_instruments",
]

KLINE_PERIODS: dict[str, str] = {
    "1m": "1min",
    "5m": "5min",
    "15m": "15min",
    "30m": "30min",
    "1h": "60min",
    "4h": "4hour",
    "1d": "1day",
    "1w": "1week",
}
"""Unified candle interval -> HTX kline period (spot and swaps)."""

PERIOD_SECONDS: dict[str, tuple[str, int]] = {
    period: (unified, seconds)
    for unified, period, seconds in zip(
        KLINE_PERIODS, KLINE_PERIODS.values(), (60, 300, 900, 1800, 3600, 14400, 86400, 604800), strict=True
    )
}
"""HTX kline period -> (unified interval, bar length in seconds)."""

UNUSED_PERIODS = frozenset({"1mon", "1year"})
"""Kline periods HTX offers whose bars have no fixed length: counted, not turned into candles."""

_spot_symbols = msgspec.json.Decoder(SpotSymbolList, strict=False)
_contracts = msgspec.json.Decoder(ContractList, strict=False)


class Market(msgspec.Struct, frozen=True, gc=False):
    """What a frame handler needs about one instrument: its unified symbol and contract terms."""

    symbol: str
    contract_size: float = 1.0
    inverse: bool = False

    def base_units(self, contracts: float, price: float) -> float:
        """Contracts as base units: linear ``contracts * size``, coin-margined ``contracts * size / price``."""
        if self.inverse:
            return contracts * self.contract_size / price
        return contracts * self.contract_size


def spot_instruments(exchange: str, body: bytes) -> list[Instrument]:
    """The instruments of a ``/v1/common/symbols`` answer; raises ``ValueError`` if it is not one."""
    listing = _spot_symbols.decode(body)
    if listing.status != "ok":
        raise ValueError(f"status {listing.status!r}: {listing.err_msg}")
    out = []
    for s in listing.data:
        base, quote = s.base.upper(), s.quote.upper()
        out.append(
            Instrument(
                exchange=exchange,
                native=s.symbol,
                symbol=unified_symbol(base, quote),
                base=base,
                quote=quote,
                kind="spot",
                tick_size=10.0**-s.price_precision if s.price_precision is not None else None,
                step_size=10.0**-s.amount_precision if s.amount_precision is not None else None,
                active=s.state == "online",
            )
        )
    return out


def contract_instruments(exchange: str, body: bytes, *, inverse: bool) -> list[Instrument]:
    """The instruments of a ``swap_contract_info`` answer (``inverse``: the coin-margined listing)."""
    listing = _contracts.decode(body)
    if listing.status != "ok":
        raise ValueError(f"status {listing.status!r}: {listing.err_msg}")
    out = []
    for c in listing.data:
        base = c.symbol.upper()
        # Coin-margined contracts are quoted in USD and settled in the coin; linear ones
        # are quoted and margined in their trade partition (USDT).
        quote = "USD" if inverse else (c.trade_partition or "USDT").upper()
        settle = base if inverse else quote
        expiry = None
        if c.business_type == "futures":
            if len(c.delivery_date) != 8 or not c.delivery_date.isdigit():
                continue  # a dated contract without a delivery date cannot be named
            expiry = c.delivery_date[2:]  # "20210625" -> "210625"
        out.append(
            Instrument(
                exchange=exchange,
                native=c.contract_code,
                symbol=unified_symbol(base, quote, settle, expiry),
                base=base,
                quote=quote,
                kind="future" if expiry else "swap",
                settle=settle,
                expiry=expiry,
                contract_size=c.contract_size,
                tick_size=c.price_tick,
                step_size=1.0,  # orders are whole contracts
                active=c.contract_status == 1,
            )
        )
    return out
