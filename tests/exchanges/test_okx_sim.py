"""The simulator's OKX wire format: routes, subscribe replies, book ids and checksums, REST listings."""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from collector.actions import RestRequest
from collector.errors import UnknownSymbol
from collector.exchanges.okx import OkxAdapter
from collector.exchanges.okx.sim import OkxWire
from collector.exchanges.okx.sim_market import OkxMarket
from collector.simulator.market import Update
from collector.simulator.wire import Message, RestCall, Session

NOW = 1_700_000_000_000
SYMBOLS = ["BTC/USDT", "BTC/USDT:USDT", "BTC/USD:BTC", "ETH/USDT:USDT-260925"]


@pytest.fixture
def wire() -> OkxWire:
    """A wire writing the CRC32 of its books, as OKX did before 2026-06-23 (checked below)."""
    w = OkxWire()
    w.checksums = True
    return w


def test_books_carry_checksum_0_by_default() -> None:
    """OKX: "from 2026-06-23 the checksum field ... stays in the payload but is always 0"."""
    w = OkxWire()
    request = {"id": "7", "op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}
    control = w.on_client_text(w.open("public"), json.dumps(request), markets(w), NOW)
    (snapshot,) = [json.loads(f) for f in control.frames]
    assert snapshot["data"][0]["checksum"] == 0


def markets(wire: OkxWire) -> dict[str, OkxMarket]:
    built = {}
    for symbol in SYMBOLS:
        spec = wire.instrument(symbol, 3)
        market = wire.market(spec, 3, 40)
        assert isinstance(market, OkxMarket)
        built[wire.market_key(spec)] = market
    return built


def crc(book: dict[str, Any]) -> int:
    """The documented checksum, written out independently: top 25 of each side, interleaved."""
    parts: list[str] = []
    for i in range(25):
        for side in ("bids", "asks"):
            if i < len(book[side]):
                parts += book[side][i][:2]
    value = zlib.crc32(":".join(parts).encode())
    return value - 2**32 if value >= 2**31 else value


def test_instruments_and_their_listing_round_trip(wire: OkxWire) -> None:
    """The listings the wire serves per instType are read back by the adapter as the same symbols."""
    specs = {s: wire.instrument(s, 3) for s in SYMBOLS}
    assert {s: spec.native for s, spec in specs.items()} == {
        "BTC/USDT": "BTC-USDT",
        "BTC/USDT:USDT": "BTC-USDT-SWAP",
        "BTC/USD:BTC": "BTC-USD-SWAP",
        "ETH/USDT:USDT-260925": "ETH-USDT-260925",
    }
    built = markets(wire)
    adapter = OkxAdapter()
    for query in wire.instrument_queries(built):
        answer = wire.rest(RestCall("GET", wire.instruments_path, query), built, NOW)
        assert answer.status == 200
        request = RestRequest(f"https://www.okx.com{wire.instruments_path}?instType={query['instType']}", "instruments")
        assert adapter.answer(request, 200, answer.body, 0.0) == []
    assert sorted(i.symbol for i in adapter.instruments) == sorted(SYMBOLS)
    assert adapter.instruments.by_symbol("BTC/USDT:USDT").contract_size == 0.01  # ctVal 0.01 BTC
    assert adapter.instruments.by_symbol("BTC/USD:BTC").contract_size == 100.0  # ctVal 100 USD
    assert adapter.instruments.by_symbol("ETH/USDT:USDT-260925").contract_size == 0.1
    refused = wire.rest(RestCall("GET", wire.instruments_path, {"instType": "NOPE"}), built, NOW)
    assert (refused.status, json.loads(refused.body)["code"]) == (400, "51000")
    with pytest.raises(UnknownSymbol):
        wire.instrument("BTC/USDT:ETH", 3)


def test_routes_and_what_each_serves(wire: OkxWire) -> None:
    """/ws/v5/public and /ws/v5/business; candles and trades-all are business streams."""
    assert (wire.ws_route("ws/v5/public"), wire.ws_route("ws/v5/business"), wire.ws_route("ws/v5/private")) == (
        "public",
        "business",
        None,
    )
    assert wire.stream_route("candle1m:BTC-USDT") == "business"
    assert wire.stream_route("trades-all:BTC-USDT") == "business"
    assert wire.stream_route("books:BTC-USDT") == "public"
    assert wire.wanted_intervals("candle1H:BTC-USDT") == "1h"


def test_subscribe_acks_each_arg_and_pushes_the_snapshot(wire: OkxWire) -> None:
    """One ack per arg (the id echoed), then the ``books`` snapshot: prevSeqId -1, the market's id, its checksum."""
    built = markets(wire)
    session = wire.open("public")
    request = {"id": "7", "op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]}
    request["args"].append({"channel": "tickers", "instId": "BTC-USDT"})
    control = wire.on_client_text(session, json.dumps(request), built, NOW)
    assert isinstance(control.reply, str)
    ack = json.loads(control.reply)
    assert (ack["id"], ack["event"], ack["arg"]) == ("7", "subscribe", {"channel": "books", "instId": "BTC-USDT"})
    assert control.subscribe == ["books:BTC-USDT", "tickers:BTC-USDT"]
    second, snapshot, ticker = (json.loads(f) for f in control.frames)
    assert second["arg"] == {"channel": "tickers", "instId": "BTC-USDT"}
    data = snapshot["data"][0]
    assert (snapshot["action"], data["prevSeqId"], data["seqId"]) == ("snapshot", -1, built["BTC-USDT"].last_id)
    assert data["checksum"] == crc(data) != 0
    assert ticker["arg"]["channel"] == "tickers"


def test_refusals_use_okx_codes(wire: OkxWire) -> None:
    """Wrong route or instrument: 60018; tick-by-tick books without the fee tier: 64003; junk: 60012."""
    built = markets(wire)
    public = wire.open("public")

    def reply(text: str, session: Session = public) -> dict[str, Any]:
        control = wire.on_client_text(session, text, built, NOW)
        assert isinstance(control.reply, str) and control.subscribe == []
        return dict(json.loads(control.reply))

    candle = json.dumps({"op": "subscribe", "args": [{"channel": "candle1m", "instId": "BTC-USDT"}]})
    assert reply(candle)["code"] == "60018"  # candles live on /business
    assert wire.on_client_text(wire.open("business"), candle, built, NOW).subscribe == ["candle1m:BTC-USDT"]
    unknown = json.dumps({"op": "subscribe", "args": [{"channel": "books", "instId": "DOGE-USDT"}]})
    assert reply(unknown)["code"] == "60018"
    tbt = json.dumps({"op": "subscribe", "args": [{"channel": "books-l2-tbt", "instId": "BTC-USDT"}]})
    assert reply(tbt)["code"] == "64003"
    spot_funding = json.dumps({"op": "subscribe", "args": [{"channel": "funding-rate", "instId": "BTC-USDT"}]})
    assert reply(spot_funding)["code"] == "60018"
    assert reply("{not json")["code"] == "60012"
    assert wire.on_client_text(public, "ping", built, NOW).reply == "pong"


def test_book_updates_link_and_carry_the_checksum_of_the_book_after_them(wire: OkxWire) -> None:
    """Each update's prevSeqId is the previous seqId; an unchanged book gets the 60 s heartbeat."""
    built = markets(wire)
    market = built["BTC-USDT"]
    spec = market.spec
    subscribed = {"books:BTC-USDT"}
    last = market.last_id
    for step in range(1, 30):
        update = market.step(NOW + step * 100)
        for message in wire.encode(spec, update, subscribed):
            msg = json.loads(message.text)
            data = msg["data"][0]
            assert (message.book_key, data["prevSeqId"]) == ("BTC-USDT", last)
            bids, asks = market.levels(25)
            top = {
                "bids": [[spec.price(p), spec.size(q)] for p, q in bids],
                "asks": [[spec.price(p), spec.size(q)] for p, q in asks],
            }
            assert data["checksum"] == crc(top)
            last = data["seqId"]
    quiet = Update(NOW + 70_000, None, market.last_id, market.last_id, [], [], [], [], market.best(), False)
    (heartbeat,) = wire.encode(spec, quiet, subscribed)
    data = json.loads(heartbeat.text)["data"][0]
    assert (heartbeat.book_key, data["asks"], data["bids"], data["prevSeqId"], data["seqId"]) == (
        None,
        [],
        [],
        last,
        last,
    )


def test_corrupt_changes_only_the_checksum(wire: OkxWire) -> None:
    """The CHECKSUM fault's message differs from the original in its checksum alone."""
    built = markets(wire)
    market = built["BTC-USD-SWAP"]
    messages: list[Message] = []
    while not messages:
        messages = wire.encode(market.spec, market.step(NOW), {"books:BTC-USD-SWAP"})
    original = json.loads(messages[0].text)
    bad = json.loads(wire.corrupt(messages[0]).text)
    assert bad["data"][0].pop("checksum") != original["data"][0].pop("checksum")
    assert bad == original


def test_every_hostile_frame_is_one_error() -> None:
    """The wire's hostile frames each give exactly one ``error`` event through the adapter's boundary."""
    wire = OkxWire()
    built = markets(wire)
    adapter = OkxAdapter()
    for query in wire.instrument_queries(built):
        body = wire.rest(RestCall("GET", wire.instruments_path, query), built, NOW).body
        adapter.answer(
            RestRequest(f"https://www.okx.com/x?instType={query['instType']}", "instruments"), 200, body, 0.0
        )
    for frame, what in wire.hostile(built["BTC-USDT"].spec, NOW):
        out = adapter.receive("okx.public.0", frame, 1.0)
        assert [type(e).__name__ for e in out] == ["Error"], what
