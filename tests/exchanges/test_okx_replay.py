"""Replay of OKX captures made by other recorders through the real adapter.

A cryptofeed-based recorder connects to ``wss://ws.okx.com:8443/ws/v5/public`` for every
channel, subscribes ``books``/``trades``/``tickers``/``funding-rate``/``open-interest`` and
``candle<bar>`` (refused there: candles moved to /business), re-sends its growing subscribe
request once per channel (so OKX acknowledges some args twice), and lists instruments with
one request per ``instType`` plus options per underlying. The capture below is built from
the documented messages in ``tests/fixtures/okx``; the simulator plays it back, and a real
recording in ``../shared/recordings`` is replayed too when it is there.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets

from collector import Book, Candle, Error, Ticker, Trade, read_capture
from collector.capture import Frame
from collector.models import DerivativeTicker, Resync
from collector.replay import Replay
from collector.simulator import Fault, Simulator
from tests.conftest import recording

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "okx"
URL = "wss://ws.okx.com:8443/ws/v5/public"
REST = "https://www.okx.com/api/v5/public/instruments"
T0 = 1700000000.0


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def cryptofeed_session() -> list[Frame]:
    """A session as a cryptofeed recorder writes it, with its subscriptions and OKX's replies."""
    header = {"t": "header", "format": 2, "exchange": "OKX", "config": {"channels": ["l2_book", "trades", "ticker"]}}
    records: list[Frame] = [Frame("header", "", T0, json.dumps(header))]
    for n, (query, name) in enumerate(
        [("SPOT", "spot"), ("SWAP", "swap"), ("FUTURES", "futures"), ("OPTION&uly=BTC-USD", "refused")]
    ):
        records.append(
            Frame("http", "http", T0 + n * 0.01, fixture(f"instruments_{name}.json"), f"{REST}?instType={query}")
        )
    conn = "okx.cryptofeed"
    records.append(Frame("connect", conn, T0 + 1, "", URL))
    args: list[dict[str, str]] = []
    at = T0 + 1.1
    for channel in ("books", "trades", "tickers", "candle1m"):
        args.append({"channel": channel, "instId": "BTC-USDT"})
        records.append(Frame("send", conn, at, json.dumps({"op": "subscribe", "args": args})))
        at += 0.01
    acks: list[dict[str, Any]] = [{"event": "subscribe", "arg": arg, "connId": "a4d3ae55"} for arg in args[:3]]
    refused = {
        "event": "error",
        "msg": "Wrong URL or channel:candle1m,instId:BTC-USDT doesn't exist. "
        "Please use the correct URL, channel and parameters referring to API document.",
        "code": "60018",
        "connId": "a4d3ae55",
    }
    replies = [*acks[:1], *acks[:2], *acks[:3], refused]
    pushes = [
        fixture("books_snapshot.json"),
        fixture("trades.json"),
        fixture("tickers.json"),
        fixture("books_update.json"),
        "pong",
        fixture("books_heartbeat.json"),
        fixture("price_limit.json"),
    ]
    for n, frame in enumerate([*(json.dumps(r) for r in replies), *pushes]):
        records.append(Frame("recv", conn, T0 + 2 + n, frame))
    return records


