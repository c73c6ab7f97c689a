"""The engine in a child process, so that the app's interpreter keeps its time for drawing.

A live run in the app plays :meth:`Backtest.stream` from a forked child: the child runs the
backtest and sends its records through a pipe in batches (at most :data:`BATCH_SECONDS`
apart); this process yields them again, by value, to the player. A batch's candles travel
as one set of columns (one array per field for all its candle runs, not a few per run), and
come out as :class:`~algotui.protocol.records.Candles` that are views of those columns.

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
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from algotui.engine.backtest import Backtest
from algotui.protocol.candle_text import can_fork
from algotui.protocol.records import Candles

__all__ = ["EngineProcess", "can_fork"]

#: A batch goes out once it holds this many items, this many bars, or is this old.
BATCH_ITEMS = 1024
BATCH_BARS = 1024
BATCH_SECONDS = 0.01


class EngineProcess:
    """Iterates ``bt.stream()`` run in a child process; ``bt`` here learns what happened.

    After the stream ends, ``bt.status``, ``bt.error_message``, ``bt.error_details`` and
    ``bt.metrics`` are set as if the run had happened in this process (``bt.error`` is a
    :class:`~algotui.errors.UserError` for bad input, else None).
    """

    def __init__(self, bt: Backtest) -> None:
        self.bt = bt
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(bt, send), name="algotui-engine")
        self._proc.daemon = True
        self._proc.start()
        send.close()

    def __iter__(self) -> Iterator[Any]:
        for batch in self.batches():
            yield from batch

    def batches(self) -> Iterator[list[Any]]:
        """The records, a batch at a time as the child sent them."""
        bt = self.bt
        try:
            while True:
                try:
                    packed = self._recv.recv()
                except (EOFError, OSError):
                    self._proc.join(1.0)
                    raise RuntimeError(
                        f"the engine process stopped unexpectedly (exit code {self._proc.exitcode})"
                    ) from None
                if isinstance(packed, dict):  # how it ended
                    for name, value in packed.items():
                        setattr(bt, name, value)
                    return
                records = unpack(packed)
                for record in records:
                    if record.type == "complete":
                        bt.metrics = record.metrics
                yield records
        finally:
            self.close()

    def close(self) -> None:
        """Stop the child (if it still runs) and close the pipe."""
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(1.0)
        self._recv.close()


def _child(bt: Backtest, conn: Any) -> None:
    """Run the backtest and send its records, batched; then how it ended."""
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
    out = Batcher(lambda batch: conn.send(pack(batch)))
    try:
        for record in bt.stream():
            out.add(record, len(record) if isinstance(record, Candles) else 0)
    except BaseException as exc:  # noqa: BLE001 - whatever ends the run, the parent hears of it
        bt.status = "failed"
        bt.error_message = bt.error_message or f"the engine failed: {type(exc).__name__}: {exc}"
        bt.error_details = bt.error_details or "".join(traceback.format_exception(exc))
    from algotui.errors import UserError

    out.close()
    conn.send(
        {
            "status": bt.status,
            "error_message": bt.error_message,
            "error_details": bt.error_details,
            # the message only: an exception object of the user's may not survive the pipe
            "error": UserError(str(bt.error)) if isinstance(bt.error, UserError) else None,
            "bars_done": bt.bars_done,
            "stopped_reason": bt.stopped_reason,
        }
    )
    conn.close()


def pack(records: list[Any]) -> tuple:
    """A batch of records for the pipe: the candle runs' columns joined into one array per
    field (a handful of arrays to pickle instead of a handful per run)."""
    runs = [r for r in records if isinstance(r, Candles)]
    if not runs:
        return (records, None)
    first = runs[0]
    columns = [
        np.concatenate([getattr(r, name) for r in runs])
        for name in ("time", "open", "high", "low", "close", "volume")
    ]
    inds = [np.concatenate([r.indicators[k] for r in runs]) for k in range(len(first.names))]
    heads = [(r.seq, r.bar, len(r)) if isinstance(r, Candles) else r for r in records]
    return (heads, (columns, inds, first.names, first.total))


def unpack(packed: tuple) -> list[Any]:
    """The records of a packed batch; its candles are views of the batch's columns."""
    heads, joined = packed
    if joined is None:
        return heads
    (time, o, h, lo, c, v), inds, names, total = joined
    out = []
    at = 0
    for head in heads:
        if head.__class__ is tuple:
            seq, bar, n = head
            b = at + n
            out.append(
                Candles(
                    seq,
                    bar,
                    time[at:b],
                    (o[at:b], h[at:b], lo[at:b], c[at:b], v[at:b]),
                    names,
                    tuple(x[at:b] for x in inds),
                    total,
                )
            )
            at = b
        else:
            out.append(head)
    return out


class Batcher:
    """Collects items and hands them to ``send`` in batches: once a batch holds ``items``
    items or ``bars`` bars, or is ``seconds`` old. A thread sends a batch left waiting (the
    last events of a bar before a slow strategy's next one), so nothing is held back longer.
    The transport of an engine in a child process (here, and for ``algotui serve``'s
    sessions)."""

    def __init__(
        self,
        send: Callable[[list[Any]], None],
        *,
        items: int = BATCH_ITEMS,
        bars: int = BATCH_BARS,
        seconds: float = BATCH_SECONDS,
    ) -> None:
        self.send = send
        self.max_items, self.max_bars, self.seconds = items, bars, seconds
        self.batch: list[Any] = []
        self.bars = 0
        self.started = 0.0  # when the oldest unsent item came
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._flush_old, name="algotui-batches")
        self.thread.daemon = True
        self.thread.start()

    def add(self, item: Any, bars: int = 0) -> None:
        """One item (``bars`` bars of candles in it)."""
        self.extend([item], bars)

    def extend(self, items: list[Any], bars: int = 0) -> None:
        """Several items at once."""
        with self.lock:
            if not self.batch:
                self.started = time.monotonic()
            self.batch.extend(items)
            self.bars += bars
            if len(self.batch) >= self.max_items or self.bars >= self.max_bars:
                self._send()

    def close(self) -> None:
        """Send what is left; stop the thread."""
        self.done.set()
        self.thread.join()
        with self.lock:
            self._send()

    def _send(self) -> None:
        if self.batch:
            self.send(self.batch)
            self.batch = []
            self.bars = 0

    def _flush_old(self) -> None:
        while not self.done.wait(self.seconds / 2):
            with self.lock:
                if self.batch and time.monotonic() - self.started >= self.seconds:
                    self._send()
