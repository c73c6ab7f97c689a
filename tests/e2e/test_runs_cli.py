"""``algotui runs`` and saving from ``algotui run``: as a user types them, in a subprocess, and
as direct calls of the entry point."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from algotui import cli
from algotui.store import db as store_db
from algotui.store.db import Store
from algotui.store.sink import StoreSink
from tests.unit.test_store import run_events


def algotui(*args: str, db: Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """The real command, with its store in ``db``."""
    env = {**os.environ, "ALGOTUI_DB": str(db), "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "algotui", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )


def call(capsys, *args: str) -> tuple[int, str, str]:
    """``algotui ARGS`` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.fixture
def db(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "store" / "runs.sqlite"
    monkeypatch.setenv("ALGOTUI_DB", str(path))
    monkeypatch.setenv("NO_COLOR", "1")
    return path


def save(path: Path, run_id: str, bars: int = 200, **params) -> str:
    sink = StoreSink(path)
    for e in run_events(bars=bars, **params):
        sink.add({**e, "run_id": run_id} if e["type"] == "metadata" else e)
    key = sink.finish()
    assert key == run_id
    return key


def test_run_saves_to_the_store_and_runs_list_shows_it(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    done = algotui("run", "--headless", "-p", "fast=5", db=db)
    assert done.returncode == 0, done.stderr
    saved = done.stdout.strip().splitlines()[-1]
    assert saved.startswith("saved as run ")
    run_key = saved.split()[3]
    as_json = algotui("run", "--json", "-s", "rsi_reversion", db=db)
    assert as_json.returncode == 0
    json.loads(as_json.stdout)  # stdout stays the metrics alone
    recording = tmp_path / "run.jsonl"
    algotui("run", "--record", str(recording), "--no-save", db=db)
    other = tmp_path / "other.sqlite"
    assert algotui("run", "--headless", "--db", str(other), db=db).returncode == 0
    listed = algotui("runs", "list", db=db)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == (
        "id when (UTC) strategy symbol int bars return sharpe max DD trades status latest".split()
    )
    assert len(lines) == 3  # --no-save kept nothing; --db went elsewhere
    assert lines[1].split()[0] != run_key and lines[2].split()[0] == run_key
    assert "rsi_reversion" in lines[1] and "sma_cross" in lines[2]
    assert lines[2].split()[-2:] == ["completed", "*"]
    with Store(other) as store:
        assert store.count() == 1
    shown = algotui("runs", "show", run_key[:5], db=db)
    assert shown.returncode == 0 and f"run {run_key}" in shown.stdout


def test_runs_list_filters_and_limits(db, capsys) -> None:
    save(db, "aaaa00000001")
    save(db, "bbbb00000002", strategy="rsi_reversion")
    save(db, "cccc00000003")
    code, out, _ = call(capsys, "runs", "list", "--strategy", "sma_cross")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()[1:]]
    assert ids == ["cccc00000003", "aaaa00000001"]
    code, out, _ = call(capsys, "runs", "list", "--limit", "1")
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["cccc00000003"]
    code, out, _ = call(capsys, "runs")  # no subcommand: the list
    assert code == 0 and len(out.splitlines()) == 4
    code, _, err = call(capsys, "runs", "list", "--symbol", "NOPE")
    assert code == 2 and err == (
        "algotui: error: no stored run matches --symbol NOPE (algotui runs list shows them all)\n"
    )


def test_an_empty_store_and_unknown_ids_are_one_line_and_exit_2(db, capsys) -> None:
    for args in (("runs", "list"), ("runs", "show", "abc"), ("runs", "delete", "abc")):
        code, out, err = call(capsys, *args)
        assert code == 2 and out == "" and err.count("\n") == 1
        assert err.startswith("algotui: error: no runs stored yet")
    with Store(db):
        pass  # a store with no runs in it
    code, _, err = call(capsys, "runs", "list")
    assert code == 2 and "no runs stored yet" in err and err.count("\n") == 1
    save(db, "abc111111111")
    save(db, "abc222222222")
    code, _, err = call(capsys, "runs", "show", "abc")
    assert code == 2 and "ambiguous" in err and err.count("\n") == 1
    code, _, err = call(capsys, "runs", "show", "zzz")
    assert code == 2 and "no stored run has an id starting with 'zzz'" in err
    code, out, _ = call(capsys, "runs", "show", "abc1")
    assert code == 0 and "run abc111111111" in out


def test_runs_show_has_the_metrics_and_the_trades(db, capsys) -> None:
    key = save(db, "5h0w00000000", bars=300, fast=5)
    with Store(db) as store:
        trades = store.trades(key)
        metrics = store.get(key)["metrics"]
    code, out, _ = call(capsys, "runs", "show", "5h0")
    assert code == 0
    assert "sma_cross fast=5 slow=20" in out
    assert "config cash=10000.0" in out
    for name in ("total_return_pct", "sharpe_ratio", "max_drawdown", "profit_factor"):
        assert name in out
    assert f"{len(trades)} closed trades" in out
    last = trades[-1]
    assert any(
        line.split()[:2] == [str(last["trade_id"]), last["direction"]] for line in out.splitlines()
    )
    assert f"{metrics['total_trades']}" in out


def test_runs_compare_marks_the_best_of_each_row_and_overlays_the_curves(db, capsys) -> None:
    fast = save(db, "f0000000000a", bars=400, fast=5)
    slow = save(db, "5000000000b0", bars=400, strategy="rsi_reversion")
    code, out, _ = call(capsys, "runs", "compare", "f0", "50")
    assert code == 0
    with Store(db) as store:
        a, b = store.get(fast)["metrics"], store.get(slow)["metrics"]
    rows = {line.split("  ")[0].strip(): line for line in out.splitlines() if line.strip()}
    ret = rows["Return"]
    better = 0 if a["total_return_pct"] > b["total_return_pct"] else 1
    cells = [c for c in ret.split("  ")[1:] if c.strip()]
    assert cells[better].strip().endswith("*") and not cells[1 - better].strip().endswith("*")
    dd = rows["Max drawdown"]
    lower = 0 if a["max_drawdown"] < b["max_drawdown"] else 1
    cells = [c for c in dd.split("  ")[1:] if c.strip()]
    assert cells[lower].strip().endswith("*") and not cells[1 - lower].strip().endswith("*")
    assert "* best of the row" in out
    assert "Equity" in out and fast in out.split("best of the row")[1]
    assert slow in out.split("best of the row")[1]
    code, out, _ = call(capsys, "runs", "compare", "f0", "50", "--no-plot")
    assert "Equity" not in out
    code, _, err = call(capsys, "runs", "compare", "f0")
    assert code == 2 and "two or more" in err
    code, _, err = call(capsys, "runs", "compare", "f0", fast)
    assert code == 2 and "twice" in err


def test_runs_export_writes_files_that_read_back(db, capsys, tmp_path, monkeypatch) -> None:
    key = save(db, "e0000000000e", bars=300, fast=5)
    monkeypatch.chdir(tmp_path)
    with Store(db) as store:
        trades, equity, daily = store.trades(key), store.equity(key), store.daily(key)
        metrics = store.get(key)["metrics"]
    code, out, _ = call(capsys, "runs", "export", "e0", "--format", "csv")
    assert code == 0
    folder = tmp_path / f"run-{key}-csv"
    assert sorted(p.name for p in folder.iterdir()) == [
        "daily.csv",
        "equity.csv",
        "metrics.csv",
        "trades.csv",
    ]
    assert out.splitlines()[0] == f"wrote {folder.relative_to(tmp_path)}/trades.csv"
    t = pd.read_csv(folder / "trades.csv")
    assert list(t["trade_id"]) == [x["trade_id"] for x in trades]
    assert list(t["pnl"]) == pytest.approx([x["pnl"] for x in trades])
    e = pd.read_csv(folder / "equity.csv")
    assert list(e["equity"]) == pytest.approx([x["equity"] for x in equity])
    assert list(pd.read_csv(folder / "daily.csv")["date"]) == [d["date"] for d in daily]
    m = pd.read_csv(folder / "metrics.csv")
    assert len(m) == 1 and m["sharpe_ratio"][0] == pytest.approx(metrics["sharpe_ratio"])
    assert m["id"][0] == key and m["config_cash"][0] == 10_000

    before = (folder / "trades.csv").read_bytes()
    (folder / "trades.csv").write_text("mine")
    code, _, err = call(capsys, "runs", "export", key, "--format", "csv")
    assert code == 2 and "exists: use --force" in err and err.count("\n") == 1
    assert (folder / "trades.csv").read_text() == "mine"  # untouched
    code, _, _ = call(capsys, "runs", "export", key, "--format", "csv", "--force")
    assert code == 0 and (folder / "trades.csv").read_bytes() == before

    out_json = tmp_path / "out" / "run.json"
    code, _, _ = call(capsys, "runs", "export", key, "-f", "json", "--out", str(out_json))
    assert code == 0
    doc = json.loads(out_json.read_text())
    assert doc["metrics"] == metrics and doc["trades"] == trades
    assert doc["equity"] == equity and doc["daily"] == daily
    assert doc["run"]["id"] == key and doc["run"]["params"]["fast"] == 5
    code, _, err = call(capsys, "runs", "export", key, "-f", "json", "--out", str(out_json))
    assert code == 2 and "exists" in err

    code, _, _ = call(capsys, "runs", "export", key, "-f", "parquet", "--out", "pq")
    assert code == 0
    tp = pq.read_table(tmp_path / "pq" / "trades.parquet").to_pandas()
    assert list(tp["pnl"]) == pytest.approx([x["pnl"] for x in trades])
    ep = pq.read_table(tmp_path / "pq" / "equity.parquet").to_pylist()
    assert ep == equity
    mp = pq.read_table(tmp_path / "pq" / "metrics.parquet").to_pylist()
    assert mp[0]["total_return_pct"] == metrics["total_return_pct"]
    code, _, err = call(capsys, "runs", "export", key, "-f", "xlsx")
    assert code == 2 and "choose csv, json or parquet" in err


def test_runs_delete_removes_a_run(db, capsys) -> None:
    keep = save(db, "keep00000000")
    gone = save(db, "gone00000000")
    code, out, _ = call(capsys, "runs", "delete", "gon")
    assert code == 0 and out.startswith(f"deleted run {gone} (sma_cross SAMPLE")
    code, out, _ = call(capsys, "runs", "list")
    assert [line.split()[0] for line in out.splitlines()[1:]] == [keep]
    assert out.splitlines()[1].split()[-1] == "*"  # latest again
    code, _, err = call(capsys, "runs", "show", gone)
    assert code == 2


def test_a_locked_store_does_not_fail_the_run(db, capsys, monkeypatch) -> None:
    with Store(db):
        pass
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_db, "BUSY_SECONDS", 0.2)
    try:
        code, out, err = call(capsys, "run", "--headless", "sample")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert code == 0 and "Final equity" in out and "saved as" not in out
    assert err.count("\n") == 1 and err.startswith("algotui: warning: run not saved:")
    assert "locked" in err


