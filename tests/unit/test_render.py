"""The drawing library on its own: plain data in, characters and styles out."""

import math

import numpy as np
import pytest
from rich.style import Style
from textual.color import Color

from algotui.format import compact, price, size
from algotui.tui.render.axes import nice_ticks, time_format
from algotui.tui.render.candles import MARKER_GLYPHS, render_frame
from algotui.tui.render.canvas import Canvas
from algotui.tui.render.equity import EquitySeries, window_columns
from algotui.tui.render.legend import MARKER_LEGEND, draw_title
from algotui.tui.render.palette import Palette
from algotui.tui.render.panes import RangeTracker, group_by_range, similar_ranges
from algotui.tui.render.trades import TradeIndex, bar_readout
from algotui.tui.render.window import ChartWindow, PaneGroup, TradeSpan, layout, plan_panes
from algotui.tui.theming import load_themes, theme_colors
from algotui.tui.widgets.chart import ZOOM_LEVELS
from algotui.view.state import RunState

BASE = Style(color="#d8dee9", bgcolor="#1b1f26")


def palette(colors: dict[str, str] | None = None, no_color: bool = False) -> Palette:
    return Palette(colors or {}, BASE, Color.parse("#1b1f26"), no_color)


def text(strips) -> list[str]:
    return [s.text for s in strips]


def window(n: int = 60, **kw) -> ChartWindow:
    """A window of ``n`` gently rising daily bars starting at bar 0."""
    close = 100 + np.sin(np.arange(n) / 4) * 5 + np.arange(n) * 0.1
    open_ = np.concatenate(([100.0], close[:-1]))
    stamps = [f"2024-01-{1 + i % 28:02d}" for i in range(n)]
    return ChartWindow(
        first=0,
        open=open_,
        high=np.maximum(open_, close) + 0.5,
        low=np.minimum(open_, close) - 0.5,
        close=close,
        volume=np.ones(n),
        time=lambda i: stamps[i],
        symbol="T",
        interval="1d",
        **kw,
    )


# -- sub-panes --------------------------------------------------------------------------------


def test_indicators_on_alike_scales_share_a_pane_others_get_their_own() -> None:
    ranges = {
        "MACD": (-3.1, 2.8),
        "MACD signal": (-2.7, 2.5),
        "MACD hist": (-1.2, 0.9),
        "RSI(14)": (12.0, 88.0),
        "Vol z": (-0.5, 950.0),
    }
    groups = group_by_range(list(ranges), ranges, {"RSI(14)": [30.0, 70.0]})
    assert groups == [["MACD", "MACD signal", "MACD hist"], ["RSI(14)"], ["Vol z"]]
    assert similar_ranges((0, 100), (20, 80))
    assert not similar_ranges((0, 100), (-2, 2))
    assert not similar_ranges((0, 1), (10, 11))  # same span, far apart


def test_range_tracker_reads_only_new_bars_and_keeps_its_ranges_over_a_rewind() -> None:
    values = np.full(10, np.nan)
    values[:4] = [1, 5, 3, 2]
    tracker = RangeTracker()
    assert tracker.update({"x": values}, 4) == {"x": (1.0, 5.0)}
    values[4:6] = [-2, 9]
    assert tracker.update({"x": values}, 6) == {"x": (-2.0, 9.0)}
    # Rewound to 3 bars: the grouping the ranges decide stays as it was.
    assert tracker.update({"x": values}, 3) == {"x": (-2.0, 9.0)}
    values[6] = 20
    assert tracker.update({"x": values}, 7) == {"x": (-2.0, 20.0)}
    assert tracker.update({"y": values}, 7) == {"y": (-2.0, 20.0)}  # other series: anew


def test_panes_stack_with_their_own_axes_and_only_declared_guide_levels() -> None:
    n = 60
    rsi = 50 + 30 * np.sin(np.arange(n) / 5)
    macd = np.sin(np.arange(n) / 7)
    panes = [
        PaneGroup([("RSI(14)", rsi)], [25.0, 75.0], [0]),
        PaneGroup([("MACD", macd), ("MACD signal", macd * 0.8)], [], [0, 1]),
    ]
    rows = text(render_frame(window(n, panes=panes), 100, 44, palette()))
    rules = [y for y, row in enumerate(rows) if "┼" in row]
    assert len(rules) == 2
    assert rows[rules[0]].startswith("─ RSI(14)") and rows[rules[1]].startswith("─ MACD")
    rsi_rows = rows[rules[0] + 1 : rules[1]]
    guides = [row for row in rsi_rows if row[:90].count("┄") > 40]
    assert len(guides) == 2  # at 25 and 75, as declared
    assert {row[91:].strip() for row in guides} == {"25", "75"}
    macd_rows = rows[rules[1] + 1 : -1]
    assert not any("┄" in row for row in macd_rows)  # no levels declared: no guide lines
    assert plan_panes(42, 2)[0] == 2 and plan_panes(16, 3)[0] == 2


