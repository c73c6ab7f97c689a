"""Seed 003: sessions over HTTP under ``/api/backtest``, state pushed as ``backtest_state_update``.

``POST /api/backtest/create`` (the seed's body: symbol, startDate, endDate, initialCapital, ...)
returns ``{"sessionId"}``; ``POST /:id/start|pause|resume|stop`` control it; ``GET /`` and
``GET /:id`` report sessions; ``DELETE /:id`` removes one. The seed's dashboard listens on a
socket to which the server broadcasts every session's state: every ``emitInterval`` candles
(10 by default), on every change of status, and on completion or failure. The seed does not
name the socket's path; this server serves it at ``/api/backtest/ws`` and ``/_ws`` (``?sessionId=``
narrows it to one session). A slow socket is sent only each session's latest state.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import WSMsgType, web

from algotui.serve.api import MANAGER, SESSION_ID, dumps, find, new_session, open_socket
from algotui.serve.config import ConfigError, FieldMap
from algotui.serve.manager import LimitError, SessionManager
from algotui.serve.session import CommandError, Session

PROTOCOL = "sessions"
FIELDS = FieldMap(
    "sessions",
    aliases={
        "startDate": "start",
        "endDate": "end",
        "initialCapital": "cash",
        "strategyId": "strategy",
        "closeAtEnd": "close_at_end",
    },
    passthrough={
        "positionSizePercent": float,
        "maxOpenTrades": int,
        "useStopOrders": bool,
        "useTakeProfits": bool,
    },
)
EMIT_INTERVAL = 10
#: The seed's status words for ours.
STATUS = {"created": "idle"}


def seed_status(session: Session) -> str:
    """The seed's word for the session's status."""
    return STATUS.get(session.status, session.status)


def _z(ts: str | None) -> str | None:
    return None if ts is None else ts + "Z"


def state(session: Session) -> dict[str, Any]:
    """The seed's ``state`` object."""
    s = session.summary
    initial = s.initial or session.cfg.cash
    equity = s.equity if s.equity is not None else initial
    peak = s.peak if s.peak is not None else equity
    stats = s.stats
    metrics = s.metrics
    out: dict[str, Any] = {
        "status": seed_status(session),
        "currentTime": _z(s.time),
        "currentCandleIndex": s.bars,
        "totalCandles": s.total_bars,
        "progressPercent": s.progress,
        "currentCapital": equity,
        "peakCapital": peak,
        "drawdown": peak - equity,
        "openTrades": [
            {
                "id": t["trade_id"],
                "direction": t["direction"],
                "entryTime": _z(t["entry_time"]),
                "entryPrice": t["entry_price"],
                "size": t["size"],
                "stopLoss": t["stop_loss"],
                "takeProfit": t["take_profit"],
                "reason": t["reason"],
            }
            for t in s.open_trades.values()
        ],
        "recentSignals": [
            {
                "time": _z(e["timestamp"]),
                "action": e["action"],
                "side": e["side"],
                "price": e["price"],
                "size": e["size"],
                "tradeId": e["trade_id"],
                "reason": e.get("reason"),
                "pnl": e.get("pnl"),
            }
            for e in list(s.signals)[-20:]
        ],
        "recentTrades": [
            {
                "id": t["trade_id"],
                "direction": t["direction"],
                "entryTime": _z(t["entry_time"]),
                "entryPrice": t["entry_price"],
                "exitTime": _z(t["exit_time"]),
                "exitPrice": t["exit_price"],
                "size": t["size"],
                "pnl": t["pnl"],
                "pnlPercent": t["pnl_percent"],
                "exitReason": t["exit_reason"],
            }
            for t in list(s.trades)[-20:]
        ],
        "metrics": {
            "totalTrades": (metrics or stats).get("total_trades", 0),
            "winningTrades": (metrics or stats).get("winning_trades", 0),
            "losingTrades": (metrics or stats).get("losing_trades", 0),
            "winRate": ((metrics or stats).get("win_rate") or 0.0) / 100,
            "totalPnl": metrics["net_profit"] if metrics else equity - initial,
            "equityCurve": [{"time": _z(p["timestamp"]), "equity": p["equity"]} for p in s.curve()],
        },
    }
    if metrics is not None:
        out["finalMetrics"] = metrics
    if s.error is not None:
        out["error"] = s.error["message"]
    return out


def describe(session: Session) -> dict[str, Any]:
    """A session as ``GET /api/backtest/:id`` shows it."""
    return {
        "sessionId": session.id,
        "status": seed_status(session),
        "config": session.cfg.to_dict(),
        "createdAt": session.created_at,
        "state": state(session),
    }


