"""Binance USDⓈ-M and COIN-M futures: the spot adapter's streams plus derivative data.

Derivative channels (``../shared/exchanges/binance.md`` and the futures stream docs):

- funding      <- ``<s>@markPrice@1s`` ("mark price and funding rate for a single symbol
  pushed every second": mark ``p``, index ``i``, funding rate ``r``, next funding ``T``),
  plus open interest, which has no stream: it is polled from ``GET /fapi/v1/openInterest``
  (``/dapi/v1/openInterest``), weight 1, every :attr:`open_interest_interval` seconds per
  symbol, within the exchange's REST weight budget like every other call. Merged into one
  derivative ticker, emitted when a field changes.
- liquidations <- ``<s>@forceOrder`` ("only the latest one liquidation order within
  1000 ms will be pushed"): ``S`` is the liquidation order's side.

Units: USDⓈ-M open interest is in the base asset and its value (times the mark price) in
the quote asset; COIN-M open interest counts contracts (``contractSize`` USD each) and its
value is in USD. COIN-M liquidation quantities are contracts, reported in base units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec

from ...actions import RestRequest
from ...book import PREV_ID, Rule
from ...models import Liquidation, Side
from ...symbols import Instrument, expiry_of, unified_symbol
from ..base import Channel, Endpoints, Output, Poll, RestPolicy, Subscription
from ..derivatives import DerivativeTickers
from .adapter import BinanceAdapter, tick_and_step
from .schemas import Combined, ForceOrder, MarkPrice, OpenInterest, SymbolInfo

__all__ = ["BinanceCoinmAdapter", "BinanceUsdmAdapter"]

_mark_price = msgspec.json.Decoder(Combined[MarkPrice], strict=False)
_force_order = msgspec.json.Decoder(Combined[ForceOrder], strict=False)
_open_interest = msgspec.json.Decoder(OpenInterest, strict=False)
_SIDES: dict[str, Side] = {"BUY": "buy", "SELL": "sell"}
_DERIVATIVE_STREAMS = {"funding": "markPrice@1s", "liquidations": "forceOrder"}


class BinanceUsdmAdapter(BinanceAdapter):
    """Binance USDⓈ-M futures: ``pu`` continuity, routed ``/public`` and ``/market`` paths."""

    id: ClassVar[str] = "binance_usdm"
    channels: ClassVar[tuple[Channel, ...]] = ("trades", "ticker", "book", "candles", "funding", "liquidations")
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://fstream.binance.com", rest="https://fapi.binance.com")
    # "2,400 request weight per minute per IP" on USDⓈ-M and COIN-M.
    rest_policy: ClassVar[RestPolicy] = RestPolicy(weight_limit=2400, weight_header="x-mbx-used-weight-1m")
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USDT:USDT",)
    rule: ClassVar[Rule] = PREV_ID
    depth_path: ClassVar[str] = "/fapi/v1/depth"
    info_path: ClassVar[str] = "/fapi/v1/exchangeInfo"
    open_interest_path: ClassVar[str] = "/fapi/v1/openInterest"
    open_interest_interval: ClassVar[float] = 10.0
    """Seconds between open-interest polls of one symbol (weight 1 each: 6 per minute per symbol,
    so a few hundred symbols stay well inside the 2,400 weight budget). Set it on the class or
    the instance before the collector starts."""
    info_weight: ClassVar[int] = 1
    depth_weight: ClassVar[int] = 20
    control_interval: ClassVar[float] = 0.15  # 10 incoming messages/s per connection

    def __init__(self, *, endpoints: Endpoints | None = None, book_top: int | None = None) -> None:
        super().__init__(endpoints=endpoints, book_top=book_top)
        self._derivatives = DerivativeTickers(self.id)
        self._interest: dict[str, float] = {}  # unified symbol -> last polled open interest
        self._routes["markPrice@1s"] = self._on_mark_price
        self._routes["markPrice"] = self._on_mark_price
        self._routes["forceOrder"] = self._on_force_order

    def _route_of(self, channel: str) -> str:
        # Since the 2026 URL split, depth and bookTicker live on /public, the rest on /market.
        return "/public" if channel in ("book", "ticker") else "/market"

    def _instrument(self, s: SymbolInfo) -> Instrument | None:
        status = s.status or s.contractStatus
        settle = s.marginAsset or s.quoteAsset
        if s.contractType in ("PERPETUAL", "TRADIFI_PERPETUAL"):
            kind, expiry = "swap", None
        elif s.deliveryDate:
            kind, expiry = "future", expiry_of(s.deliveryDate)
        else:
            return None
        tick, step = tick_and_step(s)
        return Instrument(
            exchange=self.id,
            native=s.symbol,
            symbol=unified_symbol(s.baseAsset, s.quoteAsset, settle, expiry),
            base=s.baseAsset,
            quote=s.quoteAsset,
            kind=kind,  # type: ignore[arg-type]
            settle=settle,
            expiry=expiry,
            contract_size=s.contractSize,
            tick_size=tick,
            step_size=step,
            active=status == "TRADING",
        )

    # -- derivative channels ----------------------------------------------------------------------

    def streams_for(self, sub: Subscription) -> str:
        stream = _DERIVATIVE_STREAMS.get(sub.channel)
        if stream is None:
            return super().streams_for(sub)
        return f"{self.instruments.by_symbol(sub.symbol).native.lower()}@{stream}"

    def polls(self, subscriptions: Sequence[Subscription]) -> list[Poll]:
        """One open-interest poll per symbol subscribed to ``funding`` (there is no stream for it)."""
        symbols = dict.fromkeys(sub.symbol for sub in subscriptions if sub.channel == "funding")
        return [Poll(self._interest_request(symbol), self.open_interest_interval) for symbol in symbols]

    def _interest_request(self, symbol: str) -> RestRequest:
        query = urlencode({"symbol": self.instruments.by_symbol(symbol).native})
        return RestRequest(f"{self.endpoints.rest}{self.open_interest_path}?{query}", "poll", 1, symbol)

    def poll_request(self, url: str) -> RestRequest | None:
        """A recorded open-interest answer is one of this adapter's polls (its symbol is read from the URL).

        Repeated slashes are one (``/fapi/v1//openInterest``: what some recorders asked, and
        what Binance answered, for a while in 2022).
        """
        path = "/".join(part for part in urlsplit(url).path.split("/") if part)
        return RestRequest(url, "poll", 1) if f"/{path}".endswith(self.open_interest_path) else None

    def on_http(self, request: RestRequest, status: int, body: bytes, received: float) -> Output:
        if request.purpose != "poll":
            return super().on_http(request, status, body, received)
        out: Output = []
        if status != 200:
            out.append(
                self.error("rest", "http_status", f"{status} {request.url}", received, request.symbol, frame=body)
            )
            return out
        try:
            answer = _open_interest.decode(body)
        except msgspec.DecodeError as exc:
            out.append(self.error("rest", "malformed", f"{request.url}: {exc}", received, request.symbol, frame=body))
            return out
        native = dict(parse_qsl(urlsplit(request.url).query)).get("symbol", answer.symbol)
        symbol = request.symbol or self._symbols.get(native)
        if symbol is None:
            self._unknown("rest", native, received, out)
            return out
        self._interest[symbol] = answer.openInterest
        latest = self._derivatives.latest(symbol)
        mark = latest.mark_price if latest is not None else None
        ts = answer.time / 1000.0 if answer.time is not None else None
        event = self._derivatives.update(
            symbol,
            ts,
            received,
            open_interest=answer.openInterest,
            open_interest_value=self._interest_value(symbol, answer.openInterest, mark),
        )
        if event is not None:
            out.append(event)
        return out

    def _interest_value(self, symbol: str, interest: float, mark: float | None) -> float | None:
        """Open interest in the quote asset: base units times the mark price."""
        return interest * mark if mark is not None else None

    def _on_mark_price(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        d = _mark_price.decode(frame).data
        symbol = self._symbols.get(d.s)
        if symbol is None:
            self._unknown(conn, d.s, received, out)
            return
        interest = self._interest.get(symbol)
        event = self._derivatives.update(
            symbol,
            d.E / 1000.0,
            received,
            mark_price=d.p,
            index_price=d.i,
            # "funding rate for perpetual symbol, "" will be shown for delivery symbol"
            funding_rate=float(d.r) if d.r else None,
            next_funding_time=d.T / 1000.0 if d.T else None,
            open_interest_value=self._interest_value(symbol, interest, d.p) if interest is not None else None,
        )
        if event is not None:
            out.append(event)

    def _on_force_order(self, conn: str, frame: str | bytes, received: float, out: Output) -> None:
        o = _force_order.decode(frame).data.o
        symbol = self._symbols.get(o.s)
        if symbol is None:
            self._unknown(conn, o.s, received, out)
            return
        side = _SIDES.get(o.S)
        if side is None:
            out.append(self.error(conn, "malformed", f"forceOrder side {o.S[:20]!r}", received, symbol))
            return
        amount = self._base_amount(symbol, o.q, o.p)
        out.append(Liquidation(self.id, symbol, o.T / 1000.0, received, side, o.p, amount, None, o.X or None))

    def _base_amount(self, symbol: str, quantity: float, price: float) -> float:
        return quantity


class BinanceCoinmAdapter(BinanceUsdmAdapter):
    """Binance COIN-M futures: inverse contracts; trade amounts converted from contracts to base
    units, candle volumes the kline's "Base asset volume" (``q``; ``v`` counts contracts)."""

    id: ClassVar[str] = "binance_coinm"
    default_endpoints: ClassVar[Endpoints] = Endpoints(ws="wss://dstream.binance.com", rest="https://dapi.binance.com")
    depth_path: ClassVar[str] = "/dapi/v1/depth"
    info_path: ClassVar[str] = "/dapi/v1/exchangeInfo"
    open_interest_path: ClassVar[str] = "/dapi/v1/openInterest"
    size_in_contracts: ClassVar[bool] = True
    demo_symbols: ClassVar[tuple[str, ...]] = ("BTC/USD:BTC",)

    def _route_of(self, channel: str) -> str:
        return ""  # COIN-M has no routed paths

    def _interest_value(self, symbol: str, interest: float, mark: float | None) -> float | None:
        """Contracts of ``contractSize`` USD each: their value in USD needs no price."""
        return interest * self.instruments.by_symbol(symbol).contract_size

    def _base_amount(self, symbol: str, quantity: float, price: float) -> float:
        # Quantities are contracts worth contractSize quote units each.
        return quantity * self.instruments.by_symbol(symbol).contract_size / price
