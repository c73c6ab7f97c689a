"""The fast path: read clean, well-typed files with pyarrow and validate them column-wise.

Most files are clean: one timestamp column that pyarrow parses as a date or time, numeric
OHLCV without gaps, rows in time order. For those, pyarrow's reader does the parsing and a few
vectorised comparisons over float64 columns do the checking, with no per-cell text kept: a
1M-row CSV loads in about the time pyarrow needs to read it, in a fraction of the memory of
the careful path.

Anything else (a text or empty cell, a number that is not finite, a bad price, rows out of
order, an unusual layout such as separate Date and Time columns or epoch numbers) makes
:func:`read_fast` return None, and the caller takes the careful path, which finds and names
the first bad row exactly as before. So the fast path never decides what a message says.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from algotui.feed.columns import COLUMN_NAMES, COLUMNS, TIMESTAMP_NAMES, norm

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from algotui.feed.reading import TextShape

#: Bytes per block of the CSV reader: a few blocks in flight stay far below the size of the
#: columns themselves (larger blocks measured slower and bigger here, not faster).
BLOCK_BYTES = 1 << 20


def read_fast(path: Path, shape: TextShape | None) -> pd.DataFrame | None:
    """Validated bars, or None when the file needs the careful path (see the module doc).

    ``shape`` is what :func:`algotui.feed.reading.sniff` saw at the start of a CSV file;
    None for Parquet. Only UTF-8 text with a one-character separator is read here.
    """
    if shape is not None and (shape.encoding != "utf-8" or len(shape.sep) != 1):
        return None
    try:
        table = _read_parquet(path) if shape is None else _read_csv(path, shape)
        return _to_frame(table)
    except Exception:  # pyarrow raises many types (a bad cell, a date out of range): the
        return None  # careful path says what is wrong
    finally:
        table = None
        _release_memory()


def _read_csv(path: Path, shape: TextShape) -> pa.Table:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # The OHLCV columns are read as float64 outright: no type inference, and a cell that is
    # not a number fails the read, which sends the file the careful way.
    header = next(csv.reader([shape.header], delimiter=shape.sep))
    numeric = {
        name: pa.float64()
        for name in header
        if any(norm(name) in keys for keys in COLUMN_NAMES.values())
    }
    # The streaming reader keeps only a few blocks in flight (the one-shot reader holds many
    # more and peaks at ~3x the columns' size); it infers the other types from the first
    # block and raises on a later cell that does not fit them.
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(delimiter=shape.sep),
        convert_options=pacsv.ConvertOptions(column_types=numeric),
    )
    return reader.read_all()


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    # ParquetFile.read() skips the datasets layer that read_table() imports on first use.
    return pq.ParquetFile(path).read()


def _release_memory() -> None:
    """Hand pyarrow's freed buffers back to the system before the backtest allocates its own."""
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # an older pyarrow or another pool: only memory is at stake
        pass


def _index_column(table: pa.Table) -> str | None:
    """The column holding a Parquet file's pandas index, if it is a single named column."""
    meta = table.schema.pandas_metadata or {}
    index = meta.get("index_columns") or []
    return index[0] if len(index) == 1 and isinstance(index[0], str) else None


def _pick(table: pa.Table) -> tuple[int, dict[str, int]] | None:
    """Positions of the timestamp column and of the OHLCV columns, or None if unusual."""
    names: dict[str, int] = {}
    for position, name in enumerate(table.column_names):
        names.setdefault(norm(name), position)
    index = _index_column(table)
    if index is not None:
        stamp = table.column_names.index(index)
    else:
        if "date" in names and "time" in names and "datetime" not in names:
            return None  # separate Date and Time columns: joined on the careful path
        stamp = next((names[k] for k in TIMESTAMP_NAMES if k in names), -1)
        if stamp < 0:
            return None
    found = {}
    for canonical, keys in COLUMN_NAMES.items():
        key = next((k for k in keys if k in names), None)
        if key is not None:
            found[canonical] = names[key]
        elif canonical != "Volume":
            return None
    return stamp, found


def _timestamps(column: pa.ChunkedArray) -> np.ndarray | None:
    """Naive UTC nanoseconds as int64, or None unless the column is a null-free date/time."""
    import pyarrow as pa

    kind = column.type
    if column.null_count or not (pa.types.is_timestamp(kind) or pa.types.is_date(kind)):
        return None
    # Zoned values are instants: pyarrow keeps them in UTC, so dropping the zone gives UTC.
    # A date outside what nanoseconds can hold (years 1677-2262) fails the cast: careful path.
    as_ns = column.cast(pa.timestamp("ns"))
    return as_ns.to_numpy().view("int64")


def _numbers(column: pa.ChunkedArray, out: np.ndarray) -> bool:
    """Copy a null-free numeric column into ``out`` (float64); False if it is anything else."""
    import pyarrow as pa

    kind = column.type
    if column.null_count or not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
        return False
    start = 0
    for chunk in column.chunks:
        values = chunk.to_numpy(zero_copy_only=False)
        out[start : start + len(values)] = values
        start += len(values)
    return True


def _to_frame(table: pa.Table) -> pd.DataFrame | None:
    picked = _pick(table)
    if picked is None or table.num_rows < 2:
        return None
    stamp, found = picked
    ns = _timestamps(table.column(stamp))
    if ns is None:
        return None
    n = table.num_rows
    # One block for the five columns: the frame below wraps it without a copy.
    block = np.zeros((len(COLUMNS), n))
    for row, name in enumerate(COLUMNS):
        if name in found and not _numbers(table.column(found[name]), block[row]):
            return None
    if not _valid(block, ns):
        return None
    import pandas as pd

    index = pd.DatetimeIndex(ns.view("datetime64[ns]"), name="Date")
    frame = pd.DataFrame(block.T, index=index, columns=list(COLUMNS), copy=False)
    frame.attrs.update(dropped_rows=0, warnings=[])
    return frame


def _valid(block: np.ndarray, ns: np.ndarray) -> bool:
    """Every check of the careful path, column-wise: any failure hands over to it."""
    o, h, lo, c, v = block
    if not np.isfinite(block).all():
        return False
    if not (lo > 0).all() or (v < 0).any():  # lo > 0 and the next line: every price > 0
        return False
    # High is the top of the bar and Low its bottom: this also gives High >= Low.
    if not ((h >= o) & (h >= c) & (lo <= o) & (lo <= c)).all():
        return False
    return bool((ns[1:] > ns[:-1]).all())  # strictly ascending: sorted, no duplicates
