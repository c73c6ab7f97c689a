"""The candlestick chart pane: view state (zoom, pan, the bar cursor) over the candle renderer.

The drawing lives in :mod:`algotui.tui.render`; this widget keeps what the user chose (zoom,
follow or pan, volume, the bar cursor), cuts the visible window out of the run state and hands
it to :func:`~algotui.tui.render.candles.render_frame`. Only the visible window of the history
is read, so a million bars of history cost what a thousand do.
"""

import math

from textual import events
from textual.strip import Strip

from algotui.tui.render.axes import axis_width
from algotui.tui.render.candles import render_frame
from algotui.tui.render.slicer import WindowSlicer
from algotui.tui.render.window import ChartWindow, item_count
from algotui.tui.widgets.frame import FrameWidget
from algotui.view.state import RunState

__all__ = ["ZOOM_LEVELS", "CandleChart"]

#: Zoom levels in bars per column. 0.5 draws each candle one column wide followed by a
#: one-column gap (easier to read, half as many bars); N > 1 merges N bars into one column.
#: The widest fits a few million bars in 80 columns.
ZOOM_LEVELS: tuple[float, ...] = (0.5, *(float(2**k) for k in range(16)))

class CandleChart(FrameWidget):
    """A live candlestick chart of a :class:`~algotui.view.state.RunState`.

    Shows the visible window: candles, a price axis, overlay indicators, sub-panes for the
    others (one per scale), fill markers and a line per trade, open-trade levels, volume, a
    legend row, and the bar cursor with its readout.

    View: ``bars_per_column`` is one of :data:`ZOOM_LEVELS`; ``following`` keeps the newest bar
    in view; otherwise ``end_bar`` is the last bar shown. ``cursor`` is the 0-based bar under
    the bar cursor, or None when it is hidden. The app's frame timer calls
    :meth:`refresh_if_changed`.
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
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
        bars_per_column: float = 1,
        show_volume: bool = True,
    ) -> None:
        super().__init__(state, id=id, classes=classes)
        self.bars_per_column: float = bars_per_column if bars_per_column in ZOOM_LEVELS else 1
        self.show_volume = show_volume
        self.following = True
        self.cursor: int | None = None
        self._end = 0  # last visible bar when not following
        self.slicer = WindowSlicer(state)

    # -- the window ------------------------------------------------------------------------

    @property
    def items(self) -> int:
        """How many candles (columns or column pairs) the plot area holds."""
        return item_count(self.size.width, self.bars_per_column)

    @property
    def group(self) -> int:
        """Bars merged into one candle."""
        return max(1, int(self.bars_per_column))

    @property
    def wide(self) -> bool:
        """True when each candle takes two columns (one of them a gap)."""
        return self.bars_per_column < 1

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
        self._show_end(self.state.bars - 1 - int(value))

    @property
    def visible_range(self) -> tuple[int, int]:
        """(first, last) 0-based bars in view; (0, -1) when there are none."""
        end = self.end_bar
        if end < 0:
            return (0, -1)
        g = self.group
        first_group = max(0, end // g - max(1, self.items) + 1)
        return (first_group * g, end)

    def _show_end(self, end: int) -> None:
        """Show bars up to ``end``; at (or past) the newest bar that means following it."""
        n = self.state.bars
        self.following = n == 0 or end >= n - 1
        if not self.following:
            self._end = end
            self._end = self.end_bar  # clamped to a full window
            self.following = self._end >= n - 1
        self.refresh()

    # -- zoom and pan ----------------------------------------------------------------------

    def _zoom_index(self) -> int:
        return min(
            range(len(ZOOM_LEVELS)), key=lambda i: abs(ZOOM_LEVELS[i] - self.bars_per_column)
        )

    def zoom_in(self) -> None:
        """Fewer bars per column (down to 0.5: wide candles)."""
        self._set_zoom(ZOOM_LEVELS[max(0, self._zoom_index() - 1)])

    def zoom_out(self) -> None:
        """More bars per column, until the whole run fits the window."""
        run = max(self.state.total_bars, self.state.bars)
        if self.visible_bars >= run and self.bars_per_column >= 1:
            return
        self._set_zoom(ZOOM_LEVELS[min(len(ZOOM_LEVELS) - 1, self._zoom_index() + 1)])

    def _set_zoom(self, level: float) -> None:
        end = self.end_bar
        self.bars_per_column = level
        if not self.following:
            self._show_end(end)
        self.refresh()

    def pan(self, columns: int) -> None:
        """Scroll by ``columns`` (negative = back in history); reaching the newest follows."""
        if self.state.bars == 0 or columns == 0:
            return
        if self.bars_per_column >= 1:
            delta = columns * self.group
        else:
            delta = int(math.copysign(max(1, abs(columns) // 2), columns))
        self._show_end(self.end_bar + delta)

    def follow(self) -> None:
        """Back to the newest bar, auto-scrolling as bars arrive."""
        self.following = True
        self.refresh()

    def jump_to(self, bar: int) -> None:
        """Centre the 0-based ``bar`` in view."""
        n = self.state.bars
        if n == 0:
            return
        bar = min(max(int(bar), 0), n - 1)
        self._show_end(min(n - 1, bar + self.visible_bars // 2))

    def toggle_volume(self) -> None:
        """Show or hide the volume bars."""
        self.show_volume = not self.show_volume
        self.refresh()

    # -- the bar cursor --------------------------------------------------------------------

    def highlight_trade(self, trade_id: int) -> None:
        """Mark a trade (the trades view's ``enter``): the bar cursor on its entry bar, whose
        readout shows the bar, the position and the equity there."""
        for marker in self.state.markers:
            if marker.trade_id == trade_id and marker.kind != "exit":
                self.cursor = marker.bar
                self.refresh()
                return

    @property
    def cursor_on(self) -> bool:
        """True while the bar cursor is shown."""
        return self.cursor is not None

    def toggle_cursor(self) -> None:
        """Show the bar cursor (on the newest bar in view) or hide it."""
        if self.cursor is not None or self.state.bars == 0:
            self.cursor = None
        else:
            self.cursor = self.end_bar
        self.refresh()

    def hide_cursor(self) -> bool:
        """Hide the bar cursor; False if it was not shown."""
        shown = self.cursor is not None
        self.cursor = None
        self.refresh()
        return shown

    def move_cursor(self, bars: int) -> None:
        """Move the bar cursor by ``bars``, scrolling the window when it reaches an edge."""
        n = self.state.bars
        if self.cursor is None or n == 0:
            return
        self.cursor = min(max(self.cursor + bars, 0), n - 1)
        first, end = self.visible_range
        if self.cursor > end:
            self._show_end(self.cursor)
        elif self.cursor < first:
            self._show_end(end - (first - self.cursor))
        self.refresh()

    def bar_at(self, x: int) -> int | None:
        """The 0-based bar under column ``x`` of the plot (the last bar of a merged column)."""
        first, end = self.visible_range
        plot = self.size.width - axis_width(self.size.width)
        if end < 0 or not 0 <= x < plot:
            return None
        k = x // 2 if self.wide else x
        return min(first + k * self.group + self.group - 1, end)

    def on_click(self, event: events.Click) -> None:
        """A click shows the bar cursor on the bar clicked."""
        bar = self.bar_at(event.x)
        if bar is not None:
            self._cursor_to(bar)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """While the bar cursor is shown it follows the mouse."""
        if self.cursor is not None:
            bar = self.bar_at(event.x)
            if bar is not None and bar != self.cursor:
                self._cursor_to(bar)

    def _cursor_to(self, bar: int) -> None:
        """Place the cursor; panes lined up with the chart (the equity pane) follow at once,
        without waiting for the app's next frame (which rests while nothing plays)."""
        self.cursor = bar
        self.refresh()
        for pane in self.screen.query("EquityChart"):
            pane.refresh_if_changed()  # type: ignore[attr-defined]

    # -- drawing ---------------------------------------------------------------------------

    def _data_key(self) -> tuple:
        return (self.state.version, self.state.bars)

    def _view_key(self) -> tuple:
        return (
            self.bars_per_column,
            self.following,
            None if self.following else self.end_bar,
            self.show_volume,
            self.cursor,
        )

    def window(self) -> ChartWindow:
        """The visible slice of the state (touches only the window, never the whole history)."""
        first, end = self.visible_range
        if self.cursor is not None and end >= 0:
            self.cursor = min(max(self.cursor, first), end)  # a cursor scrolled out comes along
        g = self.group
        win = self.slicer.window(first, end, g, self.wide, self.size.height, self.cursor)
        win.zoom = "2 cols/bar" if self.wide else f"{g:,} bar{'s' if g > 1 else ''}/col"
        win.mode = "FOLLOW" if self.following else f"PAN -{self.offset:,}"
        return win

    def build_frame(self) -> list[Strip]:
        """Draw the current frame (uncached)."""
        w, h = self.size
        return render_frame(self.window(), w, h, self.palette(), self.show_volume)