def test_cryptofeed_style_session_replays() -> None:
    """The capture is recognised as OKX; its book, trade and ticker become events; replies are counted."""
    replay = Replay(cryptofeed_session())
    events = list(replay)
    assert replay.exchange == "okx"
    books = [e for e in events if isinstance(e, Book)]
    assert [(b.snapshot, b.sequence, len(b.bids), len(b.asks)) for b in books] == [
        (True, 123456, 8, 8),
        (False, 123461, 1, 2),
    ]
    assert [e for e in events if isinstance(e, Trade)] == [
        Trade("okx", "BTC/USDT", 1630048897.897, T0 + 2 + 8, 42219.9, 0.12060306, "buy", "130639474")
    ]
    (ticker,) = [e for e in events if isinstance(e, Ticker)]
    assert (ticker.symbol, ticker.bid, ticker.ask, ticker.last) == ("BTC/USDT", 8888.88, 9999.99, 9999.99)
    # The one error is OKX refusing candles on /public; duplicated acks and the rest are replies.
    errors = [e for e in events if isinstance(e, Error)]
    assert [(e.reason, e.detail[:6]) for e in errors] == [("rejected", "60018:")]
    adapter = replay.adapter
    assert dict(adapter.stats) == {
        "ignored.ack": 6,
        "ignored.pong": 1,
        "ignored.book_heartbeat": 1,
        "ignored.price-limit": 1,
        "error.rejected": 1,
    }
    book = adapter.book("BTC/USDT")
    assert book is not None and book.synced and not book.crossed()
    assert replay.stats["unanswered_requests"] == 0


def test_captures_of_old_okex_hosts_are_recognised() -> None:
    """Captures made before the 2022 rename connect to ws.okex.com: still OKX."""
    frames = [
        f if f.kind != "connect" else Frame("connect", f.conn, f.ts, "", URL.replace("okx", "okex"))
        for f in cryptofeed_session()
    ]
    replay = Replay(frames)
    assert replay.exchange == "okx"
    assert any(isinstance(e, Book) for e in replay)


def test_shared_okx_recording_if_present() -> None:
    """A real OKX session replays without an exception or an impossible value; its books never cross."""
    path = recording("okx.jsonl.zst")
    replay = Replay(read_capture(path))
    crossed = []
    trades: set[tuple[str, str]] = set()
    duplicates = 0
    counts = {Book: 0, Trade: 0, Ticker: 0, Candle: 0, DerivativeTicker: 0}
    for event in replay:
        if type(event) in counts:
            counts[type(event)] += 1
        if isinstance(event, Error):
            assert event.reason in ("rejected", "unknown_symbol"), event
        if isinstance(event, Resync):
            assert event.reason != "checksum", event
        if isinstance(event, Trade):
            key = (event.symbol, event.id)
            duplicates += key in trades
            trades.add(key)
        if isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(event)
    assert crossed == []
    assert duplicates == 0
    assert counts[Trade] > 0 and counts[Book] > 0


async def test_the_simulator_plays_the_capture() -> None:
    """Subscribing ``books`` gets the recorded book frames, byte for byte; the recorder's replies are not played."""
    frames = cryptofeed_session()
    recorded = [f.data for f in frames if f.kind == "recv" and '"channel":"books"' in str(f.data)[:40]]
    async with Simulator.from_capture(frames) as sim, websockets.connect(sim.endpoints("okx").ws + "/public") as ws:
        await ws.send('{"id":"9","op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
        ack = json.loads(await ws.recv())
        got = [await asyncio.wait_for(ws.recv(), 2.0) for _ in recorded]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.2)
        await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"ETH-USDT"}]}')
        refused = json.loads(await ws.recv())
    assert (ack["id"], ack["event"], ack["arg"]) == ("9", "subscribe", {"channel": "books", "instId": "BTC-USDT"})
    assert got == recorded
    assert (refused["event"], refused["code"]) == ("error", "60018")  # not in the recording


async def test_gap_on_a_played_capture_withholds_one_book_update() -> None:
    """GAP by unified symbol drops the recorded update after the snapshot; the snapshot is never withheld."""
    frames = cryptofeed_session()
    async with Simulator.from_capture(frames) as sim, websockets.connect(sim.endpoints("okx").ws + "/public") as ws:
        sim.inject("okx", Fault.GAP, symbol="BTC/USDT")
        await ws.send('{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}')
        await ws.recv()
        got = [json.loads(await asyncio.wait_for(ws.recv(), 2.0)) for _ in range(2)]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.2)
    assert [m["action"] for m in got] == ["snapshot", "update"]
    assert got[1]["data"][0]["prevSeqId"] == got[1]["data"][0]["seqId"]  # the heartbeat; the real update went
    assert sim.stats["dropped.gap"] == 1
