"""Find and parse the columns of a raw frame: the timestamps and the OHLCV numbers.

The careful path of :mod:`algotui.feed.files`: every cell is kept as written so that a bad one
can be reported exactly (see :mod:`algotui.feed.validate` for the row checks).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from algotui.errors import DataError
from algotui.feed.dates import AmbiguousDates, read_day_month

PRICE_COLUMNS = ("Open", "High", "Low", "Close")
COLUMNS = (*PRICE_COLUMNS, "Volume")
TIMESTAMP_NAMES = ("datetime", "timestamp", "date_time", "date", "time")
COLUMN_NAMES = {
    "Open": ("open",),
    "High": ("high",),
    "Low": ("low",),
    "Close": ("close",),
    "Volume": ("volume", "vol"),
}
ADJ_CLOSE_NAMES = ("adj_close", "adjclose", "adjusted_close")
MISSING_TOKENS = ("", "nan", "na", "n/a", "null", "none", "nat")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$")
_FIX_ROW = "fix the file or pass --clean to drop bad rows"
_FIX_ORDER = "sort the file by time or pass --clean to sort it"
_TS_MIN = pd.Timestamp.min.as_unit("ns")
_TS_MAX = pd.Timestamp.max.as_unit("ns")


def shown_columns(frame: pd.DataFrame) -> str:
    """The frame's column names for a message: printable, shortened, never a raw BOM or NUL."""
    names = []
    for column in frame.columns:
        text = str(column)
        if text == "__index__":
            continue
        text = "".join(ch if ch.isprintable() else "?" for ch in text.replace("\ufeff", ""))
        names.append(text if len(text) <= 30 else text[:27] + "...")
    shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
    return shown or "none"


def norm(column: object) -> str:
    """Normalise a column name for matching: ``' Adj-Close '`` -> ``'adj_close'``."""
    text = str(column).strip().lstrip("\ufeff").strip("<>").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def is_text(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series.dtype)
        or pd.api.types.is_datetime64_any_dtype(series.dtype)
    )


def as_text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, missing values as ``""`` (vectorised; for text columns)."""
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.astype(object).where(series.notna(), "").astype(str)
    return series.fillna("").str.strip()


def cell(series: pd.Series, i: int) -> str:
    """Cell ``i`` as written, for messages (``"NaN"`` for a missing number)."""
    value = series.iloc[i]
    if pd.isna(value):
        return "NaN" if pd.api.types.is_numeric_dtype(series.dtype) else ""
    return str(value).strip()


def missing_cells(text: pd.Series) -> np.ndarray:
    return text.str.lower().isin(MISSING_TOKENS).to_numpy()


@dataclass
class Timestamps:
    values: pd.Series
    """Parsed naive datetime64[ns] timestamps, NaT where missing or unparseable."""
    missing: np.ndarray
    """Cells that were empty."""
    column: str
    """The column name as written in the file (for messages)."""
    raw: pd.Series
    """The cells as read (for messages)."""


def find_timestamps(frame: pd.DataFrame, name: str) -> Timestamps:
    """Locate and parse the timestamp column, or raise naming the columns that were found."""
    try:
        return _find_timestamps(frame, name)
    except AmbiguousDates as exc:
        raise DataError(f"{name}: {exc}") from None


def _find_timestamps(frame: pd.DataFrame, name: str) -> Timestamps:
    columns = {}
    for column in frame.columns:
        columns.setdefault(norm(column), column)
    if "__index__" in frame.columns:
        label = str(frame.attrs.get("index_name", "index"))
        return parse_timestamps(frame["__index__"], label)
    date, clock = columns.get("date"), columns.get("time")
    if date is not None and clock is not None and "datetime" not in columns:
        text_columns = is_text(frame[date]) and is_text(frame[clock])
        if "timestamp" not in columns and text_columns and looks_like_clock(frame[clock]):
            joined = as_text(frame[date]) + " " + as_text(frame[clock])
            joined = joined.where((as_text(frame[date]) != "") & (as_text(frame[clock]) != ""), "")
            return parse_timestamps(joined, f"{date}+{clock}")
    for key in TIMESTAMP_NAMES:
        if key in columns:
            return parse_timestamps(frame[columns[key]], str(columns[key]))
    if len(frame.columns):
        first = frame.columns[0]
        if norm(first) in ("", "unnamed:_0", "index") and is_text(frame[first]):
            parsed = parse_timestamps(frame[first], "first column", allow_numbers=False)
            given = ~parsed.missing
            if given.any() and parsed.values[given].notna().mean() >= 0.5:
                return parsed
    shown = shown_columns(frame)
    raise DataError(
        f"{name}: no timestamp column (found: {shown}); "
        "name the time column Date, Datetime, Timestamp or Time"
    )


def looks_like_clock(series: pd.Series) -> bool:
    """True if the first non-empty cell is a time of day like ``09:30`` or ``09:30:00``."""
    text = as_text(series)
    given = text[text != ""]
    return bool(len(given)) and bool(_CLOCK.match(given.iloc[0]))


def parse_timestamps(series: pd.Series, column: str, allow_numbers: bool = True) -> Timestamps:
    """Parse text, datetime or epoch-number cells into naive (UTC) datetime64[ns]."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        missing = series.isna().to_numpy()
        parsed = pd.to_datetime(series, utc=True)
    elif pd.api.types.is_numeric_dtype(series.dtype) and allow_numbers:
        numbers = series.astype("float64")
        missing = numbers.isna().to_numpy()
        parsed = parse_epoch(numbers)
    else:
        text = as_text(series)
        missing = missing_cells(text)
        given = ~missing
        if allow_numbers and given.any() and text[given].str.fullmatch(_NUMBER.pattern).all():
            numbers = pd.to_numeric(text.where(given, None), errors="coerce").astype("float64")
            parsed = parse_epoch(numbers)
        else:
            parsed = read_day_month(text, given, column)
            if parsed is None:
                parsed = parse_dates(text.where(given, None).astype(object))
    parsed = pd.Series(parsed, index=series.index)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    in_range = parsed.notna() & (parsed >= _TS_MIN) & (parsed <= _TS_MAX)
    parsed = parsed.where(in_range).astype("datetime64[ns]")
    return Timestamps(parsed, missing, column, series)


