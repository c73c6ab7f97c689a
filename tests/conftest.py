"""What every test may rely on, whatever the user's environment says.

The suite must pass under any shell setup: ``NO_COLOR`` (a common user setting), an odd
``TERM``, ``COLUMNS``/``LINES`` left by the shell, another ``TZ`` or ``LANG``, a read-only
home. So the environment the screens, the timestamps and the cache depend on is pinned here,
once, when pytest loads this file: before any test module imports the app.

Tests that want a setting (for example ``NO_COLOR``) set it themselves with ``monkeypatch``.
Shared fixtures go below the pinning; keep each one small and documented.
"""

from __future__ import annotations

import atexit
import importlib
import os
import shutil
import sys
import tempfile
import time

#: Values pinned for the whole run: what the snapshots were recorded with.
PINNED = {
    "TERM": "xterm-256color",
    "COLORTERM": "truecolor",
    "TZ": "UTC",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
}
#: Settings of the user's shell that change how Rich and Textual draw: removed.
UNSET = (
    "NO_COLOR",
    "FORCE_COLOR",
    "CLICOLOR",
    "CLICOLOR_FORCE",
    "COLUMNS",
    "LINES",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "JUPYTER_COLUMNS",
    "JUPYTER_LINES",
)
#: Textual settings read when Textual is first imported (the snapshot plugin imports it
#: before this file runs): any the user set are removed and Textual's constants re-read.
KEEP_TEXTUAL = ("TEXTUAL_SNAPSHOT_TEMPDIR", "TEXTUAL_SNAPSHOT_FILE_OPEN_PREFIX")


def _pin_environment() -> None:
    env = os.environ
    for name in UNSET:
        env.pop(name, None)
    env.update(PINNED)
    time.tzset()
    textual_set = [n for n in env if n.startswith("TEXTUAL_") and n not in KEEP_TEXTUAL]
    for name in textual_set:
        del env[name]
    if textual_set and "textual.constants" in sys.modules:
        importlib.reload(sys.modules["textual.constants"])
    # Downloads and caches go to a fresh folder: never the user's (possibly read-only) home.
    scratch = tempfile.mkdtemp(prefix="algotui-tests-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    env["ALGOTUI_CACHE_DIR"] = os.path.join(scratch, "cache")
    env["XDG_CACHE_HOME"] = os.path.join(scratch, "xdg-cache")
    # Runs the tests make are saved to a results store of their own, never the user's.
    env["ALGOTUI_DB"] = os.path.join(scratch, "runs.sqlite")


_pin_environment()


# -- shared fixtures --------------------------------------------------------------------------

import pytest  # noqa: E402 - after the pinning, which must come before any other import


@pytest.fixture(scope="session")
def sample():
    """The bundled sample bars (782 daily bars), loaded once."""
    from algotui.feed import load_source

    return load_source("sample")


@pytest.fixture(scope="session")
def short_recording(tmp_path_factory, sample):
    """A whole recording of ``rsi_reversion`` (with shorts) on the sample, made once."""
    from algotui.engine import BUILTINS, Backtest
    from algotui.run.recorder import Recorder

    path = tmp_path_factory.mktemp("recording") / "run.jsonl"
    bt = Backtest(sample, BUILTINS["rsi_reversion"], {"allow_short": True}, run_id="fixture")
    with Recorder(path, bt.run_id) as recorder:
        for record in bt.stream():
            recorder.write(record)
    return path


@pytest.fixture
def app_at(sample):
    """``app_at(strategy="sma_cross", speed=None, paused=True, **params)``: the app on the
    sample with the engine in this process, for ``app.run_test(size=...)``."""
    from algotui.engine import BUILTINS, Backtest
    from algotui.run.player import Player
    from algotui.tui.app import AlgoApp

    def make(strategy: str = "sma_cross", speed: float | None = None, paused: bool = True,
             **params):  # fmt: skip
        bt = Backtest(sample, BUILTINS[strategy], params, run_id="fixture")
        return AlgoApp(Player(bt.stream(), speed=speed), run_id=bt.run_id, start_paused=paused)

    return make
