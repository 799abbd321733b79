"""What every exchange adapter promises, checked on every registered exchange.

An exchange package that registers itself gets these tests with no code of its own:

- its package layout and declared facts (demo symbols, staleness limit, a simulator wire
  format, idle detection on every connection plan);
- fuzzing: thousands of mutated frames of a synthetic session through its boundary, with
  nothing escaping and no impossible value reaching an event or a book, the same result
  with and without the C accelerators;
- one live scenario over real loopback websockets against the simulator: books equal the
  simulator's truth; the exchange's own hostile frames and generic junk each give exactly
  one ``error`` event and lose nothing else; a sequence gap, a checksum mismatch (where
  the exchange has checksums) and a dropped connection each resync and converge back to
  the truth; a feed stalled while the socket stays up resyncs every book as ``stale``.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
from pathlib import Path
from typing import Any

import pytest

from collector import Collector, Disconnected, Error, Resync, Trade, fastpath, speedups
from collector.errors import CollectorError
from collector.exchanges import EXCHANGES, REGISTRY, Subscription, create
from collector.fuzz import fuzz_session
from collector.models import Book, MarketEvent, Outage
from collector.replay import Replay
from collector.simulator import Fault, Simulator, synthetic_frames
from collector.validate import invalid
from tests.e2e.helpers import Recorder, compare_books, quick_delays, wait_for

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "collector" / "exchanges"


def _simulated() -> list[str]:
    ids = []
    for exchange in EXCHANGES:
        try:
            EXCHANGES[exchange].simulator_wire()
        except CollectorError:
            continue
        ids.append(exchange)
    return ids


SIMULATED = _simulated()

GENERIC_HOSTILE: list[tuple[str | bytes, str]] = [
    ('{"a":' + "[" * 100_000 + "]" * 100_000 + "}", "100,000 levels of nesting"),
    (b"\xff\xfe\xfd not UTF-8 at all", "bytes that are not UTF-8"),
    ("x" * 1_000_000, "1 MB of junk"),
    ("null", "JSON null"),
    ("[]", "an empty array"),
    ("{}", "an empty object"),
    ("12345", "a bare number"),
    ('"text"', "a bare string"),
]


def _markets(exchange: str) -> dict[str, list[str]]:
    return {exchange: list(EXCHANGES[exchange].demo_symbols)}


# -- layout ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", sorted(EXCHANGES))
def test_package_declares_what_the_core_needs(exchange: str) -> None:
    """Each exchange lives in its own package and declares its demo symbols, staleness limit and simulator."""
    cls = EXCHANGES[exchange]
    package, _, name = REGISTRY[exchange].partition(":")
    assert cls.__name__ == name
    assert cls.__module__.startswith(f"collector.exchanges.{package}.")
    assert cls.id == exchange
    assert cls.demo_symbols, "demo_symbols: what the demo and `collector simulate` show"
    assert 0 < cls.book_stale_after <= 600
    assert set(cls.channels) >= {"trades", "book"}
    assert exchange in SIMULATED, "simulator_wire(): the package's sim.py wire format"
    assert cls.__doc__ and cls.__module__ and (cls.__doc__.strip() or "")


@pytest.mark.parametrize("exchange", SIMULATED)
def test_every_connection_plan_detects_a_silent_feed(exchange: str) -> None:
    """Every plan has a data-idle limit: a socket that answers pings but delivers nothing is replaced."""
    adapter = _loaded(exchange)
    subs = [Subscription(s, ch) for s in EXCHANGES[exchange].demo_symbols for ch in ("trades", "ticker", "book")]
    plans = adapter.plan(subs)
    assert plans
    for plan in plans:
        assert plan.idle_timeout > 0, plan.conn
        assert plan.ping_interval or plan.app_ping, f"{plan.conn}: no keepalive at all"


def test_no_exchange_is_named_outside_its_package() -> None:
    """Exchange knowledge lives in collector/exchanges/<id>/ only (the registry names packages, nothing else)."""
    ids = set(EXCHANGES) | {REGISTRY[e].partition(":")[0] for e in EXCHANGES}
    offenders = []
    for path in (ROOT / "collector").rglob("*.py"):
        if path.is_relative_to(PACKAGE) and path.parent != PACKAGE:
            continue
        if path == PACKAGE / "__init__.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in ids:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value!r}")
    assert offenders == []


# -- fuzzing --------------------------------------------------------------------------------------


def _session(exchange: str, frames: int = 1500) -> list[Any]:
    return synthetic_frames(exchange, list(EXCHANGES[exchange].demo_symbols), frames=frames, seed=11)


def _loaded(exchange: str) -> Any:
    replay = Replay(_session(exchange, 50), exchange=exchange)
    for _ in replay:
        pass
    return replay.adapter


@pytest.mark.parametrize("exchange", SIMULATED)
def test_fuzzed_frames_never_escape_or_leak_impossible_values(exchange: str) -> None:
    """20,000 frames, every second one mutated: no exception escapes, no NaN/negative value gets out."""
    codec = EXCHANGES[exchange].simulator_wire().frame_codec()
    report = fuzz_session(exchange, _session(exchange), 20_000, seed=5, codec=codec)
    assert report.escapes == []
    assert report.bad_values == []
    assert report.mutated >= 10_000
    assert report.errors >= 1000  # mutations are reported, not swallowed
    assert report.events >= 1000  # and the good frames still become events


@pytest.mark.parametrize("exchange", SIMULATED)
def test_c_and_python_paths_agree_on_fuzzed_frames(exchange: str) -> None:
    """With the C accelerators, with the Python specification of the fast path and without either,
    the same mutated frames give the same events and books."""
    if not speedups.available():
        pytest.skip("collector._speedups is not compiled here")
    codec = EXCHANGES[exchange].simulator_wire().frame_codec()
    runs: list[list[Any]] = []
    for mode in (contextlib.nullcontext, fastpath.specification, speedups.disabled):
        seen: list[Any] = []

        def keep(adapter: Any, frame: Any, out: list[Any], seen: list[Any] = seen) -> None:
            seen.extend(out)

        with mode():
            fuzz_session(exchange, _session(exchange), 4000, seed=9, codec=codec, compare=keep)
        runs.append(seen)
    assert runs[0] == runs[1]
    assert runs[0] == runs[2]


@pytest.mark.parametrize("exchange", SIMULATED)
def test_book_snapshots_list_each_side_best_first(exchange: str) -> None:
    """Whatever order the wire uses (time order, asks high to low, sells before buys), a
    snapshot event gives bids from the highest price down and asks from the lowest up."""
    snapshots = [e for e in Replay(_session(exchange, 3000), exchange=exchange) if isinstance(e, Book) and e.snapshot]
    assert snapshots
    for book in snapshots:
        bids, asks = [p for p, _ in book.bids], [p for p, _ in book.asks]
        assert bids == sorted(bids, reverse=True), book.symbol
        assert asks == sorted(asks), book.symbol


# -- one live scenario per exchange ----------------------------------------------------------------


def _errors(rec: Recorder, exchange: str) -> int:
    return len([e for e in rec.of(Error, exchange) if e.conn != "rest"])


def _resyncs(rec: Recorder, exchange: str, reason: str) -> set[str]:
    return {e.symbol for e in rec.of(Resync, exchange) if e.reason == reason and e.symbol is not None}


@pytest.mark.parametrize("exchange", SIMULATED)
async def test_live_books_survive_hostile_frames_gaps_checksums_drops_and_stalls(exchange: str) -> None:
    """Over real loopback websockets against the simulator, every fault is reported and books converge on the truth."""
    markets = _markets(exchange)
    symbols = markets[exchange]
    async with Simulator(markets, seed=21, tick_interval=0.02) as sim:
        wire = EXCHANGES[exchange].simulator_wire()
        c = Collector(
            endpoints={exchange: sim.endpoints(exchange)},
            queue_size=0,
            delays=quick_delays,
            stable_after=0.5,
            check_interval=0.2,
            plan_overrides={"idle_timeout": 30.0, "ping_interval": 0.5, "ping_timeout": 2.0},
        )
        c.subscribe(exchange, symbols, ["trades", "ticker", "book"])
        rec = Recorder()
        c.on(rec)
        crossed: list[str] = []

        def check_book(event: Any) -> None:
            # After every book event, the maintained book it describes must be uncrossed.
            book = c.book(exchange, event.symbol)
            if book is not None and book.synced and book.crossed():
                crossed.append(f"{event.symbol} at {event.sequence}")

        c.on(check_book, Book)
        await c.start()
        try:

            def synced() -> bool:
                return all((b := c.book(exchange, s)) is not None and b.synced for s in symbols)

            await wait_for(synced, timeout=15)
            await _truth(c, sim, markets)
            assert _errors(rec, exchange) == 0, [e for e in rec.of(Error)]

            # Hostile frames between good ones: one error each, nothing else lost.
            hostile = sim.hostile_frames(exchange, symbols[0]) + GENERIC_HOSTILE
            conns = len(c.connections)
            sim.send_raw(exchange, [frame for frame, _ in hostile])
            expected = len(hostile) * conns
            await wait_for(lambda: _errors(rec, exchange) >= expected, timeout=10)
            await asyncio.sleep(0.3)
            assert _errors(rec, exchange) == expected, [(e.reason, e.detail[:80]) for e in rec.of(Error)]
            assert rec.of(Disconnected, exchange) == []
            await wait_for(synced, timeout=10)
            await _truth(c, sim, markets)

            # A gap and, where books carry one, a checksum mismatch: that one symbol resyncs. Diffs
            # without a sequence cannot show a gap as such (the checksum step covers what can be seen).
            faults = [(Fault.GAP, "gap")] if wire.book_diffs and wire.sequenced else []
            if wire.checksums:
                faults.append((Fault.CHECKSUM, "checksum"))
            for fault, reason in faults:
                sim.inject(exchange, fault, symbol=symbols[0])
                await wait_for(lambda reason=reason: symbols[0] in _resyncs(rec, exchange, reason), timeout=10)
                await wait_for(synced, timeout=15)
                await _truth(c, sim, markets)

            # A dropped connection: every book on it resyncs and comes back.
            sim.inject(exchange, Fault.ABRUPT_CLOSE)
            await wait_for(lambda: set(symbols) <= _resyncs(rec, exchange, "reconnect"), timeout=10)
            await wait_for(synced, timeout=15)
            await _truth(c, sim, markets)

            # A feed that stops while pings are answered: each book goes stale within its limit.
            c.adapter(exchange).book_stale_after = 1.0
            sim.inject(exchange, Fault.STALL, seconds=2.5)
            await wait_for(lambda: set(symbols) <= _resyncs(rec, exchange, "stale"), timeout=5)
            await wait_for(synced, timeout=15)
            await _truth(c, sim, markets)

            bad = [e for e in rec.events if isinstance(e, MarketEvent) and invalid(e) is not None]
            assert bad == []
            assert crossed == []
            trades = rec.of(Trade, exchange)
            assert trades, "trades flow"
            assert [o for o in rec.of(Outage, exchange) if o.kind == "fatal"] == []
        finally:
            await c.stop()


async def _truth(c: Collector, sim: Simulator, markets: dict[str, list[str]]) -> None:
    sim.pause()
    try:
        await compare_books(c, sim, markets)
    finally:
        sim.resume()


def test_every_adapter_can_be_created_offline() -> None:
    """Adapters build without the network: the registry line, the package and its defaults are consistent."""
    for exchange in EXCHANGES:
        adapter = create(exchange)
        assert adapter.id == exchange
        assert adapter.books.exchange == exchange
