"""The player paces, pauses, steps and finishes; playback seeks back and plays on."""

import threading
import time

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.protocol.records import Candles
from algotui.run.controls import Controls
from algotui.run.player import Playback, Player
from algotui.view.state import RunState


def _records() -> list:
    return list(Backtest(load_source("sample"), BUILTINS["sma_cross"], run_id="r").stream())


def _bars(items: list) -> int:
    return sum(len(x) for x in items if isinstance(x, Candles))


def _wait(cond, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "not reached"
        time.sleep(0.005)


def _start(player: Player) -> threading.Thread:
    thread = threading.Thread(target=player.run, daemon=True)
    thread.start()
    return thread


def test_paused_player_releases_one_bar_per_step() -> None:
    player = Player(_records(), speed=20)
    player.pause()
    _start(player)
    time.sleep(0.05)
    assert _bars(player.drain()) == 0
    player.step()
    _wait(lambda: player.bars == 1)
    player.step(3)
    _wait(lambda: player.bars == 4)
    assert _bars(player.drain()) == 4
    player.stop()


def test_finish_runs_to_the_end_and_advance_to_holds_after() -> None:
    player = Player(_records(), speed=1)
    player.pause()
    _start(player)
    player.advance_to(300)
    _wait(lambda: player.bars == 300)
    time.sleep(0.05)
    assert player.bars == 300 and player.paused
    player.finish()
    _wait(lambda: player.done)
    assert player.bars == 782 and player.failure is None


def test_a_batch_cut_into_bars_keeps_its_values() -> None:
    records = _records()
    player = Player(records, speed=None)
    _start(player)
    _wait(lambda: player.done)
    got = player.drain()
    assert _bars(got) == 782
    state, expected = RunState("r"), RunState("r")
    state.apply(got)
    expected.apply(records)
    assert state.snapshot() == expected.snapshot()


def test_playback_is_the_controls_the_app_drives() -> None:
    state = RunState("r")
    playback = Playback(Player(_records(), speed=200), state)
    assert isinstance(playback, Controls)


def test_playback_seeks_back_and_plays_on_to_the_newest_then_the_source() -> None:
    state = RunState("r")
    player = Player(_records(), speed=1000)
    playback = Playback(player, state)
    playback.pause()
    _start(player)
    playback.seek(400)  # forward past what was received: the player releases up to it
    _wait(lambda: player.bars == 401)
    state.apply(player.drain())
    assert state.bars == 401 and not state.rewound
    playback.seek(100)
    assert state.rewound and state.bars == 101 and player.paused
    playback.step(2)
    assert state.bars == 103 and state.rewound
    playback.resume()  # plays the received bars back at the pace, then the source goes on
    assert not playback.paused and player.paused
    deadline = time.monotonic() + 10
    while state.rewound:
        assert time.monotonic() < deadline
        playback.tick()
        state.apply(player.drain())
        time.sleep(0.01)
    assert state.bars == 401
    _wait(lambda: player.bars > 401 or player.done)  # the source goes on
    playback.finish()
    _wait(lambda: player.done)
    state.apply(player.drain())
    assert state.bars == 782 and state.done
