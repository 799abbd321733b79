"""KuCoin Futures adapter: contracts both ways, contract-size units, the per-change book rule, funding."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from collector.actions import RestRequest
from collector.errors import UsageError
from collector.exchanges import Poll, Subscription
from collector.exchanges.kucoin import KucoinFuturesAdapter
from collector.models import Book, DerivativeTicker, Error, Resync, Ticker, Trade

pytestmark = pytest.mark.usefixtures("both_paths")  # with the C accelerators and in pure Python

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "kucoin"
T = 1700000000.5
REST = "https://api-futures.kucoin.com"
CONTRACTS = RestRequest(f"{REST}/api/v1/contracts/active", "instruments", 3)


def raw(name: str) -> str:
    return (FIXTURES / name).read_text()


def edited(name: str, **data: Any) -> str:
    msg = json.loads(raw(name))
    msg["data"].update(data)
    return json.dumps(msg, separators=(",", ":"))


def change(sequence: int, text: str, native: str = "XBTUSDTM") -> str:
    data = {"sequence": sequence, "change": text, "timestamp": 1551770400000}
    topic = f"/contractMarket/level2:{native}"
    return json.dumps({"topic": topic, "type": "message", "subject": "level2", "sn": sequence, "data": data})


def snapshot_request(native: str = "XBTUSDTM", symbol: str = "BTC/USDT:USDT") -> RestRequest:
    return RestRequest(f"{REST}/api/v1/level2/snapshot?symbol={native}", "snapshot", 3, symbol)


def snapshot_body(sequence: int, bids: list[list[float]], asks: list[list[float]]) -> bytes:
    data = {"sequence": sequence, "symbol": "XBTUSDTM", "bids": bids, "asks": asks, "ts": 1551770400000000000}
    return json.dumps({"code": "200000", "data": data}).encode()


@pytest.fixture
def futures() -> KucoinFuturesAdapter:
    adapter = KucoinFuturesAdapter()
    assert adapter.on_http(CONTRACTS, 200, raw("contracts_active.json").encode(), T) == []
    return adapter


# -- contracts ----------------------------------------------------------------------------------


def test_contracts_map_both_ways(futures: KucoinFuturesAdapter) -> None:
    """``XBT`` is bitcoin: ``XBTUSDTM`` is the linear ``BTC/USDT:USDT`` (0.001 BTC a contract), ``XBTUSDM``
    the inverse ``BTC/USD:BTC`` (multiplier -1: 1 USD a contract), ``XBTMH25`` the dated inverse future,
    ``ETHUSDCM`` a paused USDC-margined contract."""
    got = {
        i.symbol: (i.native, i.kind, i.base, i.quote, i.settle, i.expiry, i.contract_size, i.tick_size, i.active)
        for i in futures.instruments
    }
    assert got == {
        "BTC/USDT:USDT": ("XBTUSDTM", "swap", "BTC", "USDT", "USDT", None, 0.001, 0.1, True),
        "BTC/USD:BTC": ("XBTUSDM", "swap", "BTC", "USD", "BTC", None, 1.0, 0.1, True),
        "BTC/USD:BTC-250328": ("XBTMH25", "future", "BTC", "USD", "BTC", "250328", 1.0, 1.0, True),
        "ETH/USDC:USDC": ("ETHUSDCM", "swap", "ETH", "USDC", "USDC", None, 0.01, 0.01, False),
    }
    assert futures.instruments.symbol_of("XBTUSDM") == "BTC/USD:BTC"
    assert futures.instruments.by_symbol("BTC/USDT:USDT").native == "XBTUSDTM"
    assert futures.contracts["XBTUSDM"].isInverse is True


def test_contract_listing_that_is_refused_is_an_error_event() -> None:
    """A refused listing is reported, not raised."""
    adapter = KucoinFuturesAdapter()
    out = adapter.answer(CONTRACTS, 200, b'{"code":"500000","msg":"Internal Server Error"}', T)
    assert [(e.reason, e.conn) for e in out if isinstance(e, Error)] == [("malformed", "rest")]


def test_plan_one_symbol_per_topic_within_100_topics(futures: KucoinFuturesAdapter) -> None:
    """Futures topics name one contract each; "Subscription limit for each connection: 100 topics"."""
    subs = [Subscription("BTC/USDT:USDT", ch) for ch in ("trades", "ticker", "book", "funding")]
    (p,) = futures.plan(subs)
    assert [json.loads(m)["topic"] for m in p.subscribe] == [
        "/contractMarket/execution:XBTUSDTM",
        "/contractMarket/tickerV2:XBTUSDTM",
        "/contractMarket/level2:XBTUSDTM",
        "/contract/instrument:XBTUSDTM",
    ]
    assert p.symbols == ["BTC/USDT:USDT"] and p.conn == "kucoin_futures.0"
    assert futures.connect_request(p) == RestRequest(
        f"{REST}/api/v1/bullet-public", "token", 10, None, "kucoin_futures.0", "POST", b""
    )
    many = futures.plan([Subscription(s, ch) for s in ("BTC/USDT:USDT", "BTC/USD:BTC") for ch in ("trades",)])
    assert len(many) == 1
    with pytest.raises(UsageError):
        futures.plan([Subscription("BTC/USDT:USDT", "candles")])
    with pytest.raises(UsageError):
        futures.plan([Subscription("BTC/USDT:USDT", "liquidations")])


def test_connect_plan_from_the_futures_token(futures: KucoinFuturesAdapter) -> None:
    """The futures token names the futures websocket host."""
    (p,) = futures.plan([Subscription("BTC/USDT:USDT", "book")])
    url = futures.connect_plan(p, 200, raw("bullet_public_futures.json").encode()).url
    assert url.startswith("wss://ws-api-futures.kucoin.com/?token=2neAiuYv")
    assert url.endswith("&connectId=kucoin_futures.0-1")


# -- trades and tickers -------------------------------------------------------------------------


def test_linear_execution_amount_is_contracts_times_multiplier(futures: KucoinFuturesAdapter) -> None:
    """2 ``XBTUSDTM`` contracts of 0.001 BTC: 0.002 BTC; ``side`` the taker's, ``ts`` in ns."""
    assert futures.parse("c", raw("execution.json"), T) == [
        Trade("kucoin_futures", "BTC/USDT:USDT", 1731898619.52, T, 90503.9, 2 * 0.001, "buy", "1794100537695")
    ]


