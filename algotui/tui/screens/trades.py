"""The trades view: every closed and open trade in a table, sortable by any column.

``enter`` jumps the chart to the trade (and highlights it), ``d`` opens its detail, ``<`` /
``>`` or a click on a header choose the sort column, ``r`` reverses. The table follows the run
while it plays: new trades appear, open trades are marked at the newest close.
"""

import time
from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from algotui.tui.footer import KeyBar
from algotui.tui.keys import bindings
from algotui.tui.screens.detail import TradeDetail
from algotui.tui.screens.trade_table import TradeRecord, trade_records

#: While the run plays, the view looks for new trades this often (seconds); a reload that
#: took long waits five times its own time before the next, so a run with tens of thousands
#: of trades never keeps the app busy.
REFRESH_SECONDS = 0.5
#: The table holds at most this many rows: the first of the whole list in the order chosen
#: (sorting brings any trade up). Textual's table takes ~0.2 ms a row to fill, so a full
#: table of a long run (27,000 trades on 1M bars) would take seconds on every sort.
MAX_ROWS = 500


def stamp_text(stamp: str | None) -> str:
    """A bar's time as people read it: the date alone at midnight, else date and time."""
    if not stamp:
        return ""
    return stamp[:10] if stamp.endswith("T00:00:00") else stamp[:16].replace("T", " ")


def _num(x: float | None, fmt: str = ",.2f") -> str:
    return "" if x is None else format(x, fmt)


#: (header, sort key, cell text, colour rule): one entry per column.
Column = tuple[str, Callable[[TradeRecord], Any], Callable[[TradeRecord], str], str]
COLUMNS: list[Column] = [
    ("#", lambda t: t.trade_id, lambda t: str(t.trade_id), ""),
    ("Side", lambda t: t.direction, lambda t: t.direction, "side"),
    ("Entry time", lambda t: t.entry_time, lambda t: stamp_text(t.entry_time), ""),
    ("Entry", lambda t: t.entry_price, lambda t: _num(t.entry_price), ""),
    ("Exit time", lambda t: t.exit_time, lambda t: stamp_text(t.exit_time) or "open", ""),
    ("Exit", lambda t: t.exit_price, lambda t: _num(t.exit_price), ""),
    ("Size", lambda t: t.size, lambda t: f"{t.size:g}", ""),
    ("P&L", lambda t: t.pnl, lambda t: _num(t.pnl, "+,.2f"), "pnl"),
    ("P&L %", lambda t: t.pnl_percent, lambda t: _num(t.pnl_percent, "+.2f"), "pnl"),
    ("Bars", lambda t: t.bars_held, lambda t: _num(t.bars_held, "d"), ""),
    ("Exit reason", lambda t: t.status, lambda t: t.status, ""),
    ("MFE %", lambda t: t.mfe, lambda t: _num(t.mfe, ".2f"), ""),
    ("MAE %", lambda t: t.mae, lambda t: _num(t.mae, ".2f"), ""),
]
RIGHT = {"#", "Entry", "Exit", "Size", "P&L", "P&L %", "Bars", "MFE %", "MAE %"}


