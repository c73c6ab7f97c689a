"""Wiring a run to the bridge: where the player's events meet the hub (one place to re-point).

``algotui run --serve`` and ``algotui replay --serve`` call :func:`serve` (headless, paced by a
:class:`~algotui.run.player.Player` in a thread) or :func:`play_serving` (the terminal app
with the server in the app's own event loop). Remote commands go to the player (headless) or
to the app's own controls (the player with the app's run state); the player's drained records
become protocol v1 dicts in :func:`to_dicts`.
"""

import asyncio
import secrets
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from algotui import __version__
from algotui.errors import UserError
from algotui.net.hub import Hub
from algotui.net.server import BridgeServer, is_loopback
from algotui.protocol.encode import Encoder
from algotui.protocol.records import Candles
from algotui.run.player import Player

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
#: How often a headless server drains the player (its events' longest wait before the hub).
PUMP_SECONDS = 0.01


@dataclass
class ServeOptions:
    """Where and how to serve: ``--serve``, ``--control-token``, ``--viewer-token``,
    ``--allow-origin``."""

    host: str
    port: int
    control_token: str
    viewer_token: str | None = None
    allow_origins: tuple[str, ...] = ()


def parse_serve(
    text: str,
    control_token: str | None = None,
    viewer_token: str | None = None,
    allow_origins: list[str] | None = None,
) -> ServeOptions:
    """``[HOST:]PORT`` and the tokens; a non-loopback bind without a viewer token is refused."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = DEFAULT_HOST, text
    host = host.strip("[]") or DEFAULT_HOST
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UserError(f"--serve {text!r}: give [HOST:]PORT, e.g. --serve 8765 or 127.0.0.1:8765")
    for name, token in (("--control-token", control_token), ("--viewer-token", viewer_token)):
        if token is not None and len(token) < 8:
            raise UserError(f"{name}: use at least 8 characters (or omit it for a random one)")
    if not is_loopback(host) and not viewer_token:
        raise UserError(
            f"--serve {text}: {host} is reachable from other machines; "
            "give --viewer-token (and --control-token) or serve on 127.0.0.1"
        )
    return ServeOptions(
        host,
        port,
        control_token or secrets.token_urlsafe(18),
        viewer_token,
        tuple(allow_origins or ()),
    )


def announce(url: str, options: ServeOptions) -> str:
    """The one line that tells the user where to look and how to take control."""
    ws = "ws" + url[4:].rstrip("/")
    return (
        f"algotui: serving at {url}#token={options.control_token}  "
        f"(terminal: algotui view {ws} --token {options.control_token})"
    )


def to_dicts(items: list[Any], encoder: Encoder) -> list[dict[str, Any]]:
    """The player's drained records as protocol v1 dicts (a batch of candles gives one dict
    per candle); dicts pass as they are."""
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, Candles):
            out.extend(encoder.candle_dicts(item))
        else:
            out.append(encoder.to_dict(item))
    return out


def make_server(options: ServeOptions, controls: Any) -> BridgeServer:
    """A hub for one run, behind a server with the user's options."""
    hub = Hub(server=f"algotui {__version__}", controls=controls)
    return BridgeServer(
        hub,
        options.host,
        options.port,
        control_token=options.control_token,
        viewer_token=options.viewer_token,
        allow_origins=options.allow_origins,
    )


async def start(server: BridgeServer, options: ServeOptions) -> str:
    """Listen, or one line saying why not."""
    try:
        return await server.start()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UserError(
            f"--serve {options.host}:{options.port}: cannot listen there ({reason}); "
            "pick another port"
        ) from None


# -- headless ----------------------------------------------------------------------------------


def serve(
    player: Any,
    run_id: str,
    options: ServeOptions,
    *,
    record: Path | None = None,
    protected: list[Path] | None = None,
    on_end: Callable[[], int] | None = None,
) -> int:
    """Play ``player`` headless while serving it; keep serving after the end until Ctrl-C.

    ``on_end`` prints the summary and returns the run's exit code. Ctrl-C before the end
    stops the run (the recording ends with an ``error`` event) and returns 130.
    """
    outcome = {"ended": False, "code": 0}
    try:
        asyncio.run(_serve(player, run_id, options, record, protected, on_end, outcome))
    except KeyboardInterrupt:
        pass
    if not outcome["ended"]:
        print("algotui: interrupted; the recording holds every event so far", file=sys.stderr)
        return 130
    return outcome["code"]


