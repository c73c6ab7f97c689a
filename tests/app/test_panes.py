"""The header, footer, help, stats, signal log and trades view, driven as a person would."""

import asyncio
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from textual.containers import VerticalScroll
from textual.widgets import DataTable

from algotui.cli import main
from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.protocol.read import RecordingReader
from algotui.run.player import Player
from algotui.tui.app import AlgoApp
from algotui.tui.keys import SCOPES, help_lines, legend
from algotui.tui.screens.detail import TradeDetail
from algotui.tui.screens.help import HelpScreen
from algotui.tui.screens.trades import COLUMNS, TradesScreen
from algotui.tui.widgets.signals import SignalLog
from algotui.tui.widgets.stats import StatsPanel
from algotui.view.state import RunState
from tests.app.test_app import make_app, screen_text, until

SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """A recorded rsi_reversion run (with shorts)."""
    path = tmp_path_factory.mktemp("rec") / "run.jsonl"
    with pytest.raises(SystemExit) as info:
        main(["run", "-s", "rsi_reversion", "-p", "allow_short=true", "--record", str(path)])
    assert info.value.code == 0
    return path


async def finished(pilot, app: AlgoApp) -> None:
    await pilot.press("f")
    await until(pilot, lambda: app.state.done)
    await pilot.pause(0.2)


# -- header and footer -------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_footer_always_shows_help_and_quit_and_the_header_fits(size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: app.state.bars == 1)
        await pilot.pause(0.2)
        lines = screen_text(app).splitlines()
        header, footer = lines[0], lines[-1]
        assert "? Help" in footer and "q Quit" in footer
        assert "space Pause" in footer
        assert header.startswith(" PAUSED") and "SAMPLE 1d" in header and "20 bars/s" in header
        if size[0] >= 200:
            assert "fast=10 slow=20 allow_short=False" in header
            assert "cash 10,000  comm 0%  slip 0%  fill next-open" in header
        else:
            assert "…" in header  # parameters and assumptions cut visibly, not dropped
        if size[0] == 80:
            assert "…" in footer  # keys left out for room are marked


async def test_header_says_loading_until_the_metadata_comes() -> None:
    gate = threading.Event()
    bt = Backtest(load_source("sample"), BUILTINS["sma_cross"], {})

    def held() -> Iterator[Any]:
        gate.wait(10)
        yield from bt.events()

    app = AlgoApp(Player(held(), speed=20), run_id=bt.run_id, start_paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.3)
        text = screen_text(app)
        assert app.run_state_label == "LOADING"
        assert "LOADING" in text.splitlines()[0] and "waiting" in text.splitlines()[0]
        assert "0 / 0" not in text and "loading" in text
        gate.set()
        await until(pilot, lambda: app.state.bars == 1)
        await pilot.pause(0.2)
        assert "1 / 782" in screen_text(app)


async def test_speed_of_one_reads_one_bar_a_second() -> None:
    app = make_app(speed=1)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert "1 bar/s" in screen_text(app).splitlines()[0]
        await pilot.press("minus")
        await pilot.pause(0.1)
        assert "0.5 bars/s" in screen_text(app).splitlines()[0]


async def test_ctrl_c_quits_as_q_does() -> None:
    app = make_app(speed=50, paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.bars > 3)
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
    assert app.return_code == 0
    await asyncio.sleep(0.1)
    assert app.player.done  # the run was told to stop, as q does


