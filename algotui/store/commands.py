"""``algotui runs``: list, show, compare, export and delete stored runs.

Everything heavier than typer is imported inside the commands, so ``algotui --help`` and the
other commands start as fast as before.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from algotui.store.db import Store

runs_app = typer.Typer(
    help="Stored runs: list, show, compare, export, delete.",
    context_settings={"help_option_names": ["-h", "--help"]},
    rich_markup_mode=None,
)

DbOpt = Annotated[
    Path | None,
    typer.Option("--db", help="The store file (default: $ALGOTUI_DB, else the user data folder)."),
]
IdArg = Annotated[str, typer.Argument(help="A run id, or a unique start of one.")]


@runs_app.callback(invoke_without_command=True)
def _runs_default(ctx: typer.Context) -> None:
    """With no subcommand, ``algotui runs`` lists the stored runs."""
    if ctx.invoked_subcommand is None:
        ctx.invoke(runs_list)


def _console() -> "Console":
    from rich.console import Console

    # Piped output is not cut to 80 columns: a table row stays one line.
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def _open(db: Path | None) -> "Store":
    from algotui.store.db import open_existing, resolve_path

    return open_existing(resolve_path(db))


def _when(stamp: str | None) -> str:
    from algotui.store.summary import when

    return when(stamp)


@runs_app.command("list")
def runs_list(
    strategy: Annotated[str | None, typer.Option(help="Only runs of this strategy.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Only runs on this symbol.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many (newest first).")] = None,
    db: DbOpt = None,
) -> None:
    """Stored runs, newest first; * marks the latest of each strategy and symbol."""
    from rich.table import Table

    from algotui.errors import UserError
    from algotui.store.summary import LIST_COLUMNS, list_cells

    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: give at least 1")
    with _open(db) as store:
        if store.count() == 0:
            raise UserError(f"no runs stored yet in {store.path}; `algotui run` saves them")
        rows = store.runs(strategy=strategy, symbol=symbol, limit=limit)
    if not rows:
        wanted = " ".join(
            f"--{k} {v}" for k, v in (("strategy", strategy), ("symbol", symbol)) if v
        )
        raise UserError(f"no stored run matches {wanted} (algotui runs list shows them all)")
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name, right in LIST_COLUMNS:
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for r in rows:
        table.add_row(*list_cells(r))
    _console().print(table)


@runs_app.command("show")
def runs_show(run: IdArg, db: DbOpt = None) -> None:
    """A run's settings, every metric and its trades."""
    from rich.table import Table

    from algotui.format import money, num, pct

    with _open(db) as store:
        key = store.resolve(run)
        info = store.get(key)
        trades = store.trades(key)
    console = _console()
    params = " ".join(f"{k}={v}" for k, v in info["params"].items()) or "-"
    config = " ".join(f"{k}={v}" for k, v in info["config"].items()) or "-"
    bars = f"{info['bars']:,} of {info['total_bars']:,} bars"
    console.print(f"[b]run {info['id']}[/b]  {info['status']}  {_when(info['created_at'])} UTC")
    console.print(f"  {info['strategy']} {params}")
    console.print(f"  {info['symbol']} {info['interval']}  source {info['source']}  {bars}")
    console.print(f"  config {config}", markup=False)
    if info["recording"]:
        console.print(f"  recording {info['recording']}", markup=False)
    if info["error"]:
        console.print(f"  error: {info['error'].splitlines()[0]}", markup=False)
    metrics = info["metrics"]
    if metrics is None:
        console.print("  (no final metrics: the run did not complete)")
    else:
        table = Table(title="metrics", box=None, pad_edge=False, title_justify="left")
        table.add_column("metric")
        table.add_column("value", justify="right")
        for name, value in metrics.items():
            if isinstance(value, list | dict):
                continue
            table.add_row(name, _plain(value))
        console.print(table)
    if not trades:
        console.print("no closed trades")
        return
    table = Table(title=f"{len(trades)} closed trades", box=None, pad_edge=False)
    table.title_justify = "left"
    for name in ("#", "dir", "entry", "price", "exit", "price", "size", "pnl", "pnl %", "reason"):
        table.add_column(name, justify="left" if name in ("dir", "reason") else "right")
    for t in trades:
        table.add_row(
            str(t["trade_id"]),
            t["direction"] or "",
            _when(t["entry_time"]),
            num(t["entry_price"]),
            _when(t["exit_time"]),
            num(t["exit_price"]),
            f"{t['size']:g}" if t["size"] is not None else "-",
            money(t["pnl"]),
            pct(t["pnl_percent"]),
            t["exit_reason"] or "",
        )
    console.print(table)


def _plain(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.1f}"
    return str(value)


@runs_app.command("compare")
def runs_compare(
    runs: Annotated[list[str], typer.Argument(help="Two or more run ids (or unique starts).")],
    plot: Annotated[bool, typer.Option(help="Draw the equity curves overlaid.")] = True,
    db: DbOpt = None,
) -> None:
    """Runs side by side (* marks the best of each row), equity curves overlaid."""
    from rich.table import Table
    from rich.text import Text

    from algotui.errors import UserError
    from algotui.store.compare import comparison, equity_plot

    if len(runs) < 2:
        raise UserError("compare needs two or more run ids (see: algotui runs list)")
    with _open(db) as store:
        keys = [store.resolve(r) for r in runs]
        if len(set(keys)) < len(keys):
            raise UserError("the same run is named twice: give different runs to compare")
        infos = [store.get(k) for k in keys]
        curves = [(k, store.equity(k)) for k in keys]
    console = _console()
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("")
    for key in keys:
        table.add_column(key, justify="right")
    for label, cells, best in comparison(infos):
        row: list[Text | str] = [label]
        for i, cell in enumerate(cells):
            row.append(Text(f"{cell} *", style="bold") if i in best else Text(f"{cell}  "))
        table.add_row(*row)
    console.print(table)
    console.print("* best of the row")
    if plot:
        color = console.is_terminal and not console.no_color
        width = min(console.width, 120)
        console.print(Text.from_ansi(equity_plot(curves, width=width, height=20, color=color)))


@runs_app.command("export")
def runs_export(
    run: IdArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, json or parquet.")] = "csv",
    out: Annotated[
        Path | None,
        typer.Option(help="File (json) or folder (csv, parquet); default run-ID[.json|-csv|...]."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that exist.")] = False,
    db: DbOpt = None,
) -> None:
    """Write a run's trades, equity, daily stats and metrics to files."""
    from algotui.errors import UserError
    from algotui.store.export import FORMATS, export_run

    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose csv, json or parquet")
    with _open(db) as store:
        key = store.resolve(run)
        files = export_run(store, key, fmt, out, force=force)
    for path in files:
        print(f"wrote {path}")


@runs_app.command("delete")
def runs_delete(run: IdArg, db: DbOpt = None) -> None:
    """Delete a stored run (its trades and curves with it)."""
    with _open(db) as store:
        key = store.resolve(run)
        info = store.get(key)
        store.delete(key)
    print(f"deleted run {key} ({info['strategy']} {info['symbol']}, {_when(info['created_at'])})")
