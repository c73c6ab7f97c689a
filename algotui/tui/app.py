"""The terminal app: a backtest played live, with pause, step, speed, pan, zoom and themes.

The stream (the engine in a child process, see :mod:`algotui.run.process`, or in this process, or a
recording) is read by a worker thread behind a :class:`~algotui.run.player.Player`. A frame timer
drains whatever the player released since the last frame into the
:class:`~algotui.view.state.RunState` and redraws only the panes whose data changed, so the app
never handles a message per bar however fast the run goes.
"""

import gc
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import events as ui
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from algotui.protocol.read import BadEvent
from algotui.run.player import Playback, Player
from algotui.tui.theming import DEFAULT_THEME, load_themes
from algotui.tui.widgets.chart import CHART_BINDINGS, CHART_HELP_ROWS, CandleChart
from algotui.tui.widgets.equity import EquityChart
from algotui.tui.widgets.signals import SignalLog
from algotui.tui.widgets.stats import StatsPanel
from algotui.view.state import RunState

FRAME_SECONDS = 1 / 60
#: Text panes (stats, signal log) redraw at most this often; the charts on every frame.
TEXT_SECONDS = 1 / 12
#: While the run plays flat out, the side panes change faster than anyone reads them: the
#: text panes redraw at most this often and the equity curve at most :data:`EQUITY_SECONDS`,
#: leaving the frame's time to the candles.
FAST_TEXT_SECONDS = 1 / 4
EQUITY_SECONDS = 1 / 20
#: While the run plays flat out, how often the objects built so far are frozen out of the
#: garbage collector's sight: often enough that each collection before a freeze walks little
#: (~10 ms, where a second's worth took 30-50 ms and showed as key presses answered late).
#: At a set pace less is built, and once a second is enough.
FREEZE_SECONDS = 0.25
PACED_FREEZE_SECONDS = 1.0
#: After this many frame ticks with nothing new (about a second: paused, done), the frame
#: timer stops and the app looks every :data:`IDLE_SECONDS` instead, until an event, a key,
#: the mouse or a resize wakes it.
IDLE_TICKS = 120
IDLE_SECONDS = 0.2


class StatusBar(Static):
    """One line on top: symbol, interval, strategy, speed and the run's state."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """


