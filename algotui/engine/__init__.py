"""The backtest engine: pure, synchronous and deterministic; it imports nothing from the UI.

The names below load on first use: the backtest pulls in pandas (~0.3-1.7 s to import), which
commands such as ``algotui strategies`` never need.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from algotui.engine.backtest import Backtest
    from algotui.engine.builtin import BUILTINS
    from algotui.engine.loader import load_strategy
    from algotui.engine.strategy import Strategy
    from algotui.engine.trade import Trade
    from algotui.engine.views import Indicator, LookAheadError

#: Public name -> the module that defines it.
_HOMES = {
    "BUILTINS": "algotui.engine.builtin",
    "Backtest": "algotui.engine.backtest",
    "Indicator": "algotui.engine.views",
    "LookAheadError": "algotui.engine.views",
    "Strategy": "algotui.engine.strategy",
    "Trade": "algotui.engine.trade",
    "load_strategy": "algotui.engine.loader",
}

__all__ = [
    "BUILTINS",
    "Backtest",
    "Indicator",
    "LookAheadError",
    "Strategy",
    "Trade",
    "load_strategy",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'algotui.engine' has no attribute {name!r}")
    return getattr(import_module(home), name)
