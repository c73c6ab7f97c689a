"""The JSON text of candles, rendered vectorised: a column at a time, not a candle at a time.

:func:`candle_tails` renders everything after ``seq`` of the candle lines of some bars from
their values (orjson formats the numbers, Arrow joins the columns). A recorder on a long run
renders the run's whole columns (:class:`RunColumns`) a block of 4,096 bars at a time, ahead of
the engine and, where it can, in a forked child on another core: the engine's batches are
small (a handful of bars between two trades), and rendering each alone would cost more in
per-call overhead than in formatting. The text is the same either way (the tests check).
"""

import mmap
import os
import select
import signal
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np
import orjson

from algotui.protocol.records import Candles

BLOCK = 1 << 12  # bars per rendered block of a run's columns


def hundredths(bars: Any, total: int) -> Any:
    """``bars / total`` in whole hundredths of a percent, halves up: exact integer arithmetic,
    the same for one bar as for a numpy array of them (the ``progress`` field, x 100)."""
    return (bars * 20_000 + total) // (2 * total)


def candle_tails(
    run_id_json: str,
    time: np.ndarray,
    ohlcv: Sequence[np.ndarray],
    names: Sequence[str],
    indicators: Sequence[np.ndarray],
    first_bar: int,
    total: int,
) -> Any:
    """Everything after ``seq`` of the candle lines of these bars, newline included, as an
    Arrow string array (one value per bar)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = pa.system_memory_pool()  # gives memory back at once: RSS stays flat
    n = len(time)
    stamps = pa.array(np.asarray(time, dtype=np.int64).astype("datetime64[s]"), memory_pool=pool)
    stamps = stamps.cast(pa.string(), memory_pool=pool)
    stamps = pc.replace_substring(stamps, " ", "T", memory_pool=pool)
    bar = np.arange(first_bar + 1, first_bar + n + 1)
    cols: list[Any] = [f',"run_id":{run_id_json},"timestamp":"', stamps]
    for key, values in zip(
        ('","open":', ',"high":', ',"low":', ',"close":', ',"volume":'), ohlcv, strict=True
    ):
        cols += [key, _numbers(values, pool)]
    bars = pa.array(bar, memory_pool=pool).cast(pa.string(), memory_pool=pool)
    cols += [',"bar_number":', bars]
    cols += [',"progress":', _numbers(hundredths(bar, total) / 100, pool)]
    cols.append(',"indicators":{')
    for k, (name, values) in enumerate(zip(names, indicators, strict=True)):
        cols += [("," if k else "") + orjson.dumps(name).decode() + ":", _numbers(values, pool)]
    cols.append("}}\n")
    return pc.binary_join_element_wise(*cols, "", memory_pool=pool)


def lines_of(tails: list[str], seq: int) -> str:
    """Candle lines from their rendered tails, the first numbered ``seq``."""
    return "".join([f'{{"type":"candle","seq":{s}{t}\n' for s, t in enumerate(tails, seq)])


def split_lines(text: bytes | bytearray | memoryview) -> list[str]:
    """Rendered tails, one per line, without their newlines (JSON text escapes any newline
    inside a string, so each one ends a line)."""
    return bytes(text).decode().split("\n")[:-1]


def text_of(strings: Any) -> memoryview:
    """The bytes of all the values of an Arrow string array, one after another (no copy)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    first, last = strings.offset, strings.offset + len(strings)
    return memoryview(strings.buffers()[2])[offsets[first] : offsets[last]]


def _numbers(values: Any, pool: Any) -> Any:
    """JSON text of float values as an Arrow string array: shortest round-trip digits, ``.0``
    on whole numbers, ``null`` where not finite. orjson writes the whole array as one JSON
    list, in C; Arrow cuts it at the commas."""
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.ascontiguousarray(values, dtype=np.float64)
    if not len(x):
        return pa.array([], pa.string())
    text = orjson.dumps(x, option=orjson.OPT_SERIALIZE_NUMPY)
    ends = pa.py_buffer(np.array([1, len(text) - 1], dtype=np.int32))
    whole = pa.Array.from_buffers(pa.binary(), 1, [None, ends, pa.py_buffer(text)])
    parts = pc.split_pattern(whole, b",", memory_pool=pool)
    return parts.flatten().cast(pa.string(), memory_pool=pool)


def can_fork() -> bool:
    """True where work can go to a forked child (Linux and the BSDs; macOS forks badly once
    system frameworks are loaded): the app's engine process and the recorder's renderer."""
    import multiprocessing
    import sys

    return sys.platform != "darwin" and "fork" in multiprocessing.get_all_start_methods()


