"""algotui: watch a trading-strategy backtest happen, bar by bar, in your terminal."""

__version__ = "0.1.0"
