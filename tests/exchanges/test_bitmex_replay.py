"""Replay of BitMEX sessions shaped like a cryptofeed recorder's, and of a real recording when one is shared.

cryptofeed's ``Bitmex`` feed connects to ``wss://www.bitmex.com/realtime``, lists instruments
from ``https://www.bitmex.com/api/v1/instrument/active`` and sends
``{"op":"subscribe","args":[...]}`` with ten ``<table>:<symbol>`` topics a request:
``orderBookL2`` (l2_book), ``trade``, ``quote`` (ticker), ``funding``, ``instrument``
(open_interest) and ``liquidation``. The session here is written by the project's
simulator as BitMEX would answer those requests; a second one drops ``price`` from
``update``/``delete`` rows, as BitMEX sent them before July 2023.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from collector import read_capture
from collector.capture import Frame
from collector.exchanges.bitmex.sim import BitmexWire
from collector.fuzz import fuzz_session
from collector.models import Book, DerivativeTicker, Error, Liquidation, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator.market import SymbolMarket
from collector.simulator.wire import RestCall

RECORDING = Path(__file__).resolve().parents[3] / "shared" / "recordings" / "bitmex.jsonl.zst"
if not RECORDING.exists():  # pragma: no cover - depends on the checkout
    RECORDING = Path("/work/shared/recordings/bitmex.jsonl.zst")

SYMBOLS = ["BTC/USD:BTC", "BTC/USDT:USDT", "ETH/USD:BTC"]
START = 1_700_000_000.0
CHANNELS = ("orderBookL2", "trade", "quote", "funding", "instrument", "liquidation")


def cryptofeed_session(steps: int, *, legacy: bool) -> tuple[list[Frame], BitmexWire, dict[str, SymbolMarket]]:
    """A capture as cryptofeed's recorder writes it, from the simulator's markets after ``steps`` ticks."""
    wire = BitmexWire()
    specs = [wire.instrument(symbol, 5) for symbol in SYMBOLS]
    markets = {spec.native: wire.market(spec, 5, 30) for spec in specs}
    conn = "BITMEX.ws.1"
    listing = wire.rest(RestCall("GET", wire.instruments_path, {}), markets, int(START * 1000))
    config = {name: ["BTC-USD-PERP", "BTC-USDT-PERP", "ETH-USD-PERP"] for name in ("l2_book", "trades", "ticker")}
    frames = [
        Frame(
            "header",
            "",
            START,
            orjson.dumps({"t": "header", "format": 2, "exchange": "BITMEX", "config": config}).decode(),
        ),
        Frame("http", "BITMEX.http.1", START, listing.body.decode(), "https://www.bitmex.com/api/v1/instrument/active"),
        Frame("connect", conn, START + 0.1, "", "wss://www.bitmex.com/realtime"),
    ]
    topics = [f"{table}:{spec.native}" for table in CHANNELS for spec in specs]
    session = wire.open("realtime")
    now_ms = int(START * 1000)
    for i in range(0, len(topics), 10):
        request = orjson.dumps({"op": "subscribe", "args": topics[i : i + 10]}).decode()
        frames.append(Frame("send", conn, START + 0.2, request))
        control = wire.on_client_text(session, request, markets, now_ms)
        for text in [control.reply, *control.frames]:
            assert isinstance(text, str)
            frames.append(Frame("recv", conn, START + 0.3, text))
        session.streams.extend(control.subscribe)
    for step in range(1, steps + 1):
        ts = START + 0.3 + step * 0.1
        for spec in specs:
            for message in wire.encode(spec, markets[spec.native].step(int(ts * 1000)), session.streams):
                assert isinstance(message.text, str)
                frames.append(Frame("recv", conn, ts, _legacy(message.text) if legacy else message.text))
    return frames, wire, markets


def _legacy(text: str) -> str:
    """A book frame as BitMEX sent it before July 2023: no ``price`` on ``update``/``delete`` rows."""
    msg = json.loads(text)
    if msg.get("table") != "orderBookL2" or msg["action"] not in ("update", "delete"):
        return text
    for row in msg["data"]:
        row.pop("price")
        row.pop("transactTime", None)
    return orjson.dumps(msg).decode()


def replayed(frames: list[Frame]) -> tuple[Replay, list[Any], list[str]]:
    """Every event of a replay, and the books found crossed after a book event."""
    replay = Replay(frames)
    events = []
    crossed = []
    for event in replay:
        events.append(event)
        if isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(event.symbol)
    return replay, events, crossed


@pytest.mark.parametrize("legacy", [False, True], ids=["priced rows", "pre-2023 rows"])
def test_cryptofeed_shaped_session_replays_to_the_true_books(legacy: bool) -> None:
    """Detected from www.bitmex.com; no errors; books equal the simulator's; trades in base units."""
    frames, wire, markets = cryptofeed_session(400, legacy=legacy)
    replay, events, crossed = replayed(frames)
    assert replay.exchange == "bitmex"
    assert [e for e in events if isinstance(e, Error | Resync)] == []
    assert crossed == []
    adapter = replay.adapter
    for symbol in SYMBOLS:
        market = next(m for m in markets.values() if m.spec.symbol == symbol)
        bids, asks, _ = wire.true_book(market, None)
        book = adapter.book(symbol)
        assert book is not None and book.synced
        assert (book.bids(), book.asks()) == (bids, asks), symbol
    trades = [e for e in events if isinstance(e, Trade)]
    rows = [
        row
        for f in frames
        if f.kind == "recv" and f.data.startswith('{"table":"trade"')
        for row in json.loads(f.data)["data"]
    ]
    assert len(trades) == len(rows) > 50
    for trade, row in zip(trades, rows, strict=True):
        assert (trade.id, trade.price, trade.side) == (row["trdMatchID"], row["price"], row["side"].lower())
        if row.get("homeNotional"):
            assert trade.amount == row["homeNotional"]  # "homeNotional = base amount"
        elif row["symbol"] == "XBTUSD":
            assert trade.amount == row["size"] / row["price"]
        elif row["symbol"] == "XBTUSDT":
            assert trade.amount == row["size"] * 1e-6
        else:
            assert trade.amount == row["homeNotional"]
    assert {e.symbol for e in events if isinstance(e, Ticker)} == set(SYMBOLS)
    assert {e.symbol for e in events if isinstance(e, DerivativeTicker)} == set(SYMBOLS)
    assert any(isinstance(e, Liquidation) for e in events)
    assert adapter.stats["ignored.ack"] == len(CHANNELS) * len(SYMBOLS)
    assert adapter.stats["ignored.funding"] == len(SYMBOLS)  # the funding history images


