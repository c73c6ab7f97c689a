"""The candlestick and equity charts, drawn from real engine runs inside a tiny Textual app."""

import math
import re
from functools import cache
from typing import Any

import numpy as np
import pytest
from textual.app import App, ComposeResult

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.format import compact as fmt_num
from algotui.tui.render.axes import nice_ticks
from algotui.tui.render.candles import CANDLE_FILLED, CANDLE_HOLLOW
from algotui.tui.render.window import ChartWindow, aggregate
from algotui.tui.widgets import chart as chart_module
from algotui.tui.widgets.chart import ZOOM_LEVELS, CandleChart
from algotui.tui.widgets.equity import EquityChart, EquitySeries
from algotui.view.state import RunState

SIZE = (120, 40)
CANDLE_GLYPHS = set("▀▄█│╵╷")
MARKER_GLYPHS = {"long_entry": "▲", "short_entry": "▼", "exit_win": "✓", "exit_loss": "✕"}


@cache
def _run(strategy: str) -> tuple[list[Any], Any]:
    bt = Backtest(load_source("sample"), BUILTINS[strategy])
    return list(bt.events()), None


def run_state(strategy: str = "sma_cross", bars: int | None = None) -> RunState:
    """The state of a sample run, stopped after ``bars`` candles (all of them if None)."""
    events, codec = _run(strategy)
    state = RunState()
    if bars is None:
        state.apply(events)
        return state
    seen = 0
    for i, event in enumerate(events):
        if event.type == "candle":
            if seen == bars:
                state.apply(events[:i])
                return state
            seen += 1
    state.apply(events)
    return state


def dict_state(n: int = 120, signals: list[dict[str, Any]] | None = None) -> RunState:
    """A state fed protocol dicts (as from a recording), with whatever signals are given."""
    state = RunState()
    items: list[dict[str, Any]] = [
        {"type": "metadata", "symbol": "TEST", "interval": "1h", "total_bars": n,
         "initial_balance": 1000.0, "indicators": [{"name": "EMA(5)", "overlay": True}]},
    ]  # fmt: skip
    price = 50.0
    for i in range(n):
        o = price
        price += math.sin(i / 7) * 0.6
        items.append(
            {
                "type": "candle",
                "timestamp": f"2024-03-{1 + i // 24:02d}T{i % 24:02d}:00:00",
                "open": o,
                "high": max(o, price) + 0.3,
                "low": min(o, price) - 0.3,
                "close": price,
                "volume": 1000 + i,
                "bar_number": i + 1,
                "indicators": {"EMA(5)": price - 0.1 if i >= 4 else None},
            }
        )
    state.apply(items)
    for sig in signals or []:
        state.apply([{"type": "signal", **sig}])
    return state


class ChartApp(App[None]):
    """A screen holding one chart (and optionally the equity chart)."""

    CSS = "EquityChart { height: 10; }"

    def __init__(self, state: RunState, equity: bool = False, **kw: Any) -> None:
        super().__init__()
        self.state = state
        self.equity = equity
        self.kw = kw

    def compose(self) -> ComposeResult:
        yield CandleChart(self.state, id="chart", **self.kw)
        if self.equity:
            yield EquityChart(self.state)


def lines(widget: CandleChart | EquityChart) -> list[str]:
    """The widget's rendered rows as plain text."""
    return [widget.render_line(y).text for y in range(widget.size.height)]


def axis_ticks(chart: CandleChart) -> dict[int, float]:
    """Row -> price of the round tick labels (muted text right of the axis line)."""
    palette = chart.palette()
    plot = chart.size.width - 10
    out = {}
    for y in range(chart.size.height):
        strip = chart.render_line(y)
        row = strip.text
        if len(row) <= plot or row[plot] != "┤":
            continue
        label = strip.crop(plot + 1, chart.size.width)
        segs = [seg for seg in label if seg.text.strip()]
        m = re.fullmatch(r"\s*([0-9,]+(?:\.[0-9]+)?)\s*", label.text)
        if m and all(seg.style == palette.styles[palette.MUTED] for seg in segs):
            out[y] = float(m.group(1).replace(",", ""))
    return out


