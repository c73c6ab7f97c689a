"""The three seed dashboards' protocols, each driven by a client written from the seed's text.

Each client connects as its dashboard would, runs a backtest on the bundled sample, checks
every message type and field its seed documents, and that the final metrics equal the same
run done headless.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from algotui.serve.api import MANAGER
from tests.net.serve_support import headless, make_app, receive_until, wait_for

NUMBER = (int, float)


@pytest.fixture
async def client(aiohttp_client, tmp_path: Path):  # noqa: ANN001, ANN201
    return await aiohttp_client(make_app(tmp_path))


# -- seeds 000-002: ws/backtest/stream/ -----------------------------------------------------------


async def test_seed_000_stream_runs_a_backtest_as_the_dashboard_does(client) -> None:  # noqa: ANN001
    ws = await client.ws_connect("/ws/backtest/stream/")
    # seed 000's "Frontend sends" body, on the sample instead of AAPL
    await ws.send_json(
        {
            "action": "start_backtest",
            "config": {
                "symbol": "sample",
                "period": "6mo",
                "interval": "1d",
                "initial_balance": 10000,
                "indicators": {"RSI": {"timeperiod": 14}, "SMA": {"timeperiod": 20}},
            },
        }
    )
    messages = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    await ws.close()
    by_type: dict[str, list[dict]] = {}
    for m in messages:
        by_type.setdefault(m["type"], []).append(m)
    assert set(by_type) >= {"metadata", "candle", "signal", "stats", "complete"}
    assert set(by_type) <= {"metadata", "candle", "signal", "stats", "complete"}

    statuses = [m["status"] for m in by_type["metadata"]]
    assert statuses[0] == "loading_data" and statuses[-1] == "streaming_visualization"
    for m in by_type["metadata"]:
        assert m["symbol"] == "sample" and m["period"] == "6mo" and m["interval"] == "1d"
        assert isinstance(m["total_bars"], int) and isinstance(m["total_trades"], int)
    total = by_type["metadata"][-1]["total_bars"]

    candles = by_type["candle"]
    assert len(candles) == total > 100
    assert [c["bar_number"] for c in candles] == list(range(1, total + 1))
    for c in candles:
        for key in ("open", "high", "low", "close", "volume", "progress"):
            assert isinstance(c[key], NUMBER)
        assert isinstance(c["timestamp"], str) and c["low"] <= c["high"]
    assert candles[-1]["progress"] == 100.0

    for s in by_type["signal"]:
        assert s["action"] in ("ENTRY", "EXIT") and s["side"] in ("BUY", "SELL", "CLOSE")
        assert isinstance(s["price"], NUMBER) and isinstance(s["size"], NUMBER)
        assert isinstance(s["timestamp"], str)
        assert (s["pnl"] is None) == (s["action"] == "ENTRY")
    for s in by_type["stats"]:
        for key in ("total_trades", "winning_trades", "losing_trades", "pnl", "win_rate"):
            assert isinstance(s[key], NUMBER)
        assert s["total_trades"] == s["winning_trades"] + s["losing_trades"]

    (complete,) = by_type["complete"]
    assert complete["total_bars"] == total
    expected = headless(last_days=182, cash=10000)
    for key in (
        "total_trades",
        "winning_trades",
        "losing_trades",
        "win_rate",
        "net_profit",
        "total_return_pct",
        "final_equity",
        "max_drawdown",
        "sharpe_ratio",
    ):
        assert key in complete["metrics"]
    assert complete["metrics"] == expected


async def test_seed_002_config_with_costs_and_a_strategy_id(client) -> None:  # noqa: ANN001
    ws = await client.ws_connect("/ws/backtest/stream/")
    # seed 002's start request: strategy_id is a number from GET /api/strategies (2: rsi_reversion)
    strategies = await (await client.get("/api/strategies")).json()
    assert strategies["strategies"][1] == {
        "id": 2,
        "name": "rsi_reversion",
        "builtin": True,
        "parameters": strategies["strategies"][1]["parameters"],
    }
    await ws.send_json(
        {
            "action": "start_backtest",
            "config": {
                "strategy_id": 2,
                "symbol": "sample",
                "period": "1y",
                "interval": "1d",
                "initial_balance": 25000,
                "commission": 0.002,
                "slippage": 0.0005,
                "indicators": {"RSI": {"timeperiod": 14}, "EMA": {"periods": [9, 21]}},
            },
        }
    )
    messages = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    assert messages[-1]["type"] == "complete"
    expected = headless(
        "rsi_reversion", last_days=365, cash=25000, commission=0.002, slippage=0.0005
    )
    assert messages[-1]["metrics"] == expected
    await ws.close()


async def test_seed_stream_refuses_strategy_code_and_bad_configs(client) -> None:  # noqa: ANN001
    ws = await client.ws_connect("/ws/backtest/stream/")
    cases = [
        ({"strategy_code": "import os; os.system('true')", "symbol": "sample"}, "strategy_code"),
        ({"symbol": "no such/thing"}, "symbol"),
        ({"symbol": "sample", "period": "7weeks"}, "period"),
        ({"symbol": "sample", "interval": "5m"}, "interval"),
        ({"symbol": "sample", "initial_balance": -5}, "initial_balance"),
        ({"symbol": "sample", "initial_balance": "lots"}, "initial_balance"),
        ({"symbol": "sample", "leverage": 100}, "leverage"),
        ({"symbol": "sample", "strategy_id": 99}, "strategy_id"),
    ]
    for config, field in cases:
        await ws.send_json({"action": "start_backtest", "config": config})
        msg = await ws.receive_json(timeout=10)
        assert msg["type"] == "error", config
        assert msg["field"] == field and msg["message"].startswith(f"{field}: ")
    await ws.send_json({"action": "start_backtest", "config": {"strategy_code": "x = 1"}})
    msg = await ws.receive_json(timeout=10)
    assert "never runs code sent over the network" in msg["message"]
    await ws.send_json({"action": "launch"})
    assert (await ws.receive_json(timeout=10))["field"] == "action"
    await ws.send_str("not json")
    assert (await ws.receive_json(timeout=10))["type"] == "error"
    # nothing ran
    assert client.app[MANAGER].sessions == {}
    await ws.close()


async def test_seed_stream_disconnect_stops_its_run(client) -> None:  # noqa: ANN001
    ws = await client.ws_connect("/ws/backtest/stream")
    await ws.send_json({"action": "start_backtest", "config": {"symbol": "sample", "speed": 20}})
    await receive_until(ws, lambda m: m["type"] == "candle")
    manager = client.app[MANAGER]
    (session,) = manager.sessions.values()
    assert session.kind == "stream" and session.status == "running"
    await ws.close()
    await wait_for(lambda: session.ended)
    assert session.status == "stopped"
    assert session.bars_shown < 782
    assert session.log[-1]["type"] == "error" and session.log[-1]["message"] == "stopped"


# -- seed 003: sessions over HTTP, backtest_state_update broadcast --------------------------------

STATE_FIELDS = {
    "status": str,
    "currentCandleIndex": int,
    "totalCandles": int,
    "progressPercent": NUMBER,
    "currentCapital": NUMBER,
    "peakCapital": NUMBER,
    "drawdown": NUMBER,
    "openTrades": list,
    "recentSignals": list,
    "recentTrades": list,
    "metrics": dict,
}


def check_state(state: dict) -> None:
    """Every field of seed 003's state update, with its type."""
    for key, kind in STATE_FIELDS.items():
        assert isinstance(state[key], kind), key
    assert state["currentTime"] is None or state["currentTime"].endswith("Z")
    for key in ("totalTrades", "winningTrades", "losingTrades"):
        assert isinstance(state["metrics"][key], int)
    for key in ("winRate", "totalPnl"):
        assert isinstance(state["metrics"][key], NUMBER)
    assert 0 <= state["metrics"]["winRate"] <= 1
    assert isinstance(state["metrics"]["equityCurve"], list)
    assert state["drawdown"] == pytest.approx(state["peakCapital"] - state["currentCapital"])


