"""The real `algotui` command in tmux, driven with keys and read off the screen."""

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

pytestmark = pytest.mark.e2e


class Tmux:
    """One tmux session running a command at a fixed size."""

    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        assert shutil.which("tmux"), "tmux is needed for the end-to-end test (CI installs it)"
        self.name = f"algotui-e2e-{os.getpid()}-{time.monotonic_ns()}"
        env = {**os.environ, "TERM": "xterm-256color"}
        env.pop("NO_COLOR", None)
        # A tmux server that is already running gives a new session its own environment, not
        # this one's: the results store the tests use is passed on explicitly.
        store = ["-e", f"ALGOTUI_DB={env['ALGOTUI_DB']}"] if env.get("ALGOTUI_DB") else []
        subprocess.run(
            [
                "tmux",
                "new-session",
                *store,
                "-d",
                "-s",
                self.name,
                "-x",
                str(width),
                "-y",
                str(height),
                command,
            ],
            check=True,
            env=env,
        )

    def screen(self) -> str:
        out = subprocess.run(
            ["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True
        )
        return out.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def alive(self) -> bool:
        return (
            subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode
            == 0
        )

    def wait(self, cond: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < deadline:
            screen = self.screen() if self.alive() else ""
            if cond(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"screen never matched; last screen:\n{screen}")

    def kill(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def bar_count(screen: str) -> int:
    match = re.search(r"Bar\s+([\d,]+) / 782", screen)
    assert match, screen
    return int(match.group(1).replace(",", ""))


def chart_rows(screen: str) -> str:
    """The chart's part of the screen (left of the side panel), without the status line."""
    return "\n".join(line[:70] for line in screen.splitlines()[1:30])


def test_pause_step_and_quit_in_the_real_app() -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "algotui")
    t = Tmux(f"{exe} run --paused --speed 20")
    try:
        screen = t.wait(lambda s: "PAUSED" in s and "/ 782" in s)
        assert bar_count(screen) == 1  # --paused opens on the first bar
        assert "SAMPLE" in screen and "sma_cross" in screen

        t.keys("n")
        screen = t.wait(lambda s: bar_count(s) == 2)
        t.keys("n")
        screen = t.wait(lambda s: bar_count(s) == 3)
        time.sleep(0.5)
        assert bar_count(t.screen()) == 3  # a step is one bar, not a resume

        t.keys("Space")
        t.wait(lambda s: "RUNNING" in s and bar_count(s) >= 12)
        t.keys("Space")
        screen = t.wait(lambda s: "PAUSED" in s)
        time.sleep(0.3)
        before = t.screen()
        time.sleep(1.0)
        after = t.screen()
        assert bar_count(before) == bar_count(after)  # pause really stops the run...
        assert chart_rows(before) == chart_rows(after)  # ...and the chart

        t.keys("q")
        t.wait(lambda s: not t.alive(), timeout=15)
    finally:
        t.kill()


def test_seeking_in_a_replay_in_the_real_app(tmp_path) -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "algotui")
    rec = tmp_path / "run.jsonl"
    made = subprocess.run([exe, "run", "--record", str(rec)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    t = Tmux(f"{exe} replay {rec} --speed max")
    try:
        t.wait(lambda s: "DONE" in s and "782 / 782" in s)
        t.keys("g")
        t.wait(lambda s: "Go to bar" in s)
        t.keys("300", "Enter")
        screen = t.wait(lambda s: "REPLAY" in s and "bar 300 of 782" in s)
        assert bar_count(screen) == 300
        t.keys("Left")
        t.wait(lambda s: "bar 299 of 782" in s)
        t.keys("PageUp")
        screen = t.wait(lambda s: "bar 299 of" not in s and "REPLAY" in s)
        assert bar_count(screen) < 299
        t.keys("End")
        t.wait(lambda s: "DONE" in s and "782 / 782" in s)
        t.keys("q")
        t.wait(lambda s: not t.alive(), timeout=15)
    finally:
        t.kill()