class RunColumns:
    """A whole run's columns: bar times (epoch seconds), OHLCV and indicator values.

    The engine cuts its :class:`Candles` batches from these (:meth:`batch`: slices, no copy);
    the recorder asks for their text (:meth:`lines`), rendered a block at a time.
    """

    def __init__(
        self,
        run_id: str,
        time: np.ndarray,
        ohlcv: Sequence[Any],
        names: Sequence[str],
        indicators: Sequence[Any],
    ) -> None:
        self.run_id = run_id
        self.time = np.asarray(time, dtype=np.int64)
        self.ohlcv = tuple(_read_only(x) for x in ohlcv)
        self.names = tuple(names)
        self.indicators = tuple(_read_only(x) for x in indicators)
        self.total = len(self.time)
        self._run_id_json = orjson.dumps(run_id).decode()
        self._block = -1
        self._tails: list[str] = []
        self._child: _Renderer | None = None

    def batch(self, seq: int, a: int, b: int) -> Candles:
        """Candles of bars ``a .. b-1``, the first numbered ``seq``."""
        return Candles.of_run(self, seq, a, b)

    def lines(self, seq: int, a: int, b: int) -> str:
        """The JSON lines of the candles of bars ``a .. b-1``, the first numbered ``seq``."""
        block = a // BLOCK
        if block == (b - 1) // BLOCK:  # the usual case: a few bars inside one block
            if block != self._block:
                self._tails = self._tails_of(block)
                self._block = block
            base = block * BLOCK
            return lines_of(self._tails[a - base : b - base], seq)
        parts: list[str] = []
        while a < b:
            block = a // BLOCK
            if block != self._block:
                self._tails = self._tails_of(block)
                self._block = block
            base = block * BLOCK
            end = min(b, base + BLOCK)
            parts.append(lines_of(self._tails[a - base : end - base], seq))
            seq += end - a
            a = end
        return "".join(parts)

    def render(self, block: int) -> Any:
        """The tails of one block, as an Arrow string array."""
        a, b = block * BLOCK, min((block + 1) * BLOCK, self.total)
        return candle_tails(
            self._run_id_json,
            self.time[a:b],
            [x[a:b] for x in self.ohlcv],
            self.names,
            [x[a:b] for x in self.indicators],
            a,
            self.total,
        )

    def render_in_child(self) -> None:
        """Render the blocks in a forked child, ahead of the engine (a long run only; where
        there is no fork nothing changes but the speed)."""
        if self._child is None and self.total > 2 * BLOCK and can_fork():
            self._child = _Renderer(self)

    def close(self) -> None:
        """Stop the renderer child, if any."""
        if self._child is not None:
            self._child.close()
            self._child = None

    def _tails_of(self, block: int) -> list[str]:
        if self._child is not None:
            tails = self._child.block(block)
            if tails is not None:
                return tails
            self.close()  # it died or is stuck: go on in this process
        return split_lines(text_of(self.render(block)))


def _read_only(values: Any) -> np.ndarray:
    out = np.asarray(values, dtype=float)
    if out.flags.writeable:
        out = out.view()
        out.flags.writeable = False
    return out


#: A renderer child that sends nothing for this long is taken to be stuck (a block takes
#: milliseconds): the candles are rendered in the recording process from there on.
RENDER_TIMEOUT = 10.0


class _Renderer:
    """A forked child that renders a run's candle blocks in order, a block or two ahead.

    Each block's text goes into one of two slots of a shared memory map (no copy through the
    kernel); a small pipe says which block is in which slot, another gives the slot back once
    read. A block too big for a slot is sent down the pipe itself.
    """

    _HEAD = "<qqq"  # block, slot (-1: the text follows on the pipe), bytes of text
    _SLOTS = 2

    def __init__(self, columns: RunColumns) -> None:
        line = 400 + sum(40 + len(name) for name in columns.names)
        self.slot = BLOCK * line
        self.shm = mmap.mmap(-1, self._SLOTS * self.slot)
        read, write = os.pipe()
        give, take = os.pipe()  # slots handed back: parent -> child
        self.pid = os.fork()
        if self.pid == 0:  # the child: render, send, exit without running any cleanup
            code = 0
            try:
                os.close(read)
                os.close(take)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                free = list(range(self._SLOTS))
                for block in range(-(-columns.total // BLOCK)):
                    text = text_of(columns.render(block))
                    size = len(text)
                    if size > self.slot:
                        _write_all(write, struct.pack(self._HEAD, block, -1, size))
                        _write_all(write, text)
                        continue
                    if not free:
                        back = os.read(give, 1)
                        if not back:
                            break
                        free.append(back[0])
                    slot = free.pop(0)
                    self.shm[slot * self.slot : slot * self.slot + size] = text
                    _write_all(write, struct.pack(self._HEAD, block, slot, size))
            except BaseException:
                code = 1  # the parent renders in-process from where this stopped
            finally:
                os._exit(code)
        os.close(write)
        os.close(give)
        self.fd, self.back = read, take

    def block(self, block: int) -> list[str] | None:
        """Block ``block``'s tails, or None once the child is gone."""
        while self.fd >= 0:
            head = self._read(struct.calcsize(self._HEAD))
            if head is None:
                return None
            got, slot, size = struct.unpack(self._HEAD, head)
            if slot < 0:
                text = self._read(size)
                if text is None:
                    return None
                lines = split_lines(text)
            else:
                at = slot * self.slot
                lines = split_lines(self.shm[at : at + size])
                try:
                    os.write(self.back, bytes([slot]))
                except BrokenPipeError:
                    pass  # the child has rendered every block and left
            if got == block:
                return lines
            if got > block:
                return None
        return None

    def _read(self, size: int) -> bytearray | None:
        """``size`` bytes from the child; None if it is gone or silent for too long."""
        out = bytearray(size)
        view = memoryview(out)
        got = 0
        while got < size:
            ready, _, _ = select.select([self.fd], [], [], RENDER_TIMEOUT)
            if not ready:
                return None
            n = os.readv(self.fd, [view[got:]])
            if n == 0:
                return None
            got += n
        return out

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            os.close(self.back)
            self.fd = -1
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.pid = 0
            self.shm.close()


def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view) :]
