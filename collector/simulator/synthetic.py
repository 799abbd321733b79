"""Offline synthetic sessions: what the simulator would have sent, as a capture.

:func:`synthetic_frames` runs the same markets and wire format as the live server on a
virtual clock and writes the result as capture records, so ``collector.replay`` (and
benchmarks built on it) can consume a session of any length without sockets.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlsplit

import orjson

from ..capture import Frame
from .market import InstrumentSpec, SymbolMarket
from .server import _wire
from .wire import SessionWire, WireFormat

__all__ = ["synthetic_frames"]


def synthetic_frames(
    exchange: str,
    symbols: Sequence[str],
    *,
    frames: int,
    seed: int = 0,
    tick_interval: float = 0.1,
    start: float = 1_700_000_000.0,
    depth: int = 40,
    interval: str = "1m",
) -> list[Frame]:
    """A synthetic session of ``exchange`` for ``symbols`` in capture format.

    The records are: a header; the instrument-list response; one ``connect`` + ``send``
    (subscribe) + acknowledgement per connection (two on USDⓈ-M, whose book and trade
    streams live on different paths); then ``frames`` market-data ``recv`` frames
    (book diffs, best bid/offer, trades, ``interval`` klines) on a virtual clock from
    ``start`` in steps of ``tick_interval``; and, after each symbol's first book diff,
    the ``http`` snapshot an adapter requests, which joins that diff by the exchange's
    rule. Feed the list to :func:`collector.replay`: it yields trades, tickers, synced
    books and candles. The same arguments always give the same records.

    Exchanges that push book snapshots on the stream (``bybit``, ``upbit``) have no
    snapshot requests: their subscribe replies are followed by the snapshots the server
    sends, one connection per route (Bybit: per category), and Upbit frames are binary.
    """
    # Generation allocates millions of short-lived, acyclic objects; the cyclic collector
    # would rescan the growing result list for nothing (it costs about a quarter of the time).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _generate(exchange, symbols, frames, seed, tick_interval, start, depth, interval)
    finally:
        if gc_was_enabled:
            gc.enable()


def _generate(
    exchange: str,
    symbols: Sequence[str],
    frames: int,
    seed: int,
    tick_interval: float,
    start: float,
    depth: int,
    interval: str,
) -> list[Frame]:
    wire = _wire(exchange)
    specs = [wire.instrument(symbol, seed) for symbol in symbols]
    if isinstance(wire, SessionWire):
        return _generate_session(wire, exchange, specs, frames, seed, tick_interval, start, depth, interval)
    markets = {spec.native: wire.market(spec, seed, depth) for spec in specs}
    for market in markets.values():
        market.track(interval)

    streams_of_route: dict[str, list[str]] = {}
    for spec in specs:
        low = spec.native.lower()
        for kind in ("depth@100ms", "bookTicker", "aggTrade", f"kline_{interval}"):
            stream = f"{low}@{kind}"
            streams_of_route.setdefault(wire.stream_route(stream), []).append(stream)
    conn_of_stream: dict[str, str] = {}
    out: list[Frame] = []
    header = {"t": "header", "format": 2, "exchange": exchange.upper(), "config": {"symbols": list(symbols)}}
    out.append(Frame("header", "", start, orjson.dumps({**header, "recorded": start}).decode()))
    start_ms = int(start * 1000)
    info = wire.rest(wire.instruments_path, {}, markets, start_ms)
    out.append(Frame("http", "http", start, info.body.decode(), wire.default_rest + wire.instruments_path))
    for n, (route, streams) in enumerate(sorted(streams_of_route.items()), 1):
        conn = f"{exchange}.ws.{n}"
        subscribe = wire.subscribe_frame(streams, n)
        ack = wire.on_text(subscribe, []).reply or ""
        at = start + 0.003 * n  # records stay in time order, as a recorder writes them
        out.append(Frame("connect", conn, at, "", wire.default_ws + wire.ws_path(route)))
        out.append(Frame("send", conn, at + 0.001, subscribe))
        out.append(Frame("recv", conn, at + 0.002, ack))
        conn_of_stream.update(dict.fromkeys(streams, conn))

    subscribed = conn_of_stream.keys()
    pending_snapshot = {spec.native for spec in specs}
    sent = 0
    step = 0
    encode = wire.encode
    append = out.append
    while sent < frames:
        step += 1
        ts = start + step * tick_interval
        time_ms = start_ms + round(step * tick_interval * 1000)
        snapshots: list[Frame] = []
        for market in markets.values():
            spec = market.spec
            update = market.step(time_ms)
            for message in encode(spec, update, subscribed):
                append(Frame("recv", conn_of_stream[message.stream], ts, message.text))
                sent += 1
                if message.book_key is not None and spec.native in pending_snapshot:
                    # The snapshot an adapter asks for on its first diff: taken right after that
                    # diff, recorded half a tick later, after the rest of this tick's frames.
                    pending_snapshot.discard(spec.native)
                    snapshots.append(_snapshot(wire, markets, spec.native, ts + tick_interval / 2, time_ms))
                if sent >= frames:
                    break
            if sent >= frames:
                break
        out.extend(snapshots)
    return out


def _generate_session(
    wire: SessionWire,
    exchange: str,
    specs: Sequence[InstrumentSpec],
    frames: int,
    seed: int,
    tick_interval: float,
    start: float,
    depth: int,
    interval: str,
) -> list[Frame]:
    markets = {wire.market_key(spec): wire.market(spec, seed, depth) for spec in specs}
    out: list[Frame] = []
    header = {
        "t": "header",
        "format": 2,
        "exchange": exchange.upper(),
        "config": {"symbols": [s.symbol for s in specs]},
    }
    out.append(Frame("header", "", start, orjson.dumps({**header, "recorded": start}).decode()))
    start_ms = int(start * 1000)
    # Adapters list instruments per category where the exchange has them (Bybit): one call each.
    categories = sorted({key.partition(":")[0] for key in markets if ":" in key}) or [""]
    for category in categories:
        query = {"category": category, "limit": "1000"} if category else {"is_details": "true"}
        info = wire.rest(wire.instruments_path, query, markets, start_ms)
        url = wire.default_rest + wire.instruments_path + "?" + "&".join(f"{k}={v}" for k, v in query.items())
        out.append(Frame("http", "http", start, info.body.decode(), url))
    conn_of_stream: dict[str, str] = {}
    for n, (route, requests) in enumerate(sorted(wire.subscribe_all(specs, interval).items()), 1):
        conn = f"{exchange}.ws.{n}"
        at = start + 0.003 * n  # records stay in time order, as a recorder writes them
        out.append(Frame("connect", conn, at, "", wire.default_ws + wire.ws_path(route)))
        current: list[str] = []
        for request in requests:
            control = wire.on_client_text(route, request, current, markets, start_ms)
            out.append(Frame("send", conn, at + 0.001, request))
            replies = ([control.reply] if control.reply is not None else []) + control.frames
            out.extend(Frame("recv", conn, at + 0.002, reply) for reply in replies)
            current.extend(s for s in control.subscribe if s not in current)
        conn_of_stream.update(dict.fromkeys(current, conn))
    for market in markets.values():
        for stream in conn_of_stream:
            wanted = wire.wanted_intervals(stream)
            if wanted is not None:
                market.track(wanted)

    subscribed = conn_of_stream.keys()
    sent = 0
    step = 0
    encode = wire.encode
    append = out.append
    while sent < frames:
        step += 1
        ts = start + step * tick_interval
        time_ms = start_ms + round(step * tick_interval * 1000)
        for market in markets.values():
            for message in encode(market.spec, market.step(time_ms), subscribed):
                append(Frame("recv", conn_of_stream[message.stream], ts, message.text))
                sent += 1
                if sent >= frames:
                    return out
    return out


def _snapshot(wire: WireFormat, markets: Mapping[str, SymbolMarket], native: str, ts: float, time_ms: int) -> Frame:
    """The recorded answer to the adapter's snapshot request for ``native``, as of now."""
    path_query = wire.snapshot_path(native)
    parts = urlsplit(path_query)
    answer = wire.rest(parts.path, dict(parse_qsl(parts.query)), markets, time_ms)
    return Frame("http", "http", ts, answer.body.decode(), wire.default_rest + path_query)
