"""Bithumb's public wire format over the neutral market: KRW and BTC spot markets.

The protocol is Upbit's quotation socket (:class:`~..upbit.simwire.QuotationWire`), as
Bithumb's copy renders it (``shared/exchanges/bithumb.md``): trade ids are strings of 18
digits, orderbook times strings of microseconds, trades carry no best bid/offer, dates and
times are KST, an ungrouped book reports ``level`` 1 and there is no candle stream. Frames go
out as text (the docs do not say; Upbit's are binary). Book counts ``CODE.{n}`` of 1 to 30
are served. KRW markets price coins :data:`KRW_PREMIUM` above their dollar price times the
rate, a little below Upbit's, so the two Korean venues show different premiums.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import orjson

from ...simulator.krw import KRW_PER_USD, KRW_TICKS, TickTable
from ...simulator.market import InstrumentSpec, SymbolMarket
from ...simulator.wire import RestAnswer
from ..upbit.simframes import Style
from ..upbit.simwire import QuotationWire

__all__ = ["KRW_PREMIUM", "BithumbWire"]

KRW_PREMIUM = 1.022
"""Coins trade dearer in Korea than abroad; dollar stablecoins do not."""


class BithumbWire(QuotationWire):
    """Bithumb's public websocket (``ws-api``) and ``/v1`` REST for the ``bithumb`` exchange id."""

    default_ws = "wss://ws-api.bithumb.com"
    default_rest = "https://api.bithumb.com"
    exchange_id: ClassVar[str] = "bithumb"
    style: ClassVar[Style] = Style(
        trade_bbo=False, string_ids=True, micros_books=True, local_hours=9, default_level=1.0
    )
    quotes: ClassVar[dict[str, float]] = {"KRW": KRW_PER_USD}
    krw_premium: ClassVar[float] = KRW_PREMIUM
    # KRW price units from 1,000 KRW up (highest band first); cheaper coins get decimal prices.
    krw_ticks: ClassVar[TickTable] = KRW_TICKS
    depths: ClassVar[tuple[int, ...]] = tuple(range(1, 31))
    candle_units: ClassVar[dict[str, str]] = {}
    binary: ClassVar[bool] = False
    request_format: ClassVar[str] = "DEFAULT"

    def supported_levels(self, spec: InstrumentSpec) -> list[float]:
        """Only the default ``level`` 1: Bithumb documents no grouping units (a book asked for
        with another level gets no data)."""
        return [1.0]

    def _orderbook_rest(self, query: Mapping[str, str], markets: Mapping[str, SymbolMarket], now_ms: int) -> RestAnswer:
        """``GET /v1/orderbook``: "15호가 ... 단, market에 단일 마켓 코드만 입력 시 30호가"; times in ms
        (since 2025-11-11 "단일 혹은 복수 마켓 모두 Timestamp를 ms로 반환")."""
        codes = [c for c in query.get("markets", "").split(",") if c]
        answer = super()._orderbook_rest({**query, "count": "30" if len(codes) == 1 else "15"}, markets, now_ms)
        if answer.status != 200:
            return answer
        books = orjson.loads(answer.body)
        for book in books:
            book["timestamp"] = now_ms
            del book["level"]
        return RestAnswer(200, orjson.dumps(books))
