"""The candlestick chart: a line-API widget drawing the visible window of a run with numpy.

The whole frame is built once per change (new bars, resize, zoom, pan, theme, volume toggle)
into one :class:`~textual.strip.Strip` per row; ``render_line`` only returns the cached strip.
Only the visible window of the history is sliced and drawn, so a million bars of history cost
what a thousand do.

The building blocks (:class:`Palette`, :class:`Canvas`, :func:`nice_ticks`, :func:`fmt_num`,
:func:`braille_line`) are shared with :mod:`algotui.tui.widgets.equity`.
"""

import math
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual.app import App
from textual.color import Color
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from algotui.view.state import Marker, RunState

__all__ = [
    "AXIS_WIDTH",
    "ZOOM_LEVELS",
    "Canvas",
    "CandleChart",
    "ChartWindow",
    "Palette",
    "fmt_num",
    "item_count",
    "nice_ticks",
    "render_frame",
]

#: Zoom levels in bars per column. 0.5 draws each candle one column wide followed by a
#: one-column gap (easier to read, half as many bars); N > 1 merges N bars into one column.
ZOOM_LEVELS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256)
AXIS_WIDTH = 10  # the price axis: one column for the axis line, nine for the labels

BLOCKS8 = " ▁▂▃▄▅▆▇█"
_BLOCKS8 = np.array(list(BLOCKS8))
BRAILLE = np.array([chr(0x2800 + i) for i in range(256)])
# Braille dot bits for the four sub-rows of a cell, bottom (0) to top (3).
_LEFT_BITS = (0x40, 0x04, 0x02, 0x01)
_RIGHT_BITS = (0x80, 0x20, 0x10, 0x08)
# Candle cell glyph by code: 1 body in the upper half, 2 body lower, 4 wick upper, 8 wick lower.
# Where a half holds the body and the other half a wick, the body wins.
_CANDLE = np.array(list(" ▀▄█╵▀▄█╷▀▄█│▀▄█"))

_MARK_GLYPH = {"long_entry": "▲", "short_entry": "▼", "exit": "✕"}

# -- theme colours -------------------------------------------------------------------------------


def theme_colors(app: App[Any]) -> dict[str, str]:
    """The current theme's colour variables ($primary, $success, ...), as CSS text."""
    theme = app.current_theme
    return {**theme.to_color_system().generate(), **theme.variables}


def _readable(color: Color, background: Color, contrast: float) -> Color:
    """``color`` lightened (dark background) or darkened until it stands out enough."""
    for _ in range(8):
        if abs(color.brightness - background.brightness) >= contrast:
            break
        color = color.lighten(0.08) if background.brightness < 0.5 else color.darken(0.08)
    return color


def _distinct(a: Color, b: Color) -> bool:
    """True if two colours tell apart as lines: different hues, or grey against colour."""
    ha, hb = a.hsl, b.hsl
    if ha.s > 0.2 and hb.s > 0.2:
        d = abs(ha.h - hb.h)
        return min(d, 1 - d) > 0.07 or abs(ha.l - hb.l) > 0.3
    return (ha.s > 0.2) != (hb.s > 0.2) or abs(ha.l - hb.l) > 0.3


class Palette:
    """Rich styles made from the theme, indexed by small integers so a frame is a grid of ints.

    Index 0 is the widget's own style (its background and text colour); the named constants
    below are the others; ``series(i)`` is the style of the i-th indicator line.
    """

    BASE, BULL, BEAR, MUTED, FG, LONG, SHORT, EXIT, WARN, TITLE = range(10)
    BULL_LABEL, BEAR_LABEL, FOLLOW, PAN, FAINT, PRIMARY = range(10, 16)
    SERIES = 16
    #: Theme variables tried, in order, for indicator lines (near-duplicates are skipped).
    SERIES_VARIABLES = ("primary", "accent", "secondary", "warning", "foreground")

    def __init__(self, colors: dict[str, str], base: Style, background: Color | None) -> None:
        def get(name: str, fallback: str) -> Color:
            try:
                return Color.parse(colors.get(name, fallback))
            except Exception:  # an unparsable theme value: fall back rather than crash
                return Color.parse(fallback)

        bg = background if background is not None and background.a > 0 else None
        if bg is None:
            bg = get("background", "#000000")
        bg = bg.with_alpha(1.0)
        fg = bg + get("foreground", "#e0e0e0")

        def color(name: str, fallback: str, contrast: float = 0.25) -> Color:
            return _readable(bg + get(name, fallback), bg, contrast)

        bull, bear = color("success", "#4ebf71"), color("error", "#ba3c5b")
        warning = color("warning", "#ffa62b")
        muted = bg.blend(fg, 0.55)
        faint = bg.blend(fg, 0.3)
        mark_bg = bg.blend(fg, 0.2)  # fill markers sit on a patch so they read on a candle
        series: list[Color] = []
        for name in self.SERIES_VARIABLES:
            c = color(name, "#0178d4", 0.3)
            if all(_distinct(c, other) for other in (*series, bull, bear)):
                series.append(c)
        if len(series) < 2:
            series += [muted, warning]
        self.background = bg
        self.series_colors = series

        def st(c: Color, **kw: Any) -> Style:
            return base + Style(color=c.rich_color, **kw)

        self.styles: list[Style] = [
            base,
            st(bull),
            st(bear),
            st(muted),
            st(fg),
            st(bull, bold=True, bgcolor=mark_bg.rich_color),
            st(bear, bold=True, bgcolor=mark_bg.rich_color),
            st(warning, bold=True, bgcolor=mark_bg.rich_color),
            st(warning),
            st(fg, bold=True),
            base + Style(color=bg.rich_color, bgcolor=bull.rich_color, bold=True),
            base + Style(color=bg.rich_color, bgcolor=bear.rich_color, bold=True),
            st(bull, bold=True, reverse=True),
            st(warning, bold=True, reverse=True),
            st(faint),
            st(color("primary", "#0178d4")),
        ]
        self.styles += [st(c) for c in series]

    def series(self, i: int) -> int:
        """Style index of the i-th indicator line (colours cycle)."""
        return self.SERIES + i % len(self.series_colors)