def test_timestamps_are_float_seconds_of_the_rows() -> None:
    """Every trade's time is its row's ISO time in epoch seconds."""
    frames, _, _ = cryptofeed_session(60, legacy=False)
    _, events, _ = replayed(frames)
    trade = next(e for e in events if isinstance(e, Trade))
    row = next(r for f in frames if f.data.startswith('{"table":"trade"') for r in json.loads(f.data)["data"])
    assert trade.timestamp == datetime.fromisoformat(row["timestamp"].replace("Z", "+00:00")).timestamp()


def test_real_recording_replays_cleanly() -> None:
    """A shared BitMEX recording, when there is one: nothing unreadable, unique trade ids, books never crossed."""
    if not RECORDING.exists():
        pytest.skip("no shared BitMEX recording")
    replay, events, crossed = replayed(list(read_capture(RECORDING)))
    assert replay.exchange == "bitmex"
    assert [e for e in events if isinstance(e, Error)] == []
    assert crossed == []
    ids = [(e.symbol, e.id) for e in events if isinstance(e, Trade)]
    assert len(ids) == len(set(ids))
    assert all(e.amount >= 0 and e.price > 0 for e in events if isinstance(e, Trade))


@pytest.mark.parametrize("legacy", [False, True], ids=["priced rows", "pre-2023 rows"])
def test_mutated_frames_of_every_table_never_escape(legacy: bool) -> None:
    """Fuzzing the recorder-shaped session (instrument, liquidation, funding tables included): nothing
    escapes the boundary and no impossible value reaches an event or a book."""
    frames, _, _ = cryptofeed_session(300, legacy=legacy)
    report = fuzz_session("bitmex", frames, 6000, seed=3)
    assert report.escapes == []
    assert report.bad_values == []
    assert report.errors >= 500
    assert report.events >= 500
