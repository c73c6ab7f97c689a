"""The engine in a child process, so that the app's interpreter keeps its time for drawing.

A live run in the app plays :meth:`Backtest.stream` from a forked child: the child runs the
backtest and sends its stream items through a pipe in small batches (at most a frame's worth
of time apart); this process yields them again, unchanged, to the player. Candle runs still
refer to bar indexes, which both processes share from the DataFrame loaded before the fork;
the child sends the strategy's indicator values once, after ``init()``, so that this side
can read candles from its own :class:`~algotui.protocol.codec.Codec`.

The pipe is the backpressure: when the player holds back (paused, paced), the pipe fills and
the child waits. Where ``fork`` is not available the stream runs in this process instead.
"""

import multiprocessing
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any

from algotui.engine.backtest import Backtest, bar_columns
from algotui.protocol.codec import Codec, Event, can_fork

__all__ = ["EngineProcess", "can_fork"]

#: A batch goes out once it holds this many items, this many bars, or is this old.
BATCH_ITEMS = 1024
BATCH_BARS = 1024
BATCH_SECONDS = 0.01


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
    # Daemonic only for the parent's bookkeeping (it is stopped when the app exits): a
    # strategy may start processes of its own, e.g. a multiprocessing.Pool in init().
    multiprocessing.current_process().daemon = False
    # The parent's terminal belongs to the app: what the strategy prints (or numpy warns)
    # must not land in the middle of the screen, as inside the app it would not either.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    out = _Batcher(conn)
    try:
        for event in bt.stream():
            if event.type == "metadata":  # the codec first: the app may read the metadata at once
                assert bt.codec is not None
                out.add(("_indicators", 0, [(n, v) for n, v in bt.codec._ind]), 0)
            out.add(tuple(event), event.data[1] - event.data[0] if event.type == "candles" else 0)
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
    out.add(("_end", 0, end), 0)
    out.close()
    conn.close()


class _Batcher:
    """Collects stream items and sends them in batches: once a batch is full, or is
    :data:`BATCH_SECONDS` old. A thread sends a batch left waiting (the last events of a bar
    before a slow strategy's next one), so nothing is held back longer than that."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.batch: list[tuple] = []
        self.bars = 0
        self.started = 0.0  # when the oldest unsent item came
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._flush_old, name="algotui-batches")
        self.thread.daemon = True
        self.thread.start()

    def add(self, item: tuple, bars: int) -> None:
        with self.lock:
            if not self.batch:
                self.started = time.monotonic()
            self.batch.append(item)
            self.bars += bars
            if len(self.batch) >= BATCH_ITEMS or self.bars >= BATCH_BARS:
                self._send()

    def close(self) -> None:
        """Send what is left; stop the thread."""
        self.done.set()
        self.thread.join()
        with self.lock:
            self._send()

    def _send(self) -> None:
        if self.batch:
            self.conn.send(self.batch)
            self.batch = []
            self.bars = 0

    def _flush_old(self) -> None:
        while not self.done.wait(BATCH_SECONDS / 2):
            with self.lock:
                if self.batch and time.monotonic() - self.started >= BATCH_SECONDS:
                    self._send()
