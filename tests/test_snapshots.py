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
