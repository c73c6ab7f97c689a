"""The account between fills: a ledger of it (equity per bar without a per-bar array) and the
quiet stretches the engine passes in bulk."""

from array import array
from collections.abc import Sequence
from typing import Any

import numpy as np


class QuietStretches:
    """Bars where nothing can happen but equity moving with the close: next() asleep (not a
    wake bar), no order pending, no bracket. They pass in bulk; only the peak of equity
    over them is needed, and it lies at an extreme of the close."""

    def __init__(self, wake: np.ndarray, closes: Sequence[float], n: int) -> None:
        self.wake_bars = [*wake.tolist(), n]
        self.w = 0  # wake_bars[w] is the next wake bar at or after the current bar
        self.closes = closes

    def end(self, i: int, cash: float, units: float, cost: float, stop: int, out: Any) -> int:
        """The bar the quiet stretch from bar ``i`` ends at, going at most to ``stop`` (``i``:
        no stretch); the equity peak over it goes into ``out``."""
        wake_bars = self.wake_bars
        while wake_bars[self.w] < i:
            self.w += 1
        stop = min(wake_bars[self.w], stop)
        if stop <= i:
            return i
        if not units:
            if cash > out.peak:
                out.peak = cash
            return stop
        c = self.closes
        top, bottom = max(c[i:stop]), min(c[i:stop])
        if units < 0:
            top, bottom = bottom, top
        # The same float operations as bar by bar: the extremes of equity are at the
        # extremes of the close.
        if cash + units * bottom - cost > 0:
            high = cash + units * top - cost
            if high > out.peak:
                out.peak = high
            return stop
        return i  # the money runs out in there: bar by bar, to find the bar


class Ledger:
    """The account (cash, signed units, signed cost) from a bar on, noted at each bar whose
    fills changed it: every bar's equity follows from it and the bar's close, so the engine
    never stores equity bar by bar."""

    def __init__(self, cash: float) -> None:
        self.bars = array("q", [0])
        self.cash = array("d", [cash])
        self.units = array("d", [0.0])
        self.cost = array("d", [0.0])

    def note(self, i: int, cash: float, units: float, cost: float) -> None:
        """The account after bar ``i`` (a later note for the same bar replaces it)."""
        if self.bars[-1] == i:
            self.cash[-1], self.units[-1], self.cost[-1] = cash, units, cost
            return
        self.bars.append(i)
        self.cash.append(cash)
        self.units.append(units)
        self.cost.append(cost)

    def curve(self, c: Sequence[float], done: int) -> np.ndarray:
        """Equity at the close of bars ``0..done-1``: ``cash + units * close - cost``, or the
        cash when flat, computed as the engine does bar by bar, in slices of bars."""
        out = np.empty(done)
        closes = np.asarray(c, dtype=float)
        bars = np.frombuffer(self.bars, dtype=np.int64)
        cash, units, cost = (
            np.frombuffer(x, dtype=float) for x in (self.cash, self.units, self.cost)
        )
        step = 1 << 16
        for a in range(0, done, step):
            b = min(a + step, done)
            k0 = int(np.searchsorted(bars, a, side="right")) - 1
            k1 = int(np.searchsorted(bars, b, side="left"))
            starts = np.maximum(bars[k0:k1], a)
            ends = np.append(bars[k0 + 1 : k1], b)
            lengths = ends - starts
            cash_r = np.repeat(cash[k0:k1], lengths)
            units_r = np.repeat(units[k0:k1], lengths)
            cost_r = np.repeat(cost[k0:k1], lengths)
            marked = cash_r + units_r * closes[a:b] - cost_r
            out[a:b] = np.where(units_r == 0, cash_r, marked)
        return out