def test_panes_that_do_not_fit_are_counted_not_dropped_silently() -> None:
    n = 60
    series = np.sin(np.arange(n) / 5)
    panes = [PaneGroup([("A", series)], [], [0])]
    rows = text(render_frame(window(n, panes=panes, hidden_panes=2), 80, 24, palette()))
    assert any("…+2 panes" in row for row in rows)


# -- legend, markers, trades ------------------------------------------------------------------


def test_legend_counts_the_indicators_it_cannot_show() -> None:
    n = 40
    overlays = [(f"SMA({k})", np.full(n, 100.0)) for k in (5, 10, 20, 50)]
    cv = Canvas(46, 3)
    win = window(n, overlays=overlays, zoom="1 bar/col", mode="FOLLOW")
    draw_title(cv, win, palette(), 46, 36)
    row = "".join(cv.chars[0])
    assert "SMA(5)" in row and "…+" in row
    shown = sum(f"SMA({k})" in row for k in (5, 10, 20, 50))
    assert f"…+{4 - shown}" in row
    assert row.rstrip().endswith("FOLLOW")
    cv = Canvas(160, 3)
    draw_title(cv, win, palette(), 160, 150)
    assert "…" not in "".join(cv.chars[0])  # room for all: no ellipsis


def test_trade_lines_are_coloured_by_outcome_and_exits_by_their_own() -> None:
    P = palette()
    trades = [TradeSpan(5, 96.0, 20, 104.0, True), TradeSpan(30, 104.0, 45, 99.0, False)]
    markers = [(5, 96.0, "long_entry"), (20, 104.0, "exit_win"), (30, 104.0, "long_entry"),
               (45, 99.0, "exit_loss")]  # fmt: skip
    win = window(60, trades=trades, markers=markers)
    strips = render_frame(win, 80, 30, P)
    rows = text(strips)
    joined = "\n".join(rows)
    assert joined.count("▲") == 2 and joined.count("✓") == 1 and joined.count("✕") == 1
    # Dots between the fills of each trade, in the colour of its outcome.
    colours: dict[str, set] = {"win": set(), "loss": set(), "elsewhere": set()}
    for strip in strips:
        x = 0
        for seg in strip:
            for ch in seg.text:
                if "\u2800" < ch <= "\u28ff":
                    where = "win" if 5 <= x <= 20 else "loss" if 30 <= x <= 45 else "elsewhere"
                    colours[where].add(seg.style.color)
                x += 1
    assert colours["win"] == {P.styles[P.BULL].color}
    assert colours["loss"] == {P.styles[P.BEAR].color}
    # Markers are solid cells of colour (not grey boxes): exit colour by outcome.
    for strip in strips:
        for seg in strip:
            if "✓" in seg.text:
                assert seg.style.bgcolor == P.styles[P.BULL].color
            if "✕" in seg.text:
                assert seg.style.bgcolor == P.styles[P.BEAR].color


def test_marker_legend_lists_every_marker_glyph() -> None:
    glyphs = {row.glyph for row in MARKER_LEGEND}
    assert {"▲", "▼", "✓", "✕"} <= glyphs
    assert set(MARKER_GLYPHS.values()) <= glyphs
    assert all(row.meaning and row.color for row in MARKER_LEGEND)


def _state_with_trades() -> RunState:
    state = RunState()
    items = [{"type": "metadata", "symbol": "T", "interval": "1d", "total_bars": 50,
              "initial_balance": 1000.0,
              "indicators": [{"name": "SMA(3)", "overlay": True}]}]  # fmt: skip
    for i in range(50):
        p = 100.0 + i
        items.append({"type": "candle", "timestamp": f"2024-02-{1 + i % 28:02d}", "open": p,
                      "high": p + 1, "low": p - 1, "close": p + 0.5, "volume": 10 + i,
                      "bar_number": i + 1, "indicators": {"SMA(3)": p}})  # fmt: skip
        if i == 10:
            items.append({"type": "signal", "action": "ENTRY", "side": "BUY", "price": 110.0,
                          "size": 3, "trade_id": 1, "bar_number": 11})  # fmt: skip
        if i == 20:
            items.append({"type": "signal", "action": "EXIT", "side": "SELL", "price": 110.2,
                          "size": 3, "trade_id": 1, "bar_number": 21})  # fmt: skip
            # Up 0.60 on the prices, down after commissions: a loss.
            items.append({"type": "trade", "trade_id": 1, "direction": "long", "size": 3,
                          "entry_price": 110.0, "exit_price": 110.2, "pnl": -1.4})  # fmt: skip
        if i == 30:
            items.append({"type": "signal", "action": "ENTRY", "side": "SELL", "price": 130.0,
                          "size": 2, "trade_id": 2, "bar_number": 31})  # fmt: skip
        if i % 5 == 4:
            items.append({"type": "equity", "equity": 1000.0 + i, "drawdown": i / 10,
                          "bar_number": i + 1})  # fmt: skip
    state.apply(items)
    return state


