"""Records as protocol dicts and as JSON text, both written from the field table.

:class:`Encoder` knows one run's ``run_id``. :meth:`Encoder.to_dict` gives the flat protocol
object of a record (a list of them for a batch of candles), :meth:`Encoder.lines` the JSON
Lines text of any record. Every event's text is orjson's dump of its dict, except candles,
whose lines are rendered a column at a time (:mod:`algotui.protocol.candle_text`).
"""

import json
import math
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import orjson

from algotui.protocol.candle_text import candle_tails, hundredths, lines_of, split_lines, text_of
from algotui.protocol.fields import EVENTS, Field
from algotui.protocol.records import Candles

_EPOCH = datetime(1970, 1, 1)
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


class Stamps:
    """ISO 8601 text of bar times given in epoch seconds; remembers the days and the times of
    day it has written (a run repeats both), so most stamps cost two dict lookups."""

    __slots__ = ("_days", "_clock")

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._clock: dict[int, str] = {}

    def __call__(self, seconds: Any) -> str:
        if isinstance(seconds, str):  # read back from a recording: already text
            return seconds
        day, second = divmod(int(seconds), 86_400)
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


def seconds_of(stamp: str) -> int:
    """Epoch seconds of an ISO 8601 bar time (the inverse of :class:`Stamps`)."""
    return int(np.datetime64(stamp[:19], "s").astype(np.int64))


def finite(x: Any) -> Any:
    """A number as written in a dict: None for NaN and the infinities, numpy scalars plain."""
    if x is None:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


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


def dumps(value: Any) -> str:
    """Compact JSON text, as every event is written: orjson's (UTF-8 as it is; NaN and the
    infinities as null). What orjson refuses (an integer past 64 bits, a string with a lone
    surrogate) goes through :mod:`json`, escaped to ASCII."""
    try:
        return orjson.dumps(value, option=_NUMPY).decode()
    except TypeError:
        return json.dumps(clean(value), separators=(",", ":"), default=str)


def _plan(fields: tuple[Field, ...]) -> tuple[tuple[str, str], ...]:
    """How each field is written: ``t`` a bar time, ``n`` a number, ``v`` as it is."""
    return tuple((f.name, "t" if f.is_time else "n" if f.is_number else "v") for f in fields)


_PLANS = {name: _plan(spec.fields) for name, spec in EVENTS.items()}
_KEYS = {name: ("type", "seq", "run_id", *spec.names) for name, spec in EVENTS.items()}
_TIMES = {name: tuple(f.name for f in spec.fields if f.is_time) for name, spec in EVENTS.items()}


def _item(value: Any) -> Any:
    """What orjson cannot write itself: a numpy number, as the plain number ``to_dict`` gives."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


class Encoder:
    """Dicts and JSON text of one run's records."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.stamp = Stamps()
        self._run_id_json = dumps(run_id)

    # -- dicts ---------------------------------------------------------------------------------

    def to_dict(self, record: Any) -> Any:
        """The protocol object of a record; a list of them for a batch of candles."""
        if isinstance(record, Candles):
            return self.candle_dicts(record)
        out: dict[str, Any] = {"type": record.type, "seq": record.seq, "run_id": self.run_id}
        stamp = self.stamp
        for (name, how), value in zip(_PLANS[record.type], record[1:], strict=True):
            if how == "n":
                value = finite(value)
            elif how == "t" and value is not None:
                value = stamp(value)
            elif value.__class__ is dict or value.__class__ is list:
                value = clean(value)
            out[name] = value
        return out

    def candle_dicts(self, batch: Candles) -> list[dict[str, Any]]:
        """One protocol object per candle of the batch."""
        stamp = self.stamp
        names = batch.names
        inds = [x.tolist() for x in batch.indicators]
        bars = np.arange(batch.bar + 1, batch.bar + len(batch) + 1)
        progress = (hundredths(bars, batch.total) / 100).tolist()
        columns = zip(
            batch.time.tolist(),
            batch.open.tolist(),
            batch.high.tolist(),
            batch.low.tolist(),
            batch.close.tolist(),
            batch.volume.tolist(),
            strict=True,
        )
        out = []
        for k, (t, o, h, lo, c, v) in enumerate(columns):
            out.append(
                {
                    "type": "candle",
                    "seq": batch.seq + k,
                    "run_id": self.run_id,
                    "timestamp": stamp(t),
                    "open": finite(o),
                    "high": finite(h),
                    "low": finite(lo),
                    "close": finite(c),
                    "volume": finite(v),
                    "bar_number": batch.bar + k + 1,
                    "progress": progress[k],
                    "indicators": {n: finite(x[k]) for n, x in zip(names, inds, strict=True)},
                }
            )
        return out

    # -- JSON ----------------------------------------------------------------------------------

    def lines(self, record: Any) -> str:
        """The JSON Lines text of a record: one line per protocol event, newlines included.

        The same text as ``dumps(to_dict(record))``, made without the per-field pass (a
        recording writes a few hundred thousand of these): orjson writes NaN and the
        infinities as null itself, and numpy numbers go through ``.item()`` as in the dict.
        """
        if isinstance(record, Candles):
            return self.candle_lines(record)
        kind = record.type
        d = dict(zip(_KEYS[kind], (kind, record[0], self.run_id, *record[1:])))  # noqa: B905
        for name in _TIMES[kind]:
            value = d[name]
            if value is not None:
                d[name] = self.stamp(value)
        try:
            return orjson.dumps(d, default=_item, option=orjson.OPT_APPEND_NEWLINE).decode()
        except TypeError:  # an integer past 64 bits, a lone surrogate: the careful way
            return dumps(self.to_dict(record)) + "\n"

    def candle_lines(self, batch: Candles) -> str:
        """The lines of a batch of candles: from its run's columns when it carries them (text
        rendered a block at a time, ahead), else rendered from the batch's own values."""
        origin = batch.origin
        if origin is not None and origin.run_id == self.run_id:
            return origin.lines(batch.seq, batch.bar, batch.bar + batch.n)
        tails = candle_tails(
            self._run_id_json,
            batch.time,
            (batch.open, batch.high, batch.low, batch.close, batch.volume),
            batch.names,
            batch.indicators,
            batch.bar,
            batch.total,
        )
        return lines_of(split_lines(text_of(tails)), batch.seq)
