"""Who may use the server: tokens on every route and socket, browsers' origins, size caps."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from algotui.errors import UserError
from algotui.serve.manager import Settings
from algotui.serve.security import is_loopback, token_ok
from algotui.serve.server import check_settings
from tests.net.serve_support import make_app

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
async def guarded(aiohttp_client, tmp_path: Path):  # noqa: ANN001, ANN201
    return await aiohttp_client(make_app(tmp_path, token=TOKEN))


ROUTES = [
    ("GET", "/api/status"),
    ("GET", "/api/sessions"),
    ("POST", "/api/sessions"),
    ("GET", "/api/openapi.json"),
    ("GET", "/api/backtest"),
    ("POST", "/api/backtest/create"),
    ("POST", "/api/backtesting/start"),
    ("GET", "/api/ws/stream/status"),
    ("GET", "/api/strategies"),
]


async def test_a_token_is_asked_on_every_route(guarded) -> None:  # noqa: ANN001
    for method, path in ROUTES:
        assert (await guarded.request(method, path)).status == 401, path
        wrong = {"Authorization": "Bearer nope"}
        assert (await guarded.request(method, path, headers=wrong)).status == 401, path
    ok = {"Authorization": f"Bearer {TOKEN}"}
    assert (await guarded.get("/api/status", headers=ok)).status == 200
    assert (await guarded.get(f"/api/status?token={TOKEN}")).status == 200
    assert (await guarded.get("/api/status?token=wrong")).status == 401


@pytest.mark.parametrize(
    "path",
    [
        "/api/ws/sessions/{id}",
        "/ws/backtest/stream/",
        "/api/backtest/ws",
        "/api/ws/stream/backtest/{id}",
    ],
)
async def test_every_socket_takes_the_token_in_header_query_or_first_message(
    guarded,
    path: str,  # noqa: ANN001
) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    created = await (await guarded.post("/api/sessions", json={}, headers=headers)).json()
    path = path.replace("{id}", created["id"])
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await guarded.ws_connect(path, headers={"Authorization": "Bearer wrong"})
    ws = await guarded.ws_connect(path, headers=headers)
    await ws.close()
    ws = await guarded.ws_connect(f"{path}?token={TOKEN}")
    await ws.close()
    # no token at the handshake: the first message must carry it
    ws = await guarded.ws_connect(path)
    await ws.send_json({"token": "wrong"})
    msg = await ws.receive_json(timeout=10)
    assert msg["type"] == "error" and "token" in msg["message"]
    closed = await ws.receive(timeout=10)
    assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 4401
    ws = await guarded.ws_connect(path)
    await ws.send_json({"token": TOKEN})
    if path.startswith("/ws/backtest/stream"):
        await ws.send_json({"action": "start_backtest", "config": {"strategy_code": "x"}})
        assert (await ws.receive_json(timeout=10))["field"] == "strategy_code"
    elif path.startswith("/api/ws/sessions"):
        assert (await ws.receive_json(timeout=10))["type"] == "connected"
    elif path.startswith("/api/ws/stream"):
        assert (await ws.receive_json(timeout=10))["type"] == "connected"
    await ws.close()


async def test_browsers_are_held_to_the_same_origin(aiohttp_client, tmp_path: Path) -> None:  # noqa: ANN001
    client = await aiohttp_client(make_app(tmp_path))
    evil = {"Origin": "http://evil.example"}
    assert (await client.get("/api/status", headers=evil)).status == 403
    assert (await client.post("/api/sessions", json={}, headers=evil)).status == 403
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await client.ws_connect("/ws/backtest/stream/", headers=evil)
    own = {"Origin": f"http://{client.host}:{client.port}"}
    assert (await client.get("/api/status", headers=own)).status == 200
    assert (await client.get("/api/status")).status == 200  # not a browser: no Origin


async def test_an_allowed_origin_gets_cors_headers(aiohttp_client, tmp_path: Path) -> None:  # noqa: ANN001
    dashboard = "http://localhost:5173"
    client = await aiohttp_client(make_app(tmp_path, allow_origins=(dashboard,)))
    response = await client.get("/api/backtest", headers={"Origin": dashboard})
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == dashboard
    preflight = await client.options(
        "/api/backtest/create",
        headers={"Origin": dashboard, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    ws = await client.ws_connect("/ws/backtest/stream/", headers={"Origin": dashboard})
    await ws.close()
    other = await client.get("/api/backtest", headers={"Origin": "http://localhost:6666"})
    assert other.status == 403


async def test_bodies_and_frames_are_capped(aiohttp_client, tmp_path: Path) -> None:  # noqa: ANN001
    client = await aiohttp_client(make_app(tmp_path, max_body=4096, max_frame=4096))
    big = {"symbol": "sample", "name": "x" * 10_000}
    assert (await client.post("/api/sessions", json=big)).status == 413
    ws = await client.ws_connect("/ws/backtest/stream/")
    await ws.send_str('{"action": "start_backtest", "config": {"name": "' + "x" * 10_000 + '"}}')
    closed = await ws.receive(timeout=10)
    assert closed.type == aiohttp.WSMsgType.CLOSE and closed.data == 1009  # message too big


async def test_sessions_per_client_are_capped(aiohttp_client, tmp_path: Path) -> None:  # noqa: ANN001
    client = await aiohttp_client(make_app(tmp_path, max_per_client=2))
    for _ in range(2):
        assert (await client.post("/api/sessions", json={})).status == 201
    refused = await client.post("/api/sessions", json={})
    assert refused.status == 429 and "limit per client" in (await refused.json())["error"]
    assert (await client.post("/api/backtest/create", json={})).status == 429
    ws = await client.ws_connect("/ws/backtest/stream/")
    await ws.send_json({"action": "start_backtest", "config": {}})
    assert "limit" in (await ws.receive_json(timeout=10))["message"]
    await ws.close()
    first = (await (await client.get("/api/sessions")).json())["sessions"][0]["id"]
    await client.delete(f"/api/sessions/{first}")
    assert (await client.post("/api/sessions", json={})).status == 201


def test_settings_refuse_an_open_bind_without_a_token(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="needs --token"):
        check_settings(Settings(host="0.0.0.0"))
    with pytest.raises(UserError, match="at least 8"):
        check_settings(Settings(host="0.0.0.0", token="short"))
    with pytest.raises(UserError, match="no such directory"):
        check_settings(Settings(strategies_dir=tmp_path / "missing"))
    with pytest.raises(UserError, match="--allow-origin"):
        check_settings(Settings(allow_origins=("localhost:5173",)))
    check_settings(Settings(host="0.0.0.0", token=TOKEN))
    check_settings(Settings(host="::1"))
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert token_ok(TOKEN, TOKEN) and not token_ok(None, TOKEN) and not token_ok("", TOKEN)
