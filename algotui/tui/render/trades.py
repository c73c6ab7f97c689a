"""Trades as the chart needs them: where each began and ended, who won, what was held when.

:class:`TradeIndex` follows the run state's fill markers incrementally (a frame costs the fills
added since the last one) and answers, with numpy over every trade of the run: which trades
cross a window (the trade lines), how each ended (the exit markers' colour) and what position
was open at a bar (the bar cursor's readout, see :func:`bar_readout`).
"""

from bisect import bisect_right
from typing import Any

import numpy as np

from algotui.format import price, size
from algotui.tui.render.window import BarReadout, TradeSpan
from algotui.view.state import Marker, RunState

__all__ = ["OPEN", "TradeIndex", "bar_readout"]

OPEN = np.iinfo(np.int64).max  # the exit bar of a trade still open


class TradeIndex:
    """Every trade's entry and exit (bar, price), side and outcome, as growing arrays."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every trade (a new or rewound run)."""
        self.n = 0
        self._seen = 0  # markers taken in
        self._log: list[tuple[int, bool]] = []  # per marker taken in: (row or -1, was an exit)
        self._exits = 0  # exits seen: the k-th exit's trade is the state's k-th closed trade
        self._row: dict[int, int] = {}
        cap = 64
        self.trade_id = np.zeros(cap, dtype=np.int64)
        self.entry_bar = np.zeros(cap, dtype=np.int64)
        self.entry_price = np.zeros(cap)
        self.exit_bar = np.full(cap, OPEN, dtype=np.int64)
        self.exit_price = np.full(cap, np.nan)
        self.sign = np.zeros(cap, dtype=np.int8)  # +1 long, -1 short
        self.ordinal = np.full(cap, -1, dtype=np.int64)  # index into state.trades once closed
        self.outcome = np.zeros(cap, dtype=np.int8)  # +1 won, -1 lost, 0 not known yet
        # The highest exit bar of rows 0..i (valid for the first ``_reach_valid`` rows): rows
        # below the first whose reach is at the window's start all ended before it, so a frame
        # looks at the trades near the window, not at every trade of a long run.
        self._reach = np.zeros(cap, dtype=np.int64)
        self._reach_valid = 0

    def _grow(self) -> None:
        cap = 2 * len(self.trade_id)
        for name, fill in (
            ("trade_id", 0), ("entry_bar", 0), ("entry_price", 0.0), ("exit_bar", OPEN),
            ("exit_price", np.nan), ("sign", 0), ("ordinal", -1), ("outcome", 0), ("_reach", 0),
        ):  # fmt: skip
            old = getattr(self, name)
            new = np.full(cap, fill, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def sync(self, state: RunState, markers: list[Marker] | None = None) -> None:
        """Take in the fills added to ``state`` since the last call; after a rewind, take back
        the fills no longer shown (the cost is what changed, not the run's length)."""
        markers = state.markers if markers is None else markers
        while self._seen > len(markers):
            self._undo()
        for mk in markers[self._seen :]:
            self._log.append(self._take(mk))
        self._seen = len(markers)

    def _take(self, mk: Marker) -> tuple[int, bool]:
        if mk.kind == "exit":
            row = self._row.get(mk.trade_id)
            if row is None:
                return (-1, True)
            self.exit_bar[row] = mk.bar
            self.exit_price[row] = mk.price
            self.ordinal[row] = self._exits
            self._exits += 1
            self._reach_valid = min(self._reach_valid, row)
            return (row, True)
        if self.n == len(self.trade_id):
            self._grow()
        row = self._row[mk.trade_id] = self.n
        self.trade_id[row] = mk.trade_id
        self.entry_bar[row] = mk.bar
        self.entry_price[row] = mk.price
        self.sign[row] = -1 if mk.kind == "short_entry" else 1
        self.outcome[row] = 0
        self.n += 1
        return (row, False)

    def _undo(self) -> None:
        """Take back the newest fill taken in."""
        row, was_exit = self._log.pop()
        self._seen -= 1
        if row < 0:
            return
        self._reach_valid = min(self._reach_valid, row)
        if was_exit:
            self.exit_bar[row] = OPEN
            self.exit_price[row] = np.nan
            self.ordinal[row] = -1
            self.outcome[row] = 0
            self._exits -= 1
        else:
            del self._row[int(self.trade_id[row])]
            self.n -= 1

    def won(self, state: RunState, row: int) -> bool:
        """Whether closed trade ``row`` made money: its P&L net of costs when the state has
        its trade record, else the move from entry to exit (read once, then remembered)."""
        if self.outcome[row] == 0:
            pnl = None
            k = int(self.ordinal[row])
            if 0 <= k < len(state.trades):
                record: dict[str, Any] = state.trades[k]
                if record.get("trade_id") == int(self.trade_id[row]):
                    pnl = record.get("pnl")
            if pnl is None:
                pnl = (self.exit_price[row] - self.entry_price[row]) * self.sign[row]
            self.outcome[row] = 1 if pnl > 0 else -1
        return bool(self.outcome[row] > 0)

    def spans(self, state: RunState, first: int, last: int) -> list[TradeSpan]:
        """Closed trades that cross bars ``first..last``."""
        n = self.n
        hi = int(np.searchsorted(self.entry_bar[:n], last, side="right"))  # entered by ``last``
        a = self._reach_valid
        if a < n:  # bring the running highest exit bar up to date
            reach = np.maximum.accumulate(self.exit_bar[a:n])
            if a:
                np.maximum(reach, self._reach[a - 1], out=reach)
            self._reach[a:n] = reach
            self._reach_valid = n
        lo = int(np.searchsorted(self._reach[:hi], first, side="left"))  # all out before: skip
        exits = self.exit_bar[lo:hi]
        rows = lo + np.flatnonzero((exits >= first) & (exits != OPEN))
        return [
            TradeSpan(
                int(self.entry_bar[r]),
                float(self.entry_price[r]),
                int(self.exit_bar[r]),
                float(self.exit_price[r]),
                self.won(state, int(r)),
            )  # fmt: skip
            for r in rows.tolist()
        ]

    def exit_outcome(self, state: RunState, trade_id: int) -> str:
        """``exit_win`` or ``exit_loss`` for a closed trade's exit marker (``exit`` if unknown)."""
        row = self._row.get(trade_id)
        if row is None or self.exit_bar[row] == OPEN:
            return "exit"
        return "exit_win" if self.won(state, row) else "exit_loss"

    def open_at(self, bar: int) -> np.ndarray:
        """Rows of the trades open over bar ``bar`` (entered at or before it, not yet out)."""
        n = self.n
        return np.flatnonzero((self.entry_bar[:n] <= bar) & (bar < self.exit_bar[:n]))

    def position(self, state: RunState, bar: int) -> str:
        """The position held over ``bar``: "flat" or "long 10 @ 98.20" (size-weighted entry)."""
        rows = self.open_at(bar).tolist()
        if not rows:
            return "flat"
        total = 0.0
        cost = 0.0
        for r in rows:
            units = self._size(state, r)
            total += units
            cost += units * float(self.entry_price[r])
        side = "long" if self.sign[rows[0]] > 0 else "short"
        if total <= 0:
            return side
        return f"{side} {size(total)} @ {price(cost / total)}"

    def _size(self, state: RunState, row: int) -> float:
        tid = int(self.trade_id[row])
        if tid in state.open_trades:
            return float(state.open_trades[tid].size)
        k = int(self.ordinal[row])
        if 0 <= k < len(state.trades):
            record = state.trades[k]
            if record.get("trade_id") == tid:
                return float(record.get("size") or 0.0)
        return 0.0


def bar_readout(
    state: RunState, trades: TradeIndex, bar: int, colors: dict[str, int]
) -> BarReadout:
    """What the bar cursor shows at 0-based ``bar``: its prices, every indicator, and the
    position, equity and drawdown then (the equity point at or before the bar)."""
    k = bisect_right(state.equity_bar, bar) - 1
    return BarReadout(
        bar=bar,
        time=state.times[bar],
        open=float(state.open[bar]),
        high=float(state.high[bar]),
        low=float(state.low[bar]),
        close=float(state.close[bar]),
        volume=float(state.volume[bar]),
        indicators=[
            (name, float(values[bar]), colors.get(name, 0))
            for name, values in state.indicators.items()
        ],
        position=trades.position(state, bar),
        equity=float(state.equity[k]) if k >= 0 else None,
        drawdown=float(state.drawdown[k]) if k >= 0 else None,
    )
