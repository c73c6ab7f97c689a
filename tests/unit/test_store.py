"""The results store: what a run saves, the latest flag, migrations, two writers at once, and
stores that cannot be used (locked, damaged, too new) never failing the run."""

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from algotui.engine import BUILTINS, Backtest, Strategy
from algotui.feed import load_source
from algotui.protocol.encode import Encoder
from algotui.protocol.read import read_events
from algotui.run.headless import run_headless
from algotui.store import db as store_db
from algotui.store.db import MIGRATIONS, SCHEMA_VERSION, Store, StoreError
from algotui.store.record import daily_stats, derive_status
from algotui.store.sink import StoreSink, save_state
from algotui.view.state import RunState


def dicts_of(bt: Backtest) -> list[dict]:
    """The protocol v1 dicts of a run."""
    encode = Encoder(bt.run_id)
    out: list[dict] = []
    for record in bt.stream():
        d = encode.to_dict(record)
        out.extend(d if isinstance(d, list) else [d])
    return out


def run_events(bars: int = 300, strategy: str = "sma_cross", **params) -> list[dict]:
    """The protocol v1 dicts of a real run on the sample."""
    return dicts_of(Backtest(load_source("sample").iloc[:bars], BUILTINS[strategy], params))


def saved_from(events: list[dict], path: Path, **finish) -> str:
    sink = StoreSink(path)
    for e in events:
        sink.add(e)
    run_key = sink.finish(**finish)
    assert run_key is not None
    return run_key


def test_a_run_fed_as_events_is_saved_whole(tmp_path) -> None:
    events = run_events(fast=5)
    path = tmp_path / "runs.sqlite"
    run_key = saved_from(events, path, config={"close_at_end": False})
    meta = events[0]
    complete = events[-1]
    trades = [e for e in events if e["type"] == "trade"]
    equity = [e for e in events if e["type"] == "equity"]
    assert complete["type"] == "complete" and trades and equity
    with Store(path) as store:
        run = store.get(run_key)
        assert run_key == meta["run_id"]
        assert run["status"] == "completed"
        assert (run["strategy"], run["symbol"], run["interval"]) == ("sma_cross", "SAMPLE", "1d")
        assert run["source"] == "sample"
        assert run["params"] == meta["params"]
        assert run["config"] == {
            "cash": 10_000.0,
            "commission": 0.0,
            "commission_fixed": 0.0,
            "slippage": 0.0,
            "fill": "next-open",
            "emit_every": meta["emit_every"],
            "close_at_end": False,
        }
        assert run["metrics"] == complete["metrics"]  # every metric, lists included
        assert run["bars"] == run["total_bars"] == 300
        assert run["return_pct"] == complete["metrics"]["total_return_pct"]
        assert run["sharpe"] == complete["metrics"]["sharpe_ratio"]
        assert run["trades"] == complete["metrics"]["total_trades"] == len(trades)
        assert run["created_at"] == meta["created_at"]
        assert run["latest"] is True
        stored = store.trades(run_key)
        assert stored == [
            {k: v for k, v in t.items() if k not in ("type", "seq", "run_id")} for t in trades
        ]
        points = store.equity(run_key)
        assert [p["equity"] for p in points] == [e["equity"] for e in equity]
        assert [p["timestamp"] for p in points] == [e["timestamp"] for e in equity]
        assert [p["cash"] for p in points] == [e["cash"] for e in equity]
        days = store.daily(run_key)
    # Daily bars: one equity point a day here, so each day's equity is that point's, and the
    # engine's own daily table (in the metrics) agrees on equity and trades closed.
    engine_daily = complete["metrics"]["daily"]
    assert [d["date"] for d in days] == [d["date"] for d in engine_daily]
    assert [d["trades"] for d in days] == [d["trades"] for d in engine_daily]
    assert [d["equity"] for d in days] == pytest.approx([d["equity"] for d in engine_daily])
    assert days[0]["return_pct"] == pytest.approx((days[0]["equity"] / 10_000 - 1) * 100)
    for before, day in zip(days, days[1:], strict=False):
        assert day["return_pct"] == pytest.approx((day["equity"] / before["equity"] - 1) * 100)


