"""The C accelerators give exactly what the pure-Python paths give, on good input and bad.

The scanner may decline any frame (it then returns ``None`` and the Python path decides),
but whatever it accepts must become the very events the Python adapter makes. These tests
hold both paths side by side: whole sessions, every documented shape, thousands of
mutated frames, and decimal strings against ``float()``.
"""

from __future__ import annotations

import math
import random
import shutil
import sysconfig
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from collector import Replay, speedups
from collector.book import _apply_side
from collector.capture import Frame
from collector.exchanges.base import Adapter
from collector.simulator import synthetic_frames
from tests.conftest import recording

needs_c = pytest.mark.skipif(not speedups.enabled(), reason="collector._speedups not compiled or disabled")

SESSIONS = {
    "binance": ["BTC/USDT", "ETH/USDT"],
    "binance_usdm": ["BTC/USDT:USDT", "ETH/USDT:USDT"],
    "binance_coinm": ["BTC/USD:BTC"],
}


def test_compiled_wherever_a_compiler_is() -> None:
    """A machine that can compile the module has it: a silent build failure would fail here."""
    compiler = str(sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(compiler) is None or not sysconfig.get_paths()["include"]:
        pytest.skip("no C compiler here; pure Python is the expected mode")
    assert speedups.available(), "a C compiler is present but collector._speedups was not built"


# -- apply_side ---------------------------------------------------------------------------


@needs_c
def test_apply_side_matches_python_on_random_operations() -> None:
    """Inserts, updates, removals (held and not held), int and float prices, lists as levels."""
    c_apply = speedups.book_applier()
    assert c_apply is not None
    rng = random.Random(7)
    for _ in range(200):
        c_side: tuple[list[float], list[float]] = ([], [])
        py_side: tuple[list[float], list[float]] = ([], [])
        for _ in range(30):
            levels: list[Any] = []
            for _ in range(rng.randint(0, 8)):
                price: float = rng.choice([rng.randint(90, 110), rng.randint(900, 1100) / 10])
                size = rng.choice([0, 0.0, rng.random(), rng.randint(1, 5)])
                levels.append([price, size] if rng.random() < 0.2 else (price, size))
            c_apply(*c_side, levels)
            _apply_side(*py_side, levels)
            assert c_side == py_side
            assert py_side[0] == sorted(set(py_side[0])) and 0 not in py_side[1]


@needs_c
def test_apply_side_rejects_what_python_rejects() -> None:
    """Bad levels raise the same exception types as the Python loop (and nothing is half-applied silently)."""
    c_apply = speedups.book_applier()
    assert c_apply is not None
    bad_levels = [(5, TypeError), ([(1.0, 2.0, 3.0)], ValueError), ([(1.0,)], ValueError), ([("x", 1.0)], TypeError)]
    for bad, error in bad_levels:
        with pytest.raises(error):
            _apply_side([1.0], [1.0], bad)
        with pytest.raises(error):
            c_apply([1.0], [1.0], bad)
    with pytest.raises(TypeError):
        c_apply({}, [], [])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="differ in length"):
        c_apply([1.0, 2.0], [1.0], [(1.5, 1.0)])


# -- whole sessions -----------------------------------------------------------------------


def replay_both(frames: list[Frame], exchange: str | None = None) -> tuple[list[Any], list[Any]]:
    fast = list(Replay(frames, exchange=exchange))
    with speedups.disabled():
        slow = list(Replay(frames, exchange=exchange))
    return fast, slow


@needs_c
@pytest.mark.parametrize("exchange", sorted(SESSIONS))
def test_synthetic_sessions_give_identical_events(exchange: str) -> None:
    """Spot, USDⓈ-M and COIN-M sessions: the same events, in the same order, both ways."""
    frames = synthetic_frames(exchange, SESSIONS[exchange], frames=6000, seed=3)
    fast, slow = replay_both(frames)
    assert len(fast) > 5000
    assert fast == slow


@needs_c
def test_recording_gives_identical_events() -> None:
    """The real Binance recording, both ways."""
    from collector import read_capture

    frames = read_capture(recording("binance.jsonl.zst"))
    fast, slow = replay_both(frames)
    assert fast == slow and len(fast) > 200


# -- frame by frame, including hostile input ------------------------------------------------


def live_adapters(exchange: str) -> tuple[Adapter, Adapter, list[Frame]]:
    """A C adapter and a pure-Python one, both with instruments and synced books, and the frames."""
    frames = synthetic_frames(exchange, SESSIONS[exchange], frames=1500, seed=5)
    fast = Replay(frames)
    list(fast)
    with speedups.disabled():
        slow = Replay(frames)
        list(slow)
    assert getattr(fast.adapter, "_scan", None) is not None and getattr(slow.adapter, "_scan", None) is None
    return fast.adapter, slow.adapter, [f for f in frames if f.kind == "recv" and str(f.data).startswith('{"stream"')]


def same_output(fast: Adapter, slow: Adapter, frame: str | bytes, received: float = 1.0) -> None:
    assert fast.parse("c", frame, received) == slow.parse("c", frame, received), frame


