"""One finished run as the store keeps it, built from protocol v1 values alone."""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

#: What a stored run's ``status`` may be.
STATUSES = ("completed", "out_of_money", "failed", "stopped", "ended early")

#: Configuration keys taken from the ``metadata`` event (``initial_balance`` is ``cash``).
CONFIG_KEYS = ("commission", "commission_fixed", "slippage", "fill", "emit_every")


@dataclass
class RunRecord:
    """A run ready to save: what ran, how it ended, its metrics, trades and curves."""

    run_id: str
    created_at: str
    strategy: str
    symbol: str
    interval: str = ""
    source: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    status: str = "completed"
    error: str | None = None
    bars: int = 0
    total_bars: int = 0
    metrics: dict[str, Any] | None = None
    trades: list[dict[str, Any]] = field(default_factory=list)
    equity: list[dict[str, Any]] = field(default_factory=list)
    daily: list[dict[str, Any]] = field(default_factory=list)
    recording: str | None = None
    saved_at: str = field(default_factory=lambda: _now())

    def summary(self) -> dict[str, Any]:
        """The headline numbers kept as columns: from the metrics, or (for a run that did
        not complete) from what it reached: its last equity point and its closed trades."""
        m = self.metrics
        if m is not None:
            return {
                "return_pct": m.get("total_return_pct"),
                "sharpe": m.get("sharpe_ratio"),
                "max_drawdown": m.get("max_drawdown"),
                "trades": m.get("total_trades") or 0,
                "win_rate": m.get("win_rate"),
                "final_equity": m.get("final_equity"),
            }
        cash = self.config.get("cash")
        last = self.equity[-1]["equity"] if self.equity else None
        wins = sum(1 for t in self.trades if (t.get("pnl") or 0) > 0)
        return {
            "return_pct": (last / cash - 1) * 100 if last is not None and cash else None,
            "sharpe": None,
            "max_drawdown": max((p.get("drawdown") or 0.0 for p in self.equity), default=None),
            "trades": len(self.trades),
            "win_rate": wins * 100 / len(self.trades) if self.trades else None,
            "final_equity": last,
        }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def derive_status(
    metrics: dict[str, Any] | None, error: dict[str, Any] | None, given: str | None = None
) -> str:
    """How the run ended: ``given`` if the caller knows, else from its final event."""
    if given:
        if given not in STATUSES:
            raise ValueError(f"status {given!r}: one of {', '.join(STATUSES)}")
        return given
    if error is not None:
        return "stopped" if error.get("message") == "interrupted" else "failed"
    if metrics is not None:
        return "out_of_money" if metrics.get("status") == "out_of_money" else "completed"
    return "ended early"


def daily_stats(
    equity: list[dict[str, Any]], trades: list[dict[str, Any]], initial: float | None
) -> list[dict[str, Any]]:
    """Per calendar day: the last equity seen, the return since the day before (the first day
    against ``initial``) in percent, and the trades closed that day.

    A day with closed trades but no equity point carries the last equity seen before it.
    """
    last: dict[str, float] = {}
    for point in equity:
        stamp = point.get("timestamp")
        if stamp:
            last[stamp[:10]] = float(point["equity"])
    closed: dict[str, int] = {}
    for t in trades:
        stamp = t.get("exit_time")
        if stamp:
            closed[stamp[:10]] = closed.get(stamp[:10], 0) + 1
    days = []
    previous = initial
    for date in sorted(last.keys() | closed.keys()):
        value = last.get(date, previous)
        ret = None
        if value is not None and previous:
            ret = (value / previous - 1) * 100
        days.append(
            {"date": date, "equity": value, "return_pct": ret, "trades": closed.get(date, 0)}
        )
        previous = value
    return days


def build_record(
    meta: dict[str, Any],
    *,
    trades: list[dict[str, Any]],
    equity: list[dict[str, Any]],
    metrics: dict[str, Any] | None,
    error: dict[str, Any] | None,
    bars: int,
    status: str | None = None,
    recording: str | None = None,
    config: dict[str, Any] | None = None,
) -> RunRecord:
    """A :class:`RunRecord` from a run's metadata, closed trades, equity points and end."""
    conf: dict[str, Any] = {"cash": meta.get("initial_balance")}
    conf.update({k: meta[k] for k in CONFIG_KEYS if k in meta})
    conf.update(config or {})
    message = None
    if error is not None:
        message = str(error.get("message") or "")
        details = error.get("details")
        if details and message != "interrupted":
            message = f"{message}\n{details}"
    trades = [_plain_trade(t) for t in trades]
    return RunRecord(
        run_id=str(meta.get("run_id") or ""),
        created_at=str(meta.get("created_at") or _now()),
        strategy=str(meta.get("strategy") or "?"),
        symbol=str(meta.get("symbol") or "?"),
        interval=str(meta.get("interval") or ""),
        source=str(meta.get("source") or ""),
        params=dict(meta.get("params") or {}),
        config=conf,
        status=derive_status(metrics, error, status),
        error=message,
        bars=bars,
        total_bars=int(meta.get("total_bars") or 0),
        metrics=metrics,
        trades=trades,
        equity=equity,
        daily=daily_stats(equity, trades, conf.get("cash")),
        recording=recording,
    )


def _plain_trade(t: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in t.items() if k not in ("type", "seq", "run_id")}
