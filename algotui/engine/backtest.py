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
import traceback
import uuid
from array import array
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from algotui.engine.broker import Broker, Fill
from algotui.engine.events import PROTOCOL_VERSION, Codec, Event, clean, iso
from algotui.engine.stats import compute_stats
from algotui.engine.strategy import Strategy
from algotui.engine.trade import Trade
from algotui.errors import UserError

FILL_MODES = ("next-open", "close")
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
        self.stopped_reason = ""
        self.metrics: dict[str, Any] | None = None
        self.codec: Codec | None = None
        self.strategy: Strategy | None = None
        self.broker: Broker | None = None
        self.equity_curve: np.ndarray | None = None  # equity per bar, once the run ends
        self.bars_done = 0

    # -- the run -------------------------------------------------------------------------------

    def events(self) -> Iterator[Event]:
        """Run the backtest, yielding each protocol event as it happens."""
        df = self.data
        n = len(df)
        index = df.index
        # Closes are read on every bar: a list is the fastest to index. The other columns are
        # read only when orders are pending or for output: compact arrays keep memory down.
        o = array("d", df["Open"].to_numpy(dtype=float))
        h = array("d", df["High"].to_numpy(dtype=float))
        lo = array("d", df["Low"].to_numpy(dtype=float))
        c = df["Close"].to_numpy(dtype=float).tolist()
        v = array("d", df["Volume"].to_numpy(dtype=float))
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
        seq = 0
        try:
            strategy = self.strategy = self.strategy_cls(broker, df, self.params)
            strategy.init()
            strategy._in_init = False
            inds = strategy.indicators
            self.codec = Codec(
                self.run_id, index, (o, h, lo, c, v), [(x.name, x._list) for x in inds]
            )
        except (Exception, SystemExit) as exc:  # the user's init() failed: report, then stop
            self.codec = Codec(self.run_id, index, (o, h, lo, c, v), [])
            yield Event("metadata", 0, self._metadata([]))
            yield self._fail(1, exc, "init")
            return
        yield Event("metadata", seq, self._metadata(inds))
        seq += 1

        equity = array("d")
        mark = equity.append
        clock = strategy._clock
        fills = broker.fills
        next_ = strategy.next
        close_fill = self.fill == "close"
        close_at_end = self.close_at_end
        every = self.emit_every
        next_emit = 0  # the next bar with stats/equity: every `every` bars, and the last bar
        peak = self.cash
        last = n - 1
        out_of_money = False
        stats = _Tally()
        new = tuple.__new__
        i = -1
        try:
            for i in range(n):
                if broker.orders or broker.has_brackets:
                    broker.process_open(i)
                clock[0] = i + 1
                next_()
                if close_fill and broker.orders and not (close_at_end and i == last):
                    broker.process_close(i)
                if close_at_end and i == last and broker.trades:
                    broker.close_all(i, c[i], "end", "end of data")
                units = broker.units
                eq = broker.cash + units * c[i] - broker.cost if units else broker.cash
                if eq <= 0:
                    out_of_money = True
                    broker.close_all(i, c[i], "end", "out of money")
                    eq = broker.cash
                    next_emit = i
                    self.stopped_reason = (
                        f"out of money at bar {i + 1} ({self.codec.stamp(i)}): "
                        f"equity fell to {eq:.2f}"
                    )
                mark(eq)
                if eq > peak:
                    peak = eq
                yield new(Event, ("candle", seq, i))
                seq += 1
                emit = i == next_emit
                if fills:
                    for fill in fills:
                        yield new(Event, ("signal", seq, self._signal(fill, i)))
                        seq += 1
                        if fill.exit:
                            emit = True
                            stats.add(fill.trade)
                            yield new(Event, ("trade", seq, self._trade(fill.trade, h, lo)))
                            seq += 1
                    fills.clear()
                if emit:
                    if i == next_emit:
                        next_emit = min(next_emit + every, last)
                    yield new(Event, ("stats", seq, self._stats(stats, eq, peak, broker)))
                    yield new(Event, ("equity", seq + 1, self._equity(i, eq, peak, c[i], broker)))
                    seq += 2
                    if out_of_money:
                        break
        except (Exception, SystemExit) as exc:
            self.bars_done = i + 1
            self.equity_curve = np.asarray(equity)
            yield self._fail(seq, exc, "next")
            return
        done = self.bars_done = i + 1
        equity = self.equity_curve = np.asarray(equity)
        for trade in broker.trades:
            _excursions(trade, h, lo, done - 1)
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
            open_trade_details=[self._trade_dict(t) for t in broker.trades],
        )
        self.metrics = clean(self.metrics)
        self.status = "completed"
        yield Event(
            "complete",
            seq,
            {"total_bars": done, "open_trades": len(broker.trades), "metrics": self.metrics},
        )

    def run(self) -> dict[str, Any]:
        """Run to the end with no sink and return the final metrics (raises on failure)."""
        for _ in self.events():
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
                "indicators": [{"name": x.name, "overlay": x.overlay} for x in inds],
                "status": "running",
                "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
        )

    def _signal(self, fill: Fill, i: int) -> dict[str, Any]:
        t = fill.trade
        if fill.exit:
            side = "SELL" if t.is_long else "BUY"
            price = t.exit_price
        else:
            side = "BUY" if t.is_long else "SELL"
            price = t.entry_price
        return {
            "timestamp": self.codec.stamp(i),
            "action": "EXIT" if fill.exit else "ENTRY",
            "side": side,
            "price": price,
            "size": t.size,
            "trade_id": t.trade_id,
            "reason": fill.reason,
            "stop_loss": t.sl,
            "take_profit": t.tp,
            "pnl": t.pnl if fill.exit else None,
            "bar_number": i + 1,
            "direction": t.direction,
        }

    def _trade(self, t: Trade, h: list[float], lo: list[float]) -> dict[str, Any]:
        _excursions(t, h, lo, t.exit_bar)
        return self._trade_dict(t)

    def _trade_dict(self, t: Trade) -> dict[str, Any]:
        stamp = self.codec.stamp
        closed = t.exit_bar is not None
        return {
            "trade_id": t.trade_id,
            "direction": t.direction,
            "entry_time": stamp(t.entry_bar),
            "entry_price": t.entry_price,
            "exit_time": stamp(t.exit_bar) if closed else None,
            "exit_price": t.exit_price,
            "size": t.size,
            "pnl": t.pnl if closed else None,
            "pnl_percent": t.pnl_percent if closed else None,
            "commission": t.commission,
            "exit_reason": t.exit_reason,
            "mfe": t.mfe,
            "mae": t.mae,
            "bars_held": t.bars_held if closed else None,
            "entry_bar": t.entry_bar + 1,
            "exit_bar": t.exit_bar + 1 if closed else None,
            "stop_loss": t.sl,
            "take_profit": t.tp,
            "entry_reason": t.entry_reason,
        }

    def _stats(self, tally: "_Tally", eq: float, peak: float, broker: Broker) -> dict[str, Any]:
        return {
            "total_trades": tally.total,
            "winning_trades": tally.wins,
            "losing_trades": tally.losses,
            "win_rate": tally.wins * 100.0 / tally.total if tally.total else 0.0,
            "pnl": eq - self.cash,
            "realized_pnl": tally.pnl,
            "equity": eq,
            "drawdown": (peak - eq) * 100.0 / peak if peak > 0 else 0.0,
            "open_positions": len(broker.trades),
            "position": broker.units,
        }

    def _equity(self, i: int, eq: float, peak: float, close: float, broker: Broker) -> dict:
        return {
            "timestamp": self.codec.stamp(i),
            "equity": eq,
            "cash": eq - broker.units * close,
            "drawdown": (peak - eq) * 100.0 / peak if peak > 0 else 0.0,
            "bar_number": i + 1,
        }

    def _fail(self, seq: int, exc: BaseException, where: str) -> Event:
        self.status = "failed"
        self.error = exc
        self.error_message = describe_error(exc, where, self.strategy_cls)
        frames = user_frames(exc)
        return Event("error", seq, {"message": self.error_message, "details": frames})


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


def _excursions(t: Trade, h: list[float], lo: list[float], last: int) -> None:
    """Set a trade's MFE/MAE (percent of entry) from the highs and lows it lived through."""
    hi = max(h[t.entry_bar : last + 1])
    low = min(lo[t.entry_bar : last + 1])
    entry = t.entry_price
    if t.is_long:
        t.mfe = max(0.0, (hi - entry) / entry * 100.0)
        t.mae = min(0.0, (low - entry) / entry * 100.0)
    else:
        t.mfe = max(0.0, (entry - low) / entry * 100.0)
        t.mae = min(0.0, (entry - hi) / entry * 100.0)


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
