"""Our own API under ``/api``: sessions over HTTP, one session's protocol v1 stream over a socket.

Routes (documented in ``docs/serve.md``; the OpenAPI description is ``GET /api/openapi.json``):
create, list, inspect, control (start, pause, resume, stop, step, seek, speed) and delete
sessions; list strategies; the server's status. ``/api/ws/sessions/{id}`` sends a
``connected`` frame, then every event of the session as protocol v1 frames (everything shown
so far first; ``?since=SEQ`` resumes after the event ``SEQ``; ``?batch=1`` sends JSON arrays
of events instead, one frame per move of the playhead), a ``resync`` frame when the session
seeks back, and ends after the session's final event.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from algotui.serve.config import API, ConfigError, FieldMap, parse_config
from algotui.serve.manager import LimitError, SessionManager
from algotui.serve.security import client_address, socket_auth
from algotui.serve.session import CommandError, Session, now_iso

MANAGER = web.AppKey("manager", SessionManager)
#: With ``?batch=1``, a frame carries at most this many events.
BATCH_EVENTS = 1000
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def error(status: int, message: str, field: str | None = None) -> web.Response:
    """A JSON error response ``{"error": ..., "field": ...}``."""
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


async def read_json(request: web.Request) -> Any:
    """The request's JSON body (an empty body is ``{}``); a ConfigError if it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise ConfigError("body", "not valid JSON") from None


def find(request: web.Request, protocol: str | None = None) -> Session:
    """The session named in the path (of ``protocol``, if given), or a 404."""
    session_id = request.match_info["id"]
    session = request.app[MANAGER].get(session_id) if SESSION_ID.match(session_id) else None
    if session is None or (protocol is not None and session.protocol != protocol):
        raise web.HTTPNotFound(
            text=dumps({"error": f"no session {session_id!r}"}), content_type="application/json"
        )
    return session


async def open_socket(request: web.Request) -> tuple[web.WebSocketResponse, bool]:
    """Accept a socket (frames capped, heartbeats on) and check its token if it still owes
    one: the socket, and False if it did not pass (it is closed then)."""
    settings = request.app[MANAGER].settings
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=settings.max_frame, compress=False)
    await ws.prepare(request)
    return ws, await socket_auth(ws, request, settings)


