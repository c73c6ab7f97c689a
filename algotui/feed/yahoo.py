"""Daily and intraday bars from Yahoo Finance (via yfinance), with a disk cache.

Entry points:

* :func:`validate_request` checks a request (ticker text, ``--period``, ``--interval``,
  ``--start``/``--end`` and Yahoo's intraday limits) before anything is downloaded;
* :func:`fetch` downloads one request with ``yfinance.Ticker(...).history(...)``, bounded by a
  timeout, and turns every failure into a one-line :class:`FetchError`;
* :func:`load_ticker` is what the CLI calls: validate, then serve from the cache or download
  and store (see :mod:`algotui.feed.cache`).

Prices are **adjusted**: the download uses ``auto_adjust=True``, so Open, High, Low and Close
are all scaled for splits and dividends (Yahoo's adjusted close, with O/H/L scaled by the same
factor). Bars stay internally consistent and a backtest across a split or an ex-dividend date
does not see a fake price gap. The price of that: old bars are not the prices that actually
traded, and they shift a little every time a dividend is paid.

Timestamps: intraday bars (``1m`` ... ``1h``) are converted to UTC and made naive, like the
file loader does with zoned timestamps. Daily and longer bars keep the exchange's calendar date
at midnight (the zone is dropped without conversion): converting midnight in Tokyo to UTC
would move every bar to the previous day.

Cache policy: a cached copy never expires, so reruns work offline and give the same numbers;
every use says how old it is, and ``--refresh`` downloads again. If a refresh fails (no
network, Yahoo down, timeout) while a cached copy exists, the cached copy is used with a
warning saying why and how old it is. ``--no-cache`` (``use_cache=False``) neither reads nor
writes the cache.

yfinance is quiet while it runs: its logger (``"yfinance"``) is set to CRITICAL and stops
propagating, warnings attributed to yfinance/curl_cffi are ignored, and its
``config.debug.hide_exceptions`` is switched off for the duration so that failures arrive as
exceptions instead of log lines and empty frames. (``Ticker.history`` does not print to stderr
in the code paths used here, so stderr is not redirected; ``yf.download`` would print.)
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import pandas as pd

from algotui.errors import DataError
from algotui.feed.cache import CacheKey, format_age, load_cached, save_cached

__all__ = [
    "DEFAULT_PERIOD",
    "FetchError",
    "INTERVALS",
    "NetworkError",
    "PERIODS",
    "Downloader",
    "fetch",
    "load_ticker",
    "looks_like_ticker",
    "validate_request",
]

PERIODS = ("1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max")
INTERVALS = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h", "1d", "5d", "1wk", "1mo", "3mo")
DEFAULT_PERIOD = "1y"
DEFAULT_TIMEOUT = 20.0
INTRADAY = ("1m", "2m", "5m", "15m", "30m", "60m", "90m", "1h")

_PERIOD_DAYS = {
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
_EXAMPLES = "use a Yahoo symbol like AAPL, BRK-B, BTC-USD, EURUSD=X or ^GSPC"
_OFFLINE_HINT = "check your network connection, or rerun without --refresh to use cached data"
_PRICES = ("Open", "High", "Low", "Close")
_COLUMNS = (*_PRICES, "Volume")

DateLike = str | date | datetime


class Downloader(Protocol):
    """What :func:`fetch` calls to download; tests inject their own."""

    def __call__(
        self,
        ticker: str,
        *,
        period: str | None,
        interval: str,
        start: str | None,
        end: str | None,
        timeout: float,
        session: Any,
    ) -> pd.DataFrame: ...


class FetchError(DataError):
    """A download failed. ``reason`` is a short phrase for warnings (``"timed out"``)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NetworkError(FetchError):
    """Yahoo could not be reached, timed out, refused or rate-limited us: worth retrying."""


# --------------------------------------------------------------------------- validation