# -- the canvas ----------------------------------------------------------------------------------


class Canvas:
    """A grid of single-cell characters and style indices, turned into one Strip per row."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.height = height
        self.chars = np.full((height, width), " ", dtype="<U1")
        self.codes = np.zeros((height, width), dtype=np.int16)

    def text(self, y: int, x: int, text: str, code: int, limit: int | None = None) -> int:
        """Write ``text`` at (x, y), clipped at column ``limit`` (default: the width)."""
        end = min(self.width if limit is None else limit, x + len(text))
        if not 0 <= y < self.height or end <= x or x < 0:
            return x
        self.chars[y, x:end] = list(text[: end - x])
        self.codes[y, x:end] = code
        return end

    def strips(self, styles: list[Style]) -> list[Strip]:
        """The rows as Strips, one Segment per run of equal style.

        A blank cell takes the style of the cell before it when both have the base background,
        so "█ █" in one colour is one run, not three.
        """
        h, w = self.height, self.width
        if h == 0 or w == 0:
            return [Strip.blank(w, styles[0]) for _ in range(h)]
        codes = self.codes
        plain_bg = np.array([st.bgcolor == styles[0].bgcolor for st in styles])
        mergeable = (self.chars == " ") & plain_bg[codes]
        if mergeable.any():
            pos = np.where(mergeable, -1, np.arange(w))
            np.maximum.accumulate(pos, axis=1, out=pos)
            rows = np.arange(h)[:, None]
            source = codes[rows, np.maximum(pos, 0)]
            take = mergeable & (pos >= 0) & plain_bg[source]
            codes = np.where(take, source, codes)
        flat = codes.ravel()
        start = np.ones(h * w, dtype=bool)
        start[1:] = flat[1:] != flat[:-1]
        start[::w] = True
        starts = np.flatnonzero(start)
        ends = np.append(starts[1:], h * w)
        per_row = np.searchsorted(starts, np.arange(0, h * w + 1, w)).tolist()
        text = str(np.ascontiguousarray(self.chars).reshape(-1).view(f"<U{h * w}")[0])
        segments = [
            Segment(text[a:b], styles[i])
            for a, b, i in zip(starts.tolist(), ends.tolist(), flat[starts].tolist(), strict=True)
        ]
        return [Strip(segments[per_row[y] : per_row[y + 1]], w) for y in range(h)]


# -- numbers -------------------------------------------------------------------------------------


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


def fmt_num(value: float, decimals: int = 2, width: int = 9) -> str:
    """A compact number in at most ``width`` cells: 123.45, 1,234.5, 0.01234, 1.23M."""
    if not math.isfinite(value):
        return "-"
    for d in range(decimals, -1, -1):
        s = f"{value:,.{d}f}"
        if len(s) <= width:
            return s
    for div, suffix in ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        v = value / div
        if abs(v) >= 999.5 and suffix != "T":
            continue
        for d in (2, 1, 0):
            s = f"{v:,.{d}f}{suffix}"
            if len(s) <= width:
                return s
    return f"{value:.1e}"


def label_decimals(value: float, step: float) -> int:
    """Decimals for a price label: those of the tick step, at least 2 (more for tiny prices)."""
    d = max(decimals_for(step), 2)
    a = abs(value)
    if 0 < a < 1:
        d = max(d, 2 - math.floor(math.log10(a)) + 1)
    return min(d, 8)


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


def _span_seconds(times: list[str]) -> float | None:
    """Seconds per bar estimated from the first and last timestamps of the window."""
    if len(times) < 2:
        return None
    try:
        a = np.datetime64(times[0][:19])
        b = np.datetime64(times[-1][:19])
    except ValueError:
        return None
    return float((b - a) / np.timedelta64(1, "s")) / (len(times) - 1) or None


def time_format(seconds_between_labels: float) -> tuple[slice, int]:
    """Which part of an ISO timestamp to show for labels that far apart: (slice, width)."""
    if seconds_between_labels < 86400:
        return slice(11, 16), 5  # 14:30
    if seconds_between_labels < 28 * 86400:
        return slice(5, 10), 5  # 04-17
    if seconds_between_labels < 330 * 86400:
        return slice(0, 7), 7  # 2023-04
    return slice(0, 4), 4  # 2023


# -- drawing primitives --------------------------------------------------------------------------


def braille_line(q: np.ndarray, rows: int) -> np.ndarray:
    """Braille dot codes (rows x len(q)) of a continuous line through sub-row positions ``q``.

    ``q`` holds, per column, the line's height in quarter cells (0 = bottom of the lowest row,
    ``4 * rows - 1`` = top; NaN = no value). Each column's left dots run from the midpoint with
    the previous value to its own value, its right dots on to the midpoint with the next, so
    steep moves stay connected.
    """
    m = len(q)
    if m == 0 or rows <= 0:
        return np.zeros((rows, m), dtype=np.int32)
    top = 4 * rows - 1
    q = np.clip(q, 0, top)
    valid = ~np.isnan(q)
    prev = np.concatenate(([np.nan], q[:-1]))
    nxt = np.concatenate((q[1:], [np.nan]))
    mid_prev = np.where(np.isnan(prev), q, (prev + q) / 2)
    mid_next = np.where(np.isnan(nxt), q, (nxt + q) / 2)
    q = np.where(valid, q, 0)
    mid_prev = np.where(valid, mid_prev, 0)
    mid_next = np.where(valid, mid_next, 0)
    # Per column, the contiguous sub-row spans of the left and right dots (empty if invalid).
    l_lo = np.where(valid, np.ceil(np.minimum(q, mid_prev)), top + 1).astype(np.int32)
    l_hi = np.floor(np.maximum(q, mid_prev)).astype(np.int32)
    r_lo = np.where(valid, np.ceil(np.minimum(q, mid_next)), top + 1).astype(np.int32)
    r_hi = np.floor(np.maximum(q, mid_next)).astype(np.int32)
    bottom = (4 * (rows - 1 - np.arange(rows, dtype=np.int32)))[:, None]
    return _span_bits(l_lo - bottom, l_hi - bottom, _LEFT_SPAN) | _span_bits(
        r_lo - bottom, r_hi - bottom, _RIGHT_SPAN
    )


def _span_bits(lo: np.ndarray, hi: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Dot bits of the sub-rows lo..hi (relative to each cell's bottom) that fall in the cell."""
    a = np.clip(lo, 0, 4)
    b = np.clip(hi, -1, 3)
    return np.where(a <= b, table[np.minimum(a, 3), np.maximum(b, 0)], 0)


