"""Running the server: bind, say where it listens, stop cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TextIO

from aiohttp import web

from algotui.errors import UserError
from algotui.serve.manager import Settings
from algotui.serve.security import is_loopback


def check_settings(settings: Settings) -> None:
    """Refuse an unsafe or impossible setup before binding (one-line errors)."""
    if not is_loopback(settings.host) and not settings.token:
        raise UserError(
            f"--host {settings.host}: a non-loopback address needs --token T "
            "(every route and socket then asks for it)"
        )
    if settings.token is not None and len(settings.token) < 8:
        raise UserError("--token: give at least 8 characters")
    if not 0 <= settings.port <= 65535:
        raise UserError(f"--port {settings.port}: give 0..65535")
    d = settings.strategies_dir
    if d is not None and not d.is_dir():
        raise UserError(f"--strategies-dir {d}: no such directory")
    for origin in settings.allow_origins:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise UserError(f"--allow-origin {origin!r}: give an origin like http://localhost:5173")
    if settings.keep_minutes < 0:
        raise UserError("--keep-minutes: give 0 or more")


def urls(host: str, port: int) -> list[tuple[str, str]]:
    """What the server prints: each protocol's address."""
    shown = f"[{host}]" if ":" in host else host
    base = f"{shown}:{port}"
    return [
        ("API", f"http://{base}/api  (OpenAPI: http://{base}/api/openapi.json)"),
        ("session socket", f"ws://{base}/api/ws/sessions/{{id}}"),
        ("seeds 000-002", f"ws://{base}/ws/backtest/stream/"),
        ("seed 003", f"http://{base}/api/backtest  (socket ws://{base}/api/backtest/ws)"),
        (
            "seed 004",
            f"http://{base}/api/backtesting/start  "
            f"(socket ws://{base}/api/ws/stream/backtest/{{id}})",
        ),
    ]


def serve(settings: Settings, out: TextIO | None = None) -> int:
    """Run until Ctrl-C or SIGTERM; running sessions stop and are stored as stopped."""
    check_settings(settings)
    return asyncio.run(_serve(settings, out or sys.stdout))


async def _serve(settings: Settings, out: TextIO) -> int:
    from algotui.serve.app import create_app
    from algotui.serve.engine import warm_up

    warm_up()  # children fork with the engine imported and the sample read
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        where = f"{settings.host}:{settings.port}"
        raise UserError(f"cannot listen on {where}: {exc.strerror}") from None
    port = settings.port
    server = site._server  # the bound port, when 0 asked for any free one
    if server is not None and server.sockets:
        port = server.sockets[0].getsockname()[1]
    print(f"algotui serve: listening on {settings.host}:{port}", file=out)
    for label, url in urls(settings.host, port):
        print(f"  {label:<15} {url}", file=out)
    auth = "token required" if settings.token else "no token (loopback)"
    print(f"  {auth}; Ctrl-C stops (running sessions are stored as stopped)", file=out)
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        print("algotui serve: stopping", file=out)
        out.flush()
        await runner.cleanup()
    return 0
