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
"""

from __future__ import annotations

import gzip
import re
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from algotui.errors import DataError

__all__ = ["load_file", "infer_interval", "CSV_SUFFIXES", "PARQUET_SUFFIXES"]

CSV_SUFFIXES = (".csv.gz", ".csv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
PRICE_COLUMNS = ("Open", "High", "Low", "Close")
COLUMNS = (*PRICE_COLUMNS, "Volume")

_TIMESTAMP_NAMES = ("datetime", "timestamp", "date_time", "date", "time")
_COLUMN_NAMES = {
    "Open": ("open",),
    "High": ("high",),
    "Low": ("low",),
    "Close": ("close",),
    "Volume": ("volume", "vol"),
}
_ADJ_CLOSE_NAMES = ("adj_close", "adjclose", "adjusted_close")
_MISSING_TOKENS = ("", "nan", "na", "n/a", "null", "none", "nat")
_CLOCK = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_NUMBER = re.compile(r"^[+-]?\d+(\.\d*)?([eE][+-]?\d+)?$")
_FIX_ROW = "fix the file or pass --clean to drop bad rows"
_FIX_ORDER = "sort the file by time or pass --clean to sort it"
_TS_MIN = pd.Timestamp.min.as_unit("ns")
_TS_MAX = pd.Timestamp.max.as_unit("ns")


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
    raw = _read_parquet(p) if suffix in PARQUET_SUFFIXES else _read_csv(p)
    frame = _Validator(raw, name, clean).run()
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
    values = pd.DatetimeIndex(index).dropna().unique().as_unit("ns").sort_values()
    if len(values) < 2:
        return "unknown"
    gaps = Counter(np.diff(values.asi8).tolist())
    top = max(gaps.values())
    return _render_gap(min(gap for gap, count in gaps.items() if count == top))


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


def _one_line(exc: BaseException) -> str:
    """An exception's message squeezed onto one short line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."


def _sniff_separator(p: Path) -> str:
    """Guess the CSV delimiter from the header line: , ; tab | or whitespace."""
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except (OSError, EOFError) as exc:
        raise DataError(
            f"{p.name}: cannot read file ({_one_line(exc)}); check it is a valid CSV file"
        ) from exc
    counts = {sep: header.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else r"\s+"


def _read_csv(p: Path) -> pd.DataFrame:
    """Read a CSV file.

    Clean numeric columns come back as numbers (fast); with the default NA markers switched off,
    a column holding any empty, ``nan`` or non-numeric cell comes back as text, so bad cells
    can be reported exactly as written.
    """
    sep = _sniff_separator(p)
    try:
        try:
            return _read_csv_as(p, sep, "utf-8")
        except UnicodeDecodeError:
            return _read_csv_as(p, sep, "latin-1")  # e.g. exports from older Windows tools
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{p.name}: the file is empty; add a header and data rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError) as exc:
        raise DataError(
            f"{p.name}: cannot read CSV ({_one_line(exc)}); check it is a valid CSV text file"
        ) from exc


def _read_csv_as(p: Path, sep: str, encoding: str) -> pd.DataFrame:
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


def _read_parquet(p: Path) -> pd.DataFrame:
    """Read a Parquet file; a DatetimeIndex becomes a column named ``__index__``."""
    try:
        frame = pd.read_parquet(p)
    except Exception as exc:  # pyarrow raises many types for corrupt files
        raise DataError(
            f"{p.name}: cannot read Parquet ({_one_line(exc)}); check it is a valid Parquet file"
        ) from exc
    if isinstance(frame.index, pd.DatetimeIndex):
        label = str(frame.index.name or "index")
        frame = frame.reset_index(names="__index__")
        frame.attrs["index_name"] = label
    elif not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------- columns


def _norm(column: object) -> str:
    """Normalise a column name for matching: ``' Adj-Close '`` -> ``'adj_close'``."""
    text = str(column).strip().lstrip("\ufeff").strip("<>").strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def _is_text(series: pd.Series) -> bool:
    return not (
        pd.api.types.is_numeric_dtype(series.dtype)
        or pd.api.types.is_datetime64_any_dtype(series.dtype)
    )


def _text(series: pd.Series) -> pd.Series:
    """Values as stripped strings, missing values as ``""`` (vectorised; for text columns)."""
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.astype(object).where(series.notna(), "").astype(str)
    return series.fillna("").str.strip()


