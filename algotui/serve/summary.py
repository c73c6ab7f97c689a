"""What a session has shown so far, folded from its protocol v1 events.

Every protocol the server speaks reports the same facts (progress, equity, open trades, recent
signals and trades, counts, metrics) in its own words; :class:`RunSummary` keeps them once,
from the events viewers have seen, so the seed layers only rename.
"""

from __future__ import annotations

from collections import deque
from typing import Any

RECENT = 50


class RunSummary:
    """Folds protocol v1 event dicts (``apply``) into the state a dashboard shows."""

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.total_bars = 0
        self.bars = 0
        self.progress = 0.0
        self.time: str | None = None  # the timestamp of the last bar shown
        self.stats: dict[str, Any] = {}
        self.equity: float | None = None
        self.cash: float | None = None
        self.peak: float | None = None
        self.drawdown_pct = 0.0
        self.max_drawdown_pct = 0.0
        self.equity_points: list[tuple[str, float]] = []
        self.open_trades: dict[Any, dict[str, Any]] = {}
        self.signals: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.trades: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.gross_win = 0.0
        self.gross_loss = 0.0
        self.metrics: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.last_seq = -1

    @property
    def initial(self) -> float:
        """The starting cash."""
        return float(self.meta.get("initial_balance") or 0.0)

    @property
    def realized(self) -> float:
        """Profit and loss of the closed trades."""
        return float(self.stats.get("pnl") or 0.0)

    def apply(self, events: list[dict[str, Any]]) -> None:
        """Fold ``events`` (in order) into the summary."""
        for e in events:
            self.last_seq = e.get("seq", self.last_seq)
            kind = e["type"]
            if kind == "candle":
                self.bars = e["bar_number"]
                self.progress = e["progress"]
                self.time = e["timestamp"]
            elif kind == "signal":
                self.signals.append(e)
                if e["action"] == "ENTRY":
                    self.open_trades[e["trade_id"]] = {
                        "trade_id": e["trade_id"],
                        "direction": e.get("direction")
                        or ("long" if e["side"] == "BUY" else "short"),
                        "entry_time": e["timestamp"],
                        "entry_price": e["price"],
                        "size": e["size"],
                        "stop_loss": e.get("stop_loss"),
                        "take_profit": e.get("take_profit"),
                        "reason": e.get("reason"),
                    }
            elif kind == "trade":
                self.open_trades.pop(e["trade_id"], None)
                self.trades.append(e)
                pnl = e.get("pnl") or 0.0
                if pnl > 0:
                    self.gross_win += pnl
                else:
                    self.gross_loss -= pnl
            elif kind == "stats":
                self.stats = e
            elif kind == "equity":
                self.equity = e["equity"]
                self.cash = e.get("cash")
                self.peak = e["equity"] if self.peak is None else max(self.peak, e["equity"])
                self.drawdown_pct = e.get("drawdown") or 0.0
                self.max_drawdown_pct = max(self.max_drawdown_pct, self.drawdown_pct)
                self.equity_points.append((e["timestamp"], e["equity"]))
            elif kind == "metadata":
                self.meta = e
                self.total_bars = e.get("total_bars", 0)
                self.equity = self.peak = self.initial
            elif kind == "complete":
                self.metrics = e.get("metrics")
                if self.metrics:
                    self.equity = self.metrics.get("final_equity", self.equity)
                    self.peak = self.metrics.get("peak_equity", self.peak)
            elif kind == "error":
                self.error = e

    def profit_factor(self) -> float | None:
        """Gross profit over gross loss of the closed trades (None before any loss)."""
        return self.gross_win / self.gross_loss if self.gross_loss > 0 else None

    def curve(self, limit: int = 500) -> list[dict[str, Any]]:
        """The equity curve shown so far, thinned to at most ``limit`` points (last kept)."""
        points = self.equity_points
        step = max(1, -(-len(points) // limit))
        picked = points[::step]
        if points and picked[-1] is not points[-1]:
            picked.append(points[-1])
        return [{"timestamp": t, "equity": eq} for t, eq in picked]

    def to_dict(self) -> dict[str, Any]:
        """Our own API's view of it (GET /api/sessions/{id})."""
        return {
            "bars": self.bars,
            "total_bars": self.total_bars,
            "progress": self.progress,
            "time": self.time,
            "equity": self.equity,
            "stats": {k: v for k, v in self.stats.items() if k not in ("type", "seq", "run_id")},
            "open_trades": list(self.open_trades.values()),
            "recent_signals": [_plain(s) for s in list(self.signals)[-20:]],
            "recent_trades": [_plain(t) for t in list(self.trades)[-20:]],
            "metrics": self.metrics,
            "error": _plain(self.error) if self.error else None,
        }


def _plain(event: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in event.items() if k not in ("seq", "run_id")}