async def test_entry_marker_at_fill_bar_and_price() -> None:
    state = run_state("sma_cross", bars=200)
    entry = next(m for m in state.markers if m.kind == "long_entry")
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        chart.jump_to(entry.bar)
        await pilot.pause()
        rows = lines(chart)
        first, last = chart.visible_range
        assert first <= entry.bar <= last
        x = entry.bar - first  # 1 bar per column
        hits = [y for y, row in enumerate(rows) if row[x] == "▲"]
        assert len(hits) == 1, rows
        # The row's price, read off the axis labels, is the fill price (within a row).
        ticks = axis_ticks(chart)
        (y0, p0), (y1, p1) = sorted(ticks.items())[0], sorted(ticks.items())[-1]
        per_row = (p0 - p1) / (y1 - y0)
        at_row = p0 - (hits[0] - y0) * per_row
        assert abs(at_row - entry.price) <= 1.5 * per_row


async def test_axis_labels_the_last_close_and_round_levels() -> None:
    state = run_state("sma_cross")
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        rows = lines(chart)
        axis = [row[chart.size.width - 9 :] for row in rows]
        last_close = state.close[state.bars - 1]
        assert any(a.strip() == f"{last_close:,.2f}" for a in axis)
        values = list(axis_ticks(chart).values())
        assert len(values) >= 3
        steps = {round(a - b, 6) for a, b in zip(values, values[1:], strict=False)}
        assert len(steps) <= 2  # round levels, evenly spaced (one may hide behind a label)
        assert min(steps) in (1, 2, 2.5, 5, 10, 20, 25, 50)


async def test_follow_mode_keeps_the_newest_bar_in_view() -> None:
    events, codec = _run("sma_cross")
    state = run_state("sma_cross", bars=300)
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        assert chart.following and chart.visible_range[1] == state.bars - 1
        assert state.times[-1][:10] in lines(chart)[0]
        assert "FOLLOW" in lines(chart)[0]
        # Feed the rest of the run: the view moves along.
        cut = next(i for i, e in enumerate(events) if e.type == "candle" and e.bar == 300)
        state.apply(events[cut:])
        assert chart.refresh_if_changed()
        assert chart.visible_range[1] == state.bars - 1 == 781
        assert state.times[-1][:10] in lines(chart)[0]


async def test_pan_back_then_follow() -> None:
    events, codec = _run("sma_cross")
    state = run_state("sma_cross", bars=400)
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        chart.pan(-25)
        assert not chart.following
        assert chart.offset == 25
        assert chart.visible_range[1] == 399 - 25
        assert "PAN -25" in lines(chart)[0]
        # New bars arrive: the panned view stays where it is.
        cut = next(i for i, e in enumerate(events) if e.type == "candle" and e.bar == 400)
        state.apply(events[cut : cut + 60])
        assert chart.visible_range[1] == 399 - 25
        assert chart.offset == state.bars - 1 - (399 - 25)
        chart.follow()
        assert chart.following and chart.visible_range[1] == state.bars - 1
        assert "FOLLOW" in lines(chart)[0]
        # Panning forward past the newest bar re-enables follow mode.
        chart.pan(-5)
        assert not chart.following
        chart.pan(+10)
        assert chart.following
        # The offset can be set directly; 0 means follow.
        chart.offset = 40
        assert not chart.following and chart.visible_range[1] == state.bars - 41
        chart.offset = 0
        assert chart.following
        # Panning back is clamped at the start of the history.
        chart.pan(-100_000)
        assert chart.visible_range[0] == 0


