"""Bitget instrument listings: spot pairs and the three futures product types, v2 and v1.

- Spot: ``GET /api/v2/spot/public/symbols`` (v1: ``/api/spot/v1/public/products``).
- Futures: ``GET /api/v2/mix/market/contracts?productType=USDT-FUTURES|COIN-FUTURES|USDC-FUTURES``
  (v1: ``/api/mix/v1/market/contracts?productType=umcbl|dmcbl|cmcbl``).

Each listing is identified by its *family* (``SPOT`` or a v2 product type), whatever
the API version or spelling (``usdt-futures``, ``umcbl``), so a v1 listing recorded by an
older collector answers the adapter's v2 request in replay (see :func:`listing_family`).

Sizes are in the base coin on every product line ("size: Amount (base coin)";
``minTradeNum`` "Minimum opening amount (base currency)"), so every instrument has
``contract_size`` 1 and ``sizeMultiplier`` is only the order-size step.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import msgspec

from ...symbols import Instrument, expiry_of, unified_symbol
from .schemas import Contract, Listing, SpotSymbol

__all__ = [
    "CONTRACTS_PATH",
    "FAMILIES",
    "FUTURES",
    "SPOT_PATH",
    "V1_INST_TYPES",
    "listing_family",
    "parse_listing",
]

SPOT_PATH = "/api/v2/spot/public/symbols"
CONTRACTS_PATH = "/api/v2/mix/market/contracts"

FUTURES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES")
"""The v2 futures product types ("instType" on the websocket)."""

FAMILIES = ("SPOT", *FUTURES)
"""Every product line this package lists: ``SPOT`` plus the futures product types."""

V1_INST_TYPES = {"SPOT": "sp", "USDT-FUTURES": "mc", "COIN-FUTURES": "mc", "USDC-FUTURES": "mc"}
"""The v1 public ``instType`` of each family: ``sp`` for spot, ``mc`` for every contract."""

_SPOT_PATHS = (SPOT_PATH, "/api/spot/v1/public/products")
_CONTRACT_PATHS = (CONTRACTS_PATH, "/api/mix/v1/market/contracts")
# productType spellings -> family. v1 used "umcbl" (USDT), "dmcbl" (coin-margined) and
# "cmcbl" (USDC); v2 documents upper case in its tables and lower case in its examples.
# "spot" is the simulator's synthetic captures, which record every listing on one path.
_PRODUCT_TYPES = {
    "usdt-futures": "USDT-FUTURES",
    "coin-futures": "COIN-FUTURES",
    "usdc-futures": "USDC-FUTURES",
    "umcbl": "USDT-FUTURES",
    "dmcbl": "COIN-FUTURES",
    "cmcbl": "USDC-FUTURES",
    "spot": "SPOT",
}
# v1 contract ids are "<id>_<PRODUCT>"; the public websocket uses "<id>".
_V1_SUFFIXES = frozenset({"UMCBL", "DMCBL", "CMCBL"})
_OK = frozenset({"00000", "0"})

_spot = msgspec.json.Decoder(Listing[SpotSymbol], strict=False)
_contracts = msgspec.json.Decoder(Listing[Contract], strict=False)


def listing_family(url: str) -> str | None:
    """The family (``SPOT``, ``USDT-FUTURES`` ...) of a v1 or v2 listing URL, any host or prefix; else ``None``."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith(_SPOT_PATHS):
        return "SPOT"
    if not path.endswith(_CONTRACT_PATHS):
        return None
    product = dict(parse_qsl(parts.query)).get("productType", "")
    return _PRODUCT_TYPES.get(product.lower())


def parse_listing(exchange: str, family: str, body: bytes) -> list[Instrument]:
    """The instruments of one listing of ``family``; raises ``ValueError`` for a refusal.

    The body may be v2 or v1 (a recorded session): each entry says which by its fields.
    """
    if family == "SPOT":
        spot = _spot.decode(body)
        _check(spot.code, spot.msg)
        return [_spot_instrument(exchange, info) for info in spot.data or ()]
    futures = _contracts.decode(body)
    _check(futures.code, futures.msg)
    found = (_contract(exchange, family, info) for info in futures.data or ())
    return [inst for inst in found if inst is not None]


def _check(code: str | int, msg: str) -> None:
    if str(code) not in _OK:
        raise ValueError(f"code {code}: {msg[:200]}")


def _spot_instrument(exchange: str, info: SpotSymbol) -> Instrument:
    price_decimals = info.pricePrecision if info.pricePrecision is not None else info.priceScale
    size_decimals = info.quantityPrecision if info.quantityPrecision is not None else info.quantityScale
    return Instrument(
        exchange=exchange,
        # v1 products are "BTCUSDT_SPBL" with the websocket id in symbolName; v2 symbols are the id.
        native=info.symbolName or info.symbol,
        symbol=unified_symbol(info.baseCoin, info.quoteCoin),
        base=info.baseCoin,
        quote=info.quoteCoin,
        kind="spot",
        tick_size=10.0**-price_decimals if price_decimals is not None else None,
        step_size=10.0**-size_decimals if size_decimals is not None else None,
        active=info.status == "online",
    )


def _contract(exchange: str, family: str, info: Contract) -> Instrument | None:
    native = info.symbolName or info.symbol
    head, _, tail = native.partition("_")
    if tail.upper() in _V1_SUFFIXES:
        native = head  # v1 "BTCUSDT_UMCBL" streams as "BTCUSDT"
    elif tail and not info.symbolName and info.symbolType != "delivery":
        return None  # v1 demo ("_SUMCBL") or dated ids whose stream name is not documented
    base, quote = info.baseCoin, info.quoteCoin
    # "USDT-FUTURES: Futures settled in USDT ... COIN-FUTURES: Futures settled in cryptocurrencies".
    settle = base if family == "COIN-FUTURES" else quote
    if info.symbolType == "delivery":
        delivery = str(info.deliveryTime)
        if not delivery.isdigit():
            return None
        expiry: str | None = expiry_of(int(delivery))
    else:
        expiry = None  # "perpetual" (or absent in early v1 listings, which held perpetuals only)
    tick = None
    if info.pricePlace is not None:
        tick = (info.priceEndStep or 1) * 10.0**-info.pricePlace
    step = info.sizeMultiplier
    if step is None and info.volumePlace is not None:
        step = 10.0**-info.volumePlace
    return Instrument(
        exchange=exchange,
        native=native,
        symbol=unified_symbol(base, quote, settle, expiry),
        base=base,
        quote=quote,
        kind="swap" if expiry is None else "future",
        settle=settle,
        expiry=expiry,
        contract_size=1.0,  # sizes are base coin on every product type
        tick_size=tick,
        step_size=step,
        active=info.symbolStatus in ("normal", ""),
    )
