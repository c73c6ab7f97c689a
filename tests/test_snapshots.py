"""Snapshots of each screen in fixed states, at 160x45 and 80x24.

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
        app.player.step(300)
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
