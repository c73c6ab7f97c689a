"""Every key of the app, written once: the bindings, the footer and the help screen come from here.

A :class:`KeyRow` says which keys run which action, how the help shows the key, what it does,
and what the footer calls it (if the footer shows it at all). Each row belongs to a scope: the
main screen (``app``), the signal log, the stats panel, the trades view, a trade's detail view
or the help screen; each of those takes its Textual ``BINDINGS`` from :func:`bindings`.

Some rows wait for a feature that is not there in every run: a row with ``needs`` (a
capability such as ``controls.seek``, read with ``getattr`` on the app) is only active, in the
footer and in the help when the app has that capability. That is how seeking (through the
run's :class:`~algotui.run.controls.Controls`) and the chart's bar cursor plug in: their rows
are here already, and light up when the objects they drive can do it.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True, slots=True)
class KeyRow:
    """One binding: keys (Textual names, comma-separated), action, and how people see it."""

    keys: str
    action: str
    shows: str  # the key as the help and the footer print it
    description: str
    footer: str = ""  # the footer's short label; empty: not in the footer
    scope: str = "app"
    needs: str = ""  # a dotted capability on the app (``controls.seek``); empty: always there
    priority: bool = False
    always: bool = False  # the footer keeps it at every width
    rank: int = 5  # when the footer is short of room, lower ranks stay first

    @property
    def name(self) -> str:
        """The action's name without its arguments (``pan`` for ``pan(-8)``)."""
        return self.action.split("(", 1)[0]


#: Scopes in the order the help screen lists them, with their headings.
SCOPES = {
    "app": "Playback and chart",
    "log": "Signal log (tab to focus it)",
    "stats": "Stats panel (tab to focus it when it scrolls)",
    "trades": "Trades view",
    "detail": "Trade detail",
    "help": "This help",
}

KEYS: tuple[KeyRow, ...] = (
    # -- playing -------------------------------------------------------------------------------
    KeyRow("space", "toggle_pause", "space", "pause / resume", "Pause", rank=1),
    KeyRow("n", "step", "n", "step one bar (pauses first)", "Step", rank=1),
    KeyRow(
        "plus,equals_sign", "faster", "+", "next speed up: 0.1 ... 50,000 bars/s, max", "Faster"
    ),
    KeyRow("minus", "slower", "-", "next speed down", "Slower"),
    KeyRow("0", "max_speed", "0", "maximum speed"),
    KeyRow("f", "finish", "f", "finish the run instantly", "Finish", rank=3),
    # -- seeking: the run as of any bar (through the run's controls, where they can seek) ----
    KeyRow(
        "left",
        "left",
        "←",
        "paused: a bar back (stats, trades, log as of it); playing: pan back;"
        " with the bar cursor on: move it",
        priority=True,
    ),
    KeyRow(
        "right",
        "right",
        "→",
        "paused: a bar on (the next bar at the newest); playing: pan on;"
        " with the bar cursor on: move it",
        priority=True,
    ),
    KeyRow("pageup", "seek_screen(-1)", "PgUp", "seek a screen back", needs="controls.seek"),
    KeyRow("pagedown", "seek_screen(1)", "PgDn", "seek a screen on", needs="controls.seek"),
    KeyRow("home", "seek_first", "Home", "seek to the first bar", needs="controls.seek"),
    KeyRow("end", "follow", "End", "the newest bar again (and follow it)"),
    KeyRow("g", "goto", "g", "go to a bar number or a date", "Go to", needs="controls.seek"),
    # -- the chart -----------------------------------------------------------------------------
    KeyRow("less_than_sign", "pan(-8)", "<", "pan the chart back (the run stays where it is)"),
    KeyRow("greater_than_sign", "pan(8)", ">", "pan the chart on"),
    KeyRow("left_square_bracket", "zoom_out", "[", "zoom out (more bars per column)"),
    KeyRow("right_square_bracket", "zoom_in", "]", "zoom in (fewer bars per column)"),
    KeyRow("v", "toggle_volume", "v", "show / hide volume"),
    KeyRow(
        "c",
        "chart('toggle_cursor')",
        "c",
        "bar cursor: ← → move it, the readout shows the bar",
        "Cursor",
        needs="chart.toggle_cursor",
    ),
    KeyRow(
        "shift+left",
        "cursor_jump(-10)",
        "shift ←",
        "with the bar cursor on: ten bars back",
        needs="chart.toggle_cursor",
        priority=True,
    ),
    KeyRow(
        "shift+right",
        "cursor_jump(10)",
        "shift →",
        "with the bar cursor on: ten bars on",
        needs="chart.toggle_cursor",
        priority=True,
    ),
    KeyRow("escape", "cursor_hide", "esc", "hide the bar cursor", needs="chart.toggle_cursor"),
    KeyRow(
        "e",
        "equity('toggle_overview')",
        "e",
        "equity pane: the whole run / the chart's window",
        needs="equity_chart.toggle_overview",
    ),
    # -- views and the app ---------------------------------------------------------------------
    KeyRow("T", "trades", "T", "the trades view: every trade, sortable", "Trades", rank=2),
    KeyRow("R", "runs", "R", "stored runs: browse, compare marked ones, replay a recorded one"),
    KeyRow("tab", "app.focus_next", "tab", "focus the next pane (signal log, stats)"),
    KeyRow("s", "screenshot", "s", "save a screenshot (SVG) in the current folder"),
    KeyRow("t", "cycle_theme", "t", "cycle themes", "Theme", rank=6),
    KeyRow("question_mark", "help", "?", "this help", "Help", always=True),
    KeyRow("q", "quit", "q", "quit (the terminal is restored)", "Quit", always=True),
    KeyRow("ctrl+c", "quit", "ctrl+c", "quit, as q does", priority=True),
    # -- the signal log (focused) --------------------------------------------------------------
    KeyRow("up,k", "cursor(-1)", "↑ k", "newer signal", scope="log"),
    KeyRow("down,j", "cursor(1)", "↓ j", "older signal", scope="log"),
    KeyRow("pageup", "cursor(-10)", "PgUp", "ten newer", scope="log"),
    KeyRow("pagedown", "cursor(10)", "PgDn", "ten older", scope="log"),
    KeyRow("home", "first", "Home", "the newest signal", scope="log"),
    KeyRow("enter", "select", "enter", "jump the chart to the signal's bar", "Jump", scope="log"),
    # -- the stats panel (focused) -------------------------------------------------------------
    KeyRow("up", "scroll_up", "↑", "scroll up", scope="stats"),
    KeyRow("down", "scroll_down", "↓", "scroll down", scope="stats"),
    # -- the trades view -----------------------------------------------------------------------
    KeyRow(
        "enter",
        "jump",
        "enter",
        "jump the chart to the trade (its entry selected in the log)",
        "Jump",
        "trades",
    ),
    KeyRow(
        "d",
        "detail",
        "d",
        "the trade's detail: reasons, stop-loss and target history",
        "Detail",
        "trades",
    ),
    KeyRow(
        "greater_than_sign,full_stop",
        "sort_column(1)",
        ">",
        "sort by the next column",
        "Sort",
        "trades",
    ),
    KeyRow(
        "less_than_sign,comma",
        "sort_column(-1)",
        "<",
        "sort by the previous column",
        scope="trades",
    ),
    KeyRow(
        "r", "reverse", "r", "reverse the order (or click a column's header)", "Reverse", "trades"
    ),
    KeyRow("escape,T", "close", "esc", "back to the chart", "Back", "trades"),
    # -- a trade's detail ----------------------------------------------------------------------
    KeyRow("escape,d,enter", "close", "esc", "back to the trades", "Back", "detail"),
    KeyRow("s", "app.screenshot", "s", "save a screenshot (SVG)", scope="detail"),
    # -- the help screen -----------------------------------------------------------------------
    KeyRow("up,k", "scroll_up", "↑ ↓", "scroll", scope="help"),
    KeyRow("down,j", "scroll_down", "", "", scope="help"),
    KeyRow("pageup", "page_up", "", "", scope="help"),
    KeyRow("pagedown", "page_down", "", "", scope="help"),
    KeyRow("escape,question_mark,q", "close", "esc ? q", "close the help", "Close", "help"),
)

