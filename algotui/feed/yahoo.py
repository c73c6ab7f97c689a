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

The request checks live in :mod:`algotui.feed.yahoo_request`, the download and its error
messages in :mod:`algotui.feed.yahoo_download`; this module puts them together with the cache.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, Protocol

import pandas as pd

from algotui.feed.cache import format_age, load_cached, save_cached
from algotui.feed.yahoo_download import (
    FetchError,
    NetworkError,
    install_warning_filter,
    map_error,
    run_bounded,
    short,
    yfinance_download,
)
from algotui.feed.yahoo_request import (
    DEFAULT_PERIOD,
    DEFAULT_TIMEOUT,
    INTERVALS,
    INTRADAY,
    PERIODS,
    DateLike,
    Request,
    check_request,
    looks_like_ticker,
    validate_request,
)

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

_PRICES = ("Open", "High", "Low", "Close")
_COLUMNS = (*_PRICES, "Volume")


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


def _normalise(raw: object, req: Request) -> pd.DataFrame:
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
            "not a table): try again later",
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
            "try again later",
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
    req: Request,
    *,
    timeout: float,
    session: Any,
    downloader: Downloader | None,
) -> pd.DataFrame:
    call_downloader: Downloader = downloader or yfinance_download
    if downloader is None:
        install_warning_filter()

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
        raw = run_bounded(call, timeout)
    except Exception as exc:
        raise map_error(exc, req, timeout) from exc
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
    req = check_request(ticker, period, interval, start, end, today)
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
    req = check_request(ticker, period, interval, start, end, today)
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
            if not use_cache and (copy := load_cached(key)) is not None:
                hint = f"; or drop --no-cache to use the copy cached {format_age(copy[1])} ago"
                raise type(exc)(f"{exc}{hint}", exc.reason) from exc
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
            say(f"could not save {label} to the cache ({short(exc)}); continuing without it")
    return frame


def _tag_cached(frame: pd.DataFrame, req: Request, age: float) -> pd.DataFrame:
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
