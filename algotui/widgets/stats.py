"""The stats panel: progress, trades, P&L, equity, drawdown and the open position."""

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from algotui.state import RunState


def money(x: float | None) -> str:
    """A money amount with thousands separators, or a dash."""
    return "-" if x is None else f"{x:,.2f}"


def pct(x: float | None) -> str:
    """A percentage, or a dash."""
    return "-" if x is None else f"{x:.2f}%"


def num(x: float | None) -> str:
    """A ratio, or a dash."""
    return "-" if x is None else f"{x:.2f}"


class StatsPanel(Static):
    """Live run statistics; the full final metrics once the run completes.

    Redrawn only when the run state changed (see :meth:`refresh_if_changed`).
    """

    DEFAULT_CSS = """
    StatsPanel {
        height: auto;
        padding: 0 1;
        border: round $panel;
        border-title-color: $accent;
    }
    """

    def __init__(self, state: RunState, *, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.state = state
        self._seen = -1
        self._up = self._down = ""
        self.border_title = "Stats"

    def refresh_if_changed(self) -> bool:
        """Rebuild the panel if the state moved on since the last frame."""
        if self.state.version == self._seen:
            return False
        self._seen = self.state.version
        self.update(self.render_stats())
        return True

    def render_stats(self) -> Table:
        """The panel's content for the current state."""
        s = self.state
        st = s.stats
        theme = self.app.theme_variables
        self._up, self._down = theme.get("success", "green"), theme.get("error", "red")
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(style="dim", no_wrap=True)
        table.add_column(justify="right", no_wrap=True)
        table.add_row("Bar", f"{s.bars:,} / {s.total_bars:,}  {s.progress:5.1f}%")
        table.add_row("", _bar(s.progress))
        if s.bars:
            table.add_row("Time", s.times[-1].replace("T00:00:00", "").replace("T", " "))
        equity = st.get("equity", s.meta.get("initial_balance"))
        pnl = st.get("pnl", 0.0)
        table.add_row("Equity", money(equity))
        table.add_row("P&L", self._signed(pnl, money(pnl)))
        table.add_row("Drawdown", pct(st.get("drawdown", 0.0)))
        trades = st.get("total_trades", 0)
        wins, losses = st.get("winning_trades", 0), st.get("losing_trades", 0)
        table.add_row("Trades", f"{trades}  ({wins}W / {losses}L)")
        table.add_row("Win rate", pct(st.get("win_rate")) if trades else "-")
        table.add_row("Position", _position(s))
        if s.metrics:
            self._final(table, s.metrics)
        return table

    def _signed(self, x: float | None, text: str) -> Text:
        """Gains in the theme's success colour with a plus sign, losses in its error colour."""
        if x is None or x == 0:
            return Text(text)
        return Text(("+" if x > 0 else "") + text, style=self._up if x > 0 else self._down)

    def _final(self, table: Table, m: dict[str, Any]) -> None:
        table.add_row(Text("Final", style="bold"), "")
        rows = [
            ("Return", self._signed(m.get("total_return_pct"), pct(m.get("total_return_pct")))),
            ("Buy & hold", pct(m.get("buy_and_hold_return_pct"))),
            ("CAGR", pct(m.get("cagr_pct"))),
            ("Max DD", pct(m.get("max_drawdown"))),
            ("Sharpe", num(m.get("sharpe_ratio"))),
            ("Sortino", num(m.get("sortino_ratio"))),
            ("Calmar", num(m.get("calmar_ratio"))),
            ("Profit factor", num(m.get("profit_factor"))),
            ("Expectancy", money(m.get("expectancy"))),
            ("SQN", num(m.get("sqn"))),
            ("Exposure", pct(m.get("exposure_pct"))),
            ("Avg win", money(m.get("average_win"))),
            ("Avg loss", money(m.get("average_loss"))),
            ("Best", money(m.get("largest_win"))),
            ("Worst", money(m.get("largest_loss"))),
            ("Commissions", money(m.get("total_commissions"))),
        ]
        for name, value in rows:
            table.add_row(name, value)
        if m.get("stopped_reason"):
            table.add_row("Stopped", Text(str(m["stopped_reason"]), style="bold"))


def _bar(progress: float, width: int = 20) -> Text:
    filled = int(round(progress / 100 * width))
    return Text("█" * filled + "░" * (width - filled), style="bold")


def _position(s: RunState) -> str:
    if not s.open_trades:
        return "flat"
    trades = list(s.open_trades.values())
    size = sum(t.size for t in trades)
    entry = sum(t.entry_price * t.size for t in trades) / size
    return f"{trades[0].direction} {size:g} @ {entry:,.2f}"
