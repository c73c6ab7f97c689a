"""Axes: round tick values, label decimals, time labels, and a price-axis label writer."""

import math
import re
from collections.abc import Callable

import numpy as np

from algotui.tui.render.canvas import Canvas

__all__ = [
    "AXIS_WIDTH",
    "AxisLabels",
    "axis_width",
    "decimals_for",
    "interval_seconds",
    "label_decimals",
    "nice_ticks",
    "nice_up",
    "span_seconds",
    "time_axis",
    "time_format",
]

AXIS_WIDTH = 10  # the price axis: one column for the axis line, nine for the labels


def axis_width(width: int) -> int:
    """Columns of the price axis for a widget ``width`` wide (none when very narrow)."""
    return AXIS_WIDTH if width >= 40 else 0


def nice_ticks(lo: float, hi: float, count: int) -> tuple[list[float], float]:
    """About ``count`` round values (1, 2, 2.5, 5 x 10^k apart) within [lo, hi], and the step."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0) or count < 1:
        return [], 0.0
    raw = span / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw * 0.999)
    first = math.ceil(lo / step) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9 and len(ticks) < 200:
        ticks.append(round(v, 12))
        v = first + step * len(ticks)
    return ticks, step


def decimals_for(step: float) -> int:
    """Digits after the point needed to print multiples of ``step`` exactly."""
    if not (math.isfinite(step) and step > 0):
        return 2
    for d in range(10):
        if abs(round(step, d) - step) <= step * 1e-6:
            return d
    return 10


def label_decimals(value: float, step: float) -> int:
    """Decimals for a price label: those of the tick step, at least 2 (more for tiny prices)."""
    d = max(decimals_for(step), 2)
    a = abs(value)
    if 0 < a < 1:
        d = max(d, 2 - math.floor(math.log10(a)) + 1)
    return min(d, 8)


class AxisLabels:
    """Labels right of an axis line at column ``x``, one per row, never two on one row."""

    def __init__(self, cv: Canvas, x: int, top: int, rows: int, line_code: int) -> None:
        self.cv, self.x, self.top, self.rows = cv, x, top, rows
        self.width = cv.width - x - 1
        self.taken: set[int] = set()
        if self.width >= 1:
            cv.chars[top : top + rows, x] = "│"
            cv.codes[top : top + rows, x] = line_code

    def put(self, r: int, text: str, code: int, *, pad: bool = False, near: int = 0) -> bool:
        """Label row ``r`` (relative to ``top``) unless it is taken (or within ``near`` rows
        of a taken one); ``pad`` fills the label's width (a highlighted last value)."""
        if self.width < 1 or not 0 <= r < self.rows:
            return False
        if any(abs(r - t) <= near for t in self.taken):
            return False
        text = text[: self.width]
        self.cv.text(self.top + r, self.x + 1, text.ljust(self.width) if pad else text, code)
        self.cv.chars[self.top + r, self.x] = "┤"
        self.taken.add(r)
        return True


# -- time labels ---------------------------------------------------------------------------------

_UNITS = {
    "s": 1, "sec": 1, "m": 60, "min": 60, "t": 60, "h": 3600, "hr": 3600,
    "d": 86400, "day": 86400, "w": 604800, "wk": 604800, "mo": 2629746, "mon": 2629746,
    "q": 7889238, "y": 31556952,
}  # fmt: skip


def interval_seconds(interval: str | None) -> float | None:
    """Seconds per bar of an interval like ``1d``, ``15m`` (minutes), ``1wk``, ``1mo``, ``1h``."""
    if not interval:
        return None
    m = re.fullmatch(r"\s*(\d*)\s*([a-zA-Z]+)\s*", interval)
    if not m:
        return None
    unit = m.group(2).lower()
    if unit not in _UNITS and unit.endswith("s"):
        unit = unit[:-1]
    seconds = _UNITS.get(unit)
    return None if seconds is None else seconds * int(m.group(1) or 1)


def span_seconds(first: str, last: str, bars: int) -> float | None:
    """Seconds per bar estimated from the first and last timestamps of ``bars`` bars."""
    if bars < 2:
        return None
    try:
        a = np.datetime64(first[:19])
        b = np.datetime64(last[:19])
    except ValueError:
        return None
    return float((b - a) / np.timedelta64(1, "s")) / (bars - 1) or None


def time_format(seconds_between_labels: float) -> tuple[slice, int]:
    """Which part of an ISO timestamp to show for labels that far apart: (slice, width)."""
    if seconds_between_labels < 86400:
        return slice(11, 16), 5  # 14:30
    if seconds_between_labels < 28 * 86400:
        return slice(5, 10), 5  # 04-17
    if seconds_between_labels < 330 * 86400:
        return slice(0, 7), 7  # 2023-04
    return slice(0, 4), 4  # 2023


def nice_up(n: int) -> int:
    """The smallest of 1, 2, 3, 5, 6, 10, 12, 15, 20, 24, 30, 50... that is at least ``n``."""
    for nice in (1, 2, 3, 5, 6, 10, 12, 15, 20, 24, 30, 50, 60, 100, 120, 200, 250, 500):
        if nice >= n:
            return nice
    return n


def time_axis(
    cv: Canvas,
    row: int,
    plot: int,
    xs: np.ndarray,
    step: int,
    first_group: int,
    per_item: float,
    time_of_item: Callable[[int], str],
    code: int,
) -> None:
    """Time labels on ``row`` at items whose group index is a round multiple.

    ``per_item`` is the seconds one item (column or column pair) spans; ``time_of_item(k)``
    gives the ISO time of item ``k``'s first bar (called only for labelled items).
    """
    items = len(xs)
    if items == 0:
        return
    every = nice_up(math.ceil(8 / step))
    fmt, width = time_format(per_item * every)
    if width > 5:
        every = nice_up(math.ceil((width + 3) / step))
    prev_date = ""
    for k in range((-first_group) % every, items, every):
        x = int(xs[k])
        if x + width > plot:
            break
        stamp = time_of_item(k)
        label = stamp[fmt]
        if fmt.start == 11:  # times of day: show the date where it changes
            date = stamp[:10]
            if prev_date and date != prev_date:
                label = stamp[5:10]
            prev_date = date
        cv.text(row, x, label, code, plot)
