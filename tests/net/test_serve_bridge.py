"""A served session in the bridge's protocol: what ``algotui view`` reads, and its controls."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from algotui.serve.api import MANAGER
from tests.net.serve_support import headless, make_app, wait_for

pytest.importorskip("algotui.net.hub")

TOKEN = "bridge-test-token"


async def frames_until(ws, stop, limit: int = 10_000) -> list:  # noqa: ANN001
    """Frames (dicts, or lists of events) until ``stop(frame)``; bounded."""
    out = []
    for _ in range(limit):
        frame = json.loads((await ws.receive(timeout=30)).data)
        out.append(frame)
        if stop(frame):
            return out
    raise AssertionError("no final frame")


def has(kind: str):  # noqa: ANN201
    return lambda f: isinstance(f, list) and any(e.get("type") == kind for e in f)


async def test_a_session_through_the_bridge_snapshot_events_and_controls(
    aiohttp_client,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    client = await aiohttp_client(make_app(tmp_path, token=TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    created = await client.post(
        "/api/sessions", json={"speed": 20, "autostart": True}, headers=auth
    )
    session_id = (await created.json())["id"]
    session = client.app[MANAGER].get(session_id)
    await wait_for(lambda: session.bars_shown >= 2)
    ws = await client.ws_connect(f"/api/ws/sessions/{session_id}/bridge?token={TOKEN}")
    first = await frames_until(ws, lambda f: isinstance(f, dict) and f["type"] == "snapshot")
    assert first[0]["type"] == "connected" and first[0]["control"] is True
    snapshot = first[-1]
    assert snapshot["metadata"]["symbol"] == "SAMPLE" and snapshot["seq"] >= 1

    await ws.send_json({"type": "control", "command": "pause", "id": 1})
    ack = await frames_until(ws, lambda f: isinstance(f, dict) and f.get("type") == "ack")
    assert ack[-1]["paused"] is True and session.paused
    status = await (await client.get("/api/status", headers=auth)).json()
    assert status["streams"][0]["viewers"] == {"bridge": 1}

    await ws.send_json({"type": "control", "command": "seek", "bar": 0, "id": 2})
    back = await frames_until(ws, lambda f: isinstance(f, dict) and f.get("type") == "snapshot")
    assert any(isinstance(f, dict) and f.get("type") == "resync" for f in back)
    assert back[-1]["total_bars"] == 782 and len(back[-1]["candles"]["close"]) == 1

    await ws.send_json({"type": "control", "command": "speed", "speed": None, "id": 3})
    await ws.send_json({"type": "control", "command": "resume", "id": 4})
    rest = await frames_until(ws, has("complete"))
    (complete,) = [e for f in rest if isinstance(f, list) for e in f if e["type"] == "complete"]
    assert complete["metrics"] == headless()
    await ws.send_json({"type": "control", "command": "pause", "id": 5})
    refused = await frames_until(ws, lambda f: isinstance(f, dict) and f.get("id") == 5)
    assert refused[-1]["type"] == "error" and "completed" in refused[-1]["message"]
    await ws.close()


async def test_without_the_token_a_bridge_viewer_only_watches(aiohttp_client, tmp_path) -> None:  # noqa: ANN001
    client = await aiohttp_client(make_app(tmp_path))
    created = await client.post("/api/sessions", json={"speed": 5, "autostart": True})
    session_id = (await created.json())["id"]
    ws = await client.ws_connect(f"/api/ws/sessions/{session_id}/bridge")
    connected = json.loads((await ws.receive(timeout=10)).data)
    assert connected["type"] == "connected" and connected["control"] is False
    await ws.send_json({"type": "control", "command": "pause", "id": 7})
    reply = await frames_until(ws, lambda f: isinstance(f, dict) and f.get("id") == 7)
    assert reply[-1]["type"] == "error" and reply[-1]["code"] == "forbidden"
    assert not client.app[MANAGER].get(session_id).paused
    await ws.close()
    assert (await client.get("/api/ws/sessions/nope/bridge")).status == 404
