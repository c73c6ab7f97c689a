"""Row checks of the careful path: the first bad row is reported by number, or dropped.

Each check is a boolean mask over the rows plus a message builder; a row is reported with the
first check it fails, in the order the checks are listed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from algotui.errors import DataError
from algotui.feed.columns import (
    COLUMNS,
    PRICE_COLUMNS,
    Numbers,
    cell,
    find_columns,
    find_timestamps,
    parse_numbers,
)

FIX_ROW = "fix the file or pass --clean to drop bad rows"
FIX_ORDER = "sort the file by time or pass --clean to sort it"
FIX_COMMA = (
    "the file writes decimals with a comma; save it with '.' as the decimal mark "
    "(--clean would drop every such row)"
)
_DECIMAL_COMMA = r"[+-]?\d{1,3}(\.\d{3})*,\d+|[+-]?\d+,\d+"


def _decimal_commas(parsed: Numbers) -> np.ndarray:
    """Cells written with a decimal comma (``100,5`` or ``1.234,5``), among the non-numbers."""
    if not parsed.not_number.any() or pd.api.types.is_numeric_dtype(parsed.raw.dtype):
        return np.zeros(len(parsed.not_number), dtype=bool)
    text = parsed.raw.astype(str).str.strip()
    return parsed.not_number & text.str.fullmatch(_DECIMAL_COMMA).to_numpy(dtype=bool)


@dataclass
class _Check:
    """One kind of bad row: which rows, a short label for --clean, and a message builder."""

    mask: np.ndarray
    label: str
    describe: Callable[[int], str]
    fix: str = FIX_ROW


def _show(value: float) -> str:
    return f"{value:g}"


def _describe_missing(column: str, text: str) -> str:
    return f"{column} is empty" if text == "" else f"{column} is missing ({_quote(text)})"


def _quote(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


class Validator:
    """Turns a raw frame into validated bars, raising on the first bad row or dropping them."""

    def __init__(self, raw: pd.DataFrame, name: str, clean: bool) -> None:
        self.raw = raw
        self.name = name
        self.clean = clean

    def run(self) -> pd.DataFrame:
        raw, name = self.raw, self.name
        stamps = find_timestamps(raw, name)
        columns = find_columns(raw, name)
        if len(raw) < 2:
            raise DataError(
                f"{name}: needs at least 2 rows of data, found {len(raw)}; add more rows"
            )
        self.stamps = stamps
        ts = stamps.values
        valid = ts.dropna()
        self.date_only = bool(len(valid)) and bool((valid == valid.dt.normalize()).all())

        numbers = {c: parse_numbers(s) for c, s in columns.items() if s is not None}
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
                    FIX_ORDER,
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
                + (f"; {FIX_COMMA.split(';')[0]}" if counts.get("decimal comma") else "")
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

    def _row_checks(self, numbers: dict[str, Numbers]) -> list[_Check]:
        """Per-row checks in the order they are reported (a row gets its first failing check)."""
        stamps = self.stamps
        checks = [
            _Check(stamps.missing, "empty timestamp", lambda i: f"{stamps.column} is empty"),
            _Check(
                ~stamps.missing & stamps.values.isna().to_numpy(),
                "bad timestamp",
                lambda i: (
                    f"{stamps.column} is not a valid date/time ({_quote(cell(stamps.raw, i))})"
                ),
            ),
        ]
        for column, parsed in numbers.items():
            checks.append(
                _Check(
                    parsed.missing,
                    "NaN",
                    lambda i, c=column, p=parsed: _describe_missing(c, cell(p.raw, i)),
                )
            )
        for column, parsed in numbers.items():
            comma = _decimal_commas(parsed)
            if comma.any():
                checks.append(
                    _Check(
                        comma,
                        "decimal comma",
                        lambda i, c=column, p=parsed: (
                            f"{c} is not a number ({_quote(cell(p.raw, i))})"
                        ),
                        FIX_COMMA,
                    )
                )
            checks.append(
                _Check(
                    parsed.not_number,
                    "non-numeric",
                    lambda i, c=column, p=parsed: f"{c} is not a number ({_quote(cell(p.raw, i))})",
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