def reshaped(frame: str, rng: random.Random) -> list[str]:
    """Valid variants the scanner must either read identically or decline."""
    obj = orjson.loads(frame)
    data = obj["data"]
    keys = list(data)
    rng.shuffle(keys)
    shuffled = {"stream": obj["stream"], "data": {k: data[k] for k in keys}}
    bare = {
        "stream": obj["stream"],
        "data": {k: (float(v) if isinstance(v, str) and v[:1].isdigit() else v) for k, v in data.items()},
    }
    return [
        orjson.dumps(shuffled).decode(),
        orjson.dumps(bare).decode(),
        orjson.dumps(obj, option=orjson.OPT_INDENT_2).decode(),
        frame.replace(',"data":', ' ,"data":'),
        frame[:-1] + ',"extra":1}',
        frame + "  ",
        frame + "x",
        frame.replace('"s":"', '"s":"\\u0042', 1).replace("\\u0042B", "\\u0042", 1),
        frame.replace('"E":', '"E":1.5e3,"E0":', 1),
        frame.replace('"E":', '"E":-', 1),
        frame.replace('"E":', '"E":1234567890123456789', 1),
        frame.replace('"E":', '"E":"1"', 1) if '"E":' in frame else frame,
        frame.replace('"pu":', '"pu":null,"pu0":', 1),
        frame.replace('"m":true', '"m":"true"').replace('"m":false', '"m":null'),
        frame.replace('"x":false', '"x":0').replace('"x":true', '"x":1'),
        frame.replace('",', '"\t,', 3),
        frame.replace('"s":"', '"s":"X', 1),
        frame.replace('"E":', '"E":1,"E":', 1),
        frame.replace("[[", "[[1,2],[", 1),
        frame.replace('"b":[', '"b":[["1e3","2E-2"],', 1),
        frame.replace('"b":[', '"b":[["1","2","3"],', 1),
        frame.replace('"b":[', '"b":[["nan","1"],', 1),
        frame.replace('"b":[', '"b":[["01.5","1"],', 1),
        frame.replace('"p":"', '"p":"-', 1),
        frame.replace('"k":{', '"k":{"k":{"x":[1,{"y":"}"}]},', 1),
    ]


@needs_c
@pytest.mark.parametrize("exchange", sorted(SESSIONS))
def test_reshaped_frames_give_identical_output(exchange: str) -> None:
    """Key order, whitespace, escapes, bare numbers, nulls, duplicates, trailing bytes, odd levels."""
    fast, slow, frames = live_adapters(exchange)
    rng = random.Random(11)
    for frame in frames[:400]:
        for variant in reshaped(str(frame.data), rng):
            same_output(fast, slow, variant)
    assert fast.stats == slow.stats
    assert fast.books.stats == slow.books.stats


@needs_c
@pytest.mark.parametrize("exchange", sorted(SESSIONS))
def test_mutated_frames_give_identical_output(exchange: str) -> None:
    """Random truncations and character substitutions: same events, same errors, same counters."""
    fast, slow, frames = live_adapters(exchange)
    rng = random.Random(13)
    alphabet = '{}[]",:.-+eE0123456789 \\ntfaulsxzAB'
    for _ in range(6000):
        text = str(rng.choice(frames).data)
        cut = rng.randrange(len(text))
        if rng.random() < 0.3:
            variant = text[:cut]
        else:
            variant = text[:cut] + rng.choice(alphabet) + text[cut + rng.randint(0, 2) :]
        same_output(fast, slow, variant)
        same_output(fast, slow, variant.encode())
    assert fast.stats == slow.stats
    assert fast.books.stats == slow.books.stats


# -- numbers ------------------------------------------------------------------------------


def random_decimal(rng: random.Random) -> str:
    whole = str(
        rng.choice([0, rng.randint(0, 9), rng.randint(0, 10**6), rng.randint(0, 10**12), rng.randint(0, 10**19)])
    )
    frac = "".join(rng.choice("0123456789") for _ in range(rng.choice([rng.randint(0, 12), 8, 16, rng.randint(0, 26)])))
    text = whole + ("." + frac if frac else "")
    if rng.random() < 0.1:
        text = text + rng.choice(["e", "E"]) + rng.choice(["", "-", "+"]) + str(rng.randint(0, 30))
    return ("-" if rng.random() < 0.1 else "") + text


@needs_c
def test_decimal_strings_convert_like_float() -> None:
    """Prices and sizes from the scanner equal ``float(text)`` bit for bit, fast path or not."""
    fast, slow, _ = live_adapters("binance")
    rng = random.Random(17)
    template = (
        '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1,"s":"BTCUSDT",'
        '"a":7,"p":"%s","q":"%s","T":2,"m":true}}'
    )
    cases = ["0", "-0.0", "0.00000001", "59999.99000000", "9007199254740993", "0.1", "123456789.12345678"]
    cases += [random_decimal(rng) for _ in range(20000)]
    for text in cases:
        frame = template % (text, text)
        (trade,) = fast.parse("c", frame, 1.0)
        (expected,) = slow.parse("c", frame, 1.0)
        assert trade == expected
        value = float(text)
        assert trade.price == value and math.copysign(1.0, trade.price) == math.copysign(1.0, value), text


