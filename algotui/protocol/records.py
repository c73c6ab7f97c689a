"""The events of a run, by value: one record type per event type of the field table.

Every record carries its values (no references into the engine's objects), so any sink may
keep it, send it to another process or read it later. A run of candles is one
:class:`Candles` batch: the bars' times and prices and the indicators' values as array slices.
The other events are small named tuples whose fields are the table's, in its order, after
``seq``. Bar times are epoch seconds (``int``) when the engine made the record and ISO 8601
text when it was read back from a recording; the encoders write both as ISO 8601.
"""

from typing import Any, NamedTuple

import numpy as np


class Metadata(NamedTuple):
    """The run's description: always the first event (``seq`` 0)."""

    seq: int
    v: int
    symbol: str
    source: str
    interval: str
    start: Any
    end: Any
    strategy: str
    params: dict[str, Any]
    initial_balance: float
    commission: float
    commission_fixed: float
    slippage: float
    fill: str
    total_bars: int
    emit_every: int
    indicators: list[dict[str, Any]]
    status: str
    created_at: str

    type = "metadata"


class Signal(NamedTuple):
    """A fill: a trade opened (``ENTRY``) or closed (``EXIT``)."""

    seq: int
    timestamp: Any
    action: str
    side: str
    price: float
    size: float
    trade_id: int
    reason: str | None
    stop_loss: float | None
    take_profit: float | None
    pnl: float | None
    bar_number: int
    direction: str

    type = "signal"


class Levels(NamedTuple):
    """An open trade's stop-loss or take-profit, moved by the strategy."""

    seq: int
    trade_id: int
    timestamp: Any
    bar_number: int
    stop_loss: float | None
    take_profit: float | None

    type = "levels"


class TradeRecord(NamedTuple):
    """A closed trade (``exit_*`` are null for one still open, in ``complete``'s metrics)."""

    seq: int
    trade_id: int
    direction: str
    entry_time: Any
    entry_price: float
    exit_time: Any
    exit_price: float | None
    size: float
    pnl: float | None
    pnl_percent: float | None
    commission: float
    exit_reason: str | None
    mfe: float
    mae: float
    bars_held: int | None
    entry_bar: int
    exit_bar: int | None
    stop_loss: float | None
    take_profit: float | None
    entry_reason: str | None

    type = "trade"


class Stats(NamedTuple):
    """The account at a bar: trades so far, equity, drawdown, position."""

    seq: int
    total_trades: int
    winning_trades: int
    losing_trades: int
    win_rate: float
    pnl: float
    realized_pnl: float
    equity: float
    drawdown: float
    open_positions: int
    position: float
    bar_number: int

    type = "stats"


class EquityPoint(NamedTuple):
    """A point of the equity curve, right after the ``stats`` of the same bar."""

    seq: int
    timestamp: Any
    equity: float
    cash: float
    drawdown: float
    bar_number: int

    type = "equity"


class Complete(NamedTuple):
    """The run finished: bars processed, trades left open, every metric."""

    seq: int
    total_bars: int
    open_trades: int
    metrics: dict[str, Any]

    type = "complete"


class Failure(NamedTuple):
    """The run failed (an ``error`` event): one line, and the details (the user's frames)."""

    seq: int
    message: str
    details: str

    type = "error"


class Candles:
    """A run of consecutive candles, by value: bars ``bar .. bar + len - 1`` (0-based), the
    first numbered ``seq``.

    ``time`` holds epoch seconds (int64); ``open`` .. ``volume`` float64; ``indicators`` one
    float64 array per name in ``names`` (the metadata's order). The arrays are read-only views
    of the run's columns: a batch cut by the engine keeps its run's columns (``origin``) and
    makes each view when it is first read (a sink that never reads a column pays nothing for
    it; the recorder renders the text of the run's columns a block at a time, see
    :mod:`algotui.protocol.candle_text`). A batch sent to another process carries its values
    only.
    """

    type = "candle"
    __slots__ = ("seq", "bar", "n", "names", "total", "origin", "_cols")

    def __init__(
        self,
        seq: int,
        bar: int,
        time: np.ndarray,
        ohlcv: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        names: tuple[str, ...],
        indicators: tuple[np.ndarray, ...],
        total: int,
    ) -> None:
        self.seq = seq
        self.bar = bar
        self.n = len(time)
        self.names = names
        self.total = total
        self.origin: Any = None
        self._cols: tuple | None = (time, *ohlcv, indicators)

    @classmethod
    def of_run(cls, origin: Any, seq: int, a: int, b: int) -> "Candles":
        """Bars ``a .. b-1`` of a run's columns (``origin``: a ``RunColumns``)."""
        self = cls.__new__(cls)
        self.seq, self.bar, self.n = seq, a, b - a
        self.names, self.total, self.origin, self._cols = origin.names, origin.total, origin, None
        return self

    def _columns(self) -> tuple:
        cols = self._cols
        if cols is None:
            o = self.origin
            a, b = self.bar, self.bar + self.n
            h = o.ohlcv
            cols = self._cols = (
                o.time[a:b], h[0][a:b], h[1][a:b], h[2][a:b], h[3][a:b], h[4][a:b],
                tuple(x[a:b] for x in o.indicators),
            )  # fmt: skip
        return cols

    time = property(lambda self: self._columns()[0], doc="Epoch seconds of each bar.")
    open = property(lambda self: self._columns()[1])
    high = property(lambda self: self._columns()[2])
    low = property(lambda self: self._columns()[3])
    close = property(lambda self: self._columns()[4])
    volume = property(lambda self: self._columns()[5])
    indicators = property(lambda self: self._columns()[6])

    def __len__(self) -> int:
        return self.n

    @property
    def last_seq(self) -> int:
        """The ``seq`` of the batch's last candle."""
        return self.seq + self.n - 1

    def part(self, a: int, b: int) -> "Candles":
        """Candles ``a .. b-1`` of this batch (positions in the batch), as a batch."""
        if self.origin is not None:
            return Candles.of_run(self.origin, self.seq + a, self.bar + a, self.bar + b)
        t, o, h, lo, c, v, inds = self._columns()
        return Candles(
            self.seq + a,
            self.bar + a,
            t[a:b],
            (o[a:b], h[a:b], lo[a:b], c[a:b], v[a:b]),
            self.names,
            tuple(x[a:b] for x in inds),
            self.total,
        )

    def __reduce__(self) -> tuple:
        # By value across processes: the slices' own values, never the run's columns.
        t, o, h, lo, c, v, inds = self._columns()
        ohlcv = tuple(np.array(x) for x in (o, h, lo, c, v))
        args = (self.seq, self.bar, np.array(t), ohlcv, self.names, tuple(map(np.array, inds)))
        return (Candles, (*args, self.total))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Candles):
            return NotImplemented
        mine, theirs = self._columns(), other._columns()
        return (self.seq, self.bar, self.names, self.total) == (
            other.seq,
            other.bar,
            other.names,
            other.total,
        ) and all(
            np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            for a, b in zip((*mine[:6], *mine[6]), (*theirs[:6], *theirs[6]), strict=True)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Candles(seq={self.seq}, bars {self.bar + 1}..{self.bar + self.n})"


#: The record type of each event type (candles come in batches).
RECORDS: dict[str, type] = {
    r.type: r
    for r in (Metadata, Candles, Signal, Levels, TradeRecord, Stats, EquityPoint, Complete, Failure)
}

Record = (
    Metadata | Candles | Signal | Levels | TradeRecord | Stats | EquityPoint | Complete | Failure
)
