"""The backtest: a deterministic generator of protocol events, driven bar by bar.

Whoever iterates :meth:`Backtest.events` owns time: the player paces it, the recorder drains
it at full speed. Per bar ``i``: pending orders and brackets are processed on the bar (fills
at its open, or at stop/limit levels inside its range), equity is marked at its close, the
strategy's ``next()`` runs seeing bars ``0..i``, and with ``fill="close"`` its market orders
fill at that close. Then the bar's events go out: its ``candle``, a ``signal`` per fill, a
``trade`` per closed trade, and ``stats`` + ``equity`` every ``emit_every`` bars, on every
closed trade and on the last bar.
"""

import math
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from algotui.engine.account import Ledger, QuietStretches
from algotui.engine.broker import Broker
from algotui.engine.emit import RUN_SECONDS, Emitter
from algotui.engine.excursions import excursions, spans_reduce
from algotui.engine.failures import describe_error, user_frames
from algotui.engine.stats import compute_stats, ticks
from algotui.engine.strategy import Strategy
from algotui.engine.trade import LEVEL_SETS, Trade
from algotui.errors import UserError
from algotui.protocol.candle_text import RunColumns
from algotui.protocol.encode import clean
from algotui.protocol.fields import PROTOCOL_VERSION
from algotui.protocol.records import (
    Candles,
    Complete,
    Failure,
    Metadata,
    Record,
)

FILL_MODES = ("next-open", "close")


def auto_emit_every(total_bars: int) -> int:
    """The default stats/equity cadence: about 2,000 points per run, never less than 1 bar."""
    return max(1, math.ceil(total_bars / 2000))


