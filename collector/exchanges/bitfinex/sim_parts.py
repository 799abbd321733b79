"""Pieces of the Bitfinex simulator wire format (:mod:`.sim`): markets, published books, sessions.

- :class:`BitfinexMarket` keeps what the ticker reports (daily high, low, volume from the
  start of the simulation) and the recent trades a ``trades`` snapshot repeats.
- :class:`BookView` is what one ``book`` subscription length has published: the best
  ``len`` levels. Levels leaving the window are deleted (``COUNT`` 0) and levels entering
  it are sent, deletions first, so a client applying one level at a time never holds a
  crossed book.
- :class:`BitfinexSession` is one connection: its flags, channel ids, the ``SEQ_ALL``
  counter and which book diffs it has seen (a diff withheld by the ``GAP`` fault still
  took a sequence number, as a message lost in transit does).
- :class:`BookDiff` and :class:`BookChecksum` are the messages a session needs to number
  or to corrupt; the ``*_body`` functions write the channel payloads, numbers as
  JavaScript writes them.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...errors import UnknownSymbol
from ...simulator.market import Fill, InstrumentSpec, SymbolMarket, Update, split_symbol, start_price
from ...simulator.wire import Message, Session, hostile_json
from .channels import OB_CHECKSUM, SEQ_ALL
from .checksum import checksum_text, js_number, signed_crc32

__all__ = [
    "BitfinexMarket",
    "BitfinexSession",
    "BookChecksum",
    "BookDiff",
    "BookView",
    "Numbers",
    "hostile_frames",
    "instrument_spec",
    "json_numbers",
    "level_body",
    "status_body",
    "ticker_body",
    "trade_body",
]

_RECENT_TRADES = 30  # trades in the snapshot sent on subscribe
_CODES = {"USDT": "UST", "USDC": "UDC", "BCH": "BCHN"}  # unified currency -> Bitfinex code
_DOLLARS = frozenset({"USD", "USDT", "USDC", "EUR", "GBP"})


class Numbers:
    """One instrument's prices and sizes as Bitfinex writes them: JSON numbers, JavaScript style."""

    __slots__ = ("_price_scale", "_size_scale")

    def __init__(self, spec: InstrumentSpec) -> None:
        self._price_scale = float(10**spec.price_decimals)
        self._size_scale = float(10**spec.size_decimals)

    def price(self, ticks: int) -> float:
        """The double a client parses (a correctly rounded division is the decimal's nearest double)."""
        return ticks / self._price_scale

    def size(self, lots: int) -> float:
        """A size in base units as a float."""
        return lots / self._size_scale

    def price_text(self, ticks: int) -> str:
        """``60000``, ``3000.1``: no trailing zeros, as ``JSON.stringify`` writes."""
        return js_number(ticks / self._price_scale)

    def size_text(self, lots: int) -> str:
        """A signed amount's text (negative lots for asks and sells)."""
        return js_number(lots / self._size_scale)


class BitfinexMarket(SymbolMarket):
    """A :class:`SymbolMarket` that also keeps the ticker's daily statistics and the recent trades."""

    def __init__(self, spec: InstrumentSpec, rng: random.Random, *, depth: int, start_id: int) -> None:
        super().__init__(spec, rng, depth=depth, start_id=start_id)
        self.high = self.low = spec.start_ticks
        self.open_ticks = spec.start_ticks
        self.volume_lots = 0
        self.trades: deque[Fill] = deque(maxlen=_RECENT_TRADES)
        self.trade_ids = 1_400_000_000  # added to the model's trade numbers

    def step(self, time_ms: int) -> Update:
        """Advance one tick (see :meth:`SymbolMarket.step`) and update the statistics."""
        update = super().step(time_ms)
        for f in update.fills:
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.volume_lots += f.lots
            self.trades.append(f)
        return update


