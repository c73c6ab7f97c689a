"""The terminal app, as a server's front (:class:`ServingApp`) or a remote viewer
(:class:`RemoteApp`, fed by :class:`~algotui.net.client.RemoteRun` over the socket)."""

from typing import Any

from algotui.net.snapshot import state_from_snapshot
from algotui.tui.app import AlgoApp


class ServingApp(AlgoApp):
    """The app of a run that is also served: says where, once, in a notice (never a log)."""

    def __init__(self, player: Any, *, notice: str, **kwargs: Any) -> None:
        super().__init__(player, **kwargs)
        self._notice = notice

    def on_mount(self) -> None:
        # Textual also runs AlgoApp.on_mount (handlers run for each class that has one).
        self.notify(self._notice, title="Bridge", timeout=30)


class RemoteApp(AlgoApp):
    """The app on a run played elsewhere: keys act remotely with the control token;
    otherwise they say read-only. The status line shows the connection."""

    def __init__(self, remote: Any, **kwargs: Any) -> None:
        super().__init__(remote, **kwargs)
        self._remote = remote

    def frame(self) -> None:
        """A fresh snapshot (first connect, resync) replaces the state; then the usual frame."""
        reset = self._remote.take_reset()
        if reset is not None:
            snapshot, after = reset
            state_from_snapshot(snapshot, self.state)
            if after:
                self.state.apply(after)
            self.wake()
        for notice in self._remote.take_notices():
            self.notify(notice, title="Remote", severity="warning", timeout=4)
        super().frame()

    def status_prefix(self) -> str:
        # First, so a narrow terminal still shows it: live, reconnecting, read-only.
        mode = "" if self._remote.can_control else " read-only"
        return f"{self._remote.connection}{mode}"

    def _read_only(self) -> bool:
        if self._remote.can_control:
            return False
        self.notify(
            "read-only: this viewer has no control token (algotui view URL --token T)",
            title="Remote",
            severity="warning",
            timeout=3,
        )
        return True

    def action_toggle_pause(self) -> None:
        """Pause or resume the remote run (with the control token)."""
        if not self._read_only():
            super().action_toggle_pause()

    def action_step(self) -> None:
        """Step the remote run (with the control token)."""
        if not self._read_only():
            super().action_step()

    def seek(self, bar: int) -> None:
        """Seek works locally, on what this viewer has received; the run goes on."""
        if self.state.received == 0:
            return
        self.state.rewind(min(max(bar, 0), self.state.received - 1))
        if not self.state.rewound:
            self.state.follow()
        self.chart.follow()
        self.frame()

    def action_faster(self) -> None:
        """Double the remote speed (with the control token)."""
        if not self._read_only():
            super().action_faster()

    def action_slower(self) -> None:
        """Halve the remote speed (with the control token)."""
        if not self._read_only():
            super().action_slower()

    def action_max_speed(self) -> None:
        """Remote maximum speed (with the control token)."""
        if not self._read_only():
            super().action_max_speed()

    def action_finish(self) -> None:
        """Finish the remote run (with the control token)."""
        if not self._read_only():
            super().action_finish()
