"""The signal log: every signal, newest first, scrollable, colour-coded; Enter jumps the chart."""

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from algotui.view.state import RunState


class SignalLog(ScrollView, can_focus=True):
    """Signals (time, action, side, price, size, P&L, reason), newest at the top.

    Draws only the visible rows, so ten thousand signals cost what ten do.

    Bindings: up/down (k/j) move the cursor, home jumps to the newest, enter selects
    the signal, which posts :class:`SignalLog.Selected`.
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("home", "first", "Newest", show=False),
        Binding("enter", "select", "Jump to bar"),
    ]

    DEFAULT_CSS = """
    SignalLog {
        height: 1fr;
        border: round $panel;
        border-title-color: $accent;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    SignalLog:focus {
        border: round $accent;
    }
    """

    class Selected(Message):
        """A signal was chosen; handle with ``on_signal_log_selected``."""

        def __init__(self, bar: int, signal: dict) -> None:
            self.bar = bar
            self.signal = signal
            super().__init__()

    def __init__(self, state: RunState, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.state = state
        self.cursor: int | None = None  # index into state.signals (0 = oldest)
        self._seen_signals: tuple[int, str] | None = None
        self._style_cache: tuple[tuple[str, bool], dict[str, Style]] | None = None
        self.border_title = "Signals"

    # -- frame updates -------------------------------------------------------------------------

    def refresh_if_changed(self) -> bool:
        """Grow the virtual size when new signals arrived; redraw only then (or for a new
        theme)."""
        n = len(self.state.signals)
        seen = (n, self.app.theme)
        if seen == self._seen_signals:
            return False
        self._seen_signals = seen
        self.virtual_size = Size(self.size.width, n)
        self.border_title = f"Signals ({n})"
        self.refresh()
        return True

    def row_of(self, index: int) -> int:
        """The display row (0 = top) of signal ``index``."""
        return len(self.state.signals) - 1 - index

    # -- drawing -------------------------------------------------------------------------------

    def _styles(self) -> dict[str, Style]:
        key = (self.app.theme, self.has_focus)
        if self._style_cache is not None and self._style_cache[0] == key:
            return self._style_cache[1]
        theme = self.app.theme_variables
        styles = {
            "plain": Style(),
            "BUY": Style(color=theme.get("success")),
            "SELL": Style(color=theme.get("error")),
            "EXIT": Style(color=theme.get("warning")),
            "dim": Style(dim=True),
            "up": Style(color=theme.get("success")),
            "down": Style(color=theme.get("error")),
            "cursor": Style(
                bgcolor=theme.get("accent") if self.has_focus else theme.get("panel"),
                color=theme.get("background") if self.has_focus else None,
            ),
        }
        self._style_cache = (key, styles)
        return styles

    def render_line(self, y: int) -> Strip:
        """Row ``y`` of the visible part of the log."""
        _, scroll_y = self.scroll_offset
        signals = self.state.signals
        row = scroll_y + y
        width = self.scrollable_content_region.width
        if row >= len(signals):
            return Strip.blank(width, self.rich_style)
        index = len(signals) - 1 - row
        sig = signals[index]
        st = self._styles()
        action = sig.get("action", "")
        side = sig.get("side", "")
        stamp = str(sig.get("timestamp", ""))
        stamp = stamp[:10] if stamp.endswith("T00:00:00") else stamp[:16].replace("T", " ")
        pnl = sig.get("pnl")
        segments = [
            Segment(f"{stamp} ", st["dim"]),
            Segment(f"{action:<5} ", st["EXIT"] if action == "EXIT" else st[side or "BUY"]),
            Segment(f"{side:<4} ", st[side] if side in st else st["dim"]),
            Segment(f"{_price(sig.get('price')):>9} ", st["plain"]),
        ]
        room = width - sum(len(seg.text) for seg in segments)
        if room >= 11:
            if pnl is None:
                segments.append(Segment(" " * 11, st["plain"]))
            else:
                segments.append(Segment(f"{pnl:>+10,.2f} ", st["up"] if pnl >= 0 else st["down"]))
            room -= 11
        if room >= 8:
            segments.append(Segment(f"{_size(sig.get('size')):>7} ", st["dim"]))
            room -= 8
        if room > 0:
            segments.append(Segment(str(sig.get("reason") or ""), st["dim"]))
        strip = Strip(segments).crop(0, width)
        if index == self.cursor:
            strip = strip.extend_cell_length(width).apply_style(st["cursor"])
        return strip.extend_cell_length(width).apply_style(self.rich_style)

    def watch_has_focus(self, _focused: bool) -> None:
        if self.cursor is None and self.state.signals:
            self.cursor = len(self.state.signals) - 1
        self.refresh()

    # -- actions -------------------------------------------------------------------------------

    def action_cursor(self, delta: int) -> None:
        """Move the cursor ``delta`` rows down (toward older signals)."""
        n = len(self.state.signals)
        if not n:
            return
        if self.cursor is None:
            self.cursor = n - 1
        else:
            self.cursor = min(n - 1, max(0, self.cursor - delta))
        self._keep_visible()

    def action_first(self) -> None:
        """Cursor to the newest signal."""
        if self.state.signals:
            self.cursor = len(self.state.signals) - 1
            self._keep_visible()

    def action_last(self) -> None:
        """Cursor to the oldest signal."""
        if self.state.signals:
            self.cursor = 0
            self._keep_visible()

    def action_select(self) -> None:
        """Jump the chart to the bar of the signal under the cursor."""
        if self.cursor is None or not self.state.signals:
            return
        sig = self.state.signals[self.cursor]
        self.post_message(self.Selected(int(sig.get("bar_number", 1)) - 1, sig))

    def on_click(self, event) -> None:  # noqa: ANN001 - textual.events.Click
        row = self.scroll_offset.y + event.y
        n = len(self.state.signals)
        if 0 <= row < n:
            self.cursor = n - 1 - row
            self.refresh()
            self.action_select()

    def _keep_visible(self) -> None:
        if self.cursor is None:
            return
        row = self.row_of(self.cursor)
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)
        self.refresh()


def _price(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.5g}"


def _size(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:,.0f}" if x == int(x) else f"{x:.4g}"
