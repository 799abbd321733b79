"""Which cryptofeed feed replays which collector exchange, and how: the table ``bench_cryptofeed.py`` reads.

A new exchange is one :class:`Row` in :data:`ROWS`: the collector registry id, the cryptofeed
feed class, the channels cryptofeed subscribes, and, where the simulator's synthetic session
subscribes more or otherwise than cryptofeed's own connection would, an edit of the session's
subscribe requests, so the simulator writes what cryptofeed's recorder would have received.
Nothing here imports cryptofeed (the channel names are the values of ``cryptofeed.defines``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

TRADES, TICKER, L2_BOOK, CANDLES = "trades", "ticker", "l2_book", "candles"
FUNDING, OPEN_INTEREST, INDEX, LIQUIDATIONS = "funding", "open_interest", "index", "liquidations"

Requests = dict[str, list[str]]
"""A synthetic session's subscribe requests per simulator route, as ``WireFormat.subscribe_all`` returns them."""


@dataclass(frozen=True)
class Row:
    """How cryptofeed replays one collector exchange.

    - ``channels``: cryptofeed channels subscribed; ``contract_channels`` for perpetuals only. A
      recording is replayed with the subscription its header records, within these channels.
    - ``symbols``: collector symbols of the synthetic session (empty: the adapter's ``demo_symbols``).
    - ``options``: extra keyword arguments of the feed.
    - ``protocol``: the simulator's ``synthetic_protocol`` to write (the API version cryptofeed speaks).
    - ``requests``: edits the synthetic session's subscribe requests to what cryptofeed subscribes.
    - ``unseen``: recorded frames cryptofeed's own connection never receives (parsed JSON in,
      ``True`` to leave the frame out of the session for both contenders).
    - ``rest_url``: cryptofeed's REST URL -> the URL the capture recorded the same answer under.
    - ``no_listing``: the body answering an instrument listing cryptofeed reads that the capture
      lacks (an empty listing: the simulator lists nothing there); ``None``: such a capture fails.
    - ``crc``: the simulator writes book checksums only when asked (``checksums`` on its wire
      format: OKX has sent 0 since 2026-06-23); ``--checksums`` asks for them.
    - ``cannot``: why cryptofeed cannot replay this exchange's synthetic session, which is then
      neither generated nor timed (a recording is still tried: the check reports what fails).
    - ``note``: what a reader should know about the comparison.
    """

    exchange: str
    feed: str
    channels: tuple[str, ...] = (TRADES, TICKER, L2_BOOK, CANDLES)
    contract_channels: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    protocol: str | None = None
    requests: Callable[[Requests], Requests] | None = None
    unseen: Callable[[Any], bool] | None = None
    rest_url: Callable[[str], str] | None = None
    no_listing: str | None = None
    crc: bool = False
    cannot: str = ""
    note: str = ""


def cryptofeed_symbol(symbol: str) -> str:
    """A collector symbol as cryptofeed names it: ``BTC/USDT`` -> ``BTC-USDT``, ``BTC/USDT:USDT`` -> ``BTC-USDT-PERP``.

    cryptofeed names a perpetual by base and quote only (linear and inverse alike); dated
    futures and options are not mapped (``ValueError``).
    """
    pair, _, settle = symbol.partition(":")
    base, _, quote = pair.partition("/")
    if "-" in settle:
        raise ValueError(f"no cryptofeed name for the dated contract {symbol!r}")
    return f"{base}-{quote}-PERP" if settle else f"{base}-{quote}"


def _each(requests: Requests, edit: Callable[[str, Any], Any]) -> Requests:
    """Apply ``edit(route, message)`` to every request; ``None`` drops it, a route left empty is not connected."""
    out: Requests = {}
    for route, texts in requests.items():
        edited = (edit(route, orjson.loads(text)) for text in texts)
        kept = [orjson.dumps(message).decode() for message in edited if message is not None]
        if kept:
            out[route] = kept
    return out


def _not_a_stream(message: Any) -> bool:
    # Binance: cryptofeed names its streams in the URL, sends no SUBSCRIBE, so never sees its reply.
    return not (isinstance(message, dict) and "stream" in message)


