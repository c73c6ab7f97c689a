"""The bridge's HTTP + WebSocket server (aiohttp), on one port, in the caller's event loop.

Routes: ``GET /`` the browser viewer, ``GET /static/*`` its files, ``GET /ws`` the event
stream, ``GET /status`` counters. It runs through ``web.AppRunner``/``web.TCPSite`` in the
loop it is started from: no signal handlers are taken and nothing is logged (the terminal app
may own the screen; tokens must never reach a log).

Security: every command that changes the run needs the control token; reading needs the viewer
token when one is set; both are compared in constant time. Browsers are held to an Origin
allowlist (the server's own origin by default); inbound frames are capped at
:data:`MAX_INBOUND` bytes; each address may hold at most ``max_per_address`` connections.
"""

import asyncio
import hmac
import ipaddress
import logging
import socket
import time
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from aiohttp import WSMsgType, web

from algotui.net.hub import Hub, Viewer

#: Inbound WebSocket messages larger than this close the connection (code 1009).
MAX_INBOUND = 64 * 1024
#: Without any frame for this long, a viewer gets a ``heartbeat``.
HEARTBEAT_SECONDS = 5.0
#: WebSocket pings (aiohttp's ``heartbeat``): a dead peer is dropped after about this long.
PING_SECONDS = 20.0
#: Bytes the socket may buffer before a send waits (the writer task alone waits).
WRITE_LIMIT = 256 * 1024

#: The kernel's send buffer per viewer socket.
SEND_BUFFER = 256 * 1024

COMMANDS = ("pause", "resume", "step", "speed", "seek", "finish", "stop")

