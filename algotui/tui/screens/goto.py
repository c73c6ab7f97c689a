"""The go-to prompt (``g``): a bar number or a date, then Enter."""

import numpy as np
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from algotui.view.state import RunState


def parse_target(text: str, state: RunState) -> int:
    """The 0-based bar that ``text`` names: a bar number (``300``) or a date or time
    (``2023-06-01``: the first bar at or after it). Raises ValueError with a message."""
    text = text.strip()
    if not text:
        raise ValueError("type a bar number or a date")
    if text.replace(",", "").replace("_", "").isdigit():
        number = int(text.replace(",", "").replace("_", ""))
        if not 1 <= number <= max(state.received, 1):
            raise ValueError(f"bar {number:,} is not there yet (1..{state.received:,})")
        return number - 1
    try:
        when = np.datetime64(text.replace(" ", "T"), "s").astype(np.int64)
    except ValueError:
        raise ValueError(f"{text!r} is neither a bar number nor a date (e.g. 2023-06-01)") from None
    times = state._time[: state.received]
    k = int(np.searchsorted(times, when, side="left"))
    if k >= state.received:
        raise ValueError(f"no bar at or after {text} yet")
    return k


class GotoScreen(ModalScreen[int | None]):
    """Asks for a bar number or a date; dismisses with the 0-based bar (None: cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    AUTO_FOCUS = "Input"
    DEFAULT_CSS = """
    GotoScreen { align: center middle; }
    GotoScreen > #box {
        width: 60; height: auto; padding: 0 1;
        border: round $accent; background: $surface;
    }
    GotoScreen #why { color: $error; height: auto; }
    """

    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        from textual.containers import Vertical

        with Vertical(id="box"):
            yield Static(f"Go to bar (1..{self.state.received:,}) or date (YYYY-MM-DD):")
            yield Input(placeholder="300 or 2023-06-01", id="target")
            yield Static("", id="why")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            bar = parse_target(event.value, self.state)
        except ValueError as exc:
            self.query_one("#why", Static).update(str(exc))
            return
        self.dismiss(bar)

    def action_cancel(self) -> None:
        self.dismiss(None)
