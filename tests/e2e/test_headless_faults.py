"""Headless runs and replays as a user runs them, under faults: every way a run can stop
leaves one line on stderr, the right exit code, a recording closed on a whole event that ends
with ``error`` unless the run completed, and none of the user's files overwritten."""

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def algotui(*args: str, cwd: Path, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "algotui", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )


def events(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def one_line(stderr: str) -> str:
    lines = [x for x in stderr.strip().splitlines() if x.strip()]
    assert "Traceback" not in stderr, stderr
    return lines[-1]


def test_headless_replay_re_emits_the_same_events(tmp_path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"
    made = algotui("run", "-s", "rsi_reversion", "--record", str(first), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    again = algotui("replay", str(first), "--record", str(second), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    import gzip

    a = events(first)
    b = [json.loads(x) for x in gzip.decompress(second.read_bytes()).decode().splitlines()]

    def strip(es: list[dict]) -> list[dict]:
        out = [{k: v for k, v in e.items() if k != "run_id"} for e in es]
        out[0].pop("created_at")
        return out

    assert strip(a) == strip(b)
    assert {e["run_id"] for e in b} != {e["run_id"] for e in a}
    as_json = algotui("replay", str(first), "--json", cwd=tmp_path)
    assert json.loads(as_json.stdout) == a[-1]["metrics"]


def test_a_recording_killed_mid_run_replays_up_to_its_last_whole_event(tmp_path) -> None:
    import numpy as np
    import pandas as pd

    n = 400_000
    close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 1e-3, n)))
    frame = pd.DataFrame({"Open": close, "High": close * 1.001, "Low": close * 0.999,
                          "Close": close, "Volume": 1.0},
                         index=pd.date_range("2020-01-01", periods=n, freq="min"))  # fmt: skip
    data = tmp_path / "big.csv"
    frame.to_csv(data, index_label="Date")
    rec = tmp_path / "killed.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "algotui", "run", str(data), "-s", "sma_cross", "--record",
         str(rec), "--emit-every", "1"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (not rec.exists() or rec.stat().st_size < 2_000_000) and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it was killed"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    whole = rec.read_bytes().rsplit(b"\n", 1)[0].decode().splitlines()
    out = tmp_path / "again.jsonl"
    again = algotui("replay", str(rec), "--record", str(out), cwd=tmp_path)
    assert again.returncode == 1
    assert "ended early at bar" in again.stderr and "Traceback" not in again.stderr
    got = events(out)
    assert len(got) == len(whole) and got[-1]["seq"] == json.loads(whole[-1])["seq"]


def test_a_full_disk_or_size_limit_ends_the_recording_on_a_whole_error_event(tmp_path) -> None:
    rec = tmp_path / "limited.jsonl"

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))

    proc = algotui("run", "-s", "sma_cross", "--emit-every", "1", "--record", str(rec),
                   cwd=tmp_path, preexec_fn=limit)  # fmt: skip
    assert proc.returncode == 1
    line = one_line(proc.stderr)
    assert "writing failed" in line and "size limit" in line, line
    got = events(rec)  # every line whole
    assert got[-1]["type"] == "error" and got[-1]["seq"] == len(got) - 1
    assert rec.stat().st_size <= 300_000


def test_the_recording_never_overwrites_the_users_files(tmp_path) -> None:
    data = tmp_path / "prices.csv"
    strategy = tmp_path / "mine.py"
    notes = tmp_path / "notes.txt"
    algotui("run", "--record", str(data), cwd=tmp_path)  # nothing there yet: fine to make
    rows = [f"2024-01-{d:02d},1,1.5,0.5,1.2,10" for d in range(1, 29)]
    data.write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    strategy.write_text("from algotui import Strategy\nclass Mine(Strategy):\n    pass\n")
    notes.write_text("my notes\n")
    for target, args in (
        (data, [str(data)]),
        (strategy, ["-s", str(strategy)]),
        (notes, []),
    ):
        before = target.read_bytes()
        proc = algotui("run", *args, "--record", str(target), cwd=tmp_path)
        assert proc.returncode == 2, proc.stderr
        assert "record elsewhere" in proc.stderr or "not an algotui recording" in proc.stderr
        assert target.read_bytes() == before