def _bybit(requests: Requests) -> Requests:
    # cryptofeed: no spot tickers; books at 200 levels only; liquidations on the retired "liquidation" topic.
    def edit(route: str, message: Any) -> Any:
        def wanted(arg: str) -> bool:
            topic = arg.split(".", 1)[0]
            return topic not in ("allLiquidation", "tickers" if route == "spot" else "") and not arg.startswith(
                "orderbook.1."
            )

        return message | {"args": [arg for arg in message["args"] if wanted(arg)]}

    return _each(requests, edit)


def _okx(requests: Requests) -> Requests:
    # cryptofeed subscribes candles on /public, where OKX (and the simulator) no longer serve them; it has
    # no mark-price channel, and its handler would take index-tickers for tickers.
    def edit(route: str, message: Any) -> Any:
        wanted = ("books", "tickers", "trades", "funding-rate", "open-interest")
        args = [arg for arg in message["args"] if arg["channel"] in wanted]
        return message | {"args": args} if route == "public" else None

    return _each(requests, edit)


def _coinbase(requests: Requests) -> Requests:
    # cryptofeed 2.4.1 handles level2 and market_trades only (it asks for "heartbeat", which is no channel).
    return _each(requests, lambda _, m: m if m.get("channel") in ("level2", "market_trades") else None)


def _upbit(requests: Requests) -> Requests:
    # cryptofeed subscribes trade and orderbook, not ticker.
    return _each(requests, lambda _, m: [part for part in m if part.get("type") != "ticker"])


def _kraken_futures(requests: Requests) -> Requests:
    # cryptofeed does not subscribe the heartbeat feed (and its handler would fail on one).
    return _each(requests, lambda _, m: None if m.get("feed") == "heartbeat" else m)


def _bitfinex(requests: Requests) -> Requests:
    # cryptofeed asks for SEQ_ALL only (no OB_CHECKSUM frames) and has no candles channel.
    def edit(_: str, message: Any) -> Any:
        if message.get("event") == "conf":
            return message | {"flags": 65536}
        return None if message.get("channel") == "candles" else message

    return _each(requests, edit)


def _drop_args(*prefixes: str) -> Callable[[Requests], Requests]:
    """Drop subscription arguments (strings in ``args``) starting with any of ``prefixes``."""

    def edit(_: str, message: Any) -> Any:
        return message | {"args": [a for a in message["args"] if not a.startswith(prefixes)]}

    return lambda requests: _each(requests, edit)


def _deribit(requests: Requests) -> Requests:
    # cryptofeed: no heartbeat, no chart channels; its public subscribe has id "101". It asks for "raw"
    # intervals, which Deribit (and the simulator) grant to authorised users only: 100ms frames instead.
    def edit(_: str, message: Any) -> Any:
        if message.get("method") != "public/subscribe":
            return None
        channels = [c for c in message["params"]["channels"] if not c.startswith("chart.")]
        return message | {"id": "101", "params": {"channels": channels}}

    return _each(requests, edit)


def _gemini(requests: Requests) -> Requests:
    # cryptofeed subscribes l2 (trades come inside it), no candles.
    return _each(requests, lambda _, m: m if m["subscriptions"][0]["name"] == "l2" else None)


def _gemini_details(url: str) -> str:
    # Synthetic captures record /v1/symbols/details/btcusd as /v1/symbols?symbol=btcusd.
    return re.sub(r"/v1/symbols/details/(\w+)$", r"/v1/symbols?symbol=\1", url)


def _gateio(requests: Requests) -> Requests:
    # cryptofeed's TICKER is spot.tickers; it does not subscribe spot.book_ticker.
    return _each(requests, lambda _, m: None if m["channel"] == "spot.book_ticker" else m)


def _htx(requests: Requests) -> Requests:
    # cryptofeed: whole books (depth.step0) on /ws instead of mbp increments on /feed; ticker, not bbo.
    natives = [m["sub"].split(".")[1] for m in map(orjson.loads, requests.get("ws", [])) if "trade.detail" in m["sub"]]
    return {"ws": _subs(natives, ("trade.detail", "ticker", "depth.step0", "kline.1min"))}