class TradesScreen(Screen[None]):
    """A sortable table of every trade of the run."""

    BINDINGS = bindings("trades")

    DEFAULT_CSS = """
    TradesScreen {
        layout: vertical;
    }
    TradesScreen #trades-title {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    TradesScreen DataTable {
        height: 1fr;
    }
    """

    def __init__(self, state: Any, on_jump: Callable[[TradeRecord], None]) -> None:
        super().__init__()
        self.state = state
        self.on_jump = on_jump
        self.records: list[TradeRecord] = []
        self.sort_column = 0
        self.reverse = False
        self._seen: tuple = ()
        self._next_read = 0.0
        self._cells: dict[tuple, list[Text]] = {}  # a closed trade's cells never change

    def compose(self) -> ComposeResult:
        yield Static(id="trades-title")
        yield DataTable(cursor_type="row", zebra_stripes=True, id="trades")
        yield KeyBar("trades")

    @property
    def table(self) -> DataTable:
        """The table of trades."""
        return self.query_one(DataTable)

    def on_mount(self) -> None:
        self.reload()
        self.table.focus()
        self.set_interval(REFRESH_SECONDS, self._follow_run)

    def _key(self) -> tuple:
        s = self.state
        # Open trades change with every bar (marked at the close); closed ones only come.
        return (len(s.trades), len(s.open_trades), s.bars if s.open_trades else 0)

    def _follow_run(self) -> None:
        if self._key() != self._seen and time.monotonic() >= self._next_read:
            self.reload()

    def reload(self) -> None:
        """Read the trades again and redraw the table in the current order."""
        started = time.monotonic()
        self._seen = self._key()
        self.records = trade_records(self.state)
        self._draw()
        took = time.monotonic() - started
        self._next_read = time.monotonic() + 5 * took

    def _draw(self) -> None:
        table = self.table
        current = self.selected
        header, key, _, _ = COLUMNS[self.sort_column]
        self.records.sort(key=lambda t: _sortable(key(t)), reverse=self.reverse)
        colours = self.app.theme_variables
        table.clear(columns=True)
        for i, (name, _, _, _) in enumerate(COLUMNS):
            label = name + ((" ▼" if self.reverse else " ▲") if i == self.sort_column else "")
            table.add_column(
                Text(label, style="bold", justify="right" if name in RIGHT else "left"),
                key=str(i),
            )
        shown = self.records[:MAX_ROWS]
        table.add_rows([self._row(t, colours) for t in shown])
        done = [t for t in self.records if not t.is_open]
        won = sum(1 for t in done if (t.pnl or 0) > 0)
        lost = sum(1 for t in done if (t.pnl or 0) < 0)
        opened = len(self.records) - len(done)
        net = sum(t.pnl or 0 for t in done)
        title = Text()
        title.append("Trades", style="bold")
        title.append(f"  {len(done)} closed ({won} won, {lost} lost), {opened} open")
        if done:
            title.append("   net P&L ")
            title.append(f"{net:+,.2f}", style=colours.get("success" if net >= 0 else "error", ""))
        title.append(f"   sorted by {header} ({'descending' if self.reverse else 'ascending'})")
        if not self.records:
            title.append("   no trades yet", style="dim")
        elif len(shown) < len(self.records):
            title.append(
                f"   showing the first {len(shown):,} of {len(self.records):,}"
                " (sort to bring others up)",
                style="dim",
            )
        self.query_one("#trades-title", Static).update(title)
        if current is not None:
            self.select(current.trade_id)

    def _row(self, trade: TradeRecord, colours: dict[str, str]) -> list[Text]:
        """The trade's cells (kept for closed trades: they never change)."""
        if trade.is_open:
            return [_cell(c, trade, colours) for c in COLUMNS]
        key = (trade.trade_id, self.app.theme)
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = [_cell(c, trade, colours) for c in COLUMNS]
        return cells

    @property
    def selected(self) -> TradeRecord | None:
        """The trade under the cursor."""
        row = self.table.cursor_row if self.table.row_count else -1
        return self.records[row] if 0 <= row < len(self.records) else None

    def select(self, trade_id: int) -> None:
        """Put the cursor on the trade ``trade_id``."""
        for i, t in enumerate(self.records[:MAX_ROWS]):
            if t.trade_id == trade_id:
                self.table.move_cursor(row=i, animate=False)
                return

    # -- actions -------------------------------------------------------------------------------

    def action_sort_column(self, delta: int) -> None:
        """Sort by the next (or previous) column."""
        self.sort_column = (self.sort_column + delta) % len(COLUMNS)
        self.reverse = False
        self._draw()

    def action_reverse(self) -> None:
        """Reverse the order."""
        self.reverse = not self.reverse
        self._draw()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        """A click on a header sorts by that column; a second click reverses."""
        if event.column_index == self.sort_column:
            self.reverse = not self.reverse
        else:
            self.sort_column, self.reverse = event.column_index, False
        self._draw()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        """Enter (or a click on the chosen row): jump the chart there."""
        self.action_jump()

    def action_jump(self) -> None:
        """Back to the chart, centred on the trade."""
        trade = self.selected
        if trade is None:
            return
        self.dismiss(None)
        self.on_jump(trade)

    def action_detail(self) -> None:
        """The trade's detail: reasons and level history."""
        trade = self.selected
        if trade is not None:
            self.app.push_screen(TradeDetail(trade))

    def action_close(self) -> None:
        """Back to the chart."""
        self.dismiss(None)


def _sortable(value: Any) -> tuple[bool, Any]:
    """Missing values sort last (ascending)."""
    return (value is None or value == "", value if value is not None else 0)


def _cell(column: Column, trade: TradeRecord, colours: dict[str, str]) -> Text:
    name, _, text_of, rule = column
    style = ""
    if rule == "pnl" and trade.pnl is not None:
        style = colours.get("success" if trade.pnl >= 0 else "error", "")
    elif rule == "side":
        style = colours.get("success" if trade.direction == "long" else "error", "")
    if trade.is_open and name == "Exit time":
        style = f"italic {colours.get('warning', '')}".strip()
    return Text(text_of(trade), style=style, justify="right" if name in RIGHT else "left")