@dataclass(frozen=True)
class _Request:
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
        raise DataError(f"empty ticker: {_EXAMPLES}")
    text = ticker.strip()
    if text.lower().endswith(_FILE_SUFFIXES) or "/" in text or "\\" in text:
        raise DataError(f"no such file: {text!r} (check the path; it is not a ticker either)")
    if any(ch.isspace() for ch in text):
        raise DataError(f"bad ticker {text!r}: it contains a space; {_EXAMPLES}")
    bad = _TICKER_CHARS.search(text)
    if bad:
        raise DataError(f"bad ticker {text!r}: {bad.group()!r} is not allowed; {_EXAMPLES}")
    if len(text) > 20:
        raise DataError(f"bad ticker {text[:24]!r}...: longer than 20 characters; {_EXAMPLES}")
    if "^" in text[1:]:
        raise DataError(f"bad ticker {text!r}: '^' may only come first (as in ^GSPC)")
    if not _TICKER.match(text):
        raise DataError(f"bad ticker {text!r}: must start with a letter, digit or ^; {_EXAMPLES}")
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


def _check(
    ticker: str,
    period: str | None,
    interval: str,
    start: DateLike | None,
    end: DateLike | None,
    today: date | None,
) -> _Request:
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
    return _Request(symbol, period, interval, start_d, end_d)


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
            reach = _PERIOD_DAYS[str(period)]
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
    _check(ticker, period, interval, start, end, today)


# --------------------------------------------------------------------------- download


class _Switch:
    """A reference-counted setting: applied by the first user, restored by the last.

    Overlapping downloads (one may still run after its caller gave up waiting) must not
    restore the original value while another download still relies on the changed one.
    """

    def __init__(self, apply: Callable[[], Any], restore: Callable[[Any], None]) -> None:
        self._apply = apply
        self._restore = restore
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: Any = None

    @contextmanager
    def on(self) -> Iterator[None]:
        with self._lock:
            if self._depth == 0:
                self._saved = self._apply()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0:
                    self._restore(self._saved)
                    self._saved = None


def _silence_logger() -> tuple[int, bool]:
    logger = logging.getLogger("yfinance")
    saved = (logger.level, logger.propagate)
    logger.setLevel(logging.CRITICAL)
    logger.propagate = False
    return saved


def _restore_logger(saved: tuple[int, bool]) -> None:
    logger = logging.getLogger("yfinance")
    logger.setLevel(saved[0])
    logger.propagate = saved[1]


def _show_exceptions() -> Any:
    import yfinance

    config = getattr(yfinance, "config", None)
    if config is None:
        return None
    saved = config.debug.hide_exceptions
    config.debug.hide_exceptions = False
    return saved


def _restore_exceptions(saved: Any) -> None:
    import yfinance

    config = getattr(yfinance, "config", None)
    if config is not None and saved is not None:
        config.debug.hide_exceptions = saved


_QUIET_LOGGER = _Switch(_silence_logger, _restore_logger)
"""The ``yfinance`` logger at CRITICAL, not propagating, while any download runs."""
_YF_RAISES = _Switch(_show_exceptions, _restore_exceptions)
"""yfinance's ``config.debug.hide_exceptions`` off while a yfinance download runs."""


def _install_warning_filter() -> None:
    """Ignore warnings raised inside yfinance/curl_cffi (pandas deprecations and the like).

    A filter scoped to those modules, added from the calling thread before each download
    (re-adding an identical filter replaces it): ``warnings.catch_warnings`` is not
    thread-safe, and the download runs in a worker thread.
    """
    warnings.filterwarnings("ignore", module=r"(yfinance|curl_cffi|peewee)(\.|$)")


def _yfinance_download(
    ticker: str,
    *,
    period: str | None,
    interval: str,
    start: str | None,
    end: str | None,
    timeout: float,
    session: Any,
) -> pd.DataFrame:
    """The real downloader: ``yfinance.Ticker(ticker, session=session).history(...)``.

    yfinance 1.x reports failures as exceptions when ``config.debug.hide_exceptions`` is off
    (switched off here while the call runs); ``raise_errors=True`` is deprecated there and is
    only passed to older versions that have no ``config``.
    """
    import yfinance

    kwargs: dict[str, Any] = {
        "interval": interval,
        "auto_adjust": True,
        "actions": False,
        "timeout": timeout,
    }
    if start or end:
        kwargs.update(start=start, end=end)
    else:
        kwargs["period"] = period or DEFAULT_PERIOD
    if getattr(yfinance, "config", None) is None:
        kwargs["raise_errors"] = True
    with _YF_RAISES.on():
        return yfinance.Ticker(ticker, session=session).history(**kwargs)