@needs_c
def test_scanner_declines_what_it_cannot_vouch_for() -> None:
    """None for control frames, unknown streams and symbols, escapes and trailing bytes."""
    fast, _, frames = live_adapters("binance")
    scan: Callable[[str | bytes, float], Any] = fast._scan  # type: ignore[attr-defined]
    trade = next(str(f.data) for f in frames if "btcusdt@aggTrade" in str(f.data)[:40])
    assert scan(trade, 1.0) is not None
    for frame in [
        '{"result":null,"id":1}',
        trade.replace("@aggTrade", "@forceOrder"),
        trade.replace('"s":"BTCUSDT"', '"s":"ZZZUSDT"'),
        trade.replace('"s":"BTCUSDT"', '"s":"BTC\\u0055SDT"'),
        trade + "x",
        trade[:-1],
        12345,
    ]:
        assert scan(frame, 1.0) is None, frame  # type: ignore[arg-type]


@needs_c
@pytest.mark.parametrize("exchange", ["binance", "binance_usdm"])
def test_gaps_and_crossed_books_same_both_ways(exchange: str) -> None:
    """Dropped diffs (gaps) and a diff that crosses the book: same resyncs, events and books both ways."""
    frames = synthetic_frames(exchange, SESSIONS[exchange], frames=8000, seed=9)
    # Each fault on its own symbol: after a resync the capture has no second snapshot to offer.
    first, second = (f"{s.split('/')[0].lower()}usd" for s in SESSIONS[exchange])
    depth = [i for i, f in enumerate(frames) if f.kind == "recv" and "@depth" in str(f.data)[:48]]
    gapped = [i for i in depth if str(frames[i].data).startswith('{"stream":"' + first)][300]
    crossing = [i for i in depth if str(frames[i].data).startswith('{"stream":"' + second)][150]
    edited = list(frames)
    edited[gapped] = Frame("recv", frames[gapped].conn, frames[gapped].ts, '{"stream":"x@forceOrder","data":{}}')
    data = str(frames[crossing].data)
    edited[crossing] = Frame(
        "recv", frames[crossing].conn, frames[crossing].ts, data.replace('"b":[', '"b":[["1e9","1"],', 1)
    )
    fast_run = Replay(edited)
    fast = list(fast_run)
    with speedups.disabled():
        slow_run = Replay(edited)
        slow = list(slow_run)
    assert fast == slow
    resyncs = [e for e in fast if type(e).__name__ == "Resync"]
    assert {e.reason for e in resyncs} >= {"gap", "crossed"}  # type: ignore[attr-defined]
    assert fast_run.adapter.books.stats == slow_run.adapter.books.stats
    for symbol in SESSIONS[exchange]:
        a, b = fast_run.adapter.book(symbol), slow_run.adapter.book(symbol)
        assert a is not None and b is not None
        assert (a.bids(), a.asks(), a.sequence, a.synced) == (b.bids(), b.asks(), b.sequence, b.synced)


@needs_c
def test_scanner_does_not_leak() -> None:
    """Parsing frames again allocates nothing that stays beyond what the Python path keeps too.

    Re-fed frames are stale or gapped for the books, which then buffer them (the same on
    both paths), so growth is compared path against path; the bare scanner keeps nothing.
    """
    import gc
    import sys

    fast, slow, frames = live_adapters("binance_usdm")
    rng = random.Random(21)
    texts = [str(f.data) for f in frames]
    texts += [t[: rng.randrange(len(t))] for t in texts[:300]]  # declined: truncated

    def growth(run: Callable[[str], Any]) -> int:
        for text in texts:
            run(text)
        gc.collect()
        before = sys.getallocatedblocks()
        for _ in range(3):
            for text in texts:
                run(text)
                run(text.encode())  # type: ignore[arg-type]
        gc.collect()
        return sys.getallocatedblocks() - before

    fast_parse, slow_parse = fast.frame_parser(), slow.frame_parser()
    scan = fast._scan  # type: ignore[attr-defined]
    assert growth(lambda text: scan(text, 1.0)) < 100
    assert growth(lambda text: fast_parse("c", text, 1.0)) <= growth(lambda text: slow_parse("c", text, 1.0)) + 100

    # References, not only blocks: what events point at gets its counts back (the books
    # keep buffered diffs, which hold `received`, alike on both paths).
    def held(run: Callable[[str, float], Any]) -> list[int]:
        received = float(len(texts) + rng.random())
        shared = [received, fast.id, *fast.instruments.symbols_by_native.values()]
        counts = [sys.getrefcount(o) for o in shared]
        for text in texts:
            run(text, received)
        gc.collect()
        after = [sys.getrefcount(o) for o in shared]
        return [a - b for a, b in zip(after, counts, strict=True)]

    assert set(held(scan)) == {0}
    assert held(lambda text, at: fast_parse("c", text, at)) == held(lambda text, at: slow_parse("c", text, at))
