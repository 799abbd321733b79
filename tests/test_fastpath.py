"""The fast path's C router against its Python specification, frame by frame, on crafted input.

Each case routes one frame through both routers built with the same routes; they must give
the same events or both hand the frame to the fallback. The adapters' own agreement on
fuzzed sessions is checked by the conformance suite.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from collector import speedups
from collector.exchanges.fields import Millis, Price, Size
from collector.fastpath import RECEIVED, SYMBOL, PyRouter, attr, const, emit, micros, millis, scaled, sign, text
from collector.models import Trade

pytestmark = pytest.mark.skipif(speedups.router_type() is None, reason="collector._speedups is not compiled here")


class Fill(msgspec.Struct):
    size: float
    price: Price
    create_time_ms: Millis
    id: int


class Push(msgspec.Struct):
    channel: str
    time: int
    result: list[Fill]


class MicroTrade(msgspec.Struct):
    amount: Size
    price: Price
    microtimestamp: int
    id: int


class Envelope(msgspec.Struct):
    channel: str
    data: MicroTrade


_push = msgspec.json.Decoder(Push, strict=False)
_micro = msgspec.json.Decoder(Envelope, strict=False)
GATE = "futures.trades"
STAMP = "live_trades_btcusd"


def routers(within: int) -> list[Any]:
    """The C router and the specification, each with a fallback that says it was used."""
    built = []
    for cls in (speedups.router_type(), PyRouter):
        assert cls is not None

        def fallback(conn: str, frame: str | bytes, received: float) -> list[Any]:
            return ["fallback"]

        def on_error(conn: str, frame: str | bytes, received: float, exc: BaseException) -> list[Any]:
            return [f"error {type(exc).__name__}"]

        router = cls("channel", {}, fallback, on_error, within=within)
        side = sign("size", "sell", "buy")
        gate = emit(Trade, const("gate"), SYMBOL, millis("create_time_ms"), RECEIVED, attr("price"),
                    scaled("size", 0.001), side, text("id"), each="result")  # fmt: skip
        router.add(GATE, _push, "BTC/USDT:USDT", gate)
        stamp = emit(Trade, const("stamp"), SYMBOL, micros("microtimestamp"), RECEIVED, attr("price"),
                     attr("amount"), const("buy"), text("id"), at="data")  # fmt: skip
        router.add(STAMP, _micro, "BTC/USD", stamp)
        built.append(router)
    return built


GATE_FRAME = (
    '{"time":1700000000,"time_ms":1700000000123,"channel":"futures.trades","event":"update",'
    '"result":[{"size":-25,"id":7,"create_time_ms":1700000000100,"price":"60000.5"},'
    '{"size":3,"id":8,"create_time_ms":1700000000101,"price":"60000.6"}]}'
)
STAMP_FRAME = (
    '{"data":{"id":41,"amount":0.5,"price":60000.0,"microtimestamp":"1700000000123456"},'
    '"channel":"live_trades_btcusd","event":"trade"}'
)
CASES = {
    "key after a timestamp": GATE_FRAME,
    "key after the payload": STAMP_FRAME,
    "blank after the colon": STAMP_FRAME.replace('"channel":"live', '"channel":  \n"live'),
    "key only inside a nested object": '{"time":1,"x":{"channel":"futures.trades"},"result":[]}',
    "key text inside a string value": '{"note":"\\"channel\\":\\"futures.trades\\"","channel":"other"}',
    "key beyond the scanned bytes": '{"pad":"' + "x" * 400 + '","channel":"futures.trades","result":[],"time":1}',
    "escaped routing value": '{"channel":"futures\\u002etrades","time":1,"result":[]}',
    "non-string routing value": '{"channel":7,"time":1,"result":[]}',
    "size zero: no side": GATE_FRAME.replace('"size":-25', '"size":0'),
    "size of the wrong type": GATE_FRAME.replace('"size":-25', '"size":true'),
    "multibyte text before the key": '{"n":"é€𝄞","channel":"futures.trades","time":1,"result":[]}',
    "binary frame": GATE_FRAME.encode(),
    "binary frame, not UTF-8 in a kept string": GATE_FRAME.encode().replace(b'"60000.5"', b'"6\xff"'),
    "binary frame, not UTF-8 in a skipped string": GATE_FRAME.encode().replace(b'"update"', b'"up\xffdate"'),
    "binary frame, not UTF-8 in an unknown key": GATE_FRAME.encode().replace(b'"event"', b'"ev\xc3ent"'),
    "binary frame, UTF-8 text skipped": GATE_FRAME.encode().replace(b'"update"', '"é€𝄞"'.encode()),
    "a JSON array": '["channel","futures.trades"]',
    "cut off": GATE_FRAME[:90],
    "lone surrogate": '{"channel":"futures.trades","n":"\ud800","time":1,"result":[]}',
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_c_router_matches_its_specification(case: str) -> None:
    frame = CASES[case]
    c, spec = routers(within=300)
    assert c("conn", frame, 5.0) == spec("conn", frame, 5.0)


def test_signed_sizes_scaled_and_microsecond_times() -> None:
    """Gate's signed contract sizes give the taker side and base units; Bitstamp's µs times become seconds."""
    c, _ = routers(within=300)
    assert c("conn", GATE_FRAME, 5.0) == [
        Trade("gate", "BTC/USDT:USDT", 1700000000.1, 5.0, 60000.5, 0.025, "sell", "7"),
        Trade("gate", "BTC/USDT:USDT", 1700000000.101, 5.0, 60000.6, 0.003, "buy", "8"),
    ]
    assert c("conn", STAMP_FRAME, 5.0) == [Trade("stamp", "BTC/USD", 1700000000.123456, 5.0, 60000.0, 0.5, "buy", "41")]
    assert c("conn", CASES["key only inside a nested object"], 5.0) == ["fallback"]
    # JSON in a binary frame is routed like text; one that is not UTF-8 is the adapter's to report.
    assert c("conn", CASES["binary frame"], 5.0) == c("conn", GATE_FRAME, 5.0)
    for case in ("kept", "skipped"):
        assert c("conn", CASES[f"binary frame, not UTF-8 in a {case} string"], 5.0) == ["fallback"]
    assert c("conn", CASES["binary frame, not UTF-8 in an unknown key"], 5.0) == ["fallback"]
    assert c("conn", CASES["binary frame, UTF-8 text skipped"], 5.0) == c("conn", GATE_FRAME, 5.0)


def test_without_within_the_key_must_come_first() -> None:
    c, spec = routers(within=0)
    for frame in (GATE_FRAME, STAMP_FRAME):
        assert c("conn", frame, 5.0) == spec("conn", frame, 5.0) == ["fallback"]
    first = '{"channel":"futures.trades","time":1,"result":[{"size":2,"id":1,"create_time_ms":5,"price":"1.5"}]}'
    assert c("conn", first, 5.0) == spec("conn", first, 5.0) != ["fallback"]


class Row(msgspec.Struct):
    side: str
    price: Price
    size: Size
    timestamp: str


class Table(msgspec.Struct):
    table: str
    action: str
    data: list[Row]


class Changes(msgspec.Struct):
    type: str
    symbol: str
    changes: list[tuple[str, Price, Size]]


class Params(msgspec.Struct):
    channel: str
    data: Fill


class Rpc(msgspec.Struct):
    params: Params


class Sub(msgspec.Struct):
    subscription: str
    data: list[Fill]


class Result(msgspec.Struct):
    result: Sub


def _collect(*args: Any) -> None:
    """A call step's target: records what it was given in the output list."""
    out, rest = args[0], args[1:]
    out.append(rest)