def _htx_swap(requests: Requests) -> Requests:
    # cryptofeed's HuobiSwap: trade.detail and whole books (depth.step0) on /linear-swap-ws, nothing else.
    natives = [m["sub"].split(".")[1] for m in map(orjson.loads, requests.get("linear-swap-ws", []))]
    return {"linear-swap-ws": _subs(list(dict.fromkeys(natives)), ("trade.detail", "depth.step0"))}


def _subs(natives: list[str], channels: tuple[str, ...]) -> list[str]:
    """HTX subscribe requests, one per topic, numbered as cryptofeed numbers them."""
    topics = [f"market.{n}.{channel}" for n in natives for channel in channels]
    return [orjson.dumps({"sub": topic, "id": str(i)}).decode() for i, topic in enumerate(topics, 1)]


def _probit(requests: Requests) -> Requests:
    # cryptofeed subscribes each channel apart ("filter": [channel]) and has no ticker.
    return {
        route: [
            orjson.dumps(message | {"filter": [name]}).decode()
            for message in map(orjson.loads, texts)
            for name in ("order_books", "recent_trades")
            if name in message["filter"]
        ]
        for route, texts in requests.items()
    }


_BITGET_V1 = (
    "cryptofeed 2.4.1 speaks Bitget's v1 websocket (/spot/v1/stream, /mix/v1/stream, instType sp/mc, "
    "v1 REST listings); the simulator writes v2 only (/v2/ws/public, instType SPOT/USDT-FUTURES) and "
    "v1 has been retired by Bitget"
)

