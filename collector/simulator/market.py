"""The exchange-neutral synthetic market: one random-walk L2 book with trades per symbol.

Nothing here knows a wire format. Prices and sizes are integers (ticks and lots) so the
book is exact; a wire module turns them into the exchange's decimal strings with
:meth:`InstrumentSpec.price` and :meth:`InstrumentSpec.size`. Each :meth:`SymbolMarket.step`
changes the book a little (trades take liquidity at the touch, the mid walks, sizes
change, levels come and go) and returns an :class:`Update` with the absolute new size of
every changed level, the update-id range that covers them, the trades and the candles.
Exchange models that report tickers keep :class:`DayStats` and :class:`TickDirection`
beside it, fed with each step's fills.

The model never reads the clock or the global random state: the caller passes the
time, and each symbol draws from its own ``random.Random`` seeded from the simulator
seed, so a run is reproducible and one symbol's stream does not depend on which other
symbols are configured.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import repeat

__all__ = [
    "INTERVAL_MS",
    "CandleState",
    "DayStats",
    "Fill",
    "InstrumentSpec",
    "SymbolMarket",
    "TickDirection",
    "Update",
    "counter_value",
    "split_symbol",
    "start_price",
]

INTERVAL_MS: dict[str, int] = {
    "1s": 1_000,
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "6h": 21_600_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
}
"""Candle intervals the model can aggregate, in ms; all are aligned to the Unix epoch (UTC)."""

_MEMO_LIMIT = 50_000  # memoised price/size texts per instrument; the memo is cleared when full

# Rough price levels so synthetic books look familiar; unknown bases get a seeded price.
_PRICES = {
    "BTC": 60_000.0,
    "ETH": 3_000.0,
    "BNB": 600.0,
    "SOL": 150.0,
    "XRP": 0.6,
    "DOGE": 0.15,
    "ADA": 0.45,
    "USDT": 1.0,
    "USDC": 1.0,
}


def split_symbol(symbol: str) -> tuple[str, str, str | None, str | None]:
    """``BTC/USDT:USDT-250926`` -> ``("BTC", "USDT", "USDT", "250926")``; spot has no settle or expiry."""
    pair, _, rest = symbol.partition(":")
    base, slash, quote = pair.partition("/")
    if not (base and slash and quote):
        raise ValueError(f"not a unified symbol: {symbol!r} (use BASE/QUOTE, BASE/QUOTE:SETTLE[-YYMMDD])")
    settle, _, expiry = rest.partition("-")
    return base, quote, settle or None, expiry or None


def start_price(base: str, rng: random.Random) -> float:
    """A plausible starting price for ``base`` (a seeded 5..500 for unknown assets)."""
    return _PRICES.get(base) or round(5.0 * 100.0 ** rng.random(), 2)


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """One simulated instrument. Ticks are ``10**-price_decimals``, lots ``10**-size_decimals``.

    ``native`` is the exchange's id on the wire; ``mean_lots`` the typical level size in
    lots; ``contract_size`` the quote value of one contract for inverse contracts (1 otherwise).
    """

    symbol: str
    native: str
    base: str
    quote: str
    settle: str | None
    expiry: str | None
    price_decimals: int
    size_decimals: int
    start_ticks: int
    mean_lots: int
    contract_size: float = 1.0
    text_decimals: int | None = None  # decimals printed on the wire (Binance spot pads to 8)

    # Formatting is the hot path of encoding: scales and format strings are computed once,
    # and texts are memoised (a walk revisits the same prices; sizes repeat too).
    _price_texts: dict[int, str] = field(init=False, repr=False, compare=False)
    _size_texts: dict[int, str] = field(init=False, repr=False, compare=False)
    _price_scale: float = field(init=False, repr=False, compare=False)
    _size_scale: float = field(init=False, repr=False, compare=False)
    _price_fmt: str = field(init=False, repr=False, compare=False)
    _size_fmt: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        text = self.text_decimals
        object.__setattr__(self, "_price_texts", {})
        object.__setattr__(self, "_size_texts", {})
        object.__setattr__(self, "_price_scale", float(10**self.price_decimals))
        object.__setattr__(self, "_size_scale", float(10**self.size_decimals))
        object.__setattr__(self, "_price_fmt", f"%.{self.price_decimals if text is None else text}f")
        object.__setattr__(self, "_size_fmt", f"%.{self.size_decimals if text is None else text}f")

    def price(self, ticks: int) -> str:
        """The wire string of a price given in ticks."""
        text = self._price_texts.get(ticks)
        if text is None:
            if len(self._price_texts) >= _MEMO_LIMIT:
                self._price_texts.clear()
            # ticks / 10**d is the double nearest the decimal, so printing d or more places is exact.
            text = self._price_texts[ticks] = self._price_fmt % (ticks / self._price_scale)
        return text

    def size(self, lots: int) -> str:
        """The wire string of a size given in lots."""
        text = self._size_texts.get(lots)
        if text is None:
            if len(self._size_texts) >= _MEMO_LIMIT:
                self._size_texts.clear()
            text = self._size_texts[lots] = self._size_fmt % (lots / self._size_scale)
        return text

    @property
    def tick_size(self) -> str:
        """The price tick as a wire string (``"0.01"``)."""
        return self.price(1)

    @property
    def step_size(self) -> str:
        """The size step as a wire string."""
        return self.size(1)


@dataclass(slots=True)
class Fill:
    """One aggregated trade: a taker order filled at one price (``buyer_maker`` means the taker sold)."""

    agg_id: int
    first_id: int
    last_id: int
    ticks: int
    lots: int
    buyer_maker: bool
    time_ms: int


@dataclass(slots=True)
class CandleState:
    """One OHLCV bar ``[start_ms, start_ms + interval)``; prices in ticks, volumes in lots."""

    interval: str
    start_ms: int
    end_ms: int
    open: int
    high: int
    low: int
    close: int
    lots: int = 0
    # Volume in the other asset: quote units (price * size) for linear instruments, base
    # units (contracts * contract_size / price) for inverse ones. Float: it is only printed.
    counter_volume: float = 0.0
    buy_lots: int = 0
    buy_counter_volume: float = 0.0
    trades: int = 0
    first_trade: int = -1
    last_trade: int = -1


@dataclass(slots=True)
class Update:
    """What one :meth:`SymbolMarket.step` changed.

    ``bids``/``asks`` are ``(ticks, lots)`` with the absolute new size (0 removes), best
    first; ``first_id..last_id`` are the update ids covering them and ``prev_id`` the
    previous update's ``last_id`` (``first_id`` is ``None`` when the book did not change).
    ``candles`` holds ``(candle, closed)`` pairs: bars that just closed, then bars that
    traded in this step. ``best`` is the touch after the step and ``bbo_changed`` whether
    it moved. Encode the update before the next step, which mutates the open bars.
    """

    time_ms: int
    first_id: int | None
    last_id: int
    prev_id: int
    bids: list[tuple[int, int]]
    asks: list[tuple[int, int]]
    fills: list[Fill]
    candles: list[tuple[CandleState, bool]]
    best: tuple[int, int, int, int]  # (bid ticks, bid lots, ask ticks, ask lots) after the step
    bbo_changed: bool


def _counter_scale(spec: InstrumentSpec, inverse: bool) -> float:
    """What turns ``ticks * lots`` (``lots / ticks`` when ``inverse``) into a volume in the other asset."""
    if inverse:
        return spec.contract_size * 10.0**spec.price_decimals / 10.0**spec.size_decimals
    return 1.0 / 10.0 ** (spec.price_decimals + spec.size_decimals)


def counter_value(spec: InstrumentSpec, *, inverse: bool = False) -> Callable[[Fill], float]:
    """A fill's volume in the other asset, as :attr:`CandleState.counter_volume` sums it: quote
    units for linear instruments, base units for ``inverse`` ones. Map it over a step's fills
    for :meth:`DayStats.add`."""
    scale = _counter_scale(spec, inverse)
    if inverse:
        return lambda f: f.lots * scale / f.ticks
    return lambda f: f.ticks * f.lots * scale


class DayStats:
    """A ticker's 24 h statistics; the simulation's start stands in for "24 h ago".

    Prices are ticks, ``lots`` the model's lots, ``fills`` the fills counted and
    ``counter_volume`` the volume in the other asset, in whatever unit the exchange reports
    it. Call :meth:`add` with every step's fills, then print the fields in a ticker.
    """

    __slots__ = ("counter_volume", "fills", "high", "lots", "low", "open_ticks")

    def __init__(self, start_ticks: int) -> None:
        self.open_ticks = self.high = self.low = start_ticks
        self.lots = 0
        self.fills = 0
        self.counter_volume = 0.0

    def add(self, fills: Sequence[Fill], values: Iterable[float] | None = None) -> float:
        """Count one step's ``fills``; ``values`` are their volumes in the other asset, in order
        (:func:`counter_value` gives the usual one; none: the exchange reports no such volume).
        Returns the step's volume in the other asset."""
        step = 0.0
        for f, value in zip(fills, repeat(0.0, len(fills)) if values is None else values, strict=True):
            self.high = max(self.high, f.ticks)
            self.low = min(self.low, f.ticks)
            self.lots += f.lots
            self.fills += 1
            self.counter_volume += value  # fill by fill: a ticker prints the running float sum
            step += value
        return step


