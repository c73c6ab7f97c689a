"""Headless runs: a run's records to a recording, a progress bar and a summary, no app.

Whatever stops a headless run (the end, a failure in the strategy, Ctrl-C, SIGTERM, a full
disk), the recording is closed on a whole event and, unless the run completed, ends with an
``error`` event; stderr gets one line saying what happened.
"""

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from rich.console import Console
from rich.table import Table

from algotui.engine.backtest import Backtest
from algotui.errors import UserError
from algotui.format import money, num, pct
from algotui.protocol.records import Candles
from algotui.run.recorder import Recorder, RecordingError


class Interrupted(Exception):
    """The user asked the run to stop (Ctrl-C, SIGTERM)."""


class _Stop:
    """The first Ctrl-C or SIGTERM asks the run to stop between two records (and says so at
    once); a second one stops it at once, even inside a strategy's ``next()``."""

    def __init__(self, err: TextIO) -> None:
        self.asked = ""
        self._err = err
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "_Stop":
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)

    def _handler(self, signum: int, frame: object) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
        with contextlib.suppress(OSError, ValueError):
            print(
                f"algotui: stopping ({self.asked}); press Ctrl-C again to stop at once",
                file=self._err,
                flush=True,
            )


def drain(
    records: Iterable[Any],
    recorder: Recorder | None,
    stop: _Stop,
    progress: Callable[[int], None] | None = None,
) -> str:
    """Write every record to ``recorder`` until the end or a stop; how it stopped: ``""`` at
    the end, else what stopped it (the recording then ends with an ``error`` event)."""
    try:
        for record in records:
            if recorder is not None:
                with recorder.lock:
                    recorder.write(record)
            if progress is not None and isinstance(record, Candles):
                progress(record.bar + len(record))
            if stop.asked:
                raise Interrupted(stop.asked)
    except (KeyboardInterrupt, Interrupted) as exc:
        how = stop.asked or "Ctrl-C"
        if isinstance(exc, KeyboardInterrupt) and not stop.asked:
            how = "Ctrl-C (a KeyboardInterrupt)"
        if recorder is not None:
            recorder.write_error("interrupted", f"stopped by the user ({how})")
        return how
    except RecordingError as exc:
        if recorder is not None:
            recorder.write_error("the recording could not be written", str(exc))
        raise
    return ""


def run_headless(
    bt: Backtest,
    *,
    record: Path | None = None,
    as_json: bool = False,
    protected: list[Path] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    sinks: list[Callable[[Any], None]] | None = None,
) -> int:
    """Drain the backtest at full speed into ``record``; print a summary. Returns the exit code."""
    out = out or sys.stdout
    err = err or sys.stderr
    err_console = Console(file=err, highlight=False)
    recorder = Recorder(record, bt.run_id, protected) if record else None
    to_stdout = record is not None and is_stdout(record)
    bar = _progress(err, err_console, f"{bt.symbol} {bt.strategy_cls.__name__}", len(bt.data))
    stopped = ""
    watchdog = _Watchdog(bt, recorder) if recorder is not None else None
    try:
        # What the strategy prints goes to stderr: stdout is for the results (--json).
        with _Stop(err) as stop, contextlib.redirect_stdout(err):
            stopped = drain(_tee(bt.stream(), sinks), recorder, stop, bar)
    except RecordingError as exc:
        _close(recorder)
        print(f"algotui: error: {exc}", file=err)
        return 1
    finally:
        if watchdog is not None:
            watchdog.stop()
        if bar is not None:
            bar(-1)
        _close(recorder)
    if stopped:
        kept = "; the recording holds every event so far" if record else ""
        print(f"algotui: interrupted ({stopped}){kept}", file=err)
        return 130
    if bt.status == "failed":
        kept = f" (the recording {record} ends with the error event)" if record else ""
        report_failure(bt, err, kept)
        return failure_code(bt)
    metrics = bt.metrics or {}
    return write_results(bt, metrics, out, err, record, as_json, summary_to_err=to_stdout)


