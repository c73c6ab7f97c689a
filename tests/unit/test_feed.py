"""Tests for the data feeds: bundled synthetic sample, file loader, load_source routing."""

from __future__ import annotations

import gzip
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algotui.errors import DataError, UserError
from algotui.feed import load_source
from algotui.feed.files import infer_interval, load_file
from algotui.feed.sample import generate, load_sample

COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
HEADER = "Date,Open,High,Low,Close,Volume"


def _csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def _write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def _assert_shape(df: pd.DataFrame) -> None:
    """The contract every loader keeps."""
    assert list(df.columns) == COLUMNS
    assert all(dtype == np.float64 for dtype in df.dtypes)
    assert isinstance(df.index, pd.DatetimeIndex)
    assert df.index.name == "Date"
    assert df.index.tz is None
    assert df.index.is_monotonic_increasing and df.index.is_unique


# --------------------------------------------------------------------------- sample


def test_sample_is_deterministic_and_matches_shipped_csv() -> None:
    generated = generate()
    pd.testing.assert_frame_equal(generated, generate())
    shipped = load_sample()
    pd.testing.assert_frame_equal(
        shipped.round(2), generated.round(2), check_freq=False, check_exact=True
    )


def test_sample_shape_and_attrs() -> None:
    df = load_sample()
    _assert_shape(df)
    assert df.attrs["symbol"] == "SAMPLE"
    assert df.attrs["source"] == "sample"
    assert df.attrs["interval"] == "1d"
    assert df.index[0] == pd.Timestamp("2022-01-03")
    assert df.index[-1] - df.index[0] >= pd.Timedelta(days=2 * 365)
    assert 700 <= len(df) <= 800
    assert (df.index.day_of_week < 5).all()


def test_sample_ohlc_is_consistent() -> None:
    df = generate()
    assert (df[["Open", "High", "Low", "Close"]] > 0).all().all()
    assert (df["High"] >= df[["Open", "Close"]].max(axis=1)).all()
    assert (df["Low"] <= df[["Open", "Close"]].min(axis=1)).all()
    assert (
        (df[["Open", "High", "Low", "Close"]] == df[["Open", "High", "Low", "Close"]].round(2))
        .all()
        .all()
    )
    assert (df["Volume"] > 0).all() and (df["Volume"] == df["Volume"].round()).all()
    assert 90 <= df["Open"].iloc[0] <= 110
    # Opens gap from the previous close, but only a little.
    gaps = (df["Open"] / df["Close"].shift() - 1).abs().dropna()
    assert (gaps > 0).mean() > 0.5 and gaps.max() < 0.1


def test_sample_has_trends_and_a_volatile_phase() -> None:
    close = generate()["Close"]
    returns = np.log(close).diff().dropna()
    quarterly = np.log(close).iloc[::63].diff().dropna()
    assert quarterly.max() > 0.1 and quarterly.min() < -0.1  # up and down trends
    rolling_vol = returns.rolling(60).std().dropna()
    assert rolling_vol.max() > 1.8 * rolling_vol.median()  # a distinctly volatile phase


def test_shipped_csv_passes_the_file_validator() -> None:
    ref = resources.files("algotui") / "data" / "sample.csv"
    with resources.as_file(ref) as path:
        df = load_file(path)
    pd.testing.assert_frame_equal(df, load_sample(), check_freq=False)
    assert df.attrs["interval"] == "1d"


# --------------------------------------------------------------------------- loader: happy paths


def test_lowercase_csv(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "spy.csv",
        _csv(
            "2023-01-02,10,11,9,10.5,1000",
            "2023-01-03,10.5,12,10,11.5,2000",
            "2023-01-04,11.5,12,11,11,1500",
            header="date,open,high,low,close,volume",
        ),
    )
    df = load_file(path)
    _assert_shape(df)
    assert len(df) == 3
    assert df.loc["2023-01-03", "High"] == 12.0
    assert df["Volume"].tolist() == [1000.0, 2000.0, 1500.0]
    assert df.attrs["symbol"] == "SPY"
    assert df.attrs["source"] == str(path)
    assert df.attrs["interval"] == "1d"
    assert df.attrs["dropped_rows"] == 0 and df.attrs["warnings"] == []


