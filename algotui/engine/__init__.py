"""The backtest engine: pure, synchronous and deterministic; it imports nothing from the UI."""

from algotui.engine.backtest import Backtest
from algotui.engine.builtin import BUILTINS
from algotui.engine.loader import load_strategy
from algotui.engine.strategy import Indicator, LookAheadError, Strategy
from algotui.engine.trade import Trade

__all__ = [
    "BUILTINS",
    "Backtest",
    "Indicator",
    "LookAheadError",
    "Strategy",
    "Trade",
    "load_strategy",
]
