"""The terminal app, driven with Textual's pilot: every control does what the help says."""

import asyncio
import io
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console

from algotui.engine import BUILTINS, Backtest, Strategy
from algotui.feed import load_source
from algotui.run.player import Player
from algotui.run.process import EngineProcess, can_fork
from algotui.tui.app import AlgoApp
from algotui.tui.screens.help import HelpScreen
from algotui.tui.widgets.signals import SignalLog


def make_app(
    strategy: type[Strategy] | None = None,
    *,
    speed: float | None = 20.0,
    paused: bool = True,
    source: str = "events",
    **params,
) -> AlgoApp:
    """The app on the sample. ``source``: the engine's events one by one (``events``), its
    compact stream in this process (``stream``), or that stream from a forked child
    (``child``), as ``algotui run`` plays it."""
    bt = Backtest(load_source("sample"), strategy or BUILTINS["sma_cross"], params)
    items = {"events": bt.events, "stream": bt.stream, "child": lambda: EngineProcess(bt)}
    player = Player(items[source](), speed=speed)
    return AlgoApp(player, run_id=bt.run_id, start_paused=paused)


SOURCES = [
    "events",
    "stream",
    pytest.param("child", marks=pytest.mark.skipif(not can_fork(), reason="needs fork")),
]


def screen_text(app: AlgoApp) -> str:
    """The screen as plain text, as a person would read it."""
    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        force_terminal=True,
        color_system=None,
        legacy_windows=False,
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text()


async def until(pilot, cond: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


@pytest.mark.parametrize("source", SOURCES)
async def test_paused_app_opens_on_the_first_bar_and_step_advances_one(source: str) -> None:
    app = make_app(source=source)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.bars == 1)
        await pilot.pause(0.3)
        assert app.state.bars == 1  # the first bar, not an empty chart
        assert app.run_state_label == "PAUSED"
        assert "1 / 782" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: app.state.bars == 2)
        await pilot.pause(0.2)
        assert app.state.bars == 2
        await pilot.press("right")
        await until(pilot, lambda: app.state.bars == 3)
        await pilot.pause(0.2)
        assert app.state.bars == 3


@pytest.mark.parametrize("source", SOURCES)
async def test_space_pauses_and_resumes(source: str) -> None:
    app = make_app(speed=200, paused=False, source=source)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.bars > 5)
        await pilot.press("space")
        await pilot.pause(0.1)
        frozen = app.state.bars
        await pilot.pause(0.4)
        assert app.state.bars <= frozen + 1
        assert app.run_state_label == "PAUSED"
        await pilot.press("space")
        await until(pilot, lambda: app.state.bars > frozen + 10)
        assert app.run_state_label == "RUNNING"


async def test_speed_keys_walk_the_ladder_and_max() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("plus")
        assert app.player.speed == 50
        await pilot.press("minus", "minus")
        assert app.player.speed == 10
        await pilot.press("0")
        assert app.player.speed is None
        await pilot.pause(0.1)
        assert "max" in screen_text(app).splitlines()[0]
        await pilot.press("minus")
        assert app.player.speed == 50_000


@pytest.mark.parametrize("source", SOURCES)
async def test_finish_runs_to_the_end_and_shows_final_metrics(source: str) -> None:
    app = make_app(source=source)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: app.state.done)
        await pilot.pause(0.1)
        assert app.state.bars == app.state.total_bars == 782
        assert app.run_state_label == "DONE"
        text = screen_text(app)
        assert "Sharpe" in text and "Max DD" in text and "782 / 782" in text
        assert "DONE" in text


async def test_pan_zoom_follow_and_volume() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: app.state.done)
        chart = app.chart
        zoom = chart.bars_per_column
        await pilot.press("left_square_bracket")
        assert chart.bars_per_column > zoom
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert chart.bars_per_column < zoom
        await pilot.press("less_than_sign")
        assert chart.offset > 0 and not app.state.rewound, "< pans; the state stays"
        await pilot.press("end")
        assert chart.offset == 0
        volume = chart.show_volume
        await pilot.press("v")
        assert chart.show_volume is not volume


async def test_signal_log_enter_jumps_the_chart_to_the_signal() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: app.state.done)
        await pilot.pause(0.1)
        log = app.query_one(SignalLog)
        assert len(app.state.signals) > 10
        log.focus()
        await pilot.press("down", "down", "down", "down", "down", "down", "enter")
        await pilot.pause(0.1)
        assert app.chart.offset > 0  # no longer following: showing an older signal's bar


async def test_screenshot_theme_and_help(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause(0.2)
        shots = list(tmp_path.glob("algotui-*.svg"))
        assert len(shots) == 1 and shots[0].stat().st_size > 1000
        first = app.theme
        await pilot.press("t")
        assert app.theme != first
        await pilot.press("t", "t")
        assert app.theme == first
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, HelpScreen)


class Crashes(Strategy):
    """Raises on bar 30."""

    def next(self):
        if self.i == 30:
            raise ValueError("boom at bar 30")


async def test_a_failing_strategy_shows_failed_and_q_still_quits() -> None:
    app = make_app(Crashes, speed=None, paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.failed)
        await pilot.pause(0.1)
        assert app.run_state_label == "FAILED"
        box = app.query_one("#error")
        text = screen_text(app)
        assert box.display and "boom" in text and "at bar 30" in text  # wrapped to the pane
        assert "FAILED" in screen_text(app)
        await pilot.press("q")
    assert app.return_code == 1


async def test_q_quits_cleanly_mid_run() -> None:
    app = make_app(speed=50, paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.bars > 3)
        await pilot.press("q")
    assert app.return_code == 0
    await asyncio.sleep(0.1)
    assert app.player.done


@pytest.mark.parametrize("size", [(80, 24), (200, 60)])
async def test_layout_fits_small_and_large_terminals(size) -> None:
    app = make_app()
    async with app.run_test(size=size) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: app.state.done)
        await pilot.pause(0.1)
        assert app.chart.size.width >= 40
        assert app.chart.size.height >= 8
        assert app.query_one("#stats").size.width >= 30
        equity_shown = app.equity_chart.display and app.equity_chart.size.height > 0
        assert equity_shown is (size[1] >= 30)


async def test_no_color_runs_to_the_end_with_readable_markers(monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(speed=None, paused=False)
    assert app.no_color
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.state.done)
        await pilot.press("less_than_sign", "less_than_sign", "less_than_sign")
        await pilot.pause(0.2)
        text = screen_text(app)
        assert "DONE" in text
        assert "▲" in text or "✕" in text  # fills stay distinct without colour


async def test_an_idle_app_rests_and_a_key_wakes_it() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        await until(pilot, lambda: app.state.done)
        await until(pilot, lambda: app.idle, timeout=5)  # a second of nothing: the timer rests
        ticks = app.clock._ticks
        await pilot.pause(0.5)
        assert app.clock._ticks - ticks <= 4, "at most a few looks in half a second"
        zoom = app.chart.bars_per_column
        await pilot.press("left_square_bracket")
        assert not app.idle
        assert app.chart.bars_per_column > zoom


async def test_a_paused_app_wakes_to_show_a_step() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.idle, timeout=5)
        await pilot.press("n")
        await until(pilot, lambda: app.state.bars == 2, timeout=1)
        assert "2 / 782" in screen_text(app)
