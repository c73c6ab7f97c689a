"""The engine in a child process, so that the app's interpreter keeps its time for drawing.

A live run in the app plays :meth:`Backtest.stream` from a forked child: the child runs the
backtest and sends its stream items through a pipe in small batches (at most a frame's worth
of time apart); this process yields them again, unchanged, to the player. Candle runs still
refer to bar indexes, which both processes share from the DataFrame loaded before the fork;
the child sends the strategy's indicator values once, after ``init()``, so that this side
can read candles from its own :class:`~algotui.engine.events.Codec`.

The pipe is the backpressure: when the player holds back (paused, paced), the pipe fills and
the child waits. Where ``fork`` is not available the stream runs in this process instead.
"""

import multiprocessing
import os
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from typing import Any

from algotui.engine.backtest import Backtest, bar_columns
from algotui.engine.events import Codec, Event

#: A batch goes out once it holds this many items, this many bars, or is this old.
BATCH_ITEMS = 1024
BATCH_BARS = 1024
BATCH_SECONDS = 0.01


def can_fork() -> bool:
    """True where the engine can run in a forked child (Linux and the BSDs; macOS forks badly
    once system frameworks are loaded, so there the engine stays in a thread)."""
    return sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()


class EngineProcess:
    """Iterates ``bt.stream()`` run in a child process; ``bt`` here learns what happened.

    After the stream ends, ``bt.status``, ``bt.error_message``, ``bt.error_details``,
    ``bt.metrics`` and ``bt.codec`` are set as if the run had happened in this process
    (``bt.error`` is a :class:`~algotui.errors.UserError` for bad input, else None).
    """

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(bt, send), name="algotui-engine")
        self._proc.daemon = True
        self._proc.start()
        send.close()

    def __iter__(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Event]]:
        """The stream, a batch of items at a time as the child sent them."""
        bt = self.bt
        new = tuple.__new__
        try:
            while True:
                try:
                    batch = self._recv.recv()
                except (EOFError, OSError):
                    self._proc.join(1.0)
                    raise RuntimeError(
                        f"the engine process stopped unexpectedly (exit code {self._proc.exitcode})"
                    ) from None
                out = []
                for kind, seq, data in batch:
                    if kind == "_indicators":
                        df = bt.data
                        bt.codec = Codec(bt.run_id, df.index, bar_columns(df), data, bt.cash)
                        continue
                    if kind == "_end":
                        for name, value in data.items():
                            setattr(bt, name, value)
                        if out:
                            yield out
                        return
                    if kind == "complete":
                        bt.metrics = data["metrics"]
                    out.append(new(Event, (kind, seq, data)))
                yield out
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (if it still runs) and close the pipe."""
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(1.0)
        self._recv.close()


def _child(bt: Backtest, conn: Any) -> None:
    """Run the backtest and send its stream, batched; then how it ended."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the app in the parent handles the keys
    # The parent's terminal belongs to the app: what the strategy prints (or numpy warns)
    # must not land in the middle of the screen, as inside the app it would not either.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    batch: list[tuple] = []
    bars = 0
    sent = time.monotonic()
    try:
        for event in bt.stream():
            kind = event.type
            if kind == "candles":
                a, b = event.data
                bars += b - a
            elif kind == "metadata":  # the codec first: the app may read the metadata at once
                assert bt.codec is not None
                batch.append(("_indicators", 0, [(n, v) for n, v in bt.codec._ind]))
            batch.append(tuple(event))
            now = time.monotonic()
            if len(batch) >= BATCH_ITEMS or bars >= BATCH_BARS or now - sent >= BATCH_SECONDS:
                conn.send(batch)
                batch = []
                bars = 0
                sent = now
    except BaseException as exc:  # noqa: BLE001 - whatever ends the run, the parent hears of it
        bt.status = "failed"
        bt.error_message = bt.error_message or f"the engine failed: {type(exc).__name__}: {exc}"
        bt.error_details = bt.error_details or "".join(traceback.format_exception(exc))
    from algotui.errors import UserError

    end = {
        "status": bt.status,
        "error_message": bt.error_message,
        "error_details": bt.error_details,
        # the message only: an exception object of the user's may not survive the pipe
        "error": UserError(str(bt.error)) if isinstance(bt.error, UserError) else None,
        "bars_done": bt.bars_done,
        "stopped_reason": bt.stopped_reason,
    }
    batch.append(("_end", 0, end))
    conn.send(batch)
    conn.close()
