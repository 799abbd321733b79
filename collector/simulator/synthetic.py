"""Offline synthetic sessions: what the simulator would have sent, as a capture.

:func:`synthetic_frames` runs the same markets and wire format as the live server on a
virtual clock and writes the result as capture records, so ``collector.replay`` (and
benchmarks built on it) can consume a session of any length without sockets.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlsplit

import orjson

from ..capture import Frame
from .market import SymbolMarket
from .server import wire_format
from .wire import RestCall, Session, WireFormat

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

    The records are: a header; the instrument-list responses; per connection (one per
    route: USDⓈ-M book and trade streams live on different paths, Bybit categories on
    their own) a ``connect``, the ``send`` of each subscribe request and the replies (with
    the snapshots exchanges push on subscribe); then ``frames`` market-data ``recv``
    frames (book diffs, best bid/offer, trades, ``interval`` klines) on a virtual clock
    from ``start`` in steps of ``tick_interval``; and, for exchanges whose snapshots come
    from REST, after each symbol's first book diff the ``http`` snapshot an adapter
    requests, which joins that diff by the exchange's rule. Feed the list to
    :func:`collector.replay`: it yields trades, tickers, synced books and candles. The same
    arguments always give the same records.
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
    wire = wire_format(exchange)
    specs = [wire.instrument(symbol, seed) for symbol in symbols]
    markets = {wire.market_key(spec): wire.market(spec, seed, depth) for spec in specs}
    out: list[Frame] = []
    header = {"t": "header", "format": 2, "exchange": exchange.upper(), "config": {"symbols": list(symbols)}}
    out.append(Frame("header", "", start, orjson.dumps({**header, "recorded": start}).decode()))
    start_ms = int(start * 1000)
    for path, query in wire.instrument_calls(markets):
        info = wire.rest(RestCall("GET", path, query), markets, start_ms)
        url = wire.default_rest + path + (f"?{urlencode(query)}" if query else "")
        out.append(Frame("http", "http", start, info.body.decode(), url))
    # stream -> (connection id, the connection's session)
    conn_of_stream: dict[str, tuple[str, Session]] = {}
    for n, (route, requests) in enumerate(sorted(wire.subscribe_all(specs, interval).items()), 1):
        conn = f"{exchange}.ws.{n}"
        at = start + 0.003 * n  # records stay in time order, as a recorder writes them
        out.append(Frame("connect", conn, at, "", wire.default_ws + wire.ws_path(route)))
        session = wire.open(route)
        for request in requests:
            control = wire.on_client_text(session, request, markets, start_ms)
            out.append(Frame("send", conn, at + 0.001, request))
            replies = ([control.reply] if control.reply is not None else []) + control.frames
            out.extend(Frame("recv", conn, at + 0.002, reply) for reply in replies)
            session.streams.extend(s for s in control.subscribe if s not in session.streams)
        conn_of_stream.update(dict.fromkeys(session.streams, (conn, session)))
    for market in markets.values():
        for stream in conn_of_stream:
            wanted = wire.wanted_intervals(stream)
            if wanted is not None:
                market.track(wanted)

    subscribed = conn_of_stream.keys()
    # Exchanges with REST snapshots: the one an adapter asks for on its first diff.
    pending_snapshot = {key for key in markets if wire.snapshot_path(key) is not None}
    sent = 0
    step = 0
    encode = wire.encode
    deliver = wire.deliver
    append = out.append
    while sent < frames:
        step += 1
        ts = start + step * tick_interval
        time_ms = start_ms + round(step * tick_interval * 1000)
        snapshots: list[Frame] = []
        for key, market in markets.items():
            for message in encode(market.spec, market.step(time_ms), subscribed):
                conn, session = conn_of_stream[message.stream]
                text = deliver(session, message)
                if text is None:
                    continue
                append(Frame("recv", conn, ts, text))
                sent += 1
                if message.book_key is not None and key in pending_snapshot:
                    # Taken right after that diff, recorded half a tick later, after the rest of
                    # this tick's frames.
                    pending_snapshot.discard(key)
                    snapshots.append(_snapshot(wire, markets, key, ts + tick_interval / 2, time_ms))
                if sent >= frames:
                    break
            if sent >= frames:
                break
        out.extend(snapshots)
    return out


def _snapshot(wire: WireFormat, markets: Mapping[str, SymbolMarket], key: str, ts: float, time_ms: int) -> Frame:
    """The recorded answer to the adapter's snapshot request for market ``key``, as of now."""
    path_query = wire.snapshot_path(key)
    assert path_query is not None
    parts = urlsplit(path_query)
    answer = wire.rest(RestCall("GET", parts.path, dict(parse_qsl(parts.query))), markets, time_ms)
    return Frame("http", "http", ts, answer.body.decode(), wire.default_rest + path_query)
