"""The ``algotui`` command line.

One module for ``run``, ``replay``, ``view`` and ``check``: their options are one table a user
reads with ``--help``, and typer builds them from these signatures (``runs``, ``serve`` and
``cache`` live with what they drive). Every command imports what it needs inside itself, so
``--help`` starts without pandas.
"""

import os
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import Abort, Exit, TyperException

from algotui.errors import UserError
from algotui.feed.cache_commands import cache_app
from algotui.serve.command import serve_command
from algotui.store.commands import runs_app  # typer only: each command imports what it needs

app = typer.Typer(
    add_completion=False,
    help="Watch a trading-strategy backtest happen, bar by bar, in your terminal.",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

SourceArg = Annotated[
    str,
    typer.Argument(
        help="'sample' (bundled synthetic data), a .csv/.parquet file, or a Yahoo Finance "
        "ticker such as AAPL, BTC-USD or EURUSD=X."
    ),
]


def theme_choices() -> str:
    """The theme names for --help, read from the theme files' names (no Textual import)."""
    package = Path(__file__).resolve().parent
    folder = package / "themes" if (package / "themes").is_dir() else package.parent / "themes"
    names = sorted(p.stem for p in folder.glob("*.toml"))
    names.sort(key=lambda name: name != "algotui-dark")
    if not names:
        return "see the themes folder"
    return f"{names[0]} (default)" + "".join(f", {n}" for n in names[1:])


ThemeOpt = Annotated[str | None, typer.Option(help=f"Colour theme of the app: {theme_choices()}.")]
StrategyOpt = Annotated[
    str,
    typer.Option("--strategy", "-s", help="A built-in name or path/to/file.py[:Class]."),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", "-p", help="Strategy parameter NAME=VALUE (repeatable)."),
]


ServeOpt = Annotated[
    str | None,
    typer.Option(
        help="Serve the run to remote viewers at [HOST:]PORT (e.g. 8765): browser and algotui view."
    ),
]
ControlTokenOpt = Annotated[
    str | None, typer.Option(help="The token that lets a viewer control the run (default: random).")
]
ViewerTokenOpt = Annotated[
    str | None, typer.Option(help="A token every viewer must give (needed off loopback).")
]
AllowOriginOpt = Annotated[
    list[str] | None,
    typer.Option(help="Another web origin allowed to connect (repeatable; default: same origin)."),
]


def serve_options(
    serve: str | None, control: str | None, viewer: str | None, origins: list[str] | None
):  # noqa: ANN201 - ServeOptions, imported only when serving
    """The bridge options, or None without --serve (the bridge is imported only then)."""
    if serve is None:
        if control or viewer or origins:
            raise UserError("--control-token, --viewer-token and --allow-origin need --serve PORT")
        return None
    from algotui.net.session import parse_serve

    return parse_serve(serve, control, viewer, origins)


def parse_params(items: list[str] | None) -> dict[str, str]:
    """``["fast=5", "slow=30"]`` as a dict; a malformed item is a one-line error."""
    params: dict[str, str] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"-p {item!r}: write parameters as NAME=VALUE, e.g. -p fast=5")
        params[name.strip()] = value
    return params


SPEED_LIMIT = 50_000
#: The largest --cash or --commission-fixed: beyond it, equity times price overflows floats
#: and cents are lost (1e15 is a thousand trillion).
MAX_AMOUNT = 1e15


def check_amount(flag: str, value: float) -> None:
    """A one-line error for an amount of money beyond what the engine's floats hold well."""
    if abs(value) > MAX_AMOUNT:
        raise UserError(f"{flag} {value:g}: give at most {MAX_AMOUNT:g}")


def parse_speed(text: str) -> float | None:
    """Bars per second, or None for ``max``."""
    if text.lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = -1.0
    if not 0.1 <= speed <= SPEED_LIMIT:
        raise UserError(
            f"--speed {text!r}: give bars per second from 0.1 to {SPEED_LIMIT:,} (e.g. 20), or max"
        )
    return speed