# aiohttp reports through `logging`; with no handler anywhere Python's last-resort handler
# would print over the app. A null handler keeps it quiet (nothing here logs a token anyway).
logging.getLogger("aiohttp").addHandler(logging.NullHandler())


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def same_token(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; False when either is missing."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def static_dir() -> Path:
    """The browser viewer's files inside the package."""
    return Path(str(resources.files("algotui.net") / "static"))


class BridgeServer:
    """Serves one :class:`Hub` over HTTP and WebSocket."""

    def __init__(
        self,
        hub: Hub,
        host: str = "127.0.0.1",
        port: int = 8765,
        *,
        control_token: str | None = None,
        viewer_token: str | None = None,
        allow_origins: tuple[str, ...] = (),
        max_per_address: int = 32,
        max_connections: int = 1024,
        heartbeat: float = HEARTBEAT_SECONDS,
    ) -> None:
        self.hub = hub
        self.host = host
        self.port = port
        self.control_token = control_token
        self.viewer_token = viewer_token
        self.allow_origins = tuple(o.rstrip("/").lower() for o in allow_origins)
        self.max_per_address = max_per_address
        self.max_connections = max_connections
        self.heartbeat = heartbeat
        self.connections: dict[str, int] = {}
        self.refused = 0
        self.malformed = 0
        self.started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sockets: set[web.WebSocketResponse] = set()

    # -- life ----------------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        """The aiohttp application (routes only; no middlewares, no logging)."""
        app = web.Application(client_max_size=MAX_INBOUND)
        app.router.add_get("/", self.index)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/status", self.status)
        app.router.add_static("/static/", static_dir(), show_index=False, follow_symlinks=False)
        return app

    async def start(self) -> str:
        """Listen; returns the ``http://`` URL (the port is known now, even for port 0)."""
        runner = web.AppRunner(
            self.make_app(), handle_signals=False, access_log=None, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        ticker = asyncio.create_task(self._heartbeats())
        self._tasks.add(ticker)
        addresses = runner.addresses
        if addresses:
            self.port = addresses[0][1]
        self.started = time.monotonic()
        return self.url

    async def _heartbeats(self) -> None:
        """A ``heartbeat`` to every viewer that was sent nothing for :attr:`heartbeat` s."""
        every = self.heartbeat
        while True:
            await asyncio.sleep(every / 4)
            now = time.monotonic()
            frame = None
            for viewer in self.hub.viewers:
                if not viewer.frames and now - viewer.last_push >= every:
                    frame = frame or self.hub.heartbeat()
                    viewer.push(frame)

    @property
    def url(self) -> str:
        """Where browsers go."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        for ws in list(self._sockets):
            await ws.close()
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- HTTP ----------------------------------------------------------------------------------

    async def index(self, request: web.Request) -> web.StreamResponse:
        """The browser viewer (it reads its tokens from the URL fragment, never sent here)."""
        return web.FileResponse(static_dir() / "index.html")

    async def status(self, request: web.Request) -> web.Response:
        """Viewers, events sent, drops and uptime, as JSON."""
        if self.viewer_token and not self._reader(request.query.get("token")):
            return web.json_response({"error": "a viewer token is needed"}, status=401)
        hub = self.hub.status()
        body = {
            "server": self.hub.server,
            "uptime_seconds": round(time.monotonic() - self.started, 3),
            "connections": sum(self.connections.values()),
            "refused": self.refused,
            "malformed": self.malformed,
            "streams": {hub["run_id"] or "run": hub},
        }
        return web.json_response(body, dumps=lambda o: orjson.dumps(o).decode())

    def _reader(self, token: str | None) -> bool:
        return same_token(token, self.viewer_token) or same_token(token, self.control_token)

    def origin_allowed(self, request: web.Request) -> bool:
        """No Origin (not a browser), the server's own origin, or one allowed by name."""
        origin = request.headers.get("Origin")
        if origin is None:
            return True
        origin = origin.rstrip("/").lower()
        if origin in self.allow_origins or "*" in self.allow_origins:
            return True
        parts = urlsplit(origin)
        return parts.scheme in ("http", "https") and parts.netloc == request.host.lower()

    # -- WebSocket -----------------------------------------------------------------------------

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """One viewer: checks, ``connected`` + snapshot, then live frames and its commands."""
        if not self.origin_allowed(request):
            self.refused += 1
            return web.Response(status=403, text="origin not allowed\n")
        token = request.query.get("token")
        control = same_token(token, self.control_token)
        if self.viewer_token and not (control or same_token(token, self.viewer_token)):
            self.refused += 1
            return web.Response(status=401, text="a viewer token is needed\n")
        peer = request.remote or "?"
        if (
            self.connections.get(peer, 0) >= self.max_per_address
            or sum(self.connections.values()) >= self.max_connections
        ):
            self.refused += 1
            return web.Response(status=429, text="too many connections from this address\n")
        since: int | None = None
        if "resume" in request.query:
            try:
                since = int(request.query["resume"])
            except ValueError:
                return web.Response(status=400, text="resume=SEQ needs an integer\n")
        ws = web.WebSocketResponse(
            heartbeat=PING_SECONDS,
            compress=False,
            max_msg_size=MAX_INBOUND,
            writer_limit=WRITE_LIMIT,
        )
        self.connections[peer] = self.connections.get(peer, 0) + 1
        viewer = Viewer(peer, can_control=control)
        writer: asyncio.Task[Any] | None = None
        try:
            await ws.prepare(request)
            _bound_send_buffer(request)
            self._sockets.add(ws)
            self.hub.join(viewer, since)
            writer = asyncio.create_task(self._write(ws, viewer))
            self._tasks.add(writer)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self.handle(viewer, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self._error(viewer, "malformed", "send JSON text frames, not binary")
                else:
                    break
        finally:
            self.hub.leave(viewer)
            self._sockets.discard(ws)
            if writer is not None:
                writer.cancel()
                self._tasks.discard(writer)
            left = self.connections.get(peer, 1) - 1
            if left:
                self.connections[peer] = left
            else:
                self.connections.pop(peer, None)
        return ws

    async def _write(self, ws: web.WebSocketResponse, viewer: Viewer) -> None:
        """The viewer's writer: its queue to its socket; a heartbeat when idle. Only this
        task waits on a slow socket."""
        hub = self.hub
        try:
            while not viewer.closed and not ws.closed:
                if viewer.resync is not None:
                    for frame in hub.take_resync(viewer):
                        await ws.send_frame(frame, WSMsgType.TEXT)
                    continue
                frame = viewer.pop()
                if frame is None:
                    await viewer.wait()
                    continue
                await ws.send_frame(frame, WSMsgType.TEXT)
        except (ConnectionError, RuntimeError, asyncio.CancelledError):
            pass  # the connection went away; the reader's finally cleans up

    def _error(self, viewer: Viewer, code: str, message: str, cid: Any = None) -> None:
        self.malformed += 1
        reply: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if cid is not None:
            reply["id"] = cid
        self.hub.reply(viewer, reply)

    def handle(self, viewer: Viewer, text: str) -> None:
        """One inbound message. Nothing a viewer sends can raise out of here."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._error(viewer, "malformed", "not JSON")
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            self._error(viewer, "malformed", "send a JSON object with a 'type'")
            return
        cid = msg.get("id")
        if not _plain_id(cid):
            cid = None
        try:
            self._dispatch(viewer, msg, cid)
        except Exception as exc:  # noqa: BLE001 - a viewer's frame must never end the server
            self._error(viewer, "malformed", f"cannot handle this message ({type(exc).__name__})")

    def _dispatch(self, viewer: Viewer, msg: dict[str, Any], cid: Any) -> None:
        kind = msg["type"]
        if kind == "resume":
            seq = msg.get("seq")
            if not isinstance(seq, int) or isinstance(seq, bool) or seq < -1:
                self._error(viewer, "malformed", "resume needs an integer seq >= -1", cid)
                return
            self.hub.resume(viewer, seq)
        elif kind == "snapshot":
            viewer.clear()
            self.hub.send_snapshot(viewer, "requested")
        elif kind == "control":
            self.control(viewer, msg, cid)
        elif kind == "ping":
            self.hub.reply(viewer, {"type": "pong", "id": cid, "seq": self.hub.seq})
        else:
            # Unknown types change nothing; the reply says so (the connection stays).
            self._error(viewer, "unknown_type", "unknown message type", cid)

    def control(self, viewer: Viewer, msg: dict[str, Any], cid: Any) -> None:
        """A command for the run: obeyed only from a viewer that gave the control token."""
        command = msg.get("command")
        if not viewer.can_control:
            self._error(viewer, "forbidden", "read-only: connect with the control token", cid)
            return
        controls = self.hub.controls
        if controls is None:
            self._error(viewer, "unsupported", "this stream cannot be controlled", cid)
            return
        try:
            self._obey(controls, command, msg)
        except (TypeError, ValueError) as exc:
            self._error(viewer, "malformed", str(exc), cid)
            return
        except NotImplementedError as exc:
            self._error(viewer, "unsupported", str(exc), cid)
            return
        reply = {"type": "ack", "id": cid, "command": command, **self.hub.controls_state()}
        self.hub.reply(viewer, reply)
        self.hub.check_controls()

    @staticmethod
    def _obey(controls: Any, command: Any, msg: dict[str, Any]) -> None:
        if command not in COMMANDS:
            raise ValueError(f"command must be one of {', '.join(COMMANDS)}")
        if command == "step":
            bars = msg.get("bars", 1)
            if not isinstance(bars, int) or isinstance(bars, bool) or not 1 <= bars <= 100_000:
                raise ValueError("step needs bars from 1 to 100000")
            controls.step(bars)
        elif command == "speed":
            speed = msg.get("speed")
            if speed is not None and (
                not isinstance(speed, int | float)
                or isinstance(speed, bool)
                or not 0.1 <= speed <= 50_000
            ):
                raise ValueError("speed needs bars/s from 0.1 to 50000, or null for max")
            controls.set_speed(None if speed is None else float(speed))
        elif command == "seek":
            bar = msg.get("bar")
            if not isinstance(bar, int) or isinstance(bar, bool) or bar < 0:
                raise ValueError("seek needs a bar index >= 0")
            seek = getattr(controls, "seek", None)
            if seek is None:
                raise NotImplementedError("this run cannot seek")
            seek(bar)
        else:
            getattr(controls, command)()


def _plain_id(cid: Any) -> bool:
    """A command id echoed back: a short string or a JSON-safe integer."""
    if isinstance(cid, str):
        return len(cid) <= 64
    return isinstance(cid, int) and not isinstance(cid, bool) and abs(cid) < 2**53


def _bound_send_buffer(request: web.Request) -> None:
    """Cap the kernel's send buffer of a viewer's socket, so that a viewer that stops reading
    is found lagging (and resynchronised) after a bounded amount, not after megabytes."""
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        except OSError:
            pass  # not every platform lets us; the queue bound still holds
