"""``algotui serve`` as a user starts it: its URLs, its refusals, and a clean SIGTERM."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest


def algotui(*args: str, **kwargs) -> subprocess.Popen:  # noqa: ANN003
    return subprocess.Popen(
        [sys.executable, "-m", "algotui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_urls_and_stops_sessions_on_a_signal(tmp_path: Path, sig: int) -> None:
    results = tmp_path / "results"
    proc = algotui("serve", "--port", "0", "--speed", "5", "--results-dir", str(results))
    watchdog = threading.Timer(60, proc.kill)  # a hung server fails the test, not the run
    watchdog.start()
    try:
        assert proc.stdout is not None
        lines = []
        for _ in range(20):
            lines.append(proc.stdout.readline())
            if "Ctrl-C" in lines[-1] or not lines[-1]:
                break
        first = lines[0]
        match = re.match(r"algotui serve: listening on 127\.0\.0\.1:(\d+)", first)
        assert match, lines
        base = f"http://127.0.0.1:{match.group(1)}"
        text = "".join(lines)
        for url in (
            "/api/openapi.json",
            "/ws/backtest/stream/",
            "/api/backtest",
            "/api/backtesting/start",
            "/api/ws/sessions/{id}",
        ):
            assert url in text
        session = post(f"{base}/api/sessions", {"autostart": True})
        for _ in range(500):  # bounded: until it has shown a bar or two
            if get(f"{base}/api/sessions/{session['id']}")["bars"] >= 1:
                break
            time.sleep(0.02)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "stopping" in out
    assert "Traceback" not in err
    lines = (results / f"{session['id']}.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["type"] == "error" and last["message"] == "stopped"
    assert last["details"] == "the server shut down"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--host", "0.0.0.0"], "needs --token"),
        (["--strategies-dir", "/no/such/dir"], "no such directory"),
        (["--speed", "fast"], "--speed"),
        (["--max-per-client", "0"], "at least 1"),
    ],
)
def test_serve_refuses_bad_options_in_one_line(args: list[str], message: str) -> None:
    proc = algotui("serve", *args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert err.startswith("algotui: error: ")
