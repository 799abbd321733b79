"""OKX instruments, channel names and candle bars: the facts the adapter and the simulator share.

Unified symbols come from instrument fields, never from splitting ``instId``: spot is
``baseCcy/quoteCcy``; a swap or future is its ``instFamily`` (``uly`` in older listings,
both ``BASE-QUOTE``) settled in ``settleCcy``, plus the ``expTime`` date for futures.
``BTC-USDT-SWAP`` is ``BTC/USDT:USDT``, ``BTC-USD-SWAP`` ``BTC/USD:BTC``, ``BTC-USDT-250926``
``BTC/USDT:USDT-250926``.

Contract sizes: "ctVal: for linear contracts, ctVal is in the base currency (e.g.
ctVal=0.01 BTC for BTC-USDT-SWAP); for inverse contracts, ctVal is in USD (e.g. ctVal=100
USD for BTC-USD-SWAP)". :attr:`Market.ct` is that value times ``ctMult``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import msgspec

from ...symbols import Instrument, Kind, expiry_of, unified_symbol
from .schemas import InstrumentInfo, InstrumentsResponse

__all__ = [
    "BOOK_RANK",
    "BUSINESS_CHANNELS",
    "CANDLE_BARS",
    "INSTRUMENT_TYPES",
    "KLINE_BARS",
    "SNAPSHOT_BOOKS",
    "UNUSED_CHANNELS",
    "UNUSED_PREFIXES",
    "Market",
    "listing",
]

INSTRUMENT_TYPES = ("SPOT", "SWAP", "FUTURES")
"""The ``instType`` listings the adapter loads, one request each (rate limit: "IP + Instrument Type")."""

KLINE_BARS: dict[str, str] = {
    "1s": "1s",
    "1m": "1m",
    "3m": "3m",
    "5m": "5m",
    "15m": "15m",
    "30m": "30m",
    "1h": "1H",
    "2h": "2H",
    "4h": "4H",
    # "candle6H/12H/1D..." are aligned to UTC+8; the "utc" variants to UTC like every other exchange.
    "6h": "6Hutc",
    "12h": "12Hutc",
    "1d": "1Dutc",
    "1w": "1Wutc",
}
"""Unified candle interval -> the OKX bar of the ``candle<bar>`` channel the adapter subscribes."""

_SECOND, _HOUR, _DAY = 1_000, 3_600_000, 86_400_000
CANDLE_BARS: dict[str, tuple[str, int]] = {
    "1s": ("1s", _SECOND),
    "1m": ("1m", 60 * _SECOND),
    "3m": ("3m", 180 * _SECOND),
    "5m": ("5m", 300 * _SECOND),
    "15m": ("15m", 900 * _SECOND),
    "30m": ("30m", 1_800 * _SECOND),
    "1H": ("1h", _HOUR),
    "2H": ("2h", 2 * _HOUR),
    "4H": ("4h", 4 * _HOUR),
    "6H": ("6h", 6 * _HOUR),
    "12H": ("12h", 12 * _HOUR),
    "1D": ("1d", _DAY),
    "2D": ("2d", 2 * _DAY),
    "3D": ("3d", 3 * _DAY),
    "5D": ("5d", 5 * _DAY),
    "1W": ("1w", 7 * _DAY),
    "6Hutc": ("6h", 6 * _HOUR),
    "12Hutc": ("12h", 12 * _HOUR),
    "1Dutc": ("1d", _DAY),
    "2Dutc": ("2d", 2 * _DAY),
    "3Dutc": ("3d", 3 * _DAY),
    "5Dutc": ("5d", 5 * _DAY),
    "1Wutc": ("1w", 7 * _DAY),
}
"""Every fixed-length OKX bar -> (unified interval, length in ms). A recording may hold any of
them (cryptofeed names ``candle1D``); the event's ``start`` tells the alignment. Month bars
(``1M``, ``3M``...) have no fixed length and are counted as unused."""

BUSINESS_CHANNELS = frozenset({"trades-all", *(f"candle{bar}" for bar in CANDLE_BARS)})
"""Public channels served on ``/ws/v5/business``: "candles and trades-all live on /business"
(a wrong URL is refused with 60018/64001). Everything else the adapter uses is on ``/public``."""

BOOK_RANK: dict[str, int] = {"books-l2-tbt": 0, "books50-l2-tbt": 1, "books": 2, "books5": 3, "bbo-tbt": 4}
"""Order-book channels, most complete first. A symbol's book follows one of them: the first
seen, or a better one from its snapshot on (a recording may hold several)."""

SNAPSHOT_BOOKS = frozenset({"books5", "bbo-tbt"})
"""Channels whose every push is a whole book ("Snapshot data will be pushed every 100 ms ...")."""

UNUSED_CHANNELS = frozenset(
    {
        "instruments",
        "estimated-price",
        "price-limit",
        "opt-summary",
        "status",
        "event-contract-markets",
        "option-trades",
        "call-auction-details",
        "books-elp",  # only Enhanced Liquidity Program orders: not the market's book
        "books-rpi",
        "block-tickers",
        "public-block-trades",
        "public-struc-block-trades",
        "sprd-public-trades",
        "sprd-tickers",
        "sprd-bbo-tbt",
        "sprd-books5",
        "sprd-books-l2-tbt",
        "economic-calendar",
        "candle1M",
        "candle3M",
        "candle6M",
        "candle1Y",
        "candle1Mutc",
        "candle3Mutc",
        "candle6Mutc",
        "candle1Yutc",
    }
)
"""OKX public channels the adapter turns into no events: a recording may hold them (counted, never errors)."""

UNUSED_PREFIXES = ("mark-price-candle", "index-candle", "sprd-candle")
"""Channel families of unused candles (``mark-price-candle1m`` ...), one name per bar."""


class Market(NamedTuple):
    """What parsing needs about one instrument, by native id."""

    symbol: str
    native: str
    kind: Kind
    ct: float
    """Contract value: base units per contract (linear), USD per contract (inverse), 1 on spot."""
    inverse: bool
    underlying: str
    """The index a derivative follows (``uly``: ``BTC-USDT``), ``""`` on spot."""
    places: int
    """Decimal places of a linear contract's base amount (``lotSz``'s and ``ctVal``'s together, plus a
    margin): 0.55 contracts of 0.01 BTC are 0.0055 BTC, not the float product 0.0055000000000000005."""

    def base_units(self, contracts: float, price: float) -> float:
        """A size in contracts as base units: linear ``contracts * ctVal``, inverse ``contracts * ctVal / price``."""
        if self.inverse:
            return contracts / price * self.ct  # in this order, as the fast path computes it
        return round(contracts * self.ct, self.places)


_decoder = msgspec.json.Decoder(InstrumentsResponse, strict=False)


def listing(exchange: str, body: bytes) -> list[tuple[Instrument, Market]]:
    """The instruments of one ``/api/v5/public/instruments`` answer; raises ``ValueError`` if OKX refused.

    Entries the adapter cannot use are left out: options, and contracts whose face value or
    delivery time is not set yet (OKX lists new contracts before their fields are filled).
    """
    resp = _decoder.decode(body)
    if str(resp.code) != "0":
        raise ValueError(f"code {resp.code}: {resp.msg[:200]}")
    out = []
    for info in resp.data:
        found = _instrument(exchange, info)
        if found is not None:
            out.append(found)
    return out


def _instrument(exchange: str, info: InstrumentInfo) -> tuple[Instrument, Market] | None:
    tick, step = _number(info.tickSz), _number(info.lotSz)
    active = info.state == "live"
    if info.instType in ("SPOT", "MARGIN"):
        if not (info.baseCcy and info.quoteCcy):
            return None
        symbol = unified_symbol(info.baseCcy, info.quoteCcy)
        inst = Instrument(
            exchange,
            info.instId,
            symbol,
            info.baseCcy,
            info.quoteCcy,
            "spot",
            tick_size=tick,
            step_size=step,
            active=active,
        )
        return inst, Market(symbol, info.instId, "spot", 1.0, False, "", 0)
    if info.instType not in ("SWAP", "FUTURES") or info.ctType not in ("linear", "inverse"):
        return None
    value, multiplier = _number(info.ctVal), _number(info.ctMult) or 1.0
    pair = _pair(info)
    if value is None or pair is None or not info.settleCcy:
        return None  # a contract listed before its fields are set
    expiry: str | None = None
    if info.instType == "FUTURES":
        delivery = _number(info.expTime)
        if delivery is None:
            return None
        expiry = expiry_of(int(delivery))
    base, quote = pair
    symbol = unified_symbol(base, quote, info.settleCcy, expiry)
    kind: Kind = "future" if expiry else "swap"
    ct = value * multiplier
    inst = Instrument(
        exchange,
        info.instId,
        symbol,
        base,
        quote,
        kind,
        settle=info.settleCcy,
        expiry=expiry,
        contract_size=ct,
        tick_size=tick,
        step_size=step,
        active=active,
    )
    places = _places(info.lotSz) + _places(info.ctVal) + _places(info.ctMult) + 2
    market = Market(symbol, info.instId, kind, ct, info.ctType == "inverse", info.uly or info.instFamily, places)
    return inst, market


def _pair(info: InstrumentInfo) -> tuple[str, str] | None:
    """(base, quote) of a contract from its family (``BTC-USDT``), else from what its face value is counted in."""
    family = info.instFamily or info.uly
    base, dash, quote = family.partition("-")
    if dash and base and quote and "-" not in quote:
        return base, quote
    # Linear contracts are worth ctVal of the base and settle in the quote; inverse ones the reverse.
    if info.ctType == "linear" and info.ctValCcy:
        return info.ctValCcy, info.settleCcy
    if info.ctType == "inverse" and info.ctValCcy:
        return info.settleCcy, info.ctValCcy
    return None


def _places(text: str) -> int:
    """Decimal places of a decimal string (``"0.01"``: 2, ``"100"``: 0)."""
    return len(text.partition(".")[2].rstrip("0"))


def _number(text: str) -> float | None:
    """A listing's positive decimal, or ``None`` for "" (not applicable) and anything unusable."""
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 < value < math.inf else None
