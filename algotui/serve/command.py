"""``algotui serve``: the command line of the backtest server (its options, checked)."""

from pathlib import Path
from typing import Annotated

import typer

from algotui.errors import UserError


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on (loopback by default).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    strategies_dir: Annotated[
        Path | None, typer.Option(help="Strategy files clients may name (none by default).")
    ] = None,
    token: Annotated[
        str | None, typer.Option(help="Required of every request (needed off loopback).")
    ] = None,
    allow_origin: Annotated[
        list[str] | None,
        typer.Option(help="A browser origin allowed besides the server's own (repeatable)."),
    ] = None,
    keep_minutes: Annotated[
        float, typer.Option(help="Keep finished sessions this long for inspection.")
    ] = 60.0,
    max_sessions: Annotated[int, typer.Option(help="Active sessions in all.")] = 64,
    max_per_client: Annotated[int, typer.Option(help="Active sessions per client address.")] = 8,
    speed: Annotated[str, typer.Option(help="Default pace of a session: bars/s, or max.")] = "20",
    results_dir: Annotated[
        Path | None, typer.Option(help="Where each session's recording is written.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="The results store sessions are saved to.")
    ] = None,
) -> None:
    """Serve backtest sessions over HTTP and WebSocket: our API and three dashboards' protocols."""
    from algotui.serve.manager import Settings
    from algotui.serve.server import serve as run_server

    if results_dir is None:
        from platformdirs import user_data_path

        results_dir = user_data_path("algotui") / "sessions"
    if max_sessions < 1 or max_per_client < 1:
        raise UserError("--max-sessions and --max-per-client: give at least 1")
    settings = Settings(
        host=host,
        port=port,
        token=token,
        strategies_dir=strategies_dir,
        allow_origins=tuple(allow_origin or ()),
        keep_minutes=keep_minutes,
        max_sessions=max_sessions,
        max_per_client=max_per_client,
        default_speed=_speed(speed),
        results_dir=results_dir,
        db=db,
    )
    raise typer.Exit(run_server(settings))


def _speed(text: str) -> float | None:
    from algotui.cli import parse_speed

    return parse_speed(text)
