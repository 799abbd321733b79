"""Gate's instrument listings as :class:`~collector.symbols.Instrument` objects.

- Spot: ``GET /api/v4/spot/currency_pairs`` gives ``id`` (``BTC_USDT``), ``base``, ``quote``,
  the price and amount decimals and ``trade_status``. Symbols are ``BASE/QUOTE``.
- Perpetuals: ``GET /api/v4/futures/{settle}/contracts``, one listing per settlement
  currency (``usdt``, ``btc``). A contract has no base/quote fields: its ``name`` is
  ``<BASE>_<QUOTE>`` (``BTC_USDT``, ``1000SHIB_USDT``, ``BTC_USD``) and the settlement
  currency is the listing's. ``type`` says ``direct`` (linear: one contract is
  ``quanto_multiplier`` base units) or ``inverse`` (``BTC_USD``: one contract is 1 USD,
  settled in BTC). USDT contracts become ``BTC/USDT:USDT``, BTC-settled inverse ones
  ``BTC/USD:BTC``. Quanto contracts (settled in a third currency) have no base-unit
  conversion and are not listed.
"""

from __future__ import annotations

from typing import NamedTuple

import msgspec

from ...symbols import Instrument, unified_symbol
from .schemas import Contract, CurrencyPair

__all__ = ["INVERSE_CONTRACT_USD", "ContractInfo", "contract_instruments", "settle_of_path", "spot_instruments"]

INVERSE_CONTRACT_USD = 1.0
"""The quote value of one inverse contract: "BTC_USD ... 1 contract = 1 USD"."""

_pairs = msgspec.json.Decoder(list[CurrencyPair], strict=False)
_contracts = msgspec.json.Decoder(list[Contract], strict=False)


class ContractInfo(NamedTuple):
    """What a futures frame needs about its contract: the unified symbol and how to reach base units."""

    symbol: str
    contract_size: float  # base units per contract (linear), USD per contract (inverse)
    inverse: bool
    funding_next: float | None  # epoch s of the next funding when the listing was read
    funding_interval: float  # s between fundings (0: unknown)


def spot_instruments(exchange: str, body: bytes) -> list[Instrument]:
    """Instruments of a ``/spot/currency_pairs`` answer (raises ``msgspec.DecodeError`` if it is not one)."""
    result = []
    for pair in _pairs.decode(body):
        if not (pair.base and pair.quote):
            continue
        result.append(
            Instrument(
                exchange=exchange,
                native=pair.id,
                symbol=unified_symbol(pair.base, pair.quote),
                base=pair.base,
                quote=pair.quote,
                kind="spot",
                tick_size=10.0**-pair.precision if pair.precision is not None else None,
                step_size=10.0**-pair.amount_precision if pair.amount_precision is not None else None,
                active=pair.trade_status == "tradable",
            )
        )
    return result


def settle_of_path(path: str) -> str | None:
    """``usdt`` of ``/api/v4/futures/usdt/contracts`` (``None`` if the path is no contract listing)."""
    parts = path.rstrip("/").split("/")
    if len(parts) >= 3 and parts[-1] == "contracts" and parts[-3] == "futures":
        return parts[-2].lower()
    return None


def contract_instruments(exchange: str, settle: str, body: bytes) -> list[tuple[Instrument, ContractInfo]]:
    """Instruments of one ``/futures/{settle}/contracts`` answer, with what frames need about each."""
    settle_ccy = settle.upper()
    result = []
    for c in _contracts.decode(body):
        base, sep, quote = c.name.rpartition("_")
        if not (sep and base and quote):
            continue
        inverse = c.type == "inverse"
        if inverse:
            if base != settle_ccy:
                continue  # not an inverse contract of this settlement currency
            size = INVERSE_CONTRACT_USD
        else:
            if quote != settle_ccy or not c.quanto_multiplier:
                continue  # a quanto contract: no conversion of its sizes to base units
            size = c.quanto_multiplier
        inst = Instrument(
            exchange=exchange,
            native=c.name,
            symbol=unified_symbol(base, quote, settle_ccy),
            base=base,
            quote=quote,
            kind="swap",
            settle=settle_ccy,
            contract_size=size,
            tick_size=c.order_price_round,
            active=c.status == "trading" and not c.in_delisting,
        )
        info = ContractInfo(inst.symbol, size, inverse, c.funding_next_apply, float(c.funding_interval))
        result.append((inst, info))
    return result
