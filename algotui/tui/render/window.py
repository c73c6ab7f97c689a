"""What a chart frame shows: the visible slice of a run, and where each part goes on screen.

:class:`ChartWindow` is plain data (array slices of window length and a few labels), made by the
widget from the run state and drawn by :func:`algotui.tui.render.candles.render_frame`; it never
holds the whole history, so a frame costs the same at a thousand bars and at a million.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from algotui.tui.render.axes import axis_width

__all__ = [
    "BarReadout",
    "ChartWindow",
    "Layout",
    "PaneGroup",
    "TradeSpan",
    "aggregate",
    "item_count",
    "layout",
]


@dataclass(slots=True)
class TradeSpan:
    """A trade drawn as a line from its entry fill to its exit fill (0-based bars)."""

    entry_bar: int
    entry_price: float
    exit_bar: int
    exit_price: float
    won: bool


@dataclass
class PaneGroup:
    """Sub-pane indicators that share one scale, and the guide levels their strategy declared."""

    series: list[tuple[str, np.ndarray]]
    levels: list[float] = field(default_factory=list)
    colors: list[int] = field(default_factory=list)  # series index of each line's colour


@dataclass
class BarReadout:
    """What the bar cursor reads out at one bar (see :mod:`algotui.tui.render.readout`)."""

    bar: int  # 0-based
    time: str
    open: float
    high: float
    low: float
    close: float
    volume: float
    indicators: list[tuple[str, float, int]]  # name, value, series colour index
    position: str  # "flat" or "long 10 @ 98.20"
    equity: float | None
    drawdown: float | None


@dataclass
class ChartWindow:
    """The visible slice of a run (every array has window length) plus what the title shows.

    ``first`` is the 0-based bar index of element 0; bars are merged ``group`` at a time into one
    column (groups start at multiples of ``group``), or, when ``wide``, drawn one per two columns.
    ``time(i)`` is the ISO time of window bar ``i`` (asked only for the bars labelled).
    """

    first: int
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    time: Callable[[int], str] = lambda i: ""
    group: int = 1
    wide: bool = False
    overlays: list[tuple[str, np.ndarray]] = field(default_factory=list)
    panes: list[PaneGroup] = field(default_factory=list)
    hidden_panes: int = 0  # pane groups left out (no room): said on screen, never silently
    markers: list[tuple[int, float, str]] = field(default_factory=list)  # bar, price, kind
    trades: list[TradeSpan] = field(default_factory=list)
    levels: list[tuple[str, float]] = field(default_factory=list)  # (entry|stop|target, price)
    symbol: str = ""
    interval: str = ""
    zoom: str = ""
    mode: str = "FOLLOW"
    cursor: int | None = None  # 0-based bar under the bar cursor
    readout: BarReadout | None = None

    @property
    def bars(self) -> int:
        """Bars in the window."""
        return len(self.close)


def item_count(width: int, bars_per_column: float) -> int:
    """How many candles (merged or not) fit in the plot area of a widget ``width`` wide."""
    plot = max(0, width - axis_width(width))
    return plot // 2 if bars_per_column < 1 else plot


@dataclass
class Layout:
    """Rows and columns of a chart frame."""

    width: int
    height: int
    plot: int  # plot columns (left of the axis)
    top: int  # first candle row
    candle_rows: int
    volume_rows: int
    panes: list[tuple[int, int]]  # (first row, rows) of each sub-pane; its rule is the row above
    time_row: int


def plan_panes(avail: int, groups: int) -> tuple[int, int]:
    """How many sub-panes fit in ``avail`` rows, and the rows of each (0, 0: none)."""
    if groups == 0 or avail < 14:
        return 0, 0
    for shown in range(groups, 0, -1):
        each = max(3, avail // (3 + shown))
        if avail - shown * (each + 1) >= 8:
            return shown, each
    return 0, 0


def layout(width: int, height: int, pane_groups: int, show_volume: bool) -> Layout:
    """Where things go: title row, price rows (candles, then volume), sub-panes, time row."""
    plot = max(0, width - axis_width(width))
    avail = max(0, height - 2)
    shown, each = plan_panes(avail, pane_groups)
    price_rows = avail - shown * (each + 1)
    volume_rows = min(6, max(2, price_rows // 8)) if show_volume and price_rows >= 14 else 0
    panes = [(1 + price_rows + i * (each + 1) + 1, each) for i in range(shown)]
    return Layout(width, height, plot, 1, price_rows - volume_rows, volume_rows, panes, height - 1)


def aggregate(win: ChartWindow) -> dict[str, np.ndarray]:
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