def test_routed_executions_give_the_same_trades(futures: KucoinFuturesAdapter) -> None:
    """After its first frame the topic takes the fast path: same events for the next ones."""
    first = futures.receive("c", raw("execution.json"), T)
    assert futures.receive("c", raw("execution.json"), T) == first
    assert futures.receive("c", edited("execution.json", size=5), T)[0].amount == 5 * 0.001
    # Timed only by the older ``time``: the route declines, the adapter reads ``time``.
    timed = json.loads(edited("execution.json", time=1731898619530000000))
    del timed["data"]["ts"]
    (trade,) = futures.receive("c", json.dumps(timed), T)
    assert trade.timestamp == 1731898619.53  # type: ignore[union-attr]


def test_inverse_execution_of_2019_in_base_units(futures: KucoinFuturesAdapter) -> None:
    """Until 2022 ``matchSize`` was the fill and ``time`` its ns time; 1 USD contract at 3200 is 1/3200 BTC."""
    assert futures.parse("c", raw("execution_2019.json"), T) == [
        Trade(
            "kucoin_futures",
            "BTC/USD:BTC",
            1553846281766256031 / 1e9,
            T,
            3200.0,
            1 / 3200,
            "buy",
            "5c9dd00970744d6f5a3d32fc",
        )
    ]
    older = edited("execution_2019.json", matchSize=4, size=96)
    assert futures.parse("c", older, T)[0].amount == 4 / 3200


def test_ticker_v2_sizes_are_contracts(futures: KucoinFuturesAdapter) -> None:
    """``tickerV2``: best bid/offer, sizes in contracts (as the book's), ``ts`` in ns."""
    assert futures.parse("c", raw("ticker_v2.json"), T) == [
        Ticker("kucoin_futures", "BTC/USDT:USDT", 1731665526.461, T, 88987.4, 713.0, 88987.5, 1037.0)
    ]


def test_ticker_v1_has_the_last_fill(futures: KucoinFuturesAdapter) -> None:
    """The older ``ticker`` topic adds the last fill's price."""
    assert futures.parse("c", raw("ticker_v1.json"), T) == [
        Ticker(
            "kucoin_futures", "BTC/USDT:USDT", 1731679215637000000 / 1e9, T, 90147.7, 2186.0, 90147.8, 275.0, 90147.7
        )
    ]


