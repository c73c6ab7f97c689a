"""Load OHLCV bars from a CSV or Parquet file, validating every row.

Accepted input (column names are case-insensitive; spaces, dashes and ``<>`` are ignored):

* a timestamp column named ``Date``, ``Datetime``, ``Timestamp`` or ``Time`` (or separate
  ``Date`` and ``Time`` columns, which are joined); in Parquet, a ``DatetimeIndex`` also
  works; failing that, an unnamed first column (``Unnamed: 0``, as written by
  ``DataFrame.to_csv``) is used if it holds dates. Timestamps may be text in any format
  pandas understands, or numbers: Unix epoch seconds, milliseconds, microseconds or
  nanoseconds (the unit is chosen from the magnitude), or ``YYYYMMDD`` integers;
* ``Open``, ``High``, ``Low``, ``Close`` (required) and ``Volume`` (optional; 0 when missing).

``Adj Close`` is accepted and ignored: the backtest trades the as-traded ``Close``, because
Open/High/Low are not adjusted and mixing adjusted closes with unadjusted highs and lows makes
the bars inconsistent. Adjust your file beforehand if you want adjusted prices.

Timestamps: timezone-aware values are converted to UTC and then made naive (so a bar stamped
``09:30-05:00`` becomes ``14:30``); naive values are kept as they are.

Every problem raises :class:`~algotui.errors.DataError` with a one-line message naming the file,
the first bad row (1-based data row, the header not counted) with its timestamp and the column,
and how to fix it. With ``clean=True`` bad rows are dropped instead (duplicates keep their first
row; rows out of time order are sorted, not dropped) and reported in ``df.attrs``.

Two paths give the same result: clean, well-typed files are read by pyarrow and checked
column-wise (:mod:`algotui.feed.fast`); any other file is read with every cell kept as written
(:mod:`algotui.feed.reading`, :mod:`algotui.feed.columns`) and checked row by row
(:mod:`algotui.feed.validate`), which names the first bad row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from algotui.errors import DataError
from algotui.feed.fast import read_fast
from algotui.feed.reading import read_csv, read_parquet, sniff
from algotui.feed.validate import Validator

__all__ = ["load_file", "infer_interval", "CSV_SUFFIXES", "PARQUET_SUFFIXES"]

CSV_SUFFIXES = (".csv.gz", ".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")


def load_file(path: str | Path, *, clean: bool = False) -> pd.DataFrame:
    """Read and validate OHLCV bars from a CSV (.csv, .csv.gz, .txt) or Parquet file.

    See the module docstring for the accepted columns and timestamp formats. Timezone-aware
    timestamps are converted to UTC and made naive; naive timestamps are kept as is.

    Args:
        path: the file to read.
        clean: drop bad rows (and sort rows into time order) instead of raising.

    Returns:
        A frame with a ``DatetimeIndex`` named ``"Date"`` (ascending, unique) and float64
        columns Open, High, Low, Close, Volume. ``attrs``: ``symbol`` (the file name without
        extension, upper-cased), ``source`` (``str(path)``), ``interval`` (see
        :func:`infer_interval`), ``dropped_rows`` (int) and ``warnings`` (list of short strings).

    Raises:
        DataError: the file is missing, unreadable or has a bad row (unless ``clean``).
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"no such file: {path} (check the path)")
    if not p.is_file():
        raise DataError(f"not a file: {path} (give a .csv or .parquet file)")
    name = p.name
    lower = name.lower()
    suffix = next((s for s in (*CSV_SUFFIXES, *PARQUET_SUFFIXES) if lower.endswith(s)), None)
    if suffix is None:
        found = "".join(p.suffixes[-2:]) or "none"
        raise DataError(
            f"{name}: unsupported file type ({found}); use .csv, .csv.gz, .txt, .parquet or .pq"
        )
    parquet = suffix in PARQUET_SUFFIXES
    shape = None if parquet else sniff(p)
    frame = read_fast(p, shape)
    if frame is None:  # not clean or not plain: the careful path finds the bad row
        raw = read_parquet(p) if shape is None else read_csv(p, shape)
        frame = Validator(raw, name, clean).run()
    frame.attrs.update(
        symbol=name[: -len(suffix)].upper(), source=str(path), interval=infer_interval(frame.index)
    )
    return frame


def infer_interval(index: pd.DatetimeIndex) -> str:
    """The bar size: the most common gap between consecutive timestamps, as a short label.

    Labels are ``"1m"``, ``"5m"``, ``"1h"``, ``"1d"``, ``"1wk"``, ``"1mo"`` (gaps of 28-31 days),
    ``"3mo"`` (89-92 days), or the exact gap otherwise (``"90s"``, ``"90m"``, ``"3d"``,
    ``"2wk"``, ``"250ms"``). Ties go to the smaller gap; weekends and overnight gaps therefore
    do not matter. Returns ``"unknown"`` with fewer than two distinct timestamps.
    """
    values = pd.DatetimeIndex(index).dropna().as_unit("ns").asi8
    if len(values) > 1 and not (values[1:] > values[:-1]).all():
        values = np.sort(values)
        values = values[np.r_[True, values[1:] != values[:-1]]]  # distinct
    if len(values) < 2:
        return "unknown"
    return _render_gap(_most_common(np.diff(values)))


def _most_common(gaps: np.ndarray) -> int:
    """The most common value of ``gaps`` (the smaller on a tie), exactly.

    Bars mostly come at a few distinct gaps (the bar size, overnight, weekends): the values
    seen in a sample are counted exactly, and if the best count beats every gap left uncounted
    it is the answer, without sorting a million values. Otherwise, sort and count them all
    (numpy's hash-based ``unique`` takes seconds on 1M values here).
    """
    sample = np.unique(gaps[:: max(1, len(gaps) // 1024)])
    if len(sample) <= 16:
        counts = np.array([np.count_nonzero(gaps == gap) for gap in sample])
        best = int(np.argmax(counts))  # the first maximum: the smaller gap
        rest = len(gaps) - int(counts.sum())
        if counts[best] > rest:
            return int(sample[best])
    ordered = np.sort(gaps)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    counts = np.diff(np.r_[starts, len(ordered)])
    return int(ordered[starts[np.argmax(counts)]])


def _render_gap(gap_ns: int) -> str:
    """A gap in nanoseconds as ``"5m"``, ``"1h"``, ``"1d"``, ``"1wk"``, ``"1mo"``, ..."""
    second, minute, hour, day = 10**9, 60 * 10**9, 3600 * 10**9, 86400 * 10**9
    if gap_ns % day == 0:
        days = gap_ns // day
        if 28 <= days <= 31:
            return "1mo"
        if 89 <= days <= 92:
            return "3mo"
        return f"{days // 7}wk" if days % 7 == 0 else f"{days}d"
    if gap_ns % hour == 0:
        return f"{gap_ns // hour}h"
    if gap_ns % minute == 0:
        return f"{gap_ns // minute}m"
    if gap_ns % second == 0:
        return f"{gap_ns // second}s"
    return f"{gap_ns / 1e6:g}ms"


# --------------------------------------------------------------------------- reading
