"""Controls: what a viewer may ask of a run, whoever plays it.

The app (and a remote viewer, and a server session) drives a run only through this interface:
the local player implements it for an engine or a recording played here, a socket client
implements it over the bridge, a server session over HTTP. Nothing else of the player is read.
"""

from typing import Protocol, runtime_checkable


@runtime_checkable
class Controls(Protocol):
    """Pause, resume, step, speed, finish and seek a run; and say how it plays."""

    #: True when a command may change the run (a remote viewer without a control token
    #: is read-only: its commands are refused and the app says so).
    can_control: bool

    @property
    def paused(self) -> bool:
        """True while the run holds before its next bar."""
        ...

    @property
    def speed(self) -> float | None:
        """Bars per second, or None for as fast as possible."""
        ...

    @property
    def finishing(self) -> bool:
        """True once :meth:`finish` was asked: the rest goes at full speed."""
        ...

    def pause(self) -> None:
        """Hold before the next bar."""

    def resume(self) -> None:
        """Play on at the current speed."""

    def step(self, bars: int = 1) -> None:
        """Release ``bars`` more bars, pausing first if playing."""

    def set_speed(self, speed: float | None) -> None:
        """Bars per second, or None for maximum speed."""

    def finish(self) -> None:
        """Run to the end at once, ignoring pace and pause."""

    def seek(self, bar: int) -> None:
        """Show the run as of 0-based ``bar`` (back or forward; pauses first)."""

    def stop(self) -> None:
        """End the run (the app is leaving)."""
