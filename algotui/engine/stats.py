"""Summary statistics of a finished (or stopped) backtest.

:func:`compute_stats` is pure: it reads the closed and open trades, the equity curve and the bar
timestamps and returns a flat dict of plain, JSON-serialisable Python values. A metric that is
undefined (for example the profit factor when no trade lost) is ``None``, never NaN or inf.
Percentages are in percent (``60.0`` means 60 %). Nothing is rounded.

Conventions
-----------
* Drawdown: ``dd[i] = 1 - equity[i] / max(equity[:i + 1])``. ``max_drawdown`` is ``max(dd)`` in
  percent (a positive number). A drawdown period runs from a bar at the running peak to the next
  bar that regains it (or to the last bar if it never does); its duration is the number of bars
  between those two bars (and the calendar days between their timestamps); its depth is the
  largest ``dd`` inside it. ``avg_drawdown`` is the mean depth of those periods (``0.0`` when the
  curve never dips).
* Sharpe and Sortino ratios use daily returns and a risk-free rate of 0. The equity curve is
  reduced to one value per calendar day that has bars (the last equity of that day, days taken
  from the normalized timestamps), and ``r[d] = E[d] / E[d - 1] - 1`` between consecutive such
  days. Then::

      sharpe  = mean(r) / std(r, ddof=1) * sqrt(252)
      sortino = mean(r) / sqrt(mean(min(r, 0) ** 2)) * sqrt(252)

  Both are ``None`` with fewer than two daily returns or a zero denominator.
* ``cagr_pct = ((final / initial) ** (365.25 / days) - 1) * 100`` with ``days`` the calendar days
  from the first to the last timestamp; ``calmar_ratio = cagr_pct / max_drawdown``.
* ``profit_factor`` and ``sqn`` use the money P&L of closed trades:
  ``sqn = sqrt(N) * mean(pnl) / std(pnl, ddof=1)``.
* ``exposure_pct``: the share of bars ``b`` with ``entry_bar <= b <= exit_bar`` for some trade;
  a trade still open counts through the last bar.
* The bar timestamps must be in ascending order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from algotui.engine.trade import Trade

__all__ = ["compute_stats"]

_TRADING_DAYS = 252


def _num(value: Any) -> float | None:
    """``value`` as a plain float, or ``None`` if it is missing, NaN or infinite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ratio(num: float, den: float) -> float | None:
    """``num / den`` as a plain float, ``None`` if undefined."""
    if den == 0 or not math.isfinite(den) or not math.isfinite(num):
        return None
    return _num(num / den)