class TickDirection:
    """Each trade's price against the trade before: up, down, or unchanged after an up or a down.

    ``words`` are the exchange's names for those four, in that order; ``unmoved`` (default:
    the unchanged-after-up word) is its word while no trade has moved the price yet. Call
    :meth:`advance` with every step's fills; :attr:`last` is the word of the latest trade.
    """

    __slots__ = ("_down", "_previous", "_up", "_zero", "last")

    def __init__(self, start_ticks: int, words: tuple[str, str, str, str], unmoved: str | None = None) -> None:
        up, down, zero_up, zero_down = words
        self._up = up
        self._down = down
        self._zero = {up: zero_up, down: zero_down}  # a repeated price keeps the last move's side
        self._previous = start_ticks
        self.last = zero_up if unmoved is None else unmoved

    def advance(self, fills: Iterable[Fill]) -> list[str]:
        """The direction of each of ``fills``, in order, against the trade before it."""
        out: list[str] = []
        for f in fills:
            if f.ticks > self._previous:
                self.last = self._up
            elif f.ticks < self._previous:
                self.last = self._down
            else:
                self.last = self._zero.get(self.last, self.last)
            self._previous = f.ticks
            out.append(self.last)
        return out


class SymbolMarket:
    """The simulated book, trades and candles of one instrument.

    Call :meth:`step` once per market tick, read :meth:`levels` for a REST snapshot and
    :attr:`last_id` for its update id. ``id_gap`` > 0 leaves up to that many unused ids
    between updates (Binance futures ids are not contiguous; only ``pu`` links them).
    """

    def __init__(
        self,
        spec: InstrumentSpec,
        rng: random.Random,
        *,
        depth: int = 40,
        id_gap: int = 0,
        intervals: tuple[str, ...] = ("1m",),
        start_id: int = 1_000_000,
    ) -> None:
        self.spec = spec
        self.depth = depth
        self.id_gap = id_gap
        self.last_id = start_id
        self.bids: dict[int, int] = {}
        self.asks: dict[int, int] = {}
        self._bid_px: list[int] = []  # ascending; best bid is the last
        self._ask_px: list[int] = []  # ascending; best ask is the first
        self._rng = rng
        self._center = float(spec.start_ticks)
        # Per-step mid volatility and the mean gap between levels, in ticks.
        self._sigma = 1.5
        self._gap = 1.8
        self._window = int(depth * (1.0 + self._gap) * 1.5)
        self._agg_id = 100_000
        self._trade_id = 500_000
        self.last_price = spec.start_ticks
        self._candles: dict[str, CandleState | None] = {}
        for interval in intervals:
            self.track(interval)
        self._seed_book()

    # -- public ---------------------------------------------------------------------------------

    def track(self, interval: str) -> None:
        """Start aggregating candles of ``interval`` (a key of :data:`INTERVAL_MS`) from the next step."""
        if interval not in INTERVAL_MS:
            raise ValueError(f"no candle interval {interval!r}; use one of {', '.join(INTERVAL_MS)}")
        self._candles.setdefault(interval, None)

    def tracks(self, interval: str) -> bool:
        """Whether candles of ``interval`` are being aggregated."""
        return interval in self._candles

    def levels(self, limit: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """The best ``limit`` levels per side as ``(ticks, lots)``, best first."""
        bids = self.bids
        asks = self.asks
        return (
            [(p, bids[p]) for p in reversed(self._bid_px[-limit:])] if limit > 0 else [],
            [(p, asks[p]) for p in self._ask_px[:limit]],
        )

    def best(self) -> tuple[int, int, int, int]:
        """``(bid ticks, bid lots, ask ticks, ask lots)`` at the touch (the book is never empty)."""
        b = self._bid_px[-1]
        a = self._ask_px[0]
        return b, self.bids[b], a, self.asks[a]

    def step(self, time_ms: int) -> Update:
        """Advance the market by one tick at ``time_ms`` and return what changed."""
        rng = self._rng
        touched_b: dict[int, int] = {}
        touched_a: dict[int, int] = {}
        before = self.best()
        fills = self._trade(time_ms, touched_b, touched_a)
        self._move(touched_b, touched_a)
        self._churn(self.bids, self._bid_px, touched_b, -1)
        self._churn(self.asks, self._ask_px, touched_a, 1)
        bids = sorted(
            ((p, self.bids.get(p, 0)) for p, old in touched_b.items() if self.bids.get(p, 0) != old), reverse=True
        )
        asks = sorted((p, self.asks.get(p, 0)) for p, old in touched_a.items() if self.asks.get(p, 0) != old)
        prev = self.last_id
        first: int | None = None
        n = len(bids) + len(asks)
        if n:
            first = prev + 1 + (rng.randrange(self.id_gap + 1) if self.id_gap else 0)
            self.last_id = first + n - 1
        candles = self._aggregate(time_ms, fills)
        after = self.best()
        return Update(time_ms, first, self.last_id, prev, bids, asks, fills, candles, after, after != before)

    # -- book dynamics --------------------------------------------------------------------------

    def _lots(self) -> int:
        return 1 + int(self._rng.expovariate(1.0) * self.spec.mean_lots)

    def _seed_book(self) -> None:
        top = math.floor(self._center - 0.5)
        bid, ask = top, top + 1
        for _ in range(self.depth):
            self._put(self.bids, self._bid_px, None, bid, self._lots())
            self._put(self.asks, self._ask_px, None, ask, self._lots())
            bid -= 1 + int(self._rng.expovariate(1.0 / self._gap))
            ask += 1 + int(self._rng.expovariate(1.0 / self._gap))

    @staticmethod
    def _put(side: dict[int, int], prices: list[int], touched: dict[int, int] | None, tick: int, lots: int) -> None:
        """Set one level (0 removes it), remembering its size before this step in ``touched``."""
        if touched is not None and tick not in touched:
            touched[tick] = side.get(tick, 0)
        if lots > 0:
            if tick not in side:
                insort(prices, tick)
            side[tick] = lots
        elif side.pop(tick, None) is not None:
            del prices[bisect_left(prices, tick)]

    def _trade(self, time_ms: int, touched_b: dict[int, int], touched_a: dict[int, int]) -> list[Fill]:
        rng = self._rng
        r = rng.random()
        count = 0 if r < 0.45 else 1 if r < 0.85 else 2 if r < 0.95 else 3
        fills: list[Fill] = []
        for _ in range(count):
            # A buy takes the best ask, a sell the best bid; the taken size leaves the book.
            buy = rng.random() < 0.5
            side, prices, touched = (
                (self.asks, self._ask_px, touched_a) if buy else (self.bids, self._bid_px, touched_b)
            )
            if len(prices) < 2:
                break
            tick = prices[0] if buy else prices[-1]
            have = side[tick]
            lots = min(have, 1 + int(rng.expovariate(3.0) * self.spec.mean_lots))
            self._put(side, prices, touched, tick, have - lots)
            first = self._trade_id + 1
            self._trade_id += 1 + int(rng.expovariate(1.0))
            self._agg_id += 1
            fills.append(Fill(self._agg_id, first, self._trade_id, tick, lots, not buy, time_ms))
            self.last_price = tick
        return fills

    def _move(self, touched_b: dict[int, int], touched_a: dict[int, int]) -> None:
        rng = self._rng
        self._center += rng.gauss(0.0, self._sigma)
        bid_top = math.floor(self._center - 0.5)
        ask_top = bid_top + 1 + (rng.random() < 0.3)
        # Liquidity the mid moved through is gone: this is what keeps the book uncrossed.
        bid_px, ask_px = self._bid_px, self._ask_px
        while bid_px and bid_px[-1] > bid_top:
            self._put(self.bids, bid_px, touched_b, bid_px[-1], 0)
        while ask_px and ask_px[0] < ask_top:
            self._put(self.asks, ask_px, touched_a, ask_px[0], 0)
        # Quotes follow the mid: keep a level within two ticks of each side's target.
        if not bid_px or bid_px[-1] < bid_top - 2:
            self._put(self.bids, bid_px, touched_b, bid_top, self._lots())
        if not ask_px or ask_px[0] > ask_top + 2:
            self._put(self.asks, ask_px, touched_a, ask_top, self._lots())

    def _churn(self, side: dict[int, int], prices: list[int], touched: dict[int, int], away: int) -> None:
        """Resize, cancel and add levels on one side; ``away`` is +1 for asks (deeper = higher), -1 for bids."""
        rng = self._rng
        n = len(prices)
        for _ in range(1 + int(rng.random() * 3)):
            # Most activity is near the touch: square a uniform to bias the depth index.
            depth_index = int(n * rng.random() ** 2)
            tick = prices[depth_index] if away > 0 else prices[n - 1 - depth_index]
            self._put(side, prices, touched, tick, self._lots())
        if n > 2 and rng.random() < 0.3:
            # Cancel a level other than the touch so the side is never emptied.
            k = 1 + int(rng.random() * (n - 1))
            tick = prices[k] if away > 0 else prices[n - 1 - k]
            self._put(side, prices, touched, tick, 0)
        if rng.random() < 0.4:
            best = prices[0] if away > 0 else prices[-1]
            self._put(side, prices, touched, best + away * (1 + int(rng.random() * 30)), self._lots())
        # Levels the mid has walked away from are cancelled, as quotes far off the market are.
        best = prices[0] if away > 0 else prices[-1]
        while len(prices) > self.depth + 8 or abs((prices[-1] if away > 0 else prices[0]) - best) > self._window:
            self._put(side, prices, touched, prices[-1] if away > 0 else prices[0], 0)
        while len(prices) < self.depth - 8:
            # Refill inside the window so a new level is not trimmed again on the next step.
            self._put(side, prices, touched, best + away * (1 + int(rng.random() * self._window)), self._lots())

    # -- candles --------------------------------------------------------------------------------

    def _aggregate(self, time_ms: int, fills: list[Fill]) -> list[tuple[CandleState, bool]]:
        out: list[tuple[CandleState, bool]] = []
        candles = self._candles
        spec = self.spec
        inverse = spec.contract_size != 1.0
        scale = _counter_scale(spec, inverse)
        for interval, candle in candles.items():
            if candle is None or time_ms >= candle.end_ms:
                if candle is not None:
                    out.append((candle, True))
                length = INTERVAL_MS[interval]
                start = time_ms - time_ms % length
                px = self.last_price
                candle = candles[interval] = CandleState(interval, start, start + length, px, px, px, px)
            if fills:
                for f in fills:
                    tick = f.ticks
                    if tick > candle.high:
                        candle.high = tick
                    if tick < candle.low:
                        candle.low = tick
                    if candle.trades == 0:
                        # A bar opens at its first trade; until then it showed the last close.
                        candle.open = candle.high = candle.low = tick
                        candle.first_trade = f.first_id
                    candle.last_trade = f.last_id
                    candle.close = tick
                    candle.trades += f.last_id - f.first_id + 1
                    candle.lots += f.lots
                    # counter_value() inlined: this loop runs per interval per fill.
                    counter = f.lots * scale / tick if inverse else tick * f.lots * scale
                    candle.counter_volume += counter
                    if not f.buyer_maker:
                        candle.buy_lots += f.lots
                        candle.buy_counter_volume += counter
                out.append((candle, False))
        return out
