"""The bundled SAMPLE data set: synthetic daily bars, so algotui works offline out of the box.

**This data is synthetic. It is not a real market, symbol or price history**, and nothing
learned from backtesting it says anything about real markets.

How it is generated (see :func:`generate`):

* one bar per business day (Mon-Fri, no holidays) from 2022-01-03 to 2024-12-31, ~780 bars;
* the close follows a geometric random walk from 100 driven by numpy's ``default_rng`` with
  the fixed seed :data:`SEED`, so every run produces the same numbers;
* the walk passes through a fixed sequence of regimes (:data:`REGIMES`): steady up and down
  trends, quiet ranges that are pulled back towards their starting level (mean reversion),
  and one volatile, choppy phase, so that both trend-following and mean-reversion strategies
  find trades;
* each open gaps a little from the previous close; highs and lows extend a random amount
  beyond the open/close so that ``low <= min(open, close) <= max(open, close) <= high``;
  prices are rounded to cents;
* volume is an integer number of shares, larger on big moves and in volatile regimes.

The generated frame is shipped as ``algotui/data/sample.csv``; :func:`load_sample` reads that
file. Regenerate it after changing the generator with::

    uv run python -m algotui.feed.sample
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

SEED = 20220226
"""Seed for ``numpy.random.default_rng``; changing it changes the shipped data.

Picked (from a small scan) so that each trend regime visibly trends and each range stays
roughly flat; any seed gives valid bars.
"""

START = "2022-01-03"
END = "2024-12-31"
START_PRICE = 100.0
COLUMNS = ["Open", "High", "Low", "Close", "Volume"]
CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "sample.csv"


class Regime(NamedTuple):
    """One phase of the random walk (all rates are per bar, in log terms)."""

    name: str
    bars: int
    """Length in bars; the last regime runs to the end of the date range."""
    drift: float
    """Mean log return per bar."""
    vol: float
    """Standard deviation of the log return per bar."""
    reversion: float
    """Pull (0..1 per bar) back towards the log price the regime started at; 0 = pure walk."""


REGIMES: tuple[Regime, ...] = (
    Regime("steady uptrend", 130, 0.0016, 0.011, 0.0),
    Regime("quiet range", 110, 0.0, 0.012, 0.06),
    Regime("downtrend", 120, -0.0020, 0.016, 0.0),
    Regime("volatile chop", 90, 0.0, 0.030, 0.04),
    Regime("recovery uptrend", 160, 0.0018, 0.012, 0.0),
    Regime("tight range", 100, 0.0, 0.010, 0.08),
    Regime("late selloff", 0, -0.0015, 0.018, 0.0),
)


def _regime_arrays(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per-bar drift, vol, reversion and a flag marking the first bar of each regime."""
    drift = np.empty(n)
    vol = np.empty(n)
    reversion = np.empty(n)
    starts = np.zeros(n, dtype=bool)
    pos = 0
    for i, regime in enumerate(REGIMES):
        last = i == len(REGIMES) - 1
        end = n if last else min(n, pos + regime.bars)
        drift[pos:end] = regime.drift
        vol[pos:end] = regime.vol
        reversion[pos:end] = regime.reversion
        if pos < n:
            starts[pos] = True
        pos = end
    return drift, vol, reversion, starts


def generate() -> pd.DataFrame:
    """Generate the synthetic SAMPLE bars (deterministic: same seed, same frame).

    Returns:
        A frame indexed by a ``DatetimeIndex`` named ``"Date"`` (business days), with float64
        columns Open, High, Low, Close (rounded to 2 decimals) and Volume (whole numbers).
    """
    dates = pd.bdate_range(START, END)
    n = len(dates)
    rng = np.random.default_rng(SEED)
    drift, vol, reversion, starts = _regime_arrays(n)

    shocks = rng.standard_normal(n)
    gaps = rng.standard_normal(n) * 0.3 * vol
    upper = np.abs(rng.standard_normal(n)) * 0.6 * vol
    lower = np.abs(rng.standard_normal(n)) * 0.6 * vol
    volume_noise = rng.normal(0.0, 0.25, n)

    log_close = np.empty(n)
    log_open = np.empty(n)
    prev = np.log(START_PRICE)
    anchor = prev
    for i in range(n):
        if starts[i]:
            anchor = prev
        step = drift[i] + reversion[i] * (anchor - prev) + vol[i] * shocks[i]
        log_open[i] = prev + gaps[i]
        log_close[i] = prev + step
        prev = log_close[i]

    open_ = np.round(np.exp(log_open), 2)
    close = np.round(np.exp(log_close), 2)
    high = np.round(np.maximum(open_, close) * np.exp(upper), 2)
    low = np.round(np.minimum(open_, close) * np.exp(-lower), 2)
    # Rounding can undo the inequalities by a cent; restore them.
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))

    returns = np.abs(np.diff(log_close, prepend=np.log(START_PRICE)))
    volume = np.round(1_000_000 * np.exp(volume_noise) * (1 + 25 * returns) * np.sqrt(vol / 0.012))

    frame = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume},
        index=pd.DatetimeIndex(dates.values.astype("datetime64[ns]"), name="Date"),
    ).astype("float64")
    frame.attrs.update(symbol="SAMPLE", source="sample", interval="1d")
    return frame


def write_csv(frame: pd.DataFrame, path: Path = CSV_PATH) -> Path:
    """Write ``frame`` as the shipped CSV (Date as YYYY-MM-DD, cents, whole-number volume)."""
    out = frame.copy()
    out["Volume"] = out["Volume"].astype("int64")
    path.parent.mkdir(parents=True, exist_ok=True)
    out.to_csv(path, index_label="Date", date_format="%Y-%m-%d", float_format="%.2f")
    return path


def load_sample() -> pd.DataFrame:
    """Read the shipped ``algotui/data/sample.csv`` (synthetic data, see the module docstring).

    Returns:
        The same shape as :func:`generate`, with ``attrs`` symbol="SAMPLE", source="sample",
        interval="1d".
    """
    ref = resources.files("algotui") / "data" / "sample.csv"
    with ref.open("r", encoding="utf-8") as fh:
        frame = pd.read_csv(fh, index_col="Date", parse_dates=["Date"])
    frame = frame[COLUMNS].astype("float64")
    frame.index = pd.DatetimeIndex(frame.index.astype("datetime64[ns]"), name="Date")
    frame.attrs.update(symbol="SAMPLE", source="sample", interval="1d")
    return frame


if __name__ == "__main__":
    written = write_csv(generate())
    print(f"wrote {written}")
