"""Small converters from Coinbase wire values to the unified ones: times, ticker numbers, trade ids.

Coinbase writes times as RFC 3339 strings with up to nine fractional digits
(``2026-08-09T21:05:48.228568804Z``) and ticker numbers as decimal strings that may be
empty. These helpers are pure; :func:`rfc3339` raises ``ValueError`` on anything else, so
a bad time fails its frame instead of reaching an event.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import Any

from ...fastpath import iso_reader
from ...models import Candle, Ticker
from .schemas import CandleData, TickerData

__all__ = ["CANDLE_SECONDS", "Buckets", "TradeIds", "rfc3339", "ticker_event", "ticker_numbers"]

CANDLE_SECONDS = 300
"""The one candle interval of the ``candles`` channel: "grouped into five-minute buckets"."""

_WHOLE: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" -> epoch seconds
_WHOLE_LIMIT = 4096
_read_iso = iso_reader()
_SCALE = (0, 100_000, 10_000, 1_000, 100, 10, 1)  # micros per unit of a 1..6-digit fraction


def rfc3339(text: str) -> float:
    """Epoch seconds of a UTC RFC 3339 time, truncated to the microsecond as ``datetime`` does.

    The usual time (``Z``, up to nine fractional digits) is read in C where the C module is on
    (:func:`collector.fastpath.iso_reader`); anything else by the slower path below, which
    raises ``ValueError`` saying what is wrong.
    """
    # Only a time that names UTC ("Z") is read by the fast reader, which would also take a
    # time without any offset; "+00:00" and everything else go the strict way.
    if text[-1:] == "Z":
        seconds = _read_iso(text)
        if seconds is not None:
            return seconds
    return _rfc3339(text)


def _rfc3339(text: str) -> float:
    whole = _WHOLE.get(text[:19])
    if whole is None:
        whole = _whole_seconds(text[:19])
    if text.endswith("Z"):
        end = len(text) - 1
    elif text.endswith("+00:00"):
        end = len(text) - 6
    else:
        raise ValueError(f"not a UTC RFC 3339 time: {text[:40]!r}")
    if end == 19:
        return float(whole)
    digits = text[20:end]
    if text[19] != "." or not (0 < len(digits) <= 9 and digits.isascii() and digits.isdigit()):
        raise ValueError(f"bad fraction of a second in an RFC 3339 time: {text[:40]!r}")
    micros = int(digits[:6]) * _SCALE[min(len(digits), 6)]
    # Integer microseconds over 10**6: the float datetime.timestamp() gives for the same time.
    return (whole * 1_000_000 + micros) / 1_000_000


def _whole_seconds(prefix: str) -> int:
    if len(prefix) != 19 or prefix[10] != "T":
        raise ValueError(f"not an RFC 3339 time: {prefix!r}")
    seconds = int(datetime.fromisoformat(prefix).replace(tzinfo=UTC).timestamp())
    if len(_WHOLE) >= _WHOLE_LIMIT:
        _WHOLE.clear()
    _WHOLE[prefix] = seconds
    return seconds


def ticker_numbers(t: TickerData) -> tuple[float | None, ...]:
    """``(last, bid, bid size, ask, ask size, high, low, volume)``; ``""`` is none, and a price of 0 too.

    The values were checked while decoding (finite, not negative).
    """
    return (
        t.price or None,
        t.best_bid or None,
        None if t.best_bid_quantity == "" else t.best_bid_quantity,
        t.best_ask or None,
        None if t.best_ask_quantity == "" else t.best_ask_quantity,
        t.high_24_h or None,
        t.low_24_h or None,
        None if t.volume_24_h == "" else t.volume_24_h,
    )


def ticker_event(
    exchange: str, symbol: str, t: TickerData, contract: float, ts: float | None, received: float
) -> Ticker:
    """The unified ticker; the 24 h volume in base units (``contract`` per contract), no 24 h open."""
    last, bid, bid_size, ask, ask_size, high, low, volume = ticker_numbers(t)
    if volume is not None:
        volume *= contract
    return Ticker(exchange, symbol, ts, received, bid, bid_size, ask, ask_size, last, None, high, low, volume)


class Buckets:
    """Five-minute candles per symbol, and when each is final.

    Coinbase never marks a bucket closed. A bucket whose end is not after the message
    time is final; the forming one is final once a later bucket appears (its last update,
    sent within a second of every change, held its final values). Closed buckets are
    remembered per symbol so a resubscription's snapshot does not emit them again.
    """

    __slots__ = ("_closed", "_forming", "exchange")

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self._forming: dict[str, CandleData] = {}
        self._closed: dict[str, int] = {}  # start of the last bucket emitted closed

    def take(
        self, out: list[Any], symbol: str, c: CandleData, contract: float, ts: float | None, received: float
    ) -> bool:
        """Append the candle events ``c`` gives; ``False`` when ``c`` is older than what was emitted."""
        forming = self._forming.get(symbol)
        if c.start <= self._closed.get(symbol, -1) or (forming is not None and c.start < forming.start):
            return False
        if forming is not None and forming.start < c.start:
            out.append(self._candle(symbol, forming, contract, True, ts, received))
            self._closed[symbol] = forming.start
        if ts is not None and c.start + CANDLE_SECONDS <= ts:
            out.append(self._candle(symbol, c, contract, True, ts, received))
            self._closed[symbol] = c.start
            self._forming.pop(symbol, None)
        else:
            out.append(self._candle(symbol, c, contract, False, ts, received))
            self._forming[symbol] = c
        return True

    def _candle(
        self, symbol: str, c: CandleData, contract: float, closed: bool, ts: float | None, received: float
    ) -> Candle:
        start = float(c.start)
        end = start + CANDLE_SECONDS
        volume = c.volume * contract
        return Candle(
            self.exchange, symbol, ts, received, "5m", start, end, c.open, c.high, c.low, c.close, volume, None, closed
        )


class TradeIds:
    """The trade ids of one product already emitted, so a re-sent trade is not emitted twice.

    Coinbase trade ids count up per product: the highest one seen is all it takes to
    drop the trades a ``market_trades`` snapshot re-sends after a reconnect, in constant
    memory. Ids that are not decimal numbers fall back to a window of the last
    ``window`` ids.
    """

    __slots__ = ("_recent", "_recent_set", "high", "window")

    def __init__(self, window: int = 256) -> None:
        self.high = -1
        self.window = window
        self._recent: deque[str] = deque()
        self._recent_set: set[str] = set()

    def fresh(self, trade_id: str) -> bool:
        """Whether ``trade_id`` is new (and remember it)."""
        if trade_id.isdigit() and trade_id.isascii():
            number = int(trade_id)
            if number <= self.high:
                return False
            self.high = number
            return True
        if trade_id in self._recent_set:
            return False
        self._recent.append(trade_id)
        self._recent_set.add(trade_id)
        if len(self._recent) > self.window:
            self._recent_set.discard(self._recent.popleft())
        return True