async def test_a_replay_says_so_with_its_file_name(recording) -> None:
    player = Player(RecordingReader(recording), speed=20)
    app = AlgoApp(player, start_paused=True, replay_of="run.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.bars == 1)
        await pilot.pause(0.2)
        header = screen_text(app).splitlines()[0]
        assert "REPLAY" in header and "run.jsonl" in header


async def test_a_recording_that_ends_early_says_where(recording, tmp_path) -> None:
    lines = recording.read_text().splitlines(keepends=True)
    candles = [i for i, line in enumerate(lines) if '"type":"candle"' in line.replace(" ", "")]
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: candles[300]]))  # bars 1..300, then nothing: no complete
    app = AlgoApp(Player(RecordingReader(cut), speed=None), replay_of="cut.jsonl")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.ended_early)
        await pilot.pause(0.3)
        assert app.run_state_label == "ENDED EARLY"
        text = screen_text(app)
        assert "ENDED EARLY at bar 300" in text.splitlines()[0]
        assert "RUNNING" not in text
        notices = [n.message for n in app._notifications]
        assert any("ended early, at bar 300 of 782" in m for m in notices), notices
        assert not app.state.done


async def test_a_complete_replay_is_not_called_early(recording) -> None:
    app = AlgoApp(Player(RecordingReader(recording), speed=None))
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        await pilot.pause(0.3)
        assert not app.ended_early and app.run_state_label == "DONE"


# -- stats -------------------------------------------------------------------------------------


FINAL = ["Return", "Buy & hold", "Max DD", "Sharpe", "Avg win", "Best", "Worst", "Commissions"]


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_final_stats_can_all_be_read(size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await finished(pilot, app)
        stats = app.query_one(StatsPanel)
        seen = set()
        for _ in range(40):  # scroll down as a reader would, noting each label on screen
            text = screen_text(app)
            seen |= {label for label in FINAL if label in text}
            if stats.scroll_y >= stats.max_scroll_y:
                break
            if not stats.has_focus:
                await pilot.press("tab")  # the panel takes focus when it scrolls
                assert stats.has_focus
            await pilot.press("down", "down", "down")  # three lines: less than the panel shows
            await pilot.pause(0.05)
        assert seen == set(FINAL)


async def test_final_stats_fit_at_200x60_without_scrolling() -> None:
    app = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await finished(pilot, app)
        text = screen_text(app)
        assert all(label in text for label in FINAL)
        assert app.query_one(StatsPanel).max_scroll_y == 0


# -- signal log --------------------------------------------------------------------------------


def signal_rows(app: AlgoApp) -> list[str]:
    log = app.query_one(SignalLog)
    x, y = log.content_region.x, log.content_region.y
    lines = screen_text(app).splitlines()
    return [
        line[x : x + log.scrollable_content_region.width]
        for line in lines[y : y + log.scrollable_content_region.height]
        if line[x : x + 4].strip()
    ]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_signal_columns_fit_the_width(size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await finished(pilot, app)
        rows = signal_rows(app)
        assert len(rows) >= 3
        exits = [r for r in rows if "EXIT" in r or "OUT " in r]
        assert exits and all(re.search(r"[+-][\d,]+", r) for r in exits)  # P&L on exits
        if size[0] >= 120:
            assert all("SMA(10) cross" in r for r in rows)  # the reason has room to be read
        if size[0] >= 200:
            assert any("SMA(10) crossed" in r for r in rows) and "ENTRY" in rows[-1] + rows[-2]
        if size[0] == 80:
            assert all(r.rstrip().endswith("…") for r in rows)  # cut visibly, not dropped


async def test_intraday_rows_keep_their_time_at_midnight() -> None:
    data = load_source("sample").iloc[:300].copy()
    params = {"fast": 3, "slow": 7}
    # Hourly bars placed so that the first signal falls on a bar at midnight.
    data.index = pd.date_range("2024-01-01 00:00", periods=len(data), freq="h")
    probe = Backtest(data, BUILTINS["sma_cross"], params, interval="1h")
    seen = RunState()
    seen.apply(list(probe.events()))
    first = seen.signals[0]
    start = pd.Timestamp("2024-01-10 00:00") - pd.Timedelta(hours=first["bar_number"] - 1)
    data.index = pd.date_range(start, periods=len(data), freq="h")
    bt = Backtest(data, BUILTINS["sma_cross"], params, interval="1h")
    app = AlgoApp(Player(bt.events(), speed=20), run_id=bt.run_id)
    async with app.run_test(size=(120, 40)) as pilot:
        await finished(pilot, app)
        rows = signal_rows(app)
        assert len(rows) > 10
        starts = [re.match(r"(\d\d-\d\d \d\d:\d\d|\d{4}-\d\d-\d\d \d\d:\d\d) ", r) for r in rows]
        assert all(starts), rows  # every row has its time of day, midnight too
        times = [s.group(1) for s in starts if s]
        assert len({len(t) for t in times}) == 1
        price_ends = {len(re.match(r"(.*?\d\.\d\d) ", r).group(1)) for r in rows}
        assert len(price_ends) == 1, rows  # the price column lines up on every row
        assert app.state.signals[0]["timestamp"] == "2024-01-10T00:00:00"
        app.query_one(SignalLog).show_signal(0)  # the oldest, at midnight, into view
        await pilot.pause(0.2)
        oldest = signal_rows(app)
        assert any(r.startswith("01-10 00:00 ") for r in oldest), oldest


# -- help --------------------------------------------------------------------------------------


async def test_help_lists_every_key_and_the_legend_and_scrolls_at_80x24() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        assert isinstance(app.screen, HelpScreen)
        body = app.screen.query_one(VerticalScroll)
        assert body.max_scroll_y > 0  # taller than the terminal: it scrolls
        seen = screen_text(app)
        for _ in range(30):  # a page at a time: every line passes the screen once
            await pilot.press("pagedown")
            await pilot.pause()
            seen += screen_text(app)
            if body.scroll_y >= body.max_scroll_y:
                break
        for _, items in help_lines(SCOPES, app):
            for _key, description in items:
                assert description[:30] in seen, description
        for _glyph, _, meaning in legend():
            assert meaning in seen
        assert "Trades view" in seen and "Chart legend" in seen
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, HelpScreen)


# -- the trades view ---------------------------------------------------------------------------


async def trades_view(pilot, app: AlgoApp) -> TradesScreen:
    """Finish the run and open the trades view, as a person would (f, then T)."""
    await finished(pilot, app)
    await pilot.press("T")
    await pilot.pause(0.3)
    assert isinstance(app.screen, TradesScreen)
    return app.screen


def allow_short_app() -> AlgoApp:
    return make_app(BUILTINS["rsi_reversion"], allow_short=True)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_trades_view_lists_every_trade(size) -> None:
    app = allow_short_app()
    async with app.run_test(size=size) as pilot:
        screen = await trades_view(pilot, app)
        table = screen.query_one(DataTable)
        closed = len(app.state.trades)
        assert table.row_count == closed + len(app.state.open_trades) and closed > 5
        text = screen_text(app)
        assert "Entry time" in text and "P&L" in text
        assert f"{closed} closed" in text
        assert {"long", "short"} <= {t.direction for t in screen.records}
        footer = text.splitlines()[-1]
        assert "enter Jump" in footer and "q Quit" in footer and "? Help" in footer
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TradesScreen)


