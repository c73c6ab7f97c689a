"""Read a CSV or Parquet file into a raw frame for the careful path (cells kept as text).

Used when the fast path (:mod:`algotui.feed.fast`) declines a file: anything but clean,
well-typed columns. Every read failure becomes a one-line :class:`DataError`.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from algotui.errors import DataError


def one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


@dataclass(frozen=True)
class TextShape:
    """What the start of a CSV file says about the rest: separator, encoding, first lines."""

    sep: str
    """``,`` ``;`` tab ``|``, or ``\\s+`` for whitespace."""
    encoding: str
    """``utf-8``, ``utf-8-sig`` (a byte-order mark), ``utf-16`` or ``latin-1``."""
    header: str
    first_row: str


_SNIFF_BYTES = 1 << 16


def sniff(p: Path) -> TextShape:
    """Read the start of a CSV file: its encoding, separator, header and first data row.

    UTF-16 files (as some spreadsheet programs save "Unicode text") are recognised by their
    byte-order mark, or by their NUL bytes when they have none; a file with NUL bytes that is
    not UTF-16 is refused here, so that no message ever shows raw NUL or BOM characters.
    """
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rb") as fh:
            start = fh.read(_SNIFF_BYTES)
    except (OSError, EOFError) as exc:
        raise DataError(
            f"{p.name}: cannot read file ({one_line(exc)}); check it is a valid CSV file"
        ) from exc
    encoding = _encoding(p.name, start)
    text = start.decode(encoding, errors="replace").lstrip("\ufeff")
    lines = [line for line in text.splitlines() if line.strip()][:2] + ["", ""]
    header, first_row = lines[0], lines[1]
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return TextShape(best if counts[best] else r"\s+", encoding, header, first_row)


def _encoding(name: str, start: bytes) -> str:
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if start.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if b"\x00" in start:
        even, odd = start[0::2].count(0), start[1::2].count(0)
        half = len(start) // 2
        if odd > 0.4 * half and even < 0.05 * half:
            return "utf-16-le"
        if even > 0.4 * half and odd < 0.05 * half:
            return "utf-16-be"
        raise DataError(
            f"{name}: the file holds NUL bytes and is not text; give a CSV text file "
            "(or a .parquet file)"
        )
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(start) - 3:  # not just a character cut at the end of the sample
            return "latin-1"  # e.g. exports from older Windows tools
    return "utf-8"


def check_field_counts(name: str, shape: TextShape) -> None:
    """Refuse a file whose data rows have more fields than its header.

    pandas would quietly take the first column as the row labels and shift every other
    column by one, so that prices land under the wrong names; the usual cause is a
    separator at the end of every data row.
    """
    if shape.sep == r"\s+" or not shape.first_row:
        return
    header, row = (
        next(csv.reader([line], delimiter=shape.sep)) for line in (shape.header, shape.first_row)
    )
    if len(row) <= len(header):
        return
    extra = len(row) - len(header)
    if row[-1].strip() == "" and extra == 1:
        cause = f"each row ends with '{shape.sep}'; remove it"
    elif shape.sep == "," and any(re.fullmatch(r"\d+", cell.strip()) for cell in row[1:]):
        cause = "decimal commas in a comma-separated file? save it with '.' as the decimal mark"
    else:
        cause = "give every column a name in the header"
    raise DataError(f"{name} row 1 has {len(row)} fields but the header has {len(header)}: {cause}")


def read_csv(p: Path, shape: TextShape) -> pd.DataFrame:
    """Read a CSV file of the given shape (see :func:`sniff`).

    Clean numeric columns come back as numbers (fast); with the default NA markers switched off,
    a column holding any empty, ``nan`` or non-numeric cell comes back as text, so bad cells
    can be reported exactly as written.
    """
    check_field_counts(p.name, shape)
    try:
        try:
            return read_csv_as(p, shape.sep, shape.encoding)
        except UnicodeDecodeError:
            return read_csv_as(p, shape.sep, "latin-1")  # e.g. exports from older Windows tools
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
