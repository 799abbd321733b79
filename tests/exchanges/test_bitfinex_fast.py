"""Bitfinex's direct path for book, trade and ticker messages, and the listings of synthetic captures.

Channel messages are arrays, which the generic fast path does not read: the adapter's
``receive`` takes the three busiest kinds straight to their handler. Its output must be the
generic boundary's, broken frames and sequence numbers included.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from collector.actions import RestRequest
from collector.exchanges import ConnectionPlan
from collector.exchanges.base import Adapter
from collector.exchanges.bitfinex import BitfinexAdapter
from collector.exchanges.bitfinex.instruments import LISTINGS
from collector.models import Book, Error
from collector.replay import Replay
from collector.simulator import synthetic_frames

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bitfinex"
T = 1700000000.5
REST = "https://api-pub.bitfinex.com"
SUBSCRIBED = ["subscribed_trades.json", "subscribed_ticker.json", "subscribed_book.json", "subscribed_candles.json"]


def raw(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def subscribed(sequenced: bool) -> BitfinexAdapter:
    """Instruments loaded, the documented channels subscribed on ``c`` (with ``SEQ_ALL`` when ``sequenced``)."""
    adapter = BitfinexAdapter()
    files = {
        "/v2/conf/pub:list:pair:exchange": "pairs_exchange.json",
        "/v2/conf/pub:map:currency:sym": "currency_map.json",
    }
    for path, name in files.items():
        adapter.answer(RestRequest(REST + path, "instruments"), 200, raw(name).encode(), T)
    adapter.connected(ConnectionPlan("c", "wss://api-pub.bitfinex.com/ws/2"), T)
    for name in SUBSCRIBED + (["conf.json"] if sequenced else []):
        adapter.receive("c", raw(name), T)
    return adapter


def numbered(frame: str, seq: int) -> str:
    return f"{frame[:-1]},{seq}]"


FRAMES = [
    raw("book_snapshot.json"),
    raw("book_update.json"),
    raw("book_update_ask.json"),
    raw("trade_te.json"),
    raw("trade_tu.json"),
    raw("ticker.json"),
    raw("trades_snapshot.json"),
    raw("heartbeat.json"),
    "[17082,[7254.5,1,0]]",  # amount 0: no side
    "[17082,[7254.5,1,NaN]]",
    "[17082,[7254.5,1",  # cut off
    '[17470,"te",[401597395,1574694478808,0,7245.3]]',  # a trade without a side
    '[17470,"xx",[401597395,1574694478808,1,7245.3]]',
    "[443378,[0,1,0,1,0,0,0,1,0,0]]",  # an empty book
    "[99999,[1,2,3]]",  # an unknown channel
]


@pytest.mark.parametrize("sequenced", [False, True])
def test_direct_messages_give_the_boundarys_output(sequenced: bool) -> None:
    """Each message gives what :meth:`Adapter.receive` (the generic boundary) gives, and the same state after."""
    direct, generic = subscribed(sequenced), subscribed(sequenced)
    for seq, frame in enumerate(FRAMES, 1):
        if sequenced and frame.startswith("[") and frame.endswith("]"):
            frame = numbered(frame, seq)
        assert direct.receive("c", frame, T + seq) == Adapter.receive(generic, "c", frame, T + seq), frame
        assert direct.data_at == generic.data_at
        assert direct.stats == generic.stats
    book, other = direct.books.book("BTC/USD"), generic.books.book("BTC/USD")
    assert book is not None and other is not None and book.depth() == other.depth()


def test_a_broken_frame_is_one_error_and_changes_nothing() -> None:
    """A level that does not decode is reported once; the book and the sequence are as before it."""
    adapter = subscribed(True)
    assert isinstance(adapter.receive("c", numbered(raw("book_snapshot.json"), 1), T)[0], Book)
    (error,) = adapter.receive("c", "[17082,[7254.5,1,NaN],2]", T)
    assert isinstance(error, Error) and error.reason == "malformed"
    assert [type(e) for e in adapter.receive("c", numbered(raw("book_update.json"), 2), T)] == [Book]


def test_synthetic_sessions_list_perpetuals_too() -> None:
    """A synthetic capture records every listing the adapter reads, so perpetuals replay under their symbol."""
    frames = synthetic_frames("bitfinex", ["BTC/USDT:USDT"], frames=300, seed=1)
    assert [urlsplit(f.url).path for f in frames if f.kind == "http"] == list(LISTINGS)
    events = list(Replay(frames))
    assert {e.symbol for e in events if isinstance(e, Book)} == {"BTC/USDT:USDT"}
    assert [e for e in events if isinstance(e, Error)] == []
