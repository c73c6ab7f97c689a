"""algotui: watch a trading-strategy backtest happen, bar by bar, in your terminal."""

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["Strategy", "__version__"]

if TYPE_CHECKING:
    from algotui.engine.strategy import Strategy


def __getattr__(name: str) -> Any:
    # Lazy so that `algotui --help` and friends start without numpy: `from algotui import
    # Strategy` still works and loads the strategy API on first use.
    if name == "Strategy":
        from algotui.engine.strategy import Strategy

        return Strategy
    raise AttributeError(f"module 'algotui' has no attribute {name!r}")