def built(key: str, value: str, decoder: Any, step: Any, **options: Any) -> list[Any]:
    made = []
    for cls in (speedups.router_type(), PyRouter):
        assert cls is not None
        router = cls(key, {}, lambda *a: ["fallback"], lambda *a: [f"error {type(a[3]).__name__}"], **options)
        router.add(value, decoder, "BTC/USD", step)
        made.append(router)
    return made


def agree(routers: list[Any], frame: str) -> list[Any]:
    c, spec = routers
    got = c("conn", frame, 5.0)
    assert got == spec("conn", frame, 5.0), frame
    return got


def test_rows_of_both_sides_split_by_a_side_field_keeping_removals() -> None:
    """BitMEX-style rows (struct fields) and Gemini-style change triples (array indices) into bids and asks."""
    from collector.fastpath import OUT, call, levels

    bids = levels("data", "price", "size", side=("side", "Buy"), skip_zero=False)
    asks = levels("data", "price", "size", side=("side", "Sell"), skip_zero=False)
    step = call(_collect, OUT, SYMBOL, bids, asks, RECEIVED)
    routers = built("table", "orderBookL2", msgspec.json.Decoder(Table, strict=False), step)
    frame = (
        '{"table":"orderBookL2","action":"update","data":[{"side":"Sell","price":60001.5,"size":0,'
        '"timestamp":"2024-01-02T03:04:05.678Z"},{"side":"Buy","price":60000.0,"size":1200,'
        '"timestamp":"2024-01-02T03:04:05.678Z"}]}'
    )
    assert agree(routers, frame) == [("BTC/USD", [(60000.0, 1200.0)], [(60001.5, 0.0)], 5.0)]
    triples = call(
        _collect,
        OUT,
        levels("changes", 1, 2, side=(0, "buy"), skip_zero=False),
        levels("changes", 1, 2, side=(0, "sell"), skip_zero=False),
    )
    routers = built("type", "l2_updates", msgspec.json.Decoder(Changes, strict=False), triples)
    frame = '{"type":"l2_updates","symbol":"BTCUSD","changes":[["buy","60000.1","0"],["sell","60002.5","1.5"]]}'
    assert agree(routers, frame) == [([(60000.1, 0.0)], [(60002.5, 1.5)])]


