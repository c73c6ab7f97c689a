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


_CHUNK = 1 << 13  # candle lines are rendered in blocks of this many bars
_EPOCH = datetime(1970, 1, 1)
#: Event types whose engine payload is a compact snapshot that the codec expands on demand.
RAW_TYPES = frozenset({"signal", "trade", "stats", "equity"})


class Stamper:
    """ISO 8601 text of bar timestamps, formatted on request from the index's int64 ticks.

    It keeps no state but the array, so any thread may use it.
    """

    def __init__(self, index: pd.DatetimeIndex) -> None:
        self._ticks, self._per_second = ticks(index)

    def __call__(self, i: int) -> str:
        seconds = int(self._ticks[i]) // self._per_second
        return (_EPOCH + timedelta(seconds=seconds)).isoformat()

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
        self._ahead: tuple[int, Any] | None = None  # (block, future of its tails)
        self._pool: Any = None
        self._run_id_json = json.dumps(run_id)
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
        return json.dumps(self.to_dict(event), separators=(",", ":"), allow_nan=False)

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
            head = f'"EXIT","side":"{"SELL" if long else "BUY"}","price":{_num(t.exit_price)}'
            pnl = _num(t.pnl)
        else:
            i = t.entry_bar
            head = f'"ENTRY","side":"{"BUY" if long else "SELL"}","price":{_num(t.entry_price)}'
            pnl = "null"
        return (
            f'"timestamp":"{self._stamp_json(i)}","action":{head},"size":{_num(t.size)},'
            f'"trade_id":{t.trade_id},"reason":{_str(fill.reason)},"stop_loss":{_num(sl)},'
            f'"take_profit":{_num(tp)},"pnl":{pnl},"bar_number":{i + 1},'
            f'"direction":"{"long" if long else "short"}"}}\n'
        )

    def _trade_json(self, t: Any) -> str:
        if t.exit_bar is None:  # the engine only sends closed trades
            return json.dumps(self.trade(t), separators=(",", ":"), allow_nan=False)[1:] + "\n"
        stamp = self._stamp_json
        mfe, mae = self._excursions(t)
        return (
            f'"trade_id":{t.trade_id},"direction":"{"long" if t.is_long else "short"}",'
            f'"entry_time":"{stamp(t.entry_bar)}","entry_price":{_num(t.entry_price)},'
            f'"exit_time":"{stamp(t.exit_bar)}","exit_price":{_num(t.exit_price)},'
            f'"size":{_num(t.size)},"pnl":{_num(t.pnl)},"pnl_percent":{_num(t.pnl_percent)},'
            f'"commission":{_num(t.commission)},"exit_reason":{_str(t.exit_reason)},'
            f'"mfe":{_num(mfe)},"mae":{_num(mae)},"bars_held":{t.exit_bar - t.entry_bar},'
            f'"entry_bar":{t.entry_bar + 1},"exit_bar":{t.exit_bar + 1},'
            f'"stop_loss":{_num(t.sl)},"take_profit":{_num(t.tp)},'
            f'"entry_reason":{_str(t.entry_reason)}}}\n'
        )

    def _stats_json(self, snapshot: tuple) -> str:
        total, wins, losses, realized, eq, peak, open_positions, position = snapshot
        win_rate, drawdown = _rates(snapshot)
        return (
            f'"total_trades":{total},"winning_trades":{wins},"losing_trades":{losses},'
            f'"win_rate":{_num(win_rate)},"pnl":{_num(eq - self.cash)},'
            f'"realized_pnl":{_num(realized)},"equity":{_num(eq)},"drawdown":{_num(drawdown)},'
            f'"open_positions":{open_positions},"position":{_num(position)}}}\n'
        )

    def _equity_json(self, i: int, eq: float, peak: float, cash: float) -> str:
        drawdown = (peak - eq) * 100.0 / peak if peak > 0 else 0.0
        return (
            f'"timestamp":"{self._stamp_json(i)}","equity":{_num(eq)},"cash":{_num(cash)},'
            f'"drawdown":{_num(drawdown)},"bar_number":{i + 1}}}\n'
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
                f'{{"type":"candle","seq":{s}{t}'
                for s, t in zip(
                    range(seq, seq + end - a), self._tails[a - base : end - base], strict=True
                )
            ]
            seq += end - a
            a = end
        return "".join(parts)

    def _tails_of(self, block: int) -> list[str]:
        """The rendered tails of one block; the next block starts rendering in the background.

        Arrow's kernels release the GIL, so a recorder's next block is mostly formatted on
        another core while the engine runs the bars of this one.
        """
        ahead = self._ahead
        if ahead is not None and ahead[0] == block:
            tails = ahead[1].result()
        else:
            tails = self._render_tails(block)
        self._ahead = None
        if (block + 1) * _CHUNK < self._n:
            import concurrent.futures

            if self._pool is None:
                self._pool = concurrent.futures.ThreadPoolExecutor(1, "algotui-codec")
            self._ahead = (block + 1, self._pool.submit(self._render_tails, block + 1))
        elif self._pool is not None:
            self._pool.shutdown(wait=False)
            self._pool = None
        return tails

    def _render_tails(self, block: int) -> list[str]:
        """Everything after ``seq`` of the candle lines of one block of bars, newline included,
        rendered column by column (Arrow's compute kernels format the numbers)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        a, b = block * _CHUNK, min((block + 1) * _CHUNK, self._n)
        pool = pa.system_memory_pool()  # gives memory back at once: RSS stays flat
        stamps = pa.array(self.stamp.block(a, b)).cast(pa.string(), memory_pool=pool)
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
        cols += [',"bar_number":', pa.array(bar).cast(pa.string(), memory_pool=pool)]
        cols += [',"progress":', _numbers(_hundredths(bar, self._n) / 100, pool)]
        cols.append(',"indicators":{')
        for k, (name, values) in enumerate(self._ind):
            cols += [("," if k else "") + json.dumps(name) + ":", _numbers(values[a:b], pool)]
        cols.append("}}\n")
        return pc.binary_join_element_wise(*cols, "", memory_pool=pool).to_pylist()


def _numbers(values: Sequence[float], pool: Any) -> Any:
    """JSON text of float values as Arrow strings: shortest round-trip digits (the same value
    as Python's text; very large or small numbers may differ in how the exponent is written,
    ``0.00001`` for ``1e-05``), ``.0`` on whole numbers, ``null`` where not finite."""
    import pyarrow as pa
    import pyarrow.compute as pc

    x = np.asarray(values, dtype=float)
    text = pa.array(x).cast(pa.string(), memory_pool=pool)
    finite = np.isfinite(x)
    # Arrow writes 844394.0 as "844394" (Python as "844394.0"); a large one may come out
    # as "1.23456789012e+11", a float for any JSON reader already.
    whole = finite & (x == np.floor(x))
    if whole.any():
        exp = pc.find_substring(text, "e", memory_pool=pool)
        plain = pc.and_(pa.array(whole), pc.equal(exp, -1), memory_pool=pool)
        dotted = pc.binary_join_element_wise(text, ".0", "", memory_pool=pool)
        text = pc.if_else(plain, dotted, text, memory_pool=pool)
    if not finite.all():
        text = pc.if_else(finite, text, "null", memory_pool=pool)
    return text


_REPR = float.__repr__
_STRINGS: dict[str, str] = {}  # JSON text of the few reasons a run repeats


def _num(x: Any) -> str:
    """JSON text of a number field: Python's float digits, ``null`` for None, NaN or inf."""
    if x is None:
        return "null"
    x = float(x)
    return _REPR(x) if x - x == 0 else "null"


def _str(text: str | None) -> str:
    """JSON text of a string field (``null`` for None)."""
    return "null" if text is None else _memo(_STRINGS, text, 4096, json.dumps)


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
