"""algotui: watch a trading-strategy backtest happen, bar by bar, in your terminal."""

from algotui.engine.strategy import Strategy

__version__ = "0.1.0"
__all__ = ["Strategy", "__version__"]