def test_daily_stats_take_the_last_point_of_each_day_and_count_trades_closed() -> None:
    equity = [
        {"timestamp": "2024-01-02T10:00:00", "equity": 100.0},
        {"timestamp": "2024-01-02T15:00:00", "equity": 110.0},
        {"timestamp": "2024-01-04T15:00:00", "equity": 99.0},
    ]
    trades = [{"exit_time": "2024-01-02T15:00:00"}, {"exit_time": "2024-01-03T11:00:00"}]
    days = daily_stats(equity, trades, 100.0)
    assert days == [
        {"date": "2024-01-02", "equity": 110.0, "return_pct": pytest.approx(10.0), "trades": 1},
        {"date": "2024-01-03", "equity": 110.0, "return_pct": 0.0, "trades": 1},
        {"date": "2024-01-04", "equity": 99.0, "return_pct": pytest.approx(-10.0), "trades": 0},
    ]


def test_a_recording_and_the_live_stream_save_the_same(tmp_path, capsys) -> None:
    path = tmp_path / "runs.sqlite"
    recording = tmp_path / "run.jsonl"
    bt = Backtest(load_source("sample").iloc[:300], BUILTINS["rsi_reversion"], {})
    live = StoreSink(path, run_id=bt.run_id)
    assert run_headless(bt, record=recording, sinks=[live.add_record]) == 0
    live_key = live.finish(recording=recording)
    from_file = StoreSink(path)
    with recording.open(encoding="utf-8") as f:
        for event in read_events(f):
            from_file.add(event)
    file_key = from_file.finish(recording=recording)
    assert live_key == bt.run_id and file_key not in (None, live_key)  # a fresh id: taken
    with Store(path) as store:
        a, b = store.get(live_key), store.get(file_key)
        assert a["run_id"] == b["run_id"] == bt.run_id
        for key in ("metrics", "params", "config", "status", "bars", "recording"):
            assert a[key] == b[key], key
        assert a["recording"] == str(recording)
        assert store.trades(live_key) == store.trades(file_key)
        assert store.equity(live_key) == store.equity(file_key)
        assert store.daily(live_key) == store.daily(file_key)
        assert [r["latest"] for r in store.runs()] == [True, False]


def test_a_run_state_saves_what_the_events_save(tmp_path) -> None:
    events = run_events(strategy="rsi_reversion")
    path = tmp_path / "runs.sqlite"
    from_events = saved_from(events, path)
    state = RunState()
    state.apply(events)
    from_state = save_state(state, path, run_id="fromthestate")
    assert from_state == "fromthestate"
    with Store(path) as store:
        a, b = store.get(from_events), store.get(from_state)
        for key in ("metrics", "params", "status", "bars", "return_pct", "strategy", "symbol"):
            assert a[key] == b[key], key
        assert store.trades(from_events) == store.trades(from_state)
        ea, eb = store.equity(from_events), store.equity(from_state)
        assert [(p["bar_number"], p["timestamp"], p["equity"]) for p in ea] == [
            (p["bar_number"], p["timestamp"], p["equity"]) for p in eb
        ]
        assert store.daily(from_events) == store.daily(from_state)


class Boom(Strategy):
    """Fails on bar 50."""

    def next(self) -> None:
        if self.i == 50:
            raise ValueError("boom")


