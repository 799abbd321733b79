"""Replay of KuCoin captures made by a cryptofeed-based recorder, through the real adapter.

cryptofeed's KuCoin feed POSTs ``/api/v1/bullet-public``, connects to the endpoint it names
with ``?token=``, lists symbols with the deprecated ``GET /api/v1/symbols``, subscribes
``/market/level2``, ``/market/match``, ``/market/ticker`` and ``/market/candles`` (topics
written ``"/market/level2: BTC-USDT,ETH-USDT"``, every request with ``id`` 1) and fetches
the keyed full snapshot ``GET /api/v3/market/orderbook/level2?symbol=`` when a book's first
update arrives. The first test writes such a session from documented messages; the second
replays the shared real recording when there is one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from collector import read_capture
from collector.capture import Frame
from collector.exchanges.kucoin import KucoinAdapter, KucoinFuturesAdapter
from collector.models import Book, Candle, Error, Ticker, Trade
from collector.replay import Replay

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kucoin"
RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "kucoin.jsonl.zst"
T0 = 1_729_816_400.0
CONN = "KUCOIN.ws.2"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def recv(ts: float, msg: Any) -> Frame:
    return Frame("recv", CONN, ts, json.dumps(msg, separators=(",", ":")))


def l2(start: int, end: int, asks: list[list[str]], bids: list[list[str]]) -> dict[str, Any]:
    # As in 2021 captures: no "time" yet, "type" first.
    data = {"sequenceStart": start, "symbol": "BTC-USDT", "changes": {"asks": asks, "bids": bids}, "sequenceEnd": end}
    return {"type": "message", "topic": "/market/level2:BTC-USDT", "subject": "trade.l2update", "data": data}


def cryptofeed_session() -> list[Frame]:
    header = {"t": "header", "format": 2, "exchange": "KUCOIN", "config": {"l2_book": ["BTC-USDT"]}}
    token = fixture("bullet_public.json")
    ticker = fixture("ticker.json")
    del ticker["data"]["time"]
    snapshot = {
        "code": "200000",
        "data": {
            "time": 1729816401000,
            "sequence": "14701689790",
            "bids": [["67990.1", "0.5"], ["67990", "1"]],
            "asks": [["67993.3", "1.2"], ["67995", "2"]],
        },
    }
    topics = ["/market/level2: BTC-USDT", "/market/match: BTC-USDT", "/market/ticker: BTC-USDT"]
    topics.append("/market/candles:BTC-USDT_1hour")
    return [
        Frame("header", "", T0, json.dumps(header)),
        Frame("http", "KUCOIN.http.1", T0, json.dumps(token), "https://api.kucoin.com/api/v1/bullet-public"),
        Frame(
            "http",
            "KUCOIN.http.1",
            T0 + 0.1,
            (FIXTURES / "symbols.json").read_text(),
            "https://api.kucoin.com/api/v1/symbols",
        ),
        Frame("connect", CONN, T0 + 0.2, "", "wss://ws-api-spot.kucoin.com/?token=" + token["data"]["token"]),
        recv(T0 + 0.21, fixture("welcome.json")),
        *(
            Frame(
                "send",
                CONN,
                T0 + 0.22,
                json.dumps({"id": 1, "type": "subscribe", "topic": t, "privateChannel": False, "response": True}),
            )
            for t in topics
        ),
        *(recv(T0 + 0.23, {"id": "1", "type": "ack"}) for _ in topics),
        recv(T0 + 0.5, l2(14701689785, 14701689789, [["67993.3", "1.1", "14701689789"]], [])),
        recv(
            T0 + 0.6, l2(14701689790, 14701689791, [["67995", "0", "14701689791"]], [["67990.1", "0.7", "14701689790"]])
        ),
        Frame(
            "http",
            "KUCOIN.http.1",
            T0 + 0.7,
            json.dumps(snapshot),
            "https://api.kucoin.com/api/v3/market/orderbook/level2?symbol=BTC-USDT",
        ),
        recv(T0 + 0.8, l2(14701689792, 14701689792, [], [["0", "0", "14701689792"]])),
        recv(
            T0 + 0.9, l2(14701689793, 14701689793, [["67993.3", "0", "14701689793"]], [["67993", "0.2", "14701689793"]])
        ),
        recv(T0 + 1.0, fixture("match.json")),
        recv(T0 + 1.1, ticker),
        recv(T0 + 1.2, fixture("candles.json")),
        recv(T0 + 1.3, fixture("level2_depth5.json")),
    ]


def test_cryptofeed_session_replays() -> None:
    """The host is recognised; the v1 listing and the keyed v3 snapshot answer the adapter's requests; the
    snapshot joins the update straddling it; every recorded frame is an event or counted control."""
    frames = cryptofeed_session()
    (connect,) = [f for f in frames if f.kind == "connect"]
    assert KucoinAdapter.recognizes(connect.url) and not KucoinFuturesAdapter.recognizes(connect.url)
    replay = Replay(frames, exchange="kucoin")
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    books = [(e.snapshot, e.sequence, e.bids, e.asks) for e in events if isinstance(e, Book)]
    assert books == [
        (True, 14701689790, [(67990.1, 0.5), (67990.0, 1.0)], [(67993.3, 1.2), (67995.0, 2.0)]),
        (False, 14701689791, [(67990.1, 0.7)], [(67995.0, 0.0)]),
        (False, 14701689793, [(67993.0, 0.2)], [(67993.3, 0.0)]),
    ]
    book = replay.adapter.book("BTC/USDT")
    assert book is not None and book.bids() == {67990.0: 1.0, 67990.1: 0.7, 67993.0: 0.2} and book.asks() == {}
    assert [e for e in events if isinstance(e, Trade)] == [
        Trade("kucoin", "BTC/USDT", 1729843222.921, T0 + 1.0, 67523.0, 0.003, "buy", "11067996711960577")
    ]
    assert [e for e in events if isinstance(e, Ticker)] == [
        Ticker("kucoin", "BTC/USDT", None, T0 + 1.1, 0.049, 0.036, 0.08, 0.18, 0.08)
    ]
    assert [(e.interval, e.start, e.close) for e in events if isinstance(e, Candle)] == [("1h", 1729839600.0, 67437.6)]
    stats = replay.adapter.stats
    assert (stats["ignored.welcome"], stats["ignored.ack"], stats["ignored./spotMarket/level2Depth5"]) == (1, 4, 1)
    assert replay.stats["unanswered_requests"] == 0


# -- the shared real recording ------------------------------------------------------------------


def _reference(
    frames: list[Frame], snapshot_seq: int, symbol_native: str
) -> tuple[dict[float, float], dict[float, float], int]:
    """The book the recording implies from the recorded snapshot with ``snapshot_seq``, by the documented
    rule, with plain json: (bids, asks, last sequence)."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    for frame in frames:
        if frame.kind == "http" and "orderbook" in frame.url and f"symbol={symbol_native}" in frame.url:
            data = json.loads(frame.data)["data"]
            if int(data["sequence"]) == snapshot_seq:
                bids = {float(p): float(s) for p, s in data["bids"] if float(s)}
                asks = {float(p): float(s) for p, s in data["asks"] if float(s)}
                break
    last = snapshot_seq
    for frame in frames:
        if frame.kind != "recv" or f'/market/level2:{symbol_native}"' not in str(frame.data):
            continue
        data = json.loads(frame.data)["data"]
        if int(data["sequenceEnd"]) <= last:
            continue
        assert int(data["sequenceStart"]) <= last + 1, "the recording has a gap after the joined snapshot"
        for side, levels in ((bids, data["changes"]["bids"]), (asks, data["changes"]["asks"])):
            for price, size, _ in levels:
                if float(price) == 0:
                    continue
                if float(size) == 0:
                    side.pop(float(price), None)
                else:
                    side[float(price)] = float(size)
        last = int(data["sequenceEnd"])
    return bids, asks, last