def _run_bounded(call: Callable[[], pd.DataFrame], timeout: float) -> pd.DataFrame:
    """Run ``call`` in a daemon worker thread and wait at most ``timeout`` seconds.

    A daemon thread (not a ThreadPoolExecutor, whose threads are joined at exit) so that a
    download hanging past the timeout cannot keep the program from exiting.

    Raises:
        _Timeout: the wait ran out (a distinct type, so that it cannot be confused with a
            ``TimeoutError`` raised by the download itself); otherwise whatever ``call`` raised.
    """
    future: concurrent.futures.Future[pd.DataFrame] = concurrent.futures.Future()

    def work() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            with _QUIET_LOGGER.on():
                result = call()
        except BaseException as exc:  # handed to the waiting thread
            future.set_exception(exc)
        else:
            future.set_result(result)

    threading.Thread(target=work, name="algotui-yahoo-fetch", daemon=True).start()
    done, _ = concurrent.futures.wait([future], timeout=max(0.0, timeout))
    if not done:
        raise _Timeout
    return future.result()


class _Timeout(Exception):
    """The bounded wait ran out (as opposed to a timeout inside the download)."""


def _short(exc: BaseException, limit: int = 80) -> str:
    """A short one-line reason: curl's ``(6) Could not resolve host: x`` becomes the text."""
    text = " ".join(str(exc).split())
    match = re.search(r"curl: \(\d+\) (.*?)(?:\. See https?://\S+.*)?$", text)
    if match:
        text = match.group(1)
    text = text.rstrip(".") or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status of the answer behind ``exc``; None when no answer came (curl gives
    such errors a response with status 0)."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) and status >= 100 else None


def _yf_errors() -> dict[str, type[BaseException]]:
    try:
        from yfinance import exceptions as yfe
    except ImportError:  # pragma: no cover - yfinance is a dependency
        return {}
    return {
        name: getattr(yfe, name)
        for name in ("YFRateLimitError", "YFTickerMissingError", "YFInvalidPeriodError")
        if isinstance(getattr(yfe, name, None), type)
    }


def _map_error(exc: BaseException, req: _Request, timeout: float) -> FetchError:
    """Turn anything a download raised into a one-line FetchError."""
    sym, what = req.ticker, req.describe()
    unreachable = f"could not reach Yahoo Finance for {sym} ({{}}): {_OFFLINE_HINT}"
    yf_errors = _yf_errors()
    rate_limit = yf_errors.get("YFRateLimitError")
    missing = yf_errors.get("YFTickerMissingError")
    bad_period = yf_errors.get("YFInvalidPeriodError")
    if isinstance(exc, _Timeout):
        return NetworkError(
            f"Yahoo Finance did not answer within {timeout:g} s for {sym}: {_OFFLINE_HINT}",
            f"no answer within {timeout:g} s",
        )
    if rate_limit is not None and isinstance(exc, rate_limit):
        return NetworkError(
            f"Yahoo Finance is rate-limiting requests (too many requests) for {sym}: "
            "wait a few minutes, or rerun without --refresh to use cached data",
            "rate-limited by Yahoo",
        )
    if missing is not None and isinstance(exc, missing):
        reason = getattr(exc, "rationale", None) or str(exc)
        return FetchError(
            f"no data for {sym} ({what}): Yahoo says {_short(reason, 100)!r}; "
            f"check the ticker symbol ({_EXAMPLES}) and the date range",
            f"Yahoo has no data: {_short(reason, 60)}",
        )
    if bad_period is not None and isinstance(exc, bad_period):
        return FetchError(
            f"Yahoo rejected the request for {sym} ({what}): {_short(exc, 100)}; "
            "pick another --period",
            "period rejected by Yahoo",
        )
    status = _http_status(exc)
    if status is not None:
        if status == 404:
            return FetchError(
                f"no data for {sym} ({what}): Yahoo does not know this ticker (HTTP 404); "
                f"check the ticker symbol ({_EXAMPLES})",
                "unknown ticker (HTTP 404)",
            )
        if status == 429:
            return NetworkError(
                f"Yahoo Finance is rate-limiting requests (HTTP 429) for {sym}: "
                "wait a few minutes, or rerun without --refresh to use cached data",
                "rate-limited by Yahoo (HTTP 429)",
            )
        return NetworkError(unreachable.format(f"HTTP {status}"), f"HTTP {status}")
    if isinstance(exc, OSError):  # includes requests/curl_cffi errors, socket errors, timeouts
        reason = _short(exc)
        return NetworkError(unreachable.format(reason), reason)
    try:
        from curl_cffi import CurlError
    except ImportError:  # pragma: no cover - curl_cffi comes with yfinance
        CurlError = OSError  # noqa: N806
    if isinstance(exc, CurlError):
        reason = _short(exc)
        return NetworkError(unreachable.format(reason), reason)
    # Anything else (an unexpected response yfinance could not parse, Yahoo being down, ...).
    reason = f"{type(exc).__name__}: {_short(exc, 60)}"
    return NetworkError(
        f"Yahoo Finance sent an unusable answer for {sym} ({reason}): try again later, "
        "or rerun without --refresh to use cached data",
        reason,
    )


