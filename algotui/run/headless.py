"""Headless runs: the event stream to a recording, a progress bar and a summary, no TUI."""

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from algotui.engine.backtest import Backtest
from algotui.errors import UserError
from algotui.format import money, num, pct
from algotui.run.recorder import Recorder


def run_headless(
    bt: Backtest,
    *,
    record: Path | None = None,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Drain the backtest at full speed into ``record``; print a summary. Returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    err_console = Console(file=err, highlight=False)
    recorder = Recorder(record) if record else None
    codec_write = recorder.write if recorder else None
    total = len(bt.data)
    progress = None
    if err.isatty() and not as_json:
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,}/{task.total:,} bars"),
            TimeRemainingColumn(),
            console=err_console,
            transient=True,
        )
        task = progress.add_task(f"{bt.symbol} {bt.strategy_cls.__name__}", total=total)
        progress.start()
    step = max(1, total // 200)
    # Ctrl-C sets a flag checked between events, so no event is ever half written.
    stop: list[bool] = []
    previous = _catch_sigint(stop)
    try:
        shown = 0
        for event in bt.stream():
            if codec_write is not None:
                codec_write(bt.codec, event)
            if progress is not None and event.type == "candles":
                done = event.data[1]
                if done - shown >= step:
                    progress.update(task, completed=done)
                    shown = done
            if stop:
                break
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if progress is not None:
            progress.stop()
        if stop and recorder is not None:
            recorder.write_line(
                json.dumps(
                    {
                        "type": "error",
                        "seq": recorder.last_seq + 1,
                        "run_id": bt.run_id,
                        "message": "interrupted",
                        "details": "stopped by the user (Ctrl-C)",
                    }
                )
            )
        if recorder is not None:
            recorder.close()
    if stop:
        err_console.print("algotui: interrupted; the recording holds every event so far")
        return 130
    if bt.status == "failed":
        kept = f" (the recording {record} ends with the error event)" if record else ""
        report_failure(bt, err, kept)
        return failure_code(bt)
    metrics = bt.metrics or {}
    if as_json:
        out.write(json.dumps(metrics, allow_nan=False) + "\n")
    else:
        print_summary(bt, metrics, out, record)
    return 0


def failure_code(bt: Backtest) -> int:
    """2 when the run failed on bad input (e.g. a parameter its init() refused), else 1."""
    return 2 if isinstance(bt.error, UserError) else 1


def report_failure(bt: Backtest, err: TextIO, note: str = "") -> None:
    """The user's own frames (for an exception in their code), then one line naming it."""
    if bt.error_details and not isinstance(bt.error, UserError):
        print(bt.error_details.rstrip(), file=err)
    print(f"algotui: run failed: {bt.error_message}{note}", file=err)


def _catch_sigint(flag: list[bool]):  # noqa: ANN202 - a signal handler or None
    """The first Ctrl-C sets ``flag`` (the run stops between events); a second one interrupts
    at once. Returns the previous handler (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(*_: object) -> None:
        if flag:
            raise KeyboardInterrupt
        flag.append(True)

    return signal.signal(signal.SIGINT, handler)


def print_summary(bt: Backtest, m: dict[str, Any], out: TextIO, record: Path | None) -> None:
    """A table of the headline metrics."""
    console = Console(file=out, highlight=False)
    table = Table(title=f"{bt.symbol} {bt.interval}  {bt.strategy_cls.__name__}  {bt.params}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("Period", f"{m['start'][:10]} .. {m['end'][:10]} ({m['bars']:,} bars)"),
        ("Final equity", money(m["final_equity"])),
        ("Net profit", money(m["net_profit"])),
        ("Return", pct(m["total_return_pct"])),
        ("Buy & hold return", pct(m["buy_and_hold_return_pct"])),
        ("CAGR", pct(m["cagr_pct"])),
        ("Max drawdown", pct(m["max_drawdown"])),
        ("Sharpe", num(m["sharpe_ratio"])),
        ("Sortino", num(m["sortino_ratio"])),
        ("Trades (closed / open)", f"{m['total_trades']} / {m['open_trades']}"),
        ("Win rate", pct(m["win_rate"])),
        ("Profit factor", num(m["profit_factor"])),
        ("Expectancy", money(m["expectancy"])),
        ("Exposure", pct(m["exposure_pct"])),
        ("Commissions", money(m["total_commissions"])),
    ]
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    if m.get("stopped_reason"):
        console.print(f"stopped: {m['stopped_reason']}")
    if record:
        console.print(f"recorded to {record}")
