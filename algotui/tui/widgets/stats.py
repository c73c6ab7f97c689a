"""The stats panel: progress, trades, P&L, equity, drawdown and the open position."""

from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from algotui.format import money, num, pct
from algotui.view.state import RunState

LIVE_ROWS = 9
FINAL_ROWS = 17


def signed(x: float | None, text: str) -> tuple[str, str]:
    """Text with a plus sign for gains, and the name of its theme colour."""
    if x is None or x == 0:
        return text, ""
    return ("+" + text, "success") if x > 0 else (text, "error")


class StatsPanel(Widget):
    """Live run statistics; the full final metrics once the run completes.

    Drawn line by line from a list of rows (label, value, colour), rebuilt only when the run
    state changed (see :meth:`refresh_if_changed`): cheap enough for every frame.
    """

    DEFAULT_CSS = """
    StatsPanel {
        height: 11;
        max-height: 65%;
        padding: 0 1;
        border: round $panel;
        border-title-color: $accent;
    }
    """

    def __init__(self, state: RunState, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.state = state
        self._seen = -1
        self._rows: list[tuple[str, str, str]] = []
        self._styles: dict[str, Style] = {}
        self._theme = ""
        self.border_title = "Stats"

    def refresh_if_changed(self) -> bool:
        """Rebuild the rows if the state moved on since the last frame."""
        if self.state.version == self._seen and self._theme == self.app.theme:
            return False
        self._seen = self.state.version
        self._rows = self.rows()
        height = len(self._rows) + 2
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height  # grows once, when the final metrics arrive
        self.refresh()
        return True

    def rows(self) -> list[tuple[str, str, str]]:
        """(label, value, colour name) for every line of the panel."""
        s = self.state
        st = s.stats
        rows = [("Bar", f"{s.bars:,} / {s.total_bars:,}  {s.progress:5.1f}%", "")]
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
        if s.metrics:
            rows += self._final(s.metrics)
        return rows

    def _final(self, m: dict[str, Any]) -> list[tuple[str, str, str]]:
        ret = m.get("total_return_pct")
        rows = [
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
        """Line ``y``: the label on the left, the value on the right."""
        width = self.content_region.width
        if y >= len(self._rows):
            return Strip.blank(width, self.rich_style)
        label, value, colour = self._rows[y]
        if colour == "bold":
            strip = Strip([Segment(label, self._style("bold"))]).extend_cell_length(width)
            return strip.apply_style(self.rich_style)
        gap = max(1, width - len(label) - len(value))
        if len(label) + len(value) + 1 > width:  # too narrow: the value wins
            label = label[: max(0, width - len(value) - 1)]
            gap = max(1, width - len(label) - len(value))
        segments = [
            Segment(label, self._style("dim")),
            Segment(" " * gap, self._style("dim")),
            Segment(value, self._style(colour)),
        ]
        strip = Strip(segments).crop(0, width).extend_cell_length(width)
        return strip.apply_style(self.rich_style)


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