# -- the order book -----------------------------------------------------------------------------


def test_documented_level2_example(futures: KucoinFuturesAdapter) -> None:
    """KuCoin Futures' worked example: snapshot at 16, changes 17 ("3988.50,buy,44") and 18 ("3988.61,sell,0")."""
    assert futures.parse("c", change(16, "3988.59,sell,3"), T) == [snapshot_request()]
    assert futures.parse("c", change(17, "3988.50,buy,44"), T) == []
    assert futures.parse("c", change(18, "3988.61,sell,0"), T) == []
    asks = [[3988.59, 3], [3988.60, 47], [3988.61, 32], [3988.62, 8]]
    bids = [[3988.51, 56], [3988.50, 15], [3988.49, 100], [3988.48, 10]]
    out = futures.on_http(snapshot_request(), 200, snapshot_body(16, bids, asks), T)
    assert [(e.snapshot, e.sequence, e.bids, e.asks) for e in out if isinstance(e, Book)] == [
        (
            True,
            16,
            [(3988.51, 56.0), (3988.5, 15.0), (3988.49, 100.0), (3988.48, 10.0)],
            [(3988.59, 3.0), (3988.6, 47.0), (3988.61, 32.0), (3988.62, 8.0)],
        ),
        (False, 17, [(3988.5, 44.0)], []),
        (False, 18, [], [(3988.61, 0.0)]),
    ]
    book = futures.book("BTC/USDT:USDT")
    assert book is not None and book.sequence == 18
    assert book.asks() == {3988.59: 3.0, 3988.60: 47.0, 3988.62: 8.0}
    assert book.bids() == {3988.48: 10.0, 3988.49: 100.0, 3988.50: 44.0, 3988.51: 56.0}


def test_snapshot_fixture_with_numbers(futures: KucoinFuturesAdapter) -> None:
    """The full snapshot sends prices and contract counts as numbers, ``ts`` in ns."""
    futures.parse("c", change(1697895963340, "66968,buy,3", "XBTUSDM"), T)
    out = futures.on_http(snapshot_request("XBTUSDM", "BTC/USD:BTC"), 200, raw("level2_snapshot.json").encode(), T)
    assert out == [
        Book(
            "kucoin_futures",
            "BTC/USD:BTC",
            1729168101.216,
            T,
            True,
            [(66968.0, 2.0), (66964.8, 25596.0)],
            [(66968.1, 13501.0), (66968.7, 2032.0)],
            1697895963339,
        ),
        Book("kucoin_futures", "BTC/USD:BTC", 1551770400.0, T, False, [(66968.0, 3.0)], [], 1697895963340),
    ]


def test_skipped_sequence_resyncs_that_contract_only(futures: KucoinFuturesAdapter) -> None:
    """ "If the sequence of the newly pushed message does not line up": that book resyncs, reason ``gap``."""
    for native, symbol in (("XBTUSDTM", "BTC/USDT:USDT"), ("XBTUSDM", "BTC/USD:BTC")):
        futures.parse("c", change(11, "100,buy,1", native), T)
        futures.on_http(snapshot_request(native, symbol), 200, snapshot_body(10, [[100, 1]], [[101, 1]]), T)
    out = futures.parse("c", change(13, "100,buy,2"), T)
    assert [(type(e), getattr(e, "reason", None)) for e in out] == [(Resync, "gap"), (RestRequest, None)]
    assert (out[0].symbol, out[0].detail) == ("BTC/USDT:USDT", "expected U<=12, got U=13")
    other = futures.book("BTC/USD:BTC")
    assert other is not None and other.synced and other.sequence == 11


@pytest.mark.parametrize("text", ["NaN,buy,1", "100,buy,-1", "100,up,1", "100,buy", "1e400,sell,1", "x,sell,1"])
def test_bad_changes_are_errors(futures: KucoinFuturesAdapter, text: str) -> None:
    """A change that is not ``price,buy|sell,size`` with a real price and size is an error, not a level."""
    assert [e.reason for e in futures.receive("c", change(5, text), T)] == ["malformed"]
    assert futures.book("BTC/USDT:USDT") is None


# -- funding, mark and open interest -------------------------------------------------------------