async def test_zoom_changes_the_number_of_visible_bars() -> None:
    state = run_state("sma_cross")
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        plot = SIZE[0] - 10

        def shown() -> int:
            first, last = chart.visible_range
            return last - first + 1

        assert chart.bars_per_column == 1 and shown() == plot
        chart.zoom_out()
        assert chart.bars_per_column == 2 and shown() == 2 * plot
        assert "2 bars/col" in lines(chart)[0]
        chart.zoom_in()
        chart.zoom_in()
        assert chart.bars_per_column == 0.5 and shown() == plot // 2
        chart.zoom_in()  # clamped at the closest level
        assert chart.bars_per_column == ZOOM_LEVELS[0]
        for _ in range(20):
            chart.zoom_out()
        # Zooming out stops at the first level where the whole run fits, following it.
        assert shown() == state.bars
        assert chart.bars_per_column == 8  # 782 bars in 110 columns
        assert "FOLLOW" in lines(chart)[0]


async def test_merged_columns_show_the_group_range() -> None:
    state = run_state("sma_cross")
    async with ChartApp(state, bars_per_column=8).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        win = chart.window()
        assert win.group == 8 and win.first % 8 == 0
        frame = aggregate(win)
        k = 3
        a, b = win.first + 8 * k, win.first + 8 * k + 8
        assert frame["open"][k] == state.open[a]
        assert frame["close"][k] == state.close[b - 1]
        assert frame["high"][k] == state.high[a:b].max()
        assert frame["low"][k] == state.low[a:b].min()
        # Markers in any bar of a group land on that group's column.
        rows = lines(chart)
        for bar, _, kind in win.markers:
            col = (bar - win.first) // 8
            assert any(row[col] in MARKER_GLYPHS.values() for row in rows), kind


async def test_open_trade_levels_are_drawn_and_labelled() -> None:
    state = run_state("sma_cross")
    assert state.open_trades  # the sample run ends with a position open
    trade = next(iter(state.open_trades.values()))
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        rows = lines(chart)
        dashed = [y for y, row in enumerate(rows) if row[: SIZE[0] - 10].count("╌") > 20]
        assert len(dashed) == 1
        assert rows[dashed[0]][SIZE[0] - 9 :].strip() == f"{trade.entry_price:,.2f}"


async def test_stop_loss_and_take_profit_lines_and_short_markers() -> None:
    sig = {"action": "ENTRY", "side": "SELL", "direction": "short", "price": 51.0, "size": 1,
           "trade_id": 7, "bar_number": 100, "stop_loss": 53.5, "take_profit": 47.25}  # fmt: skip
    state = dict_state(120, [sig])
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        rows = lines(chart)
        axis = [row[SIZE[0] - 9 :].strip() for row in rows]
        for price in ("51.00", "53.50", "47.25"):
            y = axis.index(price)
            assert "╌" in rows[y][: SIZE[0] - 10]
        assert sum("▼" in row for row in rows) == 1
        assert re.search(r"\b\d\d:00\b", rows[-1])  # hourly bars: times of day on the axis
        # The stop-loss line is coloured as an error, the target as a success.
        stop = next(s for s in chart.render_line(axis.index("53.50")) if "╌" in s.text)
        target = next(s for s in chart.render_line(axis.index("47.25")) if "╌" in s.text)
        palette = chart.palette()
        assert stop.style.color == palette.styles[palette.BEAR].color
        assert target.style.color == palette.styles[palette.BULL].color


async def test_sub_pane_for_non_overlay_indicators_only() -> None:
    async with ChartApp(run_state("rsi_reversion")).run_test(size=SIZE) as pilot:
        rows = lines(pilot.app.query_one(CandleChart))
        rule = [row for row in rows if row.startswith("─ RSI(14)")]
        assert len(rule) == 1 and "┼" in rule[0]
        assert any(row[SIZE[0] - 9 :].strip() == "70" for row in rows)
    async with ChartApp(run_state("sma_cross")).run_test(size=SIZE) as pilot:
        rows = lines(pilot.app.query_one(CandleChart))
        assert not any("┼" in row for row in rows)
        assert "SMA(10)" in rows[0] and "SMA(20)" in rows[0]
        # Overlay lines are braille dots.
        assert any(any("\u2800" < ch <= "\u28ff" for ch in row) for row in rows[1:-1])


