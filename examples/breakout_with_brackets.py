"""Donchian breakout with ATR-based stop-loss and take-profit brackets.

Buys when the close breaks above the highest high of the previous ``lookback`` bars. Every
entry carries a bracket: a stop-loss ``stop_atr`` ATRs below the close and a take-profit
``target_atr`` ATRs above it, so the broker closes the trade on whichever is hit first
(exit_reason ``stop_loss`` or ``take_profit``). A close below the lowest low of the last
``exit_lookback`` bars exits early.

Run it:

    uv run algotui run -s examples/breakout_with_brackets.py
    uv run algotui run -s examples/breakout_with_brackets.py -p lookback=30 -p target_atr=4
    uv run algotui check examples/breakout_with_brackets.py
"""

import numpy as np

from algotui import Strategy
from algotui.engine.indicators import atr


def highest(values, n):
    """Highest value of the ``n`` bars before each bar (NaN while warming up)."""
    values = np.asarray(values, dtype=float)
    out = np.full(values.size, np.nan)
    if values.size > n:
        windows = np.lib.stride_tricks.sliding_window_view(values[:-1], n)
        out[n:] = windows.max(axis=1)
    return out


def lowest(values, n):
    """Lowest value of the ``n`` bars before each bar (NaN while warming up)."""
    return -highest(-np.asarray(values, dtype=float), n)


class AtrBreakout(Strategy):
    """Long on a close above the prior N-bar high, with an ATR stop-loss and take-profit."""

    lookback = 20  # bars of the breakout channel
    exit_lookback = 10  # bars of the early-exit channel
    atr_n = 14
    stop_atr = 2.0  # stop-loss distance, in ATRs
    target_atr = 3.0  # take-profit distance, in ATRs

    def init(self):
        high, low = self.data.High, self.data.Low
        self.upper = self.indicator(
            highest, high, self.lookback, name=f"High({self.lookback})", overlay=True
        )
        self.lower = self.indicator(
            lowest, low, self.exit_lookback, name=f"Low({self.exit_lookback})", overlay=True
        )
        self.atr = self.indicator(
            atr, high, low, self.data.Close, self.atr_n, name=f"ATR({self.atr_n})", overlay=False
        )

    def next(self):
        price, upper, risk = self.price, self.upper[-1], self.atr[-1]
        if np.isnan(upper) or np.isnan(risk):
            return  # still warming up
        if self.position.is_long and price < self.lower[-1]:
            self.close(reason=f"close {price:.2f} fell below the {self.exit_lookback}-bar low")
        elif not self.position and not self.orders and price > upper:
            self.buy(
                sl=price - self.stop_atr * risk,
                tp=price + self.target_atr * risk,
                reason=(
                    f"close {price:.2f} broke the {self.lookback}-bar high {upper:.2f}; "
                    f"stop {self.stop_atr:g} ATR, target {self.target_atr:g} ATR"
                ),
            )
