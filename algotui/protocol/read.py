"""Protocol objects back into records, and recordings read back, damage and all.

:func:`record_of` turns one protocol dict into its record (checking its fields' types);
:class:`RecordingReader` reads a JSON Lines recording (plain or gzip) into records, grouping
consecutive candles into batches, and says what was wrong with the file as it goes: a torn
last line, a garbage line (skipped, by line number), a gap in ``seq``, a field of the wrong
type or an absurd value, an end without ``complete``. A file still being written is followed
as it grows, like ``tail -f``.
"""

import io
import json
import math
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import orjson

from algotui.errors import UserError
from algotui.protocol.encode import seconds_of
from algotui.protocol.fields import EVENTS
from algotui.protocol.records import RECORDS, Candles

#: Bars a recording may say it has: more is taken for damage, not a run.
MAX_BARS = 100_000_000
#: How many consecutive candles a reader puts in one batch.
BATCH = 1024


class BadEvent(ValueError):
    """A protocol object whose fields are missing, of the wrong type or absurd."""


def _number(name: str, value: Any, nullable: bool) -> Any:
    if value is None:
        if nullable:
            return None
        raise BadEvent(f"{name} is null")
    if value.__class__ is bool or not isinstance(value, int | float):
        raise BadEvent(f"{name} is not a number ({type(value).__name__})")
    return value


def record_of(d: dict[str, Any]) -> Any:
    """The record of one protocol object (a candle becomes a batch of one)."""
    if not isinstance(d, dict):
        raise BadEvent(f"an event is a JSON object, not {type(d).__name__}")
    kind = d.get("type")
    spec = EVENTS.get(kind)  # type: ignore[arg-type]
    if spec is None:
        raise BadEvent(f"unknown event type {kind!r}")
    seq = d.get("seq")
    if seq.__class__ is not int or seq < 0:
        raise BadEvent(f"{kind}: seq {seq!r} is not a non-negative integer")
    if kind == "candle":
        return candles_of([d])
    values: list[Any] = [seq]
    for f in spec.fields:
        value = d.get(f.name)
        if f.is_number and value is not None:  # absent: null (an older or partial event)
            value = _number(f"{kind}.{f.name}", value, True)
        values.append(value)
    record = RECORDS[kind](*values)
    if kind == "metadata":
        total = record.total_bars
        if total is not None and (total.__class__ is not int or not 0 < total <= MAX_BARS):
            raise BadEvent(f"metadata.total_bars {total!r} is not a bar count (1..{MAX_BARS:,})")
        if not isinstance(record.indicators or [], list) or not isinstance(
            record.params or {}, dict
        ):
            raise BadEvent("metadata: indicators must be a list and params an object")
    elif kind in ("signal", "levels", "equity", "stats"):
        bar = record.bar_number
        if bar is not None and (bar.__class__ is not int or not 0 < bar <= MAX_BARS):
            raise BadEvent(f"{kind}.bar_number {bar!r} is not a bar number")
    return record


def candles_of(
    items: list[dict[str, Any]], names: tuple[str, ...] | None = None, total: int = 0
) -> Candles:
    """One batch from consecutive candle objects (their ``seq`` and bars in a row)."""
    first = items[0]
    try:
        times = np.array([seconds_of(d["timestamp"]) for d in items], dtype=np.int64)
        cols = tuple(
            np.array([_nan(d.get(k), k) for d in items], dtype=float)
            for k in ("open", "high", "low", "close", "volume")
        )
        if names is None:
            names = tuple(first.get("indicators") or {})
        inds = tuple(
            np.array([_nan((d.get("indicators") or {}).get(n), n) for d in items], dtype=float)
            for n in names
        )
        bar = int(first["bar_number"]) - 1
        progress = float(first.get("progress") or 0.0)
    except (KeyError, TypeError, ValueError) as exc:
        raise BadEvent(f"candle: {exc}") from None
    if not 0 <= bar < MAX_BARS:
        raise BadEvent(f"candle.bar_number {bar + 1} is not a bar number")
    if not total:  # the run's length, from the first candle's progress
        total = round((bar + 1) * 100 / progress) if progress > 0 else 0
    total = min(max(total, bar + len(items)), MAX_BARS)
    return Candles(int(first["seq"]), bar, times, cols, names, inds, total)


def _check_candle(d: dict[str, Any]) -> None:
    """A candle object's fields are of the right types (or a :class:`BadEvent`)."""
    stamp = d.get("timestamp")
    if not isinstance(stamp, str) or len(stamp) < 19:
        raise BadEvent(f"candle.timestamp {stamp!r} is not a bar time")
    bar = d.get("bar_number")
    if bar.__class__ is not int or not 0 < bar <= MAX_BARS:
        raise BadEvent(f"candle.bar_number {bar!r} is not a bar number")
    for key in ("open", "high", "low", "close", "volume"):
        value = d.get(key)
        if value is not None and (value.__class__ is bool or not isinstance(value, int | float)):
            raise BadEvent(f"candle.{key} is not a number ({type(value).__name__})")
    inds = d.get("indicators")
    if inds is not None and not isinstance(inds, dict):
        raise BadEvent("candle.indicators is not an object")
    try:
        seconds_of(stamp)
    except ValueError:
        raise BadEvent(f"candle.timestamp {stamp!r} is not a bar time") from None


def _nan(value: Any, name: str) -> float:
    if value is None:
        return math.nan
    if value.__class__ is bool or not isinstance(value, int | float):
        raise ValueError(f"{name} is not a number")
    return float(value)


