"""What a Yahoo Finance request may ask for, checked before anything is downloaded.

The ticker text, ``--period``, ``--interval``, ``--start``/``--end`` and Yahoo's own limits on
intraday history: a request Yahoo cannot serve is refused with one line naming the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from algotui.errors import DataError
from algotui.feed.cache import CacheKey

PERIODS = ("1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max")
INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")
DEFAULT_PERIOD = "1y"
DEFAULT_TIMEOUT = 20.0
INTRADAY = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h")

PERIOD_DAYS = {
    "1d": 1,
    "5d": 5,
    "1mo": 30,
    "3mo": 90,
    "6mo": 182,
    "1y": 365,
    "2y": 730,
    "5y": 1825,
    "10y": 3650,
}
"""Calendar days a period reaches back (``ytd`` depends on today; ``max`` is unbounded)."""

_REACH_DAYS = {
    "1m": 30,
    "2m": 60,
    "5m": 60,
    "15m": 60,
    "30m": 60,
    "90m": 60,
    "60m": 730,
    "1h": 730,
}
"""How far back Yahoo serves each intraday interval, in days."""

_MAX_1M_SPAN = 8
"""Yahoo serves at most this many days of 1m bars per request."""

_TICKER = re.compile(r"^\^?[A-Za-z0-9][A-Za-z0-9.=&\-]{0,19}$")
_TICKER_CHARS = re.compile(r"[^A-Za-z0-9.=&\-^]")
_FILE_SUFFIXES = (".csv", ".csv.gz", ".gz", ".txt", ".parquet", ".pq")
EXAMPLES = "use a Yahoo symbol like AAPL, BRK-B, BTC-USD, EURUSD=X or ^GSPC"

DateLike = str | date | datetime


@dataclass(frozen=True)
class Request:
    ticker: str
    period: str | None
    interval: str
    start: date | None
    end: date | None

    def key(self) -> CacheKey:
        return CacheKey(
            ticker=self.ticker,
            period=self.period,
            interval=self.interval,
            start=self.start.isoformat() if self.start else None,
            end=self.end.isoformat() if self.end else None,
        )

    def describe(self) -> str:
        """``"period 1y, interval 1d"`` or ``"2024-01-01 to 2024-06-30, interval 1d"``."""
        if self.start:
            span = f"{self.start.isoformat()} to {self.end.isoformat() if self.end else 'now'}"
        else:
            span = f"period {self.period}"
        return f"{span}, interval {self.interval}"


def looks_like_ticker(text: str) -> bool:
    """True if ``text`` could be a Yahoo ticker (``AAPL``, ``BTC-USD``, ``^GSPC``, ``7203.T``).

    Names ending in a data-file suffix (``.csv``, ``.parquet``, ...) are not tickers, so a
    mistyped file name is reported as a missing file rather than sent to Yahoo.
    """
    text = text.strip()
    return bool(_TICKER.match(text)) and not text.lower().endswith(_FILE_SUFFIXES)


def _check_ticker(ticker: object) -> str:
    if not isinstance(ticker, str) or not ticker.strip():
        raise DataError(f"empty ticker: {EXAMPLES}")
    text = ticker.strip()
    if text.lower().endswith(_FILE_SUFFIXES) or "/" in text or "\\" in text:
        raise DataError(f"no such file: {text!r} (check the path; it is not a ticker either)")
    if any(ch.isspace() for ch in text):
        raise DataError(f"bad ticker {text!r}: it contains a space; {EXAMPLES}")
    bad = _TICKER_CHARS.search(text)
    if bad:
        raise DataError(f"bad ticker {text!r}: {bad.group()!r} is not allowed; {EXAMPLES}")
    if len(text) > 20:
        raise DataError(f"bad ticker {text[:24]!r}...: longer than 20 characters; {EXAMPLES}")
    if "^" in text[1:]:
        raise DataError(f"bad ticker {text!r}: '^' may only come first (as in ^GSPC)")
    if not _TICKER.match(text):
        raise DataError(f"bad ticker {text!r}: must start with a letter, digit or ^; {EXAMPLES}")
    return text.upper()


def _parse_date(value: DateLike | None, flag: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text:
            try:
                return date.fromisoformat(text)
            except ValueError:
                pass
            try:
                return datetime.fromisoformat(text).date()
            except ValueError:
                pass
    raise DataError(f"bad {flag} {value!r}: use a date like 2024-01-31")


def _interval_for(days: int) -> str:
    """The finest interval Yahoo serves ``days`` back (for suggestions)."""
    if days <= 60:
        return "5m"
    if days <= 730:
        return "1h"
    return "1d"


def check_request(
    ticker: str,
    period: str | None,
    interval: str,
    start: DateLike | None,
    end: DateLike | None,
    today: date | None,
) -> Request:
    """Validate and normalise a request (see :func:`validate_request`)."""
    symbol = _check_ticker(ticker)
    if interval not in INTERVALS:
        raise DataError(f"unknown --interval {interval!r}: use one of {' '.join(INTERVALS)}")
    if period is not None and period not in PERIODS:
        raise DataError(f"unknown --period {period!r}: use one of {' '.join(PERIODS)}")
    start_d = _parse_date(start, "--start")
    end_d = _parse_date(end, "--end")
    if period is not None and (start_d or end_d):
        raise DataError("give either --period or --start/--end, not both")
    if end_d and not start_d:
        raise DataError("--end needs --start (or drop both and use --period)")
    today = today or date.today()
    if start_d:
        if end_d and start_d >= end_d:
            raise DataError(
                f"--start {start_d} is not before --end {end_d}: "
                "the end date is exclusive, so give an --end after the --start"
            )
        if start_d > today:
            raise DataError(f"--start {start_d} is in the future (today is {today})")
        period = None
    elif period is None:
        period = DEFAULT_PERIOD

    if interval in _REACH_DAYS:
        _check_intraday(interval, period, start_d, end_d, today)
    return Request(symbol, period, interval, start_d, end_d)


def _check_intraday(
    interval: str, period: str | None, start: date | None, end: date | None, today: date
) -> None:
    limit = _REACH_DAYS[interval]
    if start:
        what = f"--start {start}" + (f" --end {end}" if end else "")
        # Days covered, counting today: a start N days ago reaches back N days plus today.
        reach = (today - start).days + 1
        span = ((end or today + timedelta(days=1)) - start).days
        shorter = "a later --start"
    elif period == "max":
        return  # yfinance clamps "max" to the longest range Yahoo serves for the interval
    else:
        what = f"--period {period}"
        if period == "ytd":
            reach = (today - date(today.year, 1, 1)).days + 1
        else:
            reach = PERIOD_DAYS[str(period)]
        span = reach
        shorter = "a shorter --period"
    if reach > limit:
        raise DataError(
            f"{interval} bars reach back {limit} days on Yahoo; {what} asks for {reach}: "
            f"use --interval {_interval_for(reach)} or {shorter}"
        )
    if interval == "1m" and span > _MAX_1M_SPAN:
        fix = "--period 5d" if not start else f"a range of at most {_MAX_1M_SPAN} days"
        raise DataError(
            f"1m bars come at most {_MAX_1M_SPAN} days per request on Yahoo; {what} asks for "
            f"{span}: use {fix} or --interval 2m"
        )


def validate_request(
    ticker: str,
    period: str | None = None,
    interval: str = "1d",
    start: DateLike | None = None,
    end: DateLike | None = None,
    *,
    today: date | None = None,
) -> None:
    """Raise :class:`~algotui.errors.DataError` if Yahoo cannot serve this request.

    Checked before any download: the ticker text (letters, digits and ``. - = & ^``, e.g.
    AAPL, BRK-B, BTC-USD, EURUSD=X, ^GSPC, 7203.T); ``period`` in :data:`PERIODS` (None means
    :data:`DEFAULT_PERIOD` unless start is given); ``interval`` in :data:`INTERVALS`; dates as
    ISO ``YYYY-MM-DD`` strings or ``date`` objects; not both a period and start/end; no end
    without a start; start before end (the end is exclusive) and not in the future; Yahoo's
    intraday limits: 1m within the last 30 days and at most 8 days per request,
    2m/5m/15m/30m/90m within 60 days, 60m/1h within 730 days (``max`` is clamped by yfinance).

    Args:
        today: the current date (for tests); defaults to ``date.today()``.
    """
    check_request(ticker, period, interval, start, end, today)
