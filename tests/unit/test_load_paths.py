"""The fast path (pyarrow, column-wise checks) gives exactly what the careful path gives.

Clean files must take the fast path (or loading a million rows is slow again); every other
file must be declined by it so that the careful path names the bad row.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from algotui.feed.fast import read_fast
from algotui.feed.files import load_file
from algotui.feed.reading import read_csv, read_parquet, sniff
from algotui.feed.validate import Validator


def bars(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = close + rng.normal(0, 0.5, n)
    high = np.maximum(open_, close) + 0.25
    low = np.minimum(open_, close) - 0.25
    volume = rng.integers(100, 1000, n)
    index = pd.date_range("2024-01-02 09:30", periods=n, freq="5min", name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    ).round(4)


def careful(path: Path) -> pd.DataFrame:
    if path.suffix == ".parquet":
        raw = read_parquet(path)
    else:
        raw = read_csv(path, sniff(path))
    return Validator(raw, path.name, False).run()


def fast(path: Path) -> pd.DataFrame | None:
    return read_fast(path, None if path.suffix == ".parquet" else sniff(path))


def write_variants(tmp: Path) -> dict[str, Path]:
    df = bars()
    out = {}
    out["csv"] = tmp / "plain.csv"
    df.to_csv(out["csv"])
    out["semicolon"] = tmp / "semi.csv"
    df.to_csv(out["semicolon"], sep=";")
    out["no volume, lower case, Adj Close"] = tmp / "lower.csv"
    lower = df.drop(columns="Volume").assign(**{"Adj Close": df["Close"]})
    lower.rename(columns=str.lower).rename_axis("timestamp").to_csv(
        out["no volume, lower case, Adj Close"]
    )
    out["zoned"] = tmp / "zoned.csv"
    df.tz_localize("America/New_York").to_csv(out["zoned"])
    out["daily dates"] = tmp / "daily.csv"
    daily = df.copy()
    daily.index = pd.date_range("2024-01-01", periods=len(df), freq="D", name="Date")
    daily.to_csv(out["daily dates"], date_format="%Y-%m-%d")
    out["gzip"] = tmp / "plain.csv.gz"
    df.to_csv(out["gzip"])
    out["parquet index"] = tmp / "index.parquet"
    df.to_parquet(out["parquet index"])
    out["parquet column"] = tmp / "column.parquet"
    df.reset_index().to_parquet(out["parquet column"])
    return out


def test_clean_files_take_the_fast_path_and_match_the_careful_one(tmp_path):
    for label, path in write_variants(tmp_path).items():
        quick = fast(path)
        assert quick is not None, f"{label}: a clean file should take the fast path"
        pd.testing.assert_frame_equal(quick, careful(path), check_freq=False, obj=label)
        assert quick.attrs["dropped_rows"] == 0 and quick.attrs["warnings"] == []
        loaded = load_file(path)
        pd.testing.assert_frame_equal(loaded, quick, check_freq=False, obj=label)
        assert loaded.attrs["interval"] in ("5m", "1d")


@pytest.mark.parametrize(
    "edit",
    [
        "empty cell",
        "text cell",
        "inf",
        "negative price",
        "high below low",
        "close above high",
        "negative volume",
        "duplicate timestamp",
        "out of order",
        "bad date",
        "date and time columns",
        "epoch numbers",
    ],
)
def test_anything_unusual_is_left_to_the_careful_path(tmp_path, edit):
    df = bars().reset_index()
    text = df.astype(object)
    if edit == "empty cell":
        text.loc[10, "Close"] = ""
    elif edit == "text cell":
        text.loc[10, "Close"] = "abc"
    elif edit == "inf":
        text.loc[10, "Close"] = "inf"
    elif edit == "negative price":
        text.loc[10, "Low"] = -1.0
    elif edit == "high below low":
        text.loc[10, "High"] = df.loc[10, "Low"] - 1
    elif edit == "close above high":
        text.loc[10, "Close"] = df.loc[10, "High"] + 1
    elif edit == "negative volume":
        text.loc[10, "Volume"] = -5
    elif edit == "duplicate timestamp":
        text.loc[10, "Date"] = df.loc[9, "Date"]
    elif edit == "out of order":
        text.loc[10, "Date"] = df.loc[0, "Date"] - pd.Timedelta(days=1)
    elif edit == "bad date":
        text.loc[10, "Date"] = "2024-13-45"
    elif edit == "date and time columns":
        text.insert(1, "Time", df["Date"].dt.strftime("%H:%M"))
        text["Date"] = df["Date"].dt.strftime("%Y-%m-%d")
    elif edit == "epoch numbers":
        text["Date"] = df["Date"].astype("int64") // 10**9
    path = tmp_path / "edited.csv"
    text.to_csv(path, index=False)
    assert fast(path) is None


def test_most_common_gap_is_exact_whichever_way_it_is_counted() -> None:
    from algotui.feed.files import _most_common

    rng = np.random.default_rng(3)
    cases = [
        np.repeat([60, 3600, 86400], [900, 50, 50]),  # a few gaps: counted from the sample
        rng.integers(1, 5000, 20_000),  # many distinct gaps: sorted
        np.array([120] * 10 + [60] * 10),  # a tie goes to the smaller gap
        np.r_[np.full(1000, 60), np.full(1001, 61)][::-1],  # a near tie
    ]
    for gaps in cases:
        values, counts = np.unique(gaps, return_counts=True)
        assert _most_common(gaps) == values[np.argmax(counts)]
