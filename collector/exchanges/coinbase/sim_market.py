"""What the Coinbase simulator keeps beyond the neutral market, and how its frames are written:
each connection's ``sequence_num`` (:class:`CoinbaseSession`), each product's recent trades,
five-minute buckets and 24 h statistics (:class:`CoinbaseMarket`), RFC 3339 times and the
channel envelope (:func:`frame`)."""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson

from ...simulator.market import CandleState, DayStats, Fill, InstrumentSpec, SymbolMarket, Update
from ...simulator.wire import Session

__all__ = ["MARK", "RECENT", "CoinbaseMarket", "CoinbaseSession", "dumps", "frame", "iso"]

MARK = "\x00"  # where deliver() writes the connection's sequence_num (never in JSON text)
RECENT = 100  # trades in a market_trades snapshot, candles in a candles snapshot


def dumps(obj: Any) -> str:
    """``obj`` as compact JSON text."""
    return orjson.dumps(obj).decode()


_DAYS: dict[int, str] = {}  # epoch second -> "YYYY-MM-DDTHH:MM:SS"


def iso(time_ms: int, nanos: int | None = None) -> str:
    """RFC 3339 in UTC: microseconds (``...48.228000Z``), or nanoseconds with ``nanos`` below the millisecond."""
    second = time_ms // 1000
    text = _DAYS.get(second)
    if text is None:
        if len(_DAYS) > 4096:
            _DAYS.clear()
        text = _DAYS[second] = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if nanos is None:
        return f"{text}.{time_ms % 1000:03d}000Z"
    return f"{text}.{time_ms % 1000:03d}{nanos % 1_000_000:06d}Z"


def frame(channel: str, timestamp: str, events: list[Any]) -> str:
    """A message whose ``sequence_num`` is left for :meth:`CoinbaseWire.deliver` to write."""
    return f'{{"channel":"{channel}","timestamp":"{timestamp}","sequence_num":{MARK},"events":{dumps(events)}}}'


class CoinbaseSession(Session):
    """One connection: its ``sequence_num`` counter, heartbeat state and the ``l2_data`` updates it was sent."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.sequence = 0
        self.heartbeats = False
        self.heartbeat_counter = 0
        self.l2_seen: dict[str, int] = {}  # product -> number of the last l2_data update accounted for

    def numbered(self, text: str) -> str:
        """``text`` with the connection's next ``sequence_num`` written in."""
        head, _, tail = text.partition(MARK)
        number = self.sequence
        self.sequence += 1
        return f"{head}{number}{tail}"


class CoinbaseMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps what Coinbase's snapshots and tickers report.

    ``day`` holds the 24 h statistics; ``recent`` holds the last 100 trades and ``history``
    the last 100 closed five-minute buckets.
    """

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, intervals=("5m",), start_id=start_id)
        self.recent: deque[Fill] = deque(maxlen=RECENT)
        self.history: deque[CandleState] = deque(maxlen=RECENT)
        self.forming: CandleState | None = None
        self.day = DayStats(spec.start_ticks)
        self.batch_at = 0  # last ticker_batch push, ms

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and keep trades, buckets and statistics."""
        update = super().step(time_ms)
        self.recent.extend(update.fills)
        self.day.add(update.fills)
        for candle, closed in update.candles:
            if closed:
                self.history.append(candle)
                if self.forming is candle:
                    self.forming = None
            else:
                self.forming = candle
        return update
