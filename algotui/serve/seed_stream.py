"""Seeds 000-002: ``ws://host/ws/backtest/stream/``, one backtest per ``start_backtest`` message.

The dashboard opens the socket and sends ``{"action": "start_backtest", "config": {...}}``; it
receives ``metadata`` (status ``loading_data``, then ``streaming_visualization`` with the bar
count), a ``candle`` per bar, a ``signal`` per entry and exit, ``stats`` as they change, and
``complete`` with the metrics, or ``error`` with a message. The run belongs to the socket: when
the dashboard disconnects, its run stops (it is kept, as stopped, for inspection).
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import WSMsgType, web

from algotui.serve.api import MANAGER, dumps, open_socket, viewer
from algotui.serve.config import ConfigError, FieldMap, parse_config
from algotui.serve.manager import LimitError
from algotui.serve.security import client_address
from algotui.serve.session import Session

FIELDS = FieldMap(
    "stream",
    aliases={
        "initial_balance": "cash",
        "initial_capital": "cash",
        "start_date": "start",
        "end_date": "end",
        "timeframe": "interval",
        "strategy_id": "strategy",
        "config": "params",
    },
    passthrough={"lot_size": float},
    informational={"indicators": dict, "id": (int, str)},
)

_CANDLE = ("timestamp", "open", "high", "low", "close", "volume", "bar_number", "progress")
_SIGNAL = ("timestamp", "action", "side", "price", "size", "pnl", "trade_id", "reason")
_STATS = ("total_trades", "winning_trades", "losing_trades", "pnl", "win_rate")


def translate(event: dict[str, Any], cfg: Any) -> dict[str, Any] | None:
    """The seed's message for one protocol v1 event (None: the seed has no such message)."""
    kind = event["type"]
    if kind == "candle":
        out = {"type": "candle", **{k: event[k] for k in _CANDLE}}
        out["indicators"] = event.get("indicators", {})
        return out
    if kind == "signal":
        return {"type": "signal", **{k: event.get(k) for k in _SIGNAL}}
    if kind == "stats":
        return {"type": "stats", **{k: event[k] for k in _STATS}}
    if kind == "metadata":
        return metadata(cfg, "streaming_visualization", event["total_bars"])
    if kind == "complete":
        return {"type": "complete", "total_bars": event["total_bars"], "metrics": event["metrics"]}
    if kind == "error":
        return {"type": "error", "message": event["message"]}
    return None


def metadata(cfg: Any, status: str, total_bars: int) -> dict[str, Any]:
    """The seed's ``metadata`` message."""
    return {
        "type": "metadata",
        "symbol": cfg.symbol,
        "period": cfg.period,
        "interval": cfg.interval,
        "status": status,
        "total_bars": total_bars,
        "total_trades": 0,
    }


async def handle(request: web.Request) -> web.WebSocketResponse:
    manager = request.app[MANAGER]
    settings = manager.settings
    ws, ok = await open_socket(request)
    if not ok:
        return ws
    session: Session | None = None
    import asyncio

    sender: asyncio.Task[None] | None = None
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                body = orjson.loads(msg.data)
            except orjson.JSONDecodeError:
                await _error(ws, 'not valid JSON: send {"action": "start_backtest", ...}')
                continue
            action = body.get("action") if isinstance(body, dict) else None
            if action == "ping" or (isinstance(body, dict) and body.get("type") == "ping"):
                await ws.send_str('{"type":"pong"}')
                continue
            if action == "stop_backtest":
                if session is not None:
                    session.stop("stopped by the dashboard")
                continue
            if action != "start_backtest":
                await _error(ws, f'unknown action {action!r}: send "start_backtest"', "action")
                continue
            if session is not None and not session.ended:
                await _error(ws, "a backtest is already running on this connection", "action")
                continue
            try:
                extra = set(body) - {"action", "config"}
                if extra:
                    raise ConfigError(sorted(extra)[0], "unknown field (send action and config)")
                cfg = parse_config(
                    body.get("config", {}),
                    FIELDS,
                    settings.catalog,
                    default_speed=settings.default_speed,
                )
                session = manager.create(
                    cfg, owner=client_address(request), kind="stream", protocol="stream"
                )
            except ConfigError as exc:
                await _error(ws, str(exc), exc.field)
                continue
            except LimitError as exc:
                await _error(ws, str(exc))
                continue
            await ws.send_str(dumps(metadata(cfg, "loading_data", 0)))
            session.start()
            sender = asyncio.ensure_future(_send(ws, session))
    finally:
        if sender is not None:
            sender.cancel()
        if session is not None and not session.ended:
            session.stop("the dashboard disconnected")
    return ws


async def _send(ws: web.WebSocketResponse, session: Session) -> None:
    with viewer(session, "stream"):
        try:
            async for kind, events in session.follow():
                if kind == "resync":  # the seed has no rewind: carry on from the new bar
                    continue
                for event in events:
                    message = translate(event, session.cfg)
                    if message is not None:
                        await ws.send_str(dumps(message))
        except ConnectionResetError:
            pass


async def _error(ws: web.WebSocketResponse, message: str, field: str | None = None) -> None:
    body: dict[str, Any] = {"type": "error", "message": message}
    if field is not None:
        body["field"] = field
    await ws.send_str(dumps(body))


def add_routes(app: web.Application) -> None:
    """The seed's socket, with and without the trailing slash."""
    app.router.add_get("/ws/backtest/stream/", handle)
    app.router.add_get("/ws/backtest/stream", handle)
