"""The command line's three doors into the bridge (the one place that builds players for it).

``algotui run --serve``, ``algotui replay --serve`` and ``algotui view`` each call one function
here; when the app's or the player's wiring changes, these are what to re-point.
"""

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from algotui.net.session import ServeOptions, play_serving, serve


def serve_backtest(
    bt: Any,
    options: ServeOptions,
    speed: float | None,
    *,
    interactive: bool,
    record: Path | None = None,
    paused: bool = False,
    theme: str | None = None,
    as_json: bool = False,
) -> int:
    """``algotui run --serve``: in the app, or headless (with ``--record``) at ``speed``."""
    from algotui.run.headless import failure_code, print_summary, report_failure
    from algotui.run.player import Player
    from algotui.run.process import EngineProcess, can_fork

    source = EngineProcess(bt) if can_fork() else bt.stream()
    player = Player(source, speed=speed)
    if interactive:
        code = play_serving(player, lambda: bt.codec, options, theme, paused)
        if bt.status == "failed":
            report_failure(bt, sys.stderr)
            code = failure_code(bt)
        return code
    if paused:
        player.pause()

    def on_end() -> int:
        if bt.status == "failed":
            report_failure(bt, sys.stderr)
            return failure_code(bt)
        if as_json:
            import json

            print(json.dumps(bt.metrics or {}, allow_nan=False), flush=True)
        else:
            print_summary(bt, bt.metrics or {}, sys.stdout, record)
        return 0

    return serve(player, lambda: bt.codec, options, record=record, run_id=bt.run_id, on_end=on_end)


def serve_replay(
    events: Iterable[dict[str, Any]],
    options: ServeOptions,
    speed: float | None,
    *,
    interactive: bool,
    paused: bool = False,
    theme: str | None = None,
) -> int:
    """``algotui replay --serve``: a recording played in the app, or headless, and served."""
    from algotui.run.player import Player

    player = Player(events, speed=speed)
    if interactive:
        return play_serving(player, lambda: None, options, theme, paused)
    if paused:
        player.pause()
    return serve(player, lambda: None, options)


def view_remote(url: str, token: str | None, theme: str | None) -> int:
    """``algotui view``: the app fed by a bridge server's stream, driven through it."""
    import asyncio

    from algotui.net.apps import RemoteApp
    from algotui.net.client import RemoteRun, probe

    hello = asyncio.run(probe(url, token))
    remote = RemoteRun(url, token)
    if token and not hello.get("control"):
        print("algotui: the token is a viewer token: watching read-only", file=sys.stderr)
    app = RemoteApp(remote, theme=theme)
    try:
        result = app.run()
    finally:
        remote.stop()
    if remote.failure is not None and isinstance(remote.failure, ConnectionRefusedError):
        print(f"algotui: error: {remote.failure}", file=sys.stderr)
        return 2
    return app.return_code or result or 0
