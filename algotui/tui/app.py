"""The terminal app: a backtest played live, with pause, step, speed, pan, zoom and themes.

The stream (the engine in a child process, see :mod:`algotui.run.process`, or in this process, or a
recording) is read by a worker thread behind a :class:`~algotui.run.player.Player`. A frame timer
drains whatever the player released since the last frame into the
:class:`~algotui.view.state.RunState` and redraws only the panes whose data changed, so the app
never handles a message per bar however fast the run goes.

It is one piece because it is the place where the panes, the screens and the run's controls
meet: each action here is a few lines handing a key to a widget, a screen or the controls
(drawing lives in :mod:`algotui.tui.render`, keys in :mod:`algotui.tui.keys`, the frame's
speed measures in :mod:`algotui.tui.clock`).
"""

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import events as ui
from textual.actions import SkipAction
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.widgets import Static

from algotui.protocol.read import BadEvent
from algotui.run.controls import Controls
from algotui.run.player import Playback, Player
from algotui.tui import speed as ladder
from algotui.tui.clock import FrameClock
from algotui.tui.footer import KeyBar
from algotui.tui.keys import KEYS, KeyRow, bindings, has
from algotui.tui.screens.help import HelpScreen
from algotui.tui.screens.trade_table import TradeRecord
from algotui.tui.screens.trades import TradesScreen, stamp_text
from algotui.tui.theming import DEFAULT_THEME, load_themes
from algotui.tui.widgets.chart import CandleChart
from algotui.tui.widgets.equity import EquityChart
from algotui.tui.widgets.header import StatusBar, header_text
from algotui.tui.widgets.signals import SignalLog
from algotui.tui.widgets.stats import StatsPanel
from algotui.view.state import RunState

#: The key rows of each app action (an action without a row needs nothing).
_APP_ROWS: dict[str, list[KeyRow]] = {}
for _row in KEYS:
    if _row.scope == "app":
        _APP_ROWS.setdefault(_row.name.removeprefix("app."), []).append(_row)
#: Actions that belong to the chart on the main screen: over another view, their keys (which
#: take priority, to reach past a focused pane) go to that view instead.
_MAIN_ONLY = {"left", "right"}


def side_width(width: int) -> int:
    """The side panel grows with the terminal: 40 columns at 80, 54 at 120, 80 at 200 (the
    chart keeps at least 40)."""
    return min(80, max(40, round(width * 0.45)))