ROWS: tuple[Row, ...] = (
    Row("binance", "Binance", unseen=_not_a_stream),
    Row(
        "binance_usdm",
        "BinanceFutures",
        unseen=_not_a_stream,
        note="the simulator splits streams over /market and /public (Binance's current routing); "
        "cryptofeed's /stream receives the same frames",
    ),
    Row("binance_coinm", "BinanceDelivery", unseen=_not_a_stream),
    Row(
        "bybit",
        "Bybit",
        contract_channels=(FUNDING, OPEN_INTEREST, INDEX),
        requests=_bybit,
        note="spot: trades, orderbook.200, kline; linear adds tickers (cryptofeed's ticker, funding, OI, index)",
    ),
    Row("upbit", "Upbit", channels=(TRADES, L2_BOOK), requests=_upbit),
    Row(
        "okx",
        "OKX",
        channels=(TRADES, TICKER, L2_BOOK),
        contract_channels=(FUNDING, OPEN_INTEREST),
        requests=_okx,
        no_listing='{"code":"0","msg":"","data":[]}',
        crc=True,
        note="no candles (cryptofeed asks /public for them; OKX serves them on /business), no mark-price; "
        "checksum 0 as OKX sends since 2026-06-23 (--checksums: the CRC32s of before)",
    ),
    Row(
        "coinbase",
        "Coinbase",
        channels=(TRADES, L2_BOOK),
        requests=_coinbase,
        # cryptofeed 2.4.1 signs every Coinbase subscribe, public ones too: it needs some credentials.
        options={"config": {"coinbase": {"key_id": "replay", "key_secret": "replay"}}},
        rest_url=lambda url: url.replace("/brokerage/products", "/brokerage/market/products"),
        note="cryptofeed reads its listing from the authenticated /products (the capture: the public "
        "/market/products) and skips the market_trades snapshot sent on subscribe",
    ),
    Row(
        "kraken",
        "Kraken",
        options={"max_depth": 100},
        protocol="v1",
        note="websocket v1 (cryptofeed's), not v2 (collector's live default); books at depth 100 for both",
    ),
    Row(
        "kraken_futures",
        "KrakenFutures",
        channels=(TRADES, L2_BOOK, FUNDING),
        symbols=("BTC/USD:BTC",),
        requests=_kraken_futures,
        note="one contract (cryptofeed names PI_XBTUSD and PF_XBTUSD both BTC-USD-PERP); the 'ticker' feed is "
        "cryptofeed's FUNDING. cryptofeed looks product ids up lower-cased, as the listing once spelt them",
    ),
    Row("bitget", "Bitget", cannot=_BITGET_V1),
    Row(
        "bitfinex",
        "Bitfinex",
        channels=(TRADES, TICKER, L2_BOOK),
        requests=_bitfinex,
        no_listing="[[]]",
        note="SEQ_ALL without OB_CHECKSUM and no candles, as cryptofeed subscribes",
    ),
    Row(
        "deribit",
        "Deribit",
        channels=(TRADES, TICKER, L2_BOOK),
        contract_channels=(FUNDING, OPEN_INTEREST, LIQUIDATIONS),  # from its ticker and trades channels
        requests=_deribit,
        # cryptofeed 2.4.1 counts Deribit's raw trades, ticker and book as authenticated channels.
        options={"config": {"deribit": {"key_id": "replay", "key_secret": "replay"}}},
        note="book/trades/ticker at 100ms (cryptofeed asks raw, which needs an authorised user; same frames)",
    ),
    Row(
        "gemini",
        "Gemini",
        channels=(TRADES, L2_BOOK),
        requests=_gemini,
        rest_url=_gemini_details,
        note="l2 only (trades inside it); no candles",
    ),
    Row(
        "gateio",
        "Gateio",
        channels=(TRADES, L2_BOOK, CANDLES),
        requests=_gateio,
        note="no book_ticker (cryptofeed's ticker is spot.tickers)",
    ),
    Row(
        "gateio_futures",
        "GateioFutures",
        note="Gate's periodic whole books: snapshots to collector, diffs to cryptofeed",
    ),
    Row(
        "htx",
        "Huobi",
        requests=_htx,
        note="whole books (depth.step0) and ticker on /ws, as cryptofeed subscribes, not mbp.150 and bbo",
    ),
    Row(
        "htx_swap",
        "HuobiSwap",
        channels=(TRADES, L2_BOOK),
        requests=_htx_swap,
        no_listing='{"status":"ok","data":[]}',  # coin-margined swaps: the session lists USDT-margined only
        note="trades and whole books (depth.step0) only, as cryptofeed subscribes",
    ),
    Row(
        "kucoin",
        "KuCoin",
        cannot="cryptofeed 2.4.1's KuCoin constructor POSTs /api/v1/bullet-public for a connection token "
        "(HTTPSync.write: a network write, not a read the capture answers), then lists /api/v1/symbols and "
        "snapshots the authenticated /api/v3/market/orderbook/level2 (the capture: /api/v2/symbols, level2_100)",
    ),
    Row(
        "bithumb",
        "Bithumb",
        cannot="cryptofeed 2.4.1 speaks Bithumb's old pubwss API (pubwss.bithumb.com/pub/ws, trades only, "
        "/public/ticker listings); the simulator writes the current websocket v1 (ws-api.bithumb.com/websocket/v1)",
    ),
    Row("probit", "Probit", channels=(TRADES, L2_BOOK), requests=_probit, note="no ticker"),
    Row(
        "bitmex",
        "Bitmex",
        channels=(TRADES, TICKER, L2_BOOK),
        requests=_drop_args("tradeBin1m:"),
        note="no candles (cryptofeed has none for BitMEX); ws.bitmex.com and www.bitmex.com serve the same API",
    ),
    Row(
        "cryptocom",
        "CryptoDotCom",
        cannot="cryptofeed 2.4.1 speaks Crypto.com's retired v2 market API (/v2/market, /v2/public/get-instruments "
        "listing result.instruments); the simulator writes Exchange API v1 (/exchange/v1/market, listing "
        "result.data with other field names), as Crypto.com serves today",
    ),
    Row(
        "bitstamp",
        "Bitstamp",
        cannot="cryptofeed 2.4.1's Bitstamp subscribe awaits asyncio.sleep(5) before fetching its REST book "
        "snapshots, in every session: a replay would time the sleep (and only the HTTP reads may be replaced)",
    ),
)
"""One row per exchange both projects support."""

BY_EXCHANGE: dict[str, Row] = {row.exchange: row for row in ROWS}
