"""The equity pane: the run's equity against buy and hold, with its drawdown beneath.

By default the pane follows the candle chart above it, column for column (the same bars, the
same dates, through pan and zoom); ``toggle_overview`` switches to the whole run. The drawing is
:func:`~algotui.tui.render.equity.render_equity`.
"""

from textual.css.query import NoMatches
from textual.strip import Strip

from algotui.tui.render.axes import axis_width
from algotui.tui.render.equity import EquitySeries, render_equity, run_columns, window_columns
from algotui.tui.widgets.chart import CandleChart
from algotui.tui.widgets.frame import FrameWidget
from algotui.view.state import RunState

__all__ = ["EquityChart", "EquitySeries"]


class EquityChart(FrameWidget):
    """The run's equity (green above the initial balance, red below), buy and hold (grey), the
    initial balance (dashed) and the drawdown hanging beneath, with axis labels.

    ``overview`` False (the default) lines the columns up with the candle chart (``chart``, or
    the first :class:`CandleChart` on the screen); True shows the whole run.
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
        chart: CandleChart | None = None,
        overview: bool = False,
        id: str | None = None,  # noqa: A002
        classes: str | None = None,
    ) -> None:
        super().__init__(state, id=id, classes=classes)
        self.series = EquitySeries()
        self.overview = overview
        self._chart = chart

    @property
    def chart(self) -> CandleChart | None:
        """The candle chart this pane lines up with."""
        if self._chart is None and self.is_attached:
            try:
                self._chart = self.screen.query_one(CandleChart)
            except NoMatches:
                return None
        return self._chart

    def toggle_overview(self) -> None:
        """Switch between the candle window's columns and the whole run."""
        self.overview = not self.overview
        self.refresh()

    def _aligned(self) -> CandleChart | None:
        chart = self.chart
        if self.overview or chart is None or chart.size.width != self.size.width:
            return None  # side by side, or not laid out yet: the whole run
        return chart

    def _data_key(self) -> tuple:
        # The chart's window moves with the data while it follows the newest bar: that is
        # data, drawn when the app asks (at most 20 times a second at full speed), not a view
        # change to redraw at every repaint.
        chart = self._aligned()
        window = chart.visible_range if chart is not None and chart.following else None
        return (self.state.version, len(self.state.equity), window)

    def _view_key(self) -> tuple:
        chart = self._aligned()
        if chart is None:
            return (True,)
        end = None if chart.following else chart.end_bar
        return (False, chart.bars_per_column, end, chart.cursor)

    def build_frame(self) -> list[Strip]:
        """Draw the current frame (uncached)."""
        s = self.state
        self.series.sync(s)
        meta_initial = s.meta.get("initial_balance")
        initial = float(meta_initial) if meta_initial is not None else None
        base = initial if initial is not None else (float(s.equity[0]) if s.equity else 1.0)
        w, h = self.size
        chart = self._aligned()
        cursor_x = None
        if self.series.n == 0:
            columns = None
        elif chart is None:
            columns = run_columns(self.series, s, max(1, w - axis_width(w)), base)
        else:
            first, end = chart.visible_range
            columns = window_columns(self.series, s, first, end, chart.group, chart.wide, base)
            if chart.cursor is not None:  # the bar cursor runs on down through this pane
                cursor_x = (chart.cursor - first) // chart.group * (2 if chart.wide else 1)
        return render_equity(self.series, columns, initial, w, h, self.palette(), cursor_x)
