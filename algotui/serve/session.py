"""A session: one backtest the server runs, its controls, and everything its viewers saw.

The engine runs at full speed in its own process (:mod:`algotui.serve.engine`) and every event
it sends is kept in the session's log. The session's *playhead* decides how much of the log
viewers see: it moves at the session's pace (bars per second, or at once), holds while paused,
moves one bar per step and jumps on seek, back or forward. A viewer is only a cursor into the
log, so a slow viewer catches up with one larger batch and never holds anybody back, and a
viewer that joins late (or resumes after a drop) is sent what it missed.
"""

from __future__ import annotations

import asyncio
import math
import secrets
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

from algotui.serve.config import RunConfig
from algotui.serve.engine import EngineRun
from algotui.serve.summary import RunSummary

#: Session states. ``created`` waits for start; the last three are final.
ACTIVE = ("created", "running", "paused")
FINAL = ("completed", "failed", "stopped")
#: The playhead releases paced bars at most this often (what a display can show anyway).
TICK = 1 / 60


def now_iso() -> str:
    """The wall clock as ISO 8601 UTC with milliseconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def new_id() -> str:
    """A session id in the shape one seed dashboard already shows: backtest-<ms>-<6 hex>."""
    return f"backtest-{int(time.time() * 1000)}-{secrets.token_hex(3)}"


class CommandError(ValueError):
    """A control command that does not apply in the session's state (HTTP 409; a ValueError,
    as the bridge expects of a command it may not obey)."""


class Session:
    """One backtest: its config, engine, log of events, playhead and controls (it implements
    :class:`algotui.run.controls.Controls`, so any viewer that drives a run can drive it)."""

    def __init__(
        self,
        cfg: RunConfig,
        *,
        kind: str = "session",
        owner: str = "",
        protocol: str = "api",
        on_change: Callable[[Session], None] | None = None,
        on_final: Callable[[Session], None] | None = None,
    ) -> None:
        self.id = new_id()
        self.cfg = cfg
        self.kind = kind  # "session" (lives on its own) or "stream" (owned by one socket)
        self.owner = owner
        self.protocol = protocol
        self.created_at = now_iso()
        self.started_at: str | None = None
        self.ended_at: str | None = None
        self.ended_mono: float | None = None
        self.status = "created"
        self.log: list[dict[str, Any]] = []
        self.candles: list[int] = []  # log index of each bar's candle
        self.shown = 0  # log[:shown] is what viewers see
        self.epoch = 0  # bumped when the playhead moves back
        self.summary = RunSummary()
        self.speed = cfg.speed
        self.paused = False
        self.finishing = False
        self.can_control = True  # the Controls interface: sessions obey whoever may reach them
        self.viewers: dict[str, int] = {}  # protocol -> connected viewers
        self._steps = 0
        self._seek: int | None = None
        self.engine: EngineRun | None = None
        self.engine_done = False
        self._stored = 0  # events handed to the results sink (the most ever shown)
        self._wake = asyncio.Event()
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._on_change = on_change
        self._on_final = on_final
        self.sink: Any = None  # the results store's record of this session (see glue)

    # -- reading ---------------------------------------------------------------------------------

    @property
    def ended(self) -> bool:
        """True once the session is completed, failed or stopped."""
        return self.status in FINAL

    @property
    def bars_shown(self) -> int:
        """Bars the playhead has passed."""
        return self.summary.bars

    def info(self, detail: bool = False) -> dict[str, Any]:
        """What GET /api/sessions (and, with ``detail``, GET /api/sessions/{id}) reports."""
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "protocol": self.protocol,
            "status": self.status,
            "name": self.cfg.name,
            "symbol": self.cfg.symbol,
            "strategy": self.cfg.strategy,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "bars": self.summary.bars,
            "total_bars": self.summary.total_bars,
            "progress": self.summary.progress,
            "speed": self.speed,
            "paused": self.paused,
            "seq": self.summary.last_seq,
            "viewers": sum(self.viewers.values()),
        }
        if detail:
            out["config"] = self.cfg.to_dict()
            out.update(self.summary.to_dict())
            path = getattr(self.sink, "path", None)
            out["recording"] = None if path is None else str(path)
            out["stored_id"] = getattr(self.sink, "saved_id", None)
        return out

    async def changed(self) -> None:
        """Wait until the playhead moves or the status changes."""
        await self._changed.wait()

    async def follow(self, since: int = 0) -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
        """What a viewer is sent: ``("events", [...])`` as the playhead moves, ``("resync",
        [...])`` (everything shown, from the start) when it moved back; ends with the session.
        ``since`` is the first log position wanted (resume after a drop)."""
        cursor = max(0, since)
        epoch = self.epoch
        while True:
            if epoch != self.epoch:
                epoch = self.epoch
                cursor = self.shown
                yield "resync", self.log[:cursor]
            elif cursor < self.shown:
                batch = self.log[cursor : self.shown]
                cursor = self.shown
                yield "events", batch
            elif self.ended:
                return
            else:
                await self._changed.wait()

    # -- controls --------------------------------------------------------------------------------

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start the engine and the playhead."""
        if self.status != "created":
            raise CommandError(f"session is {self.status}; start applies to a created session")
        loop = loop or asyncio.get_running_loop()
        self.status = "running"
        self.started_at = now_iso()
        self.engine = EngineRun(self.cfg, self.id, loop, self._ingest, self._engine_end)
        self._task = loop.create_task(self._play(), name=f"play-{self.id}")
        self._notify()

    def pause(self) -> None:
        """Hold before the next bar."""
        self._need_live("pause")
        self.paused = True
        self.status = "paused"
        self._poke()

    def resume(self) -> None:
        """Play on at the session's speed."""
        self._need_live("resume")
        self.paused = False
        self._steps = 0
        self.status = "running"
        self._poke()

    def step(self, bars: int = 1) -> None:
        """Release ``bars`` more bars, pausing first."""
        self._need_live("step")
        self.paused = True
        self.status = "paused"
        self._steps += bars
        self._poke()

    def seek(self, bar: int) -> None:
        """Show the run as of 0-based ``bar`` (back or forward); pauses."""
        self._need_live("seek")
        self.paused = True
        self.status = "paused"
        self._steps = 0
        self._seek = bar
        self._poke()

    def set_speed(self, speed: float | None) -> None:
        """Bars per second, or None for as fast as possible."""
        if self.ended:
            raise CommandError(f"session is {self.status}")
        self.speed = speed
        self._poke()

    def finish(self) -> None:
        """Run to the end at once: full speed, not paused."""
        self._need_live("finish")
        self.finishing = True
        self.speed = None
        self.paused = False
        self._steps = 0
        self.status = "running"
        self._poke()

    def stop(self, reason: str = "stopped by request") -> None:
        """End the run now; it keeps (and stores) every bar it showed, as ``stopped``."""
        if self.ended:
            return
        if self.engine is not None:
            self.engine.stop()
        if self._task is not None:
            self._task.cancel()
        shown = max(self.shown, self._stored)
        if shown > self.shown:  # moved back before stopping: keep what was seen
            self._advance_to(shown)
        del self.log[shown:]
        if self.status != "created":
            seq = self.log[-1]["seq"] + 1 if self.log else 0
            self.log.append(
                {
                    "type": "error",
                    "seq": seq,
                    "run_id": self.id,
                    "message": "stopped",
                    "details": reason,
                }
            )
            self._advance_to(len(self.log))
        self._end("stopped")

    def _need_live(self, what: str) -> None:
        if self.status not in ("running", "paused"):
            raise CommandError(f"session is {self.status}; {what} applies to a running session")

    # -- the engine's side -----------------------------------------------------------------------

    def _ingest(self, batch: list[dict[str, Any]]) -> None:
        if self.ended:
            return
        base = len(self.log)
        self.log.extend(batch)
        candles = self.candles
        for offset, event in enumerate(batch):
            if event["type"] == "candle":
                candles.append(base + offset)
        self._wake.set()

    def _engine_end(self, exitcode: int | None) -> None:
        self.engine_done = True
        if not self.ended and (not self.log or self.log[-1]["type"] not in ("complete", "error")):
            seq = self.log[-1]["seq"] + 1 if self.log else 0
            self.log.append(
                {
                    "type": "error",
                    "seq": seq,
                    "run_id": self.id,
                    "message": f"the engine process ended unexpectedly (exit code {exitcode})",
                    "details": "",
                }
            )
        self._wake.set()

    # -- the playhead ----------------------------------------------------------------------------

    def _bar_end(self, bars: int) -> int | None:
        """The log position after the first ``bars`` bars' events, if the engine got that far."""
        if bars < len(self.candles):
            return self.candles[bars]
        return len(self.log) if self.engine_done else None

    def _available(self) -> int:
        """Bars whose events are all in the log."""
        return len(self.candles) if self.engine_done else max(0, len(self.candles) - 1)

    async def _play(self) -> None:
        t0 = time.monotonic()
        released = 0
        pace = (self.speed, self.paused)
        while not self.ended:
            self._wake.clear()
            if (self.speed, self.paused) != pace:  # pace changed: count time from now
                pace = (self.speed, self.paused)
                t0, released = time.monotonic(), 0
            if self._seek is not None and self._do_seek():
                continue
            if self.engine_done and self.shown >= len(self.log) and self._seek is None:
                last = self.log[-1]["type"] if self.log else "error"
                self._end("completed" if last == "complete" else "failed")
                return
            shown_bars = self.summary.bars
            first_bar = self.candles[0] if self.candles else len(self.log)
            if not shown_bars and self.shown < first_bar:
                self._advance_to(first_bar)  # the metadata goes out at once, unpaced
            can = self._available() - shown_bars
            if self.engine_done and self.shown < len(self.log):
                can = max(can, 1)  # the events after the last bar
            want: int | float
            timeout: float | None = None
            if self._steps:
                want = self._steps
            elif self.paused:
                want = 0
            elif self.speed is None:
                want = math.inf
            else:
                elapsed = time.monotonic() - t0
                want = int(elapsed * self.speed) - released
                if want <= 0:
                    timeout = max(TICK, (released + 1) / self.speed - elapsed)
            if want > 0 and can > 0:
                n = int(min(want, can))
                end = self._bar_end(shown_bars + n)
                if end is not None:
                    self._advance_to(end)
                    released += n
                    if self._steps:
                        self._steps = max(0, self._steps - n)
                    if self.speed is None:
                        await asyncio.sleep(0)  # let viewers send between big releases
                    else:
                        timeout = TICK
                    if timeout is None:
                        continue
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass

    def _do_seek(self) -> bool:
        """Move the playhead to the pending seek target if its bars are there (True if done)."""
        assert self._seek is not None
        target = min(self._seek + 1, self.summary.total_bars or self._seek + 1)
        end = self._bar_end(target)
        if end is None:
            if self.engine_done:
                end = len(self.log)
            else:
                return False  # wait for the engine to get there
        self._seek = None
        if end >= self.shown:
            self._advance_to(end)
        else:
            self._rewind_to(end)
        return True

    def _advance_to(self, end: int) -> None:
        batch = self.log[self.shown : end]
        self.shown = end
        self.summary.apply(batch)
        if end > self._stored:
            fresh = self.log[self._stored : end]
            self._stored = end
            if self.sink is not None:
                self.sink.add_many(fresh)
        self._notify()

    def _rewind_to(self, end: int) -> None:
        self.shown = end
        self.epoch += 1
        self.summary = RunSummary()
        self.summary.apply(self.log[:end])
        self._notify()

    def _end(self, status: str) -> None:
        self.status = status
        self.paused = False
        self.ended_at = now_iso()
        self.ended_mono = time.monotonic()
        if self.engine is not None and self.engine.alive:
            self.engine.stop()
        self._notify()
        if self._on_final is not None:
            self._on_final(self)

    def _poke(self) -> None:
        self._wake.set()
        self._notify()

    def _notify(self) -> None:
        old = self._changed
        self._changed = asyncio.Event()
        old.set()
        if self._on_change is not None:
            self._on_change(self)