class HelpScreen(ModalScreen[None]):
    """Every key binding, with what it does. Any of escape, ? or q closes it."""

    BINDINGS = [
        Binding("escape,question_mark,q", "dismiss", "Close"),
    ]

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
    }
    HelpScreen > Static {
        width: auto;
        max-width: 96%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $accent;
        background: $surface;
    }
    """

    def __init__(self, rows: list[tuple[str, str]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        width = max(len(k) for k, _ in self.rows)
        lines = ["[b]algotui keys[/b]  [dim](escape, ? or q closes)[/dim]"]
        lines += [f"[b $accent]{k:<{width}}[/]  {d}" for k, d in self.rows]
        yield Static("\n".join(lines))


HELP_ROWS = [
    *CHART_HELP_ROWS,  # the bar cursor and the equity view (algotui.tui.widgets.chart)
    ("space", "pause / resume"),
    ("n", "step one bar (pauses first)"),
    ("left  right", "paused: seek a bar back / on (stats, trades, log as of it); else pan"),
    ("<  >", "pan the chart back / on (the run stays where it is)"),
    ("pgup  pgdn", "seek a screen back / on"),
    ("home", "seek to the first bar"),
    ("end", "the newest bar again (and follow it)"),
    ("g", "go to a bar number or a date"),
    ("[  ]", "zoom out / in (bars per column)"),
    ("+  -", "double / halve the speed"),
    ("0", "maximum speed"),
    ("f", "finish the run instantly"),
    ("v", "show / hide volume"),
    ("tab", "signal log: up/down, enter jumps the chart there"),
    ("s", "save a screenshot (SVG)"),
    ("t", "cycle themes"),
    ("R", "stored runs: browse, replay one, compare several"),  # results store
    ("?", "this help"),
    ("q", "quit"),
]


class AlgoApp(App[int]):
    """Plays one run. Bindings are listed in :data:`HELP_ROWS` and in the footer."""

    TITLE = "algotui"
    AUTO_FOCUS = None  # keys drive the run until the user tabs into the signal log

    CSS = """
    Screen {
        layout: vertical;
    }
    #main {
        height: 1fr;
    }
    #left {
        width: 1fr;
    }
    #side {
        width: 56;
    }
    CandleChart {
        height: 3fr;
    }
    EquityChart {
        height: 1fr;
        min-height: 5;
        max-height: 14;
    }
    #error {
        display: none;
        height: auto;
        max-height: 8;
        border: round $error;
        color: $error;
        padding: 0 1;
    }
    #error.-shown {
        display: block;
    }
    Screen.-short EquityChart {
        display: none;
    }
    """

    BINDINGS = [
        *CHART_BINDINGS,  # first: while the bar cursor is shown it takes left and right
        Binding("space", "toggle_pause", "Pause/Play"),
        Binding("n", "step", "Step"),
        Binding("right", "right", "Step/Pan", show=False, priority=True),
        Binding("left", "left", "Back/Pan", show=False, priority=True),
        Binding("less_than_sign", "pan(-8)", "Pan back", show=False),
        Binding("greater_than_sign", "pan(8)", "Pan on", show=False),
        Binding("pageup", "seek_screen(-1)", "Back a screen", show=False),
        Binding("pagedown", "seek_screen(1)", "On a screen", show=False),
        Binding("home", "seek_first", "First bar", show=False),
        Binding("end", "follow", "Newest", show=False),
        Binding("g", "goto", "Go to", show=False),
        Binding("left_square_bracket", "zoom_out", "Zoom-", show=False),
        Binding("right_square_bracket", "zoom_in", "Zoom+", show=False),
        Binding("plus,equals_sign", "faster", "Faster"),
        Binding("minus", "slower", "Slower"),
        Binding("0", "max_speed", "Max", show=False),
        Binding("f", "finish", "Finish"),
        Binding("v", "toggle_volume", "Volume", show=False),
        Binding("s", "screenshot", "Shot", show=False),
        Binding("t", "cycle_theme", "Theme"),
        Binding("R", "runs", "Runs", show=False),  # results store
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        player: Any,
        *,
        theme: str | None = None,
        start_paused: bool = False,
        run_id: str = "",
        notes: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.notes = notes if notes is not None else []  # problems a reader found, to show
        self._noted = 0
        self.state = RunState(run_id)
        # The app drives the run only through its controls: a local player is wrapped with
        # the run state, so that seeking back and playing on works the same for every source.
        self.player = Playback(player, self.state) if isinstance(player, Player) else player
        self._themes = [t.name for t in load_themes()]
        for t in load_themes():
            self.register_theme(t)
        self.theme = theme or DEFAULT_THEME
        self._status_text = ""
        self.frames = 0
        self._text_drawn = 0.0
        self._equity_drawn = 0.0
        self._frozen = 0.0
        self._ticks = 0
        self._quiet = 0  # frames in a row without events
        self.idle = False  # the frame timer rests; a slow one looks for news
        self._fast: Any = None
        self._slow: Any = None
        if start_paused:
            self.player.pause()

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusBar(id="status")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield CandleChart(self.state, id="chart")
                yield EquityChart(self.state)
            with Vertical(id="side"):
                yield StatsPanel(self.state, id="stats")
                yield Static(id="error")
                yield SignalLog(self.state, id="signals")
        yield Footer()

    def on_mount(self) -> None:
        # An engine thread and the UI share the GIL: hand it over often so keys and frames
        # are not kept waiting behind a busy engine (the default is 5 ms). An engine in a
        # child process needs no such thing.
        self._switch_interval = sys.getswitchinterval()
        if not self.player.batched:
            sys.setswitchinterval(0.0005)
        self.chart = self.query_one(CandleChart)
        self.equity_chart = self.query_one(EquityChart)
        self.stats = self.query_one(StatsPanel)
        self.signals = self.query_one(SignalLog)
        self._apply_size_classes()
        # A daemon thread, not a Textual worker: quitting must never wait for a strategy that
        # is busy (or stuck) inside next().
        threading.Thread(target=self.player.run, name="algotui-engine", daemon=True).start()
        # With the engine in another process, a finer tick starts each frame as soon as the
        # last one is painted; an engine thread here would only lose time to the extra ticks.
        tick = FRAME_SECONDS / 2 if self.player.batched else FRAME_SECONDS
        self._fast = self.set_interval(tick, self.frame)
        self._slow = self.set_interval(IDLE_SECONDS, self.frame, pause=True)
        self.frame()

    async def on_event(self, event: ui.Event) -> None:
        if isinstance(
            event, ui.Key | ui.MouseDown | ui.MouseScrollUp | ui.MouseScrollDown | ui.Resize
        ):
            self.wake()
        await super().on_event(event)

    def wake(self) -> None:
        """Back to drawing at the frame rate (a key, an event, a resize)."""
        self._quiet = 0
        if self.idle:
            self.idle = False
            self._slow.pause()
            self._fast.resume()

    def on_unmount(self) -> None:
        gc.unfreeze()  # what the run built may go now
        # However the app ends, release the worker thread (it may be waiting in a pause).
        self.player.stop()
        sys.setswitchinterval(self._switch_interval)

    def on_resize(self, event: ui.Resize) -> None:
        # The new size comes from the event: this handler runs before App's own, which is
        # what updates ``self.size`` (reading that here kept the previous size's layout).
        self._apply_size_classes(event.size)

    def _apply_size_classes(self, size: Size | None = None) -> None:
        width, height = size or self.size
        side = self.query_one("#side")
        side.styles.width = 56 if width >= 150 else 44 if width >= 100 else 34
        self.screen.set_class(height < 30, "-short")

    # -- the frame -----------------------------------------------------------------------------

    def frame(self) -> None:
        """Drain the player into the state and redraw what changed (called by the timer)."""
        done = self.player.done  # read first: every event it released is then in the buffer
        events = self.player.drain()
        self._ticks += 1
        if events:
            self.wake()
        else:
            self._quiet += 1
            if self._quiet > IDLE_TICKS and not self.idle and self._fast is not None:
                self.idle = True  # nothing for a second: rest until something happens
                self._fast.pause()
                self._slow.resume()
            if self._quiet > 8 and self._ticks % 4 and not self.idle:
                return  # nothing has come for a while (paused, done): look less often
        if events:
            try:
                self.state.apply(events)
            except (BadEvent, KeyError, ValueError, TypeError) as exc:  # a damaged stream
                self.player.stop()
                self.state.fail(f"a malformed event in the stream ({type(exc).__name__}: {exc})")
        while self._noted < len(self.notes):
            self.notify(self.notes[self._noted], title="Recording", severity="warning")
            self._noted += 1
        tick = getattr(self.player, "tick", None)
        if tick is not None:
            tick()
        if done and self.player.failure is not None and not self.state.failed:
            exc = self.player.failure
            self.state.fail(f"{type(exc).__name__}: {exc}")
        now = time.monotonic()
        flat_out = self.player.speed is None or self.player.finishing
        settled = self.state.done or not events
        changed = self.chart.refresh_if_changed()
        if settled or not flat_out or now - self._equity_drawn >= EQUITY_SECONDS:
            self._equity_drawn = now
            changed |= self.equity_chart.refresh_if_changed()
        text_every = FAST_TEXT_SECONDS if flat_out else TEXT_SECONDS
        if settled or now - self._text_drawn >= text_every:
            self._text_drawn = now
            changed |= self.stats.refresh_if_changed()
            changed |= self.signals.refresh_if_changed()
        self._update_status()
        if self.state.failed:
            box = self.query_one("#error", Static)
            if not box.has_class("-shown"):
                box.update(f"Run failed: {(self.state.failure or {}).get('message', '')}")
                box.add_class("-shown")
        if changed:
            self.frames += 1
        if events and now - self._frozen >= (FREEZE_SECONDS if flat_out else PACED_FREEZE_SECONDS):
            # What the run has built so far stays for the app's lifetime: move it out of the
            # collector's sight, or each full collection walks every signal and trade kept
            # (hundreds of thousands of objects after a long run: pauses of a second). The
            # garbage since the last freeze is collected first (a short walk: older objects
            # are frozen already), so nothing that should be freed is kept.
            self._frozen = now
            gc.collect()
            gc.freeze()

    @property
    def run_state_label(self) -> str:
        """RUNNING, PAUSED, DONE, FAILED, or REPLAY while an older bar than the newest is shown."""
        if self.state.rewound:
            return "REPLAY"
        if self.state.failed:
            return "FAILED"
        if self.state.done:
            return "DONE"
        if self.player.paused and not self.player.finishing:
            return "PAUSED"
        return "RUNNING"

    def _update_status(self) -> None:
        meta = self.state.meta
        label = self.run_state_label
        speed = self.player.speed
        speed_text = "max" if speed is None or self.player.finishing else f"{speed:g} bars/s"
        params = " ".join(f"{k}={v}" for k, v in (meta.get("params") or {}).items())
        color = {"FAILED": "$error", "DONE": "$success", "PAUSED": "$warning"}.get(label, "$accent")
        where = ""
        if self.state.rewound:
            where = f"bar {self.state.bars:,} of {self.state.received:,}  [dim]|[/dim]  "
        text = (
            f"[b {color}]{label:<7}[/]  {where}[b]algotui[/b]  "
            f"{meta.get('symbol', '')} {meta.get('interval', '')}"
            f"  [dim]|[/dim]  {speed_text}  [dim]|[/dim]  {meta.get('strategy', '')} {params}"
        )
        if text != self._status_text:
            self._status_text = text
            self.query_one(StatusBar).update(text)

    # -- actions -------------------------------------------------------------------------------

    def action_toggle_pause(self) -> None:
        """Pause or resume the run."""
        if not self.state.done or self.state.rewound:
            self.player.toggle()
        self.frame()

    def action_step(self) -> None:
        """Advance one bar (pausing first)."""
        if not self.state.done or self.state.rewound:
            self.chart.follow()
            self.player.step()

    # -- seeking: the run as of any bar --------------------------------------------------------

    def action_right(self) -> None:
        """Paused: a bar on (through what was received, then the source's next bar);
        playing: pan forward."""
        if self.player.paused and not self.state.done or self.state.rewound:
            self.seek(self.state.bars)
        else:
            self.chart.pan(8)
        self.frame()

    def action_left(self) -> None:
        """Paused: a bar back; playing: pan back."""
        if self.player.paused or self.state.done:
            self.seek(self.state.bars - 2)
        else:
            self.chart.pan(-8)
        self.frame()

    def action_pan(self, columns: int) -> None:
        """Pan the chart by ``columns`` (negative: back in history)."""
        self.chart.pan(columns)
        self.frame()

    def action_seek_screen(self, screens: int) -> None:
        """Seek a screenful of bars back or on."""
        self.seek(self.state.bars - 1 + screens * max(1, self.chart.visible_bars - 1))

    def action_seek_first(self) -> None:
        """Seek to the first bar."""
        self.seek(0)

    def action_follow(self) -> None:
        """Back to the newest bar, following it."""
        self.state.follow()
        self.chart.follow()
        self.frame()

    def action_goto(self) -> None:
        """Ask for a bar number or a date and seek there."""
        from algotui.tui.screens.goto import GotoScreen

        def chosen(bar: int | None) -> None:
            if bar is not None:
                self.seek(bar)

        self.push_screen(GotoScreen(self.state), chosen)

    def seek(self, bar: int) -> None:
        """Show the run as of 0-based ``bar`` (pauses first)."""
        if self.state.received == 0:
            return
        if not getattr(self.player, "can_control", True):
            self.state.rewind(min(max(bar, 0), self.state.received - 1))
            if not self.state.rewound:
                self.state.follow()
        else:
            self.player.seek(max(0, bar))
        self.chart.follow()  # the newest bar shown is the one sought
        self.frame()

    def action_zoom_in(self) -> None:
        """Fewer bars per column."""
        self.chart.zoom_in()
        self.frame()

    def action_zoom_out(self) -> None:
        """More bars per column."""
        self.chart.zoom_out()
        self.frame()

    def action_faster(self) -> None:
        """Double the speed."""
        self.player.faster()
        self.frame()

    def action_slower(self) -> None:
        """Halve the speed."""
        self.player.slower()
        self.frame()

    def action_max_speed(self) -> None:
        """As fast as the engine goes."""
        self.player.set_speed(None)
        self.frame()

    def action_finish(self) -> None:
        """Run to the end at once."""
        self.player.finish()
        self.frame()

    def action_toggle_volume(self) -> None:
        """Show or hide volume bars."""
        self.chart.toggle_volume()
        self.frame()

    def action_screenshot(self) -> None:
        """Save an SVG screenshot into the current folder."""
        symbol = self.state.meta.get("symbol", "run")
        name = f"algotui-{symbol}-{datetime.now().strftime('%Y%m%d-%H%M%S')}.svg"
        path = self.save_screenshot(filename=name, path=str(Path.cwd()))
        self.notify(f"Screenshot saved to {path}", title="Screenshot")

    def action_cycle_theme(self) -> None:
        """Switch to the next theme."""
        names = self._themes
        current = names.index(self.theme) if self.theme in names else -1
        self.theme = names[(current + 1) % len(names)]
        self.notify(f"Theme: {self.theme}", timeout=2)

    def action_help(self) -> None:
        """Show every key binding."""
        self.push_screen(HelpScreen(HELP_ROWS))

    async def action_quit(self) -> None:
        """Stop the run and leave, restoring the terminal."""
        self.player.stop()
        code = 1 if self.state.failed else 0
        self.exit(code, return_code=code)

    # -- results store: the runs screen (begin) -------------------------------------------------
    #: The store the runs screen reads (``--db``); None for $ALGOTUI_DB or the default.
    store_path: Path | None = None
    #: A stored run's recording picked for replay: the app exits and the command replays it.
    replay_request: Path | None = None

    def action_runs(self) -> None:
        """Browse stored runs: replay one, or compare several."""
        from algotui.tui.screens.runs import RunsScreen

        def picked(recording: Path | None) -> None:
            if recording is not None:
                self.replay_request = recording
                self.player.stop()
                self.exit(0, return_code=0)

        self.push_screen(RunsScreen(self.store_path), picked)

    # -- results store: the runs screen (end) ---------------------------------------------------

    # -- the bar cursor and the equity view (begin; keys in CHART_BINDINGS) ------------------

    def action_cursor_toggle(self) -> None:
        """Show or hide the bar cursor."""
        self.chart.toggle_cursor()
        self.frame()

    def action_cursor_move(self, bars: int) -> None:
        """Move the bar cursor; without one, the key does what it does otherwise."""
        if self.chart.cursor is None or self.screen.is_modal:
            raise SkipAction()
        self.chart.move_cursor(bars)
        self.frame()

    def action_cursor_hide(self) -> None:
        """Hide the bar cursor (escape does nothing else here)."""
        if not self.chart.hide_cursor():
            raise SkipAction()
        self.frame()

    def action_equity_view(self) -> None:
        """Switch the equity pane between the chart's window and the whole run."""
        self.equity_chart.toggle_overview()
        self.frame()

    # -- the bar cursor and the equity view (end) -----------------------------------------------

    def on_signal_log_selected(self, message: SignalLog.Selected) -> None:
        """Jump the chart to the chosen signal's bar."""
        self.chart.jump_to(message.bar)
        self.frame()