def test_a_damaged_store_does_not_fail_the_run(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"\x00garbage" * 1000)
    done = algotui("run", "--json", db=db)
    assert done.returncode == 0
    json.loads(done.stdout)
    assert done.stderr.count("\n") == 1 and "is damaged" in done.stderr
    listed = algotui("runs", "list", db=db)
    assert listed.returncode == 2 and listed.stderr.count("\n") == 1
    assert listed.stderr.startswith("algotui: error: the results store") and not listed.stdout


def test_a_run_that_fails_is_saved_as_failed(db, capsys, tmp_path) -> None:
    strategy = tmp_path / "boom.py"
    strategy.write_text(
        "from algotui.engine import Strategy\n\n"
        "class Boom(Strategy):\n"
        "    def next(self):\n"
        "        if self.i == 30:\n"
        "            raise RuntimeError('boom')\n"
    )
    code, _, err = call(capsys, "run", "--headless", "-s", str(strategy))
    assert code == 1 and "run failed" in err
    with Store(db) as store:
        (run,) = store.runs()
        assert run["status"] == "failed" and run["bars"] == 30 and "boom" in run["error"]


def test_the_app_saves_its_run_and_hands_a_picked_recording_to_replay(
    monkeypatch, tmp_path
) -> None:
    """What ``play`` does once the app closes: ``after`` sees the app, and a recording picked
    in the runs screen is replayed."""
    from algotui.tui.app import AlgoApp

    picked = tmp_path / "picked.jsonl"
    seen: list = []

    def fake_run(self) -> int:
        self.replay_request = picked
        return 0

    def fake_replay(recording, **kwargs) -> None:
        seen.append(("replay", recording, kwargs))
        raise cli.Exit(3)

    monkeypatch.setattr(AlgoApp, "run", fake_run)
    monkeypatch.setattr(cli, "replay", fake_replay)
    player = type("P", (), {"pause": lambda self: None})()
    code = cli.play(
        player, lambda: None, None, False, after=lambda app: seen.append(("after", app.state))
    )
    assert code == 3
    assert seen[0][0] == "after" and seen[1][:2] == ("replay", picked)


def test_a_run_stopped_with_ctrl_c_is_saved_as_stopped(tmp_path) -> None:
    strategy = tmp_path / "slow.py"
    strategy.write_text(
        "import time\n"
        "from algotui.engine import Strategy\n\n"
        "class Slow(Strategy):\n"
        "    def next(self):\n"
        "        time.sleep(0.02)\n"
    )
    db = tmp_path / "runs.sqlite"
    recording = tmp_path / "run.jsonl"
    env = {**os.environ, "ALGOTUI_DB": str(db)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "algotui", "run", "-s", str(strategy), "--record", str(recording)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (recording.exists() and recording.read_text().count('"candle"') >= 20):
        assert time.monotonic() < deadline and proc.poll() is None, "the run never got going"
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    with Store(db) as store:
        (run,) = store.runs()
        assert run["status"] == "stopped" and 20 <= run["bars"] < 782
        assert run["recording"] == str(recording)
    assert out.strip().endswith(f"(algotui runs show {run['id']})")
