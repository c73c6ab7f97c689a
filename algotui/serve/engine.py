"""A session's engine in a forked child process; its events arrive here as protocol v1 dicts.

This is the one place the server touches the engine. The child loads the data and imports
the strategy itself, so a strategy file that hangs at import, loops, or raises only ever
stalls or fails its own session; the server's event loop never runs user code. Events cross
the pipe by value (flat protocol v1 dicts, in batches at most :data:`BATCH_SECONDS` apart), so
nothing here depends on how the engine's own compact stream is shaped.

A reader thread per run receives the batches and hands them to the event loop; the loop never
blocks on a pipe. The engine runs at full speed: sessions pace what their viewers see, not the
engine (a finished engine makes seek and step cheap).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from algotui.feed.yahoo_request import PERIOD_DAYS  # days a period reaches back
from algotui.run.process import Batcher
from algotui.serve.config import SAMPLE, RunConfig

BATCH_EVENTS = 512
BATCH_SECONDS = 0.02
#: A run may hold at most this many bars (every event of a session is kept for its viewers).
MAX_BARS = 200_000

Batch = list[dict[str, Any]]


def warm_up() -> None:
    """Import the engine and read the sample once here, so each forked child starts at once."""
    import algotui.engine  # noqa: F401
    import algotui.protocol.encode  # noqa: F401
    from algotui.feed.sample import load_sample

    load_sample()


class EngineRun:
    """One backtest in a child process. ``on_batch`` gets lists of event dicts, ``on_end`` is
    called once with the child's exit code; both on the event loop's thread."""

    def __init__(
        self,
        cfg: RunConfig,
        run_id: str,
        loop: asyncio.AbstractEventLoop,
        on_batch: Callable[[Batch], None],
        on_end: Callable[[int | None], None],
    ) -> None:
        self.cfg = cfg
        self.run_id = run_id
        self._loop = loop
        self._on_batch = on_batch
        self._on_end = on_end
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(cfg, run_id, send), name="algotui-session")
        self._proc.daemon = True
        self._proc.start()
        send.close()
        self.pid = self._proc.pid
        self._reader = threading.Thread(target=self._read, name=f"algotui-read-{run_id}")
        self._reader.daemon = True
        self._reader.start()

    @property
    def alive(self) -> bool:
        """True while the child runs."""
        return self._proc.is_alive()

    def _read(self) -> None:
        try:
            while True:
                try:
                    batch = self._recv.recv()
                except (EOFError, OSError):
                    break
                self._call(self._on_batch, batch)
        finally:
            self._proc.join()
            self._recv.close()
            self._call(self._on_end, self._proc.exitcode)

    def _call(self, fn: Callable[[Any], None], arg: Any) -> None:
        try:
            self._loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:  # the loop is closed: the server is gone
            pass

    def stop(self) -> None:
        """End the child: SIGTERM now, SIGKILL a second later if it ignores that."""
        if not self._proc.is_alive():
            return
        self._proc.terminate()
        pid = self.pid

        def kill() -> None:
            if self._proc.exitcode is None and pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        try:
            self._loop.call_later(1.0, kill)
        except RuntimeError:
            kill()

    def kill(self) -> None:
        """SIGKILL the child if it still runs (a strategy may have caught SIGTERM)."""
        if self._proc.is_alive() and self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def join(self, timeout: float) -> None:
        """Wait (blocking) for the reader to see the child's end."""
        self._reader.join(timeout)


def select_bars(df: Any, cfg: RunConfig) -> Any:
    """The bars of a local source that ``cfg`` asks for: ``start`` (inclusive) to ``end``
    (exclusive, as for tickers), or the last ``period`` of the data."""
    if cfg.start:
        df = df[df.index >= cfg.start]
    if cfg.end:
        df = df[df.index < cfg.end]
    if cfg.period and cfg.period != "max" and len(df):
        last = df.index[-1].date()
        if cfg.period == "ytd":
            first = date(last.year, 1, 1)
        else:
            first = last - timedelta(days=PERIOD_DAYS[cfg.period] - 1)
        df = df[df.index >= first.isoformat()]
    return df


def load_bars(cfg: RunConfig) -> Any:
    """The bars for ``cfg``: the sample (sliced here) or a ticker (Yahoo, with the cache)."""
    from algotui.errors import DataError
    from algotui.feed import load_source

    if cfg.symbol == SAMPLE:
        whole = load_source(SAMPLE)
        df = select_bars(whole, cfg)
        if df.empty:
            first, last = whole.index[0].date(), whole.index[-1].date()
            raise DataError(f"no bars of the sample in that range (it covers {first} to {last})")
        df.attrs.update(whole.attrs)
    else:
        df = load_source(
            cfg.symbol, period=cfg.period, interval=cfg.interval, start=cfg.start, end=cfg.end
        )
    if len(df) > MAX_BARS:
        raise DataError(f"{len(df):,} bars: a session holds at most {MAX_BARS:,} (ask for less)")
    return df


def _child(cfg: RunConfig, run_id: str, conn: Any) -> None:
    """Load, run and send every event as a protocol v1 dict; a failure is an ``error`` event."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops its children itself
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    multiprocessing.current_process().daemon = False  # a strategy may start processes
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    out = Batcher(_sender(conn), items=BATCH_EVENTS, bars=1 << 62, seconds=BATCH_SECONDS)
    seq = 0
    try:
        from algotui.engine import Backtest, load_strategy
        from algotui.errors import UserError

        try:
            df = load_bars(cfg)
            cls = load_strategy(cfg.strategy_spec)
            bt = Backtest(
                df,
                cls,
                cfg.params,
                cash=cfg.cash,
                commission=cfg.commission,
                commission_fixed=cfg.commission_fixed,
                slippage=cfg.slippage,
                fill=cfg.fill,
                emit_every=cfg.emit_every,
                close_at_end=cfg.close_at_end,
                run_id=run_id,
            )
        except UserError as exc:
            out.add(_error(run_id, 0, str(exc), ""))
        else:
            from algotui.protocol.encode import Encoder

            encode = Encoder(run_id).to_dict
            for record in bt.stream():
                item = encode(record)
                if isinstance(item, list):  # a batch of candles
                    out.extend(item)
                    seq = item[-1]["seq"] + 1
                else:
                    out.add(item)
                    seq = item["seq"] + 1
    except BaseException as exc:  # noqa: BLE001 - whatever ends the run, the session hears of it
        details = "".join(traceback.format_exception(exc))
        out.add(_error(run_id, seq, f"the engine failed: {type(exc).__name__}: {exc}", details))
    out.close()
    conn.close()


def _error(run_id: str, seq: int, message: str, details: str) -> dict[str, Any]:
    return {"type": "error", "seq": seq, "run_id": run_id, "message": message, "details": details}


def _sender(conn: Any) -> Any:
    """Sends a batch of events to the server; a server gone away leaves nobody to tell."""

    def send(batch: Batch) -> None:
        try:
            conn.send(batch)
        except (BrokenPipeError, OSError):
            os._exit(0)

    return send
