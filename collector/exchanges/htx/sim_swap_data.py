"""The payloads of HTX's simulated swap endpoints (see :mod:`.sim_swap`), one function each.

Sizes are contracts on the wire; :class:`Contract` holds a contract's terms (base coin per
contract on USDT-margined swaps, USD per contract on coin-margined ones) and what the
index and notification endpoints last published for it.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from ...simulator.market import CandleState, Fill, Update
from ...simulator.wire import Message
from .sim_common import HtxMarket, gz

__all__ = ["FUNDING_MS", "Contract", "book_push", "funding", "kline", "notifications", "prices", "trade", "whole_book"]

FUNDING_MS = 8 * 3_600_000
"""Funding is "settled every 8 hours"."""


class Contract:
    """A contract's terms and what was published for it: mark and index price text, the funding rate."""

    __slots__ = ("funding", "index", "inverse", "mark", "size")

    def __init__(self, size: float, inverse: bool) -> None:
        self.size = size
        self.inverse = inverse
        self.mark = ""  # last mark and index price pushed (decimal text)
        self.index = ""
        self.funding = 0.0001

    def base(self, lots: int, price: float) -> float:
        """``lots`` contracts in the base coin."""
        return lots * self.size / price if self.inverse else lots * self.size


def book_push(market: HtxMarket, stream: str, event: str, changes: tuple[Any, Any] | None, t: int) -> bytes:
    """A ``depth.size_$size.high_freq`` push: the ``changes`` (``None``: the whole view) at the view's version."""
    view = market.views[stream]
    bids, asks = changes if changes is not None else view.levels()
    px = market.px
    tick: dict[str, Any] = {
        "asks": [[px(p), q] for p, q in asks],
        "bids": [[px(p), q] for p, q in bids],
        "ch": stream,
    }
    tick |= {"event": event, "id": t // 1000, "mrid": market.last_id, "ts": t, "version": view.seq}
    return gz({"ch": stream, "tick": tick, "ts": t})


def whole_book(market: HtxMarket, stream: str, t: int) -> bytes:
    """A ``depth.step0`` push: the best 150 levels, in contracts."""
    bids, asks = market.levels(150)
    px = market.px
    tick: dict[str, Any] = {"mrid": market.last_id, "id": t // 1000, "bids": [[px(p), q] for p, q in bids]}
    tick |= {"asks": [[px(p), q] for p, q in asks], "ts": t, "version": t // 1000, "ch": stream}
    return gz({"ch": stream, "ts": t, "tick": tick})


def trade(market: HtxMarket, contract: Contract, f: Fill) -> dict[str, Any]:
    """One element of ``trade.detail`` ``data``: ``amount`` contracts, ``quantity`` the coin."""
    price = market.px(f.ticks)
    quantity = contract.base(f.lots, price)
    return {
        "amount": f.lots,
        "ts": f.time_ms,
        "id": f.agg_id * 10_000,
        "price": price,
        "direction": "sell" if f.buyer_maker else "buy",
        "quantity": round(quantity, 10),
        "trade_turnover": round(f.lots * contract.size if contract.inverse else quantity * price, 8),
    }


def kline(market: HtxMarket, contract: Contract, stream: str, c: CandleState, t: int) -> bytes:
    """A ``kline.$period`` push: ``amount`` the coin volume, ``vol`` contracts."""
    px = market.px
    # The model keeps an inverse bar's coin volume; a linear one's is contracts * size.
    coin = c.counter_volume if contract.inverse else c.lots * contract.size
    tick: dict[str, Any] = {"id": c.start_ms // 1000, "mrid": t, "open": px(c.open), "close": px(c.close)}
    tick |= {"high": px(c.high), "low": px(c.low), "amount": round(coin, 10), "vol": c.lots}
    tick |= {"trade_turnover": round(c.lots * contract.size, 8), "count": c.trades}
    return gz({"ch": stream, "ts": t, "tick": tick})


def prices(market: HtxMarket, contract: Contract, update: Update, subscribed: Collection[str]) -> list[Message]:
    """Mark and index price klines on ``/ws_index``, pushed when they move."""
    b, _, a, _ = update.best
    spec = market.spec
    mark = spec.price((b + a) // 2)
    index = spec.price((b + a) // 2 - 1)
    out: list[Message] = []
    bar = update.time_ms // 60_000 * 60
    for kind, value, last in (("mark_price", mark, contract.mark), ("index", index, contract.index)):
        stream = f"market.{spec.native}.{kind}.1min"
        if value == last or stream not in subscribed:
            continue
        tick: dict[str, Any] = {"id": bar, "open": value, "close": value, "high": value, "low": value}
        tick |= {"amount": "0", "vol": "0", "count": "0", "trade_turnover": "0"}
        out.append(Message(stream, gz({"ch": stream, "ts": update.time_ms, "tick": tick})))
    contract.mark, contract.index = mark, index
    return out


def notifications(market: HtxMarket, contract: Contract, update: Update, subscribed: Collection[str]) -> list[Message]:
    """Funding-rate changes (now and then) and liquidations (after some trades)."""
    code = market.spec.native
    out: list[Message] = []
    rng = market.extra
    if rng.random() < 0.01:
        contract.funding = round(contract.funding + rng.choice((-1, 1)) * 0.00001, 8)
        for stream in (f"public.{code}.funding_rate", "public.*.funding_rate"):
            if stream in subscribed:
                out.append(Message(stream, funding(market, contract, stream, update.time_ms)))
    if update.fills and rng.random() < 0.05:
        f = update.fills[-1]
        price = market.px(f.ticks)
        order: dict[str, Any] = {
            "symbol": market.spec.base,
            "contract_code": code,
            "direction": "buy" if f.buyer_maker else "sell",
        }
        order |= {"offset": "close", "volume": f.lots, "price": price, "created_at": f.time_ms}
        order |= {"amount": round(contract.base(f.lots, price), 10), "trade_turnover": round(f.lots * price, 8)}
        order |= {"contract_type": "swap", "pair": code, "business_type": "swap"}
        for stream in (f"public.{code}.liquidation_orders", "public.*.liquidation_orders"):
            if stream in subscribed:
                push = {"op": "notify", "topic": stream, "ts": f.time_ms, "data": [order]}
                out.append(Message(stream, gz(push)))
    return out


def funding(market: HtxMarket, contract: Contract, stream: str, now_ms: int) -> bytes:
    """A ``funding_rate`` notification; ``estimated_rate`` is the string ``"null"``, as HTX sends it now."""
    spec = market.spec
    data: dict[str, Any] = {"symbol": spec.base, "contract_code": spec.native, "fee_asset": spec.settle}
    data |= {"funding_time": str(now_ms - now_ms % 60_000), "funding_rate": f"{contract.funding:.8f}"}
    data |= {"estimated_rate": "null", "settlement_time": str(now_ms - now_ms % FUNDING_MS + FUNDING_MS)}
    return gz({"op": "notify", "topic": stream, "ts": now_ms, "data": [data]})