def test_trade_index_knows_positions_outcomes_and_spans() -> None:
    state = _state_with_trades()
    index = TradeIndex()
    index.sync(state)
    assert index.position(state, 5) == "flat"
    assert index.position(state, 10) == "long 3 @ 110.00"
    assert index.position(state, 19) == "long 3 @ 110.00"
    assert index.position(state, 20) == "flat"  # out at that bar
    assert index.position(state, 40) == "short 2 @ 130.00"
    # The P&L net of costs decides, not the price move.
    assert index.exit_outcome(state, 1) == "exit_loss"
    spans = index.spans(state, 0, 49)
    assert [(t.entry_bar, t.exit_bar, t.won) for t in spans] == [(10, 20, False)]
    assert index.spans(state, 25, 49) == []  # the open short is drawn as levels instead
    readout = bar_readout(state, index, 12, {"SMA(3)": 0})
    assert (readout.open, readout.close, readout.volume) == (112.0, 112.5, 22.0)
    assert readout.indicators == [("SMA(3)", 112.0, 0)]
    assert readout.time.startswith("2024-02-13")
    assert readout.equity == 1009.0 and readout.drawdown == pytest.approx(0.9)  # bar 9's point
    assert bar_readout(state, index, 2, {}).equity is None  # before the first point


def test_trade_index_follows_a_rewind_and_back() -> None:
    state = _state_with_trades()
    index = TradeIndex()
    index.sync(state)
    assert index.exit_outcome(state, 1) == "exit_loss"
    state.rewind(15)  # 15 bars shown: trade 1 is open again, trade 2 not yet entered
    index.sync(state)
    assert index.n == 1 and index.exit_outcome(state, 1) == "exit"
    assert index.position(state, 14) == "long 3 @ 110.00"
    assert index.spans(state, 0, 49) == []
    state.follow()
    index.sync(state)
    assert index.n == 2 and index.exit_outcome(state, 1) == "exit_loss"
    assert index.position(state, 40) == "short 2 @ 130.00"


def test_readout_is_drawn_away_from_the_cursor() -> None:
    state = _state_with_trades()
    index = TradeIndex()
    index.sync(state)
    win = window(50)
    win.cursor = 45
    win.readout = bar_readout(state, index, 12, {})
    rows = text(render_frame(win, 100, 30, palette()))
    assert rows[1].startswith(" 2024-02-13  bar 13")  # the cursor is right: the box left
    assert any("Pos long 3 @ 110.00" in row for row in rows)
    assert any("Equity 1,009.00" in row for row in rows)
    assert sum("┊" in row for row in rows) > 10  # the cursor's column
    win.cursor = 3
    rows = text(render_frame(win, 100, 30, palette()))
    assert not rows[1].startswith(" 2024") and "2024-02-13" in rows[1]


# -- equity -----------------------------------------------------------------------------------


def test_equity_columns_of_a_window_take_the_point_at_or_before_and_buy_and_hold() -> None:
    state = _state_with_trades()
    series = EquitySeries()
    series.sync(state)
    cols = window_columns(series, state, 0, 49, 1, False, 1000.0)
    assert math.isnan(cols.equity[3]) and cols.equity[4] == 1004.0 and cols.equity[8] == 1004.0
    assert cols.equity[9] == 1009.0
    assert cols.hold[0] == 1000.0
    assert cols.hold[10] == pytest.approx(1000.0 * state.close[10] / state.close[0])
    merged = window_columns(series, state, 0, 49, 8, False, 1000.0)
    assert len(merged.equity) == 7 and merged.equity[1] == 1014.0  # bars 8-15: point at 14
    wide = window_columns(series, state, 40, 49, 1, True, 1000.0)
    assert len(wide.equity) == 20


# -- colours, glyphs, numbers -----------------------------------------------------------------