@dataclass(slots=True)
class BookView:
    """The best ``depth`` levels one book subscription length has published, in ticks and lots."""

    depth: int
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)

    def advance(self, market: SymbolMarket) -> list[tuple[int, int, bool]]:
        """Catch up with the market: ``(ticks, lots, is_bid)`` changes, deletions (lots 0) first."""
        new_bids, new_asks = market.levels(self.depth)
        bids, asks = dict(new_bids), dict(new_asks)
        gone = [(p, 0, True) for p in self.bids if p not in bids]
        gone += [(p, 0, False) for p in self.asks if p not in asks]
        changed = [(p, q, True) for p, q in new_bids if self.bids.get(p) != q]
        changed += [(p, q, False) for p, q in new_asks if self.asks.get(p) != q]
        self.bids, self.asks = bids, asks
        return gone + changed

    def best(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Both sides best first."""
        return sorted(self.bids.items(), reverse=True), sorted(self.asks.items())

    def checksum(self, numbers: Numbers) -> int:
        """The ``OB_CHECKSUM`` value of the published book."""
        bids, asks = self.best()
        return signed_crc32(
            checksum_text(
                [(numbers.price(p), numbers.size(q)) for p, q in bids[:25]],
                [(numbers.price(p), numbers.size(q)) for p, q in asks[:25]],
            )
        )


@dataclass(frozen=True, slots=True)
class BookDiff(Message):
    """One level of a book channel; ``serial`` counts the stream's diffs, ``corrupted`` spoils its checksum."""

    serial: int = 0
    corrupted: bool = False


@dataclass(frozen=True, slots=True)
class BookChecksum(Message):
    """``"cs", CHECKSUM`` after a book update, sent only to connections that set ``OB_CHECKSUM``."""

    value: int = 0


class BitfinexSession(Session):
    """One connection: flags from ``conf``, channel ids, the ``SEQ_ALL`` counter, book diffs seen."""

    def __init__(self, route: str) -> None:
        super().__init__(route)
        self.flags = 0
        self.seq = 0
        self.greeted = False  # the info event goes out before the first reply
        self.chan_of: dict[str, int] = {}  # stream -> channel id
        self.serials: dict[str, int] = {}  # book stream -> serial of the last diff due to it
        self.spoiled: set[str] = set()  # book streams whose next checksum is wrong
        self.active: set[str] = set()  # streams with a message since the last heartbeat

    def frame(self, chan_id: int, body: str) -> str:
        """``[CHAN_ID, body]``, with the connection's next sequence number under ``SEQ_ALL``."""
        if self.flags & SEQ_ALL:
            self.seq += 1
            return f"[{chan_id},{body},{self.seq}]"
        return f"[{chan_id},{body}]"

    def deliver(self, message: Message) -> str | None:
        """The frame this connection receives for ``message`` (``None``: not for it)."""
        stream = message.stream
        chan_id = self.chan_of.get(stream)
        if chan_id is None:
            return None
        if isinstance(message, BookChecksum):
            if not self.flags & OB_CHECKSUM:
                return None
            value = message.value
            if stream in self.spoiled:
                self.spoiled.discard(stream)
                value = value + 1 if value < 2**31 - 1 else value - 1
            self.active.add(stream)
            return self.frame(chan_id, f'"cs",{value}')
        if isinstance(message, BookDiff):
            lost = message.serial - self.serials.get(stream, message.serial - 1) - 1
            if lost > 0 and self.flags & SEQ_ALL:
                self.seq += lost  # withheld on the way: their numbers were taken all the same
            self.serials[stream] = message.serial
            if message.corrupted:
                self.spoiled.add(stream)
        self.active.add(stream)
        text = message.text
        return self.frame(chan_id, text if isinstance(text, str) else text.decode())

    def heartbeats(self) -> list[str]:
        """``[CHAN_ID, "hb"]`` for every channel that sent nothing since the last call."""
        frames = [self.frame(chan_id, '"hb"') for stream, chan_id in self.chan_of.items() if stream not in self.active]
        self.active.clear()
        return frames


def level_body(nums: Numbers, ticks: int, lots: int, is_bid: bool) -> str:
    """``[PRICE, COUNT, AMOUNT]``; a deleted level is ``COUNT`` 0 with ``AMOUNT`` 1 (bids) or -1 (asks)."""
    if not lots:
        return f"[{nums.price_text(ticks)},0,{1 if is_bid else -1}]"
    count = 1 + (ticks + lots) % 9  # orders at the level: the model has no orders, any positive count
    return f"[{nums.price_text(ticks)},{count},{nums.size_text(lots if is_bid else -lots)}]"


def trade_body(nums: Numbers, f: Fill, ids: int) -> str:
    """``[ID, MTS, AMOUNT, PRICE]``: the amount is negative when the taker sold; ids from the market's block."""
    amount = nums.size_text(-f.lots if f.buyer_maker else f.lots)
    return f"[{ids + f.agg_id},{f.time_ms},{amount},{nums.price_text(f.ticks)}]"


def ticker_body(market: BitfinexMarket, nums: Numbers) -> str:
    """``[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_RELATIVE, LAST_PRICE, VOLUME, HIGH, LOW]``."""
    bids, asks = market.levels(25)
    change = market.last_price - market.open_ticks
    return json_numbers(
        [
            nums.price(bids[0][0]),
            nums.size(sum(q for _, q in bids)),  # "Sum of the 25 highest bid sizes"
            nums.price(asks[0][0]),
            nums.size(sum(q for _, q in asks)),
            nums.price(change),
            round(change / market.open_ticks, 4),
            nums.price(market.last_price),
            nums.size(market.volume_lots),
            nums.price(market.high),
            nums.price(market.low),
        ]
    )


def status_body(market: SymbolMarket, nums: Numbers, now_ms: int) -> str:
    """A ``deriv:`` status array: mark and index at the mid, a fixed funding rate and open interest."""
    bid, _, ask, _ = market.best()
    mid = nums.price((bid + ask) // 2)
    funding_at = now_ms - now_ms % 28_800_000 + 28_800_000
    interest = nums.size(market.spec.mean_lots * 2000)
    # [MTS, _, DERIV_PRICE, SPOT_PRICE, _, INSURANCE_FUND, _, NEXT_FUNDING_MTS, NEXT_FUNDING_ACCRUED,
    #  NEXT_FUNDING_STEP, _, CURRENT_FUNDING, _, _, MARK_PRICE, _, _, OPEN_INTEREST, _, _, _, CLAMP_MIN, CLAMP_MAX]
    fields = [now_ms, None, mid, mid, None, 1396531.67460709, None, funding_at, 0.0001056, 6, None, 0.0001]
    return json_numbers([*fields, None, None, mid, None, None, interest, None, None, None, None, 0.3])


def json_numbers(values: Sequence[float | int | None]) -> str:
    """A JSON array of numbers written as JavaScript does (``null`` for placeholders)."""
    return "[" + ",".join("null" if v is None else str(v) if type(v) is int else js_number(v) for v in values) + "]"


def hostile_frames(
    spec: InstrumentSpec, nums: Numbers, now_ms: int, trades: int, ticker: int, book: int
) -> list[tuple[str | bytes, str]]:
    """Frames on the ``trades``, ``ticker`` and ``book`` channel ids of ``spec`` with impossible values."""
    price, size = nums.price(spec.start_ticks), nums.size(spec.mean_lots)

    def te(*trade: Any, tag: str = "te") -> str:
        return hostile_json([trades, tag, list(trade)])

    def level(*entry: Any) -> str:
        return hostile_json([book, list(entry)])

    def tick(**changes: Any) -> str:
        fields = {"bid": price, "bsz": size, "ask": price * 1.01, "asz": size, "chg": 1.0, "rel": 0.01}
        fields |= {"last": price, "vol": size, "high": price, "low": price} | changes
        return hostile_json([ticker, list(fields.values())])

    return [
        (te(1, now_ms, size, "NaN"), "NaN price"),
        (te(1, now_ms, size, "Infinity"), "infinite price"),
        (te(1, now_ms, size, 0), "zero price"),
        (te(1, now_ms, size, -price), "negative price"),
        (te(1, now_ms, 0, price), "zero amount: no taker side"),
        (te(1, now_ms, "NaN", price), "NaN amount"),
        (te(1, now_ms, size, [price]), "price of the wrong type"),
        (te(1, 2**70, size, price), "time beyond 64 bits"),
        (te(-5, now_ms, size, price), "negative trade id"),
        (te(1, now_ms, size, price, tag="xx"), "unknown trade event"),
        (hostile_json([trades, [[1, now_ms, size, "-1"]]]), "negative price in a trades snapshot"),
        (level("NaN", 1, size), "NaN book price"),
        (level(price, 1, 0), "book amount 0 with orders: no side"),
        (level(price, -1, size), "negative order count"),
        (level(price, 1, 1e400), "infinite book amount"),
        (hostile_json([book, [[price, 1, size], [-price, 1, -size]]]), "negative price in a book snapshot"),
        (hostile_json([book, "cs", 2**40]), "checksum beyond 32 bits"),
        (hostile_json([book, "hb", 2**70]), "heartbeat sequence beyond 64 bits"),
        (tick(bid="NaN"), "NaN ticker bid"),
        (tick(vol=-1.5), "negative ticker volume"),
        (hostile_json([999_999_999, "te", [1, now_ms, size, price]]), "unknown channel id"),
        (hostile_json({"event": "subscribed", "channel": "book", "symbol": spec.native}), "subscribed without chanId"),
        (hostile_json({"event": "nonsense"}), "unknown event"),
    ]


def instrument_spec(symbol: str, seed: int) -> InstrumentSpec:
    """The simulated instrument of ``symbol``: ``BTC/USD`` (``tBTCUSD``), ``BTC/USDT`` (``tBTCUST``),
    ``DOGE/USD`` (``tDOGE:USD``), ``BTC/USDT:USDT`` (``tBTCF0:USTF0``)."""
    try:
        base, quote, settle, expiry = split_symbol(symbol)
    except ValueError as exc:
        raise UnknownSymbol(f"bitfinex: {exc}") from None
    if expiry is not None or (settle is not None and settle != quote) or base == quote:
        raise UnknownSymbol(f"bitfinex lists no {symbol!r}; symbols look like BTC/USD, BTC/USDT:USDT")
    b, q = _CODES.get(base, base), _CODES.get(quote, quote)
    if settle is not None:
        native = f"t{b}F0:{q}F0"  # perpetual legs end in F0
    elif len(b) == 3 and len(q) == 3:
        native = f"t{b}{q}"
    else:
        native = f"t{b}:{q}"  # "if either leg has more than 3 characters the pair is colon-separated"
    rng = random.Random(f"{seed}:bitfinex:{symbol}:spec")
    price = start_price(base, rng)
    if quote not in _DOLLARS:
        price /= start_price(quote, rng)
    magnitude = math.floor(math.log10(price))
    size_decimals = min(8, max(2, magnitude + 2))
    price_decimals = min(8, max(0, 4 - magnitude))  # P0: five significant figures
    return InstrumentSpec(
        symbol=symbol,
        native=native,
        base=base,
        quote=quote,
        settle=settle,
        expiry=None,
        price_decimals=price_decimals,
        size_decimals=size_decimals,
        start_ticks=round(price * 10**price_decimals),
        mean_lots=max(1, round(3000.0 / price * 10**size_decimals)),
    )
