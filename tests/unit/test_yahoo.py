"""Tests for the Yahoo Finance loader and its disk cache. No test touches the network.

An autouse fixture points the cache at a temporary directory and makes every socket connect,
DNS lookup and curl_cffi request fail, so an accidental download fails loudly. Downloads are
simulated with an injected ``downloader`` returning frames shaped exactly like yfinance 1.7's
``Ticker.history(auto_adjust=True, actions=False)``, or by replacing yfinance's HTTP layer
(``YfData.get``) with recorded chart responses so that yfinance's own parsing runs.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from algotui.errors import DataError
from algotui.feed import cache as cache_mod
from algotui.feed.cache import CacheKey, cache_dir, clear_cache, list_cache, load_cached
from algotui.feed.yahoo import (
    FetchError,
    NetworkError,
    fetch,
    load_ticker,
    looks_like_ticker,
    validate_request,
)

COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
TODAY = date(2024, 6, 10)


# --------------------------------------------------------------------------- fixtures


class NetworkUsed(AssertionError):
    """Raised if anything tries to reach the network during a test."""


@pytest.fixture(autouse=True)
def _offline_and_private_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, request: pytest.FixtureRequest
) -> Path:
    """Cache in tmp_path; any network use (sockets, DNS, curl_cffi) raises NetworkUsed."""
    directory = tmp_path / "cache"
    monkeypatch.setenv("ALGOTUI_CACHE_DIR", str(directory))
    if request.node.get_closest_marker("online") is None:

        def no_network(*_args: Any, **_kwargs: Any) -> Any:
            raise NetworkUsed("a test tried to use the network")

        monkeypatch.setattr(socket.socket, "connect", no_network)
        monkeypatch.setattr(socket.socket, "connect_ex", no_network)
        monkeypatch.setattr(socket, "getaddrinfo", no_network)
        monkeypatch.setattr(socket, "create_connection", no_network)
        try:
            from curl_cffi import requests as curl_requests
        except ImportError:  # pragma: no cover
            pass
        else:
            monkeypatch.setattr(curl_requests.Session, "request", no_network)
    return directory


def yf_frame(
    n: int = 5,
    *,
    start: str = "2024-06-03",
    tz: str = "America/New_York",
    freq: str = "B",
    intraday: bool = False,
) -> pd.DataFrame:
    """A frame shaped like yfinance 1.7's ``Ticker.history(auto_adjust=True, actions=False)``.

    Tz-aware DatetimeIndex named "Date" (daily) or "Datetime" (intraday), float64 OHLC,
    int64 Volume, no Dividends / Stock Splits columns.
    """
    index = pd.date_range(
        start, periods=n, freq=freq, tz=tz, name="Datetime" if intraday else "Date"
    )
    close = 190.0 + np.arange(n, dtype="float64")
    return pd.DataFrame(
        {
            "Open": close - 0.5,
            "High": close + 1.0,
            "Low": close - 1.0,
            "Close": close,
            "Volume": np.arange(1, n + 1, dtype="int64") * 1_000_000,
        },
        index=index,
    )


class FakeDownloader:
    """Records calls; returns ``result`` (a frame or a callable) or raises ``error``."""

    def __init__(
        self,
        result: pd.DataFrame | Callable[[], Any] | None = None,
        error: BaseException | None = None,
    ) -> None:
        self.result = yf_frame() if result is None else result
        self.error = error
        self.calls: list[dict[str, Any]] = []

    def __call__(self, ticker: str, **kwargs: Any) -> Any:
        self.calls.append({"ticker": ticker, **kwargs})
        if self.error is not None:
            raise self.error
        if callable(self.result):
            return self.result()
        return self.result.copy()


class Hang:
    """A download that blocks until released; ``release()`` also waits for it to return.

    Waiting for the worker thread to finish keeps a timed-out download from leaking into
    the next test (it would still hold yfinance's logger silenced).
    """

    def __init__(self) -> None:
        self._go = threading.Event()
        self._done = threading.Event()

    def __call__(self) -> pd.DataFrame:
        try:
            self._go.wait(10)
            return yf_frame()
        finally:
            self._done.set()

    def release(self) -> None:
        self._go.set()
        assert self._done.wait(10)
        for thread in threading.enumerate():
            if thread.name == "algotui-yahoo-fetch":
                thread.join(10)


def assert_shape(df: pd.DataFrame) -> None:
    """The contract every loader keeps."""
    assert list(df.columns) == COLUMNS
    assert all(dtype == np.float64 for dtype in df.dtypes)
    assert isinstance(df.index, pd.DatetimeIndex)
    assert df.index.tz is None
    assert df.index.name == "Date"
    assert df.index.is_monotonic_increasing and df.index.is_unique
    assert not df[["Open", "High", "Low", "Close"]].isna().any().any()


def one_line(exc: pytest.ExceptionInfo[BaseException]) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.strip() == message and message
    return message


class Notes(list[str]):
    """A notify callback that keeps the messages."""

    def __call__(self, message: str) -> None:
        assert "\n" not in message
        self.append(message)


# --------------------------------------------------------------------------- fetch


def test_fetch_returns_the_common_shape() -> None:
    fake = FakeDownloader()
    df = fetch("aapl", downloader=fake)
    assert_shape(df)
    assert df.attrs["symbol"] == "AAPL"
    assert df.attrs["source"] == "yahoo"
    assert df.attrs["interval"] == "1d"
    assert len(df) == 5
    # Daily bars keep the exchange's calendar date at midnight.
    assert df.index[0] == pd.Timestamp("2024-06-03")
    assert df["Close"].tolist() == [190.0, 191.0, 192.0, 193.0, 194.0]
    assert df["Volume"].iloc[0] == 1_000_000.0
    (call,) = fake.calls
    assert call == {
        "ticker": "AAPL",
        "period": "1y",
        "interval": "1d",
        "start": None,
        "end": None,
        "timeout": 20.0,
        "session": None,
    }


def test_fetch_daily_bars_keep_their_date_east_of_utc() -> None:
    """Midnight in Tokyo is the previous day in UTC; the bar must keep its own date."""
    fake = FakeDownloader(yf_frame(3, start="2024-06-03", tz="Asia/Tokyo"))
    df = fetch("7203.T", downloader=fake)
    assert list(df.index.strftime("%Y-%m-%d")) == ["2024-06-03", "2024-06-04", "2024-06-05"]
    assert (df.index == df.index.normalize()).all()


def test_fetch_intraday_bars_become_naive_utc() -> None:
    frame = yf_frame(4, start="2024-06-03 09:30", freq="5min", intraday=True)
    df = fetch("AAPL", period="5d", interval="5m", downloader=FakeDownloader(frame), today=TODAY)
    assert_shape(df)
    assert df.index[0] == pd.Timestamp("2024-06-03 13:30")  # 09:30 EDT
    assert df.attrs["interval"] == "5m"


def test_fetch_cleans_nan_unsorted_and_duplicate_rows() -> None:
    frame = yf_frame(5)
    frame.iloc[1, frame.columns.get_loc("Close")] = np.nan
    frame = pd.concat([frame.iloc[[4, 3]], frame, frame.iloc[[0]]])
    df = fetch("AAPL", downloader=FakeDownloader(frame))
    assert_shape(df)
    assert len(df) == 4
    assert pd.Timestamp("2024-06-04") not in df.index


def test_fetch_passes_start_and_end_as_iso_dates_without_period() -> None:
    fake = FakeDownloader()
    fetch("AAPL", start=date(2024, 1, 2), end="2024-03-01", downloader=fake, today=TODAY)
    call = fake.calls[0]
    assert (call["period"], call["start"], call["end"]) == (None, "2024-01-02", "2024-03-01")


def test_fetch_accepts_yf_download_style_columns() -> None:
    frame = yf_frame(3)
    frame.columns = pd.MultiIndex.from_product([frame.columns, ["AAPL"]], names=["Price", "Ticker"])
    df = fetch("AAPL", downloader=FakeDownloader(frame))
    assert_shape(df)
    assert len(df) == 3


@pytest.mark.parametrize(
    "result",
    [
        pd.DataFrame(),
        pd.DataFrame(columns=COLUMNS, index=pd.DatetimeIndex([], name="Date")),
        yf_frame(3).assign(Close=np.nan),
    ],
    ids=["empty", "empty-with-columns", "all-nan"],
)
def test_fetch_without_rows_is_a_one_line_data_error(result: pd.DataFrame) -> None:
    with pytest.raises(DataError) as exc:
        fetch("AAPL", downloader=FakeDownloader(result))
    message = one_line(exc)
    assert message.startswith("no data for AAPL (period 1y, interval 1d)")
    assert "check the ticker symbol" in message
    assert not isinstance(exc.value, NetworkError)


def test_fetch_rejects_a_result_that_is_not_a_table() -> None:
    with pytest.raises(NetworkError) as exc:
        fetch("AAPL", downloader=FakeDownloader(lambda: None))
    assert "unusable answer" in one_line(exc)


def _curl_dns_error() -> BaseException:
    from curl_cffi.requests.exceptions import DNSError

    class NoResponse:  # what curl_cffi attaches when no HTTP answer came at all
        status_code = 0
        text = ""

    return DNSError(
        "Failed to perform, curl: (6) Could not resolve host: query2.finance.yahoo.com. "
        "See https://curl.se/libcurl/c/libcurl-errors.html first for more details.",
        6,
        NoResponse(),
    )


def _requests_connection_error() -> BaseException:
    import requests

    return requests.exceptions.ConnectionError("Max retries exceeded with url: /v8/finance/chart")


def _http_error(status: int) -> BaseException:
    from curl_cffi.requests.exceptions import HTTPError

    class Response:
        status_code = status
        text = ""

    return HTTPError(f"HTTP Error {status}", 0, Response())


def _yf_error(name: str, *args: Any) -> BaseException:
    from yfinance import exceptions

    return getattr(exceptions, name)(*args)


@pytest.mark.parametrize(
    ("make_error", "network", "expected"),
    [
        (lambda: OSError("Network is unreachable"), True, "(Network is unreachable)"),
        (lambda: ConnectionError("reset by peer"), True, "could not reach Yahoo Finance for AAPL"),
        (lambda: socket.gaierror(-3, "Temporary failure"), True, "Temporary failure"),
        (lambda: TimeoutError("read timed out"), True, "(read timed out)"),
        (_requests_connection_error, True, "Max retries exceeded"),
        (_curl_dns_error, True, "(Could not resolve host: query2.finance.yahoo.com)"),
        (lambda: _http_error(503), True, "(HTTP 503)"),
        (lambda: _http_error(429), True, "rate-limiting"),
        (lambda: _yf_error("YFRateLimitError"), True, "rate-limiting"),
        (lambda: _http_error(404), False, "does not know this ticker"),
        (lambda: _yf_error("YFTzMissingError", "AAPL"), False, "no timezone found"),
        (
            lambda: _yf_error("YFPricesMissingError", "AAPL", "(period=1y)"),
            False,
            "no price data found",
        ),
        (lambda: _yf_error("YFTickerMissingError", "AAPL", "gone"), False, "check the ticker"),
        (lambda: KeyError("chart"), True, "unusable answer"),
        (lambda: ValueError("Expecting value: line 1"), True, "ValueError"),
    ],
    ids=[
        "oserror",
        "connection-error",
        "dns",
        "socket-timeout",
        "requests",
        "curl-dns",
        "http-503",
        "http-429",
        "yf-rate-limit",
        "http-404",
        "yf-tz-missing",
        "yf-prices-missing",
        "yf-ticker-missing",
        "bad-json-key",
        "bad-json",
    ],
)
def test_fetch_maps_every_failure_to_a_one_line_data_error(
    make_error: Callable[[], BaseException], network: bool, expected: str
) -> None:
    with pytest.raises(DataError) as exc:
        fetch("AAPL", downloader=FakeDownloader(error=make_error()))
    message = one_line(exc)
    assert expected in message
    assert isinstance(exc.value, FetchError)
    assert isinstance(exc.value, NetworkError) is network
    if network and "rate" not in message and "unusable" not in message:
        assert message.startswith("could not reach Yahoo Finance for AAPL (")
        assert "check your network connection" in message
        assert "--refresh" not in message  # not given: not mentioned (it would not help)
    if not network:
        assert message.startswith("no data for AAPL")


def test_fetch_times_out_with_a_bounded_wait() -> None:
    hang = Hang()
    began = time.monotonic()
    try:
        with pytest.raises(NetworkError) as exc:
            fetch("AAPL", timeout=0.2, downloader=FakeDownloader(hang))
    finally:
        hang.release()
    assert time.monotonic() - began < 3
    message = one_line(exc)
    assert message.startswith("Yahoo Finance did not answer within 0.2 s for AAPL")
    assert "check your network connection" in message


def test_fetch_silences_the_yfinance_logger(capsys: pytest.CaptureFixture[str]) -> None:
    logger = logging.getLogger("yfinance")
    level, propagate = logger.level, logger.propagate
    seen: list[tuple[int, bool]] = []

    def noisy() -> pd.DataFrame:
        seen.append((logger.level, logger.propagate))
        logger.error("$AAPL: possibly delisted; no price data found")
        return yf_frame()

    fetch("AAPL", downloader=FakeDownloader(noisy))
    assert seen == [(logging.CRITICAL, False)]
    assert (logger.level, logger.propagate) == (level, propagate)
    captured = capsys.readouterr()
    assert "delisted" not in captured.err + captured.out


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"ticker": ""}, "empty ticker"),
        ({"ticker": "   "}, "empty ticker"),
        ({"ticker": "AA PL"}, "contains a space"),
        ({"ticker": "AAPL;rm"}, "';' is not allowed"),
        ({"ticker": "AAPL$"}, "'$' is not allowed"),
        ({"ticker": "-AAPL"}, "must start with a letter"),
        ({"ticker": "AB^C"}, "'^' may only come first"),
        ({"ticker": "A" * 21}, "longer than 20 characters"),
        ({"ticker": "data/prices.csv"}, "no such file"),
        ({"ticker": "prices.csv"}, "no such file"),
        ({"period": "2w"}, "unknown --period '2w': use one of 1d 5d 1mo"),
        ({"period": "1Y"}, "unknown --period '1Y'"),
        ({"interval": "4h"}, "unknown --interval '4h': use one of 1m 2m"),
        ({"interval": "1M"}, "unknown --interval '1M'"),
        ({"period": "1y", "start": "2024-01-01"}, "either --period or --start/--end"),
        ({"period": "1y", "end": "2024-01-01"}, "either --period or --start/--end"),
        ({"end": "2024-01-01"}, "--end needs --start"),
        ({"start": "2024-13-01"}, "bad --start '2024-13-01': use a date like 2024-01-31"),
        ({"start": "yesterday"}, "bad --start 'yesterday'"),
        ({"start": "2024-01-01", "end": "soon"}, "bad --end 'soon'"),
        ({"start": "2024-03-01", "end": "2024-03-01"}, "--start 2024-03-01 is not before --end"),
        ({"start": "2024-03-02", "end": "2024-03-01"}, "is not before --end 2024-03-01"),
        ({"start": "2024-07-01"}, "--start 2024-07-01 is in the future"),
        (
            {"period": "1y", "interval": "1m"},
            "1m bars reach back 30 days on Yahoo; --period 1y asks for 365: "
            "use --interval 1h or a shorter --period",
        ),
        (
            {"period": "1mo", "interval": "1m"},
            "1m bars come at most 8 days per request on Yahoo; --period 1mo asks for 30",
        ),
        (
            {"start": "2024-05-20", "end": "2024-06-01", "interval": "1m"},
            "1m bars come at most 8 days per request on Yahoo; "
            "--start 2024-05-20 --end 2024-06-01 asks for 12",
        ),
        (
            {"start": "2024-04-01", "interval": "1m"},
            "1m bars reach back 30 days on Yahoo; --start 2024-04-01 asks for 71",
        ),
        ({"period": "6mo", "interval": "5m"}, "5m bars reach back 60 days on Yahoo"),
        ({"period": "3mo", "interval": "2m"}, "2m bars reach back 60 days"),
        ({"period": "3mo", "interval": "15m"}, "use --interval 1h"),
        ({"period": "ytd", "interval": "30m"}, "--period ytd asks for 162"),
        ({"start": "2024-01-02", "interval": "90m"}, "90m bars reach back 60 days"),
        ({"period": "5y", "interval": "1h"}, "1h bars reach back 730 days on Yahoo"),
        ({"period": "5y", "interval": "60m"}, "use --interval 1d or a shorter --period"),
        ({"start": "2021-01-04", "interval": "1h"}, "a later --start"),
    ],
)
def test_validate_request_rejects(kwargs: dict[str, Any], expected: str) -> None:
    args = {"ticker": "AAPL", "period": None, "interval": "1d", "start": None, "end": None}
    args.update(kwargs)
    with pytest.raises(DataError) as exc:
        validate_request(**args, today=TODAY)
    assert expected in one_line(exc)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"ticker": "AAPL"},
        {"ticker": "aapl"},
        {"ticker": "BTC-USD"},
        {"ticker": "EURUSD=X"},
        {"ticker": "^GSPC"},
        {"ticker": "BRK-B"},
        {"ticker": "7203.T"},
        {"ticker": "ES=F"},
        {"ticker": "M&M.NS"},
        {"ticker": " MSFT "},
        {"period": "max", "interval": "1m"},
        {"period": "5d", "interval": "1m"},
        {"period": "1mo", "interval": "2m"},
        {"period": "2y", "interval": "1h"},
        {"period": "10y", "interval": "1wk"},
        {"period": "ytd", "interval": "1d"},
        {"start": "2024-06-03", "end": "2024-06-08", "interval": "1m"},
        {"start": "2024-05-12", "interval": "1m", "end": "2024-05-20"},
        {"start": "2024-04-12", "interval": "5m"},
        {"start": "2000-01-01", "end": "2010-01-01"},
        {"start": date(2024, 1, 1)},
        {"start": "2024-01-01T00:00:00"},
    ],
)
def test_validate_request_accepts(kwargs: dict[str, Any]) -> None:
    args = {"ticker": "AAPL", "period": None, "interval": "1d", "start": None, "end": None}
    args.update(kwargs)
    validate_request(**args, today=TODAY)


def test_looks_like_ticker() -> None:
    assert looks_like_ticker("AAPL") and looks_like_ticker("^GSPC") and looks_like_ticker("BTC-USD")
    assert not looks_like_ticker("prices.csv")
    assert not looks_like_ticker("data/x")
    assert not looks_like_ticker("two words")


def test_validation_runs_before_any_download() -> None:
    fake = FakeDownloader()
    with pytest.raises(DataError):
        load_ticker("AAPL", period="1y", interval="1m", downloader=fake, today=TODAY)
    assert fake.calls == []


# --------------------------------------------------------------------------- load_ticker + cache


def test_rerun_uses_the_cache_without_downloading() -> None:
    fake = FakeDownloader()
    notes = Notes()
    first = load_ticker("AAPL", downloader=fake, notify=notes)
    assert len(fake.calls) == 1
    assert notes == []
    assert first.attrs["cached"] is False
    assert (cache_dir() / "AAPL_1d_1y.parquet").is_file()

    second = load_ticker("aapl", period="1y", downloader=fake, notify=notes)
    assert len(fake.calls) == 1
    assert_shape(second)
    pd.testing.assert_frame_equal(second, first, check_freq=False)
    assert second.attrs["symbol"] == "AAPL" and second.attrs["source"] == "yahoo"
    assert second.attrs["interval"] == "1d" and second.attrs["cached"] is True
    (message,) = notes
    assert message.startswith("using cached data for AAPL 1d 1y from ")
    assert message.endswith(" ago (--refresh to download again)")
    assert "0s ago" in message or "1s ago" in message


def test_cache_notice_states_the_age(monkeypatch: pytest.MonkeyPatch) -> None:
    load_ticker("AAPL", downloader=FakeDownloader())
    real = load_cached

    def three_hours_old(key: CacheKey) -> Any:
        found = real(key)
        return None if found is None else (found[0], 3 * 3600 + 120.0)

    monkeypatch.setattr("algotui.feed.yahoo.load_cached", three_hours_old)
    notes = Notes()
    load_ticker("AAPL", downloader=FakeDownloader(), notify=notes)
    assert notes == ["using cached data for AAPL 1d 1y from 3h ago (--refresh to download again)"]


def test_refresh_downloads_again_and_replaces_the_copy() -> None:
    fake = FakeDownloader()
    load_ticker("AAPL", downloader=fake)
    fake.result = yf_frame(7)
    notes = Notes()
    df = load_ticker("AAPL", refresh=True, downloader=fake, notify=notes)
    assert len(fake.calls) == 2
    assert len(df) == 7 and df.attrs["cached"] is False
    assert notes == []
    again = load_ticker("AAPL", downloader=fake)
    assert len(fake.calls) == 2 and len(again) == 7


def test_no_cache_neither_reads_nor_writes() -> None:
    fake = FakeDownloader()
    load_ticker("AAPL", use_cache=False, downloader=fake)
    load_ticker("AAPL", use_cache=False, downloader=fake)
    assert len(fake.calls) == 2
    assert list_cache() == []
    load_ticker("AAPL", downloader=fake)  # now cached
    load_ticker("AAPL", use_cache=False, downloader=fake)
    assert len(fake.calls) == 4


def test_start_end_requests_are_cached_separately() -> None:
    fake = FakeDownloader()
    load_ticker("AAPL", start="2024-01-02", end="2024-03-01", downloader=fake, today=TODAY)
    load_ticker("AAPL", start="2024-01-02", end="2024-03-01", downloader=fake, today=TODAY)
    load_ticker("AAPL", start="2024-01-02", downloader=fake, today=TODAY)
    load_ticker("AAPL", period="1y", downloader=fake)
    assert len(fake.calls) == 3
    names = sorted(entry.name for entry in list_cache())
    assert names == [
        "AAPL_1d_1y.parquet",
        "AAPL_1d_2024-01-02_2024-03-01.parquet",
        "AAPL_1d_2024-01-02_now.parquet",
    ]


def _write_corrupt_parquet(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _write_garbage(path: Path) -> None:
    path.write_text("this is not parquet")


def _write_bad_metadata(path: Path) -> None:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    meta = dict(table.schema.metadata or {})
    meta[b"algotui.cache"] = b"{not json"
    pq.write_table(table.replace_schema_metadata(meta), path)


def _write_wrong_columns(path: Path) -> None:
    pd.DataFrame({"x": [1.0]}).to_parquet(path)


def _write_empty_file(path: Path) -> None:
    path.write_bytes(b"")


@pytest.mark.parametrize(
    "damage",
    [
        _write_corrupt_parquet,
        _write_garbage,
        _write_bad_metadata,
        _write_wrong_columns,
        _write_empty_file,
    ],
    ids=["truncated", "garbage", "bad-json", "wrong-columns", "empty"],
)
def test_corrupt_cache_file_is_refetched(damage: Callable[[Path], None]) -> None:
    fake = FakeDownloader()
    load_ticker("AAPL", downloader=fake)
    path = cache_dir() / "AAPL_1d_1y.parquet"
    damage(path)
    key = CacheKey("AAPL", "1y", "1d")
    assert load_cached(key) is None
    assert not path.exists()  # deleted
    damage_again = path.parent / "AAPL_1d_1y.parquet"
    load_ticker("AAPL", downloader=fake)  # miss: downloads and rewrites
    assert len(fake.calls) == 2
    assert damage_again.is_file()
    assert load_cached(key) is not None


def test_network_failure_falls_back_to_the_cached_copy() -> None:
    fake = FakeDownloader()
    first = load_ticker("AAPL", downloader=fake)
    fake.error = _curl_dns_error()
    notes = Notes()
    df = load_ticker("AAPL", refresh=True, downloader=fake, notify=notes)
    assert len(fake.calls) == 2
    pd.testing.assert_frame_equal(df, first, check_freq=False)
    assert df.attrs["cached"] is True
    (message,) = notes
    assert message.startswith("download failed for AAPL 1d 1y (Could not resolve host")
    assert "using cached data from" in message and message.endswith(" ago")


def test_timeout_falls_back_to_the_cached_copy() -> None:
    fake = FakeDownloader()
    load_ticker("AAPL", downloader=fake)
    hang = Hang()
    fake.result = hang
    notes = Notes()
    try:
        df = load_ticker("AAPL", refresh=True, timeout=0.2, downloader=fake, notify=notes)
    finally:
        hang.release()
    assert len(df) == 5
    assert "no answer within 0.2 s" in notes[0]


def test_offline_with_no_cache_points_at_the_cached_copy() -> None:
    load_ticker("AAPL", downloader=FakeDownloader())  # now cached
    fake = FakeDownloader(error=OSError("Network is unreachable"))
    for refresh in (False, True):
        with pytest.raises(NetworkError) as exc:
            load_ticker("AAPL", use_cache=False, refresh=refresh, downloader=fake)
        message = one_line(exc)
        assert message.startswith("could not reach Yahoo Finance for AAPL")
        assert "; or drop --no-cache to use the copy cached " in message
        assert message.endswith(" ago")
        assert "--refresh" not in message


def test_network_failure_without_cache_is_one_data_error() -> None:
    fake = FakeDownloader(error=OSError("Network is unreachable"))
    with pytest.raises(DataError) as exc:
        load_ticker("AAPL", downloader=fake)
    assert one_line(exc) == (
        "could not reach Yahoo Finance for AAPL (Network is unreachable): check your network "
        "connection and try again"
    )
    assert list_cache() == []


def test_empty_download_is_not_cached() -> None:
    fake = FakeDownloader(pd.DataFrame())
    with pytest.raises(DataError, match="no data for AAPL"):
        load_ticker("AAPL", downloader=fake)
    assert list_cache() == []


def test_failed_cache_write_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyarrow.parquet as pq

    fake = FakeDownloader()
    load_ticker("AAPL", downloader=fake)
    path = cache_dir() / "AAPL_1d_1y.parquet"
    before = path.read_bytes()

    def disk_full(*_args: Any, **_kwargs: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pq, "write_table", disk_full)
    fake.result = yf_frame(9)
    notes = Notes()
    df = load_ticker("AAPL", refresh=True, downloader=fake, notify=notes)
    assert len(df) == 9
    assert notes and notes[0].startswith("could not save AAPL 1d 1y to the cache")
    assert "No space left on device" in notes[0]
    assert path.read_bytes() == before  # the old copy is intact
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_cache_write_is_atomic_and_leaves_no_temp_files() -> None:
    load_ticker("AAPL", downloader=FakeDownloader())
    load_ticker("AAPL", refresh=True, downloader=FakeDownloader())
    assert [p.name for p in cache_dir().iterdir()] == ["AAPL_1d_1y.parquet"]


def test_list_and_clear_cache() -> None:
    assert list_cache() == []
    assert clear_cache() == 0
    load_ticker("AAPL", downloader=FakeDownloader())
    load_ticker("^GSPC", period="5d", downloader=FakeDownloader(yf_frame(3)))
    other = cache_dir() / "notes.txt"
    other.write_text("not ours")
    leftover = cache_dir() / ".tmp-abc.parquet"
    leftover.write_bytes(b"partial")

    entries = list_cache()
    assert [e.name for e in entries] == ["AAPL_1d_1y.parquet", "^GSPC_1d_5d.parquet"]
    aapl, gspc = entries
    assert (aapl.rows, gspc.rows) == (5, 3)
    assert aapl.size > 0 and aapl.path.is_file()
    assert aapl.fetched_at is not None and aapl.fetched_at.tzinfo is not None
    assert aapl.age_seconds is not None and 0 <= aapl.age_seconds < 60
    assert aapl.request == {
        "ticker": "AAPL",
        "period": "1y",
        "interval": "1d",
        "start": None,
        "end": None,
    }

    assert clear_cache() == 2
    assert list_cache() == []
    assert other.read_text() == "not ours"  # only cache files are removed
    assert not leftover.exists()


def test_list_cache_shows_unreadable_files_without_details() -> None:
    load_ticker("AAPL", downloader=FakeDownloader())
    _write_garbage(cache_dir() / "AAPL_1d_1y.parquet")
    (entry,) = list_cache()
    assert entry.rows is None and entry.fetched_at is None and entry.size > 0


def test_cache_dir_defaults_to_the_user_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("ALGOTUI_CACHE_DIR")
    assert cache_dir() == Path(platformdirs.user_cache_dir("algotui")) / "yahoo"


@pytest.mark.parametrize(
    ("key", "name"),
    [
        (CacheKey("aapl", "1y", "1d"), "AAPL_1d_1y.parquet"),
        (CacheKey("EURUSD=X", "5d", "1h"), "EURUSD=X_1h_5d.parquet"),
        (
            CacheKey("AAPL", None, "1d", "2024-01-02", "2024-03-01"),
            "AAPL_1d_2024-01-02_2024-03-01.parquet",
        ),
    ],
)
def test_cache_file_names_are_readable(key: CacheKey, name: str) -> None:
    assert key.filename == name


def test_cache_file_names_are_safe() -> None:
    evil = CacheKey("../../etc/passwd", "1y", "1d")
    name = evil.filename
    assert "/" not in name and not name.startswith(".")
    assert name != CacheKey("______ETC_PASSWD", "1y", "1d").filename
    assert CacheKey("a:b", "1y", "1d").filename != CacheKey("a?b", "1y", "1d").filename


def test_format_age() -> None:
    fmt = cache_mod.format_age
    assert [fmt(5), fmt(125), fmt(3 * 3600 + 1), fmt(86400), fmt(86400 * 12)] == [
        "5s",
        "2 min",
        "3h",
        "1 day",
        "12 days",
    ]


# --------------------------------------------------------------------------- real yfinance code


class _Response:
    """A recorded HTTP response, as yfinance's ``YfData.get`` returns it."""

    def __init__(self, payload: dict[str, Any], status: int = 200) -> None:
        self.payload = payload
        self.status_code = status
        self.text = json.dumps(payload)
        self.url = "https://query2.finance.yahoo.com/"

    def json(self) -> dict[str, Any]:
        return self.payload

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            from curl_cffi.requests.exceptions import HTTPError

            raise HTTPError(f"HTTP Error {self.status_code}", 0, self)


_TIMESTAMPS = [1717421400 + 86400 * i for i in range(5)]  # 2024-06-03 .. 2024-06-07 13:30 UTC

CHART_AAPL_5D = {
    "chart": {
        "result": [
            {
                "meta": {
                    "currency": "USD",
                    "symbol": "AAPL",
                    "exchangeName": "NMS",
                    "instrumentType": "EQUITY",
                    "firstTradeDate": 345479400,
                    "regularMarketTime": _TIMESTAMPS[-1],
                    "gmtoffset": -14400,
                    "timezone": "EDT",
                    "exchangeTimezoneName": "America/New_York",
                    "regularMarketPrice": 196.89,
                    "priceHint": 2,
                    "dataGranularity": "1d",
                    "range": "5d",
                    "validRanges": list(
                        ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"]
                    ),
                },
                "timestamp": _TIMESTAMPS,
                "indicators": {
                    "quote": [
                        {
                            "open": [192.9, 194.6, 195.7, 194.6, 196.9],
                            "high": [194.99, 195.3, 196.5, 196.9, 197.3],
                            "low": [192.5, 192.6, 194.1, 194.1, 195.1],
                            "close": [194.0, 194.4, 195.8, 194.4, 196.9],
                            "volume": [50080500, 47471400, 54156800, 41181800, 53103900],
                        }
                    ],
                    "adjclose": [{"adjclose": [193.0, 193.4, 194.8, 193.4, 195.9]}],
                },
            }
        ],
        "error": None,
    }
}

CHART_NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


@pytest.fixture
def yahoo_http(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Replace yfinance's HTTP layer (``YfData.get``) with recorded responses.

    Append responses (or exceptions) to the returned list; each request takes the first one
    left, or the last one once the list is down to one. yfinance's timezone cache is swapped
    for its no-op variant so that nothing is written outside tmp_path.
    """
    import yfinance.cache as yf_cache
    import yfinance.data as yf_data

    answers: list[Any] = []

    def get(self: Any, url: str, params: Any = None, timeout: float = 30) -> Any:
        answer = answers[0] if len(answers) == 1 else answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def cache_get(self: Any, url: str, params: Any = None, timeout: float = 30) -> Any:
        return self.get(url, params, timeout)

    monkeypatch.setattr(yf_data.YfData, "get", get)
    monkeypatch.setattr(yf_data.YfData, "cache_get", cache_get)
    monkeypatch.setattr(yf_cache._TzCacheManager, "_tz_cache", yf_cache._TzCacheDummy())
    yield answers


def test_real_yfinance_parses_a_recorded_response(yahoo_http: list[Any]) -> None:
    import yfinance

    yahoo_http.append(_Response(CHART_AAPL_5D))
    df = fetch("AAPL", period="5d")
    assert_shape(df)
    assert list(df.index.strftime("%Y-%m-%d")) == [
        "2024-06-03",
        "2024-06-04",
        "2024-06-05",
        "2024-06-06",
        "2024-06-07",
    ]
    # auto_adjust=True: Close is Yahoo's adjusted close, O/H/L scaled by the same factor.
    assert df["Close"].tolist() == [193.0, 193.4, 194.8, 193.4, 195.9]
    assert df["Open"].iloc[0] == pytest.approx(192.9 * 193.0 / 194.0)
    assert df["Volume"].iloc[0] == 50080500.0
    assert yfinance.config.debug.hide_exceptions is True  # restored after the download


def test_real_yfinance_network_error_maps_to_network_error(yahoo_http: list[Any]) -> None:
    yahoo_http.append(_curl_dns_error())
    with pytest.raises(NetworkError) as exc:
        fetch("MSFT", start="2024-01-02", end="2024-02-01", today=TODAY)
    assert one_line(exc) == (
        "could not reach Yahoo Finance for MSFT (Could not resolve host: "
        "query2.finance.yahoo.com): check your network connection and try again"
    )


def test_real_yfinance_unknown_ticker(yahoo_http: list[Any]) -> None:
    yahoo_http.append(_Response(CHART_NOT_FOUND, status=404))
    with pytest.raises(FetchError) as exc:
        fetch("ZZZZNOPE", period="1mo")
    message = one_line(exc)
    assert message.startswith("no data for ZZZZNOPE (period 1mo, interval 1d)")
    assert not isinstance(exc.value, NetworkError)


def test_yfinance_ticker_is_called_as_documented(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``yfinance.Ticker`` replaced: the arguments we pass, and failures it raises."""
    import yfinance

    calls: list[dict[str, Any]] = []

    class FakeTicker:
        behaviour: Any = None

        def __init__(self, ticker: str, session: Any = None) -> None:
            calls.append({"ticker": ticker, "session": session})

        def history(self, **kwargs: Any) -> pd.DataFrame:
            calls.append(kwargs)
            if isinstance(FakeTicker.behaviour, BaseException):
                raise FakeTicker.behaviour
            return yf_frame(3)

    monkeypatch.setattr(yfinance, "Ticker", FakeTicker)
    session = object()
    df = fetch("AAPL", period="6mo", interval="1wk", timeout=7.5, session=session)
    assert len(df) == 3
    assert calls == [
        {"ticker": "AAPL", "session": session},
        {
            "period": "6mo",
            "interval": "1wk",
            "auto_adjust": True,
            "actions": False,
            "timeout": 7.5,
        },
    ]
    calls.clear()
    fetch("AAPL", start="2024-01-02", end="2024-02-01", today=TODAY)
    assert calls[1]["start"] == "2024-01-02" and calls[1]["end"] == "2024-02-01"
    assert "period" not in calls[1]

    FakeTicker.behaviour = OSError("[Errno 101] Network is unreachable")
    with pytest.raises(NetworkError, match=r"\(\[Errno 101\] Network is unreachable\)"):
        fetch("AAPL")


def test_the_network_guard_works() -> None:
    with pytest.raises(NetworkUsed):
        socket.create_connection(("query2.finance.yahoo.com", 443), timeout=1)


@pytest.mark.online
def test_online_fetch_aapl() -> None:  # pragma: no cover - needs the internet
    df = fetch("AAPL", period="5d", interval="1d")
    assert_shape(df)
    assert 1 <= len(df) <= 5
    assert df.attrs["symbol"] == "AAPL"
