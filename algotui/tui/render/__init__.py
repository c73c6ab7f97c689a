"""Drawing the charts: a small library the chart widgets are thin shells over.

- :mod:`.canvas`: the grid of characters and style indices a frame is built on, and its Strips;
- :mod:`.palette`: the theme's colours as the styles a frame indexes;
- :mod:`.axes`: round ticks, label decimals, time labels, price-axis labels;
- :mod:`.braille`: lines at 2 x 4 dots per cell, and the scaling helpers;
- :mod:`.window`: what a frame shows (:class:`ChartWindow`) and where it goes (the layout);
- :mod:`.candles`: the candle frame (candles, volume, overlays, trades, levels, cursor);
- :mod:`.panes`: sub-panes for indicators on scales of their own, grouped by range;
- :mod:`.legend`: the legend row, the bar cursor's readout, the markers' key;
- :mod:`.trades`: trades indexed for drawing and for the readout;
- :mod:`.slicer`: the window cut out of the run state, frame after frame;
- :mod:`.equity`: the equity pane (window-aligned or whole run).

None of it knows about widgets: each function takes plain data and a :class:`Palette`.
"""

from algotui.tui.render.candles import render_frame
from algotui.tui.render.canvas import Canvas
from algotui.tui.render.equity import EquitySeries, render_equity
from algotui.tui.render.legend import MARKER_LEGEND, LegendRow
from algotui.tui.render.palette import Palette
from algotui.tui.render.window import ChartWindow

__all__ = [
    "MARKER_LEGEND",
    "Canvas",
    "ChartWindow",
    "EquitySeries",
    "LegendRow",
    "Palette",
    "render_equity",
    "render_frame",
]
