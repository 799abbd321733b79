"""Deribit channel notifications into events: trades, liquidations, tickers, funding, books, candles.

The adapter (:mod:`.adapter`) routes each notification by its channel name and owns the
state these handlers read and update (markets, wanted channels, book owners, the last
derivative tickers, forming candles). Each handler decodes its frame once, typed.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from ...models import Candle, DerivativeTicker, Level, Liquidation, Side, Ticker, Trade
from ..base import Adapter, Channel, Output
from .instruments import Market
from .schemas import BookData, ChartData, GroupedBookData, Level3, Notification, PublicTrade, TickerData

__all__ = ["CHART_RESOLUTIONS", "ChannelParsers", "Handler", "levels"]

_trades = msgspec.json.Decoder(Notification[list[PublicTrade]], strict=False)
_ticker = msgspec.json.Decoder(Notification[TickerData], strict=False)
_book = msgspec.json.Decoder(Notification[BookData], strict=False)
_grouped = msgspec.json.Decoder(Notification[GroupedBookData], strict=False)
_chart = msgspec.json.Decoder(Notification[ChartData], strict=False)

CHART_RESOLUTIONS: dict[str, str] = {
    "1m": "1",
    "3m": "3",
    "5m": "5",
    "10m": "10",
    "15m": "15",
    "30m": "30",
    "1h": "60",
    "2h": "120",
    "3h": "180",
    "6h": "360",
    "12h": "720",
    "1d": "1D",
}
"""Unified candle interval -> ``chart.trades`` resolution ("1, 3, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1D")."""

_MINUTES = {"1m": 1, "3m": 3, "5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60, "2h": 120, "3h": 180}
_SECONDS = {interval: 60.0 * m for interval, m in (_MINUTES | {"6h": 360, "12h": 720, "1d": 1440}).items()}
_OTHER: dict[str, Side] = {"buy": "sell", "sell": "buy"}
_ROLES = frozenset({"M", "T", "MT"})
_DERIVATIVES = frozenset({"swap", "future"})
_INF = float("inf")

Handler = Callable[[str, str, str, str | bytes, float, Output], None]
"""``handler(conn, symbol, param, frame, received, out)``; ``param`` is the channel (books) or interval (candles)."""


def levels(changes: list[Level3]) -> list[Level]:
    """``[action, price, amount]`` changes as ``(price, size)`` levels: ``delete`` is size 0."""
    return [(price, 0.0 if action == "delete" else amount) for action, price, amount in changes]


class ChannelParsers(Adapter):
    """The notification handlers of :class:`~collector.exchanges.deribit.DeribitAdapter` (a mixin of it)."""

    _markets: dict[str, Market]
    """Unified symbol -> what its frames need."""
    _wants: dict[str, set[Channel]]
    """Unified symbol -> channels asked for; a symbol not in it (replay) gets every channel."""
    _book_owner: dict[str, tuple[str, str]]
    """Unified symbol -> (connection, channel) whose notifications feed its book."""
    _planned_books: dict[str, tuple[str, str]]
    """Unified symbol -> (connection, channel) the plan subscribed for its book."""
    _conn_tickers: dict[str, set[str]]
    """Connection -> symbols whose derivative ticker it feeds (compared afresh after it drops)."""
    _funding_seen: dict[str, tuple[float | None, ...]]
    """Unified symbol -> the fields of its last derivative ticker."""
    _bars: dict[tuple[str, str], ChartData]
    """(unified symbol, interval) -> the bar forming, emitted closed when the next one starts."""
    _conn_bars: dict[str, set[tuple[str, str]]]
    """Connection -> the ``_bars`` keys its chart notifications feed (forgotten when it drops)."""
    _skipped: set[str]
    """Native ids of combos: their frames are counted, not reported."""

    def _wanted(self, symbol: str, channel: Channel) -> bool:
        wants = self._wants.get(symbol)
        return wants is None or channel in wants

    # -- trades ---------------------------------------------------------------------------------

    def _on_trades(self, conn: str, symbol: str, param: str, frame: str | bytes, received: float, out: Output) -> None:
        """``trades.<instrument>.<interval>``: one trade per element, ``direction`` is the taker's."""
        trades = _trades.decode(frame).params.data
        self._emit_trades(conn, symbol, self._markets[symbol], trades, received, out)

    def _on_kind_trades(
        self, conn: str, symbol: str, param: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        """``trades.<kind>.<currency>.<interval>``: trades of many instruments, each naming its own."""
        by_native = self.instruments.symbols_by_native
        for t in _trades.decode(frame).params.data:
            unified = by_native.get(t.instrument_name)
            if unified is None:
                if t.instrument_name in self._skipped:
                    self.control("combo")
                else:
                    out.append(self.error(conn, "unknown_symbol", t.instrument_name[:100], received))
                continue
            self._emit_trades(conn, unified, self._markets[unified], [t], received, out)

    def _emit_trades(
        self, conn: str, symbol: str, market: Market, trades: list[PublicTrade], received: float, out: Output
    ) -> None:
        ex = self.id
        inverse = market.inverse
        wants = self._wants.get(symbol)
        want_trades = wants is None or "trades" in wants
        want_liquidations = wants is None or "liquidations" in wants
        for t in trades:
            price = t.price
            # "For perpetual and inverse futures the amount is in USD units": base = USD / price.
            amount = t.amount / price if inverse else t.amount
            ts = t.timestamp / 1000.0
            if want_trades:
                out.append(Trade(ex, symbol, ts, received, price, amount, t.direction, t.trade_id))
            if t.liquidation is not None and want_liquidations:
                self._liquidations(conn, symbol, t, amount, ts, received, out)

    def _liquidations(
        self, conn: str, symbol: str, t: PublicTrade, amount: float, ts: float, received: float, out: Output
    ) -> None:
        # "M" when the maker side of the trade was under liquidation, "T" the taker side, "MT"
        # both: the taker's order is on `direction`'s side, the maker's on the other.
        roles = t.liquidation or ""
        if roles not in _ROLES:
            out.append(self.error(conn, "malformed", f"trade {t.trade_id}: liquidation {roles[:10]!r}", received))
            return
        for role in roles:
            side = t.direction if role == "T" else _OTHER[t.direction]
            out.append(Liquidation(self.id, symbol, ts, received, side, t.price, amount, t.trade_id))

    # -- tickers --------------------------------------------------------------------------------

    def _on_ticker(self, conn: str, symbol: str, param: str, frame: str | bytes, received: float, out: Output) -> None:
        """``ticker.<instrument>.<interval>``: a ticker, and the derivative ticker of perpetuals and futures."""
        t = _ticker.decode(frame).params.data
        market = self._markets[symbol]
        ts = t.timestamp / 1000.0
        wants = self._wants.get(symbol)
        last = t.last_price or None
        if wants is None or "ticker" in wants:
            bid = t.best_bid_price or None  # 0: the side is empty
            ask = t.best_ask_price or None
            stats = t.stats
            high = low = volume = quote_volume = None
            if stats is not None:
                high, low, volume = stats.high or None, stats.low or None, stats.volume
                # "volume_usd: Volume in USD", "volume_notional: Volume in quote currency".
                quote_volume = stats.volume_usd if market.quote == "USD" else stats.volume_notional
            out.append(
                Ticker(
                    self.id,
                    symbol,
                    ts,
                    received,
                    bid,
                    t.best_bid_amount if bid is not None else None,
                    ask,
                    t.best_ask_amount if ask is not None else None,
                    last=last,
                    high=high,
                    low=low,
                    volume=volume,
                    quote_volume=quote_volume,
                )
            )
        if market.kind in _DERIVATIVES and (wants is None or "funding" in wants):
            self._funding(conn, symbol, market, t, ts, last, received, out)

    def _funding(
        self,
        conn: str,
        symbol: str,
        market: Market,
        t: TickerData,
        ts: float,
        last: float | None,
        received: float,
        out: Output,
    ) -> None:
        mark = t.mark_price or None
        interest = t.open_interest
        if interest is None:
            value = None
        elif market.inverse:
            value = interest  # "For perpetual and inverse futures the amount is in USD units"
        else:
            value = interest * mark if mark is not None else None
        index = t.index_price or None
        self._merge_funding(conn, symbol, ts, received, mark, index, t.current_funding, interest, value, last, out)

    def _merge_funding(
        self,
        conn: str,
        symbol: str,
        ts: float,
        received: float,
        mark: float | None,
        index: float | None,
        rate: float | None,
        interest: float | None,
        value: float | None,
        last: float | None,
        out: Output,
    ) -> None:
        """A derivative ticker when one of its fields changed since the last one.

        Deribit's ticker carries every field each time, so there is nothing to merge: the
        fields are compared with the last event's (:class:`~collector.exchanges.derivatives.DerivativeTickers`
        would build a merged copy per frame to find the same).
        """
        fields = (mark, index, rate, interest, value, last)
        if self._funding_seen.get(symbol) == fields:
            return
        # Funding accrues continuously: current_funding is the rate now (perpetuals only).
        event = DerivativeTicker(self.id, symbol, ts, received, mark, index, rate, None, None, interest, value, last)
        if value is None or value < _INF:
            # An impossible value (the boundary reports it) never becomes the state compared with.
            self._funding_seen[symbol] = fields
        tickers = self._conn_tickers.get(conn)
        if tickers is None:
            tickers = self._conn_tickers[conn] = set()
        tickers.add(symbol)
        out.append(event)

    # -- books ----------------------------------------------------------------------------------

    def _on_book(self, conn: str, symbol: str, channel: str, frame: str | bytes, received: float, out: Output) -> None:
        """``book.<instrument>.<interval>``: a snapshot, then changes linked by ``prev_change_id``."""
        d = _book.decode(frame).params.data
        owner = self._book_owner.get(symbol)
        if (owner is None or owner[0] != conn or owner[1] != channel) and not self._owns(conn, channel, symbol):
            self.control("second_book")
            return
        ts = d.timestamp / 1000.0
        prev = d.prev_change_id
        kind = d.type
        if kind == "snapshot" or (kind is None and prev is None):
            # "A new snapshot can arrive (e.g. after a resubscription): always reset."
            self.books.snapshot(out, symbol, levels(d.bids), levels(d.asks), d.change_id, ts, received)
        elif prev is None:
            out.append(self.error(conn, "malformed", f"{channel}: a change without prev_change_id", received, symbol))
        else:
            # "require prev_change_id == last ... with 100ms aggregation change_id jumps by
            # more than 1": only the link matters (rule STREAM_PREV).
            self.books.delta(out, symbol, levels(d.bids), levels(d.asks), d.change_id, d.change_id, prev, ts, received)

    def _on_grouped_book(
        self, conn: str, symbol: str, channel: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        """``book.<instrument>.<group>.<depth>.<interval>``: the whole top of the book every time."""
        d = _grouped.decode(frame).params.data
        owner = self._book_owner.get(symbol)
        if (owner is None or owner[0] != conn or owner[1] != channel) and not self._owns(conn, channel, symbol):
            self.control("second_book")
            return
        self.books.snapshot(out, symbol, d.bids, d.asks, d.change_id, d.timestamp / 1000.0, received)

    def _owns(self, conn: str, channel: str, symbol: str) -> bool:
        """Whether ``channel`` on ``conn`` feeds ``symbol``'s book: the planned channel, else the first one seen."""
        if symbol in self._book_owner:
            return False  # another channel feeds it; two would fight over one book
        planned = self._planned_books.get(symbol)
        if planned is not None and planned[1] != channel:
            return False
        self._book_owner[symbol] = (conn, channel)
        self.carry(conn, symbol)
        return True

    def carry(self, conn: str, symbol: str) -> None:
        """``conn`` carries ``symbol``'s book: its heartbeats keep the book fresh, its loss resets it."""
        carried = self._conn_symbols.get(conn)
        if carried is None:
            carried = self._conn_symbols[conn] = []
        if symbol not in carried:
            carried.append(symbol)

    # -- candles --------------------------------------------------------------------------------

    def _on_chart(
        self, conn: str, symbol: str, interval: str, frame: str | bytes, received: float, out: Output
    ) -> None:
        """``chart.trades.<instrument>.<resolution>``: the forming bar; a bar is final once the next one starts.

        "During a single resolution period, many events can be sent ... When there is no trade
        during the requested resolution period, a filling sample is generated": every period
        opens with a message, so the one before it is closed then.
        """
        c = _chart.decode(frame).params.data
        if not (c.open and c.high and c.low and c.close):
            self.control("empty_bar")  # a filling sample of an instrument that never traded
            return
        key = (symbol, interval)
        last = self._bars.get(key)
        if last is not None:
            if c.tick < last.tick:
                self.control("old_bar")
                return
            if c.tick > last.tick:
                out.append(self._candle(symbol, interval, last, True, received))
        else:
            self._conn_bars.setdefault(conn, set()).add(key)
        self._bars[key] = c
        out.append(self._candle(symbol, interval, c, False, received))

    def _candle(self, symbol: str, interval: str, c: ChartData, closed: bool, received: float) -> Candle:
        start = c.tick / 1000.0
        return Candle(
            self.id,
            symbol,
            None,  # the bar carries no event time
            received,
            interval,
            start,
            start + _SECONDS[interval],
            c.open,
            c.high,
            c.low,
            c.close,
            c.volume,  # "volume ... in base currency" (cost is the quote volume)
            None,
            closed,
        )
