"""Talking to yfinance: a bounded wait, a quiet library, and every failure as one line.

yfinance is quiet while it runs: its logger (``"yfinance"``) is set to CRITICAL and stops
propagating, warnings attributed to yfinance/curl_cffi are ignored, and its
``config.debug.hide_exceptions`` is switched off for the duration so that failures arrive as
exceptions instead of log lines and empty frames.
"""

from __future__ import annotations

import concurrent.futures
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from algotui.errors import DataError
from algotui.feed.yahoo_request import DEFAULT_PERIOD, EXAMPLES, Request

if TYPE_CHECKING:
    import pandas as pd

#: What to do when Yahoo cannot be reached. It names no flag: a cached copy, if there is one,
#: is used without being asked for (see :func:`algotui.feed.yahoo.load_ticker`).
OFFLINE_HINT = "check your network connection and try again"


class FetchError(DataError):
    """A download failed. ``reason`` is a short phrase for warnings (``"timed out"``)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class NetworkError(FetchError):
    """Yahoo could not be reached, timed out, refused or rate-limited us: worth retrying."""


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


def install_warning_filter() -> None:
    """Ignore warnings raised inside yfinance/curl_cffi (pandas deprecations and the like).

    A filter scoped to those modules, added from the calling thread before each download
    (re-adding an identical filter replaces it): ``warnings.catch_warnings`` is not
    thread-safe, and the download runs in a worker thread.
    """
    warnings.filterwarnings("ignore", module=r"(yfinance|curl_cffi|peewee)(\.|$)")


def yfinance_download(
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


def run_bounded(call: Callable[[], pd.DataFrame], timeout: float) -> pd.DataFrame:
    """Run ``call`` in a daemon worker thread and wait at most ``timeout`` seconds.

    A daemon thread (not a ThreadPoolExecutor, whose threads are joined at exit) so that a
    download hanging past the timeout cannot keep the program from exiting.

    Raises:
        BoundedWaitTimeout: the wait ran out (a distinct type, so that it cannot be confused with a
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
        raise BoundedWaitTimeout
    return future.result()


class BoundedWaitTimeout(Exception):
    """The bounded wait ran out (as opposed to a timeout inside the download)."""


def short(exc: BaseException, limit: int = 80) -> str:
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


def map_error(exc: BaseException, req: Request, timeout: float) -> FetchError:
    """Turn anything a download raised into a one-line FetchError."""
    sym, what = req.ticker, req.describe()
    unreachable = f"could not reach Yahoo Finance for {sym} ({{}}): {OFFLINE_HINT}"
    yf_errors = _yf_errors()
    rate_limit = yf_errors.get("YFRateLimitError")
    missing = yf_errors.get("YFTickerMissingError")
    bad_period = yf_errors.get("YFInvalidPeriodError")
    if isinstance(exc, BoundedWaitTimeout):
        return NetworkError(
            f"Yahoo Finance did not answer within {timeout:g} s for {sym}: {OFFLINE_HINT}",
            f"no answer within {timeout:g} s",
        )
    if rate_limit is not None and isinstance(exc, rate_limit):
        return NetworkError(
            f"Yahoo Finance is rate-limiting requests (too many requests) for {sym}: "
            "wait a few minutes and try again",
            "rate-limited by Yahoo",
        )
    if missing is not None and isinstance(exc, missing):
        reason = getattr(exc, "rationale", None) or str(exc)
        return FetchError(
            f"no data for {sym} ({what}): Yahoo says {short(reason, 100)!r}; "
            f"check the ticker symbol ({EXAMPLES}) and the date range",
            f"Yahoo has no data: {short(reason, 60)}",
        )
    if bad_period is not None and isinstance(exc, bad_period):
        return FetchError(
            f"Yahoo rejected the request for {sym} ({what}): {short(exc, 100)}; "
            "pick another --period",
            "period rejected by Yahoo",
        )
    status = _http_status(exc)
    if status is not None:
        if status == 404:
            return FetchError(
                f"no data for {sym} ({what}): Yahoo does not know this ticker (HTTP 404); "
                f"check the ticker symbol ({EXAMPLES})",
                "unknown ticker (HTTP 404)",
            )
        if status == 429:
            return NetworkError(
                f"Yahoo Finance is rate-limiting requests (HTTP 429) for {sym}: "
                "wait a few minutes and try again",
                "rate-limited by Yahoo (HTTP 429)",
            )
        return NetworkError(unreachable.format(f"HTTP {status}"), f"HTTP {status}")
    if isinstance(exc, OSError):  # includes requests/curl_cffi errors, socket errors, timeouts
        reason = short(exc)
        return NetworkError(unreachable.format(reason), reason)
    try:
        from curl_cffi import CurlError
    except ImportError:  # pragma: no cover - curl_cffi comes with yfinance
        CurlError = OSError  # noqa: N806
    if isinstance(exc, CurlError):
        reason = short(exc)
        return NetworkError(unreachable.format(reason), reason)
    # Anything else (an unexpected response yfinance could not parse, Yahoo being down, ...).
    reason = f"{type(exc).__name__}: {short(exc, 60)}"
    return NetworkError(
        f"Yahoo Finance sent an unusable answer for {sym} ({reason}): try again later",
        reason,
    )
