"""The stored runs in the real app, in tmux, as a person would use them: R, mark two,
compare, back, pick a recorded run and watch its replay."""

import os
import re
import subprocess
import sys

import pytest

from algotui.store.db import Store
from tests.e2e.test_e2e import Tmux

pytestmark = pytest.mark.e2e


def test_browse_compare_and_replay_a_stored_run_in_the_real_app(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    exe = os.path.join(os.path.dirname(sys.executable), "algotui")
    env = {**os.environ, "ALGOTUI_DB": str(db)}
    recording = tmp_path / "rsi.jsonl"
    for args in (
        ["--headless", "-p", "fast=5"],
        ["--record", str(recording), "-s", "rsi_reversion"],
    ):
        done = subprocess.run(
            [exe, "run", *args], env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
    with Store(db) as store:
        recorded, plain = (r["id"] for r in store.runs())
    t = Tmux(f"ALGOTUI_DB={db} {exe} run --paused", width=120, height=36)
    try:
        t.wait(lambda s: "PAUSED" in s and "/ 782" in s)
        t.keys("R")
        screen = t.wait(lambda s: "Stored runs" in s and recorded in s and plain in s)
        assert screen.index(recorded) < screen.index(plain)  # newest first
        t.keys("Space", "Space", "c")
        screen = t.wait(lambda s: "best of the row" in s)
        assert "Sharpe" in screen and recorded in screen and plain in screen
        t.keys("Escape")
        t.wait(lambda s: "Stored runs" in s)
        t.keys("Down", "Enter")  # the plain run has no recording: it says so
        t.wait(lambda s: "has no recording" in s)
        t.keys("Up", "Enter")  # the recorded one replays
        screen = t.wait(lambda s: "rsi_reversion" in s and "Bar" in s and "/ 782" in s)
        assert "Stored runs" not in screen
        t.keys("q")
        t.wait(lambda s: not t.alive(), timeout=15)
    finally:
        t.kill()
    with Store(db) as store:
        assert store.count() == 2  # the run left at bar 0 for the replay was not saved


def test_the_app_saves_a_run_left_midway_as_stopped_and_a_finished_one_whole(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    exe = os.path.join(os.path.dirname(sys.executable), "algotui")
    t = Tmux(f"ALGOTUI_DB={db} {exe} run --paused -s rsi_reversion", width=120, height=36)
    try:
        t.wait(lambda s: "PAUSED" in s and re.search(r"Bar\s+1 / 782", s) is not None)
        t.keys("n")  # --paused opens on bar 1: two steps make 3
        t.wait(lambda s: re.search(r"Bar\s+2 / 782", s) is not None)
        t.keys("n")
        t.wait(lambda s: re.search(r"Bar\s+3 / 782", s) is not None)
        t.keys("q")
        t.wait(lambda s: not t.alive(), timeout=15)
    finally:
        t.kill()
    t = Tmux(f"ALGOTUI_DB={db} {exe} run --speed max", width=120, height=36)
    try:
        t.wait(lambda s: "DONE" in s, timeout=60)
        t.keys("q")
        t.wait(lambda s: not t.alive(), timeout=15)
    finally:
        t.kill()
    with Store(db) as store:
        done, stopped = store.runs()
        assert stopped["strategy"] == "rsi_reversion" and stopped["status"] == "stopped"
        assert stopped["bars"] == 3
        assert done["strategy"] == "sma_cross" and done["status"] == "completed"
        assert done["bars"] == 782 and store.get(done["id"])["metrics"]["bars"] == 782
        assert len(store.trades(done["id"])) == store.get(done["id"])["trades"]