class _Watchdog:
    """Writes the candles of bars a strategy has finished while it is stuck on the next one.

    The engine hands out its records when a bar ends; a strategy stuck inside ``next()``
    (waiting on a lock, a socket, a long computation) would keep the bars before it from the
    recording for as long as it is stuck. This thread looks every few milliseconds: when the
    run has not moved for :data:`~algotui.engine.backtest.RUN_SECONDS` and every record given
    out is written, the finished bars go out, numbered next.
    """

    def __init__(self, bt: Backtest, recorder: Recorder) -> None:
        from algotui.engine.backtest import RUN_SECONDS

        self.bt, self.recorder, self.quiet = bt, recorder, RUN_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="algotui-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        seen, since = None, time.monotonic()
        while not self._stop.wait(self.quiet / 2):
            out, strategy = self.bt.emitter, self.bt.strategy
            if out is None or strategy is None:
                continue
            clock = strategy._clock
            now = (clock[0], out.seq)
            if now != seen:
                seen, since = now, time.monotonic()
                continue
            if time.monotonic() - since < self.quiet:
                continue
            recorder = self.recorder
            with recorder.lock:
                if recorder.failed is not None or recorder.last_seq + 1 != out.seq:
                    continue  # a record given out is not written yet: it goes first
                batch = out.finished(clock)
                if batch is not None:
                    try:
                        recorder.write(batch)
                    except RecordingError:
                        return
                    seen = (clock[0], out.seq)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _tee(records: Iterable[Any], sinks: list[Callable[[Any], None]] | None) -> Iterator[Any]:
    if not sinks:
        yield from records
        return
    for record in records:
        for sink in sinks:
            sink(record)
        yield record


def _close(recorder: Recorder | None) -> None:
    if recorder is not None:
        recorder.close()


def is_stdout(path: Path) -> bool:
    try:
        return os.path.samefile(path, "/dev/stdout") or os.path.samefile(path, "/proc/self/fd/1")
    except OSError:
        return str(path) in ("/dev/stdout", "-")


def write_results(
    bt: Any,
    metrics: dict[str, Any],
    out: TextIO,
    err: TextIO,
    record: Path | None,
    as_json: bool,
    summary_to_err: bool = False,
) -> int:
    """The final metrics as JSON, or the summary table; 1 when stdout cannot be written."""
    from algotui.protocol.encode import dumps

    try:
        if as_json:
            out.write(dumps(metrics) + "\n")
            out.flush()
        else:
            print_summary(bt, metrics, err if summary_to_err else out, record)
    except (BrokenPipeError, OSError, ValueError, AttributeError) as exc:
        reason = getattr(exc, "strerror", None) or ("closed" if out is None else str(exc))
        print(f"algotui: error: cannot write the results to stdout ({reason})", file=err)
        return 1
    return 0


def _progress(
    err: TextIO, console: Console, title: str, total: int
) -> Callable[[int], None] | None:
    """A progress bar on stderr when it is a terminal: call with bars done, -1 to end it."""
    if not err.isatty():
        return None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bars"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )
    task = progress.add_task(title, total=total)
    progress.start()
    step = max(1, total // 200)
    shown = [0]

    def update(done: int) -> None:
        if done < 0:
            progress.stop()
        elif done - shown[0] >= step:
            progress.update(task, completed=done)
            shown[0] = done

    return update


def failure_code(bt: Backtest) -> int:
    """2 when the run failed on bad input (e.g. a parameter its init() refused), else 1."""
    return 2 if isinstance(bt.error, UserError) else 1


def report_failure(bt: Backtest, err: TextIO, note: str = "") -> None:
    """The user's own frames (for an exception in their code), then one line naming it."""
    if bt.error_details and not isinstance(bt.error, UserError):
        print(bt.error_details.rstrip(), file=err)
    print(f"algotui: run failed: {bt.error_message}{note}", file=err)


def summary_title(symbol: str, interval: str, strategy: str, params: dict[str, Any]) -> str:
    """``SAMPLE 1d  sma_cross  fast=10 slow=20``."""
    shown = " ".join(f"{k}={v}" for k, v in params.items())
    return "  ".join(x for x in (f"{symbol} {interval}".strip(), strategy, shown) if x)


def print_summary(bt: Any, m: dict[str, Any], out: TextIO, record: Path | None) -> None:
    """A table of the headline metrics."""
    console = Console(file=out, highlight=False)
    title = summary_title(bt.symbol, bt.interval, bt.strategy_name, bt.params)
    table = Table(title=title)
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
