"""Our own API under /api: sessions, their controls and socket, isolation, results, cleanup."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from algotui.serve.api import MANAGER
from tests.net.serve_support import headless, make_app, receive_until, wait_for

SLEEPER = """
import time
from algotui import Strategy

class Sleeper(Strategy):
    def next(self):
        if self.i == 3:
            time.sleep(60)
"""
RAISER = """
from algotui import Strategy

class Raiser(Strategy):
    def next(self):
        if self.i == 40:
            raise ValueError("boom at bar 40")
"""
STUBBORN = """
import signal
import time
from algotui import Strategy

class Stubborn(Strategy):
    def init(self):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def next(self):
        time.sleep(60)
"""
STUCK_AT_IMPORT = """
import time
time.sleep(60)
from algotui import Strategy

class Stuck(Strategy):
    pass
"""


@pytest.fixture
def strategies(tmp_path: Path) -> Path:
    d = tmp_path / "strategies"
    d.mkdir()
    (d / "sleeper.py").write_text(SLEEPER)
    (d / "raiser.py").write_text(RAISER)
    (d / "stuck.py").write_text(STUCK_AT_IMPORT)
    (d / "stubborn.py").write_text(STUBBORN)
    return d


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path, strategies: Path):  # noqa: ANN001, ANN201
    return await aiohttp_client(make_app(tmp_path, strategies_dir=strategies))


async def create(client, **config) -> dict:  # noqa: ANN001
    response = await client.post("/api/sessions", json=config)
    assert response.status == 201, await response.text()
    return await response.json()


async def test_a_session_from_create_to_complete_equals_the_headless_run(client) -> None:  # noqa: ANN001
    info = await create(
        client,
        symbol="sample",
        strategy="macd_cross",
        cash=20000,
        commission=0.001,
        params={"fast": 8},
    )
    assert info["status"] == "created" and info["config"]["params"]["fast"] == 8
    session_id = info["id"]
    started = await client.post(f"/api/sessions/{session_id}/start")
    assert started.status == 200
    ws = await client.ws_connect(f"/api/ws/sessions/{session_id}")
    frames = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    connected = frames[0]
    assert connected["type"] == "connected" and connected["session_id"] == session_id
    events = frames[1:]
    assert [e["seq"] for e in events] == list(range(len(events)))  # gapless, from 0
    assert events[0]["type"] == "metadata" and events[0]["v"] == 1
    assert {e["type"] for e in events} >= {
        "metadata",
        "candle",
        "signal",
        "trade",
        "stats",
        "equity",
        "complete",
    }
    expected = headless("macd_cross", {"fast": 8}, cash=20000, commission=0.001)
    assert events[-1]["metrics"] == expected
    msg = await ws.receive(timeout=10)
    assert msg.type.name in ("CLOSE", "CLOSING", "CLOSED")

    detail = await (await client.get(f"/api/sessions/{session_id}")).json()
    assert detail["status"] == "completed" and detail["metrics"] == expected
    assert detail["bars"] == detail["total_bars"] == 782 and detail["progress"] == 100.0
    assert detail["stats"]["total_trades"] == expected["total_trades"]
    assert len(detail["open_trades"]) == expected["open_trades"]
    assert detail["recent_signals"] and detail["recent_trades"]
    listed = await (await client.get("/api/sessions")).json()
    assert [s["id"] for s in listed["sessions"]] == [session_id]

    # saved: the recording holds every event, in order, and replays
    manager = client.app[MANAGER]
    manager.writer.close()
    recording = manager.settings.results_dir / f"{session_id}.jsonl"
    lines = [json.loads(line) for line in recording.read_text().splitlines()]
    assert lines == events


async def test_pause_step_seek_speed_and_resume(client) -> None:  # noqa: ANN001
    info = await create(client, symbol="sample", speed=30, autostart=True)
    session_id = info["id"]
    session = client.app[MANAGER].get(session_id)
    ws = await client.ws_connect(f"/api/ws/sessions/{session_id}")
    assert (await ws.receive_json(timeout=10))["type"] == "connected"
    paused = await (await client.post(f"/api/sessions/{session_id}/pause")).json()
    assert paused["status"] == "paused" and paused["paused"] is True
    await wait_for(lambda: session.engine_done)  # the engine ran on at full speed
    before = session.bars_shown
    stepped = await client.post(f"/api/sessions/{session_id}/step", json={"bars": 3})
    assert stepped.status == 200
    await wait_for(lambda: session.bars_shown == before + 3)
    seek = await client.post(f"/api/sessions/{session_id}/seek", json={"bar": 500})
    assert seek.status == 200
    await wait_for(lambda: session.bars_shown == 501)
    await client.post(f"/api/sessions/{session_id}/seek", json={"bar": 9})
    await wait_for(lambda: session.bars_shown == 10)
    detail = await (await client.get(f"/api/sessions/{session_id}")).json()
    assert detail["bars"] == 10 and detail["status"] == "paused"
    # the viewer was told to start over, then sent the ten bars again
    frames = await receive_until(ws, lambda m: m["type"] == "resync")
    assert frames[-1]["bars"] == 10
    replay = await receive_until(ws, lambda m: m["type"] == "candle" and m["bar_number"] == 10)
    assert replay[0]["type"] == "metadata" and replay[0]["seq"] == 0
    speed = await client.patch(f"/api/sessions/{session_id}/speed", json={"speed": "max"})
    assert (await speed.json())["speed"] is None
    await client.post(f"/api/sessions/{session_id}/resume")
    rest = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    assert rest[-1]["metrics"] == headless()
    assert session.status == "completed"
    assert (await client.post(f"/api/sessions/{session_id}/pause")).status == 409


async def test_a_viewer_resumes_after_a_drop_without_gaps(client) -> None:  # noqa: ANN001
    info = await create(client, symbol="sample", speed=200, autostart=True)
    session_id = info["id"]
    ws = await client.ws_connect(f"/api/ws/sessions/{session_id}")
    first = await receive_until(ws, lambda m: m.get("seq", -1) >= 100)
    await ws.close()
    last = first[-1]["seq"]
    ws = await client.ws_connect(f"/api/ws/sessions/{session_id}?since={last}")
    rest = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    assert rest[0]["type"] == "connected"
    seqs = [e["seq"] for e in first[1:]] + [e["seq"] for e in rest[1:]]
    assert seqs == list(range(len(seqs)))
    await ws.close()
    bad = await client.get(f"/api/ws/sessions/{session_id}?since=x")
    assert bad.status == 400


async def test_stop_keeps_what_was_shown_and_stores_it_as_stopped(client) -> None:  # noqa: ANN001
    info = await create(client, symbol="sample", speed=50, autostart=True)
    session_id = info["id"]
    session = client.app[MANAGER].get(session_id)
    await wait_for(lambda: session.bars_shown >= 2)
    stopped = await (await client.post(f"/api/sessions/{session_id}/stop")).json()
    assert stopped["status"] == "stopped" and stopped["bars"] < 782
    detail = await (await client.get(f"/api/sessions/{session_id}")).json()
    assert detail["error"]["message"] == "stopped"
    manager = client.app[MANAGER]
    manager.writer.close()
    lines = (manager.settings.results_dir / f"{session_id}.jsonl").read_text().splitlines()
    last = json.loads(lines[-1])
    assert last["type"] == "error" and last["message"] == "stopped"
    assert [json.loads(x)["seq"] for x in lines] == list(range(len(lines)))
    assert (await client.post(f"/api/sessions/{session_id}/resume")).status == 409
    deleted = await client.delete(f"/api/sessions/{session_id}")
    assert deleted.status == 200
    assert (await client.get(f"/api/sessions/{session_id}")).status == 404


async def test_a_slow_a_failing_and_a_stuck_session_disturb_no_other(client) -> None:  # noqa: ANN001
    manager = client.app[MANAGER]
    slow = await create(client, strategy="sleeper.py", autostart=True)
    stuck = await create(client, strategy="stuck.py", autostart=True)
    failing = await create(client, strategy="raiser.py:Raiser", autostart=True)
    normal = await create(client, strategy="sma_cross", autostart=True)
    ws = await client.ws_connect(f"/api/ws/sessions/{normal['id']}")
    frames = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    assert frames[-1]["metrics"] == headless()
    await wait_for(lambda: manager.get(failing["id"]).ended)
    bad = await (await client.get(f"/api/sessions/{failing['id']}")).json()
    assert bad["status"] == "failed" and "boom at bar 40" in bad["error"]["message"]
    assert bad["bars"] == 40  # the bar whose next() raised is not shown
    for sid in (slow["id"], stuck["id"]):
        assert manager.get(sid).status == "running"
    assert manager.get(slow["id"]).bars_shown <= 4
    assert manager.get(stuck["id"]).bars_shown == 0
    pids = [manager.get(sid).engine.pid for sid in (slow["id"], stuck["id"])]
    for sid in (slow["id"], stuck["id"]):
        assert (await client.post(f"/api/sessions/{sid}/stop")).status == 200
        assert manager.get(sid).status == "stopped"
    for pid in pids:  # the children are gone (reaped by their reader threads)
        await wait_for(lambda pid=pid: not os.path.exists(f"/proc/{pid}"))


async def test_bad_requests_name_their_field(client) -> None:  # noqa: ANN001
    cases = [
        ({"strategy_code": "print(1)"}, "strategy_code"),
        ({"symbol": "../../etc/passwd"}, "symbol"),
        ({"period": "3w"}, "period"),
        ({"interval": "1d", "symbol": "sample", "fill": "later"}, "fill"),
        ({"cash": 0}, "cash"),
        ({"cash": 1e300}, "cash"),
        ({"commission": 2}, "commission"),
        ({"speed": 0}, "speed"),
        ({"params": {"fast": "quick"}}, "params"),
        ({"params": {"nope": 1}}, "params"),
        ({"strategy": "nonesuch"}, "strategy"),
        ({"strategy": "../outside.py"}, "strategy"),
        ({"strategy": "/etc/passwd.py"}, "strategy"),
        ({"strategy": "missing.py"}, "strategy"),
        ({"start": "2023-05-01", "end": "2023-01-01"}, "end"),
        ({"colour": "blue"}, "colour"),
        ({"autostart": "yes"}, "autostart"),
    ]
    for body, field in cases:
        response = await client.post("/api/sessions", json=body)
        assert response.status == 400, body
        answer = await response.json()
        assert answer["field"] == field, (body, answer)
        assert answer["error"].startswith(f"{field}: ") or field == "params"
    response = await client.post("/api/sessions", data=b"{not json")
    assert response.status == 400 and (await response.json())["field"] == "body"
    assert client.app[MANAGER].sessions == {}
    info = await create(client)
    sid = info["id"]
    assert (await client.post(f"/api/sessions/{sid}/pause")).status == 409
    assert (await client.post(f"/api/sessions/{sid}/seek", json={})).status == 400
    assert (await client.post(f"/api/sessions/{sid}/step", json={"bars": 0})).status == 400
    assert (await client.patch(f"/api/sessions/{sid}/speed", json={"speed": -1})).status == 400
    assert (await client.get("/api/sessions/no-such-session")).status == 404
    assert (await client.get("/api/sessions/" + "x" * 80)).status == 404


async def test_strategy_files_cannot_escape_the_directory(
    client,
    strategies: Path,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside.py"
    outside.write_text("from algotui import Strategy\nclass Out(Strategy):\n    pass\n")
    (strategies / "link.py").symlink_to(outside)
    (strategies / "sub").mkdir()
    (strategies / "sub" / "inner.py").write_text(
        "from algotui import Strategy\nclass Inner(Strategy):\n    pass\n"
    )
    for name in ("link.py", "sub/../../outside.py", str(outside)):
        response = await client.post("/api/sessions", json={"strategy": name})
        assert response.status == 400 and (await response.json())["field"] == "strategy"
    info = await create(client, strategy="sub/inner.py", autostart=True)
    session = client.app[MANAGER].get(info["id"])
    await wait_for(lambda: session.ended)
    assert session.status == "completed"
    names = [s["name"] for s in (await (await client.get("/api/strategies")).json())["strategies"]]
    assert "sub/inner.py" in names and "link.py" not in names


async def test_an_unknown_ticker_fails_without_the_internet(
    client,
    monkeypatch,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    from curl_cffi import requests as curl_requests

    def no_network(*_, **__):  # noqa: ANN002, ANN003, ANN202
        raise OSError("network disabled in tests")

    monkeypatch.setattr(curl_requests.Session, "request", no_network)
    monkeypatch.setenv("ALGOTUI_CACHE_DIR", str(tmp_path / "cache"))
    info = await create(client, symbol="ZZQX", period="1mo", autostart=True)
    session = client.app[MANAGER].get(info["id"])
    await wait_for(lambda: session.ended)
    assert session.status == "failed"
    assert "ZZQX" in session.summary.error["message"]


async def test_status_counts_viewers_and_finished_sessions_are_cleaned(  # noqa: ANN001
    aiohttp_client, tmp_path: Path
) -> None:
    client = await aiohttp_client(make_app(tmp_path, keep_minutes=0.0))
    info = await create(client, speed=5, autostart=True)
    ws = await client.ws_connect(f"/api/ws/sessions/{info['id']}")
    await ws.receive_json(timeout=10)
    status = await (await client.get("/api/status")).json()
    assert status["sessions"]["active"] == 1 and status["viewers"] == 1
    assert status["streams"][0]["viewers"] == {"api": 1}
    await client.post(f"/api/sessions/{info['id']}/stop")
    await ws.close()
    manager = client.app[MANAGER]
    assert manager.clean() == 1
    assert manager.sessions == {}
    status = await (await client.get("/api/status")).json()
    assert status["sessions"]["total"] == 0


async def test_finished_and_stopped_sessions_are_saved_to_the_results_store(
    client,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    db = pytest.importorskip("algotui.store.db")
    manager = client.app[MANAGER]
    done = await create(client, autostart=True)
    slow = await create(client, speed=5, autostart=True)
    await wait_for(lambda: manager.get(done["id"]).ended)
    await wait_for(lambda: manager.get(slow["id"]).summary.meta)  # shown before any bar
    await client.post(f"/api/sessions/{slow['id']}/stop")
    manager.writer.close()
    with db.Store(tmp_path / "runs.db") as store:
        completed = store.get(manager.get(done["id"]).sink.saved_id)
        stopped = store.get(manager.get(slow["id"]).sink.saved_id)
    assert completed["status"] == "completed" and stopped["status"] == "stopped"
    assert completed["metrics"] == headless()
    assert completed["config"]["strategy"] == "sma_cross"


async def test_a_session_is_a_controls_and_finish_runs_it_out(client) -> None:  # noqa: ANN001
    from algotui.run.controls import Controls

    info = await create(client, speed=2, autostart=True)
    session = client.app[MANAGER].get(info["id"])
    assert isinstance(session, Controls)
    finished = await client.post(f"/api/sessions/{info['id']}/finish")
    assert (await finished.json())["speed"] is None and session.finishing
    await wait_for(lambda: session.ended)
    assert session.status == "completed" and session.summary.metrics == headless()


async def test_shutdown_leaves_no_engine_behind_even_one_that_ignores_sigterm(client) -> None:  # noqa: ANN001
    manager = client.app[MANAGER]
    info = await create(client, strategy="stubborn.py", autostart=True)
    session = manager.get(info["id"])
    await wait_for(lambda: session.summary.meta)  # init() ran: SIGTERM is ignored now
    pid = session.engine.pid
    manager.shutdown()
    assert session.status == "stopped"
    # no await from here: the loop's own delayed SIGKILL cannot run, shutdown alone must do it
    for _ in range(100):  # bounded: a SIGKILL lands at once
        if dead(pid):
            break
        time.sleep(0.01)
    assert dead(pid)


def dead(pid: int) -> bool:
    """True once the process is gone or a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def test_batched_frames_carry_the_same_events(client) -> None:  # noqa: ANN001
    info = await create(client, speed=300, autostart=True)
    ws = await client.ws_connect(f"/api/ws/sessions/{info['id']}?batch=1")
    assert (await ws.receive_json(timeout=10))["type"] == "connected"
    frames = await receive_until(
        ws, lambda f: isinstance(f, list) and f[-1]["type"] in ("complete", "error")
    )
    assert all(isinstance(f, list) and f for f in frames)
    assert len(frames) > 1  # paced: several moves of the playhead
    events = [e for f in frames for e in f]
    assert [e["seq"] for e in events] == list(range(len(events)))
    assert events[-1]["metrics"] == headless()
