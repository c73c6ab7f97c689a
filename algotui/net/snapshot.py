"""A run state as one JSON-ready dict (the bridge's ``snapshot``), and back.

A viewer that joins late gets the whole picture in one frame: the metadata, the candles so far
(thinned when huge, see :data:`FULL_BARS`), the signals, the closed trades, the open trades,
the latest stats, the equity curve and the final metrics or error. :func:`state_from_snapshot`
rebuilds a :class:`~algotui.view.state.RunState` from it by applying protocol v1 dicts, so a
late joiner's state is built by the same code as a viewer's that saw every event.

Thinning rule: the last :data:`FULL_BARS` bars are sent bar by bar; the older ones are
aggregated into at most :data:`MAX_BUCKETS` buckets of equal length (open of the first bar,
highest high, lowest low, close and indicator values of the last bar, summed volume, time of
the first bar). A rebuilt state repeats a bucket's values for each bar it covers, so bar
numbers, markers and equity points keep their places. Signals, level moves and closed trades
beyond the last :data:`MAX_RECORDS` of each are left out (their counts say how many).
"""

from typing import Any

import numpy as np

from algotui.protocol.read import candles_of
from algotui.view.state import RunState

#: Bars at the end of the run that a snapshot always carries one by one.
FULL_BARS = 10_000
#: At most this many buckets for the bars before those.
MAX_BUCKETS = 10_000
#: At most this many of the latest signals and of the latest closed trades.
MAX_RECORDS = 50_000

_COLUMNS = ("open", "high", "low", "close", "volume")


def _floats(values: np.ndarray) -> list[float | None]:
    """A float column as JSON-ready numbers (NaN as None)."""
    return [None if x != x else x for x in values.tolist()]


def _thin(values: np.ndarray, k: int, size: int, how: str) -> np.ndarray:
    """Bars ``0..k-1`` of ``values`` reduced into buckets of ``size`` bars."""
    starts = np.arange(0, k, size)
    if how == "first":
        return values[starts]
    if how == "last":
        return values[np.minimum(starts + size, k) - 1]
    ufunc = {"max": np.fmax, "min": np.fmin, "sum": np.add}[how]
    return ufunc.reduceat(values[:k], starts)


def candle_columns(state: RunState) -> dict[str, Any]:
    """The candles so far, columnar: the last :data:`FULL_BARS` one by one, older ones bucketed."""
    n = state.bars
    k = max(0, n - FULL_BARS)  # bars 0..k-1 are bucketed
    size = -(-k // MAX_BUCKETS) if k else 0
    out: dict[str, Any] = {"bars": n, "full_from": k, "bucket": size}
    hows = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    for name in _COLUMNS:
        col = getattr(state, name)[:n]
        head = _thin(col, k, size, hows[name]) if k else col[:0]
        out[name] = _floats(np.concatenate([head, col[k:n]]))
    times = state.times
    head_times = [times[i] for i in range(0, k, size)] if k else []
    out["time"] = head_times + list(times[k:n])
    out["indicators"] = {
        name: _floats(np.concatenate([_thin(v[:n], k, size, "last") if k else v[:0], v[k:n]]))
        for name, v in state.indicators.items()
    }
    return out


def snapshot_of(state: RunState, seq: int | None = None) -> dict[str, Any]:
    """Everything a viewer needs to draw the run as of ``seq`` (the last event applied)."""
    signals = state.signals
    trades = state.trades
    ns, nt = len(signals), len(trades)
    equity_bars = list(state.equity_bar)
    times = state.times
    return {
        "type": "snapshot",
        "run_id": state.meta.get("run_id") or state.run_id or None,
        "seq": seq,
        "metadata": state.meta,
        "total_bars": state.total_bars,
        "overlay": dict(state.overlay),
        "candles": candle_columns(state),
        "signals_total": ns,
        "signals": list(signals[max(0, ns - MAX_RECORDS) :]),
        "levels": list(state.level_changes[-MAX_RECORDS:]),
        "trades_total": nt,
        "trades": list(trades[max(0, nt - MAX_RECORDS) :]),
        "open_trades": [
            {
                "trade_id": t.trade_id,
                "direction": t.direction,
                "entry_price": t.entry_price,
                "entry_bar": t.entry_bar,
                "size": t.size,
                "stop_loss": t.stop_loss,
                "take_profit": t.take_profit,
            }
            for t in state.open_trades.values()
        ],
        "stats": state.stats,
        "equity": {
            "bar": equity_bars,
            "time": [times[b] if 0 <= b < state.bars else None for b in equity_bars],
            "equity": list(state.equity),
            "drawdown": list(state.drawdown),
        },
        "metrics": state.metrics,
        "error": state.failure,
    }


def snapshot_events(snap: dict[str, Any]) -> list[Any]:
    """What, applied to a fresh :class:`RunState`, rebuilds the snapshot's: the metadata, the
    candles as one batch, then the fills and level moves in their order, the trades, the
    equity points, the latest stats and the end."""
    events: list[Any] = []
    meta = snap.get("metadata") or {}
    if meta:
        events.append({**meta, "seq": 0})
    c = snap.get("candles") or {}
    n, k, size = int(c.get("bars", 0)), int(c.get("full_from", 0)), int(c.get("bucket", 0))
    inds = c.get("indicators") or {}
    names = tuple(inds)
    candles: list[dict[str, Any]] = []
    row = 0
    bar = 0
    while bar < n:
        # A bucket's row stands for each bar it covers; past full_from, one row is one bar.
        span = min(size, k - bar) if bar < k else 1
        values = {
            "timestamp": c["time"][row],
            "open": c["open"][row],
            "high": c["high"][row],
            "low": c["low"][row],
            "close": c["close"][row],
            "volume": c["volume"][row],
            "indicators": {name: inds[name][row] for name in names},
        }
        for j in range(span):
            candles.append({"type": "candle", "seq": 1, **values, "bar_number": bar + j + 1})
        bar += span
        row += 1
    if candles:
        events.append(candles_of(candles, names, int(snap.get("total_bars") or 0)))
    changes = list(snap.get("signals") or []) + list(snap.get("levels") or [])
    changes.sort(key=lambda e: e.get("seq", 0))
    events.extend(changes)
    events.extend(snap.get("trades") or [])
    eq = snap.get("equity") or {}
    for b, t, e, d in zip(
        eq.get("bar", []),
        eq.get("time", []),
        eq.get("equity", []),
        eq.get("drawdown", []),
        strict=False,
    ):
        events.append(
            {
                "type": "equity",
                "seq": 1,
                "timestamp": t,
                "equity": e,
                "drawdown": d,
                "bar_number": b + 1,
            }
        )
    if snap.get("stats"):
        events.append(snap["stats"])
    if snap.get("metrics") is not None:
        events.append({"type": "complete", "seq": 1, "metrics": snap["metrics"]})
    if snap.get("error") is not None:
        events.append({"seq": 1, **snap["error"]})
    return events


def state_from_snapshot(snap: dict[str, Any], state: RunState | None = None) -> RunState:
    """A run state rebuilt from a snapshot (into ``state``, emptied first, when given)."""
    run_id = str(snap.get("run_id") or "")
    if state is None:
        state = RunState(run_id)
    else:
        # Widgets hold this object and compare versions: keep the count going up.
        version = state.version
        state.__init__(run_id)  # type: ignore[misc] - emptied in place, every holder sees it
        state.version = version
    events = snapshot_events(snap)
    if events:
        state.apply(events)
    state.overlay.update(snap.get("overlay") or {})
    seq = snap.get("seq")
    if isinstance(seq, int):
        state.last_seq = seq
    return state
