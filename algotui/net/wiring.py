"""The command line's three doors into the bridge (the one place that builds players for it).

``algotui run --serve``, ``algotui replay --serve`` and ``algotui view`` each call one function
here; when the app's or the player's wiring changes, these are what to re-point.
"""

import sys
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
    protected: list[Path] | None = None,
    paused: bool = False,
    theme: str | None = None,
    as_json: bool = False,
    store: Any = None,
) -> int:
    """``algotui run --serve``: in the app, or headless (with ``--record``) at ``speed``.

    ``store``, a :class:`~algotui.store.sink.StoreSink`, sees every record the viewers see
    and saves the run once it ends (the caller calls its ``finish``)."""
    from algotui.run.headless import failure_code, report_failure, write_results
    from algotui.run.player import Player
    from algotui.run.process import EngineProcess, can_fork

    # The engine runs in a child process where it can: this one's time goes to the viewers.
    source = EngineProcess(bt) if can_fork() else bt.stream()
    if store is not None:
        source = teed(source, store.add_record)
    if interactive:
        code = play_serving(source, speed, bt.run_id, options, theme, paused)
        if bt.status == "failed":
            report_failure(bt, sys.stderr)
            code = failure_code(bt)
        return code
    player = Player(source, speed=speed)
    if paused:
        player.pause()

    def on_end() -> int:
        if bt.status == "failed":
            kept = f" (the recording {record} ends with the error event)" if record else ""
            report_failure(bt, sys.stderr, kept)
            return failure_code(bt)
        return write_results(bt, bt.metrics or {}, sys.stdout, sys.stderr, record, as_json)

    return serve(player, bt.run_id, options, record=record, protected=protected, on_end=on_end)


class _TeedBatches:
    """A batched source (the engine in a child process) whose records also go to ``sink``."""

    def __init__(self, source: Any, sink: Any) -> None:
        self.source, self.sink = source, sink

    def batches(self) -> Any:
        for batch in self.source.batches():
            for record in batch:
                self.sink(record)
            yield batch

    def __iter__(self) -> Any:
        for batch in self.batches():
            yield from batch


def teed(source: Any, sink: Any) -> Any:
    """``source`` with every record also handed to ``sink``, batched if it was."""
    if hasattr(source, "batches"):
        return _TeedBatches(source, sink)

    def records() -> Any:
        for record in source:
            sink(record)
            yield record

    return records()


def serve_replay(
    recording: Path,
    options: ServeOptions,
    speed: float | None,
    *,
    interactive: bool,
    paused: bool = False,
    theme: str | None = None,
) -> int:
    """``algotui replay --serve``: a recording played in the app, or headless, and served."""
    from algotui.protocol.read import RecordingReader
    from algotui.run.player import Player

    run_id = str(RecordingReader(recording).first().get("run_id") or "")
    notes: list[str] = []
    if interactive:
        reader = RecordingReader(recording, notes.append)
        return play_serving(reader, speed, run_id, options, theme, paused, notes)

    def notice(message: str) -> None:
        print(f"algotui: {recording}: {message}", file=sys.stderr)

    player = Player(RecordingReader(recording, notice), speed=speed)
    if paused:
        player.pause()
    return serve(player, run_id, options)


def view_remote(url: str, token: str | None, theme: str | None) -> int:
    """``algotui view``: the app fed by a bridge server's stream, driven through it."""
    import asyncio

    from algotui.net.apps import RemoteApp
    from algotui.net.client import RemoteRun, probe

    hello = asyncio.run(probe(url, token))
    remote = RemoteRun(url, token)
    if token and not hello.get("control"):
        print("algotui: the token is a viewer token: watching read-only", file=sys.stderr)
    app = RemoteApp(remote, theme=theme, run_id=str(hello.get("run_id") or ""))
    try:
        result = app.run()
    finally:
        remote.stop()
    if remote.failure is not None and isinstance(remote.failure, ConnectionRefusedError):
        print(f"algotui: error: {remote.failure}", file=sys.stderr)
        return 2
    return app.return_code or result or 0
