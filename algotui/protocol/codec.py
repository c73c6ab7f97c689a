"""Event protocol v1: the one serialisation every sink shares (recorder, bridge, replay).

The engine yields :class:`Event` objects that are cheap to make: a run of candles is a range
of bar indexes, and the other events carry compact snapshots. A :class:`Codec` turns them into
the flat protocol objects of ``docs/protocol.md``, as dicts or as JSON text.
"""

import json
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import IO, Any, NamedTuple

import numpy as np
import orjson
import pandas as pd

PROTOCOL_VERSION = 1

EVENT_TYPES = ("metadata", "candle", "signal", "trade", "stats", "equity", "complete", "error")


class Event(NamedTuple):
    """One event of a run: ``type``, ``seq`` (0-based, gapless) and a payload."""

    type: str
    seq: int
    data: Any


def clean(value: Any) -> Any:
    """A JSON-safe copy: NaN and infinities become None, numpy scalars plain Python."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.generic):
        return clean(value.item())
    return value


def iso(ts: pd.Timestamp) -> str:
    """A bar timestamp as ISO 8601 (seconds precision, no timezone: data is UTC or naive)."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S")


_PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}


def ticks(index: pd.DatetimeIndex) -> tuple[np.ndarray, int]:
    """The index as int64 ticks of its own unit (a view, no copy) and the ticks per second."""
    index = pd.DatetimeIndex(index)
    return index.asi8, _PER_SECOND[index.unit]


_CHUNK = 1 << 12  # candle lines are rendered in blocks of this many bars
_EPOCH = datetime(1970, 1, 1)
#: Event types whose engine payload is a compact snapshot that the codec expands on demand.
RAW_TYPES = frozenset({"signal", "trade", "stats", "equity"})


