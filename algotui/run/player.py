"""The player owns time: it paces a run's records in bars per second, pauses, steps, finishes.

It reads the source (the engine here or in a child process, a recording, a socket) in a
thread and collects records in a buffer that the app drains once per frame, so the app never
handles a message per bar. A bar is released as a unit: its candle waits for its turn (pace,
pause, step) and the events that follow it flow straight after it. Batches of candles go out
whole at full speed and are cut into single bars when paced.

:class:`Playback` is what the app drives (:class:`~algotui.run.controls.Controls`): the player
and the run state together, so that a seek back shows the run as of that bar and playing on
from there catches the view up to the newest bar at the same pace before the source goes on.
"""

import threading
import time
from collections.abc import Iterable
from typing import Any

from algotui.protocol.records import Candles
from algotui.view.state import RunState

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)

#: At most this many bars wait for the app: a fast producer then sleeps until the next frame
#: drains them, so each frame's work is bounded and the app's thread gets its turn.
MAX_PENDING_BARS = 3000


def _bars(item: Any) -> int:
    return len(item) if isinstance(item, Candles) else 0


class Player:
    """Paces ``source`` (records, or lists of them via a ``batches()`` method) at ``speed``
    bars/s (None: as fast as possible)."""

    can_control = True

    def __init__(self, source: Iterable[Any], speed: float | None = 20.0) -> None:
        self._source = source
        self._cond = threading.Condition()
        self._out: list[Any] = []
        self.speed = speed
        self.paused = False
        self.finishing = False
        self.bars = 0
        self.done = False
        self.failure: BaseException | None = None
        self._steps = 0
        self._target: int | None = None  # release up to this many bars at once, then pause
        self._stopped = False
        self._reset_clock = True
        self._pending = 0  # bars released but not yet drained
        self._due = 0.0  # when the next paced bar is due (time.monotonic)

    @property
    def batched(self) -> bool:
        """True when the source hands over batches (an engine in another process)."""
        return hasattr(self._source, "batches")

    # -- controls (any thread) -----------------------------------------------------------------

    def pause(self) -> None:
        """Hold before the next bar."""
        with self._cond:
            self.paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        """Play on at the current speed."""
        with self._cond:
            self.paused = False
            self._steps = 0
            self._reset_clock = True
            self._cond.notify_all()

    def toggle(self) -> bool:
        """Pause or resume; returns True when now paused."""
        if self.paused:
            self.resume()
        else:
            self.pause()
        return self.paused

    def step(self, bars: int = 1) -> None:
        """Release ``bars`` more bars while paused (pauses first if playing)."""
        with self._cond:
            self.paused = True
            self._steps += bars
            self._cond.notify_all()

    def advance_to(self, bars: int) -> None:
        """Release bars at full speed until ``bars`` have gone out, then hold (a seek
        forward past what was received)."""
        with self._cond:
            self.paused = True
            self._steps = 0
            self._target = bars
            self._cond.notify_all()

    def set_speed(self, speed: float | None) -> None:
        """Bars per second, or None for maximum speed."""
        with self._cond:
            self.speed = speed
            self._reset_clock = True
            self._cond.notify_all()

    def faster(self) -> float | None:
        """Double the speed (up to the fastest paced level)."""
        if self.speed is not None:
            self.set_speed(min(self.speed * 2, SPEEDS[-1]))
        return self.speed

    def slower(self) -> float | None:
        """Halve the speed; from maximum speed, back to the fastest paced level."""
        self.set_speed(SPEEDS[-1] if self.speed is None else max(self.speed / 2, 0.5))
        return self.speed

    def finish(self) -> None:
        """Run to the end at once, ignoring pace and pause."""
        with self._cond:
            self.finishing = True
            self.paused = False
            self._cond.notify_all()

    def seek(self, bar: int) -> None:
        """Forward only, on the player alone: release up to 0-based ``bar`` and hold."""
        self.advance_to(bar + 1)

    def stop(self) -> None:
        """Stop the source; the thread returns at the next bar."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # -- the app side --------------------------------------------------------------------------

    def drain(self) -> list[Any]:
        """Every record released since the last call."""
        with self._cond:
            out, self._out = self._out, []
            if self._pending >= MAX_PENDING_BARS:
                self._cond.notify_all()
            self._pending = 0
        return out

    # -- the thread ----------------------------------------------------------------------------

    def run(self) -> None:
        """Play the source to its end (call in a thread)."""
        self._due = time.monotonic()
        try:
            batches = getattr(self._source, "batches", None)
            if batches is None:
                self._play(self._source)
                return
            for batch in batches():
                if not self._release_batch(batch) and not self._play(batch):
                    return
        except BaseException as exc:  # the app shows it; the thread must not die silently
            self.failure = exc
        finally:
            self.done = True

    def _release_batch(self, batch: list[Any]) -> bool:
        """At full speed, hand a whole batch over at once; False when it must go bar by bar
        (paused, paced, or stopped)."""
        cond = self._cond
        bars = sum(len(x) for x in batch if isinstance(x, Candles))
        with cond:
            while True:
                if self._stopped or not (self.finishing or self.speed is None) or self.paused:
                    return False
                if self._pending < MAX_PENDING_BARS:
                    break
                cond.wait(0.05)  # the app is behind: let it draw
            self.bars += bars
            self._pending += bars
            self._out.extend(batch)
        return True

    def _play(self, source: Iterable[Any]) -> bool:
        """Release ``source`` record by record, bar by bar at the pace; False once stopped."""
        cond = self._cond
        for item in source:
            if isinstance(item, Candles):
                a, b = 0, len(item)
                while a < b:
                    k = self._release(b - a)
                    if k == 0:
                        return False
                    part = item if (a, k) == (0, b) else item.part(a, a + k)
                    with cond:
                        self.bars += k
                        self._pending += k
                        self._out.append(part)
                    a += k
            else:
                with cond:
                    self._out.append(item)
        return True

    def _release(self, wanted: int) -> int:
        """Wait until bars may go out; how many of ``wanted`` go now (0: stopped)."""
        cond = self._cond
        with cond:
            while True:
                if self._stopped:
                    return 0
                room = MAX_PENDING_BARS - self._pending
                if room <= 0:
                    cond.wait(0.05)  # the app is behind: let it draw
                    continue
                if self.finishing:
                    return min(wanted, room)
                if self._target is not None:
                    if self.bars < self._target:
                        return min(wanted, room, self._target - self.bars)
                    self._target = None
                if self.paused:
                    if self._steps > 0:
                        self._steps -= 1
                        return 1
                    cond.wait()
                    continue
                if self.speed is None:
                    return min(wanted, room)
                now = time.monotonic()
                if self._reset_clock:
                    self._reset_clock = False
                    self._due = now
                if now >= self._due:
                    # Never bank more than a quarter second of lag: after a stall, play on
                    # at the asked pace instead of bursting.
                    self._due = max(self._due, now - 0.25) + 1.0 / self.speed
                    return 1
                cond.wait(self._due - now)


class Playback:
    """The controls the app drives: a :class:`Player` and the :class:`RunState` it feeds.

    A seek back rewinds the state (the source is not rerun); playing or stepping from there
    moves the view forward through what was received, at the player's pace, until it is at
    the newest bar again: then the player's source goes on.
    """

    can_control = True

    def __init__(self, player: Player, state: RunState) -> None:
        self.player = player
        self.state = state
        self._playing_back = False  # moving the view through received bars at the pace
        self._owed = 0.0  # bars of pace not yet shown
        self._last = time.monotonic()

    # what the app reads of the player
    @property
    def paused(self) -> bool:
        return self.player.paused and not self._playing_back

    @property
    def speed(self) -> float | None:
        return self.player.speed

    @property
    def finishing(self) -> bool:
        return self.player.finishing

    @property
    def done(self) -> bool:
        return self.player.done

    @property
    def failure(self) -> BaseException | None:
        return self.player.failure

    @property
    def batched(self) -> bool:
        return self.player.batched

    def drain(self) -> list[Any]:
        return self.player.drain()

    def run(self) -> None:
        self.player.run()

    # Controls
    def pause(self) -> None:
        self._playing_back = False
        self.player.pause()

    def resume(self) -> None:
        if self.state.rewound:  # the source waits while the view catches up
            self.player.pause()
            self._playing_back = True
            self._owed = 0.0
            self._last = time.monotonic()
            return
        self.player.resume()

    toggle = Player.toggle  # the same: pause or resume, by this object's own paused

    def step(self, bars: int = 1) -> None:
        if self.state.rewound:
            self.pause()
            self._show(self.state.bars - 1 + bars)
            return
        self.state.follow()
        self.player.step(bars)

    def set_speed(self, speed: float | None) -> None:
        self.player.set_speed(speed)

    def faster(self) -> float | None:
        return self.player.faster()

    def slower(self) -> float | None:
        return self.player.slower()

    def finish(self) -> None:
        self._playing_back = False
        self.state.follow()
        self.player.finish()

    def seek(self, bar: int) -> None:
        """Show 0-based ``bar``: back through what was received, or on past it."""
        self._playing_back = False
        self.player.pause()
        bar = max(0, bar)
        if bar < self.state.received:
            self.state.rewind(bar)
            if not self.state.rewound:
                self.state.follow()
        else:
            self.state.follow()
            self.player.advance_to(bar + 1)

    def stop(self) -> None:
        self.player.stop()

    def _show(self, bar: int) -> None:
        """Move the view to ``bar``; at the newest one, follow again."""
        if bar >= self.state.received - 1:
            self.state.follow()
        else:
            self.state.rewind(bar)

    def tick(self) -> None:
        """Once per frame: while playing back received bars, move the view at the pace; once
        at the newest bar, let the source go on."""
        if not self._playing_back:
            return
        player = self.player
        now = time.monotonic()
        elapsed, self._last = now - self._last, now
        speed = player.speed
        if speed is None or player.finishing:
            self._show(self.state.received)
        else:
            self._owed += elapsed * speed
            whole = int(self._owed)
            if whole:
                self._owed -= whole
                self._show(self.state.bars - 1 + whole)
        if not self.state.rewound:
            self._playing_back = False
            player.resume()
