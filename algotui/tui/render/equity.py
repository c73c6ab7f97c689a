"""The equity pane's frame: equity and buy-and-hold lines, the initial balance, drawdown beneath.

Two views share one drawing (:func:`render_equity`): the candle window's own columns and dates
(:func:`window_columns`: the pane follows pan and zoom, column for column) and the whole run
(:meth:`EquitySeries.columns`). Per column it gets the equity (the nearest point at or before
the column's last bar), the buy-and-hold value (``initial * close / first close``) and the
drawdown.
"""

import math
from dataclasses import dataclass

import numpy as np
from textual.strip import Strip

from algotui.format import compact
from algotui.tui.render.axes import AxisLabels, axis_width
from algotui.tui.render.braille import draw_lines, expand, put_dots, scale
from algotui.tui.render.canvas import Canvas
from algotui.tui.render.palette import Palette
from algotui.view.state import RunState

__all__ = ["EquityColumns", "EquitySeries", "render_equity", "run_columns", "window_columns"]

_HALF_DOWN = np.array([" ", "▀", "█"])


class EquitySeries:
    """The state's equity points as growing numpy arrays, appended to, never rebuilt.

    :meth:`columns` bins them into screen columns incrementally too: a frame costs the points
    added since the last one, not the whole curve (until the width or the run length changes).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every point."""
        self.n = 0
        self.bar = np.zeros(0, dtype=np.int64)
        self.equity = np.zeros(0)
        self.drawdown = np.zeros(0)
        self.max_drawdown = 0.0
        self._bins: tuple[int, int] | None = None
        self._binned = 0
        self._last = np.zeros(0, dtype=np.int64)
        self._deepest = np.zeros(0)

    def sync(self, state: RunState) -> None:
        """Take in the points added to ``state`` since the last call."""
        n = min(len(state.equity), len(state.equity_bar), len(state.drawdown))
        if n < self.n:  # a different (or rewound) run: start over
            self.reset()
        if n == self.n:
            return
        if n > len(self.equity):
            cap = max(n, 2 * len(self.equity), 256)
            self.bar = np.resize(self.bar, cap)
            self.equity = np.resize(self.equity, cap)
            self.drawdown = np.resize(self.drawdown, cap)
        a = self.n
        self.bar[a:n] = state.equity_bar[a:n]
        self.equity[a:n] = state.equity[a:n]
        self.drawdown[a:n] = state.drawdown[a:n]
        self.max_drawdown = max(self.max_drawdown, float(np.nanmax(self.drawdown[a:n])))
        self.n = n

    def columns(self, cols: int, span: int) -> tuple[np.ndarray, np.ndarray]:
        """Per column of ``cols`` spanning bars 0..span-1: the equity (last point in or before
        the column; NaN past the newest point) and the deepest drawdown in the column."""
        if self._bins != (cols, span):
            self._bins = (cols, span)
            self._binned = 0
            self._last = np.full(cols, -1, dtype=np.int64)
            self._deepest = np.zeros(cols)
        a, n = self._binned, self.n
        if n > a:
            # Points come in bar order, so each column's new points are one run.
            col = np.clip(self.bar[a:n] * cols // max(span, 1), 0, cols - 1)
            starts = np.flatnonzero(np.diff(col, prepend=-1))
            ends = np.append(starts[1:], n - a) - 1
            where = col[starts]
            self._last[where] = a + ends
            deepest = np.maximum.reduceat(np.nan_to_num(self.drawdown[a:n]), starts)
            self._deepest[where] = np.maximum(self._deepest[where], deepest)
            self._binned = n
        last = np.maximum.accumulate(self._last)  # empty columns carry the previous point
        newest = int(np.clip(self.bar[n - 1] * cols // max(span, 1), 0, cols - 1)) if n else -1
        has = (last >= 0) & (np.arange(cols) <= newest)
        safe = np.maximum(last, 0)
        equity = np.where(has, self.equity[safe], np.nan)
        deepest = np.where(self._last >= 0, self._deepest, self.drawdown[safe])
        return equity, np.where(has, deepest, 0.0)

    def at(self, bars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Equity and drawdown of the nearest point at or before each of ``bars`` (NaN, 0 before
        the first point)."""
        k = np.searchsorted(self.bar[: self.n], bars, side="right") - 1
        has = k >= 0
        safe = np.maximum(k, 0)
        if self.n == 0:
            return np.full(len(bars), np.nan), np.zeros(len(bars))
        return np.where(has, self.equity[safe], np.nan), np.where(has, self.drawdown[safe], 0.0)


@dataclass
class EquityColumns:
    """Per column: equity, buy-and-hold value and drawdown (NaN where there is none yet)."""

    equity: np.ndarray
    hold: np.ndarray
    drawdown: np.ndarray
    label: str  # what the x axis spans: "window" or "whole run"


def _hold(state: RunState, bars: np.ndarray, initial: float) -> np.ndarray:
    """Buy and hold from the first close: ``initial * close / first close`` at each bar."""
    if state.bars == 0 or not (state.close[0] > 0):
        return np.full(len(bars), np.nan)
    ok = (bars >= 0) & (bars < state.bars)
    close = state.close[np.clip(bars, 0, state.bars - 1)]
    return np.where(ok, initial * close / state.close[0], np.nan)


def window_columns(
    series: EquitySeries, state: RunState, first: int, end: int, group: int, wide: bool,
    initial: float,
) -> EquityColumns:  # fmt: skip
    """The candle window's columns: bars ``first..end`` merged ``group`` per column (or one bar
    per two columns when ``wide``), each column valued at its last bar."""
    starts = np.arange(first, end + 1, group)
    last = np.minimum(starts + group, end + 1) - 1
    equity, drawdown = series.at(last)
    newest = int(series.bar[series.n - 1]) if series.n else -1
    beyond = last > max(newest, state.bars - 1)
    equity[beyond] = np.nan
    hold = _hold(state, last, initial)
    cols = EquityColumns(equity, hold, drawdown, "window")
    if wide:
        cols = EquityColumns(
            expand(equity, True), expand(hold, True), np.repeat(drawdown, 2), "window"
        )
    return cols


def run_columns(series: EquitySeries, state: RunState, cols: int, initial: float) -> EquityColumns:
    """The whole run over ``cols`` columns (the overview)."""
    n = series.n
    span = int(series.bar[n - 1]) + 1 if n else 1
    # The x axis is the whole run; with no known length, the next power of two (so the binning
    # is not redone on every frame).
    span = state.total_bars if state.total_bars >= span else 1 << (span - 1).bit_length()
    equity, drawdown = series.columns(cols, span)
    last = (np.arange(1, cols + 1) * span) // cols - 1
    hold = _hold(state, last, initial)
    hold[np.isnan(equity)] = np.nan
    return EquityColumns(equity, hold, drawdown, "whole run")


def render_equity(
    series: EquitySeries,
    columns: EquityColumns | None,
    initial: float | None,
    width: int,
    height: int,
    palette: Palette,
    cursor_x: int | None = None,
) -> list[Strip]:
    """Draw the title row, the buy-and-hold and equity lines over the initial-balance baseline,
    the drawdown hanging beneath, the axis labels, and the bar cursor's column (``cursor_x``)."""
    P = palette
    cv = Canvas(width, height)
    n = series.n
    if height == 0 or width == 0:
        return cv.strips(P.styles)
    if n == 0 or columns is None:
        cv.text(0, 0, "Equity  waiting for the first bar", P.MUTED)
        return cv.strips(P.styles)
    last_eq, last_dd = float(series.equity[n - 1]), float(series.drawdown[n - 1])
    base = initial if initial is not None and math.isfinite(initial) else float(series.equity[0])
    _title(cv, columns, base, last_eq, last_dd, series.max_drawdown, P)

    ax = axis_width(width)
    plot = width - ax
    avail = height - 1
    if plot < 4 or avail < 1:
        return cv.strips(P.styles)
    dd_rows = max(2, avail // 4) if avail >= 7 else 0
    rows = avail - dd_rows
    top = 1
    m = min(plot, len(columns.equity))
    values, hold, dd = columns.equity[:m], columns.hold[:m], columns.drawdown[:m]
    shown = np.concatenate([values[np.isfinite(values)], hold[np.isfinite(hold)], [base]])
    lo, hi = float(shown.min()), float(shown.max())
    pad = (hi - lo) * 0.08 or abs(hi) * 0.01 or 1.0
    lo, hi = lo - pad, hi + pad

    def row_of(v: float) -> int:
        return top + rows - 1 - min(rows - 1, max(0, int((v - lo) / (hi - lo) * rows)))

    br = row_of(base)
    cv.fill(br, 0, plot, "╌", P.FAINT)
    above = np.nan_to_num(values, nan=base) >= base
    equity_codes = np.where(above, P.BULL, P.BEAR).astype(np.int16)
    lines = [
        (scale(hold, lo, hi, 4 * rows), P.MUTED),
        (scale(values, lo, hi, 4 * rows), equity_codes),
    ]
    put_dots(cv, top, *draw_lines(lines, rows, m))

    if dd_rows:  # drawdown: an area hanging from the top of its band, at half-cell resolution
        dtop = top + rows
        # One scale for the run (its deepest drawdown so far), so panning does not rescale it.
        depth = max(series.max_drawdown, float(np.nanmax(dd)) if len(dd) else 0.0, 1e-9)
        halves = np.ceil(np.clip(np.nan_to_num(dd) / depth, 0, 1) * 2 * dd_rows).astype(int)
        for j in range(dd_rows):
            fill = np.clip(halves - 2 * j, 0, 2)
            on = fill > 0
            cv.chars[dtop + j, :m][on] = _HALF_DOWN[fill[on]]
            cv.codes[dtop + j, :m][on] = P.SHADE
    if cursor_x is not None and 0 <= cursor_x < plot:
        column = cv.chars[top:height, cursor_x]
        blank = column == " "
        column[blank] = "┊"
        cv.codes[top:height, cursor_x][blank] = P.CURSOR
    if ax:
        axis = AxisLabels(cv, plot, top, height - top, P.MUTED)
        lw = axis.width
        last_code = P.BULL_LABEL if last_eq >= base else P.BEAR_LABEL
        axis.put(row_of(last_eq) - top, compact(last_eq, 2, lw), last_code, pad=True)
        axis.put(br - top, compact(base, 2, lw), P.MUTED)
        axis.put(0, compact(hi - pad, 2, lw), P.MUTED)
        axis.put(rows - 1, compact(lo + pad, 2, lw), P.MUTED)
        if dd_rows:
            axis.put(rows, "DD 0%", P.MUTED)
            if dd_rows > 1 and depth > 1e-9:
                axis.put(rows + dd_rows - 1, f"-{depth:.1f}%", P.BEAR)
    return cv.strips(P.styles)


def _title(
    cv: Canvas, columns: EquityColumns, base: float, last_eq: float, last_dd: float,
    max_dd: float, P: Palette,
) -> None:  # fmt: skip
    """Equity 12,345.67 +23.4%  B&H +12.0%  DD 3.2% (max 12.1%)   window | whole run (e)"""
    x = cv.text(0, 0, "Equity ", P.TITLE)
    x = cv.text(0, x, compact(last_eq, 2, 14), P.BULL if last_eq >= base else P.BEAR)
    if base:
        change = (last_eq / base - 1) * 100
        x = cv.text(0, x, f" {change:+.1f}%", P.BULL if change >= 0 else P.BEAR)
        held = columns.hold[np.isfinite(columns.hold)]
        if len(held):
            x = cv.text(0, x, "  B&H ", P.MUTED)
            x = cv.text(0, x, f"{(float(held[-1]) / base - 1) * 100:+.1f}%", P.MUTED)
    x = cv.text(0, x, "  DD ", P.MUTED)
    x = cv.text(0, x, f"{last_dd:.1f}%", P.BEAR if last_dd > 0 else P.MUTED)
    tag = f" {columns.label} (e) "
    worst = f" (max {max_dd:.1f}%)"
    if x + len(worst) + len(tag) <= cv.width:  # the view's name before the worst drawdown
        x = cv.text(0, x, worst, P.MUTED)
    if x + len(tag) <= cv.width:
        cv.text(0, cv.width - len(tag), tag, P.MUTED)
