"""Event protocol v1: the one serialisation every sink shares (recorder, bridge, replay).

The engine yields :class:`Event` objects. A candle's ``data`` is the bar index (cheap to make,
resolved only when a sink serialises it); every other event carries a dict payload. A
:class:`Codec` turns events into the flat protocol objects of ``docs/protocol.md``.
"""

import json
import math
from collections.abc import Iterator, Sequence
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


_CHUNK = 1 << 15  # timestamps are rendered in blocks of this many bars
_EPOCH = datetime(1970, 1, 1)


class Stamper:
    """ISO 8601 text of bar timestamps.

    A single stamp is formatted on request (signals, trades and chart labels need few); a
    reader that needs every bar's stamp (the recorder) renders a whole block at once with
    :meth:`render_block`. Not shared between threads: each reader keeps its own.
    """

    def __init__(self, seconds: np.ndarray) -> None:
        self._seconds = seconds.astype(np.int64)  # an array: a list would cost 36 B a bar
        self._array = seconds
        self._block = -1
        self.block: list[str] = []

    def __call__(self, i: int) -> str:
        if i // _CHUNK == self._block:
            return self.block[i - self._block * _CHUNK]
        return (_EPOCH + timedelta(seconds=int(self._seconds[i]))).isoformat()

    def render_block(self, i: int) -> list[str]:
        """The stamps of the block of bars holding bar ``i`` (kept for later lookups)."""
        block = i // _CHUNK
        if block != self._block:
            part = self._array[block * _CHUNK : (block + 1) * _CHUNK]
            self.block = np.datetime_as_string(part, unit="s").tolist()
            self._block = block
        return self.block


class Codec:
    """Serialises one run's events; candles are rendered from the bar arrays on demand.

    Indicator values in candles carry 10 significant digits (they are for drawing); prices
    and volumes are exactly the input's.
    """

    def __init__(
        self,
        run_id: str,
        index: pd.DatetimeIndex,
        ohlcv: Sequence[Sequence[float]],
        indicators: Sequence[tuple[str, Sequence[float]]],
    ) -> None:
        self.run_id = run_id
        self.seconds = np.asarray(index.values).astype("datetime64[s]")
        self.stamp = Stamper(self.seconds)
        self._o, self._h, self._l, self._c, self._v = ohlcv
        self._ind = list(indicators)
        self._n = len(index)
        self._tail_block = -1
        self._tails: list[str] = []
        self._prefix = f',"run_id":{json.dumps(run_id)},"timestamp":"'
        self._ind_keys = [json.dumps(name) + ":" for name, _ in self._ind]

    def progress(self, i: int) -> float:
        """Percent of the run done after bar ``i``, to two decimals."""
        return round((i + 1) * 100.0 / self._n, 2)

    def candle(self, i: int) -> dict[str, Any]:
        """The payload of bar ``i``'s candle event."""
        return {
            "timestamp": self.stamp(i),
            "open": self._o[i],
            "high": self._h[i],
            "low": self._l[i],
            "close": self._c[i],
            "volume": self._v[i],
            "bar_number": i + 1,
            "progress": self.progress(i),
            "indicators": {name: _round10(vals[i]) for name, vals in self._ind},
        }

    def to_dict(self, event: Event) -> dict[str, Any]:
        """The flat protocol object of ``event``."""
        data = self.candle(event.data) if event.type == "candle" else event.data
        return {"type": event.type, "seq": event.seq, "run_id": self.run_id, **data}

    def to_json(self, event: Event) -> str:
        """One line of JSON (no newline) for ``event``."""
        if event.type != "candle":
            return json.dumps(self.to_dict(event), separators=(",", ":"), allow_nan=False)
        i = event.data
        block = i // _CHUNK
        if block != self._tail_block:
            self._tails = self._render_tails(block)
            self._tail_block = block
        return f'{{"type":"candle","seq":{event.seq}{self._tails[i - block * _CHUNK]}'

    def _render_tails(self, block: int) -> list[str]:
        """Everything after ``seq`` of the candle lines of one block of bars, rendered at once."""
        a, b = block * _CHUNK, min((block + 1) * _CHUNK, self._n)
        stamps = self.stamp.render_block(a)
        n = self._n
        parts = [
            [f"{key}{_json10(x)}" for x in vals[a:b]]
            for key, (_, vals) in zip(self._ind_keys, self._ind, strict=True)
        ]
        inds = [",".join(row) for row in zip(*parts, strict=True)] if parts else [""] * (b - a)
        prefix = self._prefix
        return [
            f'{prefix}{t}","open":{o!r},"high":{h!r},"low":{lo!r},"close":{c!r},'
            f'"volume":{v!r},"bar_number":{k},"progress":{round(k * 100.0 / n, 2)!r},'
            f'"indicators":{{{ind}}}}}'
            for t, o, h, lo, c, v, k, ind in zip(
                stamps,
                self._o[a:b],
                self._h[a:b],
                self._l[a:b],
                self._c[a:b],
                self._v[a:b],
                range(a + 1, b + 1),
                inds,
                strict=True,
            )
        ]


def _round10(x: float) -> float | None:
    return float(f"{x:.10g}") if x - x == 0 else None


def _json10(x: float) -> str:
    return f"{x:.10g}" if x - x == 0 else "null"


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
