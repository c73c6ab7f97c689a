"""A recording played again without a terminal: its events re-emitted to a new recording
(``--record``) or its final metrics printed (``--json``), damage reported line by line."""

import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from algotui.protocol.read import RecordingReader
from algotui.run.headless import _Stop, drain
from algotui.run.recorder import Recorder, RecordingError


def replay_headless(
    path: Path,
    *,
    record: Path | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Re-emit the recording at ``path``; the exit code (0: it ends with ``complete``)."""
    out = out or sys.stdout
    err = err or sys.stderr

    def notice(message: str) -> None:
        print(f"algotui: warning: {message}", file=err, flush=True)

    reader = RecordingReader(path, notice)
    reader.first()
    run_id = uuid.uuid4().hex[:12]
    recorder = Recorder(record, run_id, [path]) if record else None
    ending: dict[str, Any] = {}

    def records() -> Any:
        for r in reader:
            if r.type == "metadata":
                r = r._replace(created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
            elif r.type in ("complete", "error"):
                ending[r.type] = r
            yield r

    try:
        with _Stop(err) as stop:
            stopped = drain(records(), recorder, stop)
    except RecordingError as exc:
        print(f"algotui: error: {exc}", file=err)
        return 1
    finally:
        if recorder is not None:
            recorder.close()
    if stopped:
        print(f"algotui: interrupted ({stopped})", file=err)
        return 130
    if "error" in ending:
        print(f"algotui: the recorded run failed: {ending['error'].message}", file=err)
        return 1
    if "complete" not in ending:
        if recorder is not None:
            recorder.close()
        return 1
    if as_json:
        from algotui.protocol.encode import dumps

        try:
            out.write(dumps(ending["complete"].metrics) + "\n")
            out.flush()
        except OSError as exc:
            print(f"algotui: error: cannot write the results to stdout ({exc})", file=err)
            return 1
    elif record:
        print(f"replayed {path} to {record} ({reader.last_bar:,} bars)", file=err)
    return 0
