"""Snapshots of each screen in fixed states, at 160x45 and 80x24; the panes, the trades view
and the help also at 120x40 and 200x60.

Update after an intended change of the look with ``uv run pytest tests/test_snapshots.py
--snapshot-update`` and review the SVGs in ``tests/__snapshots__``.
"""

import time

import pytest

from algotui.engine import BUILTINS, Backtest, Strategy
from algotui.feed import load_source
from algotui.run.player import Player
from algotui.tui.app import AlgoApp

SIZES = [(160, 45), (80, 24)]


class FailsAtBar60(Strategy):
    """A strategy that trades, then raises: the FAILED state."""

    def next(self):
        if self.i == 20:
            self.buy(reason="first")
        if self.i == 60:
            raise RuntimeError("the data feed said no")


def app_for(strategy: type[Strategy], **params) -> AlgoApp:
    bt = Backtest(load_source("sample"), strategy, params, run_id="snapshot")
    return AlgoApp(Player(bt.events(), speed=20), run_id=bt.run_id, start_paused=True)


async def settle(pilot, cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "state not reached"
        await pilot.pause(0.02)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_paused_at_bar_300(snap_compare, size) -> None:
    app = app_for(BUILTINS["sma_cross"])

    async def run_before(pilot) -> None:
        app.player.step(299)  # a paused app opens on the first bar
        await settle(pilot, lambda: app.state.bars == 300)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_completed_with_rsi_subpane(snap_compare, size) -> None:
    app = app_for(BUILTINS["rsi_reversion"], allow_short=True)

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.done)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_failed(snap_compare, size) -> None:
    app = app_for(FailsAtBar60)

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.failed)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_help_screen(snap_compare) -> None:
    app = app_for(BUILTINS["sma_cross"])
    assert snap_compare(app, terminal_size=(80, 24), press=["question_mark"])


# -- the panes, the trades view and the help at 80x24, 120x40 and 200x60 ------------------------
# Pinned: the run (sample data, rsi_reversion with shorts, 0.1% commission, run_id), the theme
# (the default, named), and no notice on screen (none is raised on the way).

PANE_SIZES = [(80, 24), (120, 40), (200, 60)]


def finished_app() -> AlgoApp:
    bt = Backtest(
        load_source("sample"),
        BUILTINS["rsi_reversion"],
        {"allow_short": True},
        commission=0.001,
        run_id="snapshot",
    )
    return AlgoApp(
        Player(bt.events(), speed=20),
        run_id=bt.run_id,
        start_paused=True,
        theme="algotui-dark",
    )


@pytest.mark.parametrize("size", PANE_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main_screen_completed(snap_compare, size) -> None:
    app = finished_app()

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.done)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", PANE_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_trades_view(snap_compare, size) -> None:
    app = finished_app()

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.done)
        await pilot.press("T", "down", "down")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_trade_detail(snap_compare) -> None:
    app = finished_app()

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.done)
        await pilot.press("T", "down", "d")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40), (200, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_screen_sizes(snap_compare, size) -> None:
    app = finished_app()

    async def run_before(pilot) -> None:
        await settle(pilot, lambda: app.state.bars == 1)
        await pilot.press("question_mark")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


# -- the chart: bar cursor, trade lines, stacked sub-panes, aligned equity ----------------------

CHART_SIZES = [(80, 24), (120, 40), (200, 60)]


@pytest.fixture
def pinned_environment(monkeypatch):
    """What the pictures depend on besides the app: colour on, the default theme, the filters
    Textual reads from the environment (checked, as they are read when Textual is imported)."""
    import textual.constants

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TZ", "UTC")
    assert not textual.constants.FILTERS, "TEXTUAL_FILTERS changes every picture"
    assert textual.constants.COLOR_SYSTEM == "auto", "TEXTUAL_COLOR_SYSTEM changes the colours"


class TwoScales(Strategy):
    """MACD and RSI (two sub-panes, RSI with its levels) and a 20-bar SMA; trades on RSI."""

    def init(self):
        from algotui.engine.indicators import macd, rsi, sma

        self.indicator(sma, self.data.Close, 20, name="SMA(20)", overlay=True)
        self.indicator(macd, self.data.Close, 12, 26, 9,
                       name=("MACD", "MACD signal", "MACD hist"), overlay=False)  # fmt: skip
        self.rsi = self.indicator(rsi, self.data.Close, 14, name="RSI(14)", overlay=False,
                                  levels=(30, 70))  # fmt: skip

    def next(self):
        value = self.rsi[-1]
        if value != value:
            return
        if not self.position and value < 35:
            self.buy(reason="RSI low")
        elif self.position and value > 60:
            self.close(reason="RSI recovered")


@pytest.mark.parametrize("size", CHART_SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_bar_cursor_trades_and_sub_panes(snap_compare, pinned_environment, size) -> None:
    app = app_for(TwoScales)

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.done)
        await pilot.press("c", "shift+left", "shift+left", "left", "left")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", [(120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_whole_run_zoomed_out_and_equity_overview(snap_compare, pinned_environment, size) -> None:
    app = app_for(BUILTINS["sma_cross"])

    async def run_before(pilot) -> None:
        await pilot.press("f")
        await settle(pilot, lambda: app.state.done)
        await pilot.press(*["left_square_bracket"] * 8, "e")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_no_color_candles_and_markers(snap_compare, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = app_for(BUILTINS["sma_cross"])

    async def run_before(pilot) -> None:
        app.player.step(299)  # a paused app opens on the first bar
        await settle(pilot, lambda: app.state.bars == 300)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