async def test_trades_sort_by_keys_and_by_header_click() -> None:
    app = allow_short_app()
    async with app.run_test(size=(200, 60)) as pilot:
        screen = await trades_view(pilot, app)
        pnl_column = [c[0] for c in COLUMNS].index("P&L")
        await pilot.press(*[">"] * pnl_column)
        await pilot.pause(0.1)
        pnls = [t.pnl for t in screen.records]
        assert pnls == sorted(pnls)
        await pilot.press("r")
        await pilot.pause(0.1)
        assert [t.pnl for t in screen.records] == sorted(pnls, reverse=True)
        assert "P&L ▼" in screen_text(app)
        # A click on the "Bars" header sorts by bars held.
        table = screen.query_one(DataTable)
        bars_col = [c[0] for c in COLUMNS].index("Bars")
        x = sum(col.get_render_width(table) for col in list(table.columns.values())[:bars_col])
        await pilot.click(DataTable, offset=(x + 2, 0))
        await pilot.pause(0.2)
        assert screen.sort_column == bars_col
        held = [t.bars_held for t in screen.records]
        assert held == sorted(held)


async def test_enter_jumps_the_chart_to_the_trade_and_selects_its_entry() -> None:
    app = allow_short_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await trades_view(pilot, app)
        await pilot.press("down", "down")
        trade = screen.selected
        assert trade is not None and trade is screen.records[2] and trade.entry_bar is not None
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, TradesScreen)
        first, last = app.chart.visible_range
        assert first <= trade.entry_bar <= last and not app.chart.following
        log = app.query_one(SignalLog)
        sig = app.state.signals[log.cursor]
        assert sig["trade_id"] == trade.trade_id and sig["action"] == "ENTRY"
        assert any(f"Trade #{trade.trade_id}" in n.message for n in app._notifications)


