"""The JSON contract of events (design.md field names) and its round trip."""

from __future__ import annotations

import orjson
import pytest

from collector import MalformedFrame, decode_event, encode_event
from collector.models import Book, BookTop, Candle, Connected, Disconnected, Error, Resync, Ticker, Trade


def test_field_names_are_the_contract() -> None:
    """type first, then the common fields, then the type's fields, exactly as documented."""
    trade = Trade("binance", "BTC/USDT", 1.5, 2.5, 100.0, 0.5, "buy", "42")
    assert orjson.loads(encode_event(trade)) == {
        "type": "trade",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timestamp": 1.5,
        "received": 2.5,
        "price": 100.0,
        "amount": 0.5,
        "side": "buy",
        "id": "42",
    }
    ticker = Ticker("binance", "BTC/USDT", None, 2.0, 1.0, 2.0, 3.0, 4.0)
    assert list(orjson.loads(encode_event(ticker))) == [
        "type",
        "exchange",
        "symbol",
        "timestamp",
        "received",
        "bid",
        "bid_size",
        "ask",
        "ask_size",
        "last",
        "open",
        "high",
        "low",
        "volume",
        "quote_volume",
    ]
    book = Book("binance", "BTC/USDT", None, 2.0, False, [(1.0, 0.0)], [], 7)
    assert orjson.loads(encode_event(book)) == {
        "type": "book",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timestamp": None,
        "received": 2.0,
        "snapshot": False,
        "bids": [[1.0, 0.0]],
        "asks": [],
        "sequence": 7,
    }
    with_top = Book("binance", "BTC/USDT", None, 2.0, False, [], [], 7, BookTop([(1.0, 2.0)], [(3.0, 4.0)]))
    assert orjson.loads(encode_event(with_top))["top"] == {"bids": [[1.0, 2.0]], "asks": [[3.0, 4.0]]}
    candle = Candle("binance", "BTC/USDT", 1.0, 2.0, "1m", 0.0, 60.0, 1.0, 2.0, 0.5, 1.5, 10.0, 3, True)
    assert orjson.loads(encode_event(candle))["source"] == "exchange"
    resync = Resync("binance", "BTC/USDT", None, 3.0, "gap", "expected U<=2")
    assert orjson.loads(encode_event(resync)) == {
        "type": "resync",
        "exchange": "binance",
        "symbol": "BTC/USDT",
        "timestamp": None,
        "received": 3.0,
        "reason": "gap",
        "detail": "expected U<=2",
    }


@pytest.mark.parametrize(
    "event",
    [
        Trade("binance", "BTC/USDT", 1.5, 2.5, 100.0, 0.5, "sell", "42"),
        Book("binance", "BTC/USDT", None, 2.0, True, [(1.0, 2.0)], [(3.0, 1.0)], None, BookTop([], [])),
        Connected("binance", None, None, 1.0, "c", "wss://x"),
        Disconnected("binance", None, None, 1.0, "c", "idle"),
        Error("binance", None, None, 1.0, "c", "malformed", "..."),
    ],
)
def test_round_trip(event: object) -> None:
    """decode_event(encode_event(e)) == e for every event type."""
    assert decode_event(encode_event(event)) == event  # type: ignore[arg-type]


def test_decode_rejects_non_events() -> None:
    """Anything that is not an event raises MalformedFrame."""
    with pytest.raises(MalformedFrame):
        decode_event(b'{"type":"nope"}')
