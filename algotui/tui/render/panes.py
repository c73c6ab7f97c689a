"""Sub-panes under the candles: indicators that do not share the price's scale (RSI, MACD...).

Indicators whose ranges are alike share a pane (MACD line, signal and histogram); others get a
pane and an axis of their own (:func:`group_by_range`). Guide lines are drawn only at the levels
the strategy declared (``self.indicator(..., levels=(30, 70))``).
"""

import math

import numpy as np

from algotui.format import compact
from algotui.tui.render.axes import AxisLabels, decimals_for, nice_ticks
from algotui.tui.render.braille import draw_lines, expand, put_dots, scale, scale1
from algotui.tui.render.canvas import Canvas
from algotui.tui.render.palette import Palette
from algotui.tui.render.window import PaneGroup

__all__ = ["HALF_BLOCKS", "RangeTracker", "draw_pane", "group_by_range", "similar_ranges"]

HALF_BLOCKS = np.array(list(" ▀▄█"))


class RangeTracker:
    """The lowest and highest value of each indicator over the bars seen, kept up to date by
    looking only at the bars added since the last call. A rewind keeps them: the grouping
    they decide stays put while the user seeks."""

    def __init__(self) -> None:
        self.seen = 0
        self.ranges: dict[str, tuple[float, float]] = {}

    def update(
        self, indicators: dict[str, np.ndarray], bars: int
    ) -> dict[str, tuple[float, float]]:
        """Take in bars ``seen..bars-1`` of every series; returns name -> (lo, hi)."""
        if set(indicators) != set(self.ranges):
            self.seen = 0
            self.ranges = {name: (math.inf, -math.inf) for name in indicators}
        if bars > self.seen:
            for name, values in indicators.items():
                chunk = values[self.seen : bars]
                lo, hi = self.ranges[name]
                with np.errstate(invalid="ignore"):
                    if np.isfinite(chunk).any():
                        lo = min(lo, float(np.nanmin(chunk)))
                        hi = max(hi, float(np.nanmax(chunk)))
                self.ranges[name] = (lo, hi)
            self.seen = bars
        return self.ranges


