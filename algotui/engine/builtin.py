"""Built-in strategies, chosen with ``--strategy NAME``."""

import numpy as np

from algotui.engine.indicators import bollinger, crossover, macd, rsi, sma
from algotui.engine.strategy import Strategy
from algotui.errors import StrategyError


def _periods(strategy: Strategy, *names: str) -> None:
    """Refuse periods below 1 (and a fast period not shorter than the slow one)."""
    for name in names:
        if getattr(strategy, name) < 1:
            raise StrategyError(f"-p {name}={getattr(strategy, name)}: a period must be at least 1")
    if {"fast", "slow"} <= set(names) and strategy.fast >= strategy.slow:
        raise StrategyError(
            f"-p fast={strategy.fast} slow={strategy.slow}: fast must be shorter than slow"
        )


def _levels(strategy: Strategy, *names: str) -> None:
    """Refuse RSI levels outside 0..100 or out of order (``names`` from low to high)."""
    values = [getattr(strategy, name) for name in names]
    shown = " ".join(f"{n}={v:g}" for n, v in zip(names, values, strict=True))
    if not all(0 < v < 100 for v in values):
        raise StrategyError(f"-p {shown}: RSI levels lie between 0 and 100")
    if any(a >= b for a, b in zip(values, values[1:], strict=False)):
        raise StrategyError(f"-p {shown}: need {' < '.join(names)}")


def _crosses(a: np.ndarray, b: np.ndarray) -> bytes:
    """1 where ``a`` crosses above ``b`` (strictly, as backtesting.py does), as fast bytes."""
    return crossover(a, b, strict=True).astype(np.uint8).tobytes()


def _either(a: bytes, b: bytes) -> np.ndarray:
    """The bars where either crossing happens: the only bars a crossing strategy acts on."""
    return (np.frombuffer(a, dtype=np.uint8) | np.frombuffer(b, dtype=np.uint8)).astype(bool)


class SmaCross(Strategy):
    """Trend following: long when the fast SMA crosses above the slow SMA, out when it crosses
    back below; with allow_short, each cross reverses the position."""

    name = "sma_cross"
    fast = 10
    slow = 20
    allow_short = False

    def validate(self) -> None:
        _periods(self, "fast", "slow")

    def init(self) -> None:
        close = self.data.Close
        f, s = f"SMA({self.fast})", f"SMA({self.slow})"
        fast = self.indicator(sma, close, self.fast, name=f, overlay=True)
        slow = self.indicator(sma, close, self.slow, name=s, overlay=True)
        self._up = _crosses(fast.values, slow.values)
        self._down = _crosses(slow.values, fast.values)
        self.wake_on(_either(self._up, self._down))
        self._why_up = f"{f} crossed above {s}"
        self._why_down = f"{f} crossed below {s}"

    def next(self) -> None:
        i = self._clock[0] - 1
        if self._up[i]:
            self.buy(reason=self._why_up)
        elif self._down[i]:
            if self.allow_short:
                self.sell(reason=self._why_down)
            else:
                self.close(reason=self._why_down)


class RsiReversion(Strategy):
    """Mean reversion: buy when RSI drops below `lower`, sell when it recovers above `exit`;
    with allow_short, also short above `upper` and cover below `exit`."""

    name = "rsi_reversion"
    n = 14
    lower = 30.0
    upper = 70.0
    exit = 50.0
    allow_short = False

    def validate(self) -> None:
        _periods(self, "n")
        _levels(self, "lower", "exit", "upper")

    def init(self) -> None:
        self.rsi = self.indicator(
            rsi,
            self.data.Close,
            self.n,
            name=f"RSI({self.n})",
            overlay=False,
            levels=(self.lower, self.exit, self.upper),
        )

    def next(self) -> None:
        value = self.rsi[-1]
        if value != value:
            return
        size = self.position.size
        if size > 0 and value > self.exit:
            self.close(reason=f"RSI {value:.1f} back above {self.exit:g}")
        elif size < 0 and value < self.exit:
            self.close(reason=f"RSI {value:.1f} back below {self.exit:g}")
        elif size == 0 and not self.orders:
            if value < self.lower:
                self.buy(reason=f"RSI {value:.1f} below {self.lower:g} (oversold)")
            elif self.allow_short and value > self.upper:
                self.sell(reason=f"RSI {value:.1f} above {self.upper:g} (overbought)")


class MacdCross(Strategy):
    """Momentum: long when the MACD line crosses above its signal line, out (or short, with
    allow_short) when it crosses below."""

    name = "macd_cross"
    fast = 12
    slow = 26
    signal = 9
    allow_short = False

    def validate(self) -> None:
        _periods(self, "fast", "slow", "signal")

    def init(self) -> None:
        line, sig, hist = self.indicator(
            macd,
            self.data.Close,
            self.fast,
            self.slow,
            self.signal,
            name=("MACD", "MACD signal", "MACD hist"),
            overlay=False,
        )
        self._up = _crosses(line.values, sig.values)
        self._down = _crosses(sig.values, line.values)
        self.wake_on(_either(self._up, self._down))

    def next(self) -> None:
        i = self._clock[0] - 1
        if self._up[i]:
            self.buy(reason="MACD crossed above its signal line")
        elif self._down[i]:
            if self.allow_short:
                self.sell(reason="MACD crossed below its signal line")
            else:
                self.close(reason="MACD crossed below its signal line")


class BollingerBreakout(Strategy):
    """Breakout: long when the close breaks above the upper Bollinger band, out when it falls
    back below the middle band; with allow_short, the mirror image below the lower band."""

    name = "bollinger_breakout"
    n = 20
    k = 2.0
    allow_short = False

    def validate(self) -> None:
        _periods(self, "n")
        if not self.k > 0:
            raise StrategyError(
                f"-p k={self.k:g}: the band width in standard deviations is above 0"
            )

    def init(self) -> None:
        self.upper, self.middle, self.lower = self.indicator(
            bollinger,
            self.data.Close,
            self.n,
            self.k,
            name=("BB upper", "BB middle", "BB lower"),
            overlay=True,
        )

    def next(self) -> None:
        close = self.price
        upper, middle, lower = self.upper[-1], self.middle[-1], self.lower[-1]
        if middle != middle:
            return
        size = self.position.size
        if size > 0 and close < middle:
            self.close(reason=f"close {close:g} fell below the middle band")
        elif size < 0 and close > middle:
            self.close(reason=f"close {close:g} rose above the middle band")
        elif size == 0 and not self.orders:
            if close > upper:
                self.buy(reason=f"close {close:g} broke above the upper band")
            elif self.allow_short and close < lower:
                self.sell(reason=f"close {close:g} broke below the lower band")


class BuyAndHold(Strategy):
    """Benchmark: buy on the first bar and hold to the end."""

    name = "buy_and_hold"

    def next(self) -> None:
        if not self.position and not self.orders and not self.closed_trades:
            self.buy(reason="buy and hold")


BUILTINS: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (SmaCross, RsiReversion, MacdCross, BollingerBreakout, BuyAndHold)
}
