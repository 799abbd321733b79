"""Instruments and the two-way map between exchange-native ids and unified symbols.

Unified symbols follow the convention ccxt users know: spot ``BASE/QUOTE``, linear
perpetual ``BTC/USDT:USDT``, inverse perpetual ``BTC/USD:BTC``, dated future
``BTC/USDT:USDT-250926``. They are built from the exchange's instrument metadata
(base, quote, settlement asset, expiry), never by splitting the native id.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Literal, TypeAlias

import msgspec

from .errors import UnknownSymbol

__all__ = ["Instrument", "InstrumentMap", "Kind", "expiry_of", "unified_symbol"]

Kind: TypeAlias = Literal["spot", "swap", "future", "option"]


def expiry_of(millis: int) -> str:
    """A delivery time in epoch milliseconds as the ``YYMMDD`` (UTC) of unified symbols."""
    return time.strftime("%y%m%d", time.gmtime(millis / 1000))


def unified_symbol(base: str, quote: str, settle: str | None = None, expiry: str | None = None) -> str:
    """Build a unified symbol: ``BTC/USDT``, ``BTC/USDT:USDT``, ``BTC/USD:BTC-250926``.

    ``expiry`` is ``YYMMDD``. Spot instruments have no ``settle``.
    """
    symbol = f"{base}/{quote}"
    if settle:
        symbol += f":{settle}"
        if expiry:
            symbol += f"-{expiry}"
    return symbol


class Instrument(msgspec.Struct, frozen=True):
    """One tradable instrument as the exchange lists it.

    ``native`` is the id used on the wire (``BTCUSDT``, ``KRW-BTC``); ``symbol`` the unified
    one. ``contract_size`` is 1 for spot; for inverse contracts it is the quote value
    of one contract (sizes on the wire are then in contracts).
    """

    exchange: str
    native: str
    symbol: str
    base: str
    quote: str
    kind: Kind
    settle: str | None = None
    expiry: str | None = None
    contract_size: float = 1.0
    tick_size: float | None = None
    step_size: float | None = None
    active: bool = True


class InstrumentMap:
    """Both-ways lookup between native ids and unified symbols for one exchange id.

    Fill it from the exchange's instrument list (the adapter's ``load_instruments``);
    lookups of unknown ids raise :class:`~collector.errors.UnknownSymbol`.
    """

    __slots__ = ("_by_native", "_by_symbol", "exchange", "symbols_by_native")

    def __init__(self, exchange: str, instruments: Iterable[Instrument] = ()) -> None:
        self.exchange = exchange
        self._by_native: dict[str, Instrument] = {}
        self._by_symbol: dict[str, Instrument] = {}
        # native id -> unified symbol: the one lookup on every frame, kept as a plain dict.
        self.symbols_by_native: dict[str, str] = {}
        self.update(instruments)

    def update(self, instruments: Iterable[Instrument]) -> None:
        """Add or replace instruments (a later listing wins)."""
        for inst in instruments:
            self._by_native[inst.native] = inst
            self._by_symbol[inst.symbol] = inst
            self.symbols_by_native[inst.native] = inst.symbol

    def __len__(self) -> int:
        return len(self._by_native)

    def __iter__(self) -> Iterator[Instrument]:
        return iter(self._by_symbol.values())

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol

    def by_native(self, native: str) -> Instrument:
        """The instrument with this native id; raises :class:`UnknownSymbol`."""
        try:
            return self._by_native[native]
        except KeyError:
            raise UnknownSymbol(f"{self.exchange}: no instrument with native id {native!r}") from None

    def by_symbol(self, symbol: str) -> Instrument:
        """The instrument with this unified symbol; raises :class:`UnknownSymbol`."""
        try:
            return self._by_symbol[symbol]
        except KeyError:
            raise UnknownSymbol(
                f"{self.exchange}: no instrument {symbol!r} (unified symbols look like BTC/USDT, "
                "BTC/USDT:USDT, BTC/USD:BTC-250926)"
            ) from None

    def symbol_of(self, native: str) -> str | None:
        """The unified symbol for a native id, or ``None`` when unknown (hot path: no exception)."""
        return self.symbols_by_native.get(native)
