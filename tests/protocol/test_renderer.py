"""Long recordings: candle lines rendered in a child process, the same text as in-process."""

import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algotui.engine import BUILTINS, Backtest
from algotui.protocol.encode import Encoder
from algotui.protocol.records import Candles
from algotui.run.recorder import Recorder

# --- long recordings: candles rendered in a child process ------------------------------------


def _minute_walk(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * 1.001,
            "Low": np.minimum(open_, close) * 0.999,
            "Close": close,
            "Volume": rng.integers(1, 10_000, n).astype(float),
        },
        index=pd.date_range("2024-03-01", periods=n, freq="min", name="Date"),
    )


def _in_process_text(df: pd.DataFrame) -> str:
    bt = Backtest(df, BUILTINS["macd_cross"], run_id="same")
    encode = Encoder(bt.run_id)
    parts = []
    for item in bt.stream():
        parts.append(encode.lines(item))
    return "".join(parts)


def _recorded(df: pd.DataFrame, path: Path, kill_child_after: int | None = None) -> list[int]:
    """Record a run; returns the renderer child's pid(s) seen during it."""
    import os

    bt = Backtest(df, BUILTINS["macd_cross"], run_id="same")
    pids = []
    with Recorder(path, bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
            child = bt.columns._child
            if child is not None and child.pid not in pids:
                pids.append(child.pid)
            if kill_child_after is not None and isinstance(item, Candles):
                if item.bar + len(item) > kill_child_after and child is not None:
                    os.kill(child.pid, signal.SIGKILL)
                    kill_child_after = None
    return pids


def _without_created_at(text: str) -> list[dict]:
    events = [json.loads(line) for line in text.splitlines()]
    events[0].pop("created_at")
    return events


@pytest.mark.skipif(sys.platform == "darwin", reason="the renderer child needs fork")
def test_a_long_recording_renders_candles_in_a_child_with_the_same_text(tmp_path) -> None:
    import os

    df = _minute_walk(45_000, seed=11)  # six blocks of candles
    path = tmp_path / "long.jsonl"
    pids = _recorded(df, path)
    assert len(pids) == 1, "one renderer child for the run"
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # reaped when the recording closed
    text = path.read_text()
    assert _without_created_at(text) == _without_created_at(_in_process_text(df))
    assert text.count('"type":"candle"') == 45_000


@pytest.mark.skipif(sys.platform == "darwin", reason="the renderer child needs fork")
def test_a_renderer_child_that_dies_is_taken_over_in_process(tmp_path) -> None:
    df = _minute_walk(45_000, seed=12)
    path = tmp_path / "killed.jsonl"
    pids = _recorded(df, path, kill_child_after=9_000)
    assert len(pids) == 1
    assert _without_created_at(path.read_text()) == _without_created_at(_in_process_text(df))


def test_a_short_recording_renders_in_process(tmp_path, sample) -> None:
    bt = Backtest(sample, BUILTINS["sma_cross"])
    with Recorder(tmp_path / "short.jsonl", bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
            assert bt.columns._child is None


@pytest.mark.skipif(sys.platform == "darwin", reason="the renderer child needs fork")
def test_a_stuck_renderer_child_is_given_up_on(tmp_path, monkeypatch) -> None:
    import os

    from algotui.protocol import candle_text

    parent = os.getpid()
    render = candle_text.RunColumns.render

    def stuck_in_child(self, block):
        if os.getpid() != parent and block >= 2:
            time.sleep(60)  # the child hangs (say, on a lock it inherited)
        return render(self, block)

    monkeypatch.setattr(candle_text.RunColumns, "render", stuck_in_child)
    monkeypatch.setattr(candle_text, "RENDER_TIMEOUT", 0.5)
    df = _minute_walk(45_000, seed=13)
    path = tmp_path / "stuck.jsonl"
    pids = _recorded(df, path)
    assert len(pids) == 1
    assert _without_created_at(path.read_text()) == _without_created_at(_in_process_text(df))
