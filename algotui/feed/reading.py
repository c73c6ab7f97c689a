"""Read a CSV or Parquet file into a raw frame for the careful path (cells kept as text).

Used when the fast path (:mod:`algotui.feed.fast`) declines a file: anything but clean,
well-typed columns. Every read failure becomes a one-line :class:`DataError`.
"""

from __future__ import annotations

import gzip
import warnings
from pathlib import Path

import pandas as pd

from algotui.errors import DataError


def one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def sniff_separator(p: Path) -> str:
    """Guess the CSV delimiter from the header line: , ; tab | or whitespace."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except (OSError, EOFError) as exc:
        raise DataError(
            f"{p.name}: cannot read file ({one_line(exc)}); check it is a valid CSV file"
        ) from exc
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else r"\s+"


def read_csv(p: Path, sep: str) -> pd.DataFrame:
    """Read a CSV file whose separator is ``sep`` (see :func:`sniff_separator`).

    Clean numeric columns come back as numbers (fast); with the default NA markers switched off,
    a column holding any empty, ``nan`` or non-numeric cell comes back as text, so bad cells
    can be reported exactly as written.
    """
    try:
        try:
            return read_csv_as(p, sep, "utf-8")
        except UnicodeDecodeError:
            return read_csv_as(p, sep, "latin-1")  # e.g. exports from older Windows tools
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{p.name}: the file is empty; add a header and data rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise DataError(
            f"{p.name}: cannot read CSV ({one_line(exc)}); check it is a valid CSV text file"
        ) from exc


def read_csv_as(p: Path, sep: str, encoding: str) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.DtypeWarning)
        return pd.read_csv(
            p,
            sep=sep,
            keep_default_na=False,
            skipinitialspace=True,
            encoding=encoding,
            compression="gzip" if p.name.lower().endswith(".gz") else None,
        )


def read_parquet(p: Path) -> pd.DataFrame:
    """Read a Parquet file; a DatetimeIndex becomes a column named ``__index__``."""
    try:
        frame = pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise DataError(
            f"{p.name}: cannot read Parquet ({one_line(exc)}); check it is a valid Parquet file"
        ) from exc
    if isinstance(frame.index, pd.DatetimeIndex):
        label = str(frame.index.name or "index")
        frame = frame.reset_index(names="__index__")
        frame.attrs["index_name"] = label
    elif not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame.reset_index(drop=True)
