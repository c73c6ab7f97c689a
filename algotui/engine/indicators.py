"""Vectorised technical indicators on 1-D float arrays (numpy only).

Every indicator accepts anything ``np.asarray(x, dtype=float)`` understands (numpy arrays, pandas
Series, lists) and returns a new float64 array of the same length, with NaN for the warm-up bars.
Conventions follow TA-Lib: recursive filters (EMA, Wilder smoothing) are seeded with the simple
mean of their first ``n`` inputs, and start after any leading NaNs in the input, so indicators of
indicators work. A NaN after that start propagates to every later value of a recursive filter.
"""

import math
import operator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["atr", "bollinger", "crossover", "ema", "macd", "rsi", "sma"]

FloatArray = NDArray[np.float64]

# Rows of windows processed at once by the rolling standard deviation, to bound memory.
_STD_CHUNK = 1 << 15


def _as_1d(values: ArrayLike, name: str = "values") -> FloatArray:
    """Convert ``values`` to a 1-D float64 array, rejecting other shapes."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def _check_period(n: int, name: str = "n") -> int:
    """Return ``n`` as an int, raising unless it is an integer >= 1."""
    if isinstance(n, bool):
        raise TypeError(f"{name} must be an integer, got {n!r}")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {n!r}") from None
    if n < 1:
        raise ValueError(f"{name} must be >= 1, got {n}")
    return n


def _rolling_sum(x: FloatArray, n: int) -> FloatArray:
    """Sum of each full window ``x[i-n+1 : i+1]``, NaN for the first ``n-1`` bars.

    Uses block prefix/suffix sums (van Herk / Gil-Werman): the array is cut into blocks of ``n``
    bars, and every window is the suffix of one block plus the prefix of the next. Each sum then
    adds at most ``n`` terms, so the rounding error is that of a direct window sum (no drift on
    long series as with a global ``cumsum``), in O(len(x)) vectorised work. NaN and inf inside a
    window propagate exactly as in a direct sum.
    """
    size = x.size
    if size < n:
        return np.full(size, np.nan)
    blocks = -(-size // n)
    grid = np.zeros((blocks, n))
    grid.reshape(-1)[:size] = x
    prefix = np.cumsum(grid, axis=1)  # prefix[b, r]: x[b*n] + ... + x[b*n + r]
    suffix = np.cumsum(grid[:, ::-1], axis=1)[
        :, ::-1
    ]  # suffix[b, r]: x[b*n + r] + ... to block end
    del grid
    # The window starting at b*n + r ends at b*n + r + n - 1: the suffix of block b from r,
    # plus the prefix of block b + 1 up to r - 1 (nothing when r = 0). Its sum lands at
    # out[b*n + r + n - 1]: the windows laid out as a (blocks, n) grid, shifted by n - 1.
    out = np.empty(n - 1 + blocks * n)
    out[: n - 1] = np.nan
    windows = out[n - 1 :].reshape(blocks, n)
    np.add(suffix[:, 0], 0.0, out=windows[:, 0])  # whole blocks (+ 0.0, as a sum starts)
    np.add(suffix[:-1, 1:], prefix[1:, :-1], out=windows[:-1, 1:])
    return out[:size]


def _first_valid(x: FloatArray) -> int | None:
    """Index of the first non-NaN value of ``x``, or None if there is none."""
    valid = np.flatnonzero(~np.isnan(x))
    return int(valid[0]) if valid.size else None


def _recursive_smooth(x: FloatArray, n: int, alpha: float) -> FloatArray:
    """``y = alpha*x + (1-alpha)*y_prev``, seeded with the mean of the first ``n`` valid values.

    Starts after the leading NaNs of ``x``; the seed lands on the ``n``-th value from there and
    everything before it is NaN. All NaN if fewer than ``n`` values follow the leading NaNs.
    """
    out = np.full(x.size, np.nan)
    start = _first_valid(x)
    if start is None or x.size - start < n:
        return out
    seed_at = start + n - 1
    prev = float(np.mean(x[start : seed_at + 1]))
    out[seed_at] = prev
    beta = 1.0 - alpha
    # A comprehension over a Python list is the fastest pure-Python recursive filter.
    out[seed_at + 1 :] = [prev := alpha * v + beta * prev for v in x[seed_at + 1 :].tolist()]
    return out


def sma(values: ArrayLike, n: int) -> FloatArray:
    """Simple moving average over ``n`` bars; the first ``n-1`` values are NaN."""
    n = _check_period(n)
    out = _rolling_sum(_as_1d(values), n)
    out /= n
    return out


def ema(values: ArrayLike, n: int) -> FloatArray:
    """Exponential moving average, alpha = 2/(n+1), seeded with the SMA of the first ``n`` values.

    The first ``n-1`` values (counted after any leading NaNs of the input) are NaN.
    """
    n = _check_period(n)
    return _recursive_smooth(_as_1d(values), n, 2.0 / (n + 1))


def _wilder(values: FloatArray, n: int) -> FloatArray:
    """Wilder smoothing (alpha = 1/n) seeded with the simple mean of the first ``n`` values."""
    return _recursive_smooth(values, n, 1.0 / n)


def rsi(values: ArrayLike, n: int = 14) -> FloatArray:
    """Wilder's relative strength index (0-100); the first ``n`` values are NaN.

    The first average gain/loss is the simple mean of the first ``n`` price changes, later ones use
    Wilder smoothing. The RSI is 100 whenever the average loss is 0 (including a flat series).
    """
    n = _check_period(n)
    x = _as_1d(values)
    out = np.full(x.size, np.nan)
    if x.size < 2:
        return out
    change = np.diff(x)
    # np.maximum propagates NaN, so leading NaNs of the input stay leading NaNs here.
    avg_gain = _wilder(np.maximum(change, 0.0), n)
    avg_loss = _wilder(np.maximum(-change, 0.0), n)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 * avg_gain / (avg_gain + avg_loss)
    out[1:] = np.where(avg_loss == 0.0, 100.0, value)
    return out


def macd(
    values: ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """MACD as ``(macd_line, signal_line, histogram)``.

    ``macd_line = ema(values, fast) - ema(values, slow)``; the signal line is the EMA of the MACD
    line (starting after its leading NaNs) and the histogram is their difference.
    """
    fast = _check_period(fast, "fast")
    slow = _check_period(slow, "slow")
    signal = _check_period(signal, "signal")
    x = _as_1d(values)
    line = ema(x, fast) - ema(x, slow)
    signal_line = ema(line, signal)
    return line, signal_line, line - signal_line


def bollinger(
    values: ArrayLike, n: int = 20, k: float = 2.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Bollinger bands ``(upper, middle, lower)``: SMA +/- ``k`` population (ddof=0) std devs."""
    n = _check_period(n)
    x = _as_1d(values)
    middle = _rolling_sum(x, n) / n
    std = np.full(x.size, np.nan)
    if x.size >= n:
        # Two-pass variance around the window mean: accurate even for low-volatility windows,
        # where sum(x**2)/n - mean**2 would lose most of its digits to cancellation.
        windows = np.lib.stride_tricks.sliding_window_view(x, n)
        means = middle[n - 1 :]
        for lo in range(0, windows.shape[0], _STD_CHUNK):
            hi = lo + _STD_CHUNK
            dev = windows[lo:hi] - means[lo:hi, None]
            std[n - 1 + lo : n - 1 + lo + dev.shape[0]] = np.sqrt(np.mean(dev * dev, axis=1))
    width = k * std
    return middle + width, middle, middle - width


