"""Seeking in the app, as a user does it: the run as of any bar, back and forth."""

import time

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.run.player import Player
from algotui.tui.app import AlgoApp
from tests.unit.test_run_state import _fed


def _app(**kw) -> tuple[AlgoApp, list]:
    records = list(Backtest(load_source("sample"), BUILTINS["rsi_reversion"], run_id="r").stream())
    return AlgoApp(Player(records, speed=kw.pop("speed", None)), run_id="r", **kw), records


async def _until(pilot, cond, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "not reached"
        await pilot.pause(0.02)


def _status(app: AlgoApp) -> str:
    return str(app.query_one("#status").render())


async def test_g_300_shows_the_run_as_of_bar_300() -> None:
    app, records = _app()
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.state.done)
        await pilot.press("g", *"300", "enter")
        await _until(pilot, lambda: app.state.bars == 300)
        expected = _fed(records, 300)
        assert app.state.stats == expected.stats
        assert app.state.snapshot() == expected.snapshot()
        assert "REPLAY" in _status(app) and "bar 300 of 782" in _status(app)
        await pilot.press("left")
        assert app.state.bars == 299
        await pilot.press("right", "right")
        assert app.state.bars == 301
        await pilot.press("home")
        assert app.state.bars == 1 and not app.state.trades
        await pilot.press("pagedown")
        assert app.state.bars > 1
        await pilot.press("end")
        assert app.state.bars == 782 and not app.state.rewound
        assert "DONE" in _status(app)


async def test_g_takes_a_date_and_refuses_nonsense(app_at) -> None:
    app = app_at("rsi_reversion", paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.state.done)
        await pilot.press("g", *"nonsense", "enter")
        await pilot.pause(0.1)
        assert app.screen.query_one("#why").render().plain.startswith("'nonsense'")
        await pilot.press("escape")
        await pilot.press("g", *"2023-06-01", "enter")
        await _until(pilot, lambda: app.state.rewound)
        assert app.state.time(app.state.bars - 1) >= "2023-06-01"
        assert app.state.time(app.state.bars - 2) < "2023-06-01"


async def test_playing_on_from_a_seek_catches_up_then_goes_on() -> None:
    app, records = _app(speed=400, start_paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        app.player.seek(499)  # on past what was received: released at full speed
        await _until(pilot, lambda: app.state.bars == 500)
        await pilot.press("g", *"100", "enter")
        await _until(pilot, lambda: app.state.bars == 100)
        assert app.state.rewound and app.run_state_label == "REPLAY"
        await pilot.press("space")  # plays the received bars back, then the engine's
        await _until(pilot, lambda: app.state.bars > 500, timeout=30)
        await pilot.press("f")
        await _until(pilot, lambda: app.state.done and not app.state.rewound)
        assert app.state.snapshot() == _fed(records, 782).snapshot()
