"""The server's aiohttp application: our API, the three seed protocols, one port."""

from __future__ import annotations

from aiohttp import web

from algotui.serve import api, bridge_link, openapi, seed_envelopes, seed_sessions, seed_stream
from algotui.serve.manager import SessionManager, Settings
from algotui.serve.security import make_middleware


def create_app(settings: Settings) -> web.Application:
    """The application for ``settings``; its sessions stop when it shuts down."""
    app = web.Application(
        middlewares=[make_middleware(settings)], client_max_size=settings.max_body
    )
    manager = SessionManager(settings)
    app[api.MANAGER] = manager
    api.add_routes(app)
    bridge_link.add_routes(app)
    openapi.add_routes(app)
    seed_stream.add_routes(app)
    seed_sessions.add_routes(app)
    seed_envelopes.add_routes(app)

    async def on_startup(_: web.Application) -> None:
        manager.start_cleanup()

    async def on_shutdown(_: web.Application) -> None:
        manager.shutdown()

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app
