"""The stored form of events: one table per kind of row, shared by PostgreSQL, Parquet and CSV.

Every backend reads these definitions, so a column has the same name, meaning and unit
everywhere. Column kinds and what they become:

=========  =====================  =================================  ==========================
kind       Python value in a row  PostgreSQL                         Parquet (Arrow)
=========  =====================  =================================  ==========================
``text``   ``str``                ``text``                           ``string``
``float``  ``float``              ``double precision``               ``float64``
``int``    ``int``                ``bigint``                         ``int64``
``bool``   ``bool``               ``boolean``                        ``bool``
``time``   ``int`` (µs, epoch)    ``timestamptz``                    ``timestamp[us, tz=UTC]``
``floats`` ``list[float]``        ``double precision[]``             ``list<float64>``
``json``   ``dict[str, float]``   ``jsonb``                          ``map<string, float64>``
``bytes``  ``bytes``              ``bytea``                          ``binary``
=========  =====================  =================================  ==========================

Prices and sizes are ``double precision``: the events carry IEEE doubles parsed from the
exchange's decimal strings, so a double column stores exactly what the collector had (a
``numeric`` column would only spell those doubles out at more cost: variable width,
slower sums, and no native type in Parquet, DuckDB or ClickHouse). ``price::numeric``
gives the exchange's decimal back for prices of up to 15 significant digits.

Times are microseconds since the Unix epoch in rows and ``timestamptz`` in the database
(its resolution is one microsecond, so sub-microsecond float noise of ``received`` is
rounded away). ``time`` is the exchange's event time, or the receipt time when the
exchange sends none (then ``time = received`` exactly).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

__all__ = [
    "DEAD_LETTERS",
    "TABLES",
    "Column",
    "Kind",
    "Table",
    "table",
]

Kind: TypeAlias = Literal["text", "float", "int", "bool", "time", "floats", "json", "bytes"]


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its name, kind (see the module table) and whether it may be null."""

    name: str
    kind: Kind
    nullable: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """One stored row type.

    ``name`` is the SQL table; ``label`` the ``type=`` partition of the file datasets.
    ``time`` is the time dimension (hypertable column, Parquet ``date=`` partition).
    ``key`` makes a row unique: re-delivered rows with a known key are skipped, or, with
    ``upsert``, replace the stored row unless it is closed and the new one is not (a
    forming candle never overwrites its closed version). ``chunk`` and ``compress_after``
    are the TimescaleDB chunk interval and compression delay; ``segment_by`` the
    compression segments.
    """

    name: str
    label: str
    columns: tuple[Column, ...]
    time: str
    key: tuple[str, ...]
    upsert: bool = False
    chunk: str = "1 day"
    compress_after: str = "7 days"
    segment_by: tuple[str, ...] = ("exchange", "symbol")

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in row order."""
        return tuple(c.name for c in self.columns)

    @property
    def hyper_key(self) -> tuple[str, ...]:
        """The key on a hypertable, where every unique index must include the time column."""
        return self.key if self.time in self.key else (*self.key, self.time)

    def index(self, name: str) -> int:
        """Position of column ``name`` in a row."""
        return self.names.index(name)


def _c(name: str, kind: Kind, nullable: bool = False) -> Column:
    return Column(name, kind, nullable)


# The first columns of every market row; the row builders rely on this order.
_MARKET = (_c("exchange", "text"), _c("symbol", "text"), _c("time", "time"), _c("received", "time"))
_UID = _c("uid", "int")  # 64 bits of BLAKE2b over the event's JSON: the key of rows without an identity
# Led by market and time, so that the key index grows at its end per market (a uid alone would
# scatter inserts over the whole index) and also serves "this market, this time range".
_MARKET_UID = ("exchange", "symbol", "time", "uid")
_F: Final[Kind] = "float"

TRADES = Table(
    "trades",
    "trade",
    (*_MARKET, _c("id", "text"), _c("price", _F), _c("amount", _F), _c("side", "text")),
    time="time",
    key=("exchange", "symbol", "id"),
)
TICKERS = Table(
    "tickers",
    "ticker",
    (
        *_MARKET,
        _UID,
        *(_c(n, _F, True) for n in ("bid", "bid_size", "ask", "ask_size", "last", "open", "high", "low")),
        *(_c(n, _F, True) for n in ("volume", "quote_volume")),
    ),
    time="time",
    key=_MARKET_UID,
)
DERIVATIVE_TICKERS = Table(
    "derivative_tickers",
    "derivative_ticker",
    (
        *_MARKET,
        _UID,
        *(_c(n, _F, True) for n in ("mark_price", "index_price", "funding_rate")),
        _c("next_funding_time", "time", True),
        *(_c(n, _F, True) for n in ("predicted_funding_rate", "open_interest", "open_interest_value", "last_price")),
    ),
    time="time",
    key=_MARKET_UID,
)
LIQUIDATIONS = Table(
    "liquidations",
    "liquidation",
    (
        *_MARKET,
        _UID,
        _c("side", "text"),
        _c("price", _F),
        _c("amount", _F),
        _c("id", "text", True),
        _c("status", "text", True),
    ),
    time="time",
    key=_MARKET_UID,
    compress_after="30 days",
)
CANDLES = Table(
    "candles",
    "candle",
    (
        _c("exchange", "text"),
        _c("symbol", "text"),
        _c("interval", "text"),
        _c("source", "text"),
        _c("start", "time"),
        _c("end", "time"),
        _c("time", "time"),
        _c("received", "time"),
        *(_c(n, _F) for n in ("open", "high", "low", "close", "volume")),
        _c("trades", "int", True),
        _c("closed", "bool"),
    ),
    time="start",
    key=("exchange", "symbol", "interval", "source", "start"),
    upsert=True,
    chunk="7 days",
    compress_after="30 days",
    segment_by=("exchange", "symbol", "interval"),
)
BOOK_TOPS = Table(
    "book_tops",
    "book_top",
    (
        _c("exchange", "text"),
        _c("symbol", "text"),
        _c("time", "time"),  # the start of the sampling interval this snapshot stands for
        _c("taken", "time"),  # the time of the book event it was taken from
        _c("received", "time"),
        _c("sequence", "int", True),
        *(_c(n, "floats") for n in ("bid_prices", "bid_sizes", "ask_prices", "ask_sizes")),
    ),
    time="time",
    key=("exchange", "symbol", "time"),
)
INDICATORS = Table(
    "indicators",
    "indicator",
    (
        _c("exchange", "text"),
        _c("symbol", "text"),
        _c("interval", "text"),
        _c("source", "text"),
        _c("name", "text"),
        _c("params", "floats"),
        _c("start", "time"),
        _c("time", "time"),
        _c("received", "time"),
        _c("closed", "bool"),
        _c("values", "json"),
    ),
    time="start",
    key=("exchange", "symbol", "interval", "source", "name", "params", "start"),
    upsert=True,
    chunk="7 days",
    compress_after="30 days",
    segment_by=("exchange", "symbol", "interval", "name"),
)
ALERTS = Table(
    "alerts",
    "alert",
    (
        *_MARKET,
        _UID,
        _c("rule", "text"),
        _c("interval", "text", True),
        _c("start", "time", True),
        _c("values", "json"),
    ),
    time="time",
    key=_MARKET_UID,
    chunk="30 days",
    compress_after="90 days",
)
PREMIUMS = Table(
    "premiums",
    "premium",
    (
        *_MARKET,
        _UID,
        _c("base", "text"),
        _c("krw_exchange", "text"),
        _c("krw_price", _F),
        _c("usd_exchange", "text"),
        _c("usd_symbol", "text"),
        _c("usd_price", _F),
        _c("fx", _F),
        _c("fx_source", "text"),
        _c("premium", _F),
        _c("krw_source", "text"),
        _c("usd_source", "text"),
    ),
    time="time",
    key=_MARKET_UID,
)
STATUS_EVENTS = Table(
    "status_events",
    "status",
    (
        _c("type", "text"),
        _c("exchange", "text"),
        _c("symbol", "text", True),
        _c("time", "time"),
        _c("received", "time"),
        _UID,
        *(_c(n, "text", True) for n in ("conn", "url", "reason", "kind", "source", "detail")),
        _c("retry_in", _F, True),
    ),
    time="time",
    key=("uid",),
    chunk="30 days",
    compress_after="90 days",
    segment_by=("exchange", "type"),
)
DEAD_LETTERS = Table(
    "dead_letters",
    "dead_letter",
    (
        _c("time", "time"),  # the Kafka message's timestamp, or the event's time
        _c("uid", "int"),
        _c("source", "text"),  # topic[partition]@offset, or the table a row was refused by
        _c("reason", "text"),
        _c("payload", "bytes"),
    ),
    time="time",
    key=("uid",),
    chunk="30 days",
    compress_after="90 days",
    segment_by=("source",),
)

TABLES: Final[tuple[Table, ...]] = (
    TRADES,
    TICKERS,
    DERIVATIVE_TICKERS,
    LIQUIDATIONS,
    CANDLES,
    BOOK_TOPS,
    INDICATORS,
    ALERTS,
    PREMIUMS,
    STATUS_EVENTS,
    DEAD_LETTERS,
)
"""Every stored table, dead letters last."""

_BY_NAME: Final = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    """The table called ``name`` (``trades``, ``candles``, ...); raises ``KeyError``."""
    return _BY_NAME[name]