async def test_volume_toggle() -> None:
    state = run_state("sma_cross")
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        assert any("vol " in row for row in lines(chart))
        chart.toggle_volume()
        assert not any("vol " in row for row in lines(chart))


@pytest.mark.parametrize("size", [(80, 24), (200, 60), (40, 8), (20, 4), (5, 2)])
async def test_renders_at_any_size(size: tuple[int, int]) -> None:
    state = run_state("rsi_reversion", bars=500)
    async with ChartApp(state, equity=True).run_test(size=size) as pilot:
        for widget in (pilot.app.query_one(CandleChart), pilot.app.query_one(EquityChart)):
            rows = lines(widget)
            assert len(rows) == widget.size.height
            assert all(len(row) == widget.size.width for row in rows)


async def test_small_terminal_drops_sub_pane_and_volume() -> None:
    async with ChartApp(run_state("rsi_reversion")).run_test(size=(80, 12)) as pilot:
        rows = lines(pilot.app.query_one(CandleChart))
        assert not any("┼" in row or "vol " in row for row in rows)
        assert any(set(row) & CANDLE_GLYPHS for row in rows)


async def test_empty_state_waits() -> None:
    async with ChartApp(RunState(), equity=True).run_test(size=SIZE) as pilot:
        assert any("waiting" in row for row in lines(pilot.app.query_one(CandleChart)))
        assert "waiting" in lines(pilot.app.query_one(EquityChart))[0]


async def test_refresh_only_when_something_changed() -> None:
    events, codec = _run("sma_cross")
    state = run_state("sma_cross", bars=100)
    async with ChartApp(state, equity=True).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        equity = pilot.app.query_one(EquityChart)
        chart.refresh_if_changed()
        equity.refresh_if_changed()
        assert not chart.refresh_if_changed()
        assert not equity.refresh_if_changed()
        cut = next(i for i, e in enumerate(events) if e.type == "candle" and e.bar == 100)
        state.apply(events[cut : cut + 10])
        assert chart.refresh_if_changed() and equity.refresh_if_changed()
        assert not chart.refresh_if_changed()
        chart.zoom_out()
        assert chart.refresh_if_changed()


async def test_frame_is_cached_between_lines() -> None:
    state = run_state("sma_cross")
    calls = []
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        real = chart_module.render_frame

        def spy(*args: Any, **kw: Any) -> Any:
            calls.append(1)
            return real(*args, **kw)

        chart_module.render_frame = spy
        try:
            chart.pan(-3)
            lines(chart)
            lines(chart)
            assert len(calls) == 1
        finally:
            chart_module.render_frame = real


def synthetic_state(n: int) -> RunState:
    """``n`` random-walk bars written straight into a RunState's arrays, plus an SMA overlay."""
    rng = np.random.default_rng(1)
    state = RunState()
    state.apply([{"type": "metadata", "symbol": "BIG", "interval": "1m", "total_bars": n,
                  "indicators": [{"name": "SMA(5)", "overlay": True},
                                 {"name": "OSC", "overlay": False}]}])  # fmt: skip
    close = 100 + np.cumsum(rng.normal(0, 0.1, n))
    state.open[:n] = np.roll(close, 1)
    state.close[:n] = close
    state.high[:n] = np.maximum(state.open[:n], close) + 0.05
    state.low[:n] = np.minimum(state.open[:n], close) - 0.05
    state.volume[:n] = 1.0
    state.indicators["SMA(5)"][:n] = close
    state.indicators["OSC"][:n] = np.sin(np.arange(n) / 5)
    stamps = np.datetime64("2020-01-01T00:00") + np.arange(n).astype("timedelta64[m]")
    state.times = np.datetime_as_string(stamps.astype("datetime64[s]")).tolist()
    state.bars = n
    state.version += 1
    return state