@pytest.mark.parametrize(
    "stamp",
    [
        "2024-01-02T03:04:05.678Z",
        "2024-02-29T23:59:59.123456789Z",
        "2024-01-02T03:04:05+00:00",
        "2024-01-02T03:04:05",
        "2023-02-29T00:00:00Z",
        "2024-01-02 03:04:05Z",
        "2024-01-02T03:04:05.Z",
        "2024-01-02T03:04:05+01:00",
        "1969-12-31T23:59:59Z",
        "2024-13-01T00:00:00Z",
        "2024-01-02T24:00:00Z",
        "\uff12\uff10\uff12\uff14-01-02T03:04:05Z",  # full-width digits
    ],
)
def test_iso_times_read_alike(stamp: str) -> None:
    """The C reader of ISO 8601 times gives the specification's seconds, or declines alike."""
    from collector.fastpath import iso_seconds

    step = emit(Trade, const("x"), SYMBOL, iso_seconds("timestamp"), RECEIVED, attr("price"), attr("size"),
                const("buy"), const("1"), each="data")  # fmt: skip
    routers = built("table", "trade", msgspec.json.Decoder(Table, strict=False), step)
    frame = '{"table":"trade","action":"insert","data":[{"side":"Buy","price":1.5,"size":2,"timestamp":"%s"}]}'
    got = agree(routers, frame % stamp)
    if got != ["fallback"]:
        import datetime

        expected = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")[:26].rstrip("+0:"))
        assert got[0].timestamp == pytest.approx(expected.replace(tzinfo=datetime.UTC).timestamp(), abs=1e-6)


@pytest.mark.skipif(not speedups.available(), reason="collector._speedups is not compiled here")
def test_the_c_iso_reader_is_its_specification() -> None:
    """``iso_reader()`` (C ``parse_iso``) gives ``parse_iso``'s value or ``None`` on every text,
    including 20,000 mutations of real-looking times (digits, separators, lengths, non-ASCII)."""
    import random

    from collector import _speedups
    from collector.fastpath import iso_reader, parse_iso

    assert iso_reader() is _speedups.parse_iso
    rng = random.Random(7)
    alphabet = "0123456789-:T.Z+ \uff10\u00e9x"
    seeds = ["2024-01-02T03:04:05.678Z", "2026-08-09T21:05:48.228568804Z", "2024-02-29T23:59:59+00:00",
             "1970-01-01T00:00:00", "2099-12-31T23:59:59.999999Z"]  # fmt: skip
    texts: list[object] = [None, 5, 1.5, b"2024-01-02T03:04:05Z", "", "\ud800", "2024-01-02T03:04:05Z\x00"]
    for _ in range(20_000):
        chars = list(rng.choice(seeds))
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(chars) + 1)
            edit = rng.random()
            if edit < 0.4 and at < len(chars):
                chars[at] = rng.choice(alphabet)
            elif edit < 0.7:
                chars.insert(at, rng.choice(alphabet))
            elif chars:
                del chars[min(at, len(chars) - 1)]
        texts.append("".join(chars))
    for stamp in texts:
        assert _speedups.parse_iso(stamp) == parse_iso(stamp), stamp


