"""The player owns time: it paces an event stream in bars per second, pauses, steps and finishes.

It runs the stream (a live engine or a recording) in a worker thread and collects events in a
buffer that the UI drains once per frame, so the UI never handles a message per bar. A bar is
released as a unit: its candle waits for its turn (pace, pause, step), and the events that
follow it (signals, trades, stats) flow straight after it. A live engine's runs of candles go
out whole at full speed and are cut into single bars when paced.
"""

import threading
import time
from collections.abc import Iterable
from typing import Any

from algotui.protocol.codec import Event

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000)

#: At most this many bars wait for the UI: a fast producer then sleeps until the next frame
#: drains them, so each frame's work is bounded and the UI thread gets its turn.
MAX_PENDING_BARS = 3000


def _is_candle(item: Any) -> bool:
    kind = getattr(item, "type", None)
    if kind is None and isinstance(item, dict):
        kind = item.get("type")
    return kind == "candle"


class Player:
    """Paces ``source`` at ``speed`` bars/s (None = as fast as possible)."""

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

    def stop(self) -> None:
        """Stop the stream; the worker returns at the next bar."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    # -- the UI side ---------------------------------------------------------------------------

    def drain(self) -> list[Any]:
        """Every event released since the last call."""
        with self._cond:
            out, self._out = self._out, []
            if self._pending >= MAX_PENDING_BARS:
                self._cond.notify_all()
            self._pending = 0
        return out

    # -- the worker ----------------------------------------------------------------------------

    def run(self) -> None:
        """Play the stream to its end (call in a worker thread)."""
        self._due = time.monotonic()
        try:
            batches = getattr(self._source, "batches", None)
            if batches is None:
                self._play(self._source)
                return
            for batch in batches():
                if not self._release_batch(batch) and not self._play(batch):
                    return
        except BaseException as exc:  # the UI shows it; the worker must not die silently
            self.failure = exc
        finally:
            self.done = True

    def _release_batch(self, batch: list[Any]) -> bool:
        """At full speed, hand a whole batch over at once; False when it must go bar by bar
        (paused, paced, or stopped)."""
        cond = self._cond
        bars = 0
        for item in batch:
            if getattr(item, "type", None) == "candles":
                a, b = item.data
                bars += b - a
            elif _is_candle(item):
                bars += 1
        with cond:
            while True:
                if self._stopped or not (self.finishing or self.speed is None) or self.paused:
                    return False
                if self._pending < MAX_PENDING_BARS:
                    break
                cond.wait(0.05)  # the UI is behind: let it draw
            self.bars += bars
            self._pending += bars
            self._out.extend(batch)
        return True

    def _play(self, source: Iterable[Any]) -> bool:
        """Release ``source`` item by item, bar by bar at the pace; False once stopped."""
        cond = self._cond
        for item in source:
            if getattr(item, "type", None) == "candles":
                a, b = item.data
                seq = item.seq
                while a < b:
                    k = self._release(b - a)
                    if k == 0:
                        return False
                    if k == b - a:
                        part = item
                    else:
                        part = _run(seq, a, a + k)
                    with cond:
                        self.bars += k
                        self._pending += k
                        self._out.append(part)
                    a += k
                    seq += k
                    item = _run(seq, a, b)
            elif _is_candle(item):
                if self._release(1) == 0:
                    return False
                with cond:
                    self.bars += 1
                    self._pending += 1
                    self._out.append(item)
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
                    cond.wait(0.05)  # the UI is behind: let it draw
                    continue
                if self.finishing:
                    return min(wanted, room)
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


def _run(seq: int, a: int, b: int) -> Event:
    """A run of live candles: bars ``a..b-1``, the first numbered ``seq``."""
    return Event("candles", seq, (a, b))
