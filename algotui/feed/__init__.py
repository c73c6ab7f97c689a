"""Where bars come from: the bundled synthetic sample, a CSV/Parquet file, or Yahoo Finance.

Every loader returns the same shape: a ``DatetimeIndex`` named ``"Date"`` (ascending, unique)
and float64 columns Open, High, Low, Close, Volume, with ``attrs`` symbol, source and interval.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from algotui.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["load_source"]

SAMPLE = "sample"


def load_source(
    source: str,
    *,
    clean: bool = False,
    period: str | None = None,
    interval: str = "1d",
    start: str | None = None,
    end: str | None = None,
    refresh: bool = False,
    use_cache: bool = True,
    notify: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Load bars from ``source``: ``"sample"``, a file path, or a Yahoo Finance ticker.

    Args:
        source: ``"sample"``, a path to a .csv/.csv.gz/.txt/.parquet/.pq file, or a ticker
            such as ``AAPL``, ``BTC-USD`` or ``EURUSD=X``.
        clean: for files, drop bad rows instead of raising
            (see :func:`algotui.feed.files.load_file`).
        period, interval, start, end: the Yahoo request (see :mod:`algotui.feed.yahoo`).
        refresh: download again even when a cached copy exists.
        use_cache: read and write the on-disk cache.
        notify: called with one-line notes (cached data used, its age).

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
    from algotui.feed.yahoo import load_ticker, looks_like_ticker

    if looks_like_ticker(source):
        return load_ticker(
            source,
            period=period,
            interval=interval,
            start=start,
            end=end,
            refresh=refresh,
            use_cache=use_cache,
            notify=notify,
        )
    raise DataError(
        f"no such file: {source!r} (give 'sample', a .csv/.parquet file, or a ticker like AAPL)"
    )