def _cell(series: pd.Series, i: int) -> str:
    """Cell ``i`` as written, for messages (``"NaN"`` for a missing number)."""
    value = series.iloc[i]
    if pd.isna(value):
        return "NaN" if pd.api.types.is_numeric_dtype(series.dtype) else ""
    return str(value).strip()


def _missing(text: pd.Series) -> np.ndarray:
    return text.str.lower().isin(_MISSING_TOKENS).to_numpy()


@dataclass
class _Timestamps:
    values: pd.Series
    """Parsed naive datetime64[ns] timestamps, NaT where missing or unparseable."""
    missing: np.ndarray
    """Cells that were empty."""
    column: str
    """The column name as written in the file (for messages)."""
    raw: pd.Series
    """The cells as read (for messages)."""


def _find_timestamps(frame: pd.DataFrame, name: str) -> _Timestamps:
    """Locate and parse the timestamp column, or raise naming the columns that were found."""
    columns = {}
    for column in frame.columns:
        columns.setdefault(_norm(column), column)
    if "__index__" in frame.columns:
        label = str(frame.attrs.get("index_name", "index"))
        return _parse_timestamps(frame["__index__"], label)
    date, clock = columns.get("date"), columns.get("time")
    if date is not None and clock is not None and "datetime" not in columns:
        text_columns = _is_text(frame[date]) and _is_text(frame[clock])
        if "timestamp" not in columns and text_columns and _looks_like_clock(frame[clock]):
            joined = _text(frame[date]) + " " + _text(frame[clock])
            joined = joined.where((_text(frame[date]) != "") & (_text(frame[clock]) != ""), "")
            return _parse_timestamps(joined, f"{date}+{clock}")
    for key in _TIMESTAMP_NAMES:
        if key in columns:
            return _parse_timestamps(frame[columns[key]], str(columns[key]))
    if len(frame.columns):
        first = frame.columns[0]
        if _norm(first) in ("", "unnamed:_0", "index") and _is_text(frame[first]):
            parsed = _parse_timestamps(frame[first], "first column", allow_numbers=False)
            given = ~parsed.missing
            if given.any() and parsed.values[given].notna().mean() >= 0.5:
                return parsed
    shown = ", ".join(str(c) for c in frame.columns if str(c) != "__index__") or "none"
    raise DataError(
        f"{name}: no timestamp column (found: {shown}); "
        "name the time column Date, Datetime, Timestamp or Time"
    )


def _looks_like_clock(series: pd.Series) -> bool:
    """True if the first non-empty cell is a time of day like ``09:30`` or ``09:30:00``."""
    text = _text(series)
    given = text[text != ""]
    return bool(len(given)) and bool(_CLOCK.match(given.iloc[0]))


