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
    assert c("conn", STAMP_FRAME, 5.0) == [
        Trade("stamp", "BTC/USD", 1700000000.123456, 5.0, 60000.0, 0.5, "buy", "41")
    ]
    assert c("conn", CASES["key only inside a nested object"], 5.0) == ["fallback"]
    assert c("conn", CASES["binary frame"], 5.0) == ["fallback"]


def test_without_within_the_key_must_come_first() -> None:
    c, spec = routers(within=0)
    for frame in (GATE_FRAME, STAMP_FRAME):
        assert c("conn", frame, 5.0) == spec("conn", frame, 5.0) == ["fallback"]
    first = '{"channel":"futures.trades","time":1,"result":[{"size":2,"id":1,"create_time_ms":5,"price":"1.5"}]}'
    assert c("conn", first, 5.0) == spec("conn", first, 5.0) != ["fallback"]
