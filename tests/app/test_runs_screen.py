"""The runs screen, driven with Textual's pilot: browse stored runs, compare two, replay one."""

from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from algotui.store.db import Store
from algotui.store.sink import StoreSink, save_state
from algotui.tui.keys import rows
from algotui.tui.screens.runs import CompareScreen, RunsScreen
from tests.app.test_app import SOURCES, make_app, screen_text, until
from tests.e2e.test_runs_cli import save
from tests.unit.test_store import run_events


class Host(App[Path | None]):
    """Just the runs screen, as the app pushes it."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.db = db

    def on_mount(self) -> None:
        self.push_screen(RunsScreen(self.db), self.exit)


async def test_browse_and_compare_two_runs(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    first = save(db, "first0000000", bars=300, fast=5)
    second = save(db, "second000000", bars=300, strategy="rsi_reversion")
    third = save(db, "third0000000", bars=300)
    app = Host(db)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        assert [str(k.value) for k in table.rows] == [third, second, first]  # newest first
        text = screen_text(app)
        assert "Stored runs" in text and "rsi_reversion" in text and "completed" in text
        await pilot.press("c")  # nothing marked yet: a hint, no screen
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("space")  # marks the third, moves down
        await pilot.press("space")  # marks the second
        assert screen.marked == [third, second]
        assert table.get_row(third)[0] == "x" and table.get_row(first)[0] == ""
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert any(line.split()[:2] == ["x", third] for line in lines)  # the mark shows
        assert any(line.split()[:1] == [first] for line in lines)
        await pilot.press("c")
        await pilot.pause()
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        text = screen_text(app)
        assert third in text and second in text and first not in text
        assert "Sharpe" in text and "Max drawdown" in text and "*" in text
        with Store(db) as store:
            a = store.get(third)["metrics"]["total_return_pct"]
            b = store.get(second)["metrics"]["total_return_pct"]
        ret = next(line for line in text.splitlines() if line.strip().startswith("Return"))
        best = f"{max(a, b):.2f}% *"
        assert best in ret and f"{min(a, b):.2f}% *" not in ret
        plot = str(compare.query_one("#plot", Static).render())
        assert "Equity" in plot and third in plot and second in plot
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        await pilot.press("escape")
        await pilot.pause()
    assert app.return_value is None


async def test_an_empty_store_says_so(tmp_path) -> None:
    app = Host(tmp_path / "none.sqlite")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "No runs stored yet" in screen_text(app)
        await pilot.press("enter", "c")  # nothing to open or compare: nothing happens
        await pilot.pause()
        assert isinstance(app.screen, RunsScreen)


async def test_a_damaged_store_is_one_line_on_the_screen(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    db.write_bytes(b"not a database at all" * 300)
    app = Host(db)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "is damaged" in screen_text(app)


async def test_R_in_the_app_opens_the_runs_and_enter_replays_a_recorded_one(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    recording = tmp_path / "run.jsonl"
    recording.write_text("")
    save(db, "recorded0000", bars=100)
    with Store(db) as store:  # give it a recording, as `algotui run --record` does
        store.conn.execute(
            "UPDATE runs SET recording = ? WHERE id = ?", (str(recording), "recorded0000")
        )
    save(db, "plain0000000", bars=100)
    assert any(row.shows == "R" for row in rows("app"))  # listed in the help and the README
    app = make_app()
    app.store_path = db
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.press("R")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen) and screen.path == db
        await pilot.press("enter")  # the newest has no recording: it says so and stays
        await pilot.pause()
        assert app.screen is screen and app.replay_request is None
        await pilot.press("down", "enter")
        await pilot.pause()
    assert app.replay_request == recording


@pytest.mark.parametrize("source", SOURCES)
async def test_the_app_saves_what_a_headless_run_saves(tmp_path, source) -> None:
    """A live run's state (compact engine events, in this process or from a child) saves the
    same trades, curve and metrics as the protocol dicts of the same run."""
    db = tmp_path / "runs.sqlite"
    app = make_app(speed=None, paused=False, source=source)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(pilot, lambda: app.state.done)
    from_app = save_state(app.state, db, run_id="fromtheapp00")
    from_events = save(db, "fromevents00", bars=782)
    with Store(db) as store:
        a, b = store.get(from_app), store.get(from_events)
        for key in ("metrics", "params", "status", "bars", "return_pct", "config"):
            assert a[key] == b[key], key
        assert store.trades(from_app) == store.trades(from_events)
        strip = [(p["bar_number"], p["timestamp"], p["equity"]) for p in store.equity(from_app)]
        assert strip == [
            (p["bar_number"], p["timestamp"], p["equity"]) for p in store.equity(from_events)
        ]
        assert store.daily(from_app) == store.daily(from_events)


def fixed_store(db: Path) -> None:
    """Three runs with fixed ids and times: screens that look the same on every run."""
    for n, (run_id, strategy, params) in enumerate(
        [
            ("aaaa11112222", "sma_cross", {"fast": 5}),
            ("bbbb33334444", "rsi_reversion", {}),
            ("cccc55556666", "sma_cross", {}),
        ]
    ):
        sink = StoreSink(db)
        for e in run_events(bars=400, strategy=strategy, **params):
            if e["type"] == "metadata":
                e = {**e, "run_id": run_id, "created_at": f"2025-03-0{n + 1}T09:30:00.000000Z"}
            sink.add(e)
        assert sink.finish() == run_id


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
def test_runs_screen_snapshot(snap_compare, tmp_path, monkeypatch, size) -> None:
    monkeypatch.chdir(tmp_path)  # the title shows the store's path: the same on every run
    db = Path("runs.sqlite")
    fixed_store(db)
    assert snap_compare(Host(db), terminal_size=size, press=["space"])


@pytest.mark.parametrize("size", [(160, 45), (80, 24)])
def test_compare_screen_snapshot(snap_compare, tmp_path, monkeypatch, size) -> None:
    monkeypatch.chdir(tmp_path)  # the title shows the store's path: the same on every run
    db = Path("runs.sqlite")
    fixed_store(db)
    assert snap_compare(Host(db), terminal_size=size, press=["space", "space", "c"])
