"""Replay of Crypto.com captures made by other recorders: a cryptofeed 2.4.1 session (legacy v2 stream and
listing, books in snapshot mode), a v1 session, and the shared recording where the checkout has one."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from collector import read_capture
from collector.capture import Frame
from collector.models import Book, Candle, Error, Ticker, Trade
from collector.replay import Replay

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "cryptocom.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/cryptocom.jsonl.zst")

CONFIG = {"l2_book": ["BTC-USDT"], "trades": ["BTC-USDT"], "ticker": ["BTC-USDT"], "candles": ["BTC-USDT"]}
HEADER = json.dumps({"t": "header", "format": 2, "exchange": "CRYPTODOTCOM", "config": CONFIG, "candle_interval": "1m"})


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def cryptofeed_v2_session() -> list[Frame]:
    """What cryptofeed 2.4.1's CryptoDotCom feed receives: the v2 listing, subscribes without id,
    nonce or book parameters (``book.BTC_USDT.150``), v2 pushes with JSON numbers, a heartbeat."""
    listing = {"id": 1, "method": "public/get-instruments", "code": 0, "result": {"instruments": [
        {"instrument_name": "BTC_USDT", "quote_currency": "USDT", "base_currency": "BTC", "price_decimals": 2,
         "quantity_decimals": 6, "margin_trading_enabled": True}]}}  # fmt: skip
    conn = "CRYPTODOTCOM.ws.2"

    def push(channel: str, subscription: str, data: list[Any], **extra: Any) -> str:
        result = {"instrument_name": "BTC_USDT", "subscription": subscription, "channel": channel, **extra}
        return _dumps({"method": "subscribe", "result": result | {"data": data}})

    return [
        Frame("header", "", 100.0, HEADER),
        Frame(
            "http", "CRYPTODOTCOM.http.1", 100.0, _dumps(listing), "https://api.crypto.com/v2/public/get-instruments"
        ),
        Frame("connect", conn, 100.1, "", "wss://stream.crypto.com/v2/market"),
        Frame("send", conn, 101.1, '{"method":"subscribe","params":{"channels":["book.BTC_USDT.150"]}}'),
        Frame("recv", conn, 101.2, '{"id":-1,"method":"subscribe","code":0}'),
        Frame(
            "recv",
            conn,
            101.3,
            push(
                "book",
                "book.BTC_USDT.150",
                [
                    {
                        "bids": [[57553.03, 0.481606, 2], [57552.47, 0.000418, 1]],
                        "asks": [[57555.44, 0.343236, 1], [57555.95, 0.026062, 1]],
                        "t": 1637630445449,
                    }
                ],
                depth=150,
            ),
        ),
        Frame(
            "recv",
            conn,
            101.4,
            push(
                "trade",
                "trade.BTC_USDT",
                [
                    {
                        "dataTime": 1637630445449,
                        "d": 2006341810221954784,
                        "s": "BUY",
                        "p": 56504.25,
                        "q": 0.003802,
                        "t": 1637630445448,
                        "i": "BTC_USDT",
                    }
                ],
            ),
        ),
        Frame(
            "recv",
            conn,
            101.5,
            push(
                "ticker",
                "ticker.BTC_USDT",
                [
                    {
                        "i": "BTC_USDT",
                        "b": 57689.9,
                        "k": 57690.9,
                        "a": 57690.9,
                        "t": 1637705099140,
                        "v": 46427.152283,
                        "h": 57985.0,
                        "l": 55313.95,
                        "c": 1311.15,
                    }
                ],
            ),
        ),
        Frame(
            "recv",
            conn,
            101.6,
            push(
                "candlestick",
                "candlestick.1m.BTC_USDT",
                [{"t": 1637630400000, "o": 56500.0, "h": 56510.0, "l": 56490.0, "c": 56504.25, "v": 1.25}],
                depth=300,
                interval="1m",
            ),
        ),
        Frame(
            "recv",
            conn,
            101.7,
            push(
                "book",
                "book.BTC_USDT.150",
                [{"bids": [[57553.03, 0.5, 2]], "asks": [[57555.44, 0.3, 1]], "t": 1637630445949}],
                depth=150,
            ),
        ),
        Frame("recv", conn, 130.0, '{"id":1637630475000,"method":"public/heartbeat","code":0}'),
    ]


def test_cryptofeed_v2_capture_replays_with_exact_values() -> None:
    """The legacy stream's numbers, its numeric trade id beyond 2**53 and its whole-book pushes."""
    replay = Replay(cryptofeed_v2_session())
    events = [e for e in replay if not isinstance(e, Error)]
    assert replay.exchange == "cryptocom"
    assert events[1:] == [
        Book("cryptocom", "BTC/USDT", 1637630445.449, 101.3, True, [(57553.03, 0.481606), (57552.47, 0.000418)],
             [(57555.44, 0.343236), (57555.95, 0.026062)], None),
        Trade("cryptocom", "BTC/USDT", 1637630445.448, 101.4, 56504.25, 0.003802, "buy", "2006341810221954784"),
        Ticker("cryptocom", "BTC/USDT", 1637705099.14, 101.5, 57689.9, None, 57690.9, None, 57690.9, None, 57985.0,
               55313.95, 46427.152283),
        Candle("cryptocom", "BTC/USDT", None, 101.6, "1m", 1637630400.0, 1637630460.0, 56500.0, 56510.0, 56490.0,
               56504.25, 1.25, None, False),
        Book("cryptocom", "BTC/USDT", 1637630445.949, 101.7, True, [(57553.03, 0.5)], [(57555.44, 0.3)], None),
    ]  # fmt: skip
    assert [e for e in Replay(cryptofeed_v2_session()) if isinstance(e, Error)] == []
    assert replay.adapter.stats["ignored.heartbeat"] == 1 and replay.adapter.stats["ignored.ack"] == 1
    book = replay.adapter.book("BTC/USDT")
    assert book is not None and book.bids() == {57553.03: 0.5} and book.asks() == {57555.44: 0.3}