async def test_a_million_bars_touch_only_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    state = synthetic_state(1_000_000)
    seen: list[tuple[int, ...]] = []
    real = chart_module.render_frame

    def spy(win: ChartWindow, *args: Any, **kw: Any) -> Any:
        panes = [v for group in win.panes for _, v in group.series]
        seen.append(
            (len(win.close), len(win.high))
            + tuple(len(v) for _, v in win.overlays)
            + tuple(map(len, panes))
        )
        assert np.shares_memory(win.close, state.close)  # a view, not a copy of the history
        return real(win, *args, **kw)

    monkeypatch.setattr(chart_module, "render_frame", spy)
    async with ChartApp(state, bars_per_column=4).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        rows = lines(chart)
        assert seen and set(seen[-1]) == {4 * (SIZE[0] - 10)}
        assert any(set(row) & CANDLE_GLYPHS for row in rows)
        assert state.times[-1][11:16] in rows[0] or state.times[-1][:10] in rows[0]
        chart.jump_to(500_000)
        lines(chart)
        first, last = chart.visible_range
        assert first <= 500_000 <= last
        assert max(seen[-1]) <= 4 * (SIZE[0] - 10)


async def test_no_color_glyphs_stay_distinct(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    sigs = [
        {"action": "ENTRY", "side": "BUY", "price": 50.2, "size": 1, "trade_id": 1,
         "bar_number": 90},
        {"action": "EXIT", "side": "SELL", "price": 51.0, "size": 1, "trade_id": 1,
         "bar_number": 95},
        {"action": "ENTRY", "side": "SELL", "price": 51.0, "size": 1, "trade_id": 2,
         "bar_number": 100},
    ]  # fmt: skip
    state = dict_state(120, sigs)
    app = ChartApp(state)
    async with app.run_test(size=SIZE) as pilot:
        assert pilot.app.no_color
        text = "\n".join(lines(pilot.app.query_one(CandleChart)))
        assert text.count("▲") == 1 and text.count("▼") == 1  # the two entries
        assert text.count("✓") == 1  # the long closed with a profit
        assert "╌" in text  # the open short's entry line
        # Rising candles are hollow (heavy strokes), falling ones filled blocks.
        assert set(text) & set("┃╹╻╿╽") and set(text) & set("█▀▄")
        hollow, filled = set(CANDLE_HOLLOW.tolist()), set(CANDLE_FILLED.tolist())
        assert not (hollow & filled) - {" ", "│", "╵", "╷"}
        assert not any(0x1F000 <= ord(ch) for ch in text)  # no emoji


async def test_theme_change_redraws_in_the_new_colours() -> None:
    state = run_state("sma_cross")
    async with ChartApp(state).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)

        def candle_colours() -> set[Any]:
            return {
                seg.style.color
                for y in range(chart.size.height)
                for seg in chart.render_line(y)
                if seg.text and seg.text[0] == "█"
            }

        before = candle_colours()
        pilot.app.theme = "textual-light"
        await pilot.pause()
        after = candle_colours()
        assert before and after and before != after


def _braille_columns(rows: list[str], plot: int) -> list[int]:
    """Columns of the plot that hold a braille dot in any row."""
    return sorted(
        {x for row in rows for x, ch in enumerate(row[:plot]) if "\u2800" < ch <= "\u28ff"}
    )