def _span_table(bits: tuple[int, ...]) -> np.ndarray:
    table = np.zeros((4, 4), dtype=np.int32)
    for a in range(4):
        for b in range(a, 4):
            table[a, b] = sum(bits[a : b + 1])
    return table


_LEFT_SPAN = _span_table(_LEFT_BITS)
_RIGHT_SPAN = _span_table(_RIGHT_BITS)


def _expand(values: np.ndarray, wide: bool) -> np.ndarray:
    """Per-item values spread over columns; in wide mode the gap column gets the midpoint."""
    if not wide:
        return values
    out = np.full(2 * len(values), np.nan)
    out[0::2] = values
    out[1:-1:2] = (values[:-1] + values[1:]) / 2
    return out


def _scale1(value: float, lo: float, hi: float, steps: int) -> int:
    """One value mapped to 0..steps-1, ``lo`` at 0."""
    return min(steps - 1, max(0, math.floor((value - lo) / (hi - lo) * steps)))


def _scale(values: np.ndarray, lo: float, hi: float, steps: int) -> np.ndarray:
    """Values mapped to 0..steps-1 (float, NaN kept), ``lo`` at 0."""
    with np.errstate(invalid="ignore"):
        return np.clip(np.floor((values - lo) / (hi - lo) * steps), 0, steps - 1)


# -- the frame -----------------------------------------------------------------------------------


@dataclass
class ChartWindow:
    """The visible slice of a run (every array has window length) plus what the title shows.

    ``first`` is the 0-based bar index of element 0; bars are merged ``group`` at a time into one
    column (groups start at multiples of ``group``), or, when ``wide``, drawn one per two columns.
    """

    first: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    times: list[str]
    group: int = 1
    wide: bool = False
    overlays: list[tuple[str, np.ndarray]] = field(default_factory=list)
    panes: list[tuple[str, np.ndarray]] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    levels: list[tuple[str, float]] = field(default_factory=list)  # (entry|stop|target, price)
    symbol: str = ""
    interval: str = ""
    zoom: str = ""
    mode: str = "FOLLOW"


def axis_width(width: int) -> int:
    """Columns of the price axis for a widget ``width`` wide."""
    return AXIS_WIDTH if width >= 40 else 0


def item_count(width: int, bars_per_column: float) -> int:
    """How many candles (merged or not) fit in the plot area of a widget ``width`` wide."""
    plot = max(0, width - axis_width(width))
    return plot // 2 if bars_per_column < 1 else plot


@dataclass
class _Layout:
    width: int
    height: int
    plot: int  # plot columns (left of the axis)
    top: int  # first candle row
    candle_rows: int
    volume_rows: int
    pane_top: int  # first sub-pane row (the rule is the row above)
    pane_rows: int
    time_row: int


