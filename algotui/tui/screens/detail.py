"""One trade in detail: entry and exit with their reasons, the result, and the history of its
stop-loss and take-profit (as set at entry, every move, and the level the exit hit)."""

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from algotui.tui.footer import KeyBar
from algotui.tui.keys import bindings
from algotui.tui.screens.trade_table import TradeRecord


def _stamp(stamp: str | None) -> str:
    if not stamp:
        return "-"
    return stamp[:10] if stamp.endswith("T00:00:00") else stamp[:19].replace("T", " ")


def _price(x: float | None) -> str:
    return "-" if x is None else f"{x:,.2f}" if abs(x) >= 1 else f"{x:.5g}"


def detail_renderables(trade: TradeRecord, colours: dict[str, str]) -> list[Text | Table]:
    """The detail's parts: a summary, then the level history as a table."""
    up, down = colours.get("success", ""), colours.get("error", "")
    text = Text()
    state = "open" if trade.is_open else "closed"
    text.append(f"Trade #{trade.trade_id}", style="bold")
    text.append(f"  {trade.direction} {trade.size:g}, {state}\n")
    rows = [
        ("Entry", f"{_stamp(trade.entry_time)} at {_price(trade.entry_price)}", ""),
        ("  reason", trade.entry_note or "-", "dim"),
        (
            "Exit",
            "open (marked at the newest close)"
            if trade.is_open
            else f"{_stamp(trade.exit_time)} at {_price(trade.exit_price)}",
            "",
        ),
        ("  by", trade.exit_reason or "-", ""),
        ("  reason", trade.exit_note or "-", "dim"),
    ]
    pnl_style = "" if trade.pnl is None else up if trade.pnl >= 0 else down
    pnl = "-" if trade.pnl is None else f"{trade.pnl:+,.2f}"
    if trade.pnl_percent is not None:
        pnl += f"  ({trade.pnl_percent:+.2f}%)"
    rows += [
        ("P&L", pnl, pnl_style),
        ("Commission", "-" if trade.commission is None else f"{trade.commission:,.2f}", ""),
        ("Bars held", "-" if trade.bars_held is None else str(trade.bars_held), ""),
        ("MFE / MAE", f"{_pct(trade.mfe)} / {_pct(trade.mae)} of the entry price", ""),
    ]
    facts = Table.grid(padding=(0, 1))
    facts.add_column(width=11, no_wrap=True)
    facts.add_column(ratio=1, overflow="fold")
    for label, value, style in rows:  # values wrap in their own column
        facts.add_row(
            Text(label, style="dim" if label.startswith(" ") else "bold"), Text(value, style=style)
        )
    heading = Text("\nStop-loss and take-profit", style="bold")
    levels = Table(box=None, padding=(0, 1), show_edge=False, header_style="bold")
    for name, justify in (("time", "left"), ("bar", "right"), ("stop-loss", "right"),
                          ("take-profit", "right"), ("", "left")):  # fmt: skip
        levels.add_column(name, justify=justify)  # type: ignore[arg-type]
    for ch in trade.levels:
        levels.add_row(
            _stamp(ch.time),
            "-" if ch.bar is None else f"{ch.bar + 1:,}",
            _price(ch.stop_loss),
            _price(ch.take_profit),
            ch.note,
        )
    first = trade.levels[0] if trade.levels else None
    if first is None or (len(trade.levels) == 1 and not first.stop_loss and not first.take_profit):
        return [text, facts, heading, Text("none was set", style="dim")]
    return [text, facts, heading, levels]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:+.2f}%"


class TradeDetail(ModalScreen[None]):
    """A trade's detail, over the trades view; esc, d or enter goes back."""

    BINDINGS = bindings("detail")

    DEFAULT_CSS = """
    TradeDetail {
        align: center middle;
    }
    TradeDetail > VerticalScroll {
        width: 72;
        max-width: 96%;
        height: auto;
        max-height: 90%;
        padding: 0 1;
        border: round $accent;
        background: $surface;
    }
    TradeDetail Static {
        width: 100%;
    }
    """

    def __init__(self, trade: TradeRecord) -> None:
        super().__init__()
        self.trade = trade

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            for part in detail_renderables(self.trade, self.app.theme_variables):
                yield Static(part)
        yield KeyBar("detail", global_keys=False)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to the trades."""
        self.dismiss(None)
