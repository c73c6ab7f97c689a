"""The signal log: every signal, newest first, scrollable, colour-coded; Enter jumps the chart."""

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from algotui.tui.keys import bindings
from algotui.view.state import RunState

#: The index of the reason among a row's cells (the cells before it are kept whole).
REASON = 6


class SignalLog(ScrollView, can_focus=True):
    """Signals (time, action, side, price, size, P&L on exits, reason), newest at the top,
    in columns fitted to the pane's width.

    Draws only the visible rows, so ten thousand signals cost what ten do.

    Bindings (from :mod:`algotui.tui.keys`): up/down (k/j) move the cursor, home jumps to the
    newest, enter selects the signal, which posts :class:`SignalLog.Selected`.
    """

    BINDINGS = bindings("log")

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
        self._widths = {"price": 6, "size": 1, "pnl": 0, "pnl_short": 0}
        self._intraday: bool | None = None

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

    def render_lines(self, crop: Region) -> list[Strip]:
        """Measure the visible rows first, so that every row of a frame shares its columns."""
        signals = self.state.signals
        top = self.scroll_offset.y
        for row in range(top + crop.y, min(len(signals), top + crop.bottom)):
            self._measure(signals[len(signals) - 1 - row])
        return super().render_lines(crop)

    def _measure(self, sig: dict) -> None:
        widths = self._widths
        widths["price"] = max(widths["price"], len(_price(sig.get("price"))))
        widths["size"] = max(widths["size"], len(_size(sig.get("size"))))
        if sig.get("pnl") is not None:
            widths["pnl"] = max(widths["pnl"], len(f"{sig['pnl']:+,.2f}"))
            widths["pnl_short"] = max(widths["pnl_short"], len(f"{sig['pnl']:+,.0f}"))
        if not self._intraday:
            stamp = str(sig.get("timestamp", ""))
            if len(stamp) > 10 and not stamp.endswith("T00:00:00"):
                self._intraday = True  # a bar with a time of day: every row shows one

    def _time_columns(self) -> bool:
        """True when rows show a time of day: an intraday interval, or (interval unknown) a
        timestamp seen with a time other than midnight. Decided once for all rows, so a bar
        at midnight keeps its 00:00."""
        if self._intraday is None:
            interval = str(self.state.meta.get("interval") or "")
            if interval.endswith(("d", "wk", "mo")):
                self._intraday = False
            elif interval.endswith(("m", "h")):
                self._intraday = True
        return bool(self._intraday)

    def columns(self, sig: dict, width: int) -> list[tuple[str, str]]:
        """The row's cells as (text, style name), fitted to ``width``: time, action, side,
        price, size, P&L (exits), reason. Narrow panes use short dates, IN/OUT and whole
        units of P&L; what still does not fit is cut with an ellipsis."""
        w = self._widths
        intraday = self._time_columns()
        stamp = str(sig.get("timestamp", ""))
        day, clock = stamp[:10], stamp[11:16] or "00:00"
        action = str(sig.get("action", ""))
        side = str(sig.get("side", ""))
        fixed = w["price"] + w["size"] + w["pnl"] + 4 + 4 + 6  # numbers, side, spaces
        long_time = 16 if intraday else 10
        short = width < long_time + 5 + fixed + 8  # room for 8 cells of reason
        if short:
            stamp = f"{day[5:]} {clock}" if intraday else day[2:]
            action = {"ENTRY": "IN", "EXIT": "OUT"}.get(action, action)
        else:
            stamp = f"{day} {clock}" if intraday else day
        if sig.get("type") == "levels":  # a moved stop-loss / take-profit
            action, side = ("MOV" if short else "MOVE"), ""
            sig = {
                "reason": f"stop {_price(sig.get('stop_loss'))} target "
                f"{_price(sig.get('take_profit'))} (trade {sig.get('trade_id')})"
            }
        pnl = sig.get("pnl")
        pnl_text = "" if pnl is None else f"{pnl:+,.0f}" if short else f"{pnl:+,.2f}"
        pnl_width = w["pnl_short"] if short else w["pnl"]
        action_style = "EXIT" if sig.get("action") == "EXIT" else side
        if action_style not in ("BUY", "SELL", "EXIT"):
            action_style = "plain"
        return [
            (stamp + " ", "dim"),
            (f"{action:<{3 if short else 5}} ", action_style),
            (f"{side:<4} ", side if side in ("BUY", "SELL") else "dim"),
            (f"{_price(sig.get('price')):>{w['price']}} ", "plain"),
            (f"{_size(sig.get('size')):>{w['size']}} ", "dim"),
            (f"{pnl_text:>{pnl_width}} ", "plain" if pnl is None else "up" if pnl >= 0 else "down"),
            (str(sig.get("reason") or ""), "dim"),
        ]

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
        self._measure(sig)
        st = self._styles()
        segments = []
        used = 0
        for k, (text, style) in enumerate(self.columns(sig, width)):
            if used + len(text) > width:  # cut here, and say so
                keep = max(0, width - used - 1)
                if k < REASON and text.strip():
                    keep = 0  # a number is shown whole or not at all, never as a wrong one
                segments.append(Segment(text[:keep].rstrip() + "…", st[style]))
                break
            segments.append(Segment(text, st[style]))
            used += len(text)
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

    def show_signal(self, index: int) -> None:
        """Put the cursor on signal ``index`` (0 = oldest) and scroll it into view."""
        if 0 <= index < len(self.state.signals):
            self.cursor = index
            self._keep_visible()

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