@pytest.mark.parametrize("theme", load_themes(), ids=lambda t: t.name)
def test_every_theme_draws_indicators_in_colours_apart(theme) -> None:
    colors = {**theme.to_color_system().generate(), **theme.variables}
    bg = Color.parse(colors["surface"])
    P = Palette(colors, BASE, bg)
    lines = P.series_colors[:3]
    assert len(lines) >= 3

    def apart(a: Color, b: Color) -> bool:
        # Far apart in RGB (a delta a viewer sees at a glance between two thin lines).
        return sum((x - y) ** 2 for x, y in zip(a.rgb, b.rgb, strict=True)) ** 0.5 > 90

    for i, a in enumerate(lines):
        for b in lines[i + 1 :]:
            assert apart(a, b), (theme.name, a.hex, b.hex)
    # The first two (two moving averages) also stand apart from the candles.
    candles = [Color.parse(colors["success"]), Color.parse(colors["error"])]
    for a in lines[:2]:
        assert all(apart(a, c) for c in candles), (theme.name, a.hex)


def test_without_colour_rising_and_falling_candles_have_different_shapes() -> None:
    n = 40
    win = window(n)
    rising = np.flatnonzero(win.close >= win.open)
    falling = np.flatnonzero(win.close < win.open)
    assert len(rising) and len(falling)
    rows = text(render_frame(win, 60, 30, palette(no_color=True)))
    column = lambda x: {row[x] for row in rows[1:-1]}  # noqa: E731
    assert all(column(x) & set("┃╹╻╿╽") for x in rising)
    assert all(column(x) & set("█▀▄") for x in falling)
    assert not any(column(x) & set("┃╹╻╿╽") for x in falling)
    rows = text(render_frame(win, 60, 30, palette()))
    assert not any(set(row) & set("┃╹╻╿╽") for row in rows)  # with colour: filled bodies


def test_widest_zoom_fits_long_runs_at_80_columns() -> None:
    plot = 80 - 34 - 10  # the chart's plot at 80 columns (side panel and axis aside)
    assert ZOOM_LEVELS[-1] * plot >= 1_000_000
    assert any(level * plot >= 20_000 for level in ZOOM_LEVELS)


def test_layout_gives_each_pane_its_rows() -> None:
    lay = layout(120, 40, 2, True)
    (a, ra), (b, rb) = lay.panes
    assert ra == rb and b == a + ra + 1 and b + rb == lay.time_row
    assert lay.top + lay.candle_rows + lay.volume_rows == a - 1


def test_canvas_merges_runs_of_one_style() -> None:
    cv = Canvas(6, 1)
    cv.text(0, 0, "█ █", 1)
    strips = cv.strips([Style(), Style(color="red"), Style(color="blue")])
    # The gap and the blank tail take the run's style: one segment, not four.
    assert [seg.text for seg in strips[0]] == ["█ █   "]


def test_number_formats() -> None:
    assert compact(1_234_567_890.0, 2) == "1.23B"
    assert price(0.0123456) == "0.012346" and price(1234.5) == "1,234.50" and price(None) == "-"
    assert size(3.0) == "3" and size(0.123456) == "0.1235"
    assert nice_ticks(0, 10, 5)[1] == 2
    assert time_format(3600)[1] == 5


def test_theme_colors_come_from_the_app(tmp_path) -> None:
    from textual.app import App

    class Tiny(App[None]):
        pass

    app = Tiny()
    for theme in load_themes():
        app.register_theme(theme)
    app.theme = "algotui-amber"
    colors = theme_colors(app)
    assert colors["series-1"].upper() == "#5FD7FF"


def test_trade_spans_of_a_window_match_a_scan_of_every_trade() -> None:
    rng = np.random.default_rng(5)
    state = RunState()
    state.apply([{"type": "metadata", "symbol": "T", "interval": "1d", "total_bars": 5000}])
    events, bar, tid, open_ids = [], 0, 0, []
    while bar < 4800:  # trades in and out, sometimes two at once (added to), one left open
        bar += int(rng.integers(1, 12))
        if open_ids and rng.random() < 0.6:
            for t in open_ids:
                price = 100.0 + rng.normal()
                events.append({"type": "signal", "action": "EXIT", "side": "SELL", "price": price,
                               "size": 1, "trade_id": t, "bar_number": bar + 1})  # fmt: skip
            open_ids = []
        else:
            tid += 1
            open_ids.append(tid)
            events.append({"type": "signal", "action": "ENTRY", "side": "BUY", "price": 100.0,
                           "size": 1, "trade_id": tid, "bar_number": bar + 1})  # fmt: skip
    state.apply(events)
    index = TradeIndex()
    index.sync(state)
    entry = {m.trade_id: m.bar for m in state.markers if m.kind != "exit"}
    exit_ = {m.trade_id: m.bar for m in state.markers if m.kind == "exit"}
    for first in rng.integers(0, 4900, 40).tolist():
        last = first + int(rng.integers(0, 300))
        expected = sorted(
            (entry[t], exit_[t]) for t in exit_ if entry[t] <= last and exit_[t] >= first
        )
        got = sorted((s.entry_bar, s.exit_bar) for s in index.spans(state, first, last))
        assert got == expected, (first, last)