def test_how_a_run_ended_is_its_status(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    bt = Backtest(load_source("sample").iloc[:200], Boom, {})
    failed = saved_from(dicts_of(bt), path)
    events = run_events(bars=200)
    stopped = saved_from([*events[:300], {"type": "error", "message": "interrupted"}], path)
    early = saved_from(events[:300], path)
    told = saved_from(events[:300], path, status="stopped")
    with Store(path) as store:
        f = store.get(failed)
        assert f["status"] == "failed" and "boom" in f["error"] and f["metrics"] is None
        assert f["bars"] == 50
        s = store.get(stopped)
        assert s["status"] == "stopped" and s["metrics"] is None
        e = store.get(early)
        assert e["status"] == "ended early"
        # A run that never completed still has the numbers it reached.
        points = store.equity(early)
        assert points and e["final_equity"] == points[-1]["equity"]
        assert e["bars"] == sum(1 for x in events[:300] if x["type"] == "candle")
        assert store.get(told)["status"] == "stopped"
    assert derive_status({"status": "out_of_money"}, None) == "out_of_money"
    with pytest.raises(ValueError):
        derive_status(None, None, "nonsense")


def test_the_latest_run_per_strategy_and_symbol_is_flagged(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    sma = run_events(bars=120)
    rsi = run_events(bars=120, strategy="rsi_reversion")
    first = saved_from(sma, path)
    other = saved_from(rsi, path)
    second = saved_from(sma, path)
    with Store(path) as store:
        flags = {r["id"]: r["latest"] for r in store.runs()}
        assert flags == {first: False, other: True, second: True}
        assert [r["id"] for r in store.runs()] == [second, other, first]  # newest first
        store.delete(second)
        flags = {r["id"]: r["latest"] for r in store.runs()}
        assert flags == {first: True, other: True}
        assert store.trades(second) == [] and store.equity(second) == []  # gone with it
        assert store.runs(strategy="RSI_REVERSION")[0]["id"] == other
        assert store.runs(symbol="sample", limit=1)[0]["id"] == other


def make_v1(path: Path) -> None:
    """A store as the first schema left it, with two runs of one pair and one of another."""
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0]:
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    for n, (strategy, symbol) in enumerate([("a", "X"), ("a", "X"), ("b", "X")]):
        conn.execute(
            "INSERT INTO runs (id, run_id, created_at, saved_at, strategy, symbol, status,"
            " bars, trades, return_pct) VALUES (?, ?, ?, ?, ?, ?, 'completed', 10, 1, ?)",
            (f"old{n}", f"old{n}", f"2024-01-0{n + 1}", f"2024-01-0{n + 1}", strategy, symbol, n),
        )
        conn.execute(
            "INSERT INTO trades (run_pk, trade_id, pnl) VALUES (last_insert_rowid(), 1, 5.0)"
        )
    conn.close()


def test_a_v1_store_is_upgraded_and_keeps_its_runs(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    make_v1(path)
    with Store(path) as store:
        assert store.version == SCHEMA_VERSION == 2
        flags = {r["id"]: r["latest"] for r in store.runs()}
        assert flags == {"old0": False, "old1": True, "old2": True}
        assert store.trades("old1")[0]["pnl"] == 5.0
    new = saved_from(run_events(bars=60), path)
    with Store(path) as store:
        assert [r["id"] for r in store.runs()][0] == new
        assert store.count() == 4


def test_a_store_from_a_newer_algotui_is_one_line_and_the_run_goes_on(tmp_path, capsys) -> None:
    path = tmp_path / "runs.sqlite"
    with Store(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema v99, newer than this algotui knows"):
        Store(path)
    sink = StoreSink(path)
    for e in run_events(bars=60):
        sink.add(e)
    assert sink.finish() is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("algotui: warning: run not saved:")
    assert "newer" in err


def truncated(path: Path) -> Path:
    """A real store cut in half (as by a full disk or a copy interrupted)."""
    saved_from(run_events(), path)
    with Store(path) as store:
        store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = path.read_bytes()
    assert len(data) > 8192
    path.write_bytes(data[: len(data) // 2])
    return path


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_store_is_one_line_and_the_run_goes_on(tmp_path, capsys, damage) -> None:
    path = tmp_path / "runs.sqlite"
    if damage == "garbage":
        path.write_bytes(os.urandom(3000) + b"this is not a database" * 100)
    else:
        truncated(path)
    with pytest.raises(StoreError, match="damaged"):
        with Store(path) as store:
            store.runs()
            store.trades(store.runs()[0]["id"])
    capsys.readouterr()
    sink = StoreSink(path)
    for e in run_events(bars=300):
        sink.add(e)
    assert sink.finish() is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and str(path) in err


def test_a_locked_store_is_one_line_and_the_run_goes_on(tmp_path, capsys, monkeypatch) -> None:
    path = tmp_path / "runs.sqlite"
    with Store(path):
        pass
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program writing, for longer than we wait
    monkeypatch.setattr(store_db, "BUSY_SECONDS", 0.2)
    try:
        sink = StoreSink(path)
        for e in run_events(bars=60):
            sink.add(e)
        assert sink.finish() is None
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "is locked by another program" in err
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert sink.finish() is not None  # free again: saved


WRITER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from algotui.store.sink import StoreSink

    path, go, name = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
    events = json.loads(Path(sys.argv[4]).read_text())
    while not go.exists():  # both writers start together
        time.sleep(0.005)
    for n in range(15):
        sink = StoreSink(path)
        for e in events:
            sink.add({**e, "run_id": f"{name}{n:02d}"} if e["type"] == "metadata" else e)
        assert sink.finish() == f"{name}{n:02d}", "not saved"
    """
)


def test_two_processes_saving_at_once_lose_nothing(tmp_path) -> None:
    path = tmp_path / "runs.sqlite"
    events = run_events(bars=200)
    dump = tmp_path / "events.json"
    dump.write_text(json.dumps(events))
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(go), name, str(dump)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("left", "right")
    ]
    go.touch()
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert err == ""
    with Store(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        runs = store.runs()
        assert len(runs) == 30
        trades = sum(1 for e in events if e["type"] == "trade")
        for r in runs:
            assert len(store.trades(r["id"])) == trades
        assert sum(r["latest"] for r in runs) == 1
        assert runs[0]["latest"]


def test_comparison_marks_the_best_and_skips_what_is_missing() -> None:
    from algotui.store.compare import best_indexes, comparison, equity_plot

    assert best_indexes([1.0, 3.0, 2.0], "high") == {1}
    assert best_indexes([1.0, 3.0, 1.0], "low") == {0, 2}  # a tie marks both
    assert best_indexes([2.0, 2.0], "high") == set()  # nothing stands out
    assert best_indexes([None, 5.0], "high") == set()  # one value is no contest
    assert best_indexes([4.0, 5.0], None) == set()
    done = {"id": "a", "params": {}, "bars": 10, "total_bars": 10, "status": "completed"}
    done["metrics"] = {"total_return_pct": 5.0, "sharpe_ratio": 1.0, "max_drawdown": 9.0}
    stopped = {"id": "b", "params": {}, "bars": 4, "total_bars": 10, "status": "stopped"}
    stopped.update(metrics=None, return_pct=7.0, max_drawdown=2.0, trades=1)
    rows = {label: (cells, best) for label, cells, best in comparison([done, stopped])}
    assert rows["Return"] == (["5.00%", "7.00%"], {1})  # what the stopped run reached
    assert rows["Sharpe"] == (["1.00", "-"], set())
    assert rows["Max drawdown"] == (["9.00%", "2.00%"], {1})
    assert rows["Bars"][0] == ["10", "4 of 10"]
    plot = equity_plot(
        [("a", [{"bar_number": 1, "equity": 1.0}, {"bar_number": 2, "equity": 2.0}]), ("b", [])],
        color=False,
    )
    assert "a" in plot and "\x1b" not in plot
    assert equity_plot([("b", [])]) == "(no equity points to plot)"


def test_a_newer_store_stops_the_runs_commands_with_one_line(tmp_path, capsys) -> None:
    from algotui import cli

    path = tmp_path / "runs.sqlite"
    saved_from(run_events(bars=60), path)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 7")
    conn.close()
    with pytest.raises(SystemExit) as exit_:
        cli.main(["runs", "list", "--db", str(path)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and "schema v7, newer" in err
