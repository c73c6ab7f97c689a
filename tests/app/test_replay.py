"""A recording replays in the app exactly as the live run played."""

import time

import pytest

from algotui.cli import main
from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.protocol.read import RecordingReader
from algotui.run.player import Player
from algotui.tui.app import AlgoApp


def record(path, capsys) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "-s", "rsi_reversion", "-p", "allow_short=true", "--record", str(path)])
    assert info.value.code == 0
    capsys.readouterr()


async def finish(app: AlgoApp) -> AlgoApp:
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f")
        deadline = time.monotonic() + 20
        while not app.state.done:
            assert time.monotonic() < deadline
            await pilot.pause(0.02)
        await pilot.pause(0.1)
    return app


@pytest.mark.parametrize("name", ["run.jsonl", "run.jsonl.gz"])
async def test_replay_shows_what_the_live_run_showed(tmp_path, capsys, name) -> None:
    path = tmp_path / name
    record(path, capsys)

    replayed = AlgoApp(Player(RecordingReader(path), speed=50), start_paused=True)
    replayed = (await finish(replayed)).state
    bt = Backtest(load_source("sample"), BUILTINS["rsi_reversion"], {"allow_short": True})
    live = (await finish(AlgoApp(Player(bt.events(), speed=50), run_id=bt.run_id))).state

    assert replayed.bars == live.bars == 782
    assert replayed.close[:782].tolist() == live.close[:782].tolist()
    assert replayed.times[0] == live.times[0] and replayed.times[-1] == live.times[-1]
    assert [s["price"] for s in replayed.signals] == [s["price"] for s in live.signals]
    assert [m.kind for m in replayed.markers] == [m.kind for m in live.markers]
    assert replayed.equity == live.equity
    assert replayed.metrics == live.metrics
    rsi = "RSI(14)"
    assert replayed.overlay[rsi] is False
    a, b = replayed.indicators[rsi][:782], live.indicators[rsi][:782]
    assert ((abs(a - b) < 1e-6) | (a != a)).all()


def test_replay_refuses_a_file_that_is_not_a_recording(tmp_path, capsys) -> None:
    bogus = tmp_path / "notes.jsonl"
    bogus.write_text('{"hello": 1}\n')
    with pytest.raises(SystemExit) as info:
        main(["replay", str(bogus)])
    assert info.value.code == 2
    assert "not an algotui recording" in capsys.readouterr().err
