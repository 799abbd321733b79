"""Bitget captures through the real adapter: a cryptofeed-style v1 session, a synthetic v2 one, and the
shared real recording when it is there."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from collector.exchanges.bitget import BitgetAdapter
from collector.models import Book, Candle, Connected, DerivativeTicker, Error, Event, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator import synthetic_frames
from tests.conftest import recording

CAPTURE = Path(__file__).resolve().parent.parent / "fixtures" / "bitget" / "cryptofeed_v1.jsonl"


def test_cryptofeed_v1_session_replays() -> None:
    """The streams cryptofeed subscribes (``/spot/v1/stream`` ``SP``, ``/mix/v1/stream`` ``MC``) and its v1
    listings (``products``, ``contracts?productType=umcbl|dmcbl``) give the same unified events as v2."""
    replay = Replay(CAPTURE)
    assert replay.exchange == "bitget"
    events = [e for e in replay if not isinstance(e, Connected)]
    spot = [e for e in events if e.symbol == "BTC/USDT"]
    got = [(type(e).__name__, e.received) for e in spot]
    assert got == [
        ("Book", 1649290077.51),
        ("Trade", 1649290077.52),
        ("Trade", 1649290077.52),
        ("Ticker", 1649290077.53),
        ("Candle", 1649290077.54),
        ("Candle", 1649290077.54),
        ("Book", 1649290077.7),
        ("Trade", 1649290077.8),
        ("Candle", 1649290077.81),
    ]
    trades = [e for e in events if isinstance(e, Trade)]
    assert [(t.symbol, t.timestamp, t.price, t.amount, t.side, t.id) for t in trades] == [
        ("BTC/USDT", 1649290070.329, 46471.0, 0.0021, "buy", ""),
        ("BTC/USDT", 1649290076.333, 46470.12, 0.015, "sell", ""),
        ("BTC/USD:BTC", 1649290077.3, 46551.0, 0.02, "buy", ""),
        ("BTC/USDT", 1649290077.777, 46687.67, 0.004, "buy", ""),
    ]
    candles = [e for e in events if isinstance(e, Candle)]
    assert [(c.start, c.end, c.close, c.volume, c.closed) for c in candles] == [
        (1649289960.0, 1649290020.0, 46471.0, 3.4561, True),
        (1649290020.0, 1649290080.0, 46470.12, 1.0042, False),
        (1649290020.0, 1649290080.0, 46687.67, 1.0082, False),
    ]
    (derivative,) = [e for e in events if isinstance(e, DerivativeTicker)]
    assert (derivative.symbol, derivative.funding_rate, derivative.open_interest) == ("BTC/USD:BTC", -0.0001, 2195.717)
    assert [(e.symbol, e.bid, e.ask) for e in events if isinstance(e, Ticker)] == [
        ("BTC/USDT", 46556.59, 46565.67),
        ("BTC/USD:BTC", 46550.5, 46551.0),
    ]
    # A frame that is no channel of Bitget at all is an error; every other frame is data or counted.
    assert [(e.conn, e.reason) for e in events if isinstance(e, Error)] == [("BITGET.ws.2", "unknown_channel")]
    adapter = replay.adapter
    assert isinstance(adapter, BitgetAdapter)
    assert dict(adapter.stats) == {"ignored.ack": 10, "ignored.pong": 1, "error.unknown_channel": 1}
    # Every book message, snapshots included, passed its checksum.
    assert dict(adapter.books.stats) == {"snapshots": 2, "checksum_ok": 4}
    perp = adapter.book("BTC/USDT:USDT")
    assert perp is not None
    assert (perp.bids(), perp.asks()) == ({46550.5: 1.25, 46550.0: 0.3, 46549.5: 4.1}, {46551.5: 0.75})


def test_synthetic_v2_session_checks_every_update() -> None:
    """Five product lines through one socket: every update links by ``pseq`` and passes its checksum."""
    symbols = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC", "BTC/USDC:USDC", "ETH/USD:ETH-261225"]
    replay = Replay(synthetic_frames("bitget", symbols, frames=3000, seed=4), exchange="bitget")
    kinds = Counter(type(e).__name__ for e in replay)
    assert kinds["Error"] == kinds["Resync"] == 0
    assert {"Book", "Trade", "Ticker", "DerivativeTicker", "Candle"} <= set(kinds)
    stats = replay.adapter.books.stats
    assert stats["snapshots"] == len(symbols)
    assert stats["checksum_ok"] == kinds["Book"] - len(symbols)  # every update; snapshots carry checksum 0


def test_shared_recording_replays_cleanly() -> None:
    """A real recorded Bitget session (when ``../shared/recordings`` has one): nothing malformed, books
    never crossed, no checksum or sequence failure, trade ids unique per symbol."""
    replay = Replay(recording("bitget.jsonl.zst"))
    errors: Counter[str] = Counter()
    crossed: list[str] = []
    resyncs: Counter[str] = Counter()
    ids: defaultdict[str, Counter[str]] = defaultdict(Counter)
    events: Counter[str] = Counter()
    for event in replay:
        events[type(event).__name__] += 1
        _check(replay, event, errors, crossed, resyncs, ids)
    assert events["Trade"] and events["Book"]
    assert {r: n for r, n in errors.items() if r not in ("rejected", "no_instruments")} == {}
    assert {r: n for r, n in resyncs.items() if r in ("checksum", "gap", "crossed", "invalid")} == {}
    assert crossed == []
    assert {s: [i for i, n in c.items() if n > 1] for s, c in ids.items() if any(n > 1 for n in c.values())} == {}


def _check(
    replay: Replay,
    event: Event,
    errors: Counter[str],
    crossed: list[str],
    resyncs: Counter[str],
    ids: defaultdict[str, Counter[str]],
) -> None:
    if isinstance(event, Error):
        errors[event.reason] += 1
    elif isinstance(event, Resync):
        resyncs[event.reason] += 1
    elif isinstance(event, Trade) and event.id:
        ids[event.symbol][event.id] += 1
    elif isinstance(event, Book):
        book = replay.adapter.book(event.symbol)
        if book is not None and book.synced and book.crossed():
            crossed.append(f"{event.symbol} at {event.received}")


@pytest.mark.parametrize("symbol", ["BTC/USDT", "BTC/USDT:USDT"])
def test_demo_symbols_are_simulated(symbol: str) -> None:
    """The demo symbols exist in the simulator with their Bitget ids."""
    wire = BitgetAdapter.simulator_wire()
    assert wire.instrument(symbol, 0).native == "BTCUSDT"
