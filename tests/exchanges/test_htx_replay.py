"""Replay of HTX captures in the shape a cryptofeed-based recorder writes them, and of a real recording.

cryptofeed's Huobi feed connects to ``wss://api.huobi.pro/ws`` and subscribes ``depth.step0``,
``trade.detail``, ``ticker`` and ``kline.1min`` (its March 2021 versions used ``mbp.20`` on
``/feed`` with a ``req`` refresh); HuobiSwap connects to ``wss://api.hbdm.com/linear-swap-ws``
and ``/swap-ws`` for ``depth.step0`` and ``trade.detail``. Frames are gzip (stored base64), the
instrument lists are the recorder's ``http`` records. The captures here are built from the
documented messages in ``tests/fixtures/htx``; a real recording in ``../shared/recordings``
(``htx*.jsonl.zst``), when there is one, is checked for what any correct replay shows.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson
import pytest

from collector.capture import Frame
from collector.exchanges.htx.codec import deflate
from collector.models import Book, Candle, Error, Ticker, Trade
from collector.replay import Replay

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "htx"
RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "recordings"
if not RECORDINGS.exists():  # pragma: no cover - depends on the checkout
    RECORDINGS = Path("/work/shared/recordings")


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes().strip()


def header(exchange: str, channels: list[str], symbols: list[str]) -> Frame:
    config = {"channels": channels, "symbols": symbols}
    return Frame(
        "header", "", 1.0, orjson.dumps({"t": "header", "format": 2, "exchange": exchange, "config": config}).decode()
    )


def recv(conn: str, ts: float, data: bytes) -> Frame:
    """A received frame as the recorder stores it: the binary gzip frame."""
    return Frame("recv", conn, ts, deflate(data))


def test_cryptofeed_spot_capture_replays() -> None:
    """``depth.step0`` books (each push the whole book), trades, tickers and klines, with acks and pings."""
    frames = [
        header("HUOBI", ["l2_book", "trades", "ticker", "candles"], ["BTC-USDT", "ETH-BTC"]),
        Frame("http", "http", 1.1, raw("symbols.json").decode(), "https://api.huobi.pro/v1/common/symbols"),
        Frame("connect", "0", 1.2, "", "wss://api.huobi.pro/ws"),
        Frame("send", "0", 1.3, '{"sub": "market.btcusdt.depth.step0", "id": 1}'),
        recv("0", 1.4, raw("sub_ack.json")),
        recv("0", 1.5, raw("depth_step0.json")),
        recv("0", 1.6, raw("ping.json")),
        recv("0", 1.7, raw("trade_detail.json")),
        recv("0", 1.8, raw("ticker.json")),
        recv("0", 1.9, raw("kline.json")),
        recv("0", 2.0, raw("depth_step0.json").replace(b"0.36281", b"0.5")),
    ]
    replay = Replay(frames)
    events = [e for e in replay if type(e).__name__ != "Connected"]
    assert replay.exchange == "htx"
    assert [type(e).__name__ for e in events] == ["Book", "Trade", "Ticker", "Candle", "Book"]
    first, trade, ticker, candle, second = events
    assert isinstance(first, Book) and isinstance(second, Book)
    assert (first.snapshot, second.snapshot, second.bids) == (True, True, [(52690.69, 0.5), (52690.68, 0.2)])
    assert isinstance(trade, Trade) and (trade.side, trade.amount, trade.id) == ("buy", 0.006754, "102523573486")
    assert isinstance(ticker, Ticker) and (ticker.bid, ticker.ask, ticker.last) == (52732.88, 52732.89, 52735.63)
    assert isinstance(candle, Candle) and (candle.symbol, candle.interval) == ("ETH/BTC", "1m")
    book = replay.adapter.book("BTC/USDT")
    assert book is not None and book.synced and not book.crossed()
    assert replay.adapter.stats["ignored.ping"] == 1
    assert replay.stats["ignored.SendFrame"] == 1  # the pong a live collector would have sent


def test_cryptofeed_mbp_capture_joins_the_recorded_refresh() -> None:
    """cryptofeed's 2021 MBP variant: increments on ``/feed``, then the reply to the recorder's own ``req``."""
    increment = raw("mbp_increment.json")
    follow = increment.replace(b"100020146795", b"100020146796").replace(b"100020146794", b"100020146795")
    frames = [
        Frame("http", "http", 1.0, raw("symbols.json").decode(), "https://api.huobi.pro/v1/common/symbols"),
        Frame("connect", "feed", 1.1, "", "wss://api.huobi.pro/feed"),
        recv("feed", 1.2, increment),
        recv("feed", 1.3, raw("mbp_rep.json")),
        recv("feed", 1.4, follow.replace(b"645.14", b"646.0")),
    ]
    replay = Replay(frames)
    books = [e for e in replay if isinstance(e, Book)]
    assert [(b.snapshot, b.sequence) for b in books] == [
        (True, 100020146794),
        (False, 100020146795),
        (False, 100020146796),
    ]
    book = replay.adapter.book("BTC/USDT")
    assert book is not None and book.synced
    assert book.top(3).asks == [(645.14, 26.75597395914065), (646.0, 26.75597395914065), (650.59, 14.909733438479636)]


def test_cryptofeed_swap_capture_replays_both_margin_families() -> None:
    """One HuobiSwap session: USDT pairs on ``/linear-swap-ws``, USD pairs on ``/swap-ws``; trades in base units."""
    listing = "https://api.hbdm.com/{}/v1/swap_contract_info"
    step0 = raw("swap_depth_step6.json").replace(b"step6", b"step0")
    frames = [
        Frame("http", "http", 1.0, raw("contracts_linear.json").decode(), listing.format("linear-swap-api")),
        Frame("http", "http", 1.0, raw("contracts_inverse.json").decode(), listing.format("swap-api")),
        Frame("connect", "usdt", 1.1, "", "wss://api.hbdm.com/linear-swap-ws"),
        Frame("connect", "usd", 1.1, "", "wss://api.hbdm.com/swap-ws"),
        recv("usdt", 1.2, step0),
        recv("usd", 1.3, step0.replace(b"BTC-USDT", b"BTC-USD")),
        recv("usdt", 1.4, raw("swap_trade.json")),
        recv("usd", 1.5, raw("swap_trade.json").replace(b"BTC-USDT", b"BTC-USD")),
    ]
    replay = Replay(frames)
    events = [e for e in replay if isinstance(e, Book | Trade | Error)]
    assert replay.exchange == "htx_swap"
    assert [(type(e).__name__, e.symbol) for e in events] == [
        ("Book", "BTC/USDT:USDT"),
        ("Book", "BTC/USD:BTC"),
        ("Trade", "BTC/USDT:USDT"),
        ("Trade", "BTC/USD:BTC"),
    ]
    assert [e.amount for e in events if isinstance(e, Trade)] == [0.002, 200 / 13073.3]


def _recordings() -> list[Path]:
    return sorted(RECORDINGS.glob("htx*.jsonl.zst")) + sorted(RECORDINGS.glob("huobi*.jsonl.zst"))


@pytest.mark.parametrize("path", _recordings() or [None])
def test_real_recording_replays_cleanly(path: Path | None) -> None:
    """Every frame becomes events or is deliberately ignored; trade ids are unique; books stay uncrossed."""
    if path is None:
        pytest.skip("no HTX recording in ../shared/recordings")
    replay = Replay(path)
    counts: Counter[str] = Counter()
    trade_ids: Counter[tuple[str, str]] = Counter()
    crossed = []
    for event in replay:
        counts[type(event).__name__] += 1
        if isinstance(event, Trade):
            trade_ids[event.symbol, event.id] += 1
        elif isinstance(event, Book):
            book = replay.adapter.book(event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(event.symbol)
    assert counts["Error"] == 0, replay.adapter.stats
    assert counts["Trade"] + counts["Book"] > 0
    assert [key for key, n in trade_ids.items() if n > 1] == []
    assert crossed == []
