"""The stats panel: progress, trades, P&L, equity, drawdown and the open position; the final
metrics when the run completes, in two columns where the panel is wide enough, and scrollable
(mouse wheel, or tab to focus it and the arrow keys) where the terminal is too short for them."""

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from algotui.format import money, num, pct
from algotui.tui.keys import bindings
from algotui.view.state import RunState

#: (label, value, theme colour name); a line holds one or two of them.
Cell = tuple[str, str, str]

#: Below this content width the final metrics stay in one column.
TWO_COLUMNS = 44


def signed(x: float | None, text: str) -> tuple[str, str]:
    """Text with a plus sign for gains, and the name of its theme colour."""
    if x is None or x == 0:
        return text, ""
    return ("+" + text, "success") if x > 0 else (text, "error")


class StatsPanel(ScrollView, can_focus=True):
    """Live run statistics; the full final metrics once the run completes.

    Drawn line by line from cells rebuilt only when the run state changed (see
    :meth:`refresh_if_changed`): cheap enough for every frame. Focusable only while its lines
    do not all fit, so that tab goes straight to the signal log during a run.
    """

    BINDINGS = bindings("stats")

    DEFAULT_CSS = """
    StatsPanel {
        height: 11;
        max-height: 65%;
        padding: 0 1;
        border: round $panel;
        border-title-color: $accent;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
    }
    StatsPanel.-final {
        max-height: 75%;
    }
    StatsPanel:focus {
        border: round $accent;
    }
    """

    def __init__(self, state: RunState, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.state = state
        self._seen: tuple = ()
        self._lines: list[list[Cell]] = []
        self._styles: dict[str, Style] = {}
        self._theme = ""
        self.border_title = "Stats"

    def refresh_if_changed(self) -> bool:
        """Rebuild the lines if the state moved on (or the width changed) since the last
        frame."""
        width = self.scrollable_content_region.width
        seen = (self.state.version, self.app.theme, width)
        if seen == self._seen:
            self._update_focusable()
            return False
        self._seen = seen
        self._lines = self.lines(width)
        self.virtual_size = Size(width, len(self._lines))
        height = len(self._lines) + 2
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height  # grows once, when the final metrics arrive
        self.set_class(self.state.metrics is not None, "-final")
        self._update_focusable()
        self.refresh()
        return True

    def _update_focusable(self) -> None:
        overflow = len(self._lines) > self.scrollable_content_region.height > 0
        self.can_focus = overflow
        more = (
            "  ↓ more"
            if overflow and self.scroll_offset.y + self.size.height - 2 < len(self._lines)
            else ""
        )
        title = f"Stats{more}"
        if self.border_title != title:
            self.border_title = title

    def on_resize(self) -> None:
        self.refresh_if_changed()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._update_focusable()

    def rows(self) -> list[Cell]:
        """Every cell, in reading order (live rows, then the final metrics)."""
        s = self.state
        if not s.meta:
            return [("", "loading...", "dim")]
        st = s.stats
        rows: list[Cell] = [("Bar", f"{s.bars:,} / {s.total_bars:,}  {s.progress:5.1f}%", "")]
        rows.append(("", _bar(s.progress), "accent"))
        time = s.times[-1] if s.bars else "-"
        rows.append(("Time", time.replace("T00:00:00", "").replace("T", " "), ""))
        equity = st.get("equity", s.meta.get("initial_balance"))
        pnl = st.get("pnl", 0.0)
        rows.append(("Equity", money(equity), ""))
        rows.append(("P&L", *signed(pnl, money(pnl))))
        rows.append(("Drawdown", pct(st.get("drawdown", 0.0)), ""))
        trades = st.get("total_trades", 0)
        wins, losses = st.get("winning_trades", 0), st.get("losing_trades", 0)
        rows.append(("Trades", f"{trades}  ({wins}W / {losses}L)", ""))
        rows.append(("Win rate", pct(st.get("win_rate")) if trades else "-", ""))
        rows.append(("Position", _position(s), ""))
        if s.metrics is not None:
            rows += self._final(s.metrics)
        return rows

    def lines(self, width: int) -> list[list[Cell]]:
        """The cells laid out in lines: the final metrics two to a line when ``width`` allows."""
        cells = self.rows()
        if width < TWO_COLUMNS or self.state.metrics is None:
            return [[c] for c in cells]
        split = next(i for i, c in enumerate(cells) if c[2] == "bold")
        out = [[c] for c in cells[: split + 1]]
        final = cells[split + 1 :]
        half = (len(final) + 1) // 2
        for i in range(half):
            pair = [final[i]]
            if i + half < len(final):
                pair.append(final[i + half])
            out.append(pair)
        return out

    def _final(self, m: dict[str, Any]) -> list[Cell]:
        ret = m.get("total_return_pct")
        rows: list[Cell] = [
            ("Final", "", "bold"),
            ("Return", *signed(ret, pct(ret))),
            ("Buy & hold", pct(m.get("buy_and_hold_return_pct")), ""),
            ("CAGR", pct(m.get("cagr_pct")), ""),
            ("Max DD", pct(m.get("max_drawdown")), ""),
            ("Sharpe", num(m.get("sharpe_ratio")), ""),
            ("Sortino", num(m.get("sortino_ratio")), ""),
            ("Calmar", num(m.get("calmar_ratio")), ""),
            ("Profit factor", num(m.get("profit_factor")), ""),
            ("Expectancy", money(m.get("expectancy")), ""),
            ("SQN", num(m.get("sqn")), ""),
            ("Exposure", pct(m.get("exposure_pct")), ""),
            ("Avg win", money(m.get("average_win")), ""),
            ("Avg loss", money(m.get("average_loss")), ""),
            ("Best", money(m.get("largest_win")), ""),
            ("Worst", money(m.get("largest_loss")), ""),
            ("Commissions", money(m.get("total_commissions")), ""),
        ]
        if m.get("stopped_reason"):
            rows.append(("Stopped", str(m["stopped_reason"]), "warning"))
        return rows

    def _style(self, name: str) -> Style:
        if self._theme != self.app.theme:
            theme = self.app.theme_variables
            self._styles = {
                "": Style(),
                "dim": Style(dim=True),
                "bold": Style(bold=True),
                **{k: Style(color=theme.get(k)) for k in ("success", "error", "warning", "accent")},
            }
            self._theme = self.app.theme
        return self._styles[name]

    def render_line(self, y: int) -> Strip:
        """Line ``y`` of the visible part: each cell's label on the left, its value on the
        right."""
        width = self.scrollable_content_region.width
        row = self.scroll_offset.y + y
        if row >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        cells = self._lines[row]
        if len(cells) == 1:
            segments = self._cell(cells[0], width)
        else:
            left = (width - 2) // 2
            segments = self._cell(cells[0], left) + [Segment("  ")]
            segments += self._cell(cells[1], width - left - 2)
        strip = Strip(segments).crop(0, width).extend_cell_length(width)
        return strip.apply_style(self.rich_style)

    def _cell(self, cell: Cell, width: int) -> list[Segment]:
        label, value, colour = cell
        if colour == "bold":
            return [Segment(label.ljust(width), self._style("bold"))]
        if len(value) > width:  # too narrow even for the value: cut it, visibly
            value = value[: max(0, width - 1)] + "…"
        if len(label) + len(value) + 1 > width:  # the value wins
            label = label[: max(0, width - len(value) - 1)]
        gap = max(0, width - len(label) - len(value))
        return [
            Segment(label, self._style("dim")),
            Segment(" " * gap),
            Segment(value, self._style(colour)),
        ]


def _bar(progress: float, width: int = 20) -> str:
    filled = int(round(progress / 100 * width))
    return "█" * filled + "░" * (width - filled)


def _position(s: RunState) -> str:
    if not s.open_trades:
        return "flat"
    trades = list(s.open_trades.values())
    size = sum(t.size for t in trades)
    entry = sum(t.entry_price * t.size for t in trades) / size
    return f"{trades[0].direction} {size:g} @ {entry:,.2f}"