#: The chart's markers and lines, for the help screen's legend: (glyph, theme colour, meaning).
#: The renderer's own legend, when it offers one, takes precedence (see :func:`legend`).
LEGEND: tuple[tuple[str, str, str], ...] = (
    ("▲", "success", "long entry, at the fill bar and price"),
    ("▼", "error", "short entry"),
    ("✕", "warning", "exit (of either side)"),
    ("╌╌", "foreground", "an open trade's entry price"),
    ("╌╌", "error", "its stop-loss"),
    ("╌╌", "success", "its take-profit"),
)


def rows(scope: str) -> list[KeyRow]:
    """The rows of one scope, in table order."""
    return [r for r in KEYS if r.scope == scope]


def bindings(scope: str) -> list[Binding]:
    """Textual bindings for one scope; the footer is drawn by :class:`~algotui.tui.footer.KeyBar`,
    so Textual's own footer flag stays off."""
    return [
        Binding(r.keys, r.action, r.footer or r.description, show=False, priority=r.priority)
        for r in rows(scope)
    ]


def has(owner: object, needs: str) -> bool:
    """True when ``owner`` offers the dotted capability ``needs`` (``controls.seek``)."""
    if not needs:
        return True
    target: object = owner
    for part in needs.split("."):
        target = getattr(target, part, None)
        if target is None:
            return False
    return True


def help_lines(scopes: Iterable[str], owner: object) -> list[tuple[str, list[tuple[str, str]]]]:
    """(heading, [(key, description)]) for each scope, leaving out rows ``owner`` cannot do."""
    out = []
    for scope in scopes:
        items = [
            (r.shows, r.description) for r in rows(scope) if r.description and has(owner, r.needs)
        ]
        if items:
            out.append((SCOPES[scope], items))
    return out


def legend() -> tuple[tuple[str, str, str], ...]:
    """The chart's marker legend: the renderer's own (``algotui.tui.render.MARKER_LEGEND``)
    if it offers one, else :data:`LEGEND`."""
    try:
        from algotui.tui import render  # type: ignore[attr-defined]
    except ImportError:
        return LEGEND
    offered = getattr(render, "MARKER_LEGEND", None)
    if not offered:
        return LEGEND
    return tuple((row.glyph, row.color, row.meaning) for row in offered)


#: What a row with ``needs`` waits for, in the README's words.
NEEDS = {
    "controls.seek": "where the run can seek",
    "chart.toggle_cursor": "where the chart has a bar cursor",
    "equity_chart.toggle_overview": "where the equity pane has an overview",
}

_VIEWS = {
    "app": "main",
    "log": "signal log",
    "stats": "stats",
    "trades": "trades",
    "detail": "trade detail",
    "help": "help",
}


def markdown() -> str:
    """The keys as the README's table (``python -m algotui.tui.keys`` prints it)."""
    lines = ["| key | view | what it does |", "| --- | --- | --- |"]
    for scope in SCOPES:
        for r in rows(scope):
            if not r.description:
                continue
            note = f" ({NEEDS.get(r.needs, r.needs)})" if r.needs else ""
            lines.append(f"| `{r.shows}` | {_VIEWS[scope]} | {r.description}{note} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
