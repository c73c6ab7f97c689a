"""The equity curve and drawdown of a run, as a line-API widget built with numpy.

Like :class:`~algotui.tui.widgets.chart.CandleChart`, a frame is built once per change into one
Strip per row and ``render_line`` returns the cached strip. The equity points are copied out of
the state's lists incrementally, so a frame never converts the whole history again.
"""

import math

import numpy as np
from textual.strip import Strip

from algotui.tui.widgets.chart import BLOCKS8, Canvas, FrameWidget, Palette, axis_width, fmt_num
from algotui.view.state import RunState

__all__ = ["EquityChart", "EquitySeries", "render_equity"]

_HALF_DOWN = np.array([" ", "▀", "█"])
_BLOCKS = np.array(list(BLOCKS8))


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
        if n < self.n:  # a different (or restarted) run: start over
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


def render_equity(
    series: EquitySeries,
    total_bars: int,
    initial: float | None,
    width: int,
    height: int,
    palette: Palette,
) -> list[Strip]:
    """Draw the equity area, its baseline, the drawdown band and the title row."""
    P = palette
    cv = Canvas(width, height)
    n = series.n
    equity, drawdown, max_drawdown = series.equity, series.drawdown, series.max_drawdown
    if height == 0 or width == 0:
        return cv.strips(P.styles)
    if n == 0:
        cv.text(0, 0, "Equity  waiting for the first bar", P.MUTED)
        return cv.strips(P.styles)

    last_eq, last_dd = float(equity[n - 1]), float(drawdown[n - 1])
    base = initial if initial is not None and math.isfinite(initial) else float(equity[0])

    # Title: Equity 12,345.67  +23.4%  DD 3.2% (max 12.1%)
    x = cv.text(0, 0, "Equity ", P.TITLE)
    x = cv.text(0, x, fmt_num(last_eq, 2, 14), P.BULL if last_eq >= base else P.BEAR)
    if base:
        change = (last_eq / base - 1) * 100
        x = cv.text(0, x, f"  {change:+.1f}%", P.BULL if change >= 0 else P.BEAR)
    x = cv.text(0, x, "  DD ", P.MUTED)
    x = cv.text(0, x, f"{last_dd:.1f}%", P.BEAR if last_dd > 0 else P.MUTED)
    cv.text(0, x, f" (max {max_drawdown:.1f}%)", P.MUTED)

    ax = axis_width(width)
    plot = width - ax
    avail = height - 1
    if plot < 4 or avail < 1:
        return cv.strips(P.styles)
    dd_rows = max(2, avail // 4) if avail >= 7 else 0
    rows = avail - dd_rows
    top = 1

    span = int(series.bar[n - 1]) + 1
    # The x axis is the whole run; with no known length, the next power of two (so the binning
    # is not redone on every frame).
    span = total_bars if total_bars >= span else 1 << (span - 1).bit_length()
    values, dd = series.columns(plot, span)
    has = ~np.isnan(values)

    # Equity area at 1/8-cell resolution: $primary up to the initial balance, $success above.
    lo = float(min(np.nanmin(values), base))
    hi = float(max(np.nanmax(values), base))
    pad = (hi - lo) * 0.08 or abs(hi) * 0.01 or 1.0
    lo, hi = lo - pad, hi + pad

    def row_of(v: float) -> int:
        return top + rows - 1 - min(rows - 1, max(0, int((v - lo) / (hi - lo) * rows)))

    br = row_of(base)
    eighths = np.where(has, np.round((values - lo) / (hi - lo) * 8 * rows), 0).astype(int)
    for j in range(rows):
        fill = np.clip(eighths - 8 * j, 0, 8)
        r = top + rows - 1 - j
        on = fill > 0
        cv.chars[r, :plot][on] = _BLOCKS[fill[on]]
        cv.codes[r, :plot][on] = P.BULL if r < br else P.PRIMARY

    # Dashed baseline where the area does not cover it.
    blank = cv.chars[br, :plot] == " "
    cv.chars[br, :plot][blank] = "╌"
    cv.codes[br, :plot][blank] = P.MUTED

    # Drawdown: an area hanging from the top of its band, at half-cell resolution.
    if dd_rows:
        dtop = top + rows
        depth = max(max_drawdown, 1e-9)
        halves = np.ceil(np.clip(dd / depth, 0, 1) * 2 * dd_rows).astype(int)
        for j in range(dd_rows):
            fill = np.clip(halves - 2 * j, 0, 2)
            on = fill > 0
            cv.chars[dtop + j, :plot][on] = _HALF_DOWN[fill[on]]
            cv.codes[dtop + j, :plot][on] = P.BEAR

    # Axis: max, min, initial balance, last value, drawdown scale.
    if ax:
        lw = ax - 1
        cv.chars[top:height, plot] = "│"
        cv.codes[top:height, plot] = P.MUTED
        taken: set[int] = set()
        shown: set[str] = set()

        def label(r: int, text: str, code: int, force: bool = False) -> None:
            text = text[:lw]
            if not force and (r in taken or text in shown):
                return
            cv.text(r, plot + 1, text.ljust(lw) if force else text, code)
            cv.chars[r, plot] = "┤"
            taken.add(r)
            shown.add(text)

        last_code = P.BULL_LABEL if last_eq >= base else P.BEAR_LABEL
        label(row_of(last_eq), fmt_num(last_eq, 2, lw), last_code, force=True)
        label(br, fmt_num(base, 2, lw), P.MUTED)
        label(top, fmt_num(hi - pad, 2, lw), P.MUTED)
        label(top + rows - 1, fmt_num(lo + pad, 2, lw), P.MUTED)
        if dd_rows:
            cv.text(top + rows, plot + 1, "DD 0%", P.MUTED)
            cv.chars[top + rows, plot] = "┤"
            bottom = top + rows + dd_rows - 1
            if dd_rows > 1 and max_drawdown > 0:
                cv.text(bottom, plot + 1, f"-{max_drawdown:.1f}%"[:lw], P.BEAR)
                cv.chars[bottom, plot] = "┤"
    return cv.strips(P.styles)


class EquityChart(FrameWidget):
    """The run's equity curve and drawdown.

    Draws a title row ("Equity 12,345.67  +23.4%  DD 3.2% (max 12.1%)"), the equity as a
    filled area at 1/8-cell resolution (``$success`` above the initial balance, ``$error``
    below) with a dashed baseline at the initial balance, the drawdown as an area hanging
    from the top of a band below it, and axis labels for the max, min, initial and last values.
    The x axis spans the whole run (``total_bars``), so the curve grows as the run plays.
    """

    DEFAULT_CSS = """
    EquityChart {
        width: 1fr;
        height: 1fr;
        min-height: 3;
        background: $surface;
        color: $foreground;
    }
    """

    def __init__(
        self,
        state: RunState,
        *,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(state, id=id, classes=classes)
        self.series = EquitySeries()

    def _data_key(self) -> tuple:
        return (self.state.version, len(self.state.equity))

    def _view_key(self) -> tuple:
        return (
            self.size.width,
            self.size.height,
            self.app.theme,
            self._style_epoch,
        )

    def build_frame(self) -> list[Strip]:
        """Draw the current frame (uncached)."""
        self.series.sync(self.state)
        initial = self.state.meta.get("initial_balance")
        w, h = self.size
        return render_equity(
            self.series,
            self.state.total_bars,
            float(initial) if initial is not None else None,
            w,
            h,
            self.palette(),
        )
