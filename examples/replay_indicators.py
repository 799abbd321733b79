"""Replay a recorded capture and compute candles and TA-Lib indicators from its trades.

    python examples/replay_indicators.py ../shared/recordings/binance.jsonl.zst

Prints every closed candle and the indicator values on it, and the final state of each
maintained book.
"""

from __future__ import annotations

import argparse

import collector
from collector.indicators import IndicatorEngine


def show(events: list[collector.Event]) -> None:
    """Print closed candles and the indicator values on them."""
    for derived in events:
        if isinstance(derived, collector.Candle) and derived.closed:
            print(f"{derived.symbol} {derived.interval} close {derived.close} volume {derived.volume}")
        elif isinstance(derived, collector.Indicator) and derived.closed:
            print(f"{derived.symbol} {derived.name}{derived.params} {derived.values}")


def main(path: str) -> int:
    engine = IndicatorEngine(candles=["1s"], indicators=["SMA(3)", "RSI(2)"])
    run = collector.Replay(path, book_top=3)
    last = 0.0
    for event in run:
        last = max(last, event.received)
        show(engine.process(event))
    # The session is over: close the bars that were still forming.
    show(engine.flush(last + 1.0))
    for symbol in run.adapter.books.symbols():
        book = run.adapter.book(symbol)
        if book is not None:
            print(f"{symbol}: best bid {book.best_bid()}, best ask {book.best_ask()}, {len(book)} levels")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    raise SystemExit(main(parser.parse_args().capture))
