"""How far a trade went for and against it while open (MFE and MAE), vectorised."""

from typing import Any

import numpy as np


def excursions(entry: float, is_long: bool, high: float, low: float) -> tuple[float, float]:
    """A trade's MFE and MAE, in percent of its entry price, from the highest high and the
    lowest low it lived through."""
    if is_long:
        return max(0.0, (high - entry) / entry * 100.0), min(0.0, (low - entry) / entry * 100.0)
    return max(0.0, (entry - low) / entry * 100.0), min(0.0, (entry - high) / entry * 100.0)


def spans_reduce(ufunc: Any, values: np.ndarray, starts: np.ndarray, stops: np.ndarray) -> Any:
    """``ufunc.reduce(values[a:b + 1])`` for each pair of ``starts`` and ``stops`` (``a <= b``),
    e.g. with ``np.maximum`` the highest value of each span."""
    ends = stops + 1
    tail = ends >= len(values)  # reduceat wants every edge inside the array: these go alone
    edges = np.empty(2 * len(starts), dtype=np.int64)
    edges[0::2] = starts
    edges[1::2] = np.where(tail, starts, ends)
    out = ufunc.reduceat(values, edges)[0::2]
    for k in np.flatnonzero(tail):
        out[k] = ufunc.reduce(values[starts[k] :])
    return out
