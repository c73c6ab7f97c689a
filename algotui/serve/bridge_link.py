"""A session in the bridge's protocol, so ``algotui view`` can watch (and drive) it.

``/api/ws/sessions/{id}/bridge`` serves a session through the WebSocket bridge's own hub
(:mod:`algotui.net`): ``connected``, a snapshot of the run as shown so far, batched event
frames, ``resume``, control commands and resynchronisation, exactly as ``algotui run --serve``
does. The session feeds its hub what its playhead shows; a seek back gives the hub a fresh
state and every bridge viewer a ``resync`` and a new snapshot. Control commands are obeyed
from viewers that gave the server's ``--token`` (without one, bridge viewers watch only; the
HTTP routes control the session). Kept in one module: the bridge is built beside the server
and this is the only place that knows its interface. Where :mod:`algotui.net` is not
installed the route answers 404.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from algotui.serve.api import MANAGER, find, viewer
from algotui.serve.manager import Settings
from algotui.serve.session import Session


def available() -> bool:
    """True where the bridge (:mod:`algotui.net`) is installed."""
    try:
        import algotui.net.hub  # noqa: F401
        import algotui.net.server  # noqa: F401
    except ImportError:
        return False
    return True


class SessionBridge:
    """One session's hub and the bridge's socket handler for it."""

    def __init__(self, session: Session, settings: Settings) -> None:
        from algotui.net.server import BridgeServer

        self.session = session
        self.server = BridgeServer(
            self._new_hub(),
            control_token=settings.token,
            allow_origins=settings.allow_origins,
            max_per_address=settings.max_per_client * 4,
        )
        self.sent = 0
        self.epoch = session.epoch
        self.update()
        self.server.hub.flush()  # the first viewer's snapshot holds what was shown already

    def _new_hub(self) -> Any:
        from algotui.net.hub import Hub

        return Hub(server="algotui serve", controls=self.session)

    def update(self) -> None:
        """Give the hub what the session shows now (called on every change of the session)."""
        s = self.session
        hub = self.server.hub
        if s.epoch != self.epoch:  # moved back: a fresh state, and every viewer starts over
            self.epoch = s.epoch
            fresh = self._new_hub()
            fresh.publish(s.log[: s.shown])
            fresh.flush()
            for v in list(hub.viewers):
                hub.viewers.discard(v)
                fresh.viewers.add(v)
                v.clear()
                fresh.send_snapshot(v, "seek")
            self.server.hub = fresh
            self.sent = s.shown
        elif s.shown > self.sent:
            hub.publish(s.log[self.sent : s.shown])
            self.sent = s.shown
        self.server.hub.check_controls()


BRIDGES = web.AppKey("session_bridges", dict)


async def socket(request: web.Request) -> web.StreamResponse:
    session = find(request)
    bridges: dict[str, SessionBridge] = request.app[BRIDGES]
    link = bridges.get(session.id)
    if link is None:
        link = bridges[session.id] = SessionBridge(session, request.app[MANAGER].settings)
    with viewer(session, "bridge"):
        return await link.server.websocket(request)


def add_routes(app: web.Application) -> None:
    """``/api/ws/sessions/{id}/bridge`` where the bridge is installed."""
    if not available():
        return
    bridges: dict[str, SessionBridge] = {}
    app[BRIDGES] = bridges
    manager = app[MANAGER]

    def changed(session: Session) -> None:
        link = bridges.get(session.id)
        if link is not None:
            link.update()
        if session.id not in manager.sessions:  # deleted: nothing more will come
            bridges.pop(session.id, None)

    manager.watchers.append(changed)
    app.router.add_get("/api/ws/sessions/{id}/bridge", socket)