def atr(high: ArrayLike, low: ArrayLike, close: ArrayLike, n: int = 14) -> FloatArray:
    """Wilder's average true range; the first ``n`` values are NaN.

    True range ``TR[i] = max(high-low, |high-prev_close|, |low-prev_close|)`` for ``i >= 1``. The
    first ATR (index ``n``) is the simple mean of ``TR[1..n]``, later ones use Wilder smoothing.
    """
    n = _check_period(n)
    h = _as_1d(high, "high")
    lo = _as_1d(low, "low")
    c = _as_1d(close, "close")
    if not h.size == lo.size == c.size:
        raise ValueError(
            f"high, low and close must have the same length, got {h.size}, {lo.size}, {c.size}"
        )
    tr = np.full(h.size, np.nan)
    if h.size >= 2:
        prev_close = c[:-1]
        tr[1:] = np.maximum.reduce(
            [h[1:] - lo[1:], np.abs(h[1:] - prev_close), np.abs(lo[1:] - prev_close)]
        )
    return _wilder(tr, n)


def crossover(a: ArrayLike, b: ArrayLike, *, strict: bool = False) -> Any:
    """True where ``a`` crosses above ``b``: ``a[i] > b[i]`` and ``a[i-1] <= b[i-1]``.

    With ``strict=True`` the previous bar must be strictly below (``a[i-1] < b[i-1]``), as
    backtesting.py's ``crossover`` has it: a touch followed by a rise is then not a cross.
    Either argument may be a scalar (broadcast). False at ``i = 0`` and wherever a NaN is involved.

    Two forms, chosen by what is passed:

    * arrays, or a strategy's indicators inside ``init()``: a boolean array over the whole
      history (for ``wake_on`` and vectorised rules);
    * a strategy's indicators inside ``next()`` (``if crossover(self.fast, self.slow):``, the
      backtesting.py idiom): one ``bool``, for the current bar; the same value as the last
      element of the array form.
    """
    if _live(a) or _live(b):
        return _crossed_now(a, b, strict)
    x, y = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    if x.ndim != 1:
        raise ValueError(f"crossover needs one-dimensional series, got shape {x.shape}")
    out = np.zeros(x.size, dtype=bool)
    before = x[:-1] < y[:-1] if strict else x[:-1] <= y[:-1]
    out[1:] = (x[1:] > y[1:]) & before
    return out


def _live(x: object) -> bool:
    """True for an indicator seen from inside ``next()`` (see ``Indicator.live``)."""
    return getattr(x, "live", False) is True


def _crossed_now(a: object, b: object, strict: bool) -> bool:
    """Whether ``a`` crossed above ``b`` on the current bar (the last two values)."""

    def last_two(x: object) -> tuple[float, float]:
        if isinstance(x, int | float | np.number):
            return float(x), float(x)
        values = x.values if hasattr(x, "values") else np.asarray(x, dtype=float)
        if len(values) < 2:
            return math.nan, math.nan
        return float(values[-2]), float(values[-1])

    (a0, a1), (b0, b1) = last_two(a), last_two(b)
    before = a0 < b0 if strict else a0 <= b0
    return bool(a1 > b1 and before)  # False when any of them is NaN
