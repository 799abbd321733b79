"""Crypto.com instruments: ``public/get-instruments`` to unified symbols, and the facts each push needs.

v1 lists spot pairs (``inst_type`` ``CCY_PAIR``, ``BTC_USDT``), perpetuals (``PERPETUAL_SWAP``,
``BTCUSD-PERP``) and dated futures (``FUTURE``, ``BTCUSD-250926``) in one ``result.data``;
symbols are built from ``base_ccy``/``quote_ccy``, never from the native id. Crypto.com
derivatives are margined and settled in USD ("USD" is the USD bundle, not an alias of USDC or
USDT): ``BTCUSD-PERP`` is ``BTC/USD:USD``, ``BTCUSD-250926`` is ``BTC/USD:USD-250926``. Their
quantities are base-currency amounts (``contract_size`` 1 where it is listed at all).
Warrants and non-contract products are skipped. The legacy v2 listing (``result.instruments``,
spot only, ``instrument_name``/``base_currency``/``quote_currency``) is read as well, for
captures of the old API.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from ...symbols import Instrument, expiry_of, unified_symbol
from .schemas import InstrumentsResponse, InstrumentV1, InstrumentV2

__all__ = ["INSTRUMENTS_PATH", "Market", "parse_listing"]

INSTRUMENTS_PATH = "/exchange/v1/public/get-instruments"
"""The v1 listing below the REST host."""

_listing = msgspec.json.Decoder(InstrumentsResponse, strict=False)
_SPOT = "CCY_PAIR"
_PERPETUAL = "PERPETUAL_SWAP"
_FUTURE = "FUTURE"


@dataclass(frozen=True, slots=True)
class Market:
    """What a push of one native instrument needs: its symbol, units and derivative facts.

    ``contract`` multiplies quantities into base units; ``usd_quote`` says whether ``vv``
    (24 h value "in USD") is the quote volume; ``index`` is the ``index.{name}`` channel of a
    derivative's underlying (``BTCUSD-INDEX``), ``""`` for spot.
    """

    symbol: str
    native: str
    contract: float
    derivative: bool
    perpetual: bool
    usd_quote: bool
    index: str


def parse_listing(exchange: str, body: bytes) -> list[tuple[Instrument, Market]]:
    """Instruments of a v1 (or legacy v2) listing; raises ``ValueError`` when it is a refusal."""
    resp = _listing.decode(body)
    if str(resp.code) != "0":
        raise ValueError(f"code {resp.code}: {resp.message}")
    found: list[tuple[Instrument, Market]] = []
    for info in resp.result.data:
        entry = _v1(exchange, info)
        if entry is not None:
            found.append(entry)
    for legacy in resp.result.instruments:
        found.append(_v2(exchange, legacy))
    return found


def _v1(exchange: str, info: InstrumentV1) -> tuple[Instrument, Market] | None:
    base, quote, kind = info.base_ccy, info.quote_ccy, info.inst_type
    if not (base and quote) or kind not in (_SPOT, _PERPETUAL, _FUTURE):
        return None  # warrants, combos, prediction contracts: no unified market to map them to
    tick, step = _number(info.price_tick_size), _number(info.qty_tick_size)
    if kind == _SPOT:
        inst = Instrument(
            exchange=exchange,
            native=info.symbol,
            symbol=unified_symbol(base, quote),
            base=base,
            quote=quote,
            kind="spot",
            tick_size=tick,
            step_size=step,
            active=info.tradable,
        )
        return inst, Market(inst.symbol, info.symbol, 1.0, False, False, quote == "USD", "")
    expiry = None
    if kind == _FUTURE:
        millis = _number(info.expiry_timestamp_ms)
        if not millis:
            return None  # a future without its delivery time cannot be named
        expiry = expiry_of(int(millis))
    contract = _number(info.contract_size) or 1.0
    inst = Instrument(
        exchange=exchange,
        native=info.symbol,
        symbol=unified_symbol(base, quote, quote, expiry),  # settled in the quote currency (USD)
        base=base,
        quote=quote,
        kind="swap" if expiry is None else "future",
        settle=quote,
        expiry=expiry,
        contract_size=contract,
        tick_size=tick,
        step_size=step,
        active=info.tradable,
    )
    market = Market(inst.symbol, info.symbol, contract, True, expiry is None, quote == "USD", info.underlying_symbol)
    return inst, market


def _v2(exchange: str, info: InstrumentV2) -> tuple[Instrument, Market]:
    base, quote = info.base_currency, info.quote_currency
    inst = Instrument(
        exchange=exchange,
        native=info.instrument_name,
        symbol=unified_symbol(base, quote),
        base=base,
        quote=quote,
        kind="spot",
        tick_size=10.0**-info.price_decimals if info.price_decimals is not None else None,
        step_size=10.0**-info.quantity_decimals if info.quantity_decimals is not None else None,
    )
    return inst, Market(inst.symbol, info.instrument_name, 1.0, False, False, quote == "USD", "")


def _number(value: str | float | int | None) -> float | None:
    """A listed number; ``None`` for a missing or empty one (``""`` where it does not apply)."""
    if value is None or value == "":
        return None
    number = float(value)
    if not 0.0 <= number < float("inf"):
        raise ValueError(f"listed number out of range: {value!r}")
    return number
