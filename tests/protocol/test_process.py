"""The engine in a child process (what `algotui run` plays in the app): the same stream as in
this process, and failures reported the same way."""

import os
import signal
import time

import numpy as np
import pandas as pd
import pytest

from algotui.engine import BUILTINS, Backtest, Strategy
from algotui.feed import load_source
from algotui.protocol.encode import Encoder
from algotui.run.process import EngineProcess, can_fork
from tests.protocol.checks import FailsAtBar50

pytestmark = pytest.mark.skipif(not can_fork(), reason="needs fork")


def lines(bt: Backtest, items) -> list[str]:  # noqa: ANN001
    encode = Encoder(bt.run_id)
    return [encode.lines(item) for item in items]


@pytest.mark.parametrize("name", ["sma_cross", "rsi_reversion"])
def test_child_stream_is_the_same_as_in_process(name: str) -> None:
    data = load_source("sample")
    here = Backtest(data, BUILTINS[name], {"allow_short": True}, run_id="r1")
    expected = lines(here, list(here.stream()))
    there = Backtest(data, BUILTINS[name], {"allow_short": True}, run_id="r1")
    got = lines(there, list(EngineProcess(there)))
    strip = [x for x in expected if '"type":"metadata"' not in x]
    assert [x for x in got if '"type":"metadata"' not in x] == strip
    assert there.status == "completed" and there.metrics == here.metrics
    assert there.bars_done == len(data)


def test_child_failure_is_reported_here() -> None:
    bt = Backtest(load_source("sample"), FailsAtBar50)
    items = list(EngineProcess(bt))
    assert items[-1].type == "error" and "boom at bar 50" in items[-1].message
    assert bt.status == "failed" and "boom at bar 50" in bt.error_message
    assert "raise ValueError" in bt.error_details and "checks.py" in bt.error_details


def test_a_killed_child_ends_the_stream_with_an_error() -> None:
    # far more than the pipe holds: the child is still running when it is killed
    n = 200_000
    close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 1e-3, n)))
    index = pd.date_range("2020-01-01", periods=n, freq="min")
    frame = {"Open": close, "High": close, "Low": close, "Close": close, "Volume": 1.0}
    bt = Backtest(pd.DataFrame(frame, index=index), BUILTINS["sma_cross"], emit_every=1)
    source = EngineProcess(bt)
    stream = iter(source)
    next(stream)
    os.kill(source._proc.pid, signal.SIGKILL)
    with pytest.raises(RuntimeError, match="engine process stopped unexpectedly"):
        for _ in stream:
            pass


async def test_the_app_shows_a_child_failure() -> None:
    from algotui.run.player import Player
    from algotui.tui.app import AlgoApp

    for _ in range(3):  # the first frame may come before or after the child's first batch
        bt = Backtest(load_source("sample"), FailsAtBar50)
        app = AlgoApp(Player(EngineProcess(bt), speed=None), run_id=bt.run_id)
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.state.done:
                await pilot.pause(0.05)
            assert app.run_state_label == "FAILED"
            assert "boom at bar 50" in app.state.error["message"]
            assert app.state.meta["symbol"] == "SAMPLE" and app.state.bars == 49
            await pilot.press("q")


def test_live_signals_read_like_a_list_of_dicts() -> None:
    from algotui.view.state import RunState

    bt = Backtest(load_source("sample"), BUILTINS["sma_cross"])
    state = RunState(bt.run_id)
    state.apply(list(EngineProcess(bt)))
    here = Backtest(load_source("sample"), BUILTINS["sma_cross"], run_id=bt.run_id)
    encode = Encoder(bt.run_id)
    expected = [encode.to_dict(e) for e in here.events() if e.type == "signal"]
    assert len(state.signals) == len(expected) > 4
    assert [s["price"] for s in state.signals] == [s["price"] for s in expected]
    assert state.signals[-1] == expected[-1] and state.signals[1:3] == expected[1:3]
    assert [t["pnl"] for t in state.trades] == [
        m["pnl"] for m in (e for e in expected if e["action"] == "EXIT")
    ]


class PoolInInit(Strategy):
    """Computes its indicator with a process pool, as a heavy strategy may."""

    def init(self):
        import multiprocessing

        close = np.asarray(self.data.Close)
        with multiprocessing.get_context("fork").Pool(2) as pool:
            parts = pool.map(np.cumsum, np.array_split(close, 4))
        self.total = self.indicator(np.concatenate(parts), name="pieces")

    def next(self):
        if self.i == 10:
            self.buy()


def test_a_strategy_may_start_processes_of_its_own() -> None:
    bt = Backtest(load_source("sample"), PoolInInit)
    items = list(EngineProcess(bt))
    assert bt.status == "completed", bt.error_message
    assert items[-1].type == "complete"


class SlowAfterEntry(Strategy):
    """Buys on bar 2; from bar 3 on every bar takes 0.4 s."""

    def next(self):
        if self.i == 2:
            self.buy()
        elif self.i >= 3:
            time.sleep(0.4)


def test_the_events_of_a_bar_are_not_held_back_by_a_slow_next_bar() -> None:
    data = load_source("sample").iloc[:6]
    bt = Backtest(data, SlowAfterEntry, emit_every=1000)
    arrived = []
    for batch in EngineProcess(bt).batches():
        now = time.monotonic()
        arrived += [(item, now) for item in batch]
    # bar 3 (index 3): its entry fill at the open; its candle and signal go out together
    # once its next() returns, 0.4 s before bar 4's next() ends
    candle3 = next(
        t for item, t in arrived if item.type == "candle" and item.bar <= 3 < item.bar + len(item)
    )
    candle4 = next(
        t for item, t in arrived if item.type == "candle" and item.bar <= 4 < item.bar + len(item)
    )
    signal3 = next(t for item, t in arrived if item.type == "signal")
    assert candle4 - candle3 > 0.3, "bar 4 really came later"
    assert signal3 - candle3 < 0.2, "the signal did not wait for the next bar"
