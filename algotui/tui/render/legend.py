"""Text on the chart: the legend row, the bar cursor's readout box, and the markers' key.

The legend never drops a name silently: what does not fit is counted after an ellipsis.
"""

from dataclasses import dataclass

from algotui.format import compact, price
from algotui.tui.render.canvas import Canvas
from algotui.tui.render.palette import Palette
from algotui.tui.render.window import BarReadout, ChartWindow

__all__ = ["MARKER_LEGEND", "LegendRow", "draw_readout", "draw_title", "readout_lines"]


@dataclass(frozen=True)
class LegendRow:
    """One entry of the markers' key: the glyph, the theme colour it is drawn in, the meaning."""

    glyph: str
    color: str  # a theme variable: success, error, foreground, ...
    meaning: str


#: What the chart's marks mean, for the help screen (one row each).
MARKER_LEGEND: tuple[LegendRow, ...] = (
    LegendRow("▲", "success", "long entry (buy), at the fill price"),
    LegendRow("▼", "error", "short entry (sell), at the fill price"),
    LegendRow("✓", "success", "exit with a profit"),
    LegendRow("✕", "error", "exit with a loss"),
    LegendRow("⠤⠒", "success", "trade line, entry to exit: green won, red lost"),
    LegendRow("╌", "foreground", "open trade: entry, stop-loss (red), target (green)"),
    LegendRow("┄", "foreground", "guide levels the strategy declared"),
    LegendRow("┊", "foreground", "the bar cursor (c) and its readout"),
)


def draw_title(cv: Canvas, win: ChartWindow, P: Palette, width: int, plot: int) -> None:
    """The legend row: symbol, interval, visible range, indicator names, zoom, follow/pan.

    Indicator names that do not fit are counted after an ellipsis (``…+2``).
    """
    if cv.height == 0:
        return
    right = f" {win.zoom}  {win.mode} " if win.zoom else f" {win.mode} "
    if len(right) > width // 2:
        right = f" {win.mode} "
    limit = width - len(right)
    x = cv.text(0, 0, f"{win.symbol} {win.interval}".strip() + " ", P.TITLE, limit)
    names = [name for name, _ in win.overlays]
    legend = sum(len(name) + 2 for name in names)
    if win.bars:
        a, b = win.time(0), win.time(win.bars - 1)
        intraday = a[11:19] not in ("", "00:00:00") or b[11:19] not in ("", "00:00:00")
        n = 16 if intraday else 10
        rng = f" {a[:n].replace('T', ' ')} to {b[:n].replace('T', ' ')} "
        if x + len(rng) + legend <= limit:
            x = cv.text(0, x, rng, P.MUTED, limit)
    for i, name in enumerate(names):
        left = len(names) - i - 1
        room = limit - (len(f" …+{left}") if left else 0)
        if x + len(name) + 2 > room:
            cv.text(0, x, f" …+{left + 1}", P.MUTED, limit)
            break
        x = cv.text(0, x, " " + name + " ", P.series(i), limit)
    if limit > 0:
        x0 = max(0, width - len(right))
        cv.text(0, x0, right[: width - x0], P.MUTED)
        mode = win.mode
        mx = width - len(mode) - 1
        if mx >= 0:
            cv.text(0, mx, mode, P.FOLLOW if mode == "FOLLOW" else P.PAN)


def readout_lines(r: BarReadout, P: Palette) -> list[list[tuple[str, int]]]:
    """The readout as lines of (text, style index) pieces, the most wanted first: the bar, its
    prices, the position, equity and drawdown, then volume and the indicators.

    Gaps are pieces of their own (never leading spaces of a piece), so an SVG screenshot
    places every word where the terminal does.
    """
    stamp = r.time.replace("T", " ")
    stamp = stamp[:16] if stamp[11:19] not in ("", "00:00:00") else stamp[:10]
    move = P.BOX_BULL if r.close >= r.open else P.BOX_BEAR
    gap = ("  ", P.BOX)

    def pair(a: str, av: str, b: str, bv: str, bcode: int = P.BOX) -> list[tuple[str, int]]:
        return [(a + " ", P.BOX_MUTED), (av, P.BOX), gap, (b + " ", P.BOX_MUTED), (bv, bcode)]

    lines = [
        [(stamp, P.BOX_TITLE), gap, (f"bar {r.bar + 1:,}", P.BOX_MUTED)],
        pair("O", price(r.open), "H", price(r.high)),
        pair("L", price(r.low), "C", price(r.close), move),
        [("Pos ", P.BOX_MUTED), (r.position, P.BOX)],
    ]
    if r.equity is not None:
        line = [("Equity ", P.BOX_MUTED), (f"{r.equity:,.2f}", P.BOX)]
        if r.drawdown is not None:
            code = P.BOX_BEAR if r.drawdown > 0 else P.BOX
            line += [gap, ("DD ", P.BOX_MUTED), (f"{r.drawdown:.2f}%", code)]
        lines.append(line)
    lines.append([("Vol ", P.BOX_MUTED), (compact(r.volume, 0, 12), P.BOX)])
    for name, value, _color in r.indicators:
        lines.append([(f"{name} ", P.BOX_MUTED), (compact(value, 2, 12), P.BOX)])
    return lines


def draw_readout(
    cv: Canvas, r: BarReadout, P: Palette, top: int, rows: int, plot: int, cursor_x: int
) -> None:
    """The readout box in the plot's upper corner away from the cursor (so it never hides the
    bar it describes); lines that do not fit the rows are counted on the last (``…+2``)."""
    lines = readout_lines(r, P)
    width = min(plot, max(sum(len(t) for t, _ in line) for line in lines) + 2)
    if width < 8 or rows < 2:
        return
    if len(lines) > rows:
        left = len(lines) - rows + 1
        lines = lines[: rows - 1] + [[(f"…+{left} more", P.BOX_MUTED)]]
    x0 = plot - width if cursor_x < plot // 2 else 0
    for i, line in enumerate(lines):
        y = top + i
        cv.fill(y, x0, x0 + width, " ", P.BOX)
        x = x0 + 1
        for text, code in line:
            x = cv.text(y, x, text, code, x0 + width - 1)
