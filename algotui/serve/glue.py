"""Where sessions meet the rest of algotui: the results store and the recording of each run.

Kept in one module on purpose: the results store (:mod:`algotui.store`) is built beside the
server, and this is the only place that knows its interface. Every session is written as a
JSON Lines recording (``algotui replay`` plays it) by one writer thread, off the event loop;
when the store is there, each event also goes to a ``StoreSink`` and the run is finished in
it with its status (``completed``, ``failed`` or ``stopped``), its recording and its config.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import orjson


def store_sink_class() -> Any:
    """The results store's sink class, or None where the store is not installed."""
    try:
        from algotui.store.sink import StoreSink  # type: ignore[import-not-found]
    except ImportError:
        return None
    return StoreSink


_NUMPY = orjson.OPT_SERIALIZE_NUMPY


class Writer:
    """One thread that does every session's disk writes, in order, off the event loop."""

    def __init__(self) -> None:
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="algotui-results", daemon=True)
        self._thread.start()
        self.errors: list[str] = []

    def submit(self, job: Callable[[], None]) -> None:
        """Run ``job`` on the writer thread."""
        self._jobs.put(job)

    def close(self, timeout: float = 10.0) -> None:
        """Finish the queued writes (at most ``timeout`` seconds) and stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except Exception as exc:  # noqa: BLE001 - a failed write must not end the others
                self.errors.append(f"{type(exc).__name__}: {exc}")


class SessionRecord:
    """A session's results: its recording file and, when installed, the store's sink."""

    def __init__(
        self, writer: Writer, directory: Path | None, session_id: str, db: Path | None = None
    ) -> None:
        self.writer = writer
        self.session_id = session_id
        self.db = db
        self.path = directory / f"{session_id}.jsonl" if directory is not None else None
        self._file: IO[bytes] | None = None
        self._store: Any = None
        #: The run's id in the results store once saved (None before, or without a store).
        self.saved_id: str | None = None
        self.events = 0
        self.has_metadata = False  # a run that failed before its metadata is not a stored run
        writer.submit(self._open)

    def _open(self) -> None:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, "wb")  # noqa: SIM115 - closed in finish
        cls = store_sink_class()
        if cls is not None:
            self._store = cls(self.db, run_id=self.session_id)

    def add_many(self, events: list[dict[str, Any]]) -> None:
        """Queue events (in order) for the recording and the store."""
        self.events += len(events)
        self.has_metadata = self.has_metadata or events[0]["type"] == "metadata"
        self.writer.submit(lambda: self._write(events))

    def _write(self, events: list[dict[str, Any]]) -> None:
        if self._file is not None:
            self._file.write(b"".join(orjson.dumps(e, option=_NUMPY) + b"\n" for e in events))
        if self._store is not None:
            for event in events:
                self._store.add(event)

    def finish(self, status: str, config: dict[str, Any]) -> None:
        """Close the recording and finish the run in the store with ``status``."""

        shown = self.events  # a session stopped before anything was shown saves nothing
        keep = self.has_metadata

        def done() -> None:
            if self._file is not None:
                self._file.close()
                if not shown and self.path is not None:
                    self.path.unlink(missing_ok=True)
            if self._store is not None and keep:
                recording = str(self.path) if self.path is not None else None
                self.saved_id = self._store.finish(
                    status=status, recording=recording, config=config
                )

        self.writer.submit(done)