def open_recording(path: str | Path) -> IO[bytes]:
    """Open a recording for reading as bytes, plain or gzip (a cut-off gzip reads up to
    where it was cut)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such recording: {path}")
    if p.suffix == ".gz":
        return io.BufferedReader(_TolerantGzip(p))
    return open(p, "rb")  # noqa: SIM115 - the caller closes it


class RecordingReader:
    """Reads a recording into records and says what was wrong with it.

    ``notice(message)`` is called once per problem (headless: a line on stderr; the app: a
    notice). With ``follow``, a file that ends without ``complete`` or ``error`` and is still
    growing is read on as it grows, until it has been still for ``follow_seconds``.
    """

    def __init__(
        self,
        path: str | Path,
        notice: Callable[[str], None] = lambda message: None,
        *,
        follow: bool = True,
        follow_seconds: float = 3.0,
        stop: Callable[[], bool] = lambda: False,
    ) -> None:
        self.path = Path(path)
        self.notice = notice
        self.follow = follow
        self.follow_seconds = follow_seconds
        self.stop = stop
        self.ended = False  # a complete or error event was read
        self.last_seq = -1
        self.last_bar = 0  # bars read (1-based number of the last candle)
        self.problems = 0
        self._names: tuple[str, ...] | None = None
        self._total = 0

    def first(self) -> dict[str, Any]:
        """The metadata object, checked; a one-line error if the file is not a recording."""
        with open_recording(self.path) as f:
            try:
                line = f.readline(1 << 20)
                d = orjson.loads(line)
                record_of(d)
            except (orjson.JSONDecodeError, BadEvent, UnicodeDecodeError, OSError, EOFError):
                d = None
        if not isinstance(d, dict) or d.get("type") != "metadata":
            raise UserError(f"{self.path} is not an algotui recording (no metadata event first)")
        return d

    def __iter__(self) -> Iterator[Any]:
        pending: list[dict[str, Any]] = []
        for number, d in self._objects():
            try:
                if d.get("type") == "candle":
                    _check_candle(d)
                    self._check_seq(d, number)
                    if pending and (
                        len(pending) >= BATCH or d.get("bar_number") != self.last_bar + 1
                    ):
                        yield candles_of(pending, self._names, self._total)
                        pending = []
                    pending.append(d)
                    self.last_bar = d.get("bar_number") or self.last_bar
                    continue
                record = record_of(d)
            except BadEvent as exc:
                self._problem(f"line {number}: {exc}; skipped")
                continue
            if pending:
                try:
                    yield candles_of(pending, self._names, self._total)
                except BadEvent as exc:
                    self._problem(f"line {number - 1}: {exc}; {len(pending)} candles skipped")
                pending = []
            self._check_seq(d, number)
            if record.type == "metadata":
                self._names = tuple(
                    str(x.get("name")) for x in record.indicators if isinstance(x, dict)
                )
                self._total = record.total_bars
            yield record
            if record.type in ("complete", "error"):
                self.ended = True
                return
        if pending:
            try:
                yield candles_of(pending, self._names, self._total)
            except BadEvent as exc:
                self._problem(f"the last {len(pending)} candles: {exc}; skipped")
        if not self.ended:
            self._problem(f"the recording ended early at bar {self.last_bar:,} (no complete event)")

    def _check_seq(self, d: dict[str, Any], number: int) -> None:
        seq = d.get("seq")
        if seq.__class__ is not int:
            raise BadEvent(f"seq {seq!r} is not an integer")
        if seq != self.last_seq + 1 and self.last_seq >= 0:
            self._problem(f"line {number}: seq jumps from {self.last_seq} to {seq}")
        self.last_seq = seq

    def _problem(self, message: str) -> None:
        self.problems += 1
        self.notice(f"{self.path.name}: {message}")

    def _objects(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """(line number, object) for each whole, parseable line."""
        number = 0
        still_since = time.monotonic()
        said_following = False
        tail = b""
        with open_recording(self.path) as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    if self.ended or not self.follow or self.stop():
                        break
                    if time.monotonic() - still_since > self.follow_seconds:
                        break
                    if not self._growing():
                        break
                    if not said_following:
                        said_following = True
                        self.notice(f"{self.path.name} is still being written: following it")
                    time.sleep(0.1)
                    continue
                still_since = time.monotonic()
                data = tail + chunk
                lines = data.split(b"\n")
                tail = lines.pop()
                for line in lines:
                    number += 1
                    if not line.strip():
                        continue
                    try:
                        d = orjson.loads(line)
                    except orjson.JSONDecodeError:
                        self._problem(f"line {number} is not JSON; skipped")
                        continue
                    if not isinstance(d, dict):
                        self._problem(f"line {number} is not an event object; skipped")
                        continue
                    yield number, d
                    if self.ended:
                        return
        if tail.strip():
            number += 1
            try:
                d = orjson.loads(tail)
            except orjson.JSONDecodeError:
                self._problem(f"line {number} is torn (a run killed mid-write); skipped")
                return
            if isinstance(d, dict):
                yield number, d

    def _growing(self) -> bool:
        """True while the file was changed in the last few seconds (still being written)."""
        try:
            age = time.time() - self.path.stat().st_mtime
        except OSError:
            return False
        return age < self.follow_seconds


def read_events(stream: IO[str]) -> Iterator[dict[str, Any]]:
    """Protocol objects from a JSON Lines text stream; a torn last line is skipped."""
    for line in stream:
        line = line.strip()
        if not line:
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError:
            return


class _TolerantGzip(io.RawIOBase):
    """Reads a gzip file that may have been cut off mid-stream."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115
        self._d = zlib.decompressobj(31)
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf and not self._eof:
            chunk = self._f.read(65536)
            if not chunk:
                try:
                    self._buf = self._d.flush()
                except zlib.error:
                    pass
                if not self._buf:
                    return 0  # for now: a file still being written may grow
                break
            try:
                self._buf = self._d.decompress(chunk)
            except zlib.error:
                self._eof = True
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._f.close()
        super().close()
