"""Trades: one position from entry fill to exit fill."""

from dataclasses import dataclass

from algotui.engine.checks import price_level


@dataclass(slots=True, eq=False)
class Trade:
    """A trade, open until ``exit_bar`` is set.

    ``size`` is always positive (units); ``is_long`` gives the direction. Commissions are in money,
    charged on entry and on exit. ``mfe``/``mae`` are the best and worst unrealised move while the
    trade was open, in percent of the entry price (``mfe >= 0``, ``mae <= 0``).
    """

    trade_id: int
    is_long: bool
    size: float
    entry_bar: int
    entry_price: float
    entry_commission: float = 0.0
    sl: float | None = None
    tp: float | None = None
    entry_reason: str = ""
    exit_bar: int | None = None
    exit_price: float | None = None
    exit_commission: float = 0.0
    exit_reason: str | None = None
    mfe: float = 0.0
    mae: float = 0.0

    @property
    def direction(self) -> str:
        """``"long"`` or ``"short"``."""
        return "long" if self.is_long else "short"

    @property
    def is_open(self) -> bool:
        """True until the trade has an exit fill."""
        return self.exit_bar is None

    @property
    def commission(self) -> float:
        """Entry plus exit commission."""
        return self.entry_commission + self.exit_commission

    def gross_pnl(self, price: float) -> float:
        """Profit before commission if the trade were closed at ``price``."""
        move = price - self.entry_price
        return (move if self.is_long else -move) * self.size

    def pnl_at(self, price: float) -> float:
        """Net profit if closed at ``price`` now (entry commission paid, exit commission not)."""
        return self.gross_pnl(price) - self.entry_commission

    @property
    def pnl(self) -> float:
        """Net profit of a closed trade: gross move times size, less both commissions."""
        assert self.exit_price is not None, "trade is still open"
        return self.gross_pnl(self.exit_price) - self.commission

    @property
    def pnl_percent(self) -> float:
        """Net profit in percent of the entry value (entry price times size)."""
        return self.pnl / (self.entry_price * self.size) * 100.0

    @property
    def bars_held(self) -> int:
        """Bars from the entry bar to the exit bar (0 when both fills fall on one bar)."""
        assert self.exit_bar is not None, "trade is still open"
        return self.exit_bar - self.entry_bar


def _checked_level(name: str) -> property:
    """``trade.sl``/``trade.tp`` as a property: a strategy moving a bracket to a value the
    broker cannot use (text, NaN, a negative price) is refused at the strategy's own line,
    instead of failing inside the broker or silently switching the stop off."""
    slot = Trade.__dict__[name]  # the slot's own descriptor keeps the value

    def get(trade: Trade) -> float | None:
        return slot.__get__(trade, Trade)

    def set_(trade: Trade, value: object) -> None:
        if value is not None and (value.__class__ is not float or not 0 < value < _INF):
            value = price_level(f"trade.{name}", value)
        slot.__set__(trade, value)
        LEVEL_SETS[0] += 1

    what = "stop-loss" if name == "sl" else "take-profit"
    return property(get, set_, doc=f"The {what} price of the trade, or None; settable.")


_INF = float("inf")
#: How many times any trade's stop-loss or take-profit was set: the engine looks for moved
#: levels only on bars after which this changed (one read a bar instead of a scan).
LEVEL_SETS = [0]
Trade.sl = _checked_level("sl")  # type: ignore[assignment]
Trade.tp = _checked_level("tp")  # type: ignore[assignment]
