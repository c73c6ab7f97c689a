"""The server's sessions: creation within limits, lookup, cleanup of old ones, shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from algotui.serve.config import Catalog, RunConfig
from algotui.serve.glue import SessionRecord, Writer
from algotui.serve.session import ACTIVE, Session


@dataclass
class Settings:
    """How the server runs (the ``algotui serve`` options)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None
    strategies_dir: Path | None = None
    allow_origins: tuple[str, ...] = ()
    keep_minutes: float = 60.0
    max_sessions: int = 64  # active sessions in all
    max_per_client: int = 8  # active sessions per client address
    default_speed: float | None = 20.0
    results_dir: Path | None = None
    db: Path | None = None  # the results store (its own default when None)
    max_body: int = 64 * 1024
    max_frame: int = 64 * 1024
    cleanup_every: float = 30.0
    catalog: Catalog = field(init=False)

    def __post_init__(self) -> None:
        self.catalog = Catalog(self.strategies_dir)


class LimitError(Exception):
    """Too many sessions (HTTP 429)."""


class SessionManager:
    """Every session of the server, by id."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.sessions: dict[str, Session] = {}
        self.watchers: list[Callable[[Session], None]] = []
        self.writer = Writer()
        self.started = time.monotonic()
        self._cleanup: asyncio.Task[None] | None = None

    def create(
        self, cfg: RunConfig, *, owner: str, kind: str = "session", protocol: str = "api"
    ) -> Session:
        """A new session (not started) for ``owner``, within the server's limits."""
        active = [s for s in self.sessions.values() if s.status in ACTIVE]
        if len(active) >= self.settings.max_sessions:
            raise LimitError(
                f"the server runs {len(active)} sessions, its limit; stop or delete one first"
            )
        mine = sum(1 for s in active if s.owner == owner)
        if mine >= self.settings.max_per_client:
            raise LimitError(
                f"{mine} active sessions from {owner}, the limit per client; "
                "stop or delete one first"
            )
        session = Session(
            cfg,
            kind=kind,
            owner=owner,
            protocol=protocol,
            on_change=self._changed,
            on_final=self._final,
        )
        session.sink = SessionRecord(
            self.writer, self.settings.results_dir, session.id, self.settings.db
        )
        self.sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session | None:
        """The session with that id, if any."""
        return self.sessions.get(session_id)

    def delete(self, session_id: str) -> bool:
        """Stop (if it runs) and forget a session. False if there is none."""
        session = self.sessions.pop(session_id, None)
        if session is None:
            return False
        session.stop("deleted")
        return True

    def _changed(self, session: Session) -> None:
        for watch in list(self.watchers):
            watch(session)

    def _final(self, session: Session) -> None:
        if session.sink is not None:
            session.sink.finish(session.status, session.cfg.to_dict())

    def start_cleanup(self) -> None:
        """Forget finished sessions older than ``keep_minutes``, every ``cleanup_every`` s."""
        self._cleanup = asyncio.get_running_loop().create_task(self._clean_loop())

    async def _clean_loop(self) -> None:
        while True:
            await asyncio.sleep(self.settings.cleanup_every)
            self.clean()

    def clean(self) -> int:
        """Forget the finished sessions past their keeping age; how many went."""
        limit = time.monotonic() - self.settings.keep_minutes * 60
        old = [
            s.id
            for s in self.sessions.values()
            if s.ended and s.ended_mono is not None and s.ended_mono <= limit
        ]
        for session_id in old:
            del self.sessions[session_id]
        return len(old)

    def shutdown(self) -> None:
        """Stop every running session (stored as stopped) and finish the writes."""
        if self._cleanup is not None:
            self._cleanup.cancel()
        engines = [s.engine for s in self.sessions.values() if s.engine is not None]
        for session in list(self.sessions.values()):
            session.stop("the server shut down")
        # The loop is ending, so the engines' delayed SIGKILL may never come: wait a second
        # for them here, then kill what is left (nothing may outlive the server).
        deadline = time.monotonic() + 1.0
        while any(e.alive for e in engines) and time.monotonic() < deadline:
            time.sleep(0.02)
        for engine in engines:
            engine.kill()
        self.writer.close()
