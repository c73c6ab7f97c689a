"""Every trade of a run as one record each, for the trades view and a trade's detail.

Built from what a viewer holds (:class:`~algotui.view.state.RunState`): closed trades from
their ``trade`` events, open ones from the open positions marked at the last close, the bars
and reasons from the ``signal`` events, and the stop-loss / take-profit history from the
levels each entry set and, where the stream carries them, ``levels`` events
(``{"type": "levels", "trade_id", "timestamp", "bar_number", "stop_loss", "take_profit"}``,
in ``state.signals`` or ``state.level_changes``).
"""

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(slots=True)
class LevelChange:
    """The stop-loss and take-profit of a trade from ``bar`` on (``note`` says why)."""

    time: str
    bar: int | None
    stop_loss: float | None
    take_profit: float | None
    note: str


@dataclass(slots=True)
class TradeRecord:
    """One trade, closed or open (``exit_*`` None while open; P&L then marked at the close)."""

    trade_id: int
    is_open: bool
    direction: str
    entry_time: str
    entry_price: float
    size: float
    exit_time: str | None = None
    exit_price: float | None = None
    pnl: float | None = None
    pnl_percent: float | None = None
    bars_held: int | None = None
    exit_reason: str = ""
    mfe: float | None = None
    mae: float | None = None
    commission: float | None = None
    entry_bar: int | None = None
    exit_bar: int | None = None
    entry_note: str = ""
    exit_note: str = ""
    levels: list[LevelChange] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``open`` or the exit reason."""
        return "open" if self.is_open else self.exit_reason

    @property
    def focus_bar(self) -> int | None:
        """The bar to centre the chart on: the middle of the trade."""
        if self.entry_bar is None:
            return self.exit_bar
        if self.exit_bar is None:
            return self.entry_bar
        return (self.entry_bar + self.exit_bar) // 2


def _level_events(state: Any) -> dict[int, list[dict[str, Any]]]:
    """``levels`` events by trade id, from wherever the state keeps them."""
    found: list[dict[str, Any]] = []
    extra = getattr(state, "level_changes", None)
    if isinstance(extra, dict):
        for items in extra.values():
            found.extend(items)
    elif extra:
        found.extend(extra)
    by_trade: dict[int, list[dict[str, Any]]] = {}
    shown = state.bars  # a state rewound to an earlier bar shows the moves made by then
    for item in found:
        if not isinstance(item, dict) or item.get("trade_id") is None:
            continue
        if int(item.get("bar_number") or 0) <= shown:
            by_trade.setdefault(int(item["trade_id"]), []).append(item)
    return by_trade


def _bar_of(state: Any, stamp: str | None) -> int | None:
    """The 0-based bar with timestamp ``stamp`` (the bars' times are sorted ISO text)."""
    if not stamp or not state.bars:
        return None
    i = bisect_left(state.times, stamp)
    return i if i < state.bars and state.times[i] == stamp else None


def _open_excursions(state: Any, direction: str, entry: float, bar: int) -> tuple[float, float]:
    """MFE and MAE so far (percent of the entry price) of a trade open since ``bar``."""
    n = state.bars
    if bar >= n or entry <= 0:
        return 0.0, 0.0
    high = float(np.nanmax(state.high[bar:n]))
    low = float(np.nanmin(state.low[bar:n]))
    if direction == "long":
        best, worst = high - entry, low - entry
    else:
        best, worst = entry - low, entry - high
    return max(0.0, best * 100 / entry), min(0.0, worst * 100 / entry)


def trade_records(state: Any) -> list[TradeRecord]:
    """Every closed trade (in closing order), then every open one."""
    entries: dict[int, dict[str, Any]] = {}
    exits: dict[int, dict[str, Any]] = {}
    levels = _level_events(state)
    for sig in state.signals:
        kind = sig.get("type", "signal")
        if sig.get("trade_id") is None:
            continue
        tid = int(sig["trade_id"])
        if kind == "levels":
            levels.setdefault(tid, []).append(sig)
        elif sig.get("action") == "ENTRY":
            entries[tid] = sig
        elif sig.get("action") == "EXIT":
            exits[tid] = sig
    out = []
    for t in state.trades:
        tid = int(t["trade_id"])
        entry, exit_ = entries.get(tid, {}), exits.get(tid, {})
        rec = TradeRecord(
            trade_id=tid,
            is_open=False,
            direction=str(t.get("direction", "")),
            entry_time=str(t.get("entry_time", "")),
            entry_price=float(t.get("entry_price") or 0),
            size=float(t.get("size") or 0),
            exit_time=t.get("exit_time"),
            exit_price=t.get("exit_price"),
            pnl=t.get("pnl"),
            pnl_percent=t.get("pnl_percent"),
            bars_held=t.get("bars_held"),
            exit_reason=str(t.get("exit_reason") or ""),
            mfe=t.get("mfe"),
            mae=t.get("mae"),
            commission=t.get("commission"),
            entry_bar=_bar(entry) if entry else _bar_of(state, t.get("entry_time")),
            exit_bar=_bar(exit_) if exit_ else _bar_of(state, t.get("exit_time")),
            entry_note=str(entry.get("reason") or ""),
            exit_note=str(exit_.get("reason") or ""),
        )
        rec.levels = _history(rec, entry, levels.get(tid, []))
        out.append(rec)
    n = state.bars
    last = float(state.close[n - 1]) if n else None
    for ot in state.open_trades.values():
        entry = entries.get(ot.trade_id, {})
        sign = 1.0 if ot.direction == "long" else -1.0
        pnl = pct = None
        if last is not None:
            pnl = (last - ot.entry_price) * ot.size * sign
            pct = (last / ot.entry_price - 1) * 100 * sign if ot.entry_price else None
        mfe, mae = _open_excursions(state, ot.direction, ot.entry_price, ot.entry_bar)
        rec = TradeRecord(
            trade_id=ot.trade_id,
            is_open=True,
            direction=ot.direction,
            entry_time=str(entry.get("timestamp") or _time(state, ot.entry_bar)),
            entry_price=ot.entry_price,
            size=ot.size,
            pnl=pnl,
            pnl_percent=pct,
            bars_held=max(0, n - 1 - ot.entry_bar) if n else None,
            exit_reason="open",
            mfe=mfe,
            mae=mae,
            entry_bar=ot.entry_bar,
            entry_note=str(entry.get("reason") or ""),
        )
        rec.levels = _history(rec, entry or _open_entry(ot), levels.get(ot.trade_id, []))
        if ot.stop_loss != _last_level(rec, "stop_loss") or ot.take_profit != _last_level(
            rec, "take_profit"
        ):
            rec.levels.append(
                LevelChange(_time(state, n - 1), n - 1, ot.stop_loss, ot.take_profit, "now")
            )
        out.append(rec)
    return out


def _bar(sig: dict[str, Any]) -> int | None:
    number = sig.get("bar_number")
    return int(number) - 1 if number is not None else None


def _time(state: Any, bar: int) -> str:
    return state.times[bar] if 0 <= bar < state.bars else ""


def _open_entry(ot: Any) -> dict[str, Any]:
    return {"stop_loss": ot.stop_loss, "take_profit": ot.take_profit, "bar_number": None}


def _last_level(rec: TradeRecord, name: str) -> float | None:
    return getattr(rec.levels[-1], name) if rec.levels else None


def _history(
    rec: TradeRecord, entry: dict[str, Any], changes: list[dict[str, Any]]
) -> list[LevelChange]:
    """The trade's levels: as set at entry, each move, and what the exit hit."""
    out = [
        LevelChange(
            rec.entry_time,
            rec.entry_bar,
            entry.get("stop_loss"),
            entry.get("take_profit"),
            "set at entry",
        )
    ]
    for ch in sorted(changes, key=lambda d: d.get("bar_number") or 0):
        sl, tp = ch.get("stop_loss"), ch.get("take_profit")
        prev = out[-1]
        moved = [
            name
            for name, old, new in (
                ("stop-loss", prev.stop_loss, sl),
                ("target", prev.take_profit, tp),
            )
            if old != new
        ]
        note = ("moved " + " and ".join(moved)) if moved else "unchanged"
        out.append(LevelChange(str(ch.get("timestamp", "")), _bar(ch), sl, tp, note))
    if not rec.is_open and rec.exit_reason in ("stop_loss", "take_profit"):
        hit = "stop-loss hit" if rec.exit_reason == "stop_loss" else "take-profit hit"
        last = out[-1]
        out.append(
            LevelChange(rec.exit_time or "", rec.exit_bar, last.stop_loss, last.take_profit, hit)
        )
    return out
