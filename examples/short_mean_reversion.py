"""Mean reversion on both sides of the Bollinger bands, with short selling.

Sells short when the close is stretched above the upper band *and* RSI is overbought, and
covers when the price falls back to the middle band (the mean). With ``allow_long`` (on by
default) it also does the mirror image: buys below the lower band with RSI oversold and sells
at the mean. Set ``-p allow_long=false`` for a short-only strategy.

Run it:

    uv run algotui run -s examples/short_mean_reversion.py
    uv run algotui run -s examples/short_mean_reversion.py -p allow_long=false -p k=1.5
    uv run algotui check examples/short_mean_reversion.py
"""

from algotui import Strategy
from algotui.engine.indicators import bollinger, rsi


class BandFade(Strategy):
    """Short above the upper Bollinger band with RSI high (long below the lower band with RSI
    low); cover at the middle band."""

    n = 20  # Bollinger window
    k = 2.0  # band width in standard deviations
    rsi_n = 14
    overbought = 65.0
    oversold = 35.0
    allow_long = True

    def init(self):
        self.upper, self.middle, self.lower = self.indicator(
            bollinger,
            self.data.Close,
            self.n,
            self.k,
            name=("BB upper", "BB middle", "BB lower"),
            overlay=True,
        )
        self.rsi = self.indicator(
            rsi,
            self.data.Close,
            self.rsi_n,
            name=f"RSI({self.rsi_n})",
            overlay=False,
            levels=(self.oversold, self.overbought),
        )

    def next(self):
        price, middle, strength = self.price, self.middle[-1], self.rsi[-1]
        if middle != middle or strength != strength:
            return  # NaN while the indicators warm up
        if self.position.is_short and price <= middle:
            self.close(reason=f"close {price:.2f} back at the mean {middle:.2f}: cover")
        elif self.position.is_long and price >= middle:
            self.close(reason=f"close {price:.2f} back at the mean {middle:.2f}: sell")
        elif not self.position and not self.orders:
            if price > self.upper[-1] and strength > self.overbought:
                self.sell(reason=f"close {price:.2f} above the upper band, RSI {strength:.0f}")
            elif self.allow_long and price < self.lower[-1] and strength < self.oversold:
                self.buy(reason=f"close {price:.2f} below the lower band, RSI {strength:.0f}")
