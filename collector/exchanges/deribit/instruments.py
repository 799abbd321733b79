"""Deribit instruments (``public/get_instruments``) as unified instruments, and what frames need of them.

Unified symbols follow ccxt and are built from the listing's currencies, never by
splitting ``instrument_name``:

- inverse perpetual ``BTC-PERPETUAL`` -> ``BTC/USD:BTC``; inverse future ``BTC-27DEC24`` ->
  ``BTC/USD:BTC-241227`` (expiry in UTC, from ``expiration_timestamp``);
- linear perpetual ``BTC_USDC-PERPETUAL`` -> ``BTC/USDC:USDC``; spot ``BTC_USDC`` -> ``BTC/USDC``;
- option ``BTC-27DEC24-100000-C`` -> ``BTC/USD:BTC-241227-100000-C`` (the strike from ``strike``,
  ``C``/``P`` from ``option_type``); the core's ``unified_symbol`` has no strike, so the
  suffix is added here.

Future and option combos (``BTC-FS-27DEC24_PERP``) have no unified symbol and are skipped;
their ids are remembered so that their frames are counted, not reported.

Listings before 2022 carry no ``counter_currency``/``settlement_currency``/``instrument_type``:
there the settlement is the base coin, an option's counter currency is USD (its
``quote_currency`` is the coin its premium is quoted in), and a future quoted in USD and
settled in its coin is inverse.
"""

from __future__ import annotations

from typing import NamedTuple, TypeAlias

import msgspec

from ...symbols import Instrument, Kind, expiry_of, unified_symbol
from .schemas import InstrumentInfo, InstrumentsResponse

__all__ = ["Listing", "Market", "listing", "option_symbol", "strike_text"]

_decoder = msgspec.json.Decoder(InstrumentsResponse, strict=False)
_COMBOS = frozenset({"future_combo", "option_combo"})
_OPTION_TYPES = {"call": "C", "put": "P"}


class Market(msgspec.Struct, frozen=True, gc=False):
    """What the frames of one instrument need: its symbol and how its amounts are counted.

    (A struct rather than a named tuple: a listing makes a thousand of them, four times faster.)
    """

    symbol: str
    native: str
    kind: Kind
    quote: str
    inverse: bool
    """Amounts (trades, books, open interest) are USD, not the base coin: divide by the price for base units."""


class Listing(NamedTuple):
    """One listing response: its instruments, their markets and the combos it skipped."""

    instruments: list[Instrument]
    markets: list[Market]
    skipped: list[str]


def strike_text(strike: float) -> str:
    """``100000.0`` -> ``"100000"``, ``2.2`` -> ``"2.2"``: a strike as it reads in a unified symbol."""
    if strike == int(strike):
        return str(int(strike))
    return f"{strike:.10f}".rstrip("0").rstrip(".")


def option_symbol(base: str, quote: str, settle: str, expiry: str, strike: float, right: str) -> str:
    """``BTC/USD:BTC-241227-100000-C``: the dated-contract symbol plus strike and ``C``/``P``."""
    return f"{unified_symbol(base, quote, settle, expiry)}-{strike_text(strike)}-{right}"


def listing(exchange: str, body: bytes) -> Listing:
    """The instruments of a ``public/get_instruments`` answer; raises ``ValueError`` on an error answer."""
    resp = _decoder.decode(body)
    if resp.error is not None:
        raise ValueError(f"get_instruments: {resp.error.code} {resp.error.message[:200]}")
    if resp.result is None:
        raise ValueError("get_instruments: neither result nor error")
    found = Listing([], [], [])
    instruments, markets, skipped = found
    # Hundreds of options share a few expiries and strikes: their texts are made once.
    texts: _Texts = ({}, {})
    for info in resp.result:
        made = None if info.kind in _COMBOS else _instrument(exchange, info, texts)
        if made is None:
            skipped.append(info.instrument_name)
            continue
        instruments.append(made[0])
        markets.append(made[1])
    return found


_Texts: TypeAlias = tuple[dict[int, str], dict[float, str]]
"""Expiry (ms) -> ``YYMMDD``, strike -> its text: what one listing has made already."""


def _instrument(exchange: str, info: InstrumentInfo, texts: _Texts) -> tuple[Instrument, Market] | None:
    base = info.base_currency
    native = info.instrument_name
    kind = info.kind
    if kind == "spot":
        quote = info.quote_currency
        symbol = unified_symbol(base, quote)
        spot = Instrument(
            exchange, native, symbol, base, quote, "spot", None, None, 1.0, info.tick_size, info.min_trade_amount,
            info.is_active,
        )  # fmt: skip
        return spot, Market(symbol, native, "spot", quote, False)
    # Listings before 2022 name neither: coin-settled, and an option's strike is in USD.
    settle = info.settlement_currency or base
    if info.counter_currency:
        quote = info.counter_currency
    elif info.quote_currency == base:
        quote = "USD"  # an inverse option: premiums in the coin, strikes in USD
    else:
        quote = info.quote_currency
    expiry = None
    if info.settlement_period != "perpetual":
        stamp = info.expiration_timestamp
        if stamp is None:
            return None
        expiries = texts[0]
        expiry = expiries.get(stamp)
        if expiry is None:
            expiry = expiries[stamp] = expiry_of(stamp)
    unified: Kind
    if kind == "option":
        right = _OPTION_TYPES.get(info.option_type)
        strike = info.strike
        if right is None or strike is None or expiry is None:
            return None
        strikes = texts[1]
        text = strikes.get(strike)
        if text is None:
            text = strikes[strike] = strike_text(strike)
        # option_symbol, inlined for the usual case (a settlement currency named)
        symbol = (
            f"{base}/{quote}:{settle}-{expiry}-{text}-{right}"
            if settle
            else option_symbol(base, quote, settle, expiry, strike, right)
        )
        unified = "option"
        inverse = False  # "For options ... the amount is in the underlying base currency coin"
    elif kind == "future":
        symbol = unified_symbol(base, quote, settle, expiry)
        unified = "swap" if expiry is None else "future"
        style = info.instrument_type or info.future_type
        # "For perpetual and inverse futures the amount is in USD units. For ... linear
        # futures it is the underlying base currency coin."
        inverse = style == "reversed" if style else settle == base and quote != base
    else:
        return None  # a kind this adapter does not know
    # contract_size is metadata only: Deribit's amounts are USD (inverse) or coin already, never contracts.
    inst = Instrument(
        exchange, native, symbol, base, quote, unified, settle, expiry, info.contract_size, info.tick_size,
        info.min_trade_amount, info.is_active,
    )  # fmt: skip
    return inst, Market(symbol, native, unified, quote, inverse)
