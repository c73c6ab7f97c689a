"""The app's frame clock: every measure that keeps frames fast and keys quick, in one place.

Each one says why it is there. Nothing here imports Textual: :func:`paint_on_request` runs
before Textual is imported (it sets an environment variable Textual reads then).
"""

import gc
import os
import sys
import time
from collections.abc import Callable
from typing import Any

#: The frame timer, and with the engine in another process a finer one: each frame starts as
#: soon as the last one is painted (an engine thread here would only lose time to the ticks).
FRAME_SECONDS = 1 / 60
#: Text panes (stats, signal log) redraw at most this often; the charts on every frame.
TEXT_SECONDS = 1 / 12
#: While the run plays flat out, the side panes change faster than anyone reads them: the
#: text panes redraw at most this often and the equity curve at most :data:`EQUITY_SECONDS`,
#: leaving the frame's time to the candles.
FAST_TEXT_SECONDS = 1 / 4
EQUITY_SECONDS = 1 / 20
#: While the run plays flat out, how often the objects built so far are frozen out of the
#: garbage collector's sight: often enough that each collection before a freeze walks little
#: (~10 ms, where a second's worth took 30-50 ms and showed as key presses answered late).
#: At a set pace less is built, and once a second is enough.
FREEZE_SECONDS = 0.25
PACED_FREEZE_SECONDS = 1.0
#: After this many frame ticks with nothing new (about a second: paused, done), the frame
#: timer stops and the app looks every :data:`IDLE_SECONDS` instead, until an event, a key,
#: the mouse or a resize wakes it (a paused app then uses 0.4% of a core, not 4%).
IDLE_TICKS = 120
IDLE_SECONDS = 0.2
#: An engine thread and the app share the GIL: hand it over this often so keys and frames are
#: not kept waiting behind a busy engine (Python's default is 5 ms).
ENGINE_THREAD_SWITCH = 0.0005


def paint_on_request() -> None:
    """Let Textual paint as soon as the frame timer asks (call before Textual is imported).

    Textual's screen updates run on a timer of their own, 60 Hz by default, so a frame could
    wait up to a tick for its paint and the two clocks beat down the frame rate. A finer
    update tick (the documented ``TEXTUAL_FPS``, which a user's own setting overrides)
    paints each frame right away.
    """
    os.environ.setdefault("TEXTUAL_FPS", "240")


class FrameClock:
    """Drives ``frame`` from a timer and decides what each frame redraws."""

    def __init__(self, engine_elsewhere: bool) -> None:
        self.engine_elsewhere = engine_elsewhere
        self.idle = False  # the frame timer rests; a slow one looks for news
        self._quiet = 0  # frames in a row without events
        self._ticks = 0
        self._text_drawn = self._equity_drawn = self._frozen = 0.0
        self._fast: Any = None
        self._slow: Any = None
        self._switch_interval = sys.getswitchinterval()

    def start(self, set_interval: Callable[..., Any], frame: Callable[[], None]) -> None:
        """Start the timers (``set_interval`` is the app's)."""
        if not self.engine_elsewhere:
            sys.setswitchinterval(ENGINE_THREAD_SWITCH)
        tick = FRAME_SECONDS / 2 if self.engine_elsewhere else FRAME_SECONDS
        self._fast = set_interval(tick, frame)
        self._slow = set_interval(IDLE_SECONDS, frame, pause=True)

    def stop(self) -> None:
        """The app is leaving: what the run built may go, the switch interval comes back."""
        gc.unfreeze()
        sys.setswitchinterval(self._switch_interval)

    def wake(self) -> None:
        """Back to drawing at the frame rate (a key, an event, a resize)."""
        self._quiet = 0
        if self.idle:
            self.idle = False
            self._slow.pause()
            self._fast.resume()

    def tick(self, events: bool) -> bool:
        """A frame tick; False when this one may be skipped (nothing new for a while)."""
        self._ticks += 1
        if events:
            self.wake()
            return True
        self._quiet += 1
        if self._quiet > IDLE_TICKS and not self.idle and self._fast is not None:
            self.idle = True  # nothing for a second: rest until something happens
            self._fast.pause()
            self._slow.resume()
        # nothing has come for a while (paused, done): look at every fourth tick
        return not (self._quiet > 8 and self._ticks % 4 and not self.idle)

    def equity_due(self, now: float, flat_out: bool, settled: bool) -> bool:
        """True when the equity pane should redraw this frame."""
        if settled or not flat_out or now - self._equity_drawn >= EQUITY_SECONDS:
            self._equity_drawn = now
            return True
        return False

    def text_due(self, now: float, flat_out: bool, settled: bool) -> bool:
        """True when the text panes should redraw this frame."""
        if settled or now - self._text_drawn >= (FAST_TEXT_SECONDS if flat_out else TEXT_SECONDS):
            self._text_drawn = now
            return True
        return False

    def after(self, now: float, events: bool, flat_out: bool) -> None:
        """After a frame: now and then, freeze what the run has built.

        It stays for the app's lifetime: out of the collector's sight, or each full collection
        walks every signal and trade kept (hundreds of thousands of objects after a long run:
        pauses of a second). The garbage since the last freeze is collected first (a short
        walk: older objects are frozen already), so nothing that should be freed is kept.
        """
        if events and now - self._frozen >= (FREEZE_SECONDS if flat_out else PACED_FREEZE_SECONDS):
            self._frozen = now
            gc.collect()
            gc.freeze()

    @staticmethod
    def now() -> float:
        return time.monotonic()
