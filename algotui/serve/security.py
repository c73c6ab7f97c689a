"""Who may talk to the server: the token, the browser's origin, and the size of what they send.

On a loopback address with no token the server trusts the local user (the seed dashboards
work as they are). A browser, though, may be made to send requests by any page it shows, so a
request carrying an ``Origin`` header must come from the server's own origin or one allowed
with ``--allow-origin``. With a token (required off loopback) every route and every socket
must present it: ``Authorization: Bearer T``, ``?token=T``, or, for a socket, a first message
``{"token": "T"}``. Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable

from aiohttp import web

from algotui.serve.manager import Settings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: Set on a socket request that still has to show its token in its first message.
AUTH_PENDING = web.RequestKey("auth_pending", bool)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_ok(given: str | None, token: str) -> bool:
    """Constant-time comparison of a presented token."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def presented_token(request: web.Request) -> str | None:
    """The token a request shows in its header or query, if any."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return request.query.get("token")


def client_address(request: web.Request) -> str:
    """The peer's address (the unit of the per-client session limit)."""
    return request.remote or "unknown"


def origin_allowed(request: web.Request, settings: Settings) -> bool:
    """True without an Origin header, or for the server's own origin or an allowed one."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    if origin in settings.allow_origins or "*" in settings.allow_origins:
        return True
    own = {f"http://{request.host}", f"https://{request.host}"}
    return origin in own


def make_middleware(settings: Settings) -> Callable:
    """The middleware that applies origin and token rules to every route and socket."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not origin_allowed(request, settings):
            return _refuse(403, "this origin may not use the server (see --allow-origin)")
        cors = _cors_headers(request, settings)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            return web.Response(status=204, headers=cors)
        if settings.token is not None:
            given = presented_token(request)
            is_socket = request.headers.get("Upgrade", "").lower() == "websocket"
            if given is None and is_socket:
                request[AUTH_PENDING] = True  # the socket's first message must carry it
            elif not token_ok(given, settings.token):
                return _refuse(401, "missing or wrong token (Authorization: Bearer TOKEN)")
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            exc.headers.update(cors)
            raise
        if not response.prepared:
            response.headers.update(cors)
        return response

    return guard


def _cors_headers(request: web.Request, settings: Settings) -> dict[str, str]:
    origin = request.headers.get("Origin")
    if origin is None or not settings.allow_origins:
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, PATCH, DELETE, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Vary": "Origin",
    }


def _refuse(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def socket_auth(ws: web.WebSocketResponse, request: web.Request, settings: Settings) -> bool:
    """For a socket still owing its token: read the first message and check it (5 s at most).
    Closes the socket with 4401 and returns False if it does not pass."""
    if not request.get(AUTH_PENDING):
        return True
    assert settings.token is not None
    try:
        msg = await ws.receive_json(timeout=5.0)
        given = msg.get("token") if isinstance(msg, dict) else None
    except (TypeError, ValueError, TimeoutError):
        given = None
    if token_ok(given, settings.token):
        return True
    await ws.send_json({"type": "error", "message": "missing or wrong token"})
    await ws.close(code=4401, message=b"unauthorized")
    return False