def similar_ranges(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """True if two value ranges can share one axis: most of the narrower lies inside the wider,
    and neither is more than ten times the other's span (MACD, its signal and its histogram:
    yes; RSI 0-100 and MACD +-2: no)."""
    if not (math.isfinite(a[0]) and math.isfinite(b[0])):
        return True  # nothing known yet: keep together until it is
    sa, sb = a[1] - a[0], b[1] - b[0]
    big, small = max(sa, sb), min(sa, sb)
    overlap = min(a[1], b[1]) - max(a[0], b[0])
    if big <= 0:  # flat series: together only if they sit at about the same value
        return abs(a[0] - b[0]) <= max(abs(a[0]), abs(b[0]), 1e-12) * 0.5
    return small * 10 >= big and overlap >= 0.5 * small


def group_by_range(
    names: list[str], ranges: dict[str, tuple[float, float]], levels: dict[str, list[float]]
) -> list[list[str]]:
    """Indicators in groups that share a scale, in declaration order (each joins the first
    group whose combined range, declared levels included, is like its own)."""
    groups: list[tuple[list[str], list[float]]] = []  # members, [lo, hi]
    for name in names:
        lo, hi = ranges.get(name, (math.inf, -math.inf))
        for level in levels.get(name, []):
            lo, hi = min(lo, level), max(hi, level)
        for members, bounds in groups:
            if similar_ranges((lo, hi), (bounds[0], bounds[1])):
                members.append(name)
                bounds[0], bounds[1] = min(bounds[0], lo), max(bounds[1], hi)
                break
        else:
            groups.append(([name], [lo, hi]))
    return [members for members, _ in groups]


def draw_pane(
    cv: Canvas, group: PaneGroup, last: np.ndarray, wide: bool, top: int, rows: int,
    plot: int, xs: np.ndarray, cols: int, P: Palette,
) -> None:  # fmt: skip
    """One sub-pane from row ``top``: its rule (with the names and last values) above it, the
    declared guide levels, the lines (histograms as bars from zero) and its own axis."""
    width = cv.width
    series = [(name, vals[last]) for name, vals in group.series]
    rule = top - 1
    cv.fill(rule, 0, width, "─", P.MUTED)
    if plot < width:
        cv.chars[rule, plot] = "┼"

    finite = [v[np.isfinite(v)] for _, v in series]
    finite = [f for f in finite if len(f)]
    lo = min([float(f.min()) for f in finite] + group.levels, default=0.0)
    hi = max([float(f.max()) for f in finite] + group.levels, default=1.0)
    span = (hi - lo) or abs(hi) * 0.02 or 1.0
    lo, hi = lo - span * 0.05, hi + span * 0.05

    def row_of(v: float) -> int:
        return rows - 1 - scale1(v, lo, hi, rows)

    for v in group.levels:
        cv.fill(top + row_of(v), 0, plot, "┄", P.FAINT)

    lines: list[tuple[np.ndarray, int]] = []
    x = 1
    for i, (name, vals) in enumerate(series):
        code = P.series(group.colors[i] if i < len(group.colors) else i)
        shown = vals[np.isfinite(vals)]
        label = f" {name} {compact(float(shown[-1]), 2, 9) if len(shown) else '-'} "
        hist = "hist" in name.lower()
        left = len(series) - i - 1
        room = plot - (len(f" …+{left}") if left else 0)
        if x + len(label) <= room:
            x = cv.text(rule, x, label, P.MUTED if hist else code, plot)
        elif x < plot:  # no room for every name: say how many are left out
            x = cv.text(rule, x, f" …+{left + 1}", P.MUTED, plot)
            x = plot
        if hist:
            _histogram(cv, vals, lo, hi, top, rows, xs, P)
            continue
        lines.append((scale(expand(vals, wide), lo, hi, 4 * rows), code))
    put_dots(cv, top, *draw_lines(lines, rows, cols))

    axis = AxisLabels(cv, plot, top, rows, P.MUTED)
    _, step = nice_ticks(lo, hi, 4)
    d = min(decimals_for(step), 2)
    for v in group.levels:
        axis.put(row_of(v), compact(v, d, axis.width), P.MUTED)
    axis.put(0, compact(hi, d, axis.width), P.MUTED)
    axis.put(rows - 1, compact(lo, d, axis.width), P.MUTED)


def _histogram(
    cv: Canvas, vals: np.ndarray, lo: float, hi: float, top: int, rows: int, xs: np.ndarray,
    P: Palette,
) -> None:  # fmt: skip
    """Bars from zero at half-cell resolution, coloured by sign. Half k is filled when its
    centre lies between zero and the value."""
    halves = 2 * rows
    with np.errstate(invalid="ignore"):
        zb = (0.0 - lo) / (hi - lo) * halves
        vb = np.clip((vals - lo) / (hi - lo) * halves, 0, halves)
        a = np.nan_to_num(np.ceil(np.fmin(vb, zb) - 0.5), nan=1).astype(int)
        b = np.nan_to_num(np.ceil(np.fmax(vb, zb) - 0.5) - 1, nan=0).astype(int)
    upper = (2 * (rows - 1 - np.arange(rows)) + 1)[:, None]
    lower = upper - 1
    cell = ((a <= upper) & (upper <= b)) * 1 + ((a <= lower) & (lower <= b)) * 2
    on = cell > 0
    sign = np.where(np.nan_to_num(vals) >= 0, P.BULL, P.BEAR)
    sub_c = cv.chars[top : top + rows][:, xs]
    sub_s = cv.codes[top : top + rows][:, xs]
    sub_c[on] = HALF_BLOCKS[cell][on]
    sub_s[on] = np.broadcast_to(sign, on.shape)[on]
    cv.chars[top : top + rows, xs] = sub_c
    cv.codes[top : top + rows, xs] = sub_s
