"""The suite passes whatever the user's shell says (tests/conftest.py pins it)."""

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_environment_is_pinned():
    assert "NO_COLOR" not in os.environ
    assert "COLUMNS" not in os.environ and "LINES" not in os.environ
    assert os.environ["TERM"] == "xterm-256color"
    assert time.strftime("%z") == "+0000"
    cache = Path(os.environ["ALGOTUI_CACHE_DIR"])
    assert not cache.is_relative_to(Path.home()) or Path.home() == Path("/")


def test_snapshots_pass_under_a_hostile_environment(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o555)  # a read-only home
    env = {
        **os.environ,
        "NO_COLOR": "1",
        "TERM": "dumb",
        "TZ": "Asia/Kolkata",
        "LANG": "C",
        "LC_ALL": "C",
        "COLUMNS": "50",
        "LINES": "10",
        "HOME": str(home),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "tests/app/test_snapshots.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "skipped" not in proc.stdout