async def _serve(
    player: Any,
    run_id: str,
    options: ServeOptions,
    record: Path | None,
    protected: list[Path] | None,
    on_end: Callable[[], int] | None,
    outcome: dict[str, Any],
) -> None:
    from algotui.run.recorder import Recorder

    encoder = Encoder(run_id)
    server = make_server(options, player)
    hub = server.hub
    recorder = Recorder(record, run_id, protected) if record else None
    url = await start(server, options)
    print(announce(url, options), file=sys.stderr, flush=True)
    thread = threading.Thread(target=player.run, name="algotui-engine", daemon=True)
    thread.start()
    last_seq = -1
    ended = False

    def end_with(message: str, details: str) -> None:
        end = {
            "type": "error",
            "seq": last_seq + 1,
            "run_id": hub.run_id or run_id,
            "message": message,
            "details": details,
        }
        if recorder is not None:
            recorder.write_error(message, details)
        hub.publish([end])

    try:
        while True:
            done = player.done  # read first: all it released is then in the buffer
            items = player.drain()
            if items:
                events = to_dicts(items, encoder)
                last_seq = events[-1].get("seq", last_seq)
                ended = ended or any(e.get("type") in ("complete", "error") for e in events)
                if recorder is not None:
                    for item in items:
                        recorder.write(item)
                hub.publish(events)
            elif done:
                break
            await asyncio.sleep(PUMP_SECONDS)
        if not ended:
            failure = player.failure
            if failure is not None:
                end_with(f"{type(failure).__name__}: {failure}", "the run stopped early")
            else:
                end_with("stopped", "stopped by a viewer")
        hub.flush()
        if recorder is not None:
            recorder.close()
            recorder = None
        outcome["ended"] = True
        outcome["code"] = on_end() if on_end is not None else 0
        print(
            f"algotui: the run is over; still serving at {url} (Ctrl-C to stop)",
            file=sys.stderr,
            flush=True,
        )
        await asyncio.Event().wait()  # until Ctrl-C
    except asyncio.CancelledError:
        if not outcome["ended"]:
            player.stop()
            end_with("interrupted", "stopped by the user (Ctrl-C)")
        raise
    finally:
        if recorder is not None:
            recorder.close()
        player.stop()
        await server.stop()


# -- in the app --------------------------------------------------------------------------------


def served_player(source: Any, speed: float | None, hub: Hub, run_id: str) -> Player:
    """A player whose every drained batch also goes to ``hub`` (the app drains it in its own
    event loop, which is the hub's)."""
    encoder = Encoder(run_id)

    class ServedPlayer(Player):
        def drain(self) -> list[Any]:
            items = super().drain()
            if items:
                hub.publish(to_dicts(items, encoder))
            return items

    return ServedPlayer(source, speed=speed)


def play_serving(
    source: Any,
    speed: float | None,
    run_id: str,
    options: ServeOptions,
    theme: str | None,
    paused: bool,
    notes: list[str] | None = None,
) -> int:
    """The terminal app on ``source``, serving the same run from the app's own event loop.
    Remote commands go through the app's own controls (the player and the app's state)."""
    from algotui.net.apps import ServingApp

    server = make_server(options, None)

    async def main() -> int:
        url = await start(server, options)
        print(announce(url, options), file=sys.stderr, flush=True)
        player = served_player(source, speed, server.hub, run_id)
        app = ServingApp(
            player,
            theme=theme,
            start_paused=paused,
            run_id=run_id,
            notes=notes,
            notice=f"Serving at {url}#token={options.control_token}",
        )
        server.hub.controls = app.player
        try:
            result = await app.run_async()
        finally:
            await server.stop()
        return app.return_code or result or 0

    return asyncio.run(main())
