"""Where bars come from: the bundled synthetic sample, or a CSV/Parquet file.

Every loader returns the same shape: a ``DatetimeIndex`` named ``"Date"`` (ascending, unique)
and float64 columns Open, High, Low, Close, Volume, with ``attrs`` symbol, source and interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from algotui.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load_source"]

SAMPLE = "sample"


def load_source(source: str, *, clean: bool = False) -> pd.DataFrame:
    """Load bars from ``source``: ``"sample"`` (bundled synthetic data) or a file path.

    Args:
        source: ``"sample"``, or a path to a .csv/.csv.gz/.txt/.parquet/.pq file.
        clean: for files, drop bad rows instead of raising
            (see :func:`algotui.feed.files.load_file`).

    Raises:
        DataError: the source does not exist or its data is invalid.
    """
    # Imported here so that importing algotui.feed (e.g. for --help) does not load pandas.
    if source.strip().lower() == SAMPLE:
        from algotui.feed.sample import load_sample

        return load_sample()
    path = Path(source).expanduser()
    if path.exists():
        from algotui.feed.files import load_file

        return load_file(path, clean=clean)
    # Seam: a later change routes anything that looks like a ticker (e.g. "AAPL", "BTC-USD")
    # to the yfinance loader here, before giving up.
    raise DataError(f"no such file: {source!r} (give 'sample' or a path to a .csv/.parquet file)")
