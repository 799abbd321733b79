"""Korbit end to end over loopback websockets: a recorded session replays to the events it gave live.

Nothing is mocked: the simulator speaks Korbit's API v2 wire, the real adapter and Collector
collect it, a :class:`~collector.capture.CaptureWriter` records every frame, and a
dropped connection makes the adapter reconnect and subscribe again mid-recording.
"""

from __future__ import annotations

from pathlib import Path

from collector import Collector
from collector.capture import CaptureWriter
from collector.models import Book, Error, Resync, Ticker, Trade
from collector.replay import Replay
from collector.simulator import Fault, Simulator
from tests.e2e.helpers import Recorder, quick_delays, wait_for

SYMBOLS = ["BTC/KRW", "USDT/KRW"]


async def test_recorded_session_replays_to_the_live_events(tmp_path: Path) -> None:
    """Trades, tickers and books of a recorded session, reconnect included, replay exactly (repeated
    trades of the subscribe snapshots are dropped in both)."""
    capture = tmp_path / "korbit.jsonl.zst"
    async with Simulator({"korbit": SYMBOLS}, seed=6, tick_interval=0.02) as sim:
        with CaptureWriter(capture, "korbit") as writer:
            c = Collector(
                endpoints={"korbit": sim.endpoints("korbit")},
                record=writer,
                queue_size=0,
                delays=quick_delays,
                stable_after=0.5,
                plan_overrides={"idle_timeout": 30.0},
            )
            c.subscribe("korbit", SYMBOLS, ["trades", "ticker", "book"])
            rec = Recorder()
            c.on(rec)
            await c.start()
            try:
                await wait_for(lambda: len(rec.of(Trade, "korbit")) >= 20, timeout=15)
                sim.inject("korbit", Fault.ABRUPT_CLOSE)
                await wait_for(lambda: {e.symbol for e in rec.of(Resync, "korbit")} >= set(SYMBOLS), timeout=10)
                before = len(rec.of(Trade, "korbit"))
                await wait_for(lambda: len(rec.of(Trade, "korbit")) >= before + 20, timeout=15)
            finally:
                await c.stop()
    assert rec.of(Error, "korbit") == []
    replayed = [e for e in Replay(capture, exchange="korbit") if not isinstance(e, Error)]

    def market(events: list[object]) -> dict[type, list[tuple[object, ...]]]:
        out: dict[type, list[tuple[object, ...]]] = {Trade: [], Ticker: [], Book: []}
        for e in events:
            if isinstance(e, Trade):
                out[Trade].append((e.symbol, e.id, e.price, e.amount, e.side, e.timestamp))
            elif isinstance(e, Ticker):
                out[Ticker].append((e.symbol, e.timestamp, e.bid, e.ask, e.last))
            elif isinstance(e, Book):
                out[Book].append((e.symbol, e.sequence, tuple(e.bids), tuple(e.asks)))
        return out

    live, again = market(rec.events), market(replayed)
    assert all(live[kind] for kind in live), {k.__name__: len(v) for k, v in live.items()}
    assert again == live
