"""Trend filter + momentum trigger + RSI guard: three indicators agreeing before a trade.

* Trend: the close must be above a slow EMA (drawn over the candles).
* Momentum: the MACD line crossing above its signal line triggers the entry (sub-pane).
* Guard: no entry when RSI is already overbought (sub-pane).

It exits when the MACD line crosses back below its signal line or the close drops below the
EMA, whichever comes first. Entries and exits say which rule fired.

Run it:

    uv run algotui run -s examples/trend_momentum_combo.py
    uv run algotui run -s examples/trend_momentum_combo.py -p trend=100 -p max_rsi=65
    uv run algotui check examples/trend_momentum_combo.py
"""

from algotui import Strategy
from algotui.engine.indicators import crossover, ema, macd, rsi


class TrendMomentum(Strategy):
    """Long on a MACD up-cross above the EMA trend while RSI is not overbought; out on a MACD
    down-cross or a close below the EMA."""

    trend = 50  # EMA period of the trend filter
    fast = 12
    slow = 26
    signal = 9
    rsi_n = 14
    max_rsi = 70.0  # skip entries when RSI is above this

    def init(self):
        close = self.data.Close
        self.ema = self.indicator(ema, close, self.trend, name=f"EMA({self.trend})", overlay=True)
        self.macd, self.signal_line, _ = self.indicator(
            macd,
            close,
            self.fast,
            self.slow,
            self.signal,
            name=("MACD", "MACD signal", "MACD hist"),
            overlay=False,
        )
        self.rsi = self.indicator(
            rsi, close, self.rsi_n, name=f"RSI({self.rsi_n})", overlay=False, levels=(self.max_rsi,)
        )
        # Crosses are computed once, vectorised; next() reads them at the current bar only.
        self.cross_up = crossover(self.macd.values, self.signal_line.values)
        self.cross_down = crossover(self.signal_line.values, self.macd.values)

    def next(self):
        i, price, trend = self.i, self.price, self.ema[-1]
        if trend != trend:
            return  # EMA still warming up
        if self.position.is_long:
            if self.cross_down[i]:
                self.close(reason="MACD crossed below its signal line")
            elif price < trend:
                self.close(reason=f"close {price:.2f} fell below EMA({self.trend}) {trend:.2f}")
        elif not self.orders and self.cross_up[i] and price > trend:
            strength = self.rsi[-1]
            if strength < self.max_rsi:
                self.buy(reason=f"MACD up-cross above EMA({self.trend}), RSI {strength:.0f}")
