"""The chart panes inside the app, driven as a user would: the bar cursor (keys and mouse),
the equity view, zoom to the whole run, the legend at 80 columns, and resizing."""

import time
from collections.abc import Callable

import numpy as np
import pytest

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.run.player import Player
from algotui.tui.app import AlgoApp
from algotui.tui.widgets.chart import CandleChart
from algotui.tui.widgets.equity import EquityChart


def finished_app(strategy: str = "sma_cross", **params) -> AlgoApp:
    bt = Backtest(load_source("sample"), BUILTINS[strategy], params)
    return AlgoApp(Player(bt.events(), speed=None), run_id=bt.run_id)


async def until(pilot, cond: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.02)


def rows(widget) -> list[str]:
    return [widget.render_line(y).text for y in range(widget.size.height)]


async def test_bar_cursor_keys_read_any_bar() -> None:
    app = finished_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        chart = app.chart
        s = app.state
        assert chart.cursor is None
        await pilot.press("c")
        assert chart.cursor == s.bars - 1  # on the newest bar in view
        await pilot.press("left", "left")
        assert chart.cursor == s.bars - 3 and chart.following  # the window did not move
        await pilot.press("shift+left")
        bar = s.bars - 13
        assert chart.cursor == bar
        await pilot.pause()
        shown = "\n".join(rows(chart))
        assert s.times[bar][:10] in shown
        assert f"C {s.close[bar]:,.2f}" in shown and f"H {s.high[bar]:,.2f}" in shown
        assert f"Vol {s.volume[bar]:,.0f}" in shown
        assert f"SMA(10) {s.indicators['SMA(10)'][bar]:,.2f}" in shown
        k = max(i for i, b in enumerate(s.equity_bar) if b <= bar)
        assert f"Equity {s.equity[k]:,.2f}" in shown and f"DD {s.drawdown[k]:.2f}%" in shown
        assert "Pos " in shown
        # The cursor runs down through the equity pane at the same column.
        x = next(x for x, ch in enumerate(rows(chart)[5]) if ch == "┊")
        assert any(row[x] == "┊" for row in rows(app.equity_chart)[1:])
        await pilot.press("shift+right", "right", "right", "right")
        assert chart.cursor == s.bars - 1  # stops at the newest bar
        await pilot.press("escape")
        assert chart.cursor is None
        assert "Equity" not in rows(chart)[1]
        # Without the cursor, left is the app's own again (here: a bar back through the run).
        bars = s.bars
        await pilot.press("left")
        await until(pilot, lambda: s.bars == bars - 1)
        assert chart.cursor is None


async def test_cursor_moves_past_the_edge_scroll_the_window() -> None:
    app = finished_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        chart = app.chart
        first, _ = chart.visible_range
        await pilot.press("c")
        for _ in range(chart.items // 10 + 2):
            await pilot.press("shift+left")
        assert chart.cursor < first
        assert chart.visible_range[0] <= chart.cursor <= chart.visible_range[1]
        assert "PAN" in rows(chart)[0]


async def test_mouse_places_the_bar_cursor() -> None:
    app = finished_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        chart = app.chart
        first, _ = chart.visible_range
        await pilot.click(CandleChart, offset=(10, 8))
        assert chart.cursor == first + 10
        await pilot.hover(CandleChart, offset=(30, 8))
        assert chart.cursor == first + 30
        await pilot.pause()
        assert app.state.times[first + 30][:10] in "\n".join(rows(chart))
        await pilot.press("escape")
        await pilot.hover(CandleChart, offset=(40, 8))
        assert chart.cursor is None  # moving the mouse alone does not bring it back


async def test_equity_key_switches_window_and_whole_run() -> None:
    app = finished_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        eq = app.query_one(EquityChart)
        await pilot.pause()
        assert "window (e)" in rows(eq)[0]
        await pilot.press("e")
        await pilot.pause()
        assert "whole run (e)" in rows(eq)[0]
        await pilot.press("e")
        await pilot.pause()
        assert "window (e)" in rows(eq)[0]


async def test_zooming_out_at_the_newest_bar_follows_and_fits_the_run() -> None:
    app = finished_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.state.done)
        chart = app.chart
        await pilot.press("less_than_sign")  # panned back
        assert "PAN" in rows(chart)[0]
        for _ in range(12):
            await pilot.press("left_square_bracket")
        assert chart.visible_range == (0, app.state.bars - 1)  # the whole run
        assert chart.following
        legend = rows(chart)[0]
        assert "FOLLOW" in legend and "PAN" not in legend