class AlgoApp(App[int]):
    """Plays one run. Its keys come from :mod:`algotui.tui.keys`, as do the footer and help.

    The run is driven only through :class:`~algotui.run.controls.Controls` (``self.controls``:
    pause, resume, step, set_speed, finish, seek, stop, and what they report); from the player
    it reads only the stream (``run``, ``drain``, ``done``, ``failure``, ``batched``, and
    ``tick`` where it plays received bars back).
    """

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
        width: 50;
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

    BINDINGS = bindings("app")

    def __init__(
        self,
        player: Any,
        *,
        theme: str | None = None,
        start_paused: bool = False,
        run_id: str = "",
        notes: list[str] | None = None,
        replay_of: str | None = None,
    ) -> None:
        super().__init__()
        self.notes = notes if notes is not None else []  # problems a reader found, to show
        self._noted = 0
        self.state = RunState(run_id)
        # A local player is wrapped with the run state, so that seeking back and playing on
        # works the same for every source.
        self.player = Playback(player, self.state) if isinstance(player, Player) else player
        #: Everything the app asks of the run goes through this interface.
        self.controls: Controls = self.player
        #: The recording's file name when the app plays one (a REPLAY badge says so).
        self.replay_of = replay_of
        self.ended_early = False
        self._themes = [t.name for t in load_themes()]
        for t in load_themes():
            self.register_theme(t)
        self.theme = theme or DEFAULT_THEME
        self._status_text: object = None
        self.frames = 0
        self.clock = FrameClock(engine_elsewhere=getattr(self.player, "batched", False))
        if start_paused:
            # Paused on the first bar, not on an empty chart.
            self.controls.pause()
            self.controls.step(1)

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
        yield KeyBar("app", id="footer")

    def on_mount(self) -> None:
        self.chart = self.query_one(CandleChart)
        self.equity_chart = self.query_one(EquityChart)
        self.stats = self.query_one(StatsPanel)
        self.signals = self.query_one(SignalLog)
        self._apply_size_classes()
        # A daemon thread, not a Textual worker: quitting must never wait for a strategy that
        # is busy (or stuck) inside next().
        threading.Thread(target=self.player.run, name="algotui-engine", daemon=True).start()
        self.clock.start(self.set_interval, self.frame)
        self.frame()

    async def on_event(self, event: ui.Event) -> None:
        if isinstance(
            event, ui.Key | ui.MouseDown | ui.MouseScrollUp | ui.MouseScrollDown | ui.Resize
        ):
            self.wake()
        await super().on_event(event)

    def wake(self) -> None:
        """Back to drawing at the frame rate (a key, an event, a resize)."""
        self.clock.wake()

    @property
    def idle(self) -> bool:
        """True while the frame timer rests (nothing new for a second)."""
        return self.clock.idle

    def on_unmount(self) -> None:
        self.clock.stop()
        # However the app ends, release the worker thread (it may be waiting in a pause).
        self.controls.stop()

    def on_resize(self, event: ui.Resize) -> None:
        # The new size comes from the event: this handler runs before App's own, which is
        # what updates ``self.size`` (reading that here kept the previous size's layout).
        self._apply_size_classes(event.size)

    def _apply_size_classes(self, size: Size | None = None) -> None:
        width, height = size or self.size
        side = self.query_one("#side")
        side.styles.width = side_width(width)
        self.query_one("#main").parent.set_class(height < 30, "-short")

    # -- the frame -----------------------------------------------------------------------------

    def frame(self) -> None:
        """Drain the player into the state and redraw what changed (called by the timer)."""
        done = self.player.done  # read first: every event it released is then in the buffer
        events = self.player.drain()
        if not self.clock.tick(bool(events)):
            return
        if events:
            try:
                self.state.apply(events)
            except (BadEvent, KeyError, ValueError, TypeError) as exc:  # a damaged stream
                self.controls.stop()
                self.state.fail(f"a malformed event in the stream ({type(exc).__name__}: {exc})")
        while self._noted < len(self.notes):
            self.notify(self.notes[self._noted], title="Recording", severity="warning")
            self._noted += 1
        tick = getattr(self.player, "tick", None)
        if tick is not None:
            tick()  # received bars played back at the pace after a seek
        if done and self.player.failure is not None and not self.state.failed:
            exc = self.player.failure
            self.state.fail(f"{type(exc).__name__}: {exc}")
        elif done and not self.state.done and not self.ended_early:
            # The stream stopped without `complete` or `error` (a recording cut short): say
            # so, and where, instead of playing as RUNNING for ever.
            self.ended_early = True
            self.notify(
                f"The stream ended early, at bar {self.state.received:,} of "
                f"{self.state.total_bars:,}, without a complete or error event.",
                title="Ended early",
                severity="warning",
                timeout=8,
            )
        now = self.clock.now()
        flat_out = self.controls.speed is None or self.controls.finishing
        settled = self.state.done or not events
        changed = self.chart.refresh_if_changed()
        if self.clock.equity_due(now, flat_out, settled):
            changed |= self.equity_chart.refresh_if_changed()
        if self.clock.text_due(now, flat_out, settled):
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
        self.clock.after(now, bool(events), flat_out)

    @property
    def run_state_label(self) -> str:
        """LOADING, RUNNING, PAUSED, DONE, FAILED, ENDED EARLY, or REPLAY while a bar older
        than the newest received is shown (a seek back, live or in a recording)."""
        if self.state.rewound:
            return "REPLAY"
        if self.state.failed:
            return "FAILED"
        if self.state.done:
            return "DONE"
        if self.ended_early:
            return "ENDED EARLY"
        if not self.state.meta:
            return "LOADING"
        if self.controls.paused and not self.controls.finishing:
            return "PAUSED"
        return "RUNNING"

    def _update_status(self) -> None:
        label = self.run_state_label
        if label == "ENDED EARLY":
            label = f"ENDED EARLY at bar {self.state.received:,}"
        elif label == "REPLAY":
            label = f"REPLAY bar {self.state.bars:,} of {self.state.received:,}"
        speed = None if self.controls.finishing else self.controls.speed
        prefix = self.status_prefix()
        key = (label, speed, len(self.state.meta), self.size.width, self.theme, prefix)
        if key == self._status_text:
            return
        self._status_text = key
        bar = self.query_one(StatusBar)
        width = max(20, self.size.width - 2)
        bar.update(
            header_text(
                self.state.meta,
                label,
                ladder.speed_text(speed),
                width,
                replay_of=self.replay_of,
                colours=self.theme_variables,
                prefix=prefix,
            )
        )

    def status_prefix(self) -> str:
        """What the header says first (a remote viewer: its connection); nothing here."""
        return ""

    # -- actions -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An action runs only where its key row's capability is there (seek, bar cursor),
        and the chart's arrows only on the main screen."""
        for row in _APP_ROWS.get(action, ()):
            argument = repr(parameters[0]) if parameters else ""
            if argument in row.action and not has(self, row.needs):
                return False
        if action in _MAIN_ONLY and self.screen is not self._main_screen():
            return False
        return True

    def _main_screen(self) -> object:
        return self.query_one("#main").screen

    def _may_control(self) -> bool:
        """False (and a notice) when the run is read-only to this viewer."""
        if getattr(self.controls, "can_control", True):
            return True
        self.notify("This viewer may not control the run.", severity="warning", timeout=3)
        return False

    def action_toggle_pause(self) -> None:
        """Pause or resume the run (after a seek back: play on through what was received)."""
        if (not self.state.done or self.state.rewound) and self._may_control():
            if self.controls.paused:
                self.controls.resume()
            else:
                self.controls.pause()
        self.frame()

    def action_step(self) -> None:
        """Advance one bar (pausing first)."""
        if (not self.state.done or self.state.rewound) and self._may_control():
            self.chart.follow()
            self.controls.step()

    def _cursor_on(self) -> bool:
        """True while the chart's bar cursor is shown (where the chart has one)."""
        return bool(getattr(self.chart, "cursor_on", False))

    # -- seeking: the run as of any bar --------------------------------------------------------

    def action_right(self) -> None:
        """Move the bar cursor; else, paused: a bar on (through what was received, then the
        source's next bar); playing: pan forward."""
        if self._cursor_on():
            self.chart.move_cursor(1)
        elif self.controls.paused and not self.state.done or self.state.rewound:
            self.seek(self.state.bars)
        else:
            self.chart.pan(8)
        self.frame()

    def action_left(self) -> None:
        """Move the bar cursor; else, paused (or done): a bar back; playing: pan back."""
        if self._cursor_on():
            self.chart.move_cursor(-1)
        elif self.controls.paused or self.state.done:
            self.seek(self.state.bars - 2)
        else:
            self.chart.pan(-8)
        self.frame()

    def action_seek_screen(self, screens: int) -> None:
        """Seek a screenful of bars back or on."""
        self.seek(self.state.bars - 1 + screens * max(1, self.chart.visible_bars - 1))

    def action_seek_first(self) -> None:
        """Seek to the first bar."""
        self.seek(0)

    def action_goto(self) -> None:
        """Ask for a bar number or a date and seek there."""
        from algotui.tui.screens.goto import GotoScreen

        def chosen(bar: int | None) -> None:
            if bar is not None:
                self.seek(bar)

        self.push_screen(GotoScreen(self.state), chosen)

    def seek(self, bar: int) -> None:
        """Show the run as of 0-based ``bar`` (pauses first). A read-only viewer moves only
        its own view, through what it received."""
        if self.state.received == 0:
            return
        if not getattr(self.controls, "can_control", True):
            self.state.rewind(min(max(bar, 0), self.state.received - 1))
            if not self.state.rewound:
                self.state.follow()
        else:
            self.controls.seek(max(0, bar))
        self.chart.follow()  # the newest bar shown is the one sought
        self.frame()

    def action_pan(self, columns: int) -> None:
        """Pan the chart by ``columns`` (negative: back in history)."""
        self.chart.pan(columns)
        self.frame()

    def action_follow(self) -> None:
        """Back to the newest bar, following it."""
        self.state.follow()
        self.chart.follow()
        self.frame()

    def action_zoom_in(self) -> None:
        """Fewer bars per column."""
        self.chart.zoom_in()
        self.frame()

    def action_zoom_out(self) -> None:
        """More bars per column."""
        self.chart.zoom_out()
        self.frame()

    def action_chart(self, method: str) -> None:
        """Call a view method of the candle chart (the bar cursor), where it has one."""
        getattr(self.chart, method)()
        self.frame()

    def action_equity(self, method: str) -> None:
        """Call a view method of the equity pane (its whole-run overview)."""
        getattr(self.equity_chart, method)()
        self.frame()

    def action_faster(self) -> None:
        """The next speed up the ladder (the top rung leads to maximum speed)."""
        if self._may_control():
            self.controls.set_speed(ladder.faster(self.controls.speed))
        self.frame()

    def action_slower(self) -> None:
        """The next speed down the ladder (from maximum speed, the top rung)."""
        if self._may_control():
            self.controls.set_speed(ladder.slower(self.controls.speed))
        self.frame()

    def action_max_speed(self) -> None:
        """As fast as the engine goes."""
        if self._may_control():
            self.controls.set_speed(None)
        self.frame()

    def action_finish(self) -> None:
        """Run to the end at once."""
        if self._may_control():
            self.controls.finish()
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
        """Show every key binding and the chart's legend."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_trades(self) -> None:
        """The trades view."""
        if not isinstance(self.screen, TradesScreen):
            self.push_screen(TradesScreen(self.state, self.show_trade))

    def show_trade(self, trade: TradeRecord) -> None:
        """Centre the chart on ``trade``, put the signal log's cursor on its entry, and say
        which trade it is."""
        bar = trade.focus_bar
        visible = self.chart.visible_bars
        if trade.entry_bar is not None and (
            trade.exit_bar is None or trade.exit_bar - trade.entry_bar >= visible - 4
        ):
            bar = trade.entry_bar + visible // 2 - 2  # too long for the window: entry at left
        if bar is not None:
            self.chart.jump_to(bar)
        highlight = getattr(self.chart, "highlight_trade", None)
        if callable(highlight):  # the chart marks the trade itself, where it can
            highlight(trade.trade_id)
        signals = self.state.signals
        for i in range(len(signals) - 1, -1, -1):
            sig = signals[i]
            if sig.get("trade_id") == trade.trade_id and sig.get("action") == "ENTRY":
                self.signals.show_signal(i)
                break
        pnl = "" if trade.pnl is None else f", P&L {trade.pnl:+,.2f}"
        until = "open" if trade.is_open else stamp_text(trade.exit_time)
        since = stamp_text(trade.entry_time)
        self.notify(
            f"Trade #{trade.trade_id} {trade.direction}: {since} to {until}{pnl}",
            title="Trade",
            timeout=4,
        )
        self.frame()

    def action_cursor_jump(self, bars: int) -> None:
        """Move the bar cursor by ``bars`` (shift with an arrow); without one, nothing."""
        if not self._cursor_on() or self.screen.is_modal:
            raise SkipAction()
        self.chart.move_cursor(bars)
        self.frame()

    def action_cursor_hide(self) -> None:
        """Hide the bar cursor (escape does nothing else on the main screen)."""
        if self.screen.is_modal or not self.chart.hide_cursor():
            raise SkipAction()
        self.frame()

    async def action_quit(self) -> None:
        """Stop the run and leave, restoring the terminal (q and ctrl+c)."""
        self.controls.stop()
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
                self.controls.stop()
                self.exit(0, return_code=0)

        self.push_screen(RunsScreen(self.store_path), picked)

    # -- results store: the runs screen (end) ---------------------------------------------------


    def on_signal_log_selected(self, message: SignalLog.Selected) -> None:
        """Jump the chart to the chosen signal's bar."""
        self.chart.jump_to(message.bar)
        self.frame()