async def test_trade_detail_shows_reasons_and_levels() -> None:
    app = make_app(BUILTINS["rsi_reversion"], allow_short=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await trades_view(pilot, app)
        await pilot.press("d")
        await pilot.pause(0.2)
        assert isinstance(app.screen, TradeDetail)
        text = screen_text(app)
        trade = app.screen.trade
        assert f"Trade #{trade.trade_id}" in text
        assert "reason" in text and trade.entry_note[:20] in text
        assert "Stop-loss and take-profit" in text
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, TradesScreen)


async def test_trade_detail_lists_stop_loss_moves() -> None:
    from algotui.engine import Strategy

    class Trails(Strategy):
        """Buys with a stop-loss and raises it every ten bars."""

        def next(self):
            if not self.position and self.i % 40 == 5:
                self.buy(sl=self.price * 0.9, tp=self.price * 1.5, reason="timed entry")
            for t in self.trades:
                if self.i % 10 == 0:
                    t.sl = max(t.sl or 0, self.price * 0.95)

    app = make_app(Trails)
    async with app.run_test(size=(120, 40)) as pilot:
        await trades_view(pilot, app)
        await pilot.press("d")
        await pilot.pause(0.2)
        assert isinstance(app.screen, TradeDetail)
        text = screen_text(app)
        assert "set at entry" in text and "timed entry" in text
        trade = app.screen.trade
        assert len(trade.levels) > 2 and "moved stop-loss" in text  # the trailing stop
        assert [c.stop_loss for c in trade.levels[1:]] == sorted(
            c.stop_loss for c in trade.levels[1:]
        )


async def test_a_long_list_shows_its_first_rows_and_sorting_brings_any_up(monkeypatch) -> None:
    import algotui.tui.screens.trades as trades

    monkeypatch.setattr(trades, "MAX_ROWS", 4)
    app = allow_short_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await trades_view(pilot, app)
        total = len(screen.records)
        assert screen.query_one(DataTable).row_count == 4 < total
        assert f"showing the first 4 of {total}" in screen_text(app)
        best = max(screen.records, key=lambda t: t.pnl or 0)
        await pilot.press(*[">"] * [c[0] for c in COLUMNS].index("P&L"), "r")
        await pilot.pause(0.2)
        assert screen.selected is not None and screen.records[0] is best
        assert f"{best.pnl:+,.2f}" in screen_text(app)  # the best trade is now on screen


async def test_help_fits_200x60_in_two_columns_without_scrolling() -> None:
    app = make_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        body = app.screen.query_one(VerticalScroll)
        assert body.max_scroll_y == 0
        text = screen_text(app)
        assert "Chart legend" in text and "ctrl+c" in text and "Trades view" in text


async def test_a_trade_longer_than_the_window_opens_at_its_entry() -> None:
    app = make_app(BUILTINS["buy_and_hold"])
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await trades_view(pilot, app)
        (trade,) = screen.records
        assert trade.is_open and app.chart.visible_bars < app.state.bars - trade.entry_bar
        await pilot.press("enter")
        await pilot.pause(0.2)
        first, last = app.chart.visible_range
        assert first <= trade.entry_bar <= last