class Broadcaster:
    """Pushes ``backtest_state_update`` messages to every connected dashboard socket."""

    def __init__(self, manager: SessionManager) -> None:
        self.clients: set[_Client] = set()
        self.intervals: dict[str, int] = {}  # session id -> candles between updates
        self._sent: dict[str, tuple[int, str]] = {}  # session id -> (bars, status) last sent
        manager.watchers.append(self.changed)

    def changed(self, session: Session) -> None:
        if session.protocol != PROTOCOL:
            return
        bars, status = session.summary.bars, session.status
        last = self._sent.get(session.id)
        every = self.intervals.get(session.id, EMIT_INTERVAL)
        if last is not None and last[1] == status and bars - last[0] < every:
            return  # a status change (the final one included) always goes out
        self._sent[session.id] = (bars, status)
        if not self.clients:
            return
        text = dumps(
            {"type": "backtest_state_update", "sessionId": session.id, "state": state(session)}
        )
        for client in self.clients:
            client.offer(session.id, text)


class _Client:
    """One dashboard socket: the latest unsent state per session, sent as the socket drains."""

    def __init__(self, ws: web.WebSocketResponse, only: str | None) -> None:
        self.ws = ws
        self.only = only
        self.pending: dict[str, str] = {}
        self.ready = asyncio.Event()

    def offer(self, session_id: str, text: str) -> None:
        if self.only is None or self.only == session_id:
            self.pending[session_id] = text  # a newer state replaces one not yet sent
            self.ready.set()

    async def run(self) -> None:
        while not self.ws.closed:
            await self.ready.wait()
            self.ready.clear()
            pending, self.pending = self.pending, {}
            for text in pending.values():
                await self.ws.send_str(text)


BROADCASTER = web.AppKey("seed003", Broadcaster)


async def create(request: web.Request) -> web.Response:
    try:
        session, every = await new_session(
            request, FIELDS, PROTOCOL, ("emitInterval", EMIT_INTERVAL)
        )
    except ConfigError as exc:
        return web.json_response({"error": str(exc), "field": exc.field}, status=400)
    except LimitError as exc:
        return web.json_response({"error": str(exc)}, status=429)
    hub = request.app[BROADCASTER]
    hub.intervals[session.id] = every
    hub.changed(session)
    return web.json_response(
        {"sessionId": session.id, "status": seed_status(session), "config": session.cfg.to_dict()}
    )


async def list_all(request: web.Request) -> web.Response:
    sessions = request.app[MANAGER].sessions.values()
    return web.json_response([describe(s) for s in sessions if s.protocol == PROTOCOL])


async def show(request: web.Request) -> web.Response:
    return web.json_response(describe(find(request, PROTOCOL)))


async def control(request: web.Request) -> web.Response:
    session = find(request, PROTOCOL)
    action = request.match_info["action"]
    try:
        getattr(session, action)()
    except CommandError as exc:
        return web.json_response({"error": str(exc)}, status=409)
    return web.json_response(
        {"success": True, "sessionId": session.id, "status": seed_status(session)}
    )


async def delete(request: web.Request) -> web.Response:
    session = find(request, PROTOCOL)
    request.app[MANAGER].delete(session.id)
    request.app[BROADCASTER].intervals.pop(session.id, None)
    return web.json_response({"success": True, "sessionId": session.id})


async def socket(request: web.Request) -> web.WebSocketResponse:
    only = request.query.get("sessionId")
    if only is not None and not SESSION_ID.match(only):
        raise web.HTTPBadRequest(
            text='{"error": "sessionId: not a session id"}', content_type="application/json"
        )
    ws, ok = await open_socket(request)
    if not ok:
        return ws
    client = _Client(ws, only)
    hub = request.app[BROADCASTER]
    hub.clients.add(client)
    manager = request.app[MANAGER]
    for session in manager.sessions.values():  # the current state of each, at once
        if session.protocol == PROTOCOL:
            client.offer(
                session.id,
                dumps(
                    {
                        "type": "backtest_state_update",
                        "sessionId": session.id,
                        "state": state(session),
                    }
                ),
            )
    sender = asyncio.ensure_future(client.run())
    try:
        async for msg in ws:  # control goes over HTTP; anything sent here is read and dropped
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
    finally:
        hub.clients.discard(client)
        sender.cancel()
    return ws


def add_routes(app: web.Application) -> None:
    """The seed's routes and its broadcast socket."""
    app[BROADCASTER] = Broadcaster(app[MANAGER])
    r = app.router
    r.add_post("/api/backtest/create", create)
    r.add_get("/api/backtest", list_all)
    r.add_get("/api/backtest/", list_all)
    r.add_get("/api/backtest/ws", socket)
    r.add_get("/_ws", socket)
    r.add_get("/api/backtest/{id}", show)
    r.add_post("/api/backtest/{id}/{action:start|pause|resume|stop}", control)
    r.add_delete("/api/backtest/{id}", delete)