@app.callback(invoke_without_command=True)
def _default(ctx: typer.Context) -> None:
    """With no command, ``algotui`` plays the demo: ``algotui run sample``."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(run)


@app.command()
def run(
    source: SourceArg = "sample",
    strategy: StrategyOpt = "sma_cross",
    param: ParamOpt = None,
    cash: Annotated[float, typer.Option(help="Starting cash.")] = 10_000.0,
    commission: Annotated[
        float, typer.Option(help="Commission as a fraction of traded value (0.001 = 0.1%).")
    ] = 0.0,
    commission_fixed: Annotated[float, typer.Option(help="Fixed commission per order.")] = 0.0,
    slippage: Annotated[float, typer.Option(help="Slippage as a fraction of price.")] = 0.0,
    fill: Annotated[
        str,
        typer.Option(
            help="When market orders fill: next-open (the next bar's open) or close (this "
            "bar's close)."
        ),
    ] = "next-open",
    speed: Annotated[str, typer.Option(help="Bars per second in the app, or max.")] = "20",
    emit_every: Annotated[
        int | None,
        typer.Option(help="Emit stats/equity every N bars (default: about 2,000 per run)."),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(help="Run headless at full speed, writing events as JSON Lines (.gz ok)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Headless; print only the final metrics as JSON.")
    ] = False,
    headless: Annotated[
        bool, typer.Option("--headless", help="Run without the app and print a summary table.")
    ] = False,
    close_at_end: Annotated[
        bool,
        typer.Option(
            "--close-at-end", help="Close open trades at the last close (exit_reason 'end')."
        ),
    ] = False,
    clean: Annotated[bool, typer.Option("--clean", help="Drop bad rows from a data file.")] = False,
    period: Annotated[
        str | None,
        typer.Option(help="Ticker history: 1d 5d 1mo 3mo 6mo 1y 2y 5y 10y ytd max (default 1y)."),
    ] = None,
    interval: Annotated[
        str, typer.Option(help="Ticker bar size: 1m 2m 5m 15m 30m 60m 90m 1h 1d 5d 1wk 1mo 3mo.")
    ] = "1d",
    start: Annotated[str | None, typer.Option(help="Ticker history from this date.")] = None,
    end: Annotated[str | None, typer.Option(help="Ticker history up to this date.")] = None,
    refresh: Annotated[
        bool, typer.Option("--refresh", help="Download again, ignoring the cache.")
    ] = False,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the cache.")
    ] = False,
    theme: ThemeOpt = None,
    paused: Annotated[
        bool, typer.Option("--paused", help="Open the app paused at the first bar.")
    ] = False,
    db: Annotated[
        Path | None,
        typer.Option(help="The results store to save to (default: $ALGOTUI_DB, else user data)."),
    ] = None,
    no_save: Annotated[
        bool, typer.Option("--no-save", help="Do not save the run to the results store.")
    ] = False,
    serve: ServeOpt = None,
    control_token: ControlTokenOpt = None,
    viewer_token: ViewerTokenOpt = None,
    allow_origin: AllowOriginOpt = None,
) -> None:
    """Run a backtest: in the app, or headless with --record / --json / --headless."""
    from algotui.engine import Backtest, load_strategy
    from algotui.feed import load_source

    pace = parse_speed(speed)
    bridge = serve_options(serve, control_token, viewer_token, allow_origin)
    check_amount("--cash", cash)
    check_amount("--commission-fixed", commission_fixed)
    interactive = not (record or as_json or headless)
    check_theme(theme)
    params = parse_params(param)
    strategy_cls = load_strategy(strategy)
    data = load_source(
        source,
        clean=clean,
        period=period,
        interval=interval,
        start=start,
        end=end,
        refresh=refresh,
        use_cache=not no_cache,
        notify=lambda note: print(f"algotui: {note}", file=sys.stderr),
    )
    if data.attrs.get("source") != "yahoo":
        given = [
            flag
            for flag, value in (
                ("--period", period),
                ("--interval", None if interval == "1d" else interval),
                ("--start", start),
                ("--end", end),
            )
            if value is not None
        ]
        if given:
            print(
                f"algotui: warning: {', '.join(given)} apply to tickers only; ignored for {source}",
                file=sys.stderr,
            )
    for warning in data.attrs.get("warnings", []):
        print(f"algotui: warning: {warning}", file=sys.stderr)
    bt = Backtest(
        data,
        strategy_cls,
        params,
        cash=cash,
        commission=commission,
        commission_fixed=commission_fixed,
        slippage=slippage,
        fill=fill,
        emit_every=emit_every,
        close_at_end=close_at_end,
    )
    if interactive and not (sys.stdout.isatty() and sys.stdin.isatty()):
        print(
            "algotui: not a terminal, running headless (use --headless to say so)", file=sys.stderr
        )
        interactive = False
    saved = {"close_at_end": close_at_end}  # the one setting the metadata does not carry
    if bridge is not None:
        from algotui.net.wiring import serve_backtest

        inputs = [Path(x) for x in (source, strategy.partition(":")[0]) if Path(x).is_file()]
        store = None
        if not no_save:
            from algotui.store.sink import StoreSink

            store = StoreSink(db, run_id=bt.run_id)
        code = serve_backtest(
            bt,
            bridge,
            pace,
            interactive=interactive,
            record=record,
            protected=inputs,
            paused=paused,
            theme=theme,
            as_json=as_json,
            store=store,
        )
        if store is not None:
            store.finish(
                status="stopped" if code == 130 else None,
                recording=record.resolve() if record else None,
                config=saved,
            )
        raise typer.Exit(code)
    if not interactive:
        from algotui.run.headless import is_stdout, run_headless

        inputs = [Path(x) for x in (source, strategy.partition(":")[0]) if Path(x).is_file()]
        sink = None
        if not no_save:
            from algotui.store.sink import StoreSink

            # The store reads the run's records as the recorder does (candles only counted).
            sink = StoreSink(db, run_id=bt.run_id)
        code = run_headless(
            bt,
            record=record,
            as_json=as_json,
            protected=inputs,
            sinks=None if sink is None else [sink.add_record],
        )
        if sink is not None:
            run_key = sink.finish(
                status="stopped" if code == 130 else None,
                recording=record.resolve() if record else None,
                config=saved,
            )
            if run_key and not as_json:
                # stdout may be the recording itself: then the note goes to stderr
                out = sys.stderr if record and is_stdout(record) else sys.stdout
                print(f"saved as run {run_key} (algotui runs show {run_key})", file=out)
        raise typer.Exit(code)
    from algotui.run.player import Player
    from algotui.run.process import EngineProcess, can_fork

    def save(app) -> None:  # noqa: ANN001 - the app, once it has closed
        from algotui.store.sink import save_state

        if not (app.state.done or app.state.received > (1 if paused else 0)):
            return  # quit before a bar came (--paused shows the first by itself): nothing ran
        status = None if app.state.done else "stopped"
        save_state(app.state, db, status=status, config=saved, run_id=bt.run_id)

    # The engine runs in a child process where it can: this one's time goes to drawing.
    stream = EngineProcess(bt) if can_fork() else bt.stream()
    code = play(
        Player(stream, speed=pace),
        bt.run_id,
        theme,
        paused,
        after=None if no_save else save,
        db=db,
    )
    if bt.status == "failed":
        from algotui.run.headless import failure_code, report_failure

        report_failure(bt, sys.stderr)
        code = failure_code(bt)
    raise typer.Exit(code)


@app.command()
def replay(
    recording: Annotated[Path, typer.Argument(help="A recording made with --record.")],
    speed: Annotated[str, typer.Option(help="Bars per second, or max.")] = "20",
    theme: ThemeOpt = None,
    paused: Annotated[bool, typer.Option("--paused", help="Open paused at the first bar.")] = False,
    record: Annotated[
        Path | None,
        typer.Option(help="Headless: re-emit the events to this recording (.gz ok)."),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Headless; print only the final metrics as JSON.")
    ] = False,
    html: Annotated[
        Path | None, typer.Option(help="Write the run as one self-contained HTML report and exit.")
    ] = None,
    serve: ServeOpt = None,
    control_token: ControlTokenOpt = None,
    viewer_token: ViewerTokenOpt = None,
    allow_origin: AllowOriginOpt = None,
) -> None:
    """Play a recording in the app with the same controls as a live run (or headless)."""
    from algotui.protocol.read import RecordingReader

    pace = parse_speed(speed)
    check_theme(theme)
    bridge = serve_options(serve, control_token, viewer_token, allow_origin)
    if html is not None:
        from algotui.net.report import write_report

        write_report(recording, html)
        print(f"algotui: wrote {html}", file=sys.stderr)
        raise typer.Exit(0)
    if bridge is not None and (record or as_json):
        raise UserError("--serve plays the recording for viewers; give --record/--json without it")
    if record or as_json:
        from algotui.run.replay import replay_headless

        raise typer.Exit(replay_headless(recording, record=record, as_json=as_json))
    RecordingReader(recording).first()
    interactive = sys.stdout.isatty() and sys.stdin.isatty()
    if bridge is not None:
        from algotui.net.wiring import serve_replay

        raise typer.Exit(
            serve_replay(
                recording, bridge, pace, interactive=interactive, paused=paused, theme=theme
            )
        )
    if not interactive:
        raise UserError(
            "replay plays in the app and needs a terminal (or give --record OUT or --json)"
        )
    from algotui.run.player import Player

    notes: list[str] = []
    reader = RecordingReader(recording, notes.append)
    player = Player(reader, speed=pace)
    raise typer.Exit(play(player, "", theme, paused, notes, replay_of=recording.name))


@app.command()
def view(
    url: Annotated[str, typer.Argument(help="The server: ws://HOST:PORT (from --serve).")],
    token: Annotated[
        str | None, typer.Option(help="The control token (keys act remotely) or viewer token.")
    ] = None,
    theme: ThemeOpt = None,
) -> None:
    """Watch a run served by `algotui run --serve` elsewhere, in the same app."""
    check_theme(theme)
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        raise UserError("view plays in the app and needs a terminal (run it in one)")
    from algotui.net.wiring import view_remote

    raise typer.Exit(view_remote(url, token, theme))


def check_theme(theme: str | None) -> None:
    """A one-line error for an unknown theme name."""
    if theme is None:
        return
    from algotui.tui.theming import load_themes

    names = [t.name for t in load_themes()]
    if theme not in names:
        raise UserError(f"--theme {theme!r}: choose one of {', '.join(names)}")


def play(  # noqa: ANN001
    player,
    run_id: str,
    theme: str | None,
    paused: bool,
    notes=None,
    *,
    after=None,
    db: Path | None = None,
    replay_of: str | None = None,
) -> int:
    """Open the app on ``player`` and return its exit code. ``notes`` collects what a reader
    found wrong with a recording; the app shows each as a notice; ``replay_of`` names the
    recording played (the header says REPLAY and its name).

    ``after(app)`` runs once the app has closed (the store saves the run there). A stored run
    picked for replay in the app's runs screen is then replayed.
    """
    from algotui.tui.app import AlgoApp

    app = AlgoApp(
        player, theme=theme, start_paused=paused, run_id=run_id, notes=notes, replay_of=replay_of
    )
    app.store_path = db
    result = app.run()
    if after is not None:
        after(app)
    code = app.return_code or result or 0
    if app.replay_request is not None:
        try:
            replay(app.replay_request, theme=theme)
        except Exit as exc:
            return exc.exit_code
    return code


@app.command()
def check(
    strategy: Annotated[str, typer.Argument(help="FILE.py[:Class] or a built-in name.")],
    param: ParamOpt = None,
    bars: Annotated[int, typer.Option(help="Bars of the sample to run it on.")] = 200,
) -> None:
    """Validate a strategy: find it, list its parameters and indicators, run it on the sample."""
    from algotui.engine import Backtest, load_strategy
    from algotui.feed import load_source

    if bars < 2:
        raise UserError(f"--bars {bars}: give at least 2")
    cls = load_strategy(strategy)
    params = cls.resolve_params(parse_params(param))
    data = load_source("sample").iloc[:bars]
    bt = Backtest(data, cls, params)
    for _ in bt.stream():
        pass
    print(f"strategy   {cls.__name__}  ({strategy})")
    doc = " ".join((cls.__doc__ or "").split())
    if doc:
        print(f"           {doc}")
    shown = ", ".join(f"{k}={v!r}" for k, v in params.items()) or "none"
    print(f"parameters {shown}")
    if bt.strategy is not None and bt.strategy.indicators:
        for ind in bt.strategy.indicators:
            where = "overlay" if ind.overlay else "sub-pane"
            print(f"indicator  {ind.name} ({where})")
    else:
        print("indicators none")
    if bt.status == "failed":
        from algotui.run.headless import failure_code, report_failure

        report_failure(bt, sys.stderr)
        raise typer.Exit(failure_code(bt))
    m = bt.metrics or {}
    print(
        f"OK: ran {m.get('bars')} bars of the sample: {m.get('total_trades')} closed trades, "
        f"{m.get('open_trades')} open, return {m.get('total_return_pct', 0):.2f}%"
    )


app.add_typer(runs_app, name="runs")


app.command(name="serve")(serve_command)
app.add_typer(cache_app, name="cache")


@app.command()
def strategies() -> None:
    """List the built-in strategies with their parameters."""
    from algotui.engine import BUILTINS

    for name, cls in BUILTINS.items():
        params = ", ".join(f"{k}={v!r}" for k, v in cls.parameters().items()) or "no parameters"
        doc = " ".join((cls.__doc__ or "").split())
        print(f"{name}  ({params})\n    {doc}\n")


def _exit(code: int) -> None:
    """Leave with ``code``, even when a strategy left a thread running (a non-daemon thread
    would keep the process alive after the results are out)."""
    if any(t.is_alive() and not t.daemon for t in threading.enumerate()[1:]):
        for stream in (sys.stdout, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(code)
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors print one line and exit 2, never a traceback."""
    from algotui.tui.clock import paint_on_request

    paint_on_request()  # before Textual is imported
    args = list(sys.argv[1:] if argv is None else argv)
    # `algotui AAPL --speed 50` means `algotui run AAPL --speed 50`.
    if args and args[0] not in COMMANDS and args[0] not in ("-h", "--help"):
        args.insert(0, "run")
    try:
        code = app(args=args, prog_name="algotui", standalone_mode=False)
    except UserError as exc:
        print(f"algotui: error: {exc}", file=sys.stderr)
        _exit(exc.exit_code)
    except Exit as exc:
        _exit(exc.exit_code)
    except TyperException as exc:
        message = _one_line(exc.format_message())
        if message.endswith(
            ("is not a valid float.", "is not a valid int.", "is not a valid integer.")
        ):
            command = args[0] if args and args[0] in COMMANDS else "run"
            message = f"{message[:-1]}: give a number (see algotui {command} --help)"
        print(f"algotui: error: {message}", file=sys.stderr)
        _exit(exc.exit_code)
    except (KeyboardInterrupt, Abort):
        print("algotui: interrupted", file=sys.stderr)
        _exit(130)
    _exit(code if isinstance(code, int) else 0)


COMMANDS = ("run", "replay", "view", "check", "strategies", "cache", "runs", "serve")


def _one_line(text: str) -> str:
    return " ".join(text.split())