async def new_session(
    request: web.Request, fields: FieldMap, protocol: str, option: tuple[str, int]
) -> tuple[Session, int]:
    """A session from the request's JSON body in ``fields``' names, and the protocol's own
    whole-number ``option`` (name, default: 1..100000) taken out of the body first.
    Raises ConfigError or LimitError."""
    manager = request.app[MANAGER]
    body = await read_json(request)
    name, value = option
    if isinstance(body, dict) and name in body:
        value = body.pop(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            raise ConfigError(name, "give a whole number of candles, 1 to 100000")
    cfg = parse_config(
        body, fields, manager.settings.catalog, default_speed=manager.settings.default_speed
    )
    session = manager.create(cfg, owner=client_address(request), protocol=protocol)
    return session, value


async def create(request: web.Request) -> web.Response:
    manager = request.app[MANAGER]
    try:
        body = await read_json(request)
        start = False
        if isinstance(body, dict) and "autostart" in body:
            start = body.pop("autostart")
            if not isinstance(start, bool):
                raise ConfigError("autostart", "give true or false")
        cfg = parse_config(
            body, API, manager.settings.catalog, default_speed=manager.settings.default_speed
        )
        session = manager.create(cfg, owner=client_address(request))
    except ConfigError as exc:
        return error(400, str(exc), exc.field)
    except LimitError as exc:
        return error(429, str(exc))
    if start:
        session.start()
    return web.json_response(session.info(detail=True), status=201)


async def list_sessions(request: web.Request) -> web.Response:
    sessions = request.app[MANAGER].sessions.values()
    return web.json_response({"sessions": [s.info() for s in sessions]})


async def show(request: web.Request) -> web.Response:
    return web.json_response(find(request).info(detail=True))


async def delete(request: web.Request) -> web.Response:
    session = find(request)
    request.app[MANAGER].delete(session.id)
    return web.json_response({"id": session.id, "deleted": True})


async def command(request: web.Request) -> web.Response:
    session = find(request)
    action = request.match_info["action"]
    try:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise ConfigError("body", "send a JSON object")
        if action == "step":
            bars = _int_field(body, "bars", 1, 1, 1_000_000)
            _no_other(body, {"bars"})
            session.step(bars)
        elif action == "seek":
            if "bar" not in body:
                raise ConfigError("bar", "give the 0-based bar to show")
            bar = _int_field(body, "bar", 0, 0, 10_000_000)
            _no_other(body, {"bar"})
            session.seek(bar)
        else:
            _no_other(body, set())
            getattr(session, action)()
    except ConfigError as exc:
        return error(400, str(exc), exc.field)
    except CommandError as exc:
        return error(409, str(exc))
    return web.json_response(session.info())


async def speed(request: web.Request) -> web.Response:
    session = find(request)
    try:
        body = await read_json(request)
        if not isinstance(body, dict) or "speed" not in body:
            raise ConfigError("speed", 'give bars per second (0.1 to 50000) or "max"')
        _no_other(body, {"speed"})
        from algotui.serve.config import _speed

        session.set_speed(_speed("speed", body["speed"], None))  # type: ignore[arg-type]
    except ConfigError as exc:
        return error(400, str(exc), exc.field)
    except CommandError as exc:
        return error(409, str(exc))
    return web.json_response(session.info())


async def strategies(request: web.Request) -> web.Response:
    return web.json_response({"strategies": request.app[MANAGER].settings.catalog.entries()})


async def status(request: web.Request) -> web.Response:
    manager = request.app[MANAGER]
    by_status: dict[str, int] = {}
    streams = []
    for s in manager.sessions.values():
        by_status[s.status] = by_status.get(s.status, 0) + 1
        streams.append({"session_id": s.id, "status": s.status, "viewers": dict(s.viewers)})
    import time

    from algotui import __version__

    return web.json_response(
        {
            "version": __version__,
            "time": now_iso(),
            "uptime_seconds": round(time.monotonic() - manager.started, 3),
            "sessions": {
                "total": len(manager.sessions),
                "active": sum(by_status.get(k, 0) for k in ("created", "running", "paused")),
                "by_status": by_status,
            },
            "viewers": sum(sum(s["viewers"].values()) for s in streams),
            "streams": streams,
        }
    )


async def stream(request: web.Request) -> web.WebSocketResponse:
    session = find(request)
    since = request.query.get("since")
    try:
        first = int(since) + 1 if since is not None else 0
        if first < 0:
            raise ValueError
    except ValueError:
        raise web.HTTPBadRequest(
            text='{"error": "since: give the seq of the last event received"}',
            content_type="application/json",
        ) from None
    batched = request.query.get("batch") in ("1", "true")
    ws, ok = await open_socket(request)
    if not ok:
        return ws
    with viewer(session, "api"):
        await ws.send_str(
            dumps(
                {
                    "type": "connected",
                    "session_id": session.id,
                    "status": session.status,
                    "seq": session.summary.last_seq,
                }
            )
        )
        reader = _drain(ws)
        try:
            async for kind, events in _follow(session, first, reader):
                if kind == "resync":
                    await ws.send_str(
                        dumps(
                            {"type": "resync", "session_id": session.id, "bars": session.bars_shown}
                        )
                    )
                if batched:  # a JSON array of events per frame: far fewer frames at speed
                    for a in range(0, len(events), BATCH_EVENTS):
                        await ws.send_str(dumps(events[a : a + BATCH_EVENTS]))
                else:
                    for event in events:
                        await ws.send_str(dumps(event))
        except ConnectionResetError:
            pass
        finally:
            reader.cancel()
        if not ws.closed:
            await ws.close()
    return ws


async def _follow(session: Session, first: int, reader: Any) -> Any:
    """The session's updates until it ends or the viewer leaves."""
    import asyncio

    updates = session.follow(_position(session, first))
    while True:
        nxt = asyncio.ensure_future(anext(updates, None))
        done, _ = await asyncio.wait({nxt, reader}, return_when=asyncio.FIRST_COMPLETED)
        if nxt not in done:
            nxt.cancel()
            return
        item = nxt.result()
        if item is None:
            return
        yield item


def _position(session: Session, first_seq: int) -> int:
    """The log position of the first event with ``seq >= first_seq``."""
    for i, event in enumerate(session.log[: session.shown]):
        if event["seq"] >= first_seq:
            return i
    return session.shown


def _drain(ws: web.WebSocketResponse) -> Any:
    """A task that reads (and ignores) what the viewer sends; it ends when the viewer leaves."""
    import asyncio

    async def read() -> None:
        async for msg in ws:
            if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                return

    return asyncio.ensure_future(read())


class viewer:  # noqa: N801 - used as a context manager
    """Counts a connected viewer of ``protocol`` on the session while the block runs."""

    def __init__(self, session: Session, protocol: str) -> None:
        self.session = session
        self.protocol = protocol

    def __enter__(self) -> None:
        v = self.session.viewers
        v[self.protocol] = v.get(self.protocol, 0) + 1

    def __exit__(self, *_: object) -> None:
        v = self.session.viewers
        v[self.protocol] -= 1
        if not v[self.protocol]:
            del v[self.protocol]


def _int_field(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(name, f"give a whole number from {low} to {high:,}")
    return value


def _no_other(body: dict[str, Any], allowed: set[str]) -> None:
    for key in body:
        if key not in allowed:
            raise ConfigError(key, "unknown field")


def dumps(obj: Any) -> str:
    """JSON text of a message (numpy numbers as plain ones)."""
    return orjson.dumps(obj, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def add_routes(app: web.Application) -> None:
    """Our API's routes."""
    r = app.router
    r.add_post("/api/sessions", create)
    r.add_get("/api/sessions", list_sessions)
    r.add_get("/api/sessions/{id}", show)
    r.add_delete("/api/sessions/{id}", delete)
    r.add_post("/api/sessions/{id}/{action:start|pause|resume|stop|step|seek|finish}", command)
    r.add_patch("/api/sessions/{id}/speed", speed)
    r.add_get("/api/strategies", strategies)
    r.add_get("/api/status", status)
    r.add_get("/api/ws/sessions/{id}", stream)