class Backtest:
    """One run of a strategy over a DataFrame of bars (DatetimeIndex; Open..Volume columns)."""

    def __init__(
        self,
        data: pd.DataFrame,
        strategy: type[Strategy],
        params: dict[str, Any] | None = None,
        *,
        cash: float = 10_000.0,
        commission: float = 0.0,
        commission_fixed: float = 0.0,
        slippage: float = 0.0,
        fill: str = "next-open",
        emit_every: int | None = None,
        close_at_end: bool = False,
        symbol: str | None = None,
        source: str | None = None,
        interval: str | None = None,
        run_id: str | None = None,
    ) -> None:
        if fill not in FILL_MODES:
            raise UserError(f"--fill {fill!r}: use next-open or close")
        if not cash > 0 or not math.isfinite(cash):
            raise UserError(f"--cash {cash!r}: starting cash must be a positive number")
        if not 0 <= commission < 1:
            raise UserError(f"--commission {commission!r}: give a fraction of traded value, 0..1")
        if not (math.isfinite(commission_fixed) and commission_fixed >= 0):
            raise UserError(f"--commission-fixed {commission_fixed!r} must not be negative")
        if not 0 <= slippage < 1:
            raise UserError(f"--slippage {slippage!r}: give a fraction of price, 0..1")
        if emit_every is not None and emit_every < 1:
            raise UserError(f"--emit-every {emit_every!r} must be at least 1")
        if len(data) < 1:
            raise UserError("no bars to backtest")
        if isinstance(data.index, pd.DatetimeIndex) and data.index.tz is not None:
            attrs = dict(data.attrs)
            data = data.tz_convert("UTC").tz_localize(None)
            data.attrs.update(attrs)
        self.data = data
        self.strategy_cls = strategy
        self.params = strategy.resolve_params(params or {})
        self.cash = float(cash)
        self.commission = float(commission)
        self.commission_fixed = float(commission_fixed)
        self.slippage = float(slippage)
        self.fill = fill
        self.emit_every = emit_every or auto_emit_every(len(data))
        self.close_at_end = close_at_end
        attrs = data.attrs
        self.symbol = symbol or attrs.get("symbol", "DATA")
        self.source = source or attrs.get("source", "dataframe")
        self.interval = interval or attrs.get("interval", "")
        self.run_id = run_id or uuid.uuid4().hex[:12]
        self.status = "pending"
        self.error: BaseException | None = None
        self.error_message = ""
        self.error_details = ""  # the user's own frames, for an exception in their code
        self.stopped_reason = ""
        self.metrics: dict[str, Any] | None = None
        self.columns: RunColumns | None = None
        self.emitter: Emitter | None = None  # while the run goes: who gives out its events
        self.strategy: Strategy | None = None
        self.broker: Broker | None = None
        self.equity_curve: np.ndarray | None = None  # equity per bar, once the run ends
        self.bars_done = 0

    @property
    def strategy_name(self) -> str:
        """The strategy's ``name`` attribute, or its class name."""
        return getattr(self.strategy_cls, "name", None) or self.strategy_cls.__name__

    # -- the run -------------------------------------------------------------------------------

    def stream(self) -> Iterator[Record]:
        """Run the backtest, yielding its events by value as they happen.

        Consecutive candles come as one :class:`~algotui.protocol.records.Candles` batch
        (slices of the run's columns), cut at every other event, after at most
        :data:`RUN_BARS` bars, and once :data:`RUN_SECONDS` old (a slow strategy's bars show
        as they end); every other event is a small record.
        """
        df = self.data
        n = len(df)
        # Memoryviews of the DataFrame's own columns: Python floats on indexing, as fast as a
        # list, and no copy of the bars.
        o, h, lo, c, v = bar_columns(df)
        broker = self.broker = Broker(
            o,
            h,
            lo,
            c,
            cash=self.cash,
            commission=self.commission,
            commission_fixed=self.commission_fixed,
            slippage=self.slippage,
            fractional=self.strategy_cls.fractional,
        )
        self.status = "running"
        times = epoch_seconds(df.index)
        try:
            strategy = self.strategy = self.strategy_cls(broker, df, self.params)
            strategy.init()
            strategy._in_init = False
            inds = strategy.indicators
        except (Exception, SystemExit) as exc:  # the user's init() failed: report, then stop
            self.columns = RunColumns(self.run_id, times, (o, h, lo, c, v), (), ())
            yield self._metadata([])
            yield self._fail(1, exc, "init")
            return
        columns = self.columns = RunColumns(
            self.run_id, times, (o, h, lo, c, v), [x.name for x in inds], [x._full for x in inds]
        )
        yield self._metadata(inds)
        out = self.emitter = Emitter(self, columns, times)
        level_sets = LEVEL_SETS
        ledger = Ledger(self.cash)  # the account after each bar with a fill: equity per bar
        clock = strategy._clock
        orders = broker.orders
        fills = broker.fills
        next_ = strategy.next
        wake = strategy._wake
        quiet = None
        if wake is not None:  # next() runs on its wake bars; quiet stretches go in bulk
            next_ = _gated(next_, wake, clock, n)
            quiet = QuietStretches(wake, c, n)
        bars = iter(range(n))  # jumped ahead (``__setstate__``) past bars that go in bulk
        close_fill = self.fill == "close"
        close_at_end = self.close_at_end
        last = n - 1
        out_of_money = False
        ticker = _Ticker(RUN_SECONDS / 2)
        tick = ticker.flag  # raised every 10 ms: time to look at the pending run's age
        i = -1
        # The account as of the broker's last fill: only the broker's processing changes it.
        cash, units, cost = broker.cash, broker.units, broker.cost
        try:
            for i in bars:
                if quiet is not None and not orders and not broker.has_brackets:
                    stop = quiet.end(i, cash, units, cost, min(out.cut, last), out)
                    if stop > i:
                        bars.__setstate__(stop)
                        continue
                if tick[0] and out.run_from < i:
                    # Before a bar that may be slow: bars done a while ago go out first.
                    tick[0] = False
                    yield from out.aged(i)
                # -- the bar: fills at its open, the strategy, fills at its close, equity --
                if orders or broker.has_brackets:
                    broker.process_open(i)
                    cash, units, cost = broker.cash, broker.units, broker.cost
                clock[0] = i + 1
                next_()
                if orders and close_fill and not (close_at_end and i == last):
                    broker.process_close(i)
                    cash, units, cost = broker.cash, broker.units, broker.cost
                if i == last and close_at_end and broker.trades:
                    broker.close_all(i, c[i], "end", "end of data")
                    cash, units, cost = broker.cash, broker.units, broker.cost
                eq = cash + units * c[i] - cost if units else cash
                if eq <= 0:
                    out_of_money = True
                    broker.close_all(i, c[i], "end", "out of money")
                    cash, units, cost = broker.cash, broker.units, broker.cost
                    eq = cash
                    out.stop_at(i)
                    self.stopped_reason = (
                        f"out of money at bar {i + 1} ({out.stamp(times[i])}): "
                        f"equity fell to {eq:.2f}"
                    )
                if eq > out.peak:
                    out.peak = eq
                if fills:
                    ledger.note(i, cash, units, cost)
                # -- its events --
                if (
                    fills
                    or i == out.cut
                    or level_sets[0] != out.level_sets  # a stop or target was set somewhere
                    and broker.trades
                    and out.levels_moved(broker.trades)
                ):
                    yield from out.bar(i, eq, broker)
                    if out_of_money:
                        break
                elif tick[0]:
                    tick[0] = False
                    yield from out.aged(i + 1)
        except (Exception, SystemExit) as exc:
            self.bars_done = i + 1
            # Bar i failed (in next(), or the broker's work on it): the bars before it are done.
            if fills:  # its fills at the open happened: its account is the one to go on with
                ledger.note(i, cash, units, cost)
            self.equity_curve = ledger.curve(c, i)
            yield from out.candles(i)
            yield self._fail(out.seq, exc, "next")
            return
        finally:
            ticker.stop()
        done = self.bars_done = i + 1
        equity = self.equity_curve = ledger.curve(c, done)
        _excursions(broker.trades, h, lo, done - 1)
        self.metrics = compute_stats(
            broker.closed,
            equity,
            df.index[:done],
            np.asarray(c[:done]),
            self.cash,
            open_trades=broker.trades,
        )
        self.metrics.update(
            status="out_of_money" if out_of_money else "completed",
            stopped_reason=self.stopped_reason or None,
            rejected_orders=broker.rejected_orders,
            open_trade_details=[out.trade_dict(t) for t in broker.trades],
        )
        self.metrics = clean(self.metrics)
        self.status = "completed"
        yield Complete(out.seq, done, len(broker.trades), self.metrics)

    def events(self) -> Iterator[Record]:
        """Run the backtest, yielding one record per protocol event: candles one bar at a
        time (batches of one), for tests and small sinks that want them so."""
        for record in self.stream():
            if isinstance(record, Candles) and len(record) > 1:
                for k in range(len(record)):
                    yield record.part(k, k + 1)
            else:
                yield record

    def run(self) -> dict[str, Any]:
        """Run to the end with no sink and return the final metrics (raises on failure)."""
        for _ in self.stream():
            pass
        if self.status != "completed":
            assert self.error is not None
            raise self.error
        assert self.metrics is not None
        return self.metrics

    # -- payloads ------------------------------------------------------------------------------

    def _metadata(self, inds: list) -> Metadata:
        index = self.data.index
        return Metadata(
            0,
            PROTOCOL_VERSION,
            self.symbol,
            self.source,
            self.interval,
            iso(index[0]),
            iso(index[-1]),
            self.strategy_name,
            clean(self.params),
            self.cash,
            self.commission,
            self.commission_fixed,
            self.slippage,
            self.fill,
            len(index),
            self.emit_every,
            [{"name": x.name, "overlay": x.overlay, "levels": list(x.levels)} for x in inds],
            "running",
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )

    def _fail(self, seq: int, exc: BaseException, where: str) -> Failure:
        self.status = "failed"
        self.error = exc
        self.error_message = describe_error(exc, where, self.strategy_cls)
        self.error_details = frames = user_frames(exc)
        return Failure(seq, self.error_message, frames)