async def test_equity_chart_title_baseline_and_drawdown() -> None:
    state = run_state("sma_cross", bars=400)
    async with ChartApp(state, equity=True).run_test(size=SIZE) as pilot:
        eq = pilot.app.query_one(EquityChart)
        rows = lines(eq)
        title = rows[0]
        assert title.startswith("Equity ")
        assert f"{state.equity[-1]:,.2f}" in title
        assert f"DD {state.drawdown[-1]:.1f}%" in title
        assert f"(max {max(state.drawdown):.1f}%)" in title
        hold = (state.close[state.bars - 1] / state.close[0] - 1) * 100
        assert f"B&H {hold:+.1f}%" in title  # buy and hold from the first close
        assert "window (e)" in title
        assert any("10,000.00" in row and "╌" in row for row in rows)  # initial balance
        assert any("▀" in row or "█" in row for row in rows[-2:])  # drawdown band
        # Lined up with the candle window: every column of the chart has a value.
        plot = SIZE[0] - 10
        assert _braille_columns(rows[1:], plot) == list(range(plot))
        # The whole run, one key away: the curve fills as much of the width as the run has
        # progressed.
        eq.toggle_overview()
        await pilot.pause()
        rows = lines(eq)
        assert "whole run (e)" in rows[0]
        used = _braille_columns(rows[1:], plot)
        assert abs(used[-1] + 1 - plot * 400 / 782) <= 2


async def test_equity_pane_follows_pan_and_zoom() -> None:
    state = run_state("sma_cross")
    async with ChartApp(state, equity=True).run_test(size=SIZE) as pilot:
        chart = pilot.app.query_one(CandleChart)
        eq = pilot.app.query_one(EquityChart)
        plot = SIZE[0] - 10

        def title_value() -> str:
            return lines(eq)[0]

        # Panned to the start: the equity is flat at the initial balance until the first trade.
        chart.pan(-100_000)
        assert eq.refresh_if_changed()
        first_trade = state.markers[0].bar
        rows = lines(eq)
        base_row = next(y for y, row in enumerate(rows) if "10,000.00" in row)
        assert first_trade > 20
        on_base = [x for x in range(first_trade - 15) if "\u2800" < rows[base_row][x] <= "\u28ff"]
        assert len(on_base) >= first_trade - 20
        assert "window (e)" in title_value()
        # Zoomed out so the whole run fits: the pane spans the same bars as the chart.
        for _ in range(10):
            chart.zoom_out()
        assert eq.refresh_if_changed()
        assert chart.visible_range == (0, state.bars - 1)
        used = _braille_columns(lines(eq)[1:], plot)
        assert used[-1] + 1 == -(-state.bars // chart.group)


def test_number_helpers() -> None:
    assert fmt_num(123.456, 2) == "123.46"
    assert fmt_num(1234.5, 1) == "1,234.5"
    assert fmt_num(0.01234, 5) == "0.01234"
    assert fmt_num(1_234_567_890.0, 2) == "1.23B"
    assert len(fmt_num(98_765_432.1, 2)) <= 9
    ticks, step = nice_ticks(91.3, 108.7, 5)
    assert step == 5 and ticks == [95, 100, 105]


def test_equity_columns_binned_incrementally_match_a_full_pass() -> None:
    rng = np.random.default_rng(3)
    bars = np.sort(rng.choice(5000, 900, replace=False))
    state = RunState()
    series = EquitySeries()
    for part in (slice(0, 300), slice(300, 301), slice(301, 900)):
        state.equity_bar += bars[part].tolist()
        state.equity += rng.normal(10_000, 50, len(bars[part])).tolist()
        state.drawdown += rng.uniform(0, 9, len(bars[part])).tolist()
        series.sync(state)
        got_eq, got_dd = series.columns(70, 5000)
    col = bars * 70 // 5000
    equity, drawdown = np.array(state.equity), np.array(state.drawdown)
    for c in range(70):
        before = np.flatnonzero(col <= c)
        inside = np.flatnonzero(col == c)
        if c > col[-1] or not len(before):
            assert math.isnan(got_eq[c]) and got_dd[c] == 0
            continue
        assert got_eq[c] == equity[before[-1]]
        expected = drawdown[inside].max() if len(inside) else drawdown[before[-1]]
        assert got_dd[c] == expected
