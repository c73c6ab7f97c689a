"""The footer: the keys of the current view, made from the one table in :mod:`algotui.tui.keys`.

Textual's own footer drops whatever does not fit on the right, which at 80 columns were the
help and quit keys. This one keeps the rows marked ``always`` at every width, fits as many of
the others as there is room for, and marks any it had to leave out with an ellipsis.
"""

from rich.text import Text
from textual import events
from textual.widget import Widget

from algotui.tui.keys import KeyRow, has, rows

GAP = 2


class KeyBar(Widget):
    """One line of ``key Label`` items for the given scopes (the first scope's rows first)."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, *scopes: str, global_keys: bool = True, id: str | None = None) -> None:  # noqa: A002
        super().__init__(id=id)
        self.scopes = scopes or ("app",)
        #: Also show the app's ``always`` rows (help, quit); off over a modal screen, where
        #: the app's keys do not reach.
        self.global_keys = global_keys
        self._spans: list[tuple[int, int, KeyRow]] = []

    def items(self) -> list[KeyRow]:
        """The footer rows the app can run now, in table order."""
        out = []
        for scope in self.scopes:
            for row in rows(scope):
                if row.footer and has(self.app, row.needs):
                    out.append(row)
        if self.global_keys and "app" not in self.scopes:  # help and quit in every view
            out += [r for r in rows("app") if r.always]
        return out

    def fit(self, width: int) -> tuple[list[KeyRow], bool]:
        """The rows that fit in ``width`` cells (``always`` rows first), and whether any were
        left out."""
        items = self.items()
        kept = [r for r in items if r.always]
        used = sum(_width(r) + GAP for r in kept)
        dropped = False
        for row in sorted(items, key=lambda r: r.rank):  # a stable sort: table order in a rank
            if row.always:
                continue
            if used + _width(row) + GAP + 1 + GAP <= width:  # and room for an ellipsis
                kept.append(row)
                used += _width(row) + GAP
            else:
                dropped = True
        kept.sort(key=items.index)
        return kept, dropped

    def render(self) -> Text:
        kept, dropped = self.fit(self.content_region.width)
        variables = self.app.theme_variables
        key_style = f"bold {variables.get('accent', '')}".strip()
        text = Text(no_wrap=True, overflow="ellipsis")
        self._spans = []
        # The ellipsis stands where the left-out rows would be: before the first kept row
        # marked ``always`` (help and quit come last in the table).
        marked = not dropped
        for i, row in enumerate(kept):
            if row.always and not marked:
                text.append(("  " if i else "") + "…", style="dim")
                marked = True
            if text.cell_len:
                text.append(" " * GAP)
            start = text.cell_len
            text.append(row.shows, style=key_style)
            text.append(" " + row.footer)
            self._spans.append((start, text.cell_len, row))
        return text

    async def on_click(self, event: events.Click) -> None:
        """A click on an item runs its action, as its key would."""
        x = event.x - self.styles.padding.left
        for start, end, row in self._spans:
            if start <= x < end:
                namespace = self.app if row.scope == "app" else self.screen
                await self.app.run_action(row.action, namespace)
                return


def _width(row: KeyRow) -> int:
    return len(row.shows) + 1 + len(row.footer)