def test_a_literal_prefix_and_a_nested_key_path_route_envelopes() -> None:
    """A JSON-RPC notification by its constant prefix; a ``result.subscription`` path inside a reply."""
    from collector.fastpath import ratio

    inverse = emit(Trade, const("x"), SYMBOL, millis("create_time_ms"), RECEIVED, attr("price"),
                   ratio("size", "price", 10.0), sign("size", "sell", "buy"), text("id"), at="params.data")  # fmt: skip
    rpc = '{"jsonrpc":"2.0","method":"subscription","params":{"channel":"'
    routers = built("channel", "trades.BTC", msgspec.json.Decoder(Rpc, strict=False), inverse, prefix=rpc)
    frame = rpc + 'trades.BTC","data":{"size":-600,"price":"60000","create_time_ms":5,"id":3}}}'
    assert agree(routers, frame) == [Trade("x", "BTC/USD", 0.005, 5.0, 60000.0, -0.1, "sell", "3")]
    assert agree(routers, frame.replace('"price":"60000"', '"price":"0"')) == ["fallback"]  # ratio by 0 declines
    nested = emit(Trade, const("x"), SYMBOL, millis("create_time_ms"), RECEIVED, attr("price"), scaled("size", 1.0),
                  sign("size", "sell", "buy"), text("id"), each="result.data")  # fmt: skip
    routers = built("result.subscription", "trade.BTC", msgspec.json.Decoder(Result, strict=False), nested, within=200)
    frame = (
        '{"id":-1,"code":0,"result":{"channel":"trade","subscription":"trade.BTC",'
        '"data":[{"size":2,"price":"5","create_time_ms":7,"id":1}]}}'
    )
    assert agree(routers, frame) == [Trade("x", "BTC/USD", 0.007, 5.0, 5.0, 2.0, "buy", "1")]
    for other in (frame.replace('"result":{', '"x":{"subscription":"trade.BTC"},"result":{'), frame[:40]):
        agree(routers, other)


def test_guards_add_conditions_and_calls_never_run_before_a_decline() -> None:
    """A guard only declines; a step that can decline may not follow a call (the adapter would apply
    the frame again), nor may a call over ``each`` take arguments that can decline."""
    from collector.fastpath import OUT, call, check_steps, guard, levels

    trade = emit(Trade, const("g"), SYMBOL, millis("create_time_ms"), RECEIVED, attr("price"),
                 scaled("size", 1.0), sign("size", "sell", "buy"), text("id"), each="result")  # fmt: skip
    routers = built("channel", GATE, _push, trade, within=300)
    assert agree(routers, GATE_FRAME) != ["fallback"]
    for router in routers:
        router.add("futures.trades", _push, "BTC/USDT:USDT", guard("time", 1), trade)
    assert agree(routers, GATE_FRAME) == ["fallback"]  # time is 1700000000: the guard declines
    assert agree(routers, GATE_FRAME.replace('"time":1700000000', '"time":1')) != ["fallback"]
    book = call(_collect, OUT, levels("result", "price", "size", skip_zero=False))
    check_steps((trade, book))  # emits first, then an exact call: fine
    with pytest.raises(ValueError, match="comes after a call"):
        check_steps((book, trade))
    with pytest.raises(ValueError, match="comes after a call"):
        check_steps((call(_collect, OUT, sign("size", "sell", "buy"), each="result"),))