class _Strategies:
    interrupt = (
        "from algotui import Strategy\n"
        "class Stop(Strategy):\n"
        "    def next(self):\n"
        "        if self.i == 300:\n"
        "            raise KeyboardInterrupt\n"
    )
    slow = (
        "import time\nfrom algotui import Strategy\n"
        "class Slow(Strategy):\n"
        "    def next(self):\n"
        "        print('thinking about bar', self.i)\n"
        "        if self.i >= 100:\n"
        "            time.sleep(0.02)\n"
    )
    thread = (
        "import threading, time\nfrom algotui import Strategy\n"
        "class Threads(Strategy):\n"
        "    def init(self):\n"
        "        threading.Thread(target=time.sleep, args=(600,)).start()\n"
    )


def test_a_keyboard_interrupt_from_the_strategy_ends_with_an_error_event(tmp_path) -> None:
    (tmp_path / "stop.py").write_text(_Strategies.interrupt)
    rec = tmp_path / "r.jsonl"
    proc = algotui("run", "-s", "stop.py", "--record", str(rec), cwd=tmp_path)
    assert proc.returncode == 130
    assert "interrupted" in one_line(proc.stderr)
    last = events(rec)[-1]
    assert last["type"] == "error" and last["message"] == "interrupted"


def test_sigterm_stops_between_events_and_says_so(tmp_path) -> None:
    (tmp_path / "slow.py").write_text(_Strategies.slow)
    rec = tmp_path / "r.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "algotui", "run", "-s", "slow.py", "--record", str(rec)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while (not rec.exists() or rec.stat().st_size < 30_000) and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "SIGTERM" in err and "Traceback" not in err
    last = events(rec)[-1]
    assert last["type"] == "error" and "SIGTERM" in last["details"]


def test_prints_in_next_never_reach_the_json_on_stdout(tmp_path) -> None:
    (tmp_path / "slow.py").write_text(_Strategies.slow.replace("100", "10_000"))
    proc = algotui("run", "-s", "slow.py", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "total_return_pct" in json.loads(proc.stdout)
    assert "thinking about bar 5" in proc.stderr


def test_a_thread_left_running_by_the_strategy_does_not_keep_the_process(tmp_path) -> None:
    (tmp_path / "threads.py").write_text(_Strategies.thread)
    proc = algotui("run", "-s", "threads.py", "--json", cwd=tmp_path, timeout=60)
    assert proc.returncode == 0 and json.loads(proc.stdout)


def test_closed_stdout_and_recording_to_stdout(tmp_path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "algotui", "run", "--json"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        timeout=60, preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert proc.returncode == 1 and "cannot write the results" in one_line(proc.stderr)
    to_stdout = algotui("run", "--record", "/dev/stdout", cwd=tmp_path)
    assert to_stdout.returncode == 0, to_stdout.stderr
    lines = to_stdout.stdout.splitlines()
    assert all(json.loads(x)["type"] for x in lines), "only events on stdout"
    assert "Final equity" in to_stdout.stderr


def test_bars_finished_before_a_stuck_next_reach_the_recording(tmp_path) -> None:
    (tmp_path / "stuck.py").write_text(
        "import time\nfrom algotui import Strategy\n"
        "class Stuck(Strategy):\n"
        "    def next(self):\n"
        "        if self.i == 300:\n"
        "            time.sleep(4)\n"
    )
    rec = tmp_path / "r.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "algotui", "run", "-s", "stuck.py", "--record", str(rec)],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        seen = 0
        while time.monotonic() < deadline and proc.poll() is None:
            if rec.exists():
                lines = rec.read_text().splitlines()
                candles = [json.loads(x) for x in lines if '"type":"candle"' in x]
                seen = candles[-1]["bar_number"] if candles else 0
                if seen == 300:
                    break
            time.sleep(0.05)
        assert seen == 300, "bars 1..300 are in the file while bar 301's next() is stuck"
        assert proc.poll() is None, "and the strategy is still stuck"
    finally:
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    got = events(rec)
    assert [e["seq"] for e in got] == list(range(len(got))) and got[-1]["type"] == "complete"
    bars = [e["bar_number"] for e in got if e["type"] == "candle"]
    assert bars == list(range(1, 783))
