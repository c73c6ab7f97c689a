"""The candle chart's frame: candles, volume, indicator lines, trades, levels and the price axis.

:func:`render_frame` draws a :class:`~algotui.tui.render.window.ChartWindow` into a
:class:`~algotui.tui.render.canvas.Canvas` in layers, lowest first: open-trade levels (dashes),
trade lines (entry to exit), overlay indicators (braille), candles, volume, fill markers, the
price axis, the sub-panes, the bar cursor and its readout, the time row and the legend.
"""

import math

import numpy as np
from textual.strip import Strip

from algotui.format import compact
from algotui.tui.render.axes import (
    AxisLabels,
    decimals_for,
    interval_seconds,
    label_decimals,
    nice_ticks,
    span_seconds,
    time_axis,
)
from algotui.tui.render.braille import draw_lines, expand, put_dots, scale, scale1
from algotui.tui.render.canvas import BLOCKS8_ARRAY, Canvas
from algotui.tui.render.legend import draw_readout, draw_title
from algotui.tui.render.palette import Palette
from algotui.tui.render.panes import draw_pane
from algotui.tui.render.window import ChartWindow, Layout, aggregate, layout

__all__ = ["CANDLE_FILLED", "CANDLE_HOLLOW", "MARKER_GLYPHS", "render_frame"]

# Candle cell glyph by code: 1 body in the upper half, 2 body lower, 4 wick upper, 8 wick lower.
# Filled: where a half holds the body and the other half a wick, the body wins.
CANDLE_FILLED = np.array(list(" ▀▄█╵▀▄█╷▀▄█│▀▄█"))
# Hollow (rising candles without colour, NO_COLOR): heavy strokes for the body, light for wicks,
# so a rising candle and a falling one differ in shape, not only in a shade of grey.
CANDLE_HOLLOW = np.array(list(" ╹╻┃╵╹╽┃╷╿╻┃│╿╽┃"))
MARKER_GLYPHS = {
    "long_entry": "▲",
    "short_entry": "▼",
    "exit_win": "✓",
    "exit_loss": "✕",
    "exit": "✕",
}


def _price_range(
    win: ChartWindow, agg: dict[str, np.ndarray], overlays: list
) -> tuple[float, float]:
    """The price scale: candles and overlays, plus trade levels that are not far off."""
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
    return (lo, hi) if hi > lo else (lo, lo + 1.0)


