"""Coinbase products (``GET /api/v3/brokerage/market/products``) as unified instruments.

- ``SPOT`` products: ``BTC-USD`` is ``BTC/USD``, from ``base_currency_id`` and
  ``quote_currency_id`` (never from splitting the id).
- ``FUTURE`` products (Coinbase Derivatives, cash-settled in the quote currency, so
  linear): the underlying is ``future_product_details.contract_root_unit``
  (``base_currency_id`` is empty on futures) and one contract is ``contract_size`` of it
  (0.01 BTC for the nano contracts). Dated contracts (``BIT-24APR26-CDE``) are
  ``BTC/USD:USD-260424``; perpetual-style ones (``BIP-20DEC30-CDE``, which carry a funding
  rate and a distant nominal expiry) are ``BTC/USD:USD``.

The public listing returns spot products unless ``product_type=FUTURE`` is asked for, so
the adapter lists both. A listing page with ``pagination.has_next`` is followed.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import msgspec

from ...symbols import Instrument, InstrumentMap, unified_symbol
from .parse import rfc3339
from .schemas import Product, Products

__all__ = ["PRODUCTS_PATH", "decode_products", "instrument", "listed", "next_page"]

PRODUCTS_PATH = "/api/v3/brokerage/market/products"
"""The public product listing (no authentication), below the REST base ``https://api.coinbase.com``."""

_products = msgspec.json.Decoder(Products)
_INACTIVE = frozenset({"delisted", "offline", "cancel_only"})


def decode_products(body: bytes) -> Products:
    """One listing page; raises ``msgspec.DecodeError`` if it is not one."""
    return _products.decode(body)


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if 0.0 < value < float("inf") else None


def instrument(exchange: str, p: Product) -> Instrument | None:
    """The unified instrument of one product, or ``None`` for a kind this adapter does not map."""
    active = p.status not in _INACTIVE and not (p.trading_disabled or p.is_disabled)
    tick = _float(p.price_increment) or _float(p.quote_increment)
    step = _float(p.base_increment)
    if p.product_type == "SPOT":
        if not (p.base_currency_id and p.quote_currency_id):
            return None
        return Instrument(
            exchange=exchange,
            native=p.product_id,
            symbol=unified_symbol(p.base_currency_id, p.quote_currency_id),
            base=p.base_currency_id,
            quote=p.quote_currency_id,
            kind="spot",
            tick_size=tick,
            step_size=step,
            active=active,
        )
    details = p.future_product_details
    if p.product_type != "FUTURE" or details is None:
        return None
    base = details.contract_root_unit or p.base_currency_id
    quote = p.quote_currency_id
    size = _float(details.contract_size)
    if not (base and quote and size):
        return None
    # Perpetual-style contracts say EXPIRING on some listings; their funding rate tells them apart.
    perpetual = details.contract_expiry_type == "PERPETUAL" or bool(details.funding_rate or details.funding_interval)
    expiry = None
    if not perpetual:
        if not details.contract_expiry:
            return None
        try:
            expiry = _yymmdd(details.contract_expiry)
        except ValueError:
            return None
    return Instrument(
        exchange=exchange,
        native=p.product_id,
        symbol=unified_symbol(base, quote, quote, expiry),
        base=base,
        quote=quote,
        kind="swap" if perpetual else "future",
        settle=quote,
        expiry=expiry,
        contract_size=size,
        tick_size=tick,
        step_size=step,
        active=active,
    )


def listed(exchange: str, page: Products, known: InstrumentMap) -> tuple[list[tuple[Product, Instrument]], int]:
    """Add a page's products to ``known``; returns the products taken with their instruments, and
    how many were left out because another product already has their symbol.

    Two contracts of one underlying and expiry (a nano and a full-size one) would share a
    symbol: the first listed keeps it.
    """
    taken = []
    duplicates = 0
    for p in page.products:
        inst = instrument(exchange, p)
        if inst is None:
            continue
        if inst.symbol in known and known.by_symbol(inst.symbol).native != inst.native:
            duplicates += 1
            continue
        known.update([inst])
        taken.append((p, inst))
    return taken, duplicates


def _yymmdd(text: str) -> str:
    # rfc3339 validates the text; the date is its first ten characters.
    rfc3339(text)
    return text[2:4] + text[5:7] + text[8:10]


def next_page(url: str, page: Products) -> str | None:
    """The URL of the page after ``page`` (fetched from ``url``), or ``None`` on the last page."""
    pagination = page.pagination
    if pagination is None or not pagination.has_next:
        return None
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    if pagination.next_cursor:
        query["cursor"] = pagination.next_cursor
    else:
        # No cursor: page on by offset, as the endpoint's limit/offset parameters do.
        query["offset"] = str(int(query.get("offset", "0")) + len(page.products))
    return urlunsplit(parts._replace(query=urlencode(query)))
