"""The help screen: every key of every view, from the one table, and the chart's legend."""

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from algotui.tui.keys import SCOPES, bindings, help_lines, legend

#: From this terminal width the help is laid out in two columns (and fits 200x60 unscrolled).
TWO_COLUMNS = 176


def help_text(owner: object, colours: dict[str, str], columns: int = 1) -> Group | Table:
    """The help: a heading per view, its keys, then the marker legend. ``owner`` (the app)
    decides which optional rows show; ``colours`` are the theme's variables. Descriptions
    wrap in their own column; with ``columns=2`` the main screen's keys stand on the left and
    the other views and the legend on the right."""
    accent = colours.get("accent", "")
    sections = help_lines(SCOPES, owner)
    width = max(len(key) for _, items in sections for key, _ in items)

    def table() -> Table:
        t = Table(box=None, show_header=False, padding=(0, 1), expand=True)
        t.add_column(width=width + 2, no_wrap=True)
        t.add_column(ratio=1, overflow="fold")
        return t

    blocks: list[list[Text | Table]] = []
    for heading, items in sections:
        keys = table()
        for key, description in items:
            keys.add_row(Text(" " + key, style=f"bold {accent}".strip()), description)
        blocks.append([Text(f"\n{heading}", style="bold"), keys])
    marks = table()
    for glyph, colour, meaning in legend():
        marks.add_row(Text(" " + glyph, style=f"bold {colours.get(colour, '')}".strip()), meaning)
    blocks.append([Text("\nChart legend", style="bold"), marks])
    title = Text.assemble(("algotui keys", "bold"), ("   esc, ? or q closes; ↑ ↓ scroll", "dim"))
    if columns == 1:
        return Group(title, *(part for block in blocks for part in block))
    grid = Table.grid(expand=True, padding=(0, 2))
    grid.add_column(ratio=1)
    grid.add_column(ratio=1)
    grid.add_row(Group(title, *blocks[0]), Group(*(p for block in blocks[1:] for p in block)))
    return grid


class HelpScreen(ModalScreen[None]):
    """Every key binding with what it does, and the chart's legend; scrolls when taller than
    the terminal."""

    BINDINGS = bindings("help")

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > VerticalScroll {
        width: 84;
        max-width: 96%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $accent;
        background: $surface;
        scrollbar-size-vertical: 1;
    }
    HelpScreen Static {
        width: 100%;
    }
    """

    def compose(self) -> ComposeResult:
        columns = 2 if self.app.size.width >= TWO_COLUMNS else 1
        body = VerticalScroll(id="help-body")
        if columns == 2:
            body.styles.width = TWO_COLUMNS - 6
        with body:
            yield Static(help_text(self.app, self.app.theme_variables, columns), id="help-text")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        """Back to where the help was opened."""
        self.dismiss(None)

    def action_scroll_up(self) -> None:
        """One line up."""
        self.query_one(VerticalScroll).scroll_up(animate=False)

    def action_scroll_down(self) -> None:
        """One line down."""
        self.query_one(VerticalScroll).scroll_down(animate=False)

    def action_page_up(self) -> None:
        """A page up."""
        self.query_one(VerticalScroll).scroll_page_up(animate=False)

    def action_page_down(self) -> None:
        """A page down."""
        self.query_one(VerticalScroll).scroll_page_down(animate=False)
