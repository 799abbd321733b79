"""Replays of Kraken captures: recorder-style sessions built from the documented messages, and the
shared recordings when they are beside the checkout.

A cryptofeed-based recorder speaks websocket v1 to ``wss://ws.kraken.com`` (books at depth
1000, channel names ``book-1000``, ``ohlc-1``, pairs ``XBT/USD``) and Kraken Futures'
``ticker_lite``; replay reads the protocol from each connection's address.
"""

from __future__ import annotations

import orjson
import pytest

from collector.capture import Frame
from collector.exchanges.kraken.sim import KrakenWire
from collector.fuzz import fuzz_session
from collector.models import Book, Error, Resync, Ticker, Trade
from collector.replay import Replay, detect_exchange
from collector.simulator import synthetic_frames
from tests.conftest import fixture_text, recording

HEADER = '{"t":"header","format":2,"exchange":"%s","config":{"l2_book":["BTC-USD"],"trades":["BTC-USD"]}}'


def frames(exchange: str, listing: tuple[str, str], url: str, sent: list[str], received: list[str]) -> list[Frame]:
    """A capture: header, the instrument listing, one connection, what it sent and received (0.1 s apart)."""
    out = [Frame("header", "", 0.0, HEADER % exchange.upper())]
    out.append(Frame("http", "http", 1.0, listing[1], listing[0]))
    out.append(Frame("connect", f"{exchange}.ws.1", 1.1, "", url))
    out += [Frame("send", f"{exchange}.ws.1", 1.2, text) for text in sent]
    out += [Frame("recv", f"{exchange}.ws.1", 2.0 + i / 10, text) for i, text in enumerate(received)]
    return out


def spot(name: str) -> str:
    return fixture_text(f"kraken/{name}")


def futures(name: str) -> str:
    return fixture_text(f"kraken_futures/{name}")


def test_cryptofeed_style_v1_session_replays() -> None:
    """v1 at depth 1000: status, ack, snapshot, an update in two objects with its CRC, heartbeat, trades."""
    capture = frames(
        "kraken",
        ("https://api.kraken.com/0/public/AssetPairs", spot("asset_pairs.json")),
        "wss://ws.kraken.com",
        ['{"event":"subscribe","pair":["XBT/USD"],"subscription":{"name":"book","depth":1000}}'],
        [
            spot("v1_system_status.json"),
            spot("v1_subscription_status.json").replace("book-10", "book-1000").replace('"depth":10', '"depth":1000'),
            spot("v1_checksum_snapshot.json"),
            spot("v1_checksum_update.json"),
            spot("v1_heartbeat.json"),
            spot("v1_trade.json"),
        ],
    )
    assert detect_exchange(capture) == "kraken"
    replay = Replay(capture)
    events = list(replay)
    assert [e.type for e in events] == ["connected", "book", "book", "trade", "trade"]
    books = [e for e in events if isinstance(e, Book)]
    assert [(b.snapshot, len(b.bids), len(b.asks)) for b in books] == [(True, 10, 10), (False, 2, 2)]
    adapter = replay.adapter
    assert adapter.books.stats["checksum_ok"] == 1
    assert dict(adapter.stats) == {"ignored.status": 1, "ignored.ack": 1, "ignored.heartbeat": 1}
    book = adapter.book("BTC/USD")
    assert book is not None
    assert (len(book), book.best_bid(), book.best_ask()) == (24, (0.05, 5e-06), (0.05005, 5e-06))


def test_v2_session_replays() -> None:
    """v2: the acknowledged depth, the documented snapshot and update, a trade and a ticker."""
    capture = frames(
        "kraken",
        ("https://api.kraken.com/0/public/AssetPairs", spot("asset_pairs.json")),
        "wss://ws.kraken.com/v2",
        ['{"method":"subscribe","params":{"channel":"book","symbol":["MATIC/USD"],"depth":10}}'],
        [
            spot("v2_status.json"),
            spot("v2_subscribe_ack.json").replace("ALGO/USD", "MATIC/USD"),
            spot("v2_book_snapshot.json"),
            spot("v2_book_update.json"),
            spot("v2_trade.json"),
            spot("v2_ticker.json"),
            spot("v2_heartbeat.json"),
        ],
    )
    replay = Replay(capture)
    events = list(replay)
    assert [e.type for e in events] == ["connected", "book", "book", "trade", "ticker"]
    assert isinstance(events[3], Trade)
    assert isinstance(events[4], Ticker)
    assert replay.adapter.books.stats["checksum_ok"] == 2


