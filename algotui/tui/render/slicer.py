"""Cutting a chart window out of the run state: the bars in view and everything drawn over them.

:class:`WindowSlicer` keeps what is worth keeping between frames (the trades indexed, each
sub-pane indicator's range so far) so that a frame reads only the window, whatever the length
of the history.
"""

from bisect import bisect_left, bisect_right
from operator import attrgetter

from algotui.tui.render.panes import RangeTracker, group_by_range
from algotui.tui.render.trades import TradeIndex, bar_readout
from algotui.tui.render.window import ChartWindow, PaneGroup, plan_panes
from algotui.view.state import RunState

__all__ = ["WindowSlicer"]

_BAR = attrgetter("bar")


class WindowSlicer:
    """Makes :class:`ChartWindow` s of one run state, frame after frame."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.trades = TradeIndex()
        self._ranges = RangeTracker()

    def levels(self) -> dict[str, list[float]]:
        """Each indicator's declared guide levels (metadata ``indicators[].levels``)."""
        return {name: [float(v) for v in values] for name, values in self.state.levels.items()}

    def pane_groups(self, levels: dict[str, list[float]]) -> list[list[str]]:
        """Sub-pane indicators grouped by range over every bar so far (not just the window,
        so that panning does not regroup them)."""
        s = self.state
        panes = {k: v for k, v in s.indicators.items() if not s.overlay.get(k, True)}
        if not panes:
            return []
        return group_by_range(list(panes), self._ranges.update(panes, s.bars), levels)

    def window(
        self, first: int, end: int, group: int, wide: bool, height: int, cursor: int | None
    ) -> ChartWindow:
        """Bars ``first..end`` merged ``group`` per column (``wide``: two columns a bar) for a
        chart ``height`` rows tall, with the bar cursor at ``cursor`` (None: hidden)."""
        s = self.state
        b = end + 1
        win = ChartWindow(
            first=first,
            open=s.open[first:b],
            high=s.high[first:b],
            low=s.low[first:b],
            close=s.close[first:b],
            volume=s.volume[first:b],
            time=lambda i: s.times[first + i],
            group=group,
            wide=wide,
            symbol=str(s.meta.get("symbol") or ""),
            interval=str(s.meta.get("interval") or ""),
        )
        if b <= first:
            return win
        for name, values in s.indicators.items():
            if s.overlay.get(name, True):
                win.overlays.append((name, values[first:b]))
        levels = self.levels()
        groups = self.pane_groups(levels)
        shown, _ = plan_panes(max(0, height - 2), len(groups))
        for names in groups[:shown]:
            series = [(name, s.indicators[name][first:b]) for name in names]
            marks = sorted({v for name in names for v in levels.get(name, [])})
            win.panes.append(PaneGroup(series, marks, list(range(len(names)))))
        win.hidden_panes = len(groups) - len(win.panes)
        self._add_trades(win, first, end)
        if cursor is not None and first <= cursor <= end:
            colors = {name: i for i, (name, _) in enumerate(win.overlays)}
            win.cursor = cursor
            win.readout = bar_readout(s, self.trades, cursor, colors)
        return win

    def _add_trades(self, win: ChartWindow, first: int, end: int) -> None:
        """Fill markers (exits by outcome), trade lines and open-trade levels of the window."""
        s = self.state
        index = self.trades
        markers = s.markers  # read once: while rewound it is a fresh slice
        index.sync(s, markers)
        i = bisect_left(markers, first, key=_BAR)
        j = bisect_right(markers, end, key=_BAR)
        win.markers = [
            (m.bar, m.price, index.exit_outcome(s, m.trade_id) if m.kind == "exit" else m.kind)
            for m in markers[i:j]
        ]
        win.trades = index.spans(s, first, end)
        for t in s.open_trades.values():
            win.levels.append(("entry", float(t.entry_price)))
            if t.stop_loss is not None:
                win.levels.append(("stop", float(t.stop_loss)))
            if t.take_profit is not None:
                win.levels.append(("target", float(t.take_profit)))