def test_mark_and_index_then_predicted_funding(futures: KucoinFuturesAdapter) -> None:
    """``mark.index.price`` and a 1-minute ``funding.rate`` (the predicted rate) merge into one ticker."""
    mark = DerivativeTicker("kucoin_futures", "BTC/USDT:USDT", 1731899129.0, T, 90445.02, 90445.02)
    assert futures.parse("c", raw("instrument_mark.json"), T) == [mark]
    assert futures.parse("c", raw("instrument_mark.json"), T) == []  # nothing changed
    assert futures.parse("c", raw("instrument_funding.json"), T) == [
        DerivativeTicker(
            "kucoin_futures", "BTC/USDT:USDT", 1551770400.0, T, 90445.02, 90445.02, predicted_funding_rate=-0.002966
        )
    ]
    settled = edited("instrument_funding.json", granularity=28800000, fundingRate=0.0001)
    (event,) = futures.parse("c", settled, T)
    assert (event.funding_rate, event.predicted_funding_rate) == (0.0001, -0.002966)


def test_contract_poll_gives_open_interest_in_contracts(futures: KucoinFuturesAdapter) -> None:
    """``GET /api/v1/contracts/{symbol}`` every minute: open interest in contracts ("unit: lots"), its USDT
    value at the mark, funding and predicted rates, the next funding from the ms left, the last price."""
    (poll,) = futures.polls([Subscription("BTC/USDT:USDT", "funding"), Subscription("BTC/USDT:USDT", "book")])
    assert poll == Poll(RestRequest(f"{REST}/api/v1/contracts/XBTUSDTM", "poll", 3, "BTC/USDT:USDT"), 60.0)
    assert futures.poll_request(poll.request.url) == RestRequest(poll.request.url, "poll", 3)
    assert futures.poll_request(f"{REST}/api/v1/contracts/active") is None
    assert futures.answer(poll.request, 200, raw("contract.json").encode(), T) == [
        DerivativeTicker(
            "kucoin_futures",
            "BTC/USDT:USDT",
            None,
            T,
            mark_price=86378.69,
            index_price=86382.64,
            funding_rate=5.2e-05,
            # 1700000000.5 + 17752.926 s, on the minute
            next_funding_time=1700017740.0,
            predicted_funding_rate=8.3e-05,
            open_interest=6748176.0,
            open_interest_value=6748176 * 0.001 * 86378.69,
            last_price=86364.0,
        )
    ]


def test_inverse_open_interest_value_is_in_usd(futures: KucoinFuturesAdapter) -> None:
    """An inverse contract is worth 1 USD: open interest in contracts is its USD value."""
    body = json.loads(raw("contracts_active.json"))
    answer = json.dumps({"code": "200000", "data": body["data"][1]}).encode()
    request = RestRequest(f"{REST}/api/v1/contracts/XBTUSDM", "poll", 3)
    (event,) = futures.answer(request, 200, answer, T)
    assert (event.symbol, event.open_interest, event.open_interest_value) == ("BTC/USD:BTC", 25963040.0, 25963040.0)


def test_contract_poll_failures_are_errors(futures: KucoinFuturesAdapter) -> None:
    """A refused, broken or unknown contract answer is an error event."""
    request = RestRequest(f"{REST}/api/v1/contracts/XBTUSDTM", "poll", 3, "BTC/USDT:USDT")
    assert [e.reason for e in futures.answer(request, 500, b"", T)] == ["http_status"]
    assert [e.reason for e in futures.answer(request, 200, b'{"code":"404000"}', T)] == ["malformed"]
    unknown = raw("contract.json").replace("XBTUSDTM", "NOPEUSDTM").encode()
    assert [e.reason for e in futures.answer(request, 200, unknown, T)] == ["unknown_symbol"]


# -- control and unused -------------------------------------------------------------------------


def test_unused_futures_topics_are_counted(futures: KucoinFuturesAdapter) -> None:
    """The 24 h snapshot and depth snapshots are KuCoin Futures channels this adapter does not use."""
    assert futures.receive("c", raw("futures_snapshot_24h.json"), T) == []
    assert futures.stats["ignored./contractMarket/snapshot"] == 1
    depth = raw("level2_depth5.json").replace(
        "/spotMarket/level2Depth5:BTC-USDT", "/contractMarket/level2Depth5:XBTUSDTM"
    )
    assert futures.receive("c", depth, T) == []
    spot_topic = futures.receive("c", raw("match.json"), T)
    assert [e.reason for e in spot_topic] == ["unknown_topic"]
