"""Event protocol v1: the one serialisation every sink shares (recorder, bridge, replay).

The engine yields :class:`Event` objects. A candle's ``data`` is the bar index (cheap to make,
resolved only when a sink serialises it); every other event carries a dict payload. A
:class:`Codec` turns events into the flat protocol objects of ``docs/protocol.md``.
"""

import json
import math
from collections.abc import Iterator, Sequence
from typing import IO, Any

import numpy as np
import pandas as pd

PROTOCOL_VERSION = 1

EVENT_TYPES = ("metadata", "candle", "signal", "trade", "stats", "equity", "complete", "error")


class Event:
    """One event of a run: ``type``, ``seq`` (0-based, gapless) and a payload."""

    __slots__ = ("type", "seq", "data")

    def __init__(self, type: str, seq: int, data: Any) -> None:  # noqa: A002 - protocol name
        self.type = type
        self.seq = seq
        self.data = data

    def __repr__(self) -> str:
        return f"Event({self.type!r}, {self.seq}, {self.data!r})"


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


class Codec:
    """Serialises one run's events; candles are rendered from the bar arrays on demand."""

    def __init__(
        self,
        run_id: str,
        index: pd.DatetimeIndex,
        ohlcv: Sequence[list[float]],
        indicators: Sequence[tuple[str, list[float]]],
    ) -> None:
        self.run_id = run_id
        self._index = index
        self._o, self._h, self._l, self._c, self._v = ohlcv
        self._ind = list(indicators)
        self._n = len(index)
        self._stamps: list[str] | None = None
        self._prefix = f',"run_id":{json.dumps(run_id)},"timestamp":"'
        self._ind_keys = [json.dumps(name) + ":" for name, _ in self._ind]

    @property
    def stamps(self) -> list[str]:
        """ISO 8601 text of every bar's timestamp, computed once when first needed."""
        if self._stamps is None:
            values = self._index.values.astype("datetime64[s]")
            self._stamps = np.datetime_as_string(values, unit="s").tolist()
        return self._stamps

    def candle(self, i: int) -> dict[str, Any]:
        """The payload of bar ``i``'s candle event."""
        return {
            "timestamp": self.stamps[i],
            "open": self._o[i],
            "high": self._h[i],
            "low": self._l[i],
            "close": self._c[i],
            "volume": self._v[i],
            "bar_number": i + 1,
            "progress": round((i + 1) * 100.0 / self._n, 2),
            "indicators": {name: _num(vals[i]) for name, vals in self._ind},
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
        ind = ",".join(
            f"{key}{_num_json(vals[i])}"
            for key, (_, vals) in zip(self._ind_keys, self._ind, strict=True)
        )
        return (
            f'{{"type":"candle","seq":{event.seq}{self._prefix}{self.stamps[i]}",'
            f'"open":{self._o[i]!r},"high":{self._h[i]!r},"low":{self._l[i]!r},'
            f'"close":{self._c[i]!r},"volume":{self._v[i]!r},"bar_number":{i + 1},'
            f'"progress":{round((i + 1) * 100.0 / self._n, 2)!r},"indicators":{{{ind}}}}}'
        )


def _num(x: float) -> float | None:
    return x if x == x and x not in (math.inf, -math.inf) else None


def _num_json(x: float) -> str:
    return repr(x) if x == x and x not in (math.inf, -math.inf) else "null"


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
