"""Runs side by side: which metric rows to show, which value is best, and the equity overlay."""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from algotui.format import money, num, pct

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


#: One colour (terminal palette names) and one plain marker per overlaid curve, in turn.
CURVE_COLORS = ("cyan", "magenta", "yellow", "green", "red", "blue")
CURVE_MARKERS = ("braille", "x", "o", "+", "*", ".")


def _int(x: Any) -> str:
    return "-" if x is None else f"{int(x):,}"


@dataclass(frozen=True)
class MetricRow:
    """One row of a comparison: a metric key, how to show it, and which way is better."""

    label: str
    key: str
    fmt: Callable[[Any], str]
    better: str | None  # "high", "low", or None (nothing to mark)


#: The metrics compared, in order. ``better`` says which end of a row gets the mark.
METRIC_ROWS: tuple[MetricRow, ...] = (
    MetricRow("Return", "total_return_pct", pct, "high"),
    MetricRow("CAGR", "cagr_pct", pct, "high"),
    MetricRow("Final equity", "final_equity", money, "high"),
    MetricRow("Net profit", "net_profit", money, "high"),
    MetricRow("Sharpe", "sharpe_ratio", num, "high"),
    MetricRow("Sortino", "sortino_ratio", num, "high"),
    MetricRow("Calmar", "calmar_ratio", num, "high"),
    MetricRow("Max drawdown", "max_drawdown", pct, "low"),
    MetricRow("Max DD duration (bars)", "max_drawdown_duration_bars", _int, "low"),
    MetricRow("Avg drawdown", "avg_drawdown", pct, "low"),
    MetricRow("Trades", "total_trades", _int, None),
    MetricRow("Win rate", "win_rate", pct, "high"),
    MetricRow("Profit factor", "profit_factor", num, "high"),
    MetricRow("Expectancy", "expectancy", money, "high"),
    MetricRow("Avg trade", "avg_trade_pct", pct, "high"),
    MetricRow("Largest loss", "largest_loss", money, "high"),
    MetricRow("SQN", "sqn", num, "high"),
    MetricRow("Exposure", "exposure_pct", pct, None),
    MetricRow("Commissions", "total_commissions", money, "low"),
    MetricRow("Buy & hold", "buy_and_hold_return_pct", pct, None),
)

#: Rows that say what each run was, above the metrics.
HEADER_ROWS = ("strategy", "symbol", "interval", "params", "bars", "status", "created")


def best_indexes(values: Sequence[Any], better: str | None) -> set[int]:
    """Which columns hold the best value of a row (all of them on a tie; none if unmarked)."""
    if better is None:
        return set()
    numbers = [(i, float(v)) for i, v in enumerate(values) if isinstance(v, int | float)]
    if len(numbers) < 2:
        return set()
    pick = max if better == "high" else min
    target = pick(v for _, v in numbers)
    if all(v == target for _, v in numbers):
        return set()  # every run equal: nothing stands out
    return {i for i, v in numbers if v == target}


def metric_value(run: dict[str, Any], key: str) -> Any:
    """A run's metric, from its complete event or (if it never completed) its summary."""
    metrics = run.get("metrics")
    if metrics is not None:
        return metrics.get(key)
    fallback = {
        "total_return_pct": "return_pct",
        "final_equity": "final_equity",
        "max_drawdown": "max_drawdown",
        "total_trades": "trades",
        "win_rate": "win_rate",
    }
    return run.get(fallback[key]) if key in fallback else None


def header_cells(run: dict[str, Any]) -> dict[str, str]:
    """What a run was, one short text per :data:`HEADER_ROWS` entry."""
    params = " ".join(f"{k}={v}" for k, v in (run.get("params") or {}).items())
    bars = f"{run.get('bars', 0):,}"
    if run.get("total_bars") and run.get("bars") != run.get("total_bars"):
        bars += f" of {run['total_bars']:,}"
    return {
        "strategy": str(run.get("strategy", "")),
        "symbol": str(run.get("symbol", "")),
        "interval": str(run.get("interval", "")),
        "params": params or "-",
        "bars": bars,
        "status": str(run.get("status", "")),
        "created": str(run.get("created_at", ""))[:16].replace("T", " "),
    }


def comparison(runs: Sequence[dict[str, Any]]) -> list[tuple[str, list[str], set[int]]]:
    """The rows of a comparison: (label, one text per run, columns holding the best)."""
    rows: list[tuple[str, list[str], set[int]]] = []
    heads = [header_cells(r) for r in runs]
    for key in HEADER_ROWS:
        rows.append((key.capitalize(), [h[key] for h in heads], set()))
    for row in METRIC_ROWS:
        values = [metric_value(r, row.key) for r in runs]
        rows.append((row.label, [row.fmt(v) for v in values], best_indexes(values, row.better)))
    return rows


def equity_plot(
    curves: Sequence[tuple[str, Sequence[dict[str, Any]]]],
    *,
    width: int = 100,
    height: int = 20,
    color: bool = True,
) -> str:
    """The equity curves overlaid, as terminal text (plotext), x in bars from the first.

    ``curves`` are (label, equity points) pairs; runs with no points are left out.
    """
    import plotext as plt

    plt.clear_figure()
    plt.plotsize(max(width, 30), max(height, 8))
    # The terminal's own colours (its palette, whatever its theme), never fixed RGB; without
    # colour, each curve has a marker of its own.
    plt.theme("clear")
    drawn = 0
    for label, points in curves:
        if not points:
            continue
        xs = [int(p["bar_number"]) for p in points]
        ys = [float(p["equity"]) for p in points]
        if len(xs) == 1:  # one point draws as nothing: show it as a flat line
            xs, ys = [xs[0], xs[0] + 1], [ys[0], ys[0]]
        if color:
            style = {"marker": "braille", "color": CURVE_COLORS[drawn % len(CURVE_COLORS)]}
        else:
            style = {"marker": CURVE_MARKERS[drawn % len(CURVE_MARKERS)]}
        plt.plot(xs, ys, label=label, **style)
        drawn += 1
    if not drawn:
        return "(no equity points to plot)"
    plt.title("Equity")
    plt.xlabel("bar")
    text = plt.build()
    plt.clear_figure()
    if not color:  # the clear theme still ends every line with a reset code
        text = _ANSI.sub("", text)
    return text
