"""Seed 004: ``POST /api/backtesting/start`` and ``ws://host/api/ws/stream/backtest/{id}``.

Every message is an envelope ``{"type", "timestamp", "data"}``: ``connected`` on joining, then
``progress`` every ``progress_interval`` candles (100 by default) and at the end, ``trade`` on
each entry (with its reasoning) and exit, ``equity`` as the engine marks it, ``metrics`` every
fifth progress and before ``complete``, and ``complete`` with the final metrics, or ``error``.
The run is a session: it goes on when a viewer leaves, and a viewer that joins late is sent
the run from its start. ``GET /api/ws/stream/status`` counts the viewers per stream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from algotui.serve.api import MANAGER, SESSION_ID, dumps, new_session, open_socket, viewer
from algotui.serve.config import ConfigError, FieldMap
from algotui.serve.manager import LimitError
from algotui.serve.session import Session, now_iso
from algotui.serve.summary import RunSummary

PROTOCOL = "envelopes"
FIELDS = FieldMap(
    "envelopes",
    aliases={
        "timeframes": "interval",
        "start_date": "start",
        "end_date": "end",
        "initial_capital": "cash",
        "strategy_ids": "strategy",
    },
    passthrough={"risk_per_trade": float},
)
PROGRESS_INTERVAL = 100
METRICS_EVERY = 5  # progress messages per live metrics message


def envelope(kind: str, data: dict[str, Any]) -> str:
    """One message as JSON text."""
    return dumps({"type": kind, "timestamp": now_iso(), "data": data})


def _z(ts: str | None) -> str | None:
    return None if ts is None else ts + "Z"


class Translator:
    """Turns one viewer's protocol v1 events into the seed's envelopes (it folds its own
    summary, so every number matches the events the viewer was sent)."""

    def __init__(self, session: Session, every: int) -> None:
        self.id = session.id
        self.symbol = session.cfg.symbol
        self.every = every
        self.s = RunSummary()
        self.progress_sent = 0

    def messages(self, event: dict[str, Any]) -> list[str]:
        s = self.s
        s.apply([event])
        kind = event["type"]
        out: list[str] = []
        if kind == "candle":
            if s.bars % self.every == 0:
                out.append(self.progress())
                if self.progress_sent % METRICS_EVERY == 0:
                    out.append(envelope("metrics", self.metrics()))
        elif kind == "signal" and event["action"] == "ENTRY":
            out.append(envelope("trade", self.entry(event)))
        elif kind == "trade":
            out.append(envelope("trade", self.exit(event)))
        elif kind == "equity":
            out.append(
                envelope(
                    "equity",
                    {
                        "backtest_id": self.id,
                        "time": _z(event["timestamp"]),
                        "equity": event["equity"],
                        "balance": s.initial + s.realized,
                        "drawdown": -(event.get("drawdown") or 0.0) / 100,
                    },
                )
            )
        elif kind == "complete":
            out.append(envelope("metrics", self.metrics()))
            if s.bars % self.every:
                out.append(self.progress())
            out.append(
                envelope("complete", {"backtest_id": self.id, "metrics": final(event["metrics"])})
            )
        elif kind == "error":
            out.append(
                envelope(
                    "error",
                    {
                        "error": event["message"],
                        "details": {
                            "backtest_id": self.id,
                            "symbol": self.symbol,
                            "traceback": event.get("details") or None,
                        },
                    },
                )
            )
        return out

    def progress(self) -> str:
        s = self.s
        self.progress_sent += 1
        return envelope(
            "progress",
            {
                "backtest_id": self.id,
                "progress": s.progress,
                "current_time": _z(s.time),
                "metrics": {
                    "balance": s.initial + s.realized,
                    "equity": s.equity,
                    "open_positions": len(s.open_trades),
                    "total_trades": s.stats.get("total_trades", 0),
                    "winning_trades": s.stats.get("winning_trades", 0),
                    "win_rate": (s.stats.get("win_rate") or 0.0) / 100,
                    "max_drawdown": -s.max_drawdown_pct / 100,
                },
            },
        )

    def metrics(self) -> dict[str, Any]:
        s = self.s
        m = s.metrics
        if m is not None:
            body = final(m)
            keep = ("total_trades", "winning_trades", "win_rate", "profit_factor", "sharpe_ratio")
            out = {k: body[k] for k in keep}
            out["max_drawdown"] = -m["max_drawdown"] / 100
        else:
            out = {
                "total_trades": s.stats.get("total_trades", 0),
                "winning_trades": s.stats.get("winning_trades", 0),
                "win_rate": (s.stats.get("win_rate") or 0.0) / 100,
                "profit_factor": s.profit_factor(),
                "sharpe_ratio": None,  # known once the run ends
                "max_drawdown": -s.max_drawdown_pct / 100,
            }
        return {"backtest_id": self.id, **out}

    def entry(self, e: dict[str, Any]) -> dict[str, Any]:
        direction = e.get("direction") or ("long" if e["side"] == "BUY" else "short")
        tp = e.get("take_profit")
        return {
            "event": "entry",
            "trade_id": f"trade_{e['trade_id']}",
            "symbol": self.symbol,
            "direction": direction,
            "entry_price": e["price"],
            "entry_time": _z(e["timestamp"]),
            "quantity": e["size"],
            "stop_loss": e.get("stop_loss"),
            "take_profit_levels": [] if tp is None else [tp],
            "reasoning": {
                "decision": f"enter_{direction}",
                "confidence": None,  # the engine's strategies give reasons, not confidences
                "rationale": e.get("reason") or "",
            },
        }

    def exit(self, t: dict[str, Any]) -> dict[str, Any]:
        return {
            "event": "exit",
            "trade_id": f"trade_{t['trade_id']}",
            "symbol": self.symbol,
            "direction": t["direction"],
            "entry_price": t["entry_price"],
            "entry_time": _z(t["entry_time"]),
            "exit_price": t["exit_price"],
            "exit_time": _z(t["exit_time"]),
            "exit_reason": t["exit_reason"],
            "quantity": t["size"],
            "pnl": t["pnl"],
            "pnl_percent": t["pnl_percent"],
            "mfe": t.get("mfe"),
            "mae": t.get("mae"),
        }


def final(m: dict[str, Any]) -> dict[str, Any]:
    """The seed's ``complete`` metrics from the engine's (units as the seed's example)."""
    return {
        "total_trades": m["total_trades"],
        "winning_trades": m["winning_trades"],
        "losing_trades": m["losing_trades"],
        "win_rate": m["win_rate"] / 100,
        "profit_factor": m["profit_factor"],
        "total_return": m["total_return_pct"],
        "max_drawdown": -m["max_drawdown"],
        "sharpe_ratio": m["sharpe_ratio"],
        "average_win": m["average_win"],
        "average_loss": m["average_loss"],
        "largest_win": m["largest_win"],
        "largest_loss": m["largest_loss"],
        "total_commissions": m["total_commissions"],
        "net_profit": m["net_profit"],
        "final_equity": m["final_equity"],
    }


INTERVALS = web.AppKey("seed004_intervals", dict)


async def start(request: web.Request) -> web.Response:
    try:
        session, every = await new_session(
            request, FIELDS, PROTOCOL, ("progress_interval", PROGRESS_INTERVAL)
        )
    except (ConfigError, LimitError) as exc:
        body = {"detail": str(exc), "error": str(exc)}
        if isinstance(exc, ConfigError):
            body["field"] = exc.field
        return web.json_response(body, status=400 if isinstance(exc, ConfigError) else 429)
    request.app[INTERVALS][session.id] = every
    session.start()
    scheme = "wss" if request.secure else "ws"
    label = session.cfg.name or session.id
    return web.json_response(
        {
            "backtest_id": session.id,
            "status": "pending",
            "streaming": True,
            "stream_url": f"{scheme}://{request.host}/api/ws/stream/backtest/{session.id}",
            "message": f"Backtest '{label}' queued. Connect to WebSocket for real-time updates.",
        }
    )


async def stream(request: web.Request) -> web.WebSocketResponse:
    manager = request.app[MANAGER]
    backtest_id = request.match_info["id"]
    session = manager.get(backtest_id) if SESSION_ID.match(backtest_id) else None
    ws, ok = await open_socket(request)
    if not ok:
        return ws
    if session is None:
        await ws.send_str(
            envelope(
                "error",
                {"error": f"no backtest {backtest_id!r}", "details": {"backtest_id": backtest_id}},
            )
        )
        await ws.close(code=4404, message=b"no such backtest")
        return ws
    await ws.send_str(
        envelope(
            "connected", {"backtest_id": session.id, "message": "Connected to backtest stream"}
        )
    )
    every = request.app[INTERVALS].get(session.id, PROGRESS_INTERVAL)
    sender = asyncio.ensure_future(_send(ws, session, every))
    counted = viewer(session, PROTOCOL)  # a connection counts while it is open
    counted.__enter__()
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                continue
            if isinstance(body, dict) and body.get("type") == "ping":
                await ws.send_str(envelope("pong", {}))
    finally:
        counted.__exit__()
        sender.cancel()
    return ws


async def _send(ws: web.WebSocketResponse, session: Session, every: int) -> None:
    translator = Translator(session, every)
    try:
        async for kind, events in session.follow():
            if kind == "resync":  # the seed has no rewind: carry on from the new bar
                continue
            for event in events:
                for text in translator.messages(event):
                    await ws.send_str(text)
    except ConnectionResetError:
        pass


async def stream_status(request: web.Request) -> web.Response:
    streams = []
    for s in request.app[MANAGER].sessions.values():
        count = sum(s.viewers.values())
        if count:
            streams.append({"type": "backtest", "id": s.id, "connections": count})
    total = sum(x["connections"] for x in streams)
    return web.json_response(
        {
            "timestamp": now_iso(),
            "active_connections": {
                "backtest": total,
                "live_trading": 0,
                "market_data": 0,
                "total": total,
            },
            "streams": streams,
        }
    )


def add_routes(app: web.Application) -> None:
    """The seed's routes."""
    app[INTERVALS] = {}
    r = app.router
    r.add_post("/api/backtesting/start", start)
    r.add_get("/api/ws/stream/backtest/{id}", stream)
    r.add_get("/api/ws/stream/status", stream_status)
