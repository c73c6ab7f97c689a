"""The run state: the same from every source, and rewound to any bar it equals a state fed
only up to that bar."""

import random

import pytest

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.protocol.read import RecordingReader
from algotui.protocol.records import Candles
from algotui.run.process import EngineProcess, can_fork
from algotui.run.recorder import Recorder
from algotui.view.state import RunState


def _run(name: str = "rsi_reversion", **options) -> tuple[Backtest, list]:
    bt = Backtest(
        load_source("sample"), BUILTINS[name], {"allow_short": True}, run_id="r", **options
    )
    return bt, list(bt.stream())


def _fed(records: list, bars: int | None = None) -> RunState:
    """A state fed ``records``; with ``bars``, only the events up to the end of that many bars
    (everything before the next bar's candle)."""
    state = RunState("r")
    if bars is None:
        state.apply(records)
        return state
    for record in records:
        if isinstance(record, Candles):
            room = bars - state.received
            if room <= 0:
                break
            if len(record) > room:
                state.apply([record.part(0, room)])
                break
        state.apply([record])
    return state


def test_the_state_is_the_same_from_every_source(tmp_path) -> None:
    bt, records = _run()
    here = _fed(records)
    path = tmp_path / "run.jsonl"
    with Recorder(path, "r") as recorder:
        for record in records:
            recorder.write(record)
    read_back = _fed(list(RecordingReader(path, follow=False)))
    assert here.snapshot() == read_back.snapshot()
    assert here.bars == 782 and here.metrics is not None and here.trades
    if can_fork():
        child = Backtest(
            load_source("sample"), BUILTINS["rsi_reversion"], {"allow_short": True}, run_id="r"
        )
        assert _fed(list(EngineProcess(child))).snapshot() == here.snapshot()


@pytest.mark.parametrize(
    ("name", "options"),
    [("rsi_reversion", {}), ("sma_cross", {"emit_every": 7}), ("bollinger_breakout", {})],
)
def test_rewound_to_any_bar_it_shows_what_was_true_then(name, options) -> None:
    _, records = _run(name, **options)
    full = _fed(records)
    rng = random.Random(4)
    for bar in [0, 1, 299, 780, 781, *rng.sample(range(782), 25)]:
        full.rewind(bar)
        expected = _fed(records, bar + 1).snapshot()
        if bar == 781:
            assert not full.rewound
        assert full.snapshot() == expected, f"bar {bar}"
    full.follow()
    assert full.snapshot() == _fed(records).snapshot()


def test_rewind_carries_moved_levels_and_open_trades() -> None:
    from algotui.engine import Strategy

    class Trailing(Strategy):
        def next(self):
            if not self.position and not self.orders:
                self.buy(sl=self.price * 0.9)
            elif self.position:
                t = self.trades[0]
                t.sl = max(t.sl, self.price * 0.95)  # trail up
                if self.i - t.entry_bar > 20:
                    self.close()

    bt = Backtest(load_source("sample"), Trailing, run_id="r")
    records = list(bt.stream())
    assert any(r.type == "levels" for r in records)
    full = _fed(records)
    for bar in range(0, 782, 13):
        full.rewind(bar)
        assert full.snapshot() == _fed(records, bar + 1).snapshot(), f"bar {bar}"


def test_a_million_bar_state_rewinds_in_milliseconds() -> None:
    """Not a timing assertion: the rewind touches a keyframe and a few hundred changes."""
    import numpy as np
    import pandas as pd

    n = 200_000
    close = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 2e-3, n)))
    index = pd.date_range("2020-01-01", periods=n, freq="min")
    df = pd.DataFrame({"Open": close, "High": close, "Low": close, "Close": close, "Volume": 1.0},
                      index=index)  # fmt: skip
    bt = Backtest(df, BUILTINS["sma_cross"], run_id="r")
    state = RunState("r")
    state.apply(list(bt.stream()))
    assert len(state._changes) > 1000
    calls = []
    real = state._open_at

    def counted(k: int):
        calls.append(k)
        return real(k)

    state._open_at = counted  # type: ignore[method-assign]
    state.rewind(123_456)
    opened = state.open_trades
    assert calls and calls[0] - (calls[0] // 256) * 256 < 256
    assert all(t.entry_bar <= 123_456 for t in opened.values())