def _parse_timestamps(series: pd.Series, column: str, allow_numbers: bool = True) -> _Timestamps:
    """Parse text, datetime or epoch-number cells into naive (UTC) datetime64[ns]."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        missing = series.isna().to_numpy()
        parsed = pd.to_datetime(series, utc=True)
    elif pd.api.types.is_numeric_dtype(series.dtype) and allow_numbers:
        numbers = series.astype("float64")
        missing = numbers.isna().to_numpy()
        parsed = _parse_epoch(numbers)
    else:
        text = _text(series)
        missing = _missing(text)
        given = ~missing
        if allow_numbers and given.any() and text[given].str.fullmatch(_NUMBER.pattern).all():
            numbers = pd.to_numeric(text.where(given, None), errors="coerce").astype("float64")
            parsed = _parse_epoch(numbers)
        else:
            parsed = _parse_dates(text.where(given, None).astype(object))
    parsed = pd.Series(parsed, index=series.index)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    in_range = parsed.notna() & (parsed >= _TS_MIN) & (parsed <= _TS_MAX)
    parsed = parsed.where(in_range).astype("datetime64[ns]")
    return _Timestamps(parsed, missing, column, series)


def _parse_dates(text: pd.Series) -> pd.Series:
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


def _parse_epoch(numbers: pd.Series) -> pd.Series:
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
class _Numbers:
    values: np.ndarray
    """float64 values, NaN where the cell is missing or not a finite number."""
    missing: np.ndarray
    not_number: np.ndarray
    raw: pd.Series


def _parse_numbers(series: pd.Series) -> _Numbers:
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype("float64").to_numpy()
        missing = np.isnan(values)
    else:
        text = _text(series)
        missing = _missing(text)
        values = pd.to_numeric(text.where(~missing, None), errors="coerce")
        values = np.asarray(values, dtype="float64")
    not_number = ~missing & ~np.isfinite(values)
    values = np.where(np.isfinite(values), values, np.nan)
    return _Numbers(values, missing, not_number, series)


def _find_columns(frame: pd.DataFrame, name: str) -> dict[str, pd.Series | None]:
    columns = {}
    for column in frame.columns:
        columns.setdefault(_norm(column), column)
    found: dict[str, pd.Series | None] = {}
    for canonical, keys in _COLUMN_NAMES.items():
        key = next((k for k in keys if k in columns), None)
        found[canonical] = None if key is None else frame[columns[key]]
    missing = [c for c in PRICE_COLUMNS if found[c] is None]
    if missing:
        shown = ", ".join(str(c) for c in frame.columns if str(c) != "__index__") or "none"
        what = ", ".join(missing)
        hint = (
            "Adj Close alone is not used; "
            if "Close" in missing and any(k in columns for k in _ADJ_CLOSE_NAMES)
            else ""
        )
        them = "them" if len(missing) > 1 else "it"
        raise DataError(
            f"{name}: missing column {what} (found: {shown}); add {them} ({hint}Open, High, Low, "
            "Close are required, names are case-insensitive)"
        )
    return found


# --------------------------------------------------------------------------- validation


@dataclass
class _Check:
    """One kind of bad row: which rows, a short label for --clean, and a message builder."""

    mask: np.ndarray
    label: str
    describe: Callable[[int], str]
    fix: str = _FIX_ROW


def _show(value: float) -> str:
    return f"{value:g}"


def _describe_missing(column: str, text: str) -> str:
    return f"{column} is empty" if text == "" else f"{column} is missing ({_quote(text)})"


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


class _Validator:
    """Turns a raw frame into validated bars, raising on the first bad row or dropping them."""

    def __init__(self, raw: pd.DataFrame, name: str, clean: bool) -> None:
        self.raw = raw
        self.name = name
        self.clean = clean

    def run(self) -> pd.DataFrame:
        raw, name = self.raw, self.name
        stamps = _find_timestamps(raw, name)
        columns = _find_columns(raw, name)
        if len(raw) < 2:
            raise DataError(
                f"{name}: needs at least 2 rows of data, found {len(raw)}; add more rows"
            )
        self.stamps = stamps
        ts = stamps.values
        valid = ts.dropna()
        self.date_only = bool(len(valid)) and bool((valid == valid.dt.normalize()).all())

        numbers = {c: _parse_numbers(s) for c, s in columns.items() if s is not None}
        volume = numbers.get("Volume")
        if volume is not None and volume.missing.all():
            numbers.pop("Volume")  # an all-empty Volume column counts as no Volume column

        checks = self._row_checks(numbers)
        reason = np.full(len(raw), -1)
        for k, check in enumerate(checks):
            reason[(reason < 0) & check.mask] = k
        good = reason < 0

        # Duplicates and ordering only make sense among rows that are otherwise fine.
        ts_ns = ts.to_numpy().astype("datetime64[ns]").view("int64")
        good_pos = np.flatnonzero(good)
        dup = np.zeros(len(raw), dtype=bool)
        dup[good_pos] = pd.Series(ts_ns[good_pos]).duplicated(keep="first").to_numpy()
        first_of = pd.Series(good_pos, index=ts_ns[good_pos]).groupby(level=0).first()
        checks.append(
            _Check(
                dup,
                "duplicate timestamp",
                lambda i: f"duplicate timestamp (same as row {first_of[ts_ns[i]] + 1})",
            )
        )
        reason[(reason < 0) & dup] = len(checks) - 1

        keep_pos = np.flatnonzero(reason < 0)
        kept_ns = ts_ns[keep_pos]
        previous_max = np.maximum.accumulate(kept_ns)
        backwards = np.zeros(len(raw), dtype=bool)
        backwards[keep_pos[1:]] = kept_ns[1:] < previous_max[:-1]
        prev_max_at = dict(zip(keep_pos[1:].tolist(), previous_max[:-1].tolist(), strict=True))
        if not self.clean:
            checks.append(
                _Check(
                    backwards,
                    "out of order",
                    lambda i: (
                        "rows are not in ascending time order (earlier than "
                        f"{self._fmt(pd.Timestamp(prev_max_at[i]))} above)"
                    ),
                    _FIX_ORDER,
                )
            )
            reason[(reason < 0) & backwards] = len(checks) - 1
            bad = np.flatnonzero(reason >= 0)
            if len(bad):
                i = int(bad[0])
                check = checks[reason[i]]
                raise DataError(f"{self._where(i)}: {check.describe(i)}; {check.fix}")

        keep = reason < 0
        counts = Counter(checks[k].label for k in reason[~keep])
        dropped = int((~keep).sum())
        data = {
            c: numbers[c].values[keep] if c in numbers else np.zeros(int(keep.sum()))
            for c in COLUMNS
        }
        frame = pd.DataFrame(
            data, index=pd.DatetimeIndex(ts[keep].to_numpy(), name="Date"), columns=list(COLUMNS)
        ).astype("float64")
        notes: list[str] = []
        if dropped:
            detail = ", ".join(f"{n} {label}" for label, n in counts.most_common())
            notes.append(f"dropped {dropped} bad row{'s' if dropped != 1 else ''} ({detail})")
        moved = int(backwards.sum())
        if moved:
            frame = frame.sort_index(kind="stable")
            notes.append(
                f"sorted rows into time order ({moved} row{'s were' if moved != 1 else ' was'} "
                "out of order)"
            )
        if len(frame) < 2:
            raise DataError(
                f"{name}: only {len(frame)} good row{'s' if len(frame) != 1 else ''} left after "
                f"dropping {dropped} bad rows; fix the file (at least 2 rows are needed)"
            )
        frame.attrs.update(dropped_rows=dropped, warnings=notes)
        return frame

    # ------------------------------------------------------------------ helpers

    def _fmt(self, stamp: pd.Timestamp) -> str:
        if self.date_only:
            return stamp.strftime("%Y-%m-%d")
        return str(stamp)

    def _where(self, i: int) -> str:
        """``"data.csv row 17 (2023-02-01)"`` for positional row ``i``."""
        stamp = self.stamps.values.iloc[i]
        when = "" if pd.isna(stamp) else f" ({self._fmt(stamp)})"
        return f"{self.name} row {i + 1}{when}"

    def _row_checks(self, numbers: dict[str, _Numbers]) -> list[_Check]:
        """Per-row checks in the order they are reported (a row gets its first failing check)."""
        stamps = self.stamps
        checks = [
            _Check(stamps.missing, "empty timestamp", lambda i: f"{stamps.column} is empty"),
            _Check(
                ~stamps.missing & stamps.values.isna().to_numpy(),
                "bad timestamp",
                lambda i: (
                    f"{stamps.column} is not a valid date/time ({_quote(_cell(stamps.raw, i))})"
                ),
            ),
        ]
        for column, parsed in numbers.items():
            checks.append(
                _Check(
                    parsed.missing,
                    "NaN",
                    lambda i, c=column, p=parsed: _describe_missing(c, _cell(p.raw, i)),
                )
            )
        for column, parsed in numbers.items():
            checks.append(
                _Check(
                    parsed.not_number,
                    "non-numeric",
                    lambda i, c=column, p=parsed: (
                        f"{c} is not a number ({_quote(_cell(p.raw, i))})"
                    ),
                )
            )
        with np.errstate(invalid="ignore"):
            for column in PRICE_COLUMNS:
                values = numbers[column].values
                checks.append(
                    _Check(
                        values <= 0,
                        "non-positive price",
                        lambda i, c=column, v=values: f"{c} is not positive ({_show(v[i])})",
                    )
                )
            if "Volume" in numbers:
                vol = numbers["Volume"].values
                checks.append(
                    _Check(
                        vol < 0,
                        "negative volume",
                        lambda i: f"Volume is negative ({_show(vol[i])})",
                    )
                )
            o, h, lo, c = (numbers[k].values for k in PRICE_COLUMNS)
            checks.append(
                _Check(
                    h < lo,
                    "high < low",
                    lambda i: f"High ({_show(h[i])}) is below Low ({_show(lo[i])})",
                )
            )
            pairs = (
                ("High", h, "below", "Open", o),
                ("High", h, "below", "Close", c),
                ("Low", lo, "above", "Open", o),
                ("Low", lo, "above", "Close", c),
            )
            for left, lv, relation, right, rv in pairs:
                mask = lv < rv if relation == "below" else lv > rv
                checks.append(
                    _Check(
                        mask,
                        "high/low outside open/close",
                        lambda i, a=left, av=lv, r=relation, b=right, bv=rv: (
                            f"{a} ({_show(av[i])}) is {r} {b} ({_show(bv[i])})"
                        ),
                    )
                )
        return checks
