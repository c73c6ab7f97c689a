"""The runs screen: stored runs in a table, one opened in replay, several compared.

It reads the results store (:mod:`algotui.store`) and dismisses with the recording of the run
to replay, or None; the app then leaves and the command replays it.
"""

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from algotui.errors import UserError
from algotui.store.compare import comparison, equity_plot
from algotui.store.db import Store, resolve_path
from algotui.store.summary import LIST_COLUMNS, list_cells

#: A mark column, the summary columns ``runs list`` shows, and whether it has a recording.
COLUMNS = ("", *(name for name, _ in LIST_COLUMNS), "rec")


class RunsScreen(Screen[Path | None]):
    """Stored runs, newest first: space marks, c compares the marked, enter replays."""

    BINDINGS = [
        Binding("enter", "replay", "Replay"),
        Binding("space", "mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("escape,q", "close", "Back"),
    ]

    DEFAULT_CSS = """
    RunsScreen > #title {
        height: 1;
        background: $panel;
        padding: 0 1;
    }
    RunsScreen > #note {
        height: auto;
        padding: 0 1;
        color: $text-muted;
    }
    RunsScreen > DataTable {
        height: 1fr;
    }
    """

    def __init__(self, db: Path | str | None = None) -> None:
        super().__init__()
        self.path = resolve_path(db)
        self.rows: dict[str, dict[str, Any]] = {}
        self.marked: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(f"[b]Stored runs[/b]  [dim]{self.path}[/dim]", id="title")
        yield DataTable(id="runs", cursor_type="row", zebra_stripes=True)
        yield Static(id="note")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for name in COLUMNS:
            # The mark column is one cell wide from the start: its title is empty.
            table.add_column(name, key=name or "mark", width=1 if not name else None)
        self.load()
        table.focus()

    def load(self) -> None:
        """Read the store into the table (a store that cannot be read is said so)."""
        table = self.query_one(DataTable)
        table.clear()
        self.rows = {}
        note = self.query_one("#note", Static)
        if not self.path.exists():
            note.update(f"No runs stored yet ({self.path}): every `algotui run` saves one.")
            return
        try:
            with Store(self.path) as store:
                rows = store.runs()
        except UserError as exc:
            note.update(Text(str(exc)))
            return
        for r in rows:
            self.rows[r["id"]] = r
            table.add_row(*self._cells(r), key=r["id"])
        if rows:
            note.update(
                "space marks runs, c compares the marked (two or more), enter replays a run "
                "that was recorded"
            )
        else:
            note.update("No runs stored yet: every `algotui run` saves one.")

    def _cells(self, r: dict[str, Any]) -> list[str]:
        mark = "x" if r["id"] in self.marked else ""
        return [mark, *list_cells(r), "yes" if r["recording"] else ""]

    def _current(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0:
            return None
        key = table.coordinate_to_cell_key((table.cursor_row, 0)).row_key.value
        return str(key) if key is not None else None

    def action_mark(self) -> None:
        """Mark or unmark the run under the cursor for comparison."""
        key = self._current()
        if key is None:
            return
        if key in self.marked:
            self.marked.remove(key)
        else:
            self.marked.append(key)
        table = self.query_one(DataTable)
        table.update_cell(key, "mark", "x" if key in self.marked else "")
        table.action_cursor_down()

    def action_compare(self) -> None:
        """Compare the marked runs side by side."""
        if len(self.marked) < 2:
            self.notify("Mark two or more runs with space, then press c.", timeout=3)
            return
        try:
            with Store(self.path) as store:
                infos = [store.get(k) for k in self.marked]
                curves = [(k, store.equity(k)) for k in self.marked]
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.app.push_screen(CompareScreen(infos, curves))

    def action_replay(self) -> None:
        """Leave the app and replay the run under the cursor (if it was recorded)."""
        key = self._current()
        if key is None:
            return
        recording = self.rows[key].get("recording")
        if not recording:
            self.notify(
                f"Run {key} has no recording: runs made with --record FILE can be replayed.",
                timeout=4,
            )
            return
        path = Path(recording)
        if not path.exists():
            self.notify(f"The recording of run {key} is gone: {path}", severity="warning")
            return
        self.dismiss(path)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row (the table takes the key itself) replays it."""
        event.stop()
        self.action_replay()

    def action_close(self) -> None:
        """Back to the run."""
        self.dismiss(None)


class CompareScreen(Screen[None]):
    """Runs side by side: metrics (* marks the best of each row) and their equity overlaid."""

    BINDINGS = [Binding("escape,q", "close", "Back")]

    DEFAULT_CSS = """
    CompareScreen > VerticalScroll {
        height: 1fr;
        padding: 0 1;
    }
    CompareScreen #plot {
        margin-top: 1;
    }
    """

    def __init__(
        self, runs: list[dict[str, Any]], curves: list[tuple[str, list[dict[str, Any]]]]
    ) -> None:
        super().__init__()
        self.runs = runs
        self.curves = curves

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(self.metrics_table(), id="metrics")
            yield Static(id="plot")
        yield Footer()

    def on_mount(self) -> None:
        self.draw_plot()

    def on_resize(self) -> None:
        self.draw_plot()

    def metrics_table(self) -> Table:
        """The comparison as a table, the best of each row bold with a *."""
        table = Table(box=None, pad_edge=False, header_style="bold", title_justify="left")
        table.title = "Compare runs  (* best of the row)"
        table.add_column("")
        for run in self.runs:
            table.add_column(run["id"], justify="right")
        for label, cells, best in comparison(self.runs):
            row: list[Text | str] = [label]
            for i, cell in enumerate(cells):
                row.append(Text(f"{cell} *", style="bold") if i in best else Text(f"{cell}  "))
            table.add_row(*row)
        return table

    def draw_plot(self) -> None:
        """The equity overlay, sized to the screen."""
        width = max(self.size.width - 4, 40)
        color = not self.app.no_color
        text = equity_plot(self.curves, width=width, height=16, color=color)
        self.query_one("#plot", Static).update(Text.from_ansi(text))

    def action_close(self) -> None:
        """Back to the runs."""
        self.dismiss(None)