@pytest.mark.parametrize("bars", [20_000, 1_000_000])
async def test_widest_zoom_fits_a_long_run_at_80_columns(bars: int) -> None:
    from tests.app.test_chart import ChartApp, synthetic_state

    state = synthetic_state(bars)
    async with ChartApp(state).run_test(size=(46, 22)) as pilot:  # the chart's size at 80x24
        chart = pilot.app.query_one(CandleChart)
        for _ in range(30):
            chart.zoom_out()
        assert chart.visible_range == (0, bars - 1)
        assert chart.following and "FOLLOW" in rows(chart)[0]
        await pilot.pause()
        assert any(set(row) & set("█▀▄│") for row in rows(chart))


async def test_legend_at_80_columns_says_what_it_leaves_out() -> None:
    app = finished_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.state.done)
        await pilot.pause()
        legend = rows(app.chart)[0]
        names = [n for n in ("SMA(10)", "SMA(20)") if n in legend]
        assert len(names) < 2 and f"…+{2 - len(names)}" in legend
        assert legend.rstrip().endswith("FOLLOW")


@pytest.mark.parametrize(
    "sizes", [[(120, 40), (80, 24), (120, 40)], [(120, 28), (120, 40)]], ids=["80x24", "120x28"]
)
async def test_after_a_resize_the_layout_is_the_new_size_s_at_once(sizes) -> None:
    app = finished_app()
    async with app.run_test(size=sizes[0]) as pilot:
        await until(pilot, lambda: app.state.done)
        await pilot.pause()
        big = (app.query_one("#side").size.width, app.equity_chart.size, app.chart.size)
        for size in sizes[1:]:
            await pilot.resize_terminal(*size)
            await pilot.pause(0.1)
            short = size[1] < 30
            assert app.screen.has_class("-short") is short
            assert (app.equity_chart.size.height == 0) is short
        if sizes[0] == sizes[-1]:
            now = (app.query_one("#side").size.width, app.equity_chart.size, app.chart.size)
            assert now == big
        else:  # 120x28 to 120x40: the equity pane is back
            assert app.equity_chart.size.height >= 5


async def test_rsi_sub_pane_draws_the_strategy_s_levels() -> None:
    app = finished_app("rsi_reversion", lower=25.0, upper=75.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        await pilot.pause()
        lines = rows(app.chart)
        rule = next(y for y, row in enumerate(lines) if row.startswith("─ RSI(14)"))
        plot = app.chart.size.width - 10
        guides = [row[plot + 1 :].strip() for row in lines[rule + 1 : -1] if "┄" in row[:plot]]
        assert sorted(guides, key=float) == ["25", "50", "75"]  # lower, exit, upper


async def test_macd_shares_a_pane_rsi_gets_its_own() -> None:
    from algotui.engine import Strategy
    from algotui.engine.indicators import macd, rsi

    class Both(Strategy):
        def init(self):
            self.indicator(macd, self.data.Close, 12, 26, 9,
                           name=("MACD", "MACD signal", "MACD hist"), overlay=False)  # fmt: skip
            self.indicator(rsi, self.data.Close, 14, name="RSI", overlay=False, levels=(30, 70))

    bt = Backtest(load_source("sample"), Both)
    app = AlgoApp(Player(bt.events(), speed=None), run_id=bt.run_id)
    async with app.run_test(size=(200, 60)) as pilot:
        await until(pilot, lambda: app.state.done)
        await pilot.pause()
        lines = rows(app.chart)
        rules = [row for row in lines if "┼" in row]
        assert len(rules) == 2
        assert "MACD signal" in rules[0] and "MACD hist" in rules[0] and "RSI" in rules[1]
        assert np.isfinite(app.state.indicators["RSI"][: app.state.bars]).any()