def parse_dates(text: pd.Series) -> pd.Series:
    """Parse date strings: ISO 8601 first, then pandas' format inference; keep the better."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        best = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        if best.notna().sum() < text.notna().sum():
            try:
                other = pd.to_datetime(text, errors="coerce", utc=True)
            except (ValueError, TypeError, OverflowError):
                other = best
            if other.notna().sum() > best.notna().sum():
                best = other
    return best


def parse_epoch(numbers: pd.Series) -> pd.Series:
    """Numbers as ``YYYYMMDD`` or Unix epoch (s, ms, us or ns, chosen by magnitude)."""
    given = numbers.dropna()
    if len(given) and (given == given.round()).all() and given.between(1e7, 1e8 - 1).all():
        as_text = numbers.map(lambda v: "" if pd.isna(v) else str(int(v)))
        dates = pd.to_datetime(as_text, format="%Y%m%d", errors="coerce")
        if dates.notna().sum() == len(given):
            return dates
    magnitude = given.abs().median() if len(given) else 0.0
    limits = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))
    unit = next((u for limit, u in limits if magnitude < limit), "ns")
    finite = numbers.where(np.isfinite(numbers) & (numbers.abs() < 9.2e18))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.to_datetime(finite, unit=unit, errors="coerce")
        except (ValueError, OverflowError):
            return pd.Series(
                [pd.to_datetime(v, unit=unit, errors="coerce") for v in finite],
                index=numbers.index,
            )


@dataclass
class Numbers:
    values: np.ndarray
    """float64 values, NaN where the cell is missing or not a finite number."""
    missing: np.ndarray
    not_number: np.ndarray
    raw: pd.Series


def parse_numbers(series: pd.Series) -> Numbers:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("float64").to_numpy()
        missing = np.isnan(values)
    else:
        text = as_text(series)
        missing = missing_cells(text)
        values = pd.to_numeric(text.where(~missing, None), errors="coerce")
        values = np.asarray(values, dtype="float64")
    not_number = ~missing & ~np.isfinite(values)
    values = np.where(np.isfinite(values), values, np.nan)
    return Numbers(values, missing, not_number, series)


def find_columns(frame: pd.DataFrame, name: str) -> dict[str, pd.Series | None]:
    columns = {}
    for column in frame.columns:
        columns.setdefault(norm(column), column)
    found: dict[str, pd.Series | None] = {}
    for canonical, keys in COLUMN_NAMES.items():
        key = next((k for k in keys if k in columns), None)
        found[canonical] = None if key is None else frame[columns[key]]
    missing = [c for c in PRICE_COLUMNS if found[c] is None]
    if missing:
        shown = shown_columns(frame)
        what = ", ".join(missing)
        hint = (
            "Adj Close alone is not used; "
            if "Close" in missing and any(k in columns for k in ADJ_CLOSE_NAMES)
            else ""
        )
        them = "them" if len(missing) > 1 else "it"
        raise DataError(
            f"{name}: missing column {what} (found: {shown}); add {them} ({hint}Open, High, Low, "
            "Close are required, names are case-insensitive)"
        )
    return found