def test_cryptofeed_style_futures_session_replays() -> None:
    """Kraken Futures with a legacy (lowercase) listing, ``ticker_lite`` quotes and trade snapshots."""
    snapshot = orjson.loads(futures("book_snapshot.json"))
    delta = orjson.loads(futures("book.json")) | {"seq": snapshot["seq"] + 1, "price": 34911.5}
    capture = frames(
        "kraken_futures",
        ("https://futures.kraken.com/derivatives/api/v3/instruments", futures("instruments_legacy.json")),
        "wss://futures.kraken.com/ws/v1",
        [
            '{"event":"subscribe","feed":"book","product_ids":["pi_xbtusd"]}',
            '{"event":"subscribe","feed":"ticker_lite","product_ids":["pi_xbtusd"]}',
        ],
        [
            futures("info.json"),
            futures("subscribed.json"),
            futures("subscribed_ticker_lite.json"),
            futures("book_snapshot.json"),
            orjson.dumps(delta).decode(),
            futures("ticker_lite.json").replace("FI_ETHUSD_261225", "PI_XBTUSD"),
            futures("trade_snapshot.json"),
            futures("trade.json").replace("653355", "655509"),
            futures("heartbeat.json"),
        ],
    )
    assert detect_exchange(capture) == "kraken_futures"
    replay = Replay(capture)
    events = list(replay)
    assert [e.type for e in events] == ["connected", "book", "book", "ticker", "trade", "trade"]
    recent, trade = events[4:]
    assert isinstance(recent, Trade) and isinstance(trade, Trade)
    assert (recent.id, recent.amount) == ("caa9c653-420b-4c24-a9f1-462a054d86f1", 440 / 34893)
    assert (trade.symbol, trade.amount) == ("BTC/USD:BTC", 15000 / 34969.5)


# -- synthetic v1 sessions (the simulator speaking v1, as a cryptofeed recorder hears it) -----------


@pytest.fixture
def v1_session(monkeypatch: pytest.MonkeyPatch) -> list[Frame]:
    """A synthetic session on ``wss://ws.kraken.com`` at depth 10: truncation and republished levels."""
    monkeypatch.setattr(KrakenWire, "synthetic_protocol", "v1")
    monkeypatch.setattr("collector.exchanges.kraken.sim.DEFAULT_DEPTH", 10)
    return synthetic_frames("kraken", ["BTC/USD", "ETH/USD", "DOGE/EUR"], frames=4000, seed=4)


def test_synthetic_v1_session_replays_with_every_checksum_passing(v1_session: list[Frame]) -> None:
    """Prices printed with five places against ``pair_decimals`` 1: the CRC follows the wire's places."""
    assert any(f.kind == "connect" and f.url == "wss://ws.kraken.com" for f in v1_session)
    assert any(f.kind == "recv" and ',"r"]' in str(f.data) for f in v1_session)  # republished levels
    replay = Replay(v1_session)
    counts: dict[str, int] = {}
    for event in replay:
        counts[event.type] = counts.get(event.type, 0) + 1
    assert counts.keys() == {"connected", "book", "trade", "ticker", "candle"}
    stats = replay.adapter.books.stats
    assert stats["checksum_ok"] == counts["book"] - 3  # every update; v1 snapshots carry none
    assert "resync.checksum" not in stats
    assert all(len(replay.adapter.book(s) or ()) == 20 for s in ("BTC/USD", "ETH/USD", "DOGE/EUR"))


def test_fuzzed_v1_frames_never_escape_or_leak_impossible_values(v1_session: list[Frame]) -> None:
    """v1 arrays, mutated: nothing escapes the boundary, no impossible value reaches an event or a book."""
    report = fuzz_session("kraken", v1_session, 6000, seed=7)
    assert report.escapes == []
    assert report.bad_values == []
    assert report.errors >= 1000
    assert report.events >= 1000


# -- the shared recordings, when present -------------------------------------------------------------


@pytest.mark.parametrize("name", ["kraken.jsonl.zst", "kraken_futures.jsonl.zst"])
def test_recorded_session_replays_cleanly(name: str) -> None:
    """A real session: no error, no checksum or gap resync, books never crossed, trades with positive values."""
    path = recording(name)
    replay = Replay(path, book_top=1)
    crossed = []
    counts: dict[str, int] = {}
    for event in replay:
        counts[event.type] = counts.get(event.type, 0) + 1
        assert not isinstance(event, Error), event
        if isinstance(event, Resync):
            assert event.reason not in ("checksum", "gap", "crossed"), event
        if isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(event)
        if isinstance(event, Trade):
            assert event.price > 0 and event.amount > 0 and event.timestamp is not None
    assert crossed == []
    assert counts.get("book", 0) > 0