def _max_run(flags: np.ndarray) -> int:
    """Length of the longest run of ``True`` in a boolean array."""
    if not flags.any():
        return 0
    padded = np.concatenate(([0], flags.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max())


def _union_length(starts: np.ndarray, stops: np.ndarray) -> int:
    """How many integers the half-open spans ``[starts[k], stops[k])`` cover together."""
    if not len(starts):
        return 0
    order = np.argsort(starts, kind="stable")
    s, e = starts[order], stops[order]
    reach = np.maximum.accumulate(e)  # the furthest stop so far, spans sorted by start
    before = np.concatenate(([s[0]], reach[:-1]))
    return int(np.maximum(reach - np.maximum(s, before), 0).sum())


def _drawdowns(equity: np.ndarray, ns: np.ndarray, per_day: int, start: float) -> dict[str, Any]:
    """Depth and duration statistics of the equity curve's drawdowns (the first peak is the
    starting cash, so a loss on the very first bar counts)."""
    n = len(equity)
    # In place where it can be: the running peak becomes the drawdown, no other bar-sized
    # float array.
    peak = np.maximum.accumulate(equity)
    np.maximum(peak, start, out=peak)
    no_peak = ~(peak > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.divide(equity, peak, out=peak)
    del peak
    np.subtract(1.0, dd, out=dd)
    dd[no_peak] = 0.0
    del no_peak
    dd[~np.isfinite(dd)] = 0.0
    np.maximum(dd, 0.0, out=dd)
    # Bars at the running peak start (and end) drawdown periods. Bar 0 is always one.
    at_peak = np.flatnonzero(dd <= 0.0)
    if len(at_peak) == 0 or at_peak[0] != 0:
        at_peak = np.concatenate(([0], at_peak))
    ends = np.append(at_peak[1:], n - 1)
    depth = np.maximum.reduceat(dd, at_peak)  # segment [at_peak[k], at_peak[k + 1])
    is_dd = depth > 0.0
    starts, ends, depth = at_peak[is_dd], ends[is_dd], depth[is_dd]
    if len(depth) == 0:
        return {
            "max_drawdown": 0.0,
            "max_drawdown_duration_bars": 0,
            "max_drawdown_duration_days": 0.0,
            "avg_drawdown": 0.0,
        }
    durations = ends - starts
    longest = int(np.argmax(durations))
    start, end = starts[longest], ends[longest]
    return {
        "max_drawdown": float(dd.max() * 100.0),
        "max_drawdown_duration_bars": int(durations[longest]),
        "max_drawdown_duration_days": float((ns[end] - ns[start]) / per_day),
        "avg_drawdown": float(depth.mean() * 100.0),
    }


def _daily(
    equity: np.ndarray,
    index: pd.DatetimeIndex,
    exit_bars: np.ndarray,
    initial_cash: float,
) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Last equity of each calendar day with bars, and the per-day rows."""
    n = len(equity)
    days = index.normalize()
    day_ns = days.asi8
    new_day = day_ns[1:] != day_ns[:-1]
    last_pos = np.append(np.flatnonzero(new_day), n - 1)
    labels = days[last_pos].strftime("%Y-%m-%d")
    del days, day_ns, new_day
    day_equity = equity[last_pos]
    pnl = np.diff(day_equity, prepend=initial_cash)
    # a trade's day: the first day whose last bar is at or after its exit bar
    counts = np.bincount(np.searchsorted(last_pos, exit_bars), minlength=len(last_pos))
    rows = [
        {"date": d, "pnl": p, "trades": c, "equity": e}
        for d, p, c, e in zip(
            labels, pnl.tolist(), counts.tolist(), day_equity.tolist(), strict=True
        )
    ]
    return day_equity, rows


def _risk_ratios(day_equity: np.ndarray) -> tuple[float | None, float | None]:
    """Sharpe and Sortino ratios of the daily returns (see the module docstring)."""
    if len(day_equity) < 3:
        return None, None
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = day_equity[1:] / day_equity[:-1] - 1.0
    if not np.isfinite(returns).all():
        return None, None
    mean = float(returns.mean())
    scale = math.sqrt(_TRADING_DAYS)
    sharpe = _ratio(mean * scale, float(returns.std(ddof=1)))
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    sortino = _ratio(mean * scale, downside)
    return sharpe, sortino


def compute_stats(
    trades: Sequence[Trade],
    equity: np.ndarray,
    index: pd.DatetimeIndex,
    close: np.ndarray,
    initial_cash: float,
    open_trades: Sequence[Trade] = (),
) -> dict[str, Any]:
    """Summary statistics of a backtest as a flat dict of plain Python values.

    ``trades`` are the closed trades in closing order, ``open_trades`` those still open at the
    end. ``equity``, ``index`` and ``close`` hold one value per bar processed; the last equity
    already marks open positions at the last close. See the module docstring for conventions.
    """
    equity = np.asarray(equity, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    index = pd.DatetimeIndex(index)
    ns, per_second = ticks(index)
    n = len(equity)
    if n == 0:
        raise ValueError("compute_stats needs at least one bar")
    if len(index) != n or len(close) != n:
        raise ValueError("equity, index and close must have the same length")
    if not initial_cash > 0:
        raise ValueError("initial_cash must be positive")
    per_day = 86_400 * per_second
    if n > 1 and bool(np.any(ns[1:] < ns[:-1])):
        raise ValueError("index must be in ascending order")
    # Durations in float ticks: an int64 difference overflows for spans past ~292 years of
    # nanoseconds (dates near 1677 and 2262), and a float day count needs no more precision.
    when = ns.astype(np.float64)

    initial = float(initial_cash)
    final = float(equity[-1])

    # Closed trades as arrays.
    pnl = np.array([t.pnl for t in trades], dtype=np.float64)
    pnl_pct = np.array([t.pnl_percent for t in trades], dtype=np.float64)
    entry_bars = np.array([t.entry_bar for t in trades], dtype=np.int64)
    exit_bars = np.array([t.exit_bar for t in trades], dtype=np.int64)
    is_long = np.array([t.is_long for t in trades], dtype=bool)
    n_trades = len(pnl)
    wins, losses = pnl[pnl > 0], pnl[pnl < 0]
    exit_bars = np.clip(exit_bars, 0, n - 1)
    entry_bars = np.clip(entry_bars, 0, n - 1)

    # Exposure: the bars covered by the union of the trades' [entry, exit] spans.
    open_entries = np.clip(np.array([t.entry_bar for t in open_trades], dtype=np.int64), 0, n - 1)
    starts = np.concatenate((entry_bars, open_entries))
    stops = np.concatenate((exit_bars + 1, np.full(len(open_entries), n, dtype=np.int64)))
    exposed = _union_length(starts, stops)

    duration_days = float((when[-1] - when[0]) / per_day)
    cagr = None
    if duration_days > 0 and final > 0:
        with np.errstate(over="ignore"):
            cagr = _num((np.float64(final / initial) ** (365.25 / duration_days) - 1.0) * 100.0)

    drawdowns = _drawdowns(equity, when, per_day, float(initial_cash))
    max_dd = drawdowns["max_drawdown"]
    day_equity, daily = _daily(equity, index, exit_bars, initial)
    sharpe, sortino = _risk_ratios(day_equity)

    gross_loss = float(losses.sum())
    sqn = None
    if n_trades >= 2:
        sqn = _ratio(math.sqrt(n_trades) * float(pnl.mean()), float(pnl.std(ddof=1)))

    held = exit_bars - entry_bars
    held_days = (when[exit_bars] - when[entry_bars]) / per_day

    commissions = sum(float(t.commission) for t in trades) + sum(
        float(t.entry_commission) for t in open_trades
    )

    def mean_or_none(values: np.ndarray) -> float | None:
        return float(values.mean()) if len(values) else None

    return {
        "total_trades": n_trades,
        "winning_trades": len(wins),
        "losing_trades": len(losses),
        "win_rate": len(wins) / n_trades * 100.0 if n_trades else None,
        "open_trades": len(open_trades),
        "start": index[0].isoformat(),
        "end": index[-1].isoformat(),
        "bars": n,
        "duration_days": duration_days,
        "initial_equity": initial,
        "final_equity": final,
        "peak_equity": float(equity.max()),
        "net_profit": final - initial,
        "total_return_pct": (final - initial) / initial * 100.0,
        "cagr_pct": cagr,
        **drawdowns,
        "sharpe_ratio": sharpe,
        "sortino_ratio": sortino,
        "calmar_ratio": _ratio(cagr, max_dd) if cagr is not None else None,
        "profit_factor": _ratio(float(wins.sum()), abs(gross_loss)),
        "expectancy": mean_or_none(pnl),
        "average_win": mean_or_none(wins),
        "average_loss": mean_or_none(losses),
        "largest_win": float(wins.max()) if len(wins) else None,
        "largest_loss": float(losses.min()) if len(losses) else None,
        "avg_trade_pct": mean_or_none(pnl_pct),
        "sqn": sqn,
        "exposure_pct": exposed / n * 100.0,
        "avg_trade_duration_bars": mean_or_none(held),
        "avg_trade_duration_days": mean_or_none(held_days),
        "max_trade_duration_bars": int(held.max()) if n_trades else None,
        "total_commissions": commissions,
        "buy_and_hold_return_pct": _ratio((close[-1] - close[0]) * 100.0, close[0]),
        "long_trades": int(is_long.sum()),
        "short_trades": int(n_trades - is_long.sum()),
        "max_consecutive_wins": _max_run(pnl > 0),
        "max_consecutive_losses": _max_run(pnl < 0),
        "daily": daily,
    }


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def ticks(index: pd.DatetimeIndex) -> tuple[np.ndarray, int]:
    """The index as int64 ticks of its own unit (a view, no copy) and the ticks per second."""
    index = pd.DatetimeIndex(index)
    return index.asi8, _PER_SECOND[index.unit]