def v1_session() -> list[Frame]:
    """A v1 recording: the v1 listing, delta books (snapshot, then deltas linked by pu), a gap."""
    listing = {"id": 1, "method": "public/get-instruments", "code": 0, "result": {"data": [
        {"symbol": "BTCUSD-PERP", "inst_type": "PERPETUAL_SWAP", "base_ccy": "BTC", "quote_ccy": "USD",
         "price_tick_size": "0.1", "qty_tick_size": "0.0001", "underlying_symbol": "BTCUSD-INDEX"}]}}  # fmt: skip
    conn = "CRYPTODOTCOM.ws.3"

    def push(channel: str, item: dict[str, Any]) -> str:
        result = {"instrument_name": "BTCUSD-PERP", "subscription": "book.BTCUSD-PERP.50", "channel": channel}
        return _dumps({"id": -1, "method": "subscribe", "code": 0, "result": result | {"depth": 50, "data": [item]}})

    snapshot = {"bids": [["30079.0", "0.0505", "1"]], "asks": [["30082.5", "0.1689", "1"]], "t": 1, "u": 10}
    return [
        Frame("header", "", 100.0, HEADER),
        Frame("http", "h", 100.0, _dumps(listing), "https://api.crypto.com/exchange/v1/public/get-instruments"),
        Frame("connect", conn, 100.1, "", "wss://stream.crypto.com/exchange/v1/market"),
        Frame("recv", conn, 101.0, push("book", snapshot)),
        Frame(
            "recv",
            conn,
            101.1,
            push("book.update", {"update": {"bids": [["30079.0", "0", "0"]]}, "t": 2, "u": 12, "pu": 10}),
        ),
        Frame(
            "recv", conn, 101.2, push("book.update", {"update": {"asks": [], "bids": []}, "t": 3, "u": 20, "pu": 15})
        ),
        Frame("recv", conn, 101.3, push("book", snapshot | {"u": 25, "bids": [["30080.0", "1", "1"]]})),
    ]


def test_v1_capture_follows_pu_links_and_reports_the_gap() -> None:
    """A delta whose pu is not the last u resyncs the book; the next snapshot (the recorder's own
    re-subscription) rebuilds it."""
    events = list(Replay(v1_session()))
    books = [(e.snapshot, e.bids, e.sequence) for e in events if isinstance(e, Book)]
    assert books == [(True, [(30079.0, 0.0505)], 10), (False, [(30079.0, 0.0)], 12), (True, [(30080.0, 1.0)], 25)]
    resyncs = [(e.symbol, e.reason, e.detail) for e in events if type(e).__name__ == "Resync"]
    assert resyncs == [("BTC/USD:USD", "gap", "expected previous id 12, got 15")]


@pytest.mark.skipif(not RECORDING.exists(), reason="no Crypto.com recording in ../shared/recordings")
def test_shared_recording_replays_cleanly() -> None:
    """Every frame becomes events or is counted; trade ids are unique; synced books are never crossed."""
    replay = Replay(RECORDING)
    trades: dict[str, set[str]] = defaultdict(set)
    errors: list[Error] = []
    adapter = replay.adapter
    for event in replay:
        if isinstance(event, Trade):
            assert event.id not in trades[event.symbol], event
            trades[event.symbol].add(event.id)
        elif isinstance(event, Error):
            errors.append(event)
        elif isinstance(event, Book):
            book = adapter.book(event.symbol)
            assert book is not None and not (book.synced and book.crossed()), event
    # Legacy v2 deltas cannot be sequenced; everything else must be read.
    assert [e for e in errors if e.reason != "unsequenced"] == []
    assert sum(len(ids) for ids in trades.values()) > 0
    assert any(f.kind == "recv" for f in read_capture(RECORDING))