def test_real_recording_replays() -> None:
    """Every frame is an event or counted; trade ids unique per symbol; books uncrossed and equal to the
    book the recording implies by KuCoin's rule."""
    if not RECORDING.exists():
        pytest.skip(f"recording kucoin.jsonl.zst not available (expected at {RECORDING})")
    frames = sorted(read_capture(RECORDING), key=lambda f: f.ts)
    replay = Replay(frames)
    trade_ids: dict[str, set[str]] = defaultdict(set)
    joined: dict[str, int] = {}
    errors = []
    for event in replay:
        if isinstance(event, Error):
            errors.append(event)
        elif isinstance(event, Trade):
            assert event.id not in trade_ids[event.symbol], event
            trade_ids[event.symbol].add(event.id)
            assert event.side in ("buy", "sell") and event.amount > 0
        elif isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            assert book is not None and not book.crossed(), event
            if event.snapshot and event.sequence is not None:
                joined[event.symbol] = event.sequence
    assert [e for e in errors if e.reason != "rejected"] == []
    for symbol, sequence in joined.items():
        book = replay.adapter.book(symbol)
        native = replay.adapter.instruments.by_symbol(symbol).native
        bids, asks, last = _reference(frames, sequence, native)
        assert book is not None and book.synced and book.sequence == last
        assert (book.bids(), book.asks()) == (bids, asks)