def test_datetime_column_with_timezone_is_converted_to_naive_utc(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "aapl.csv",
        _csv(
            "2023-03-10 09:30:00-05:00,1,2,0.5,1.5,10",
            "2023-03-10 09:35:00-05:00,1,2,0.5,1.5,10",
            "2023-03-13 09:30:00-04:00,1,2,0.5,1.5,10",  # after the DST switch
            header="Datetime,Open,High,Low,Close,Volume",
        ),
    )
    df = load_file(path)
    _assert_shape(df)
    assert list(df.index) == [
        pd.Timestamp("2023-03-10 14:30"),
        pd.Timestamp("2023-03-10 14:35"),
        pd.Timestamp("2023-03-13 13:30"),
    ]
    assert df.attrs["interval"] == "5m"


def test_parquet_with_datetime_index(tmp_path: Path) -> None:
    index = pd.date_range("2023-01-02 10:00", periods=4, freq="h", tz="Europe/Berlin", name="ts")
    source = pd.DataFrame(
        {
            "open": [1.0, 2.0, 3.0, 4.0],
            "HIGH": [2.0, 3.0, 4.0, 5.0],
            "Low": [0.5, 1.5, 2.5, 3.5],
            "close": [1.5, 2.5, 3.5, 4.5],
            "volume": [1, 2, 3, 4],
        },
        index=index,
    )
    path = tmp_path / "btc.parquet"
    source.to_parquet(path)
    df = load_file(path)
    _assert_shape(df)
    assert df.index[0] == pd.Timestamp("2023-01-02 09:00")  # Berlin is UTC+1 in winter
    assert df["Close"].tolist() == [1.5, 2.5, 3.5, 4.5]
    assert df["Volume"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert df.attrs["symbol"] == "BTC" and df.attrs["interval"] == "1h"


def test_parquet_with_timestamp_column_and_pq_suffix(tmp_path: Path) -> None:
    source = pd.DataFrame(
        {
            "timestamp": pd.to_datetime(["2023-01-02", "2023-01-09", "2023-01-16"]),
            "Open": [1.0, 2.0, 3.0],
            "High": [2.0, 3.0, 4.0],
            "Low": [0.5, 1.5, 2.5],
            "Close": [1.5, 2.5, 3.5],
        }
    )
    path = tmp_path / "weekly.pq"
    source.to_parquet(path)
    df = load_file(path)
    _assert_shape(df)
    assert df.attrs["interval"] == "1wk"
    assert (df["Volume"] == 0).all()


def test_adj_close_is_ignored(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "msft.csv",
        _csv(
            "2023-01-02,10,11,9,10.5,10.1,100",
            "2023-01-03,10,11,9,10.7,10.3,100",
            header="Date,Open,High,Low,Close,Adj Close,Volume",
        ),
    )
    df = load_file(path)
    _assert_shape(df)
    assert df["Close"].tolist() == [10.5, 10.7]


def test_missing_volume_is_zero(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "fx.csv",
        _csv("2023-01-02,1,2,0.5,1.5", "2023-01-03,1,2,0.5,1.5", header="Date,Open,High,Low,Close"),
    )
    df = load_file(path)
    _assert_shape(df)
    assert df["Volume"].tolist() == [0.0, 0.0]


@pytest.mark.parametrize(
    ("first", "second"),
    [(1672704000, 1672707600), (1672704000000, 1672707600000)],
    ids=["seconds", "milliseconds"],
)
def test_epoch_timestamps(tmp_path: Path, first: int, second: int) -> None:
    path = _write(
        tmp_path,
        "eth.csv",
        _csv(
            f"{first},1,2,0.5,1.5,1",
            f"{second},1,2,0.5,1.5,1",
            header="timestamp,open,high,low,close,volume",
        ),
    )
    df = load_file(path)
    _assert_shape(df)
    assert list(df.index) == [pd.Timestamp("2023-01-03 00:00"), pd.Timestamp("2023-01-03 01:00")]
    assert df.attrs["interval"] == "1h"


def test_unsorted_rows_are_sorted_with_clean(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "mix.csv",
        _csv(
            "2023-01-04,3,4,2,3.5,1",
            "2023-01-02,1,2,0.5,1.5,1",
            "2023-01-03,2,3,1.5,2.5,1",
        ),
    )
    with pytest.raises(DataError, match="row 2 .*ascending"):
        load_file(path)
    df = load_file(path, clean=True)
    _assert_shape(df)
    assert df["Open"].tolist() == [1.0, 2.0, 3.0]
    assert df.attrs["dropped_rows"] == 0
    assert len(df.attrs["warnings"]) == 1 and "sorted" in df.attrs["warnings"][0]


def test_clean_drops_bad_rows_and_counts_them(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "dirty.csv",
        _csv(
            "2023-01-02,1,2,0.5,1.5,1",
            "2023-01-03,1,2,0.5,,1",
            "2023-01-04,NaN,2,0.5,1.5,1",
            "2023-01-05,1,2,0.5,1.5,1",
            "2023-01-06,1,0.4,0.5,0.45,1",
            "2023-01-09,1,2,0.5,1.5,1",
        ),
    )
    df = load_file(path, clean=True)
    _assert_shape(df)
    assert [d.strftime("%Y-%m-%d") for d in df.index] == ["2023-01-02", "2023-01-05", "2023-01-09"]
    assert df.attrs["dropped_rows"] == 3
    assert df.attrs["warnings"] == ["dropped 3 bad rows (2 NaN, 1 high < low)"]


def test_clean_keeps_the_first_of_duplicates(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "dups.csv",
        _csv("2023-01-02,1,2,0.5,1.5,1", "2023-01-02,5,6,4,5.5,1", "2023-01-03,1,2,0.5,1.5,1"),
    )
    df = load_file(path, clean=True)
    assert df["Open"].tolist() == [1.0, 1.0]
    assert df.attrs["dropped_rows"] == 1
    assert df.attrs["warnings"] == ["dropped 1 bad row (1 duplicate timestamp)"]


def test_clean_still_needs_two_rows(tmp_path: Path) -> None:
    path = _write(tmp_path, "few.csv", _csv("2023-01-02,1,2,0.5,1.5,1", "2023-01-03,x,2,0.5,1.5,1"))
    with pytest.raises(DataError, match="only 1 good row left") as info:
        load_file(path, clean=True)
    assert "\n" not in str(info.value)


def test_other_layouts(tmp_path: Path) -> None:
    """Gzip, tab-separated .txt, an unnamed index column and separate date/time columns."""
    rows = ["2023-01-02,1,2,0.5,1.5,1", "2023-01-03,1,2,0.5,1.5,1"]
    gz = tmp_path / "gz.csv.gz"
    gz.write_bytes(gzip.compress(_csv(*rows).encode()))
    tsv = _write(tmp_path, "tab.txt", _csv(*rows).replace(",", "\t"))
    unnamed = _write(tmp_path, "unnamed.csv", _csv(*rows, header=",Open,High,Low,Close,Volume"))
    split = _write(
        tmp_path,
        "split.csv",
        _csv(
            "2023-01-02,09:30,1,2,0.5,1.5,1",
            "2023-01-02,09:31,1,2,0.5,1.5,1",
            header="date,time,open,high,low,close,volume",
        ),
    )
    for path in (gz, tsv, unnamed):
        df = load_file(path)
        _assert_shape(df)
        assert len(df) == 2 and df.attrs["interval"] == "1d"
    assert load_file(gz).attrs["symbol"] == "GZ"
    df = load_file(split)
    assert df.index[1] == pd.Timestamp("2023-01-02 09:31") and df.attrs["interval"] == "1m"


@pytest.mark.parametrize(
    ("freq", "expected"),
    [
        ("min", "1m"),
        ("5min", "5m"),
        ("90s", "90s"),
        ("h", "1h"),
        ("D", "1d"),
        ("B", "1d"),
        ("3D", "3d"),
        ("W", "1wk"),
        ("MS", "1mo"),
    ],
)
def test_infer_interval(freq: str, expected: str) -> None:
    assert infer_interval(pd.date_range("2023-01-02", periods=30, freq=freq)) == expected


def test_infer_interval_with_too_few_points() -> None:
    assert infer_interval(pd.DatetimeIndex(["2023-01-02"])) == "unknown"


def test_infer_interval_edge_cases() -> None:
    assert infer_interval(pd.DatetimeIndex(["2023-02-01", "2023-03-01"])) == "1mo"
    assert infer_interval(pd.DatetimeIndex(["2023-01-01", "2023-04-01", "2023-07-01"])) == "3mo"
    assert infer_interval(pd.DatetimeIndex(["2023-01-01", "2023-01-15", "2023-01-29"])) == "2wk"
    # Ties go to the smaller gap; duplicates and order do not matter.
    stamps = ["2023-01-01 10:00", "2023-01-01 09:00", "2023-01-01 09:00", "2023-01-01 12:00"]
    assert infer_interval(pd.DatetimeIndex(stamps)) == "1h"


# --------------------------------------------------------------------------- loader: errors

GOOD = "2023-01-02,1,2,0.5,1.5,1"


def _rows(*rows: str) -> str:
    return _csv(GOOD, *rows)


# (id, file name, content or None for "no file", substrings the message must contain)
ERROR_CASES: list[tuple[str, str, str | bytes | None, list[str]]] = [
    ("missing file", "nope.csv", None, ["no such file", "nope.csv"]),
    ("unsupported extension", "data.xlsx", "x", ["unsupported file type", ".xlsx"]),
    ("empty file", "data.csv", "", ["data.csv", "empty"]),
    ("corrupt gzip", "data.csv.gz", b"\x1f\x8b not really gzip", ["data.csv.gz", "cannot read"]),
    ("corrupt parquet", "data.parquet", b"PAR1 garbage", ["data.parquet", "cannot read Parquet"]),
    ("ragged csv", "data.csv", _rows("2023-01-03,1,2,0.5,1.5,1,9,9"), ["cannot read CSV"]),
    (
        "no timestamp column",
        "data.csv",
        _csv(GOOD, GOOD, header="when,Open,High,Low,Close,Volume"),
        ["no timestamp column", "found: when, Open, High, Low, Close, Volume"],
    ),
    (
        "missing close",
        "data.csv",
        _csv("2023-01-02,1,2,0.5,1", "2023-01-03,1,2,0.5,1", header="Date,Open,High,Low,Volume"),
        ["missing column Close", "found: Date, Open, High, Low, Volume"],
    ),
    (
        "missing high and low",
        "data.csv",
        _csv("2023-01-02,1,1", "2023-01-03,1,1", header="Date,Open,Close"),
        ["missing column High, Low", "found: Date, Open, Close", "add them"],
    ),
    ("one row", "data.csv", _rows(), ["at least 2 rows", "found 1"]),
    ("header only", "data.csv", _csv(), ["at least 2 rows", "found 0"]),
    (
        "unparseable timestamp",
        "data.csv",
        _rows("2023-01-03,1,2,0.5,1.5,1", "2023-13-45,1,2,0.5,1.5,1"),
        ["row 3", "Date", "'2023-13-45'", "--clean"],
    ),
    ("empty timestamp", "data.csv", _rows(",1,2,0.5,1.5,1"), ["row 2", "Date is empty"]),
    (
        "duplicate timestamp",
        "data.csv",
        _rows("2023-01-03,1,2,0.5,1.5,1", "2023-01-03,1,2,0.5,1.5,1"),
        ["row 3 (2023-01-03)", "duplicate timestamp", "row 2"],
    ),
    (
        "unsorted",
        "data.csv",
        _rows("2023-01-05,1,2,0.5,1.5,1", "2023-01-04,1,2,0.5,1.5,1"),
        ["row 3 (2023-01-04)", "ascending", "2023-01-05", "sort"],
    ),
    (
        "empty cell",
        "data.csv",
        _rows("2023-01-03,1,2,0.5,,1"),
        ["row 2 (2023-01-03)", "Close is empty"],
    ),
    (
        "NaN cell",
        "data.csv",
        _rows("2023-01-03,nan,2,0.5,1.5,1"),
        ["row 2", "Open is missing ('nan')"],
    ),
    (
        "short row",
        "data.csv",
        _rows("2023-01-03,1,2,0.5,1.5"),
        ["row 2 (2023-01-03)", "Volume is empty"],
    ),
    (
        "non-numeric",
        "data.csv",
        _rows("2023-01-03,1,2,0.5,1.5,1", "2023-01-04,1,2,0.5,abc,1"),
        ["data.csv row 3 (2023-01-04): Close is not a number ('abc')", "--clean"],
    ),
    (
        "high below low",
        "data.csv",
        _rows("2023-01-03,1,0.5,2,1,1"),
        ["row 2 (2023-01-03)", "High (0.5) is below Low (2)"],
    ),
    (
        "high below open",
        "data.csv",
        _rows("2023-01-03,3,2,0.5,1.5,1"),
        ["row 2", "High (2) is below Open (3)"],
    ),
    (
        "high below close",
        "data.csv",
        _rows("2023-01-03,1,2,0.5,2.5,1"),
        ["row 2", "High (2) is below Close (2.5)"],
    ),
    (
        "low above open",
        "data.csv",
        _rows("2023-01-03,1,2,1.2,1.5,1"),
        ["row 2", "Low (1.2) is above Open (1)"],
    ),
    (
        "low above close",
        "data.csv",
        _rows("2023-01-03,1.5,2,1.2,1,1"),
        ["row 2", "Low (1.2) is above Close (1)"],
    ),
    (
        "zero price",
        "data.csv",
        _rows("2023-01-03,1,2,0,1.5,1"),
        ["row 2 (2023-01-03)", "Low is not positive (0)"],
    ),
    (
        "negative price",
        "data.csv",
        _rows("2023-01-03,-1,-0.5,-2,-1.5,1"),
        ["row 2", "Open is not positive (-1)"],
    ),
    ("negative volume", "data.csv", _rows("2023-01-03,1,2,0.5,1.5,-5"), ["row 2", "Volume"]),
    (
        "infinite price",
        "data.csv",
        _rows("2023-01-03,1,inf,0.5,1.5,1"),
        ["row 2 (2023-01-03)", "High is not a number ('inf')"],
    ),
    (
        "timestamp out of range",
        "data.csv",
        _rows("3000-01-01,1,2,0.5,1.5,1"),
        ["row 2", "Date is not a valid date/time ('3000-01-01')"],
    ),
]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_load_file_errors(
    tmp_path: Path, name: str, content: str | bytes | None, expected: list[str]
) -> None:
    path = tmp_path / name if content is None else _write(tmp_path, name, content)
    with pytest.raises(DataError) as info:
        load_file(path)
    message = str(info.value)
    assert isinstance(info.value, UserError)
    assert "\n" not in message and message == message.strip()
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"
    if "row " in message.split(":")[0]:
        # Row-level problems say how to fix them.
        assert message.endswith(
            ("fix the file or pass --clean to drop bad rows", "pass --clean to sort it")
        )


def test_row_numbers_point_at_the_first_bad_row(tmp_path: Path) -> None:
    rows = [f"2023-01-{day:02d},1,2,0.5,1.5,1" for day in range(2, 31)]
    rows[20] = "2023-01-22,1,2,0.5,oops,1"
    rows[25] = "2023-01-27,1,0.1,0.5,1.5,1"
    path = _write(tmp_path, "long.csv", _csv(*rows))
    with pytest.raises(DataError, match=r"^long.csv row 21 \(2023-01-22\): Close is not a number"):
        load_file(path)
    df = load_file(path, clean=True)
    assert len(df) == len(rows) - 2
    assert df.attrs["warnings"] == ["dropped 2 bad rows (1 non-numeric, 1 high < low)"]


def test_parquet_nan_is_reported_with_row(tmp_path: Path) -> None:
    source = pd.DataFrame(
        {
            "Open": [1.0, 1.0, 1.0],
            "High": [2.0, 2.0, 2.0],
            "Low": [0.5, np.nan, 0.5],
            "Close": [1.5, 1.5, 1.5],
        },
        index=pd.DatetimeIndex(["2023-01-02", "2023-01-03", "2023-01-04"], name="Date"),
    )
    path = tmp_path / "gaps.parquet"
    source.to_parquet(path)
    with pytest.raises(DataError, match=r"gaps.parquet row 2 \(2023-01-03\): Low is missing"):
        load_file(path)
    assert len(load_file(path, clean=True)) == 2
    # The index name is used in messages about timestamps.
    source["Low"] = 0.5
    source.index = pd.DatetimeIndex(["2023-01-02", None, "2023-01-04"], name="ts")
    source.to_parquet(path)
    with pytest.raises(DataError, match=r"^gaps.parquet row 2: ts is empty; fix the file"):
        load_file(path)


# --------------------------------------------------------------------------- load_source


def test_load_source_routes(tmp_path: Path) -> None:
    assert load_source("sample").attrs["symbol"] == "SAMPLE"
    path = _write(tmp_path, "qqq.csv", _csv(GOOD, "2023-01-03,1,2,0.5,1.5,1"))
    assert load_source(str(path)).attrs["symbol"] == "QQQ"
    with pytest.raises(DataError) as info:
        load_source(str(tmp_path / "missing.csv"))
    assert str(info.value) == (
        f"no such file: {str(tmp_path / 'missing.csv')!r} "
        "(give 'sample', a .csv/.parquet file, or a ticker like AAPL)"
    )


def test_load_source_passes_clean(tmp_path: Path) -> None:
    path = _write(tmp_path, "d.csv", _csv(GOOD, "2023-01-03,1,2,0.5,x,1", "2023-01-04,1,2,1,1,1"))
    with pytest.raises(DataError):
        load_source(str(path))
    assert load_source(str(path), clean=True).attrs["dropped_rows"] == 1