def iso(ts: pd.Timestamp) -> str:
    """A bar timestamp as ISO 8601 (seconds precision, no timezone: data is UTC or naive)."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S")


def epoch_seconds(index: pd.DatetimeIndex) -> np.ndarray:
    """The bar times as int64 epoch seconds (the protocol's precision)."""
    values, per_second = ticks(index)
    return values // per_second


def bar_columns(df: pd.DataFrame) -> tuple[memoryview, ...]:
    """Open, High, Low, Close and Volume as memoryviews of float64: Python floats on indexing,
    as fast as a list, and no copy of a column that already is float64."""
    return tuple(
        memoryview(np.ascontiguousarray(df[name].to_numpy(dtype=float)))
        for name in ("Open", "High", "Low", "Close", "Volume")
    )


class _Ticker:
    """Raises a flag every ``seconds`` from a background thread, so that the engine's loop
    reads a list item on each bar instead of the clock."""

    def __init__(self, seconds: float) -> None:
        self.flag = [False]
        self._stop = threading.Event()
        thread = threading.Thread(target=self._run, args=(seconds,), name="algotui-ticker")
        thread.daemon = True
        thread.start()

    def _run(self, seconds: float) -> None:
        while not self._stop.wait(seconds):
            self.flag[0] = True

    def stop(self) -> None:
        self._stop.set()


def _gated(next_: Callable[[], None], wake: np.ndarray, clock: list[int], n: int) -> Callable:
    """``next_`` run only on the bars of ``wake`` (for bars the engine steps through one by
    one anyway: pending orders or brackets)."""
    mask = np.zeros(n, dtype=np.uint8)
    mask[wake] = 1
    awake = mask.tobytes()

    def gated() -> None:
        if awake[clock[0] - 1]:
            next_()

    return gated


def _excursions(trades: list[Trade], h: Sequence[float], lo: Sequence[float], last: int) -> None:
    """Set each trade's MFE/MAE (percent of entry) from the highs and lows it lived through
    (to ``last`` for trades still open), all trades at once."""
    if not trades:
        return
    entry = np.array([t.entry_bar for t in trades], dtype=np.int64)
    exit_ = np.array([last if t.exit_bar is None else t.exit_bar for t in trades], dtype=np.int64)
    hi = spans_reduce(np.maximum, np.asarray(h), entry, exit_)
    low = spans_reduce(np.minimum, np.asarray(lo), entry, exit_)
    for t, top, bottom in zip(trades, hi.tolist(), low.tolist(), strict=True):
        t.mfe, t.mae = excursions(t.entry_price, t.is_long, top, bottom)


