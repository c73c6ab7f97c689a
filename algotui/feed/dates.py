"""Dates written as ``03/04/2024``: day first or month first, decided from the file itself.

pandas guesses month first from the first cell and then fails on (or silently misreads) the
rest. Here the whole column decides: a first number above 12 anywhere means day first, a
second number above 12 means month first. When every cell could be read both ways, the one
reading that puts the rows in time order wins; if both (or neither) do, the dates are
ambiguous and the file is refused with a hint rather than read the wrong way round.
"""

from __future__ import annotations

import pandas as pd

#: ``D/M/Y`` or ``M/D/Y`` with ``/``, ``.`` or ``-``, a 2- or 4-digit year, then maybe a time.
_PATTERN = r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{4}|\d{2})((?:[ T].*)?)$"


class AmbiguousDates(ValueError):
    """Every date reads both day-first and month-first, and the order does not decide."""


def read_day_month(text: pd.Series, given: pd.Series | object, column: str) -> pd.Series | None:
    """Parse ``text`` (stripped cells; ``given`` marks the non-empty ones) if every given cell
    is a numeric day/month date; None when they are not all of that form.

    Returns timestamps (UTC-aware, NaT where not given or not a real date, such as 31/02).

    Raises:
        AmbiguousDates: both readings are possible and neither is the only one in time order.
    """
    cells = text[given]
    if not len(cells):
        return None
    parts = cells.str.extract(_PATTERN)
    if parts[0].isna().any():
        return None
    first, second = parts[0].astype(int), parts[2].astype(int)
    year = parts[3].where(parts[3].str.len() == 4, _century(parts[3]))
    rest = parts[4].fillna("")
    day_first = bool(((first <= 31) & (second <= 12)).all())
    month_first = bool(((first <= 12) & (second <= 31)).all())
    if not (day_first or month_first):
        return None  # neither reading works: the validator names the bad cell

    def reading(day: pd.Series, month: pd.Series) -> pd.Series:
        iso = year + "-" + month.astype(str).str.zfill(2) + "-" + day.astype(str).str.zfill(2)
        parsed = pd.to_datetime(iso + rest, format="ISO8601", errors="coerce", utc=True)
        return parsed.reindex(text.index)

    if day_first and month_first and not (first == second).all():
        by_day, by_month = reading(first, second), reading(second, first)
        in_order = [_ascending(by_day), _ascending(by_month)]
        if in_order == [True, False]:
            return by_day
        if in_order == [False, True]:
            return by_month
        example = cells[(first != second).to_numpy()].iloc[0]
        raise AmbiguousDates(
            f"the {column} column's dates, such as {example!r}, read both day-first and "
            "month-first; write them as YYYY-MM-DD (ISO 8601) so that the file says which"
        )
    return reading(first, second) if day_first else reading(second, first)


def _century(years: pd.Series) -> pd.Series:
    """Two-digit years as ``strptime``'s ``%y`` reads them: 69-99 are 19xx, 00-68 are 20xx."""
    two = pd.to_numeric(years, errors="coerce").fillna(0).astype(int)
    return (two + 1900).where(two >= 69, two + 2000).astype(str)


def _ascending(stamps: pd.Series) -> bool:
    """True when the readable stamps never go back in time."""
    valid = stamps.dropna()
    return bool(valid.is_monotonic_increasing)
