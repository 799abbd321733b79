"""Replays of Gate sessions in the shape a cryptofeed-based recorder writes them.

cryptofeed 2.4.1's ``Gateio`` feed connects to ``wss://api.gateio.ws/ws/v4/`` and subscribes
``spot.trades``, ``spot.tickers`` (its ticker), ``spot.order_book_update`` with
``[pair, "100ms"]`` and ``spot.candlesticks`` with ``[interval, pair]``; on a book's first
diff it reads ``/api/v4/spot/order_book?currency_pair=...&limit=100&with_id=true``. Its
``GateioFutures`` feed uses ``wss://fx-ws.gateio.ws/v4/ws/usdt``, ``futures.book_ticker``
as its ticker, ``futures.tickers`` for funding, ``[contract, "100ms"]`` books (no level)
and ``/api/v4/futures/usdt/...`` REST calls. The captures below are built from Gate's
documented messages in exactly that shape. A real recording in ``../shared/recordings``
(``gateio*.jsonl.zst``), when there is one, is replayed too.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from collector.capture import Frame
from collector.models import Book, Candle, DerivativeTicker, Error, Ticker, Trade
from collector.replay import Replay, detect_exchange

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "gateio"
RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "recordings"
if not RECORDINGS.exists():  # pragma: no cover - depends on the checkout
    RECORDINGS = Path("/work/shared/recordings")
T0 = 1618961340.0


def text(name: str, **result: Any) -> str:
    msg = json.loads((FIXTURES / name).read_text())
    target = msg["result"][0] if isinstance(msg["result"], list) else msg["result"]
    target.update(result)
    return json.dumps(msg, separators=(",", ":"))


def subscribe(channel: str, payload: list[str]) -> str:
    return json.dumps({"time": int(T0), "channel": channel, "event": "subscribe", "payload": payload})


def ack(channel: str, payload: list[str]) -> str:
    reply = {"time": int(T0), "time_ms": int(T0 * 1000), "channel": channel, "event": "subscribe"}
    return json.dumps(reply | {"payload": payload, "result": {"status": "success"}})


def spot_session() -> list[Frame]:
    config = {"trades": ["BTC-USDT"], "l2_book": ["BTC-USDT"], "ticker": ["BTC-USDT"], "candles": ["BTC-USDT"]}
    header = {"t": "header", "format": 2, "exchange": "GATEIO", "config": config, "candle_interval": "1m"}
    conn = "GATEIO.ws.1"
    requests = [
        ("spot.order_book_update", ["BTC_USDT", "100ms"]),
        ("spot.trades", ["BTC_USDT"]),
        ("spot.tickers", ["BTC_USDT"]),
        ("spot.candlesticks", ["1m", "BTC_USDT"]),
    ]
    frames = [
        Frame("header", "", T0, json.dumps(header)),
        Frame(
            "http",
            "GATEIO.http.sync",
            T0,
            (FIXTURES / "currency_pairs.json").read_text(),
            "https://api.gateio.ws/api/v4/spot/currency_pairs",
        ),
        Frame("connect", conn, T0 + 0.1, url="wss://api.gateio.ws/ws/v4/"),
    ]
    for n, (channel, payload) in enumerate(requests):
        frames.append(Frame("send", conn, T0 + 0.2 + n / 100, subscribe(channel, payload)))
        frames.append(Frame("recv", conn, T0 + 0.3 + n / 100, ack(channel, payload)))
    snapshot_url = "https://api.gateio.ws/api/v4/spot/order_book?currency_pair=BTC_USDT&limit=100&with_id=true"
    frames += [
        Frame("recv", conn, T0 + 7.0, text("spot_order_book_update.json")),
        Frame(
            "http", "GATEIO.http.0", T0 + 7.2, (FIXTURES / "spot_order_book_snapshot.json").read_text(), snapshot_url
        ),
        Frame(
            "recv",
            conn,
            T0 + 7.3,
            text("spot_order_book_update.json", U=2679731744, u=2679731746, b=[], a=[["56449.0", "3"]]),
        ),
        Frame(
            "recv", conn, T0 + 7.4, text("spot_trade.json", currency_pair="BTC_USDT", amount="0.05", price="56447.57")
        ),
        Frame("recv", conn, T0 + 7.5, text("spot_tickers.json")),
        Frame("recv", conn, T0 + 7.6, text("spot_candlesticks.json")),
    ]
    return frames


def futures_session() -> list[Frame]:
    header = {"t": "header", "format": 2, "exchange": "GATEIO_FUTURES", "config": {"l2_book": ["BTC-USDT-PERP"]}}
    conn = "GATEIO_FUTURES.ws.1"
    listing = json.loads((FIXTURES / "contracts_usdt.json").read_text())
    snapshot = json.loads((FIXTURES / "futures_order_book_snapshot.json").read_text())
    frames = [
        Frame("header", "", T0, json.dumps(header)),
        Frame("http", "http", T0, json.dumps(listing), "https://api.gateio.ws/api/v4/futures/usdt/contracts"),
        Frame("connect", conn, T0 + 0.1, url="wss://fx-ws.gateio.ws/v4/ws/usdt"),
        Frame("send", conn, T0 + 0.2, subscribe("futures.order_book_update", ["BTC_USDT", "100ms"])),
        Frame("recv", conn, T0 + 0.3, ack("futures.order_book_update", ["BTC_USDT", "100ms"])),
        Frame("recv", conn, T0 + 1.0, text("futures_order_book_update.json", s="BTC_USDT")),
        Frame(
            "http",
            "http",
            T0 + 1.1,
            json.dumps(snapshot),
            "https://api.gateio.ws/api/v4/futures/usdt/order_book?contract=BTC_USDT&limit=100&with_id=true",
        ),
        Frame("recv", conn, T0 + 1.2, text("futures_book_ticker.json", s="BTC_USDT")),
        Frame("recv", conn, T0 + 1.3, text("futures_trades.json", contract="BTC_USDT", size=-3, price="54742")),
        Frame("recv", conn, T0 + 1.4, text("futures_tickers.json", contract="BTC_USDT", mark_price="54700.1")),
    ]
    return frames


def test_spot_session_is_recognised_and_replayed() -> None:
    """The spot host names the adapter; every frame is an event or a counted ack; the book joins its snapshot."""
    frames = spot_session()
    assert detect_exchange(frames) == "gateio"
    replay = Replay(frames)
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    assert dict(replay.adapter.stats) == {"ignored.ack": 4}
    assert Counter(type(e).__name__ for e in events) == {
        "Connected": 1,
        "Book": 3,
        "Trade": 1,
        "Ticker": 1,
        "Candle": 1,
    }
    books = [e for e in events if isinstance(e, Book)]
    assert [(e.snapshot, e.sequence, e.received) for e in books] == [
        (True, 2679731735, T0 + 7.2),
        (False, 2679731743, T0 + 7.0),  # a buffered diff keeps its receipt time
        (False, 2679731746, T0 + 7.3),
    ]
    book = replay.adapter.book("BTC/USDT")
    assert book is not None
    assert (book.bids(), book.asks()) == ({56444.4: 0.01, 56430.0: 2.0}, {56447.57: 0.1252, 56449.0: 3.0})
    (trade,) = [e for e in events if isinstance(e, Trade)]
    assert trade == Trade("gateio", "BTC/USDT", 1606292218.2134578, T0 + 7.4, 56447.57, 0.05, "sell", "309143071")
    (ticker,) = [e for e in events if isinstance(e, Ticker)]
    assert (ticker.bid, ticker.ask, ticker.last, ticker.received) == (15743.5, 15744.4, 15743.4, T0 + 7.5)
    (candle,) = [e for e in events if isinstance(e, Candle)]
    assert (candle.interval, candle.start, candle.volume, candle.closed) == ("1m", 1606292580.0, 3.8283, True)


def test_futures_session_is_recognised_and_replayed() -> None:
    """The USDT path names the futures adapter; contracts become base units, the book stays in contracts."""
    frames = futures_session()
    assert detect_exchange(frames) == "gateio_futures"
    replay = Replay(frames)
    events = list(replay)
    assert [e for e in events if isinstance(e, Error)] == []
    assert replay.stats["unanswered_requests"] == 1  # the recorder listed no BTC-settled contracts
    book = replay.adapter.book("BTC/USDT:USDT")
    assert book is not None
    assert (book.sequence, book.bids(), book.asks()) == (
        2517661113,
        {54664.5: 58794.0, 54660.0: 203.0},
        {54742.0: 95.0},
    )
    (trade,) = [e for e in events if isinstance(e, Trade)]
    assert (trade.symbol, trade.side, trade.amount, trade.price) == ("BTC/USDT:USDT", "sell", 3 * 0.0001, 54742.0)
    (ticker,) = [e for e in events if isinstance(e, Ticker)]
    assert (ticker.bid, ticker.bid_size, ticker.ask, ticker.ask_size) == (54696.6, 37000.0, 54696.7, 47061.0)
    (funding,) = [e for e in events if isinstance(e, DerivativeTicker)]
    assert (funding.mark_price, funding.open_interest, funding.next_funding_time) == (54700.1, 73648.0, 1610035200.0)
    assert funding.open_interest_value == 73648.0 * 0.0001 * 54700.1


RECORDED = sorted(RECORDINGS.glob("gateio*.jsonl.zst")) if RECORDINGS.exists() else []


@pytest.mark.skipif(not RECORDED, reason="no Gate recording in the shared recordings")
@pytest.mark.parametrize("path", RECORDED, ids=lambda p: p.name)
def test_real_recordings_replay_cleanly(path: Path) -> None:
    """Every frame of a real Gate recording is used or counted; books never cross; trade ids do not repeat."""
    replay = Replay(path)
    seen: dict[str, set[str]] = {}
    crossed = []
    for event in replay:
        assert not isinstance(event, Error) or event.reason == "no_instruments", event
        if isinstance(event, Trade):
            assert event.id not in seen.setdefault(event.symbol, set())
            seen[event.symbol].add(event.id)
        if isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            if book is not None and book.crossed():
                crossed.append(event.symbol)
    assert crossed == []