async def test_seed_003_sessions_over_http_with_state_updates(aiohttp_client, tmp_path) -> None:  # noqa: ANN001
    client = await aiohttp_client(make_app(tmp_path, default_speed=400.0))
    ws = await client.ws_connect("/api/backtest/ws")
    body = {
        "symbol": "sample",
        "startDate": "2023-01-01",
        "endDate": "2024-01-01",
        "initialCapital": 10000,
        "positionSizePercent": 0.02,
        "maxOpenTrades": 3,
        "useStopOrders": True,
        "useTakeProfits": True,
    }
    created = await client.post("/api/backtest/create", json=body)
    assert created.status == 200
    session_id = (await created.json())["sessionId"]
    assert session_id.startswith("backtest-")
    listed = await (await client.get("/api/backtest")).json()
    assert [s["sessionId"] for s in listed] == [session_id]
    assert listed[0]["status"] == "idle"

    started = await client.post(f"/api/backtest/{session_id}/start")
    assert (await started.json()) == {"success": True, "sessionId": session_id, "status": "running"}
    paused = await client.post(f"/api/backtest/{session_id}/pause")
    assert (await paused.json())["status"] == "paused"
    first = (await (await client.get(f"/api/backtest/{session_id}")).json())["state"]
    await asyncio.sleep(0.2)
    again = (await (await client.get(f"/api/backtest/{session_id}")).json())["state"]
    assert first["currentCandleIndex"] == again["currentCandleIndex"]  # paused holds
    assert again["status"] == "paused"
    resumed = await client.post(f"/api/backtest/{session_id}/resume")
    assert (await resumed.json())["status"] == "running"
    assert (await client.post(f"/api/backtest/{session_id}/start")).status == 409

    updates = await receive_until(
        ws, lambda m: m["state"]["status"] in ("completed", "failed", "stopped")
    )
    for u in updates:
        assert u["type"] == "backtest_state_update" and u["sessionId"] == session_id
        check_state(u["state"])
    statuses = [u["state"]["status"] for u in updates]
    assert {"idle", "running", "paused", "completed"} <= set(statuses)
    indexes = [
        u["state"]["currentCandleIndex"] for u in updates if u["state"]["status"] == "running"
    ]
    assert len(indexes) > 5  # updates every 10 candles while running
    final = updates[-1]["state"]
    assert final["status"] == "completed"
    assert final["currentCandleIndex"] == final["totalCandles"] > 200
    assert final["progressPercent"] == 100.0
    expected = headless(start="2023-01-01", end="2024-01-01", cash=10000)
    assert final["finalMetrics"] == expected
    m = final["metrics"]
    assert m["totalTrades"] == expected["total_trades"]
    assert m["winningTrades"] == expected["winning_trades"]
    assert m["losingTrades"] == expected["losing_trades"]
    assert m["winRate"] == pytest.approx(expected["win_rate"] / 100)
    assert m["totalPnl"] == expected["net_profit"]
    assert final["currentCapital"] == expected["final_equity"]
    assert final["peakCapital"] == expected["peak_equity"]
    assert len(final["openTrades"]) == expected["open_trades"]
    assert final["recentTrades"] and final["recentSignals"]
    for t in final["recentTrades"]:
        assert {"id", "direction", "entryTime", "exitTime", "pnl", "exitReason"} <= set(t)

    # the inspected session, then gone
    shown = await (await client.get(f"/api/backtest/{session_id}")).json()
    assert shown["state"]["finalMetrics"] == expected
    assert (await client.delete(f"/api/backtest/{session_id}")).status == 200
    assert (await client.get(f"/api/backtest/{session_id}")).status == 404
    assert (await client.post("/api/backtest/nope/start")).status == 404
    bad = await client.post("/api/backtest/create", json={"symbol": "sample", "startDate": "soon"})
    assert bad.status == 400 and (await bad.json())["field"] == "startDate"
    await ws.close()