def _normalise(raw: object, req: _Request) -> pd.DataFrame:
    """yfinance's frame in the common loader shape; raises FetchError when there is no data."""
    sym, what = req.ticker, req.describe()
    empty = FetchError(
        f"no data for {sym} ({what}): "
        "check the ticker symbol, the date range, or your network connection",
        "no data returned",
    )
    if not isinstance(raw, pd.DataFrame):
        raise NetworkError(
            f"Yahoo Finance sent an unusable answer for {sym} (got {type(raw).__name__}, "
            "not a table): try again later, or rerun without --refresh to use cached data",
            "unusable answer",
        )
    if raw.empty:
        raise empty
    frame = raw
    if isinstance(frame.columns, pd.MultiIndex):  # yf.download style: (field, ticker)
        levels = range(frame.columns.nlevels)
        level = next((i for i in levels if "Close" in frame.columns.get_level_values(i)), 0)
        frame = frame.copy()
        frame.columns = frame.columns.get_level_values(level)
    missing = [c for c in _PRICES if c not in frame.columns]
    if missing:
        raise NetworkError(
            f"Yahoo Finance sent an unusable answer for {sym} (no {', '.join(missing)} column): "
            "try again later, or rerun without --refresh to use cached data",
            "unusable answer",
        )
    out = pd.DataFrame(index=frame.index)
    for column in _COLUMNS:
        if column in frame.columns:
            out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
        else:
            out[column] = 0.0
    index = pd.DatetimeIndex(pd.to_datetime(out.index))
    if index.tz is not None:
        if req.interval in INTRADAY:
            index = index.tz_convert("UTC").tz_localize(None)
        else:
            index = index.tz_localize(None)  # keep the exchange's calendar date
    out.index = index.as_unit("ns")
    out.index.name = "Date"
    before = len(out)
    out = out[out.index.notna()]
    out = out.dropna(subset=list(_PRICES))
    out["Volume"] = out["Volume"].fillna(0.0)
    out = out.sort_index(kind="stable")
    out = out[~out.index.duplicated(keep="last")]
    if out.empty:
        raise empty
    out.attrs.update(
        symbol=sym,
        source="yahoo",
        interval=req.interval,
        dropped_rows=before - len(out),
        warnings=[],
    )
    return out


def _download(
    req: _Request,
    *,
    timeout: float,
    session: Any,
    downloader: Downloader | None,
) -> pd.DataFrame:
    call_downloader: Downloader = downloader or _yfinance_download
    if downloader is None:
        _install_warning_filter()

    def call() -> pd.DataFrame:
        return call_downloader(
            req.ticker,
            period=req.period,
            interval=req.interval,
            start=req.start.isoformat() if req.start else None,
            end=req.end.isoformat() if req.end else None,
            timeout=timeout,
            session=session,
        )

    try:
        raw = _run_bounded(call, timeout)
    except Exception as exc:
        raise _map_error(exc, req, timeout) from exc
    return _normalise(raw, req)