def render_frame(
    win: ChartWindow, width: int, height: int, palette: Palette, show_volume: bool = True
) -> list[Strip]:
    """Draw one frame of the chart as ``height`` Strips of ``width`` cells."""
    cv = Canvas(width, height)
    P = palette
    lay = layout(width, height, len(win.panes), show_volume)
    n = win.bars
    if height < 4 or lay.plot < 8 or lay.candle_rows < 2 or n == 0:
        draw_title(cv, win, P, width, 0)
        if n == 0 and height > 2:
            cv.text(height // 2, max(0, width // 2 - 8), "waiting for bars", P.MUTED)
        return cv.strips(P.styles)

    agg = aggregate(win)
    items = len(agg["close"])
    step = 2 if win.wide else 1
    xs = np.arange(items) * step
    cols = items * step
    cr, top, plot = lay.candle_rows, lay.top, lay.plot
    overlays = [(name, vals[agg["last"]]) for name, vals in win.overlays]
    lo, hi = _price_range(win, agg, overlays)
    codes = cv.codes

    # Open-trade levels (lowest layer).
    level_rows: list[tuple[int, float, int]] = []
    level_style = {"entry": P.FG, "stop": P.BEAR, "target": P.BULL}
    for kind, price in win.levels:
        if not math.isfinite(price):
            continue
        r = cr - 1 - scale1(price, lo, hi, cr)
        inside = lo <= price <= hi
        code = level_style.get(kind, P.FG)
        if inside:
            cv.fill(top + r, 0, plot, "╌", code)
        level_rows.append((r if inside else (0 if price > hi else cr - 1), price, code))

    # Trade lines under the overlay lines: dots of lines sharing a cell merge, the overlay's
    # colour wins; neither covers a candle.
    lines = _trade_lines(win, lo, hi, cr, step, items, cols, P)
    for i, (_, vals) in enumerate(overlays):
        lines.append((scale(expand(vals, win.wide), lo, hi, 4 * cr), P.series(i)))
    put_dots(cv, top, *draw_lines(lines, cr, cols))

    o, c = agg["open"], agg["close"]
    ok = _candles(cv, agg, lo, hi, lay, xs, P)
    vr = lay.volume_rows
    if vr:
        _volume(cv, agg["volume"], top + cr, vr, xs, P)
    _markers(cv, win, lo, hi, lay, xs, items, P)

    # Price axis: the last close highlighted, open-trade levels, round levels.
    axis = AxisLabels(cv, plot, top, cr + vr, P.MUTED)
    lw = axis.width
    ticks, tick_step = nice_ticks(lo, hi, max(2, cr // 3))
    if ok.any():
        last_close, last_open = float(c[ok][-1]), float(o[ok][-1])
        text = compact(last_close, label_decimals(last_close, tick_step), lw)
        code = P.BULL_LABEL if last_close >= last_open else P.BEAR_LABEL
        axis.put(cr - 1 - scale1(last_close, lo, hi, cr), text, code, pad=True)
    for r, price, code in level_rows:
        if r in axis.taken:
            r = r + 1 if r + 1 < cr and r + 1 not in axis.taken else r - 1
        arrow = "" if lo <= price <= hi else ("↑" if price > hi else "↓")
        text = arrow + compact(price, label_decimals(price, tick_step), lw - len(arrow))
        if axis.put(r, text, code):
            codes[top + r, plot] = code
    d = decimals_for(tick_step)
    for v in ticks:
        axis.put(cr - 1 - scale1(v, lo, hi, cr), compact(v, d, lw), P.MUTED, near=1)
    if vr and lw > 4:
        vmax = float(agg["volume"].max()) if items else 0.0
        cv.text(top + cr, plot + 1, "vol " + compact(vmax, 0, lw - 4), P.FAINT)

    for (ptop, prows), group in zip(lay.panes, win.panes, strict=False):
        draw_pane(cv, group, agg["last"], win.wide, ptop, prows, plot, xs, cols, P)
    if win.hidden_panes and lay.panes:
        ptop = lay.panes[-1][0]
        note = f" …+{win.hidden_panes} pane{'s' if win.hidden_panes > 1 else ''} "
        cv.text(ptop - 1, max(0, plot - len(note) - 1), note, P.WARN, plot)

    per_bar = interval_seconds(win.interval) or span_seconds(win.time(0), win.time(n - 1), n)
    per_item = (per_bar or 86400.0) * win.group
    first_group = win.first // win.group
    time_axis(
        cv, lay.time_row, plot, xs, step, first_group, per_item,
        lambda k: win.time(k * win.group), P.MUTED,
    )  # fmt: skip
    readout_x = _cursor(cv, win, lay, xs, items, P)
    draw_title(cv, win, P, width, plot)
    if win.readout is not None and readout_x is not None:
        draw_readout(cv, win.readout, P, top, cr + vr, plot, readout_x)
    return cv.strips(P.styles)


def _candles(
    cv: Canvas, agg: dict[str, np.ndarray], lo: float, hi: float, lay: Layout,
    xs: np.ndarray, P: Palette,
) -> np.ndarray:  # fmt: skip
    """Candles with wicks at half-cell resolution; returns which columns hold a whole candle."""
    cr, top = lay.candle_rows, lay.top
    o, h, low, c = agg["open"], agg["high"], agg["low"], agg["close"]
    ok = np.isfinite(o) & np.isfinite(h) & np.isfinite(low) & np.isfinite(c)
    halves = 2 * cr
    hh = np.nan_to_num(scale(h, lo, hi, halves), nan=-1).astype(int)
    hl = np.nan_to_num(scale(low, lo, hi, halves), nan=-1).astype(int)
    bt = np.nan_to_num(scale(np.fmax(o, c), lo, hi, halves), nan=-1).astype(int)
    bb = np.nan_to_num(scale(np.fmin(o, c), lo, hi, halves), nan=-1).astype(int)
    up = (2 * (cr - 1 - np.arange(cr)) + 1)[:, None]
    dn = up - 1
    ub = (bb <= up) & (up <= bt)
    db = (bb <= dn) & (dn <= bt)
    uw = (hl <= up) & (up <= hh) & ~ub
    dw = (hl <= dn) & (dn <= hh) & ~db
    cell = (ub * 1 + db * 2 + uw * 4 + dw * 8) * ok
    rising = c >= o
    glyph = CANDLE_FILLED[cell]
    if P.no_color:
        glyph = np.where(rising, CANDLE_HOLLOW[cell], glyph)
    drawn = cell > 0
    region = slice(top, top + cr)
    sub_chars = cv.chars[region][:, xs]
    sub_codes = cv.codes[region][:, xs]
    sub_chars[drawn] = glyph[drawn]
    sub_codes[drawn] = np.broadcast_to(np.where(rising, P.BULL, P.BEAR), drawn.shape)[drawn]
    cv.chars[region, xs] = sub_chars
    cv.codes[region, xs] = sub_codes
    return ok


def _volume(cv: Canvas, vol: np.ndarray, top: int, rows: int, xs: np.ndarray, P: Palette) -> None:
    """Volume bars at 1/8-cell resolution in ``rows`` rows from ``top``."""
    vmax = vol.max() if len(vol) else 0.0
    if vmax <= 0:
        return
    eighths = np.round(vol / vmax * 8 * rows).astype(int)
    for j in range(rows):
        row = top + rows - 1 - j
        cv.chars[row, xs] = BLOCKS8_ARRAY[np.clip(eighths - 8 * j, 0, 8)]
        cv.codes[row, xs] = P.FAINT


def _trade_lines(
    win: ChartWindow, lo: float, hi: float, rows: int, step: int, items: int, cols: int,
    P: Palette,
) -> list[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Lines from each trade's entry fill to its exit fill, coloured by its outcome.

    Every trade goes into one of two layers, alternately, so a trade that starts where the last
    one ended is not joined to it; each layer is one line however many trades the window holds.
    """
    layers = np.full((2, cols), np.nan)
    colour = np.zeros((2, cols), dtype=np.int16)
    g, first = win.group, win.first
    drawn = 0
    for t in win.trades:
        a = (t.entry_bar - first) // g
        b = (t.exit_bar - first) // g
        finite = math.isfinite(t.entry_price) and math.isfinite(t.exit_price)
        if b < 0 or a >= items or a == b or not finite:
            continue  # in and out within one column: the markers say it
        x0, x1 = max(a, 0) * step, min(b, items - 1) * step
        frac = (np.arange(x0, x1 + 1) - a * step) / ((b - a) * step)
        layer = drawn % 2
        layers[layer, x0 : x1 + 1] = t.entry_price + (t.exit_price - t.entry_price) * frac
        colour[layer, x0 : x1 + 1] = P.BULL if t.won else P.BEAR
        drawn += 1
    return [(scale(layers[k], lo, hi, 4 * rows), colour[k]) for k in range(min(drawn, 2))]


def _markers(
    cv: Canvas, win: ChartWindow, lo: float, hi: float, lay: Layout, xs: np.ndarray,
    items: int, P: Palette,
) -> None:  # fmt: skip
    """Fill markers on top: solid cells of colour with the glyph cut out, at the fill price."""
    codes = {"long_entry": P.LONG, "short_entry": P.SHORT, "exit_win": P.EXIT_WIN}
    cr, top, g = lay.candle_rows, lay.top, win.group
    for bar, price, kind in win.markers:
        k = (bar - win.first) // g
        if 0 <= k < items and math.isfinite(price):
            r = top + cr - 1 - scale1(price, lo, hi, 2 * cr) // 2
            x = int(xs[k])
            cv.chars[r, x] = MARKER_GLYPHS.get(kind, "◆")
            cv.codes[r, x] = codes.get(kind, P.EXIT_LOSS)


def _cursor(
    cv: Canvas, win: ChartWindow, lay: Layout, xs: np.ndarray, items: int, P: Palette
) -> int | None:
    """The bar cursor: a dotted column through the empty cells and its time on the time row."""
    if win.cursor is None:
        return None
    k = (win.cursor - win.first) // win.group
    if not 0 <= k < items:
        return None
    x = int(xs[k])
    column = cv.chars[lay.top : lay.time_row, x]
    blank = column == " "
    column[blank] = "┊"
    cv.codes[lay.top : lay.time_row, x][blank] = P.CURSOR
    stamp = win.time(win.cursor - win.first).replace("T", " ")
    label = stamp[:16] if stamp[11:19] not in ("", "00:00:00") else stamp[:10]
    x0 = min(max(0, x - len(label) // 2), max(0, lay.plot - len(label)))
    # Clear the time labels the cursor's own label would cut into (whole labels, not halves).
    row = cv.chars[lay.time_row]
    a, b = max(0, x0 - 1), min(lay.plot, x0 + len(label) + 1)
    while a > 0 and row[a - 1] != " ":
        a -= 1
    while b < lay.plot and row[b] != " ":
        b += 1
    cv.fill(lay.time_row, a, b, " ", P.BASE)
    cv.text(lay.time_row, x0, label, P.BOX_TITLE, lay.plot)
    return x