def layout(width: int, height: int, panes: bool, show_volume: bool) -> _Layout:
    """Where things go: title row, price rows (candles, then volume), sub-pane, time row."""
    plot = max(0, width - axis_width(width))
    avail = max(0, height - 2)
    pane_rows = max(3, avail // 4) if panes and avail >= 14 else 0
    price_rows = avail - pane_rows - (1 if pane_rows else 0)
    volume_rows = min(6, max(2, price_rows // 8)) if show_volume and price_rows >= 14 else 0
    return _Layout(
        width,
        height,
        plot,
        1,
        price_rows - volume_rows,
        volume_rows,
        1 + price_rows + 1,
        pane_rows,
        height - 1,
    )


def _aggregate(win: ChartWindow) -> dict[str, np.ndarray]:
    """OHLCV per column: first open, max high, min low, last close, summed volume."""
    n = len(win.close)
    g = win.group
    if g <= 1:
        return {
            "open": win.open, "high": win.high, "low": win.low, "close": win.close,
            "volume": np.nan_to_num(win.volume), "last": np.arange(n),
        }  # fmt: skip
    starts = np.arange(0, n, g)
    last = np.minimum(starts + g, n) - 1
    return {
        "open": win.open[starts],
        "high": np.fmax.reduceat(win.high, starts),
        "low": np.fmin.reduceat(win.low, starts),
        "close": win.close[last],
        "volume": np.add.reduceat(np.nan_to_num(win.volume), starts),
        "last": last,
    }


def render_frame(
    win: ChartWindow, width: int, height: int, palette: Palette, show_volume: bool = True
) -> list[Strip]:
    """Draw one frame of the chart as ``height`` Strips of ``width`` cells."""
    cv = Canvas(width, height)
    P = palette
    lay = layout(width, height, bool(win.panes), show_volume)
    n = len(win.close)
    if height < 4 or lay.plot < 8 or lay.candle_rows < 2 or n == 0:
        _title(cv, win, P, width)
        if n == 0 and height > 2:
            cv.text(height // 2, max(0, width // 2 - 8), "waiting for bars", P.MUTED)
        return cv.strips(P.styles)

    agg = _aggregate(win)
    items = len(agg["close"])
    step = 2 if win.wide else 1
    xs = np.arange(items) * step
    cols = items * step
    cr, top, plot = lay.candle_rows, lay.top, lay.plot

    overlays = [(name, vals[agg["last"]]) for name, vals in win.overlays]

    # Price range: the candles and overlays, plus trade levels that are not far off.
    lo, hi = np.nanmin(agg["low"]), np.nanmax(agg["high"])
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo, hi = 0.0, 1.0
    for _, vals in overlays:
        finite = vals[np.isfinite(vals)]
        if len(finite):
            lo, hi = min(lo, finite.min()), max(hi, finite.max())
    reach = (hi - lo) or abs(hi) * 0.01 or 1.0
    for _, price in win.levels:
        if lo - reach * 0.5 <= price <= hi + reach * 0.5:
            lo, hi = min(lo, price), max(hi, price)
    span = (hi - lo) or abs(hi) * 0.02 or 1.0
    lo, hi = float(lo - span * 0.04), float(hi + span * 0.04)
    if hi - lo <= 0:
        hi = lo + 1.0

    chars, codes = cv.chars, cv.codes
    region = slice(top, top + cr)

    # Trade levels (lowest layer), then overlay lines, then candles, then markers.
    level_rows: list[tuple[int, float, int]] = []
    level_style = {"entry": P.FG, "stop": P.BEAR, "target": P.BULL}
    for kind, price in win.levels:
        if not math.isfinite(price):
            continue
        r = cr - 1 - _scale1(price, lo, hi, cr)
        inside = lo <= price <= hi
        code = level_style.get(kind, P.FG)
        if inside:
            chars[top + r, :plot] = "╌"
            codes[top + r, :plot] = code
        level_rows.append((r if inside else (0 if price > hi else cr - 1), price, code))

    # Overlay lines: dots of lines sharing a cell merge; they cross the dashes, not candles.
    dots = np.zeros((cr, cols), dtype=np.int32)
    dot_code = np.zeros((cr, cols), dtype=np.int16)
    for i, (_, vals) in enumerate(overlays):
        bits = braille_line(_scale(_expand(vals, win.wide), lo, hi, 4 * cr), cr)
        dots |= bits
        dot_code[bits > 0] = P.series(i)
    _put_dots(cv, top, dots, dot_code)

    # Candles at half-cell resolution.
    o, h, low, c = agg["open"], agg["high"], agg["low"], agg["close"]
    ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(low) & np.isfinite(c)
    halves = 2 * cr
    hh = np.nan_to_num(_scale(h, lo, hi, halves), nan=-1).astype(int)
    hl = np.nan_to_num(_scale(low, lo, hi, halves), nan=-1).astype(int)
    bt = np.nan_to_num(_scale(np.fmax(o, c), lo, hi, halves), nan=-1).astype(int)
    bb = np.nan_to_num(_scale(np.fmin(o, c), lo, hi, halves), nan=-1).astype(int)
    up = (2 * (cr - 1 - np.arange(cr)) + 1)[:, None]
    dn = up - 1
    ub = (bb <= up) & (up <= bt)
    db = (bb <= dn) & (dn <= bt)
    uw = (hl <= up) & (up <= hh) & ~ub
    dw = (hl <= dn) & (dn <= hh) & ~db
    cell = (ub * 1 + db * 2 + uw * 4 + dw * 8) * ok
    glyph = _CANDLE[cell]
    drawn = cell > 0
    style = np.where(c >= o, P.BULL, P.BEAR)
    sub_chars = chars[region][:, xs]
    sub_codes = codes[region][:, xs]
    sub_chars[drawn] = glyph[drawn]
    sub_codes[drawn] = np.broadcast_to(style, drawn.shape)[drawn]
    chars[region, xs] = sub_chars
    codes[region, xs] = sub_codes

    # Volume bars under the candles.
    vr = lay.volume_rows
    if vr:
        vol = agg["volume"]
        vmax = vol.max() if len(vol) else 0.0
        if vmax > 0:
            eighths = np.round(vol / vmax * 8 * vr).astype(int)
            for j in range(vr):
                fill = np.clip(eighths - 8 * j, 0, 8)
                row = top + cr + vr - 1 - j
                chars[row, xs] = _BLOCKS8[fill]
                codes[row, xs] = P.FAINT

    # Fill markers on top.
    g = win.group
    for mk in win.markers:
        k = (mk.bar - win.first) // g
        if 0 <= k < items and math.isfinite(mk.price):
            half = _scale1(mk.price, lo, hi, halves)
            r = top + cr - 1 - half // 2
            x = int(xs[k])
            chars[r, x] = _MARK_GLYPH.get(mk.kind, "◆")
            codes[r, x] = {"long_entry": P.LONG, "short_entry": P.SHORT}.get(mk.kind, P.EXIT)

    # Price axis.
    ax = plot
    if width - ax >= 2:
        chars[top : top + cr + vr, ax] = "│"
        codes[top : top + cr + vr, ax] = P.MUTED
        ticks, tick_step = nice_ticks(lo, hi, max(2, cr // 3))
        taken: set[int] = set()
        last_close = c[ok][-1] if ok.any() else math.nan
        last_open = o[ok][-1] if ok.any() else math.nan
        if math.isfinite(last_close):
            r = cr - 1 - _scale1(last_close, lo, hi, cr)
            d = label_decimals(last_close, tick_step)
            label = fmt_num(last_close, d, width - ax - 1).ljust(width - ax - 1)
            code = P.BULL_LABEL if last_close >= last_open else P.BEAR_LABEL
            cv.text(top + r, ax + 1, label, code)
            chars[top + r, ax] = "┤"
            taken.add(r)
        for r, price, code in level_rows:
            if r in taken:
                r = r + 1 if r + 1 < cr and r + 1 not in taken else r - 1
            if not 0 <= r < cr or r in taken:
                continue
            arrow = "" if lo <= price <= hi else ("↑" if price > hi else "↓")
            d = label_decimals(price, tick_step)
            cv.text(top + r, ax + 1, arrow + fmt_num(price, d, width - ax - 1 - len(arrow)), code)
            chars[top + r, ax] = "┤"
            codes[top + r, ax] = code
            taken.add(r)
        d = decimals_for(tick_step)
        for v in ticks:
            r = cr - 1 - _scale1(v, lo, hi, cr)
            if not 0 <= r < cr or any(abs(r - t) <= 1 for t in taken):
                continue
            cv.text(top + r, ax + 1, fmt_num(v, d, width - ax - 1), P.MUTED)
            chars[top + r, ax] = "┤"
            taken.add(r)
        if vr:
            vmax = agg["volume"].max() if items else 0.0
            cv.text(top + cr, ax + 1, "vol " + fmt_num(float(vmax), 0, width - ax - 5), P.FAINT)

    if lay.pane_rows:
        _pane(cv, win, agg, lay, P, xs, cols)

    _time_axis(cv, win, agg, lay, P, xs, step)
    _title(cv, win, P, width)
    return cv.strips(P.styles)


def _pane(
    cv: Canvas,
    win: ChartWindow,
    agg: dict[str, np.ndarray],
    lay: _Layout,
    P: Palette,
    xs: np.ndarray,
    cols: int,
) -> None:
    """The sub-pane of non-overlay indicators (RSI, MACD...), with its own scale."""
    rows, top, plot, width = lay.pane_rows, lay.pane_top, lay.plot, lay.width
    series = [(name, vals[agg["last"]]) for name, vals in win.panes]
    rule = top - 1
    cv.chars[rule, :] = "─"
    cv.codes[rule, :] = P.MUTED
    if plot < width:
        cv.chars[rule, plot] = "┼"

    finite = [v[np.isfinite(v)] for _, v in series]
    finite = [f for f in finite if len(f)]
    if finite:
        lo = float(min(f.min() for f in finite))
        hi = float(max(f.max() for f in finite))
    else:
        lo, hi = 0.0, 1.0
    guides: list[float] = []
    if all(name.upper().startswith("RSI") for name, _ in series) and lo >= 0 and hi <= 100:
        lo, hi, guides = 0.0, 100.0, [30.0, 70.0]
    else:
        span = (hi - lo) or abs(hi) * 0.02 or 1.0
        lo, hi = lo - span * 0.05, hi + span * 0.05
        if lo < 0 < hi:
            guides = [0.0]

    def row_of(v: float) -> int:
        return rows - 1 - _scale1(v, lo, hi, rows)

    for v in guides:
        r = top + row_of(v)
        cv.chars[r, :plot] = "┄"
        cv.codes[r, :plot] = P.FAINT

    dots_shape = (rows, cols)
    dots = np.zeros(dots_shape, dtype=np.int32)
    dot_code = np.zeros(dots_shape, dtype=np.int16)
    x = 1
    for i, (name, vals) in enumerate(series):
        code = P.series(i)
        last = vals[np.isfinite(vals)]
        label = f" {name} {fmt_num(float(last[-1]), 2, 9) if len(last) else '-'} "
        hist = "hist" in name.lower()
        x = cv.text(rule, x, label, P.MUTED if hist else code, plot)
        if hist:
            # A histogram from zero at half-cell resolution, coloured by sign.
            # Half k is filled when its centre lies between zero and the value.
            halves = 2 * rows
            with np.errstate(invalid="ignore"):
                zb = (0.0 - lo) / (hi - lo) * halves
                vb = np.clip((vals - lo) / (hi - lo) * halves, 0, halves)
                a = np.nan_to_num(np.ceil(np.fmin(vb, zb) - 0.5), nan=1).astype(int)
                b = np.nan_to_num(np.ceil(np.fmax(vb, zb) - 0.5) - 1, nan=0).astype(int)
            upper = (2 * (rows - 1 - np.arange(rows)) + 1)[:, None]
            lower = upper - 1
            cell = ((a <= upper) & (upper <= b)) * 1 + ((a <= lower) & (lower <= b)) * 2
            glyph = _CANDLE[cell]
            on = cell > 0
            sign = np.where(np.nan_to_num(vals) >= 0, P.BULL, P.BEAR)
            sub_c = cv.chars[top : top + rows][:, xs]
            sub_s = cv.codes[top : top + rows][:, xs]
            sub_c[on] = glyph[on]
            sub_s[on] = np.broadcast_to(sign, on.shape)[on]
            cv.chars[top : top + rows, xs] = sub_c
            cv.codes[top : top + rows, xs] = sub_s
            continue
        bits = braille_line(_scale(_expand(vals, win.wide), lo, hi, 4 * rows), rows)
        dots |= bits
        dot_code[bits > 0] = code
    _put_dots(cv, top, dots, dot_code)

    # Axis: top, bottom and guide values.
    if width - plot >= 2:
        cv.chars[top : top + rows, plot] = "│"
        cv.codes[top : top + rows, plot] = P.MUTED
        _, step = nice_ticks(lo, hi, 4)
        d = min(decimals_for(step), 2)
        marks = {0: hi, rows - 1: lo}
        for v in guides:
            marks.setdefault(row_of(v), v)
        for r, v in marks.items():
            cv.text(top + r, plot + 1, fmt_num(v, d, width - plot - 1), P.MUTED)
            cv.chars[top + r, plot] = "┤"


def _nice_up(n: int) -> int:
    """The smallest of 1, 2, 3, 5, 6, 10, 12, 15, 20, 24, 30, 50... that is at least ``n``."""
    for nice in (1, 2, 3, 5, 6, 10, 12, 15, 20, 24, 30, 50, 60, 100, 120, 200, 250, 500):
        if nice >= n:
            return nice
    return n


def _put_dots(cv: Canvas, top: int, dots: np.ndarray, dot_code: np.ndarray) -> None:
    """Write braille dot codes into the canvas from row ``top``, where a cell holds any."""
    on = dots > 0
    if not on.any():
        return
    rows, m = dots.shape
    cv.chars[top : top + rows, :m][on] = BRAILLE[dots[on]]
    cv.codes[top : top + rows, :m][on] = dot_code[on]


def _time_axis(
    cv: Canvas,
    win: ChartWindow,
    agg: dict[str, np.ndarray],
    lay: _Layout,
    P: Palette,
    xs: np.ndarray,
    step: int,
) -> None:
    """Time labels on the bottom row, at items whose group index is a round multiple."""
    items = len(xs)
    if items == 0 or lay.time_row <= lay.top:
        return
    per_bar = interval_seconds(win.interval) or _span_seconds(win.times) or 86400.0
    bars_per_item = win.group
    every = _nice_up(math.ceil(8 / step))
    fmt, width = time_format(per_bar * bars_per_item * every)
    if width > 5:
        every = _nice_up(math.ceil((width + 3) / step))
    first_group = win.first // win.group
    row = lay.time_row
    prev_date = ""
    for k in range(items):
        if (first_group + k) % every:
            continue
        x = int(xs[k])
        if x + width > lay.plot:
            break
        stamp = win.times[k * win.group]
        label = stamp[fmt]
        if fmt.start == 11:  # times of day: show the date where it changes
            date = stamp[:10]
            if prev_date and date != prev_date:
                label = stamp[5:10]
            prev_date = date
        cv.text(row, x, label, P.MUTED, lay.plot)


def _title(cv: Canvas, win: ChartWindow, P: Palette, width: int) -> None:
    """The legend row: symbol, interval, visible range, indicator names, zoom, follow/pan."""
    if cv.height == 0:
        return
    right = f" {win.zoom}  {win.mode} " if win.zoom else f" {win.mode} "
    limit = width - len(right)
    x = cv.text(0, 0, f"{win.symbol} {win.interval}".strip() + " ", P.TITLE, limit)
    if win.times:
        a, b = win.times[0], win.times[-1]
        intraday = a[11:19] not in ("", "00:00:00") or b[11:19] not in ("", "00:00:00")
        n = 16 if intraday else 10
        rng = f" {a[:n].replace('T', ' ')} to {b[:n].replace('T', ' ')} "
        legend = sum(len(name) + 2 for name, _ in win.overlays)
        if x + len(rng) + legend <= limit:
            x = cv.text(0, x, rng, P.MUTED, limit)
    for i, (name, _) in enumerate(win.overlays):
        if x + len(name) + 2 > limit:
            break
        x = cv.text(0, x, " " + name + " ", P.series(i), limit)
    if limit > 0:
        x0 = max(0, width - len(right))
        cv.text(0, x0, right[: width - x0], P.MUTED)
        mode = win.mode
        mx = width - len(mode) - 1
        if mx >= 0:
            cv.text(0, mx, mode, P.FOLLOW if mode == "FOLLOW" else P.PAN)


# -- the widget ----------------------------------------------------------------------------------


class FrameWidget(Widget):
    """A line-API pane that draws whole frames: built once per change, cached as strips.

    Subclasses give :meth:`_data_key` (the state the picture shows), :meth:`_view_key`
    (how it is shown: size, zoom, theme...) and :meth:`build_frame`. New data is drawn when the
    app's frame timer calls :meth:`refresh_if_changed`, and only then: a repaint for another
    reason (a neighbour's layout, a key) redraws the data last asked for, unless the view
    itself changed. So the app decides how often each pane follows the data.
    """

    def __init__(self, state: RunState, *, id: str | None = None, classes: str | None = None):  # noqa: A002
        super().__init__(id=id, classes=classes)
        self.state = state
        self._frame_key: tuple | None = None  # (data, view) of the frame built
        self._shown_key: tuple | None = None  # (data, view) at the last refresh_if_changed
        self._data_seen: tuple | None = None  # the data asked for by refresh_if_changed
        self._strips: list[Strip] = []
        self._palette: Palette | None = None
        self._palette_key: tuple | None = None
        self._style_epoch = 0

    def on_mount(self) -> None:
        """Redraw when the app's theme changes."""
        self.watch(self.app, "theme", self._theme_changed, init=False)
        # The theme's CSS (our background) is applied a moment after the change: redraw again.
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, _theme: object = None) -> None:
        self._style_epoch += 1
        self.refresh()

    def _data_key(self) -> tuple:
        raise NotImplementedError

    def _view_key(self) -> tuple:
        raise NotImplementedError

    def build_frame(self) -> list[Strip]:
        """Draw the current frame (uncached)."""
        raise NotImplementedError

    def refresh_if_changed(self) -> bool:
        """Refresh if anything the picture depends on changed since the last call."""
        data = self._data_key()
        key = (data, self._view_key())
        if key == self._shown_key:
            return False
        self._shown_key = key
        self._data_seen = data
        self.refresh()
        return True

    def palette(self) -> Palette:
        """Styles for the current theme (cached per theme)."""
        base = self.rich_style
        key = (self.app.theme, self._style_epoch, base)
        if self._palette is None or key != self._palette_key:
            self._palette = Palette(theme_colors(self.app), base, self.background_colors[1])
            self._palette_key = key
        return self._palette

    def render_lines(self, crop: Region) -> list[Strip]:
        """The frame's rows inside ``crop``.

        A frame paints every cell itself, in full styles, so Textual's per-line styling pass
        (borders, padding, tint) is skipped when the pane has none of those; the app's line
        filters (NO_COLOR, dimming) still apply.
        """
        if self.styles.gutter or self.styles.tint.a or self.styles.opacity != 1:
            return super().render_lines(crop)
        filters = self.get_line_filters()
        background = self.background_colors[1]
        strips = []
        for y in crop.line_range:
            strip = self.render_line(y)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip)
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def render_line(self, y: int) -> Strip:
        """The cached row ``y`` of the frame, rebuilt first if it is due (see the class)."""
        if self._data_seen is None:
            self._data_seen = self._data_key()
        key = (self._data_seen, self._view_key())
        if key != self._frame_key:
            self._strips = self.build_frame()
            self._frame_key = key
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self.size.width, self.rich_style)


class CandleChart(FrameWidget):
    """A live candlestick chart of a :class:`~algotui.view.state.RunState`.

    Draws, for the visible window only:

    - candles with wicks at half-cell vertical resolution (bull ``$success``, bear ``$error``);
    - a price axis on the right (round levels, the last close highlighted, open-trade levels)
      and time labels on the bottom row;
    - overlay indicators (SMA, EMA, Bollinger...) as braille lines in theme colours;
    - a sub-pane for other indicators (RSI, MACD...) with its own scale, when there are any
      and the widget is tall enough;
    - fill markers: ``▲`` long entry, ``▼`` short entry, ``✕`` exit;
    - dashed lines for each open trade's entry, stop-loss and take-profit;
    - volume bars at the bottom of the price area (``toggle_volume``);
    - a title row: symbol, interval, visible range, indicator names, zoom, FOLLOW / PAN -n.

    View: ``bars_per_column`` is one of :data:`ZOOM_LEVELS` (0.5 = a candle one column wide
    plus a one-column gap; N > 1 merges N bars per column by OHLC); ``offset`` counts bars back
    from the newest (0 with ``following`` = auto-scroll to the newest bar).
    The app's frame timer calls :meth:`refresh_if_changed`.
    """

    DEFAULT_CSS = """
    CandleChart {
        width: 1fr;
        height: 1fr;
        min-height: 6;
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
        bars_per_column: float = 1,
        show_volume: bool = True,
    ) -> None:
        super().__init__(state, id=id, classes=classes)
        self.bars_per_column: float = bars_per_column if bars_per_column in ZOOM_LEVELS else 1
        self.show_volume = show_volume
        self.following = True
        self._end = 0  # last visible bar when not following

    # -- view state ------------------------------------------------------------------------

    @property
    def items(self) -> int:
        """How many candles (columns or column pairs) the plot area holds."""
        return item_count(self.size.width, self.bars_per_column)

    @property
    def group(self) -> int:
        """Bars merged into one candle."""
        return max(1, int(self.bars_per_column))

    @property
    def visible_bars(self) -> int:
        """Bars in a full window."""
        return max(1, self.items) * self.group

    @property
    def end_bar(self) -> int:
        """0-based index of the newest visible bar (-1 before any bar)."""
        n = self.state.bars
        if n == 0:
            return -1
        if self.following:
            return n - 1
        return min(max(self._end, min(n, self.visible_bars) - 1), n - 1)

    @property
    def offset(self) -> int:
        """Bars between the newest visible bar and the newest bar received."""
        return 0 if self.state.bars == 0 else self.state.bars - 1 - self.end_bar

    @offset.setter
    def offset(self, value: int) -> None:
        if value <= 0:
            self.follow()
            return
        self.following = False
        self._end = self.state.bars - 1 - int(value)
        self._end = self.end_bar
        self.refresh()

    @property
    def visible_range(self) -> tuple[int, int]:
        """(first, last) 0-based bars in view; (0, -1) when there are none."""
        end = self.end_bar
        if end < 0:
            return (0, -1)
        g = self.group
        first_group = max(0, end // g - max(1, self.items) + 1)
        return (first_group * g, end)

    def _zoom_index(self) -> int:
        return min(
            range(len(ZOOM_LEVELS)), key=lambda i: abs(ZOOM_LEVELS[i] - self.bars_per_column)
        )

    def zoom_in(self) -> None:
        """Fewer bars per column (down to 0.5: wide candles)."""
        self._set_zoom(ZOOM_LEVELS[max(0, self._zoom_index() - 1)])

    def zoom_out(self) -> None:
        """More bars per column (up to 256)."""
        self._set_zoom(ZOOM_LEVELS[min(len(ZOOM_LEVELS) - 1, self._zoom_index() + 1)])

    def _set_zoom(self, level: float) -> None:
        if not self.following:
            self._end = self.end_bar
        self.bars_per_column = level
        if not self.following:
            self._end = self.end_bar  # re-clamp for the new window size
        self.refresh()

    def pan(self, columns: int) -> None:
        """Scroll by ``columns`` (negative = back in history); reaching the newest follows."""
        n = self.state.bars
        if n == 0 or columns == 0:
            return
        if self.bars_per_column >= 1:
            delta = columns * self.group
        else:
            delta = int(math.copysign(max(1, abs(columns) // 2), columns))
        end = self.end_bar + delta
        if end >= n - 1:
            self.following = True
        else:
            self.following = False
            self._end = end
            self._end = self.end_bar
        self.refresh()

    def follow(self) -> None:
        """Back to the newest bar, auto-scrolling as bars arrive."""
        self.following = True
        self.refresh()

    def jump_to(self, bar: int) -> None:
        """Centre the 0-based ``bar`` in view and stop following."""
        n = self.state.bars
        if n == 0:
            return
        bar = min(max(int(bar), 0), n - 1)
        self.following = False
        self._end = min(n - 1, bar + self.visible_bars // 2)
        self._end = self.end_bar
        self.refresh()

    def toggle_volume(self) -> None:
        """Show or hide the volume bars."""
        self.show_volume = not self.show_volume
        self.refresh()

    # -- drawing ---------------------------------------------------------------------------

    def _data_key(self) -> tuple:
        return (self.state.version, self.state.bars)

    def _view_key(self) -> tuple:
        return (
            self.size.width,
            self.size.height,
            self.bars_per_column,
            self.following,
            None if self.following else self.end_bar,
            self.app.theme,
            self._style_epoch,
            self.show_volume,
        )

    def window(self) -> ChartWindow:
        """The visible slice of the state (touches only the window, never the whole history)."""
        s = self.state
        first, end = self.visible_range
        b = end + 1
        zoom = (
            "2 cols/bar"
            if self.bars_per_column < 1
            else f"{self.group} bar{'s' if self.group > 1 else ''}/col"
        )
        win = ChartWindow(
            first=first,
            open=s.open[first:b],
            high=s.high[first:b],
            low=s.low[first:b],
            close=s.close[first:b],
            volume=s.volume[first:b],
            times=s.times[first:b],
            group=self.group,
            wide=self.bars_per_column < 1,
            symbol=str(s.meta.get("symbol") or ""),
            interval=str(s.meta.get("interval") or ""),
            zoom=zoom,
            mode="FOLLOW" if self.following else f"PAN -{self.offset}",
        )
        if b <= first:
            return win
        for name, values in s.indicators.items():
            target = win.overlays if s.overlay.get(name, True) else win.panes
            target.append((name, values[first:b]))
        get_bar = attrgetter("bar")
        i = bisect_left(s.markers, first, key=get_bar)
        j = bisect_right(s.markers, end, key=get_bar)
        win.markers = s.markers[i:j]
        for t in s.open_trades.values():
            win.levels.append(("entry", float(t.entry_price)))
            if t.stop_loss is not None:
                win.levels.append(("stop", float(t.stop_loss)))
            if t.take_profit is not None:
                win.levels.append(("target", float(t.take_profit)))
        return win

    def build_frame(self) -> list[Strip]:
        """Draw the current frame (uncached)."""
        w, h = self.size
        return render_frame(self.window(), w, h, self.palette(), self.show_volume)
