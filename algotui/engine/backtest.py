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
import traceback
import uuid
from array import array
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import numpy as np
import pandas as pd

from algotui.engine.broker import Broker
from algotui.engine.stats import compute_stats
from algotui.engine.strategy import Strategy
from algotui.engine.trade import Trade
from algotui.errors import UserError
from algotui.protocol.codec import (
    PROTOCOL_VERSION,
    RAW_TYPES,
    Codec,
    Event,
    clean,
    excursions,
    iso,
    spans_reduce,
)

FILL_MODES = ("next-open", "close")
#: A run of candles goes out after at most this many bars even when nothing else happens,
#: and once it is :data:`RUN_SECONDS` old (a slow strategy's bars show as they happen).
RUN_BARS = 1024
RUN_SECONDS = 0.02
_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


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
        self.codec: Codec | None = None
        self.strategy: Strategy | None = None
        self.broker: Broker | None = None
        self.equity_curve: np.ndarray | None = None  # equity per bar, once the run ends
        self.bars_done = 0

    # -- the run -------------------------------------------------------------------------------

    def stream(self) -> Iterator[Event]:
        """Run the backtest, yielding the engine's compact event stream as it happens.

        The stream holds the same protocol events as :meth:`events` in the same order, in a
        cheaper form: consecutive candles come as one ``candles`` item whose data is the
        range ``(a, b)`` of bar indexes (its events numbered from its ``seq`` on, one per
        bar), and ``signal``/``trade``/``stats``/``equity`` carry snapshots that
        :meth:`Codec.payload` expands. A run of candles is cut at every other event and after
        at most :data:`RUN_BARS` bars, so every bar is yielded as soon as something follows it.
        """
        df = self.data
        n = len(df)
        index = df.index
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
        ohlcv = (o, h, lo, c, v)
        try:
            strategy = self.strategy = self.strategy_cls(broker, df, self.params)
            strategy.init()
            strategy._in_init = False
            inds = strategy.indicators
            self.codec = Codec(
                self.run_id, index, ohlcv, [(x.name, x._full) for x in inds], self.cash
            )
        except (Exception, SystemExit) as exc:  # the user's init() failed: report, then stop
            self.codec = Codec(self.run_id, index, ohlcv, [], self.cash)
            yield Event("metadata", 0, self._metadata([]))
            yield self._fail(1, exc, "init")
            return
        yield Event("metadata", 0, self._metadata(inds))
        seq = 1

        ledger = _Ledger(self.cash)  # the account after each bar with a fill: equity per bar
        clock = strategy._clock
        orders = broker.orders
        fills = broker.fills
        next_ = strategy.next
        wake = strategy._wake
        if wake is not None:  # next() runs on its wake bars; quiet stretches go in bulk
            next_ = _gated(next_, wake, clock, n)
            wake_bars = [*wake.tolist(), n]
            w = 0  # wake_bars[w] is the next wake bar at or after the current bar
        bars = iter(range(n))  # jumped ahead (``__setstate__``) past bars that go in bulk
        close_fill = self.fill == "close"
        close_at_end = self.close_at_end
        every = self.emit_every
        last = n - 1
        next_emit = 0  # the next bar with stats/equity: every `every` bars, and the last bar
        run_from = 0  # the first bar of the pending run of candles
        cut = 0  # the bar after which the pending run goes out at the latest
        peak = self.cash
        out_of_money = False
        stats = _Tally()
        new = tuple.__new__
        flushed = perf_counter()
        ticker = _Ticker(RUN_SECONDS / 2)
        tick = ticker.flag  # raised every 10 ms: time to look at the pending run's age
        i = -1
        # The account as of the broker's last fill: only the broker's processing changes it.
        cash, units, cost = broker.cash, broker.units, broker.cost
        try:
            for i in bars:
                if wake is not None and not orders and not broker.has_brackets:
                    while wake_bars[w] < i:
                        w += 1
                    stop = min(wake_bars[w], cut, last)
                    if stop > i:
                        # Nothing pending and next() asleep: on bars i..stop-1 nothing can
                        # happen but equity moving with the close (the ledger has it).
                        if not units:
                            if cash > peak:
                                peak = cash
                            bars.__setstate__(stop)
                            continue
                        top, bottom = max(c[i:stop]), min(c[i:stop])
                        if units < 0:
                            top, bottom = bottom, top
                        # The same float operations as bar by bar: the extremes of equity
                        # are at the extremes of the close.
                        if cash + units * bottom - cost > 0:
                            high = cash + units * top - cost
                            if high > peak:
                                peak = high
                            bars.__setstate__(stop)
                            continue
                        # else the money runs out in there: bar by bar, to find the bar
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
                    next_emit = cut = i
                    self.stopped_reason = (
                        f"out of money at bar {i + 1} ({self.codec.stamp(i)}): "
                        f"equity fell to {eq:.2f}"
                    )
                if eq > peak:
                    peak = eq
                if not fills and i != cut:
                    # A slow strategy still shows its bars as they happen: a run that is
                    # RUN_SECONDS old goes out, looked at whenever the ticker has ticked.
                    if not tick[0]:
                        continue
                    tick[0] = False
                    if perf_counter() - flushed < RUN_SECONDS:
                        continue
                flushed = perf_counter()
                yield new(Event, ("candles", seq, (run_from, i + 1)))
                seq += i + 1 - run_from
                run_from = i + 1
                emit = i == next_emit
                if fills:
                    ledger.note(i, cash, units, cost)
                    for fill in fills:
                        t = fill.trade
                        yield new(Event, ("signal", seq, (fill, t.sl, t.tp)))
                        seq += 1
                        if fill.exit:
                            emit = True
                            stats.add(t)
                            a, b = t.entry_bar, t.exit_bar + 1  # for the strategy to read
                            t.mfe, t.mae = excursions(
                                t.entry_price, t.is_long, max(h[a:b]), min(lo[a:b])
                            )
                            yield new(Event, ("trade", seq, t))
                            seq += 1
                    fills.clear()
                if emit:
                    if i == next_emit:
                        next_emit = min(next_emit + every, last)
                    units = broker.units
                    s = (stats.total, stats.wins, stats.losses, stats.pnl)
                    yield new(Event, ("stats", seq, (*s, eq, peak, len(broker.trades), units)))
                    yield new(Event, ("equity", seq + 1, (i, eq, peak, eq - units * c[i])))
                    seq += 2
                    if out_of_money:
                        break
                cut = min(next_emit, i + RUN_BARS)
        except (Exception, SystemExit) as exc:
            self.bars_done = i + 1
            # Bar i failed (in next(), or the broker's work on it): the bars before it are done.
            if fills:  # its fills at the open happened: its account is the one to go on with
                ledger.note(i, cash, units, cost)
            self.equity_curve = ledger.curve(c, i)
            if run_from < i:  # bars done whose candles have not gone out yet
                yield new(Event, ("candles", seq, (run_from, i)))
                seq += i - run_from
            yield self._fail(seq, exc, "next")
            return
        finally:
            ticker.stop()
        done = self.bars_done = i + 1
        equity = self.equity_curve = ledger.curve(c, done)
        _excursions(broker.trades, h, lo, done - 1)
        self.metrics = compute_stats(
            broker.closed,
            equity,
            index[:done],
            np.asarray(c[:done]),
            self.cash,
            open_trades=broker.trades,
        )
        self.metrics.update(
            status="out_of_money" if out_of_money else "completed",
            stopped_reason=self.stopped_reason or None,
            rejected_orders=broker.rejected_orders,
            open_trade_details=[self.codec.trade(t) for t in broker.trades],
        )
        self.metrics = clean(self.metrics)
        self.status = "completed"
        yield Event(
            "complete",
            seq,
            {"total_bars": done, "open_trades": len(broker.trades), "metrics": self.metrics},
        )

    def events(self) -> Iterator[Event]:
        """Run the backtest, yielding each protocol event on its own as it happens.

        A candle's data is its bar index (:meth:`Codec.candle` makes the payload); every other
        event carries its payload dict. Sinks that keep up with the engine at full speed read
        :meth:`stream` instead, which carries the same events in a cheaper form.
        """
        new = tuple.__new__
        for event in self.stream():
            kind = event.type
            if kind == "candles":
                a, b = event.data
                seq = event.seq - a
                for i in range(a, b):
                    yield new(Event, ("candle", seq + i, i))
            elif kind in RAW_TYPES:
                assert self.codec is not None
                yield new(Event, (kind, event.seq, self.codec.payload(event)))
            else:
                yield event

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

    def _metadata(self, inds: list) -> dict[str, Any]:
        index = self.data.index
        return clean(
            {
                "v": PROTOCOL_VERSION,
                "symbol": self.symbol,
                "source": self.source,
                "interval": self.interval,
                "start": iso(index[0]),
                "end": iso(index[-1]),
                "strategy": getattr(self.strategy_cls, "name", None) or self.strategy_cls.__name__,
                "params": self.params,
                "initial_balance": self.cash,
                "commission": self.commission,
                "commission_fixed": self.commission_fixed,
                "slippage": self.slippage,
                "fill": self.fill,
                "total_bars": len(index),
                "emit_every": self.emit_every,
                "indicators": [
                    {"name": x.name, "overlay": x.overlay, "levels": list(x.levels)} for x in inds
                ],
                "status": "running",
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        )

    def _fail(self, seq: int, exc: BaseException, where: str) -> Event:
        self.status = "failed"
        self.error = exc
        self.error_message = describe_error(exc, where, self.strategy_cls)
        self.error_details = frames = user_frames(exc)
        return Event("error", seq, {"message": self.error_message, "details": frames})


def bar_columns(df: pd.DataFrame) -> tuple[memoryview, ...]:
    """Open, High, Low, Close and Volume as memoryviews of float64: Python floats on indexing,
    as fast as a list, and no copy of a column that already is float64."""
    return tuple(
        memoryview(np.ascontiguousarray(df[name].to_numpy(dtype=float)))
        for name in ("Open", "High", "Low", "Close", "Volume")
    )


class _Tally:
    """Running counts of closed trades for the live ``stats`` events."""

    __slots__ = ("total", "wins", "losses", "pnl")

    def __init__(self) -> None:
        self.total = self.wins = self.losses = 0
        self.pnl = 0.0

    def add(self, trade: Trade) -> None:
        pnl = trade.pnl
        self.total += 1
        self.pnl += pnl
        if pnl > 0:
            self.wins += 1
        elif pnl < 0:
            self.losses += 1


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


class _Ledger:
    """The account (cash, signed units, signed cost) from a bar on, noted at each bar whose
    fills changed it: every bar's equity follows from it and the bar's close, so the engine
    never stores equity bar by bar."""

    def __init__(self, cash: float) -> None:
        self.bars = array("q", [0])
        self.cash = array("d", [cash])
        self.units = array("d", [0.0])
        self.cost = array("d", [0.0])

    def note(self, i: int, cash: float, units: float, cost: float) -> None:
        """The account after bar ``i`` (a later note for the same bar replaces it)."""
        if self.bars[-1] == i:
            self.cash[-1], self.units[-1], self.cost[-1] = cash, units, cost
            return
        self.bars.append(i)
        self.cash.append(cash)
        self.units.append(units)
        self.cost.append(cost)

    def curve(self, c: Sequence[float], done: int) -> np.ndarray:
        """Equity at the close of bars ``0..done-1``: ``cash + units * close - cost``, or the
        cash when flat, computed as the engine does bar by bar, in slices of bars."""
        out = np.empty(done)
        closes = np.asarray(c, dtype=float)
        bars = np.frombuffer(self.bars, dtype=np.int64)
        cash, units, cost = (
            np.frombuffer(x, dtype=float) for x in (self.cash, self.units, self.cost)
        )
        step = 1 << 16
        for a in range(0, done, step):
            b = min(a + step, done)
            k0 = int(np.searchsorted(bars, a, side="right")) - 1
            k1 = int(np.searchsorted(bars, b, side="left"))
            starts = np.maximum(bars[k0:k1], a)
            ends = np.append(bars[k0 + 1 : k1], b)
            lengths = ends - starts
            cash_r = np.repeat(cash[k0:k1], lengths)
            units_r = np.repeat(units[k0:k1], lengths)
            cost_r = np.repeat(cost[k0:k1], lengths)
            marked = cash_r + units_r * closes[a:b] - cost_r
            out[a:b] = np.where(units_r == 0, cash_r, marked)
        return out


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


def describe_error(exc: BaseException, where: str, strategy: type) -> str:
    """One line naming what failed: the user's own error, at their file and line."""
    if isinstance(exc, UserError):
        return str(exc)
    own = _own_frames(exc)
    at = f" at {_short_path(own[-1].filename)}:{own[-1].lineno}" if own else ""
    return f"{strategy.__name__}.{where}() raised {type(exc).__name__}: {exc}{at}"


def user_frames(exc: BaseException) -> str:
    """The traceback of ``exc`` with algotui's own frames left out."""
    text = "".join(traceback.format_list(_own_frames(exc)))
    return text + "".join(traceback.format_exception_only(type(exc), exc))


def _short_path(filename: str) -> str:
    """``filename`` relative to the working folder when it lies inside it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename


def _own_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that are not algotui's own code."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not Path(f.filename).resolve().is_relative_to(_PACKAGE_DIR)]