class Stamper:
    """ISO 8601 text of bar timestamps, formatted on request from the index's int64 ticks.

    It remembers the text of the days and of the times of day it has written (safe to share
    between threads: a dict's get and set are atomic).
    """

    def __init__(self, index: pd.DatetimeIndex) -> None:
        self._ticks, self._per_second = ticks(index)
        self._view = memoryview(np.ascontiguousarray(self._ticks))  # plain ints, fast
        self._days: dict[int, str] = {}
        self._clock: dict[int, str] = {}

    def __call__(self, i: int) -> str:
        day, second = divmod(self._view[i] // self._per_second, 86_400)
        date = self._days.get(day)
        if date is None:
            if len(self._days) > 4096:
                self._days.clear()
            date = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%dT")
            date = self._days[day] = date if len(date) == 11 else f"{date[:-1]:0>10}T"
        clock = self._clock.get(second)
        if clock is None:
            if len(self._clock) > 4096:
                self._clock.clear()
            hours, rest = divmod(second, 3600)
            clock = self._clock[second] = f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"
        return date + clock

    def block(self, a: int, b: int) -> np.ndarray:
        """The timestamps of bars ``a..b-1`` as ``datetime64[s]``."""
        return (self._ticks[a:b] // self._per_second).astype("datetime64[s]")


class Codec:
    """Serialises one run's events into the flat protocol objects of ``docs/protocol.md``.

    The engine's events are cheap references: a run of candles is a range of bar indexes, and
    a signal, trade, stats or equity event is a snapshot tuple (or the closed trade). The codec
    turns them into dicts (:meth:`to_dict`, :meth:`payload`) or JSON text (:meth:`to_json` for
    one event, :meth:`lines` for any stream item). Candle lines are rendered a block of bars
    at a time, vectorised, then only their ``seq`` is filled in per line.
    """

    def __init__(
        self,
        run_id: str,
        index: pd.DatetimeIndex,
        ohlcv: Sequence[Sequence[float]],
        indicators: Sequence[tuple[str, Sequence[float]]],
        cash: float = 0.0,
    ) -> None:
        self.run_id = run_id
        self.cash = cash
        self.stamp = Stamper(index)
        self._o, self._h, self._l, self._c, self._v = ohlcv
        self._ind = list(indicators)
        self._n = len(index)
        self._tail_block = -1
        self._tails: list[str] = []
        self._child: _Renderer | None = None
        self._run_id_json = _json(run_id)
        self._stamps: dict[int, str] = {}

    def progress(self, i: int) -> float:
        """Percent of the run done after bar ``i``, to two decimals (halves round up)."""
        return _hundredths(np.int64(i + 1), self._n) / 100

    # -- dicts ---------------------------------------------------------------------------------

    def candle(self, i: int) -> dict[str, Any]:
        """The payload of bar ``i``'s candle event."""
        return {
            "timestamp": self.stamp(i),
            "open": _finite(self._o[i]),
            "high": _finite(self._h[i]),
            "low": _finite(self._l[i]),
            "close": _finite(self._c[i]),
            "volume": _finite(self._v[i]),
            "bar_number": i + 1,
            "progress": self.progress(i),
            "indicators": {name: _finite(float(vals[i])) for name, vals in self._ind},
        }

    def payload(self, event: Event, stamp: Callable[[int], str] | None = None) -> dict[str, Any]:
        """The fields (besides type, seq and run_id) of any single event.

        ``stamp`` formats bar timestamps; a reader in another thread than the engine's passes
        its own :class:`Stamper`.
        """
        kind, data = event.type, event.data
        if kind == "candle":
            return self.candle(data)
        if kind not in RAW_TYPES or isinstance(data, dict):
            return data
        stamp = stamp or self.stamp
        if kind == "signal":
            return self._signal(stamp, *data)
        if kind == "trade":
            return self.trade(data, stamp)
        if kind == "stats":
            return self._stats(data)
        return self._equity(stamp, *data)

    def to_dict(self, event: Event) -> dict[str, Any]:
        """The flat protocol object of a single ``event``."""
        return {"type": event.type, "seq": event.seq, "run_id": self.run_id, **self.payload(event)}

    def _signal(
        self, stamp: Callable[[int], str], fill: Any, sl: float | None, tp: float | None
    ) -> dict[str, Any]:
        t = fill.trade
        if fill.exit:
            side = "SELL" if t.is_long else "BUY"
            price = t.exit_price
            i = t.exit_bar
        else:
            side = "BUY" if t.is_long else "SELL"
            price = t.entry_price
            i = t.entry_bar
        return {
            "timestamp": stamp(i),
            "action": "EXIT" if fill.exit else "ENTRY",
            "side": side,
            "price": price,
            "size": t.size,
            "trade_id": t.trade_id,
            "reason": fill.reason,
            "stop_loss": sl,
            "take_profit": tp,
            "pnl": t.pnl if fill.exit else None,
            "bar_number": i + 1,
            "direction": t.direction,
        }

    def trade(self, t: Any, stamp: Callable[[int], str] | None = None) -> dict[str, Any]:
        """A trade as the protocol has it (open trades have null exit fields)."""
        stamp = stamp or self.stamp
        closed = t.exit_bar is not None
        mfe, mae = self._excursions(t) if closed else (t.mfe, t.mae)
        return {
            "trade_id": t.trade_id,
            "direction": t.direction,
            "entry_time": stamp(t.entry_bar),
            "entry_price": t.entry_price,
            "exit_time": stamp(t.exit_bar) if closed else None,
            "exit_price": t.exit_price,
            "size": t.size,
            "pnl": t.pnl if closed else None,
            "pnl_percent": t.pnl_percent if closed else None,
            "commission": t.commission,
            "exit_reason": t.exit_reason,
            "mfe": mfe,
            "mae": mae,
            "bars_held": t.bars_held if closed else None,
            "entry_bar": t.entry_bar + 1,
            "exit_bar": t.exit_bar + 1 if closed else None,
            "stop_loss": t.sl,
            "take_profit": t.tp,
            "entry_reason": t.entry_reason,
        }

    def _excursions(self, t: Any) -> tuple[float, float]:
        """A closed trade's MFE and MAE, from the bars it lived through."""
        a, b = t.entry_bar, t.exit_bar + 1
        return excursions(t.entry_price, t.is_long, max(self._h[a:b]), min(self._l[a:b]))

    def _stats(self, snapshot: tuple) -> dict[str, Any]:
        total, wins, losses, realized, eq, peak, open_positions, position = snapshot
        win_rate, drawdown = _rates(snapshot)
        return {
            "total_trades": total,
            "winning_trades": wins,
            "losing_trades": losses,
            "win_rate": win_rate,
            "pnl": eq - self.cash,
            "realized_pnl": realized,
            "equity": eq,
            "drawdown": drawdown,
            "open_positions": open_positions,
            "position": position,
        }

    def _equity(
        self, stamp: Callable[[int], str], i: int, eq: float, peak: float, cash: float
    ) -> dict[str, Any]:
        return {
            "timestamp": stamp(i),
            "equity": eq,
            "cash": cash,
            "drawdown": (peak - eq) * 100.0 / peak if peak > 0 else 0.0,
            "bar_number": i + 1,
        }

    # -- JSON ----------------------------------------------------------------------------------

    def to_json(self, event: Event) -> str:
        """One line of JSON (no newline) for a single ``event``."""
        if event.type == "candle":
            return self._candle_lines(event.seq, event.data, event.data + 1)[:-1]
        return _json(self.to_dict(event))

    def lines(self, event: Event) -> str:
        """The JSON Lines text of any engine stream item: one line per protocol event.

        Runs of candles and the compact events are written from templates (the same text
        :meth:`to_json` gives, checked by the tests); others go through :mod:`json`.
        """
        kind, data = event.type, event.data
        if kind == "candles":
            return self._candle_lines(event.seq, data[0], data[1])
        if kind in RAW_TYPES and not isinstance(data, dict):
            head = f'{{"type":"{kind}","seq":{event.seq},"run_id":{self._run_id_json},'
            if kind == "signal":
                return head + self._signal_json(*data)
            if kind == "trade":
                return head + self._trade_json(data)
            if kind == "stats":
                return head + self._stats_json(data)
            return head + self._equity_json(*data)
        return self.to_json(event) + "\n"

    def _stamp_json(self, i: int) -> str:
        """A bar's timestamp, remembered for the few events of the same bars that follow."""
        return _memo(self._stamps, i, 64, self.stamp)

    def _signal_json(self, fill: Any, sl: Any, tp: Any) -> str:
        t = fill.trade
        long = t.is_long
        if fill.exit:
            i = t.exit_bar
            action = f'"EXIT","side":"{"SELL" if long else "BUY"}"'
            price, size, sl, tp, pnl = _nums(t.exit_price, t.size, sl, tp, t.pnl)
        else:
            i = t.entry_bar
            action = f'"ENTRY","side":"{"BUY" if long else "SELL"}"'
            price, size, sl, tp, pnl = _nums(t.entry_price, t.size, sl, tp, None)
        return (
            f'"timestamp":"{self._stamp_json(i)}","action":{action},"price":{price},'
            f'"size":{size},"trade_id":{t.trade_id},"reason":{_str(fill.reason)},'
            f'"stop_loss":{sl},"take_profit":{tp},"pnl":{pnl},"bar_number":{i + 1},'
            f'"direction":"{"long" if long else "short"}"}}\n'
        )

    def _trade_json(self, t: Any) -> str:
        if t.exit_bar is None:  # the engine only sends closed trades
            return _json(self.trade(t))[1:] + "\n"
        stamp = self._stamp_json
        mfe, mae = t.mfe, t.mae  # the engine sets them as it closes a trade
        pnl = t.pnl
        entry, exit_, size, pnl, pnl_pct, fees, mfe, mae, sl, tp = _nums(
            t.entry_price,
            t.exit_price,
            t.size,
            pnl,
            pnl / (t.entry_price * t.size) * 100.0,  # Trade.pnl_percent, its pnl known
            t.commission,
            mfe,
            mae,
            t.sl,
            t.tp,
        )
        return (
            f'"trade_id":{t.trade_id},"direction":"{"long" if t.is_long else "short"}",'
            f'"entry_time":"{stamp(t.entry_bar)}","entry_price":{entry},'
            f'"exit_time":"{stamp(t.exit_bar)}","exit_price":{exit_},'
            f'"size":{size},"pnl":{pnl},"pnl_percent":{pnl_pct},'
            f'"commission":{fees},"exit_reason":{_str(t.exit_reason)},'
            f'"mfe":{mfe},"mae":{mae},"bars_held":{t.exit_bar - t.entry_bar},'
            f'"entry_bar":{t.entry_bar + 1},"exit_bar":{t.exit_bar + 1},'
            f'"stop_loss":{sl},"take_profit":{tp},'
            f'"entry_reason":{_str(t.entry_reason)}}}\n'
        )

    def _stats_json(self, snapshot: tuple) -> str:
        total, wins, losses, realized, eq, peak, open_positions, position = snapshot
        win_rate, drawdown = _rates(snapshot)
        win_rate, pnl, realized, eq, drawdown, position = _nums(
            win_rate, eq - self.cash, realized, eq, drawdown, position
        )
        return (
            f'"total_trades":{total},"winning_trades":{wins},"losing_trades":{losses},'
            f'"win_rate":{win_rate},"pnl":{pnl},"realized_pnl":{realized},"equity":{eq},'
            f'"drawdown":{drawdown},"open_positions":{open_positions},"position":{position}}}\n'
        )

    def _equity_json(self, i: int, eq: float, peak: float, cash: float) -> str:
        drawdown = (peak - eq) * 100.0 / peak if peak > 0 else 0.0
        eq, cash, drawdown = _nums(eq, cash, drawdown)
        return (
            f'"timestamp":"{self._stamp_json(i)}","equity":{eq},"cash":{cash},'
            f'"drawdown":{drawdown},"bar_number":{i + 1}}}\n'
        )

    def _candle_lines(self, seq: int, a: int, b: int) -> str:
        """The lines of the candles of bars ``a..b-1``, the first one numbered ``seq``."""
        parts: list[str] = []
        while a < b:
            block = a // _CHUNK
            if block != self._tail_block:
                self._tails = self._tails_of(block)
                self._tail_block = block
            base = block * _CHUNK
            end = min(b, base + _CHUNK)
            parts += [
                f'{{"type":"candle","seq":{s}{t}\n'
                for s, t in zip(
                    range(seq, seq + end - a), self._tails[a - base : end - base], strict=True
                )
            ]
            seq += end - a
            a = end
        return "".join(parts)

    def render_in_child(self) -> None:
        """Render the candle lines of this run in a forked child process, a block ahead.

        For a recorder on a long run: the child formats every block's numbers on another
        core while this process runs the engine and writes the file. Nothing changes in what
        comes out; where there is no fork (or the run fits in a few blocks) it does nothing.
        """
        if self._child is None and self._n > 2 * _CHUNK and can_fork():
            self._child = _Renderer(self)

    def close(self) -> None:
        """Stop the renderer child, if any."""
        if self._child is not None:
            self._child.close()
            self._child = None

    def _tails_of(self, block: int) -> list[str]:
        """The rendered tails of one block, one string per bar (no newline): from the
        renderer child if there is one, else rendered here."""
        if self._child is not None:
            tails = self._child.block(block)
            if tails is not None:
                return tails
            self._child.close()  # it died: go on in this process
            self._child = None
        return _split_lines(_text_of(self._render_block(block)))

    def _render_block(self, block: int) -> Any:
        """Everything after ``seq`` of the candle lines of one block of bars, newline included,
        as an Arrow string array: rendered column by column, vectorised (orjson formats the
        numbers, Arrow joins the columns)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        a, b = block * _CHUNK, min((block + 1) * _CHUNK, self._n)
        pool = pa.system_memory_pool()  # gives memory back at once: RSS stays flat
        stamps = pa.array(self.stamp.block(a, b), memory_pool=pool)
        stamps = stamps.cast(pa.string(), memory_pool=pool)
        stamps = pc.replace_substring(stamps, " ", "T", memory_pool=pool)
        bar = np.arange(a + 1, b + 1)
        cols: list[Any] = [f',"run_id":{self._run_id_json},"timestamp":"', stamps]
        for key, values in (
            ('","open":', self._o),
            (',"high":', self._h),
            (',"low":', self._l),
            (',"close":', self._c),
            (',"volume":', self._v),
        ):
            cols += [key, _numbers(values[a:b], pool)]
        bars = pa.array(bar, memory_pool=pool).cast(pa.string(), memory_pool=pool)
        cols += [',"bar_number":', bars]
        cols += [',"progress":', _numbers(_hundredths(bar, self._n) / 100, pool)]
        cols.append(',"indicators":{')
        for k, (name, values) in enumerate(self._ind):
            name_json = _json(name)
            cols += [("," if k else "") + name_json + ":", _numbers(values[a:b], pool)]
        cols.append("}}\n")
        return pc.binary_join_element_wise(*cols, "", memory_pool=pool)


def _split_lines(text: bytes | bytearray | memoryview) -> list[str]:
    """Rendered tails, one per line, without their newlines (the JSON text escapes any
    newline inside a string, so each one ends a line)."""
    return bytes(text).decode().split("\n")[:-1]


def _text_of(strings: Any) -> memoryview:
    """The bytes of all the values of an Arrow string array, one after another (no copy)."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)
    first, last = strings.offset, strings.offset + len(strings)
    return memoryview(strings.buffers()[2])[offsets[first] : offsets[last]]


def _numbers(values: Sequence[float], pool: Any) -> Any:
    """JSON text of float values as an Arrow string array: shortest round-trip digits (the
    same value as Python's text; a tiny one may be written without an exponent, ``0.00001``
    for ``1e-05``), ``.0`` on whole numbers, ``null`` where not finite.

    orjson writes the whole array as one JSON list, in C; Arrow cuts it at the commas.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.ascontiguousarray(values, dtype=np.float64)
    if not len(x):
        return pa.array([], pa.string())
    text = orjson.dumps(x, option=orjson.OPT_SERIALIZE_NUMPY)
    # the list's text without its brackets, as one Arrow value (no copy)
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


#: A renderer child that sends nothing for this long is taken to be stuck (a block takes
#: milliseconds): the candles are rendered in the recording process from there on.
RENDER_TIMEOUT = 10.0


class _Renderer:
    """A forked child that renders a codec's candle blocks in order, a block or two ahead.

    Each block's text goes into one of two slots of a shared memory map (no copy through the
    kernel); a small pipe says which block is in which slot, and another one gives the slot
    back once read. A block too big for a slot is sent down the pipe itself.
    """

    _HEAD = "<qqq"  # block, slot (-1: the text follows on the pipe), bytes of text
    _SLOTS = 2

    def __init__(self, codec: "Codec") -> None:
        import mmap
        import os
        import signal
        import struct

        # A slot holds a block of lines of the expected length, with room to spare.
        line = 400 + sum(40 + len(name) for name, _ in codec._ind)
        self.slot = _CHUNK * line
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
                free = list(range(self._SLOTS))
                for block in range(-(-codec._n // _CHUNK)):
                    text = _text_of(codec._render_block(block))
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
        import os
        import struct

        while self.fd >= 0:
            head = self._read(struct.calcsize(self._HEAD))
            if head is None:
                return None
            got, slot, size = struct.unpack(self._HEAD, head)
            if slot < 0:
                text = self._read(size)
                if text is None:
                    return None
                lines = _split_lines(text)
            else:
                at = slot * self.slot
                lines = _split_lines(self.shm[at : at + size])
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
        """``size`` bytes from the child; None if it is gone, or silent for
        :data:`RENDER_TIMEOUT` seconds (stuck: the caller goes on without it)."""
        import os
        import select

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
        import os
        import signal

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
    """Write all of ``data`` to the pipe ``fd``."""
    import os

    view = memoryview(data)
    while len(view):
        view = view[os.write(fd, view) :]


_STRINGS: dict[str, str] = {}  # JSON text of the few reasons a run repeats


def _nums(*values: Any) -> list[str]:
    """JSON text of several number fields at once (orjson formats them): the same digits as
    Python's float text (a tiny one may be written ``0.00001`` for ``1e-05``), ``null`` for
    None, NaN or inf. numpy numbers (a stop-loss set from ``self.data.Close[-1]``) too."""
    try:
        return _DUMPS(values, option=_NUMPY)[1:-1].decode().split(",")
    except TypeError:  # an int past 64 bits, or something that converts to float
        return [_json(None if v is None else float(v)) for v in values]


_DUMPS = orjson.dumps
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _json(value: Any) -> str:
    """Compact JSON text of a value, as every event is written: orjson's (UTF-8 as it is, no
    ``\\u`` escapes; NaN and infinities as null). What orjson refuses (an integer past 64
    bits, a string with a lone surrogate) goes through :mod:`json`, escaped to ASCII."""
    try:
        return _DUMPS(value, option=_NUMPY).decode()
    except TypeError:
        return json.dumps(clean(value), separators=(",", ":"), default=str)


def _str(text: str | None) -> str:
    """JSON text of a string field (``null`` for None)."""
    return "null" if text is None else _memo(_STRINGS, text, 4096, _json)


def _memo(cache: dict, key: Any, limit: int, make: Callable[[Any], str]) -> str:
    """``make(key)``, remembered in ``cache`` (emptied when it grows past ``limit``)."""
    text = cache.get(key)
    if text is None:
        if len(cache) > limit:
            cache.clear()
        text = cache[key] = make(key)
    return text


def excursions(entry: float, is_long: bool, high: float, low: float) -> tuple[float, float]:
    """A trade's MFE and MAE, in percent of its entry price, from the highest high and the
    lowest low it lived through."""
    if is_long:
        return max(0.0, (high - entry) / entry * 100.0), min(0.0, (low - entry) / entry * 100.0)
    return max(0.0, (entry - low) / entry * 100.0), min(0.0, (entry - high) / entry * 100.0)


def spans_reduce(ufunc: Any, values: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> Any:
    """``ufunc.reduce(values[a:b + 1])`` for each pair of ``starts`` and ``stops`` (``a <= b``),
    e.g. with ``np.maximum`` the highest value of each span."""
    ends = stops + 1
    tail = ends >= len(values)  # reduceat wants every edge inside the array: these go alone
    edges = np.empty(2 * len(starts), dtype=np.int64)
    edges[0::2] = starts
    edges[1::2] = np.where(tail, starts, ends)
    out = ufunc.reduceat(values, edges)[0::2]
    for k in np.flatnonzero(tail):
        out[k] = ufunc.reduce(values[starts[k] :])
    return out


def _rates(stats: tuple) -> tuple[float, float]:
    """Win rate and drawdown, in percent, of a stats snapshot."""
    total, wins, _, _, eq, peak, _, _ = stats
    win_rate = wins * 100.0 / total if total else 0.0
    return win_rate, (peak - eq) * 100.0 / peak if peak > 0 else 0.0


def _hundredths(bars: Any, total: int) -> Any:
    """``bars / total`` in whole hundredths of a percent, halves up: exact integer arithmetic,
    the same for one bar as for a numpy array of them."""
    return (bars * 20_000 + total) // (2 * total)


def _finite(x: float) -> float | None:
    return x if x - x == 0 else None


def read_events(stream: IO[str]) -> Iterator[dict[str, Any]]:
    """Protocol objects from a JSON Lines stream; a torn last line (a killed run) is skipped."""
    for line in stream:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            return
