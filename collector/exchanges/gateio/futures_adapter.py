"""Gate perpetual futures, ``gateio_futures``: USDT-settled linear and BTC-settled inverse contracts.

Everything but the channel names, payloads, paths and units is the spot adapter's
(:mod:`.adapter`, whose docstring lists both markets' channels and the book rule).

Units: book and best bid/ask sizes are **contracts**, as Gate sends them. Trade and
liquidation amounts are base units: linear ``contracts * quanto_multiplier``, inverse
(``BTC_USD``, 1 USD a contract) ``contracts / price``. Open interest (``total_size`` of
``futures.tickers``) is in contracts; its value is in the quote currency (USDT: contracts
x multiplier x mark price; USD: the contracts themselves). The next funding time comes from
the contract listing (``funding_next_apply`` moved on by ``funding_interval``): the
ticker has none.
"""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urlencode, urlsplit

import msgspec

from ...actions import RestRequest
from ...symbols import Instrument
from ..base import Channel, Endpoints
from ..derivatives import DerivativeTickers
from .adapter import GateioAdapter, Snapshot
from .futures import FuturesFeeds, futures_levels
from .instruments import ContractInfo, contract_instruments, settle_of_path
from .parse import Route
from .schemas import FuturesSnapshot

__all__ = ["SETTLES", "GateioFuturesAdapter"]

SETTLES = ("usdt", "btc")
"""Settlement currencies of Gate's perpetuals, each on its own websocket path and contract listing."""

_futures_snapshot = msgspec.json.Decoder(FuturesSnapshot, strict=False)
# Private channels and websocket trading API replies a recording of an authenticated session may hold.
_PRIVATE_FUTURES = frozenset(
    {"futures.orders", "futures.usertrades", "futures.liquidates", "futures.auto_deleverages"}
    | {"futures.position_closes", "futures.balances", "futures.reduce_risk_limits", "futures.positions"}
    | {"futures.autoorders", "futures.position_adl_rank", "futures.login", "futures.order_place"}
    | {"futures.order_batch_place", "futures.order_cancel", "futures.order_cancel_ids", "futures.order_cancel_cp"}
    | {"futures.order_amend", "futures.order_list", "futures.order_status"}
)


class GateioFuturesAdapter(GateioAdapter):
    """Gate perpetuals: ``BTC/USDT:USDT`` (``BTC_USDT`` on ``/v4/ws/usdt``, linear, one contract
    is ``quanto_multiplier`` BTC) and ``BTC/USD:BTC`` (``BTC_USD`` on ``/v4/ws/btc``, inverse,
    one contract is 1 USD). Book sizes are contracts; units are in the module docstring.

    :meth:`plan` opens a connection per settlement currency (more past
    :attr:`symbols_per_connection`) and asks for sizes as decimal strings
    (``X-Gate-Size-Decimal: 1``): contracts may be fractional since 2025-12.
    """

    id: ClassVar[str] = "gateio_futures"
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://fx-ws.gateio.ws/v4/ws", rest="https://api.gateio.ws")
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    market: ClassVar[str] = "futures"
    gate_channels: ClassVar[dict[str, str]] = {
        "trades": "futures.trades",
        "ticker": "futures.book_ticker",
        "book": "futures.order_book_update",
        "candles": "futures.candlesticks",
        "funding": "futures.tickers",
        "liquidations": "futures.public_liquidates",
    }
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT:USDT",)
    # The BTC-settled testnet host; the newer testnet host serves /v4/ws/futures/usdt.
    ws_hosts: ClassVar[frozenset[str]] = frozenset({"fx-ws-testnet.gateio.ws"})
    testnet_path: ClassVar[str] = "/v4/ws/futures"

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        self.contracts: dict[str, ContractInfo] = {}
        self.derivatives = DerivativeTickers(self.id)
        super().__init__(endpoints=endpoints, book_top=book_top)

    def _feeds(self) -> dict[str, Route]:
        feeds = FuturesFeeds(self.id, self.contracts, self.books, self.derivatives, self.control)
        feeds.seen = self._seen
        return feeds.routes

    def _route_fast(self) -> None:
        self._fast.futures()

    def _seen(self, channel: str, native: str) -> None:
        """The adapter's path read ``channel`` for contract ``native``: route the contracts of its size."""
        self._fast.contracts(channel, native, self.contracts)

    def _unused_channels(self) -> frozenset[str]:
        public = {"futures.order_book", "futures.obu", "futures.contract_stats", "futures.contract_info"}
        return frozenset(public) | _PRIVATE_FUTURES

    def _route_of(self, symbol: str) -> str:
        """The settlement currency path (``usdt``/``btc``) of a contract."""
        settle = self.instruments.by_symbol(symbol).settle or ""
        return settle.lower()

    def _url(self, route: str) -> str:
        return f"{self.endpoints.ws}/{route}"

    def _headers(self) -> dict[str, str]:
        # "Add the X-Gate-Size-Decimal: 1 header ... sizes will be strings (possibly decimals)";
        # without it fractional sizes are rounded down to integers.
        return {"X-Gate-Size-Decimal": "1"}

    def _book_payload(self, native: str) -> list[str]:
        # "e.g. ["BTC_USDT", "100ms", "100"] pushes the first 100 levels' update every 100ms".
        return [native, self.book_interval, str(self.snapshot_limit)]

    def _snapshot_url(self, native: str) -> str:
        settle = self._route_of(self.instruments.by_native(native).symbol)
        query = urlencode({"contract": native, "limit": self.snapshot_limit, "with_id": "true"})
        return f"{self.endpoints.rest}/api/v4/futures/{settle}/order_book?{query}"

    def _snapshot_levels(self, body: bytes) -> Snapshot:
        snap = _futures_snapshot.decode(body)
        # "update: Order book changed timestamp" is the book's time; "current" the answer's.
        stamp = snap.update if snap.update is not None else snap.current
        return futures_levels(snap.bids), futures_levels(snap.asks), snap.id, stamp

    def instrument_requests(self) -> list[RestRequest]:
        return [
            RestRequest(f"{self.endpoints.rest}/api/v4/futures/{settle}/contracts", "instruments", 1)
            for settle in SETTLES
        ]

    def _listing(self, request: RestRequest, body: bytes) -> list[tuple[Instrument, ContractInfo]]:
        settle = settle_of_path(urlsplit(request.url).path)
        if settle is None:
            raise ValueError(f"not a contract listing: {request.url}")
        return contract_instruments(self.id, settle, body)

    def parse_instruments(self, request: RestRequest, body: bytes) -> list[Instrument]:
        return [inst for inst, _ in self._listing(request, body)]

    def load_instruments(self, request: RestRequest, body: bytes) -> None:
        """Fill the instrument map and each contract's size, direction and funding schedule."""
        listing = self._listing(request, body)
        self.instruments.update(inst for inst, _ in listing)
        for inst, info in listing:
            self.contracts[inst.native] = info