def fetch(
    ticker: str,
    *,
    period: str | None = DEFAULT_PERIOD,
    interval: str = "1d",
    start: DateLike | None = None,
    end: DateLike | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    session: Any = None,
    downloader: Downloader | None = None,
    today: date | None = None,
) -> pd.DataFrame:
    """Download bars for one ticker from Yahoo Finance (no cache; see :func:`load_ticker`).

    Uses ``yfinance.Ticker(ticker, session=session).history(period|start/end, interval,
    auto_adjust=True, actions=False, timeout=timeout)`` in a worker thread and waits at most
    ``timeout`` seconds. ``auto_adjust=True``: Open/High/Low/Close are adjusted for splits
    and dividends (see the module docstring); no Dividends/Stock Splits columns.

    Args:
        ticker: a Yahoo symbol, e.g. ``"AAPL"``, ``"BTC-USD"``, ``"^GSPC"``.
        period: one of :data:`PERIODS`; ignored when ``start``/``end`` are given.
        interval: one of :data:`INTERVALS`.
        start, end: ISO dates (``end`` exclusive) instead of a period.
        timeout: seconds to wait for Yahoo, in total.
        session: a ``curl_cffi``/``requests`` session for yfinance (None: yfinance's own).
        downloader: replaces the yfinance call (tests); same keyword arguments as
            :class:`Downloader`, returns a frame shaped like ``Ticker.history``'s.
        today: the current date for validation (tests).

    Returns:
        The common loader shape: ``DatetimeIndex`` named ``"Date"`` (naive, ascending, unique),
        float64 Open/High/Low/Close/Volume; ``attrs`` symbol (upper case), source
        ``"yahoo"``, interval, dropped_rows (rows without prices), warnings.

    Raises:
        DataError: the request is invalid (see :func:`validate_request`).
        FetchError: no data for this ticker/range, one line (a DataError).
        NetworkError: Yahoo could not be reached, refused, rate-limited or timed out
            (a FetchError).
    """
    if start is not None or end is not None:
        period = None
    req = _check(ticker, period, interval, start, end, today)
    return _download(req, timeout=timeout, session=session, downloader=downloader)


# --------------------------------------------------------------------------- cache + fetch


def load_ticker(
    ticker: str,
    *,
    period: str | None = None,
    interval: str = "1d",
    start: DateLike | None = None,
    end: DateLike | None = None,
    refresh: bool = False,
    use_cache: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    session: Any = None,
    downloader: Downloader | None = None,
    today: date | None = None,
    notify: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Bars for ``ticker``: from the cache if present, else downloaded (and then cached).

    Policy: a cached copy never expires (reruns work offline); ``refresh=True`` downloads
    again and replaces it; if that download fails and a cached copy exists, the copy is used
    and ``notify`` gets a warning naming the failure and the copy's age. ``use_cache=False``
    neither reads nor writes the cache. Every use of a cached copy is reported through
    ``notify`` with its age. A cache file that cannot be written is reported, not fatal.

    Args:
        period: one of :data:`PERIODS`; None means :data:`DEFAULT_PERIOD` (``"1y"``) unless
            ``start`` is given. Giving both a period and start/end is an error.
        notify: receives one-line messages for the user (cache use, fallbacks).
        Others: as for :func:`fetch`.

    Returns:
        The common loader shape (see :func:`fetch`); ``attrs`` also has ``cached`` (bool) and,
        for cached data, ``cache_age_seconds`` and ``fetched_at``.

    Raises:
        DataError: invalid request, or the download failed and nothing is cached.
    """
    say = notify if notify is not None else (lambda _message: None)
    req = _check(ticker, period, interval, start, end, today)
    key = req.key()
    label = key.label()
    cached = load_cached(key) if use_cache else None
    if cached is not None and not refresh:
        frame, age = cached
        age_text = format_age(age)
        say(f"using cached data for {label} from {age_text} ago (--refresh to download again)")
        return _tag_cached(frame, req, age)
    try:
        frame = _download(req, timeout=timeout, session=session, downloader=downloader)
    except FetchError as exc:
        if cached is None:
            raise
        old, age = cached
        say(
            f"download failed for {label} ({exc.reason}); "
            f"using cached data from {format_age(age)} ago"
        )
        return _tag_cached(old, req, age)
    frame.attrs["cached"] = False
    if use_cache:
        try:
            save_cached(key, frame)
        except OSError as exc:
            say(f"could not save {label} to the cache ({_short(exc)}); continuing without it")
    return frame


def _tag_cached(frame: pd.DataFrame, req: _Request, age: float) -> pd.DataFrame:
    fetched_at = frame.attrs.get("fetched_at")
    frame.attrs.clear()
    frame.attrs.update(
        symbol=req.ticker,
        source="yahoo",
        interval=req.interval,
        dropped_rows=0,
        warnings=[],
        cached=True,
        cache_age_seconds=age,
        fetched_at=fetched_at,
    )
    return frame