async def test_seed_003_stop_is_final_and_reported(client) -> None:  # noqa: ANN001
    created = await client.post(
        "/api/backtest/create", json={"symbol": "sample", "speed": 5, "initialCapital": 5000}
    )
    session_id = (await created.json())["sessionId"]
    await client.post(f"/api/backtest/{session_id}/start")
    stopped = await (await client.post(f"/api/backtest/{session_id}/stop")).json()
    assert stopped["status"] == "stopped"
    state = (await (await client.get(f"/api/backtest/{session_id}")).json())["state"]
    assert state["status"] == "stopped"
    assert state["currentCandleIndex"] < 782  # it stopped where it was, at 5 bars a second
    assert (await client.post(f"/api/backtest/{session_id}/resume")).status == 409


# -- seed 004: /api/backtesting/start and enveloped messages ---------------------------------------


async def test_seed_004_enveloped_stream(client) -> None:  # noqa: ANN001
    body = {
        "name": "Test Backtest",
        "symbol": "sample",
        "timeframes": ["1D"],
        "start_date": "2022-01-01",
        "end_date": "2024-12-31",
        "initial_capital": 10000,
        "strategy_ids": ["bollinger_breakout"],
        "risk_per_trade": 0.02,
    }
    response = await client.post("/api/backtesting/start", json=body)
    assert response.status == 200
    started = await response.json()
    assert started["status"] == "pending" and started["streaming"] is True
    assert "Test Backtest" in started["message"]
    backtest_id = started["backtest_id"]
    path = started["stream_url"].split(str(client.port), 1)[1]
    assert path == f"/api/ws/stream/backtest/{backtest_id}"

    ws = await client.ws_connect(path)
    messages = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    status = await (await client.get("/api/ws/stream/status")).json()
    assert status["active_connections"]["backtest"] == 1
    assert status["streams"] == [{"type": "backtest", "id": backtest_id, "connections": 1}]
    await ws.send_json({"type": "ping"})
    assert (await ws.receive_json(timeout=10))["type"] == "pong"
    await ws.close()

    for m in messages:
        assert set(m) == {"type", "timestamp", "data"} and m["timestamp"].endswith("Z")
    kinds = [m["type"] for m in messages]
    assert kinds[0] == "connected" and kinds[-1] == "complete"
    assert set(kinds) == {"connected", "progress", "trade", "equity", "metrics", "complete"}
    assert messages[0]["data"] == {
        "backtest_id": backtest_id,
        "message": "Connected to backtest stream",
    }
    progress = [m["data"] for m in messages if m["type"] == "progress"]
    assert len(progress) >= 7 and progress[-1]["progress"] == 100.0
    for p in progress:
        assert p["backtest_id"] == backtest_id and p["current_time"].endswith("Z")
        keys = ("balance", "open_positions", "total_trades", "winning_trades", "win_rate")
        for key in (*keys, "max_drawdown"):
            assert isinstance(p["metrics"][key], NUMBER), key
        assert p["metrics"]["max_drawdown"] <= 0 and 0 <= p["metrics"]["win_rate"] <= 1
    trades = [m["data"] for m in messages if m["type"] == "trade"]
    entries = [t for t in trades if t["event"] == "entry"]
    exits = [t for t in trades if t["event"] == "exit"]
    assert entries and exits
    for t in entries:
        assert t["trade_id"].startswith("trade_") and t["symbol"] == "sample"
        assert t["direction"] in ("long", "short") and isinstance(t["quantity"], NUMBER)
        assert isinstance(t["entry_price"], NUMBER) and t["entry_time"].endswith("Z")
        assert "stop_loss" in t and isinstance(t["take_profit_levels"], list)
        assert t["reasoning"]["decision"] == f"enter_{t['direction']}"
        assert t["reasoning"]["rationale"] and "confidence" in t["reasoning"]
    for t in exits:
        for key in ("exit_price", "pnl", "pnl_percent", "mfe", "mae", "entry_price"):
            assert isinstance(t[key], NUMBER), key
        assert t["exit_reason"] and t["exit_time"].endswith("Z")
    assert {t["trade_id"] for t in exits} <= {t["trade_id"] for t in entries}
    for e in (m["data"] for m in messages if m["type"] == "equity"):
        assert e["backtest_id"] == backtest_id and e["time"].endswith("Z")
        assert isinstance(e["equity"], NUMBER) and isinstance(e["balance"], NUMBER)
        assert e["drawdown"] <= 0
    for m in (m["data"] for m in messages if m["type"] == "metrics"):
        assert {
            "total_trades",
            "winning_trades",
            "win_rate",
            "profit_factor",
            "sharpe_ratio",
            "max_drawdown",
        } <= set(m)

    final = messages[-1]["data"]
    assert final["backtest_id"] == backtest_id
    expected = headless("bollinger_breakout", start="2022-01-01", end="2024-12-31", cash=10000)
    fm = final["metrics"]
    assert fm["total_trades"] == expected["total_trades"] == len(exits)
    assert fm["winning_trades"] == expected["winning_trades"]
    assert fm["losing_trades"] == expected["losing_trades"]
    assert fm["win_rate"] == expected["win_rate"] / 100
    assert fm["total_return"] == expected["total_return_pct"]
    assert fm["max_drawdown"] == -expected["max_drawdown"]
    for key in (
        "profit_factor",
        "sharpe_ratio",
        "average_win",
        "average_loss",
        "largest_win",
        "largest_loss",
        "total_commissions",
    ):
        assert fm[key] == expected[key], key


async def test_seed_004_late_viewer_gets_the_whole_run_and_unknown_id_errors(client) -> None:  # noqa: ANN001
    started = await (await client.post("/api/backtesting/start", json={"symbol": "sample"})).json()
    manager = client.app[MANAGER]
    session = manager.get(started["backtest_id"])
    await wait_for(lambda: session.ended)
    ws = await client.ws_connect(f"/api/ws/stream/backtest/{started['backtest_id']}")
    messages = await receive_until(ws, lambda m: m["type"] in ("complete", "error"))
    assert messages[-1]["type"] == "complete"
    assert (
        sum(1 for m in messages if m["type"] == "trade" and m["data"]["event"] == "exit")
        == (messages[-1]["data"]["metrics"]["total_trades"])
    )
    await ws.close()
    ws = await client.ws_connect("/api/ws/stream/backtest/backtest_20240211_123456")
    msg = await ws.receive_json(timeout=10)
    assert msg["type"] == "error" and "no backtest" in msg["data"]["error"]
    await ws.close()
    bad = await client.post(
        "/api/backtesting/start", json={"symbol": "sample", "strategy_ids": ["a", "b"]}
    )
    assert bad.status == 400 and (await bad.json())["field"] == "strategy_ids"
