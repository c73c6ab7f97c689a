"""When a run's events go out, and their records: the engine's side of the protocol."""

import threading
from time import perf_counter
from typing import Any

import numpy as np

from algotui.engine.broker import Broker
from algotui.engine.excursions import excursions
from algotui.engine.trade import LEVEL_SETS, Trade
from algotui.protocol.candle_text import RunColumns
from algotui.protocol.encode import Stamps
from algotui.protocol.records import Candles, EquityPoint, Levels, Signal, Stats, TradeRecord

#: A run of candles goes out after at most this many bars even when nothing else happens,
#: and once it is :data:`RUN_SECONDS` old (a slow strategy's bars show as they happen).
RUN_BARS = 1024
RUN_SECONDS = 0.02

_stamp = Stamps()
_new = tuple.__new__


class Emitter:
    """When a run's events go out, and their records: the pending run of candles (cut at
    every other event, after :data:`RUN_BARS` bars, when old), each fill's ``signal``, each
    closed trade's ``trade``, moved levels, and ``stats`` + ``equity`` every ``emit_every``
    bars, on every closed trade and on the last bar."""

    def __init__(self, bt: Any, columns: RunColumns, times: np.ndarray) -> None:
        self.columns = columns
        self.times = memoryview(np.ascontiguousarray(times))  # Python ints on indexing
        self.closes = bt.broker._c if bt.broker is not None else ()
        self.cash0 = bt.cash
        self.every = bt.emit_every
        self.last = columns.total - 1
        self.seq = 1
        self.run_from = 0  # the first bar of the pending run of candles
        self.next_emit = 0  # the next bar with stats/equity
        self.cut = 0  # the bar after which the pending run goes out at the latest
        self.peak = bt.cash
        self.flushed = perf_counter()
        self.tally = Tally()
        self.known: dict[int, tuple] = {}  # trade id -> (sl, tp) last sent
        self.level_sets = -1
        self.stamp = _stamp
        self.lock = threading.Lock()

    def stop_at(self, i: int) -> None:
        """The run ends at bar ``i``: its stats and equity go out with it."""
        self.next_emit = self.cut = i

    def candles(self, b: int) -> list[Candles]:
        """The pending run of candles up to bar ``b`` (exclusive), if any."""
        with self.lock:
            return self._candles(b)

    def finished(self, clock: list[int]) -> Candles | None:
        """From another thread, while the strategy is stuck on a bar: the candles of the bars
        finished before it that have not gone out (their ``seq`` the next ones)."""
        with self.lock:
            batch = self._candles(clock[0] - 1)
        return batch[0] if batch else None

    def _candles(self, b: int) -> list[Candles]:
        a = self.run_from
        if a >= b:
            return []
        self.run_from = b
        seq = self.seq
        self.seq += b - a
        self.flushed = perf_counter()
        return [self.columns.batch(seq, a, b)]

    def aged(self, b: int) -> list[Candles]:
        """The pending run up to bar ``b``, if it is :data:`RUN_SECONDS` old."""
        if perf_counter() - self.flushed < RUN_SECONDS:
            return []
        return self.candles(b)

    def levels_moved(self, trades: list[Trade]) -> bool:
        """True when the strategy moved an open trade's stop-loss or take-profit."""
        sets = LEVEL_SETS[0]
        if sets == self.level_sets:  # no level was set anywhere since the last look
            return False
        self.level_sets = sets
        known = self.known
        return any(known.get(t.trade_id) != (t.sl, t.tp) for t in trades)

    def bar(self, i: int, eq: float, broker: Broker) -> list[Any]:
        """Bar ``i``'s events (its candles first), the account at its close being ``eq``."""
        with self.lock:  # seq numbers are given out here and, for a stuck bar, in finished()
            return self._bar(i, eq, broker)

    def _bar(self, i: int, eq: float, broker: Broker) -> list[Any]:
        out: list[Any] = self._candles(i + 1)
        emit = i == self.next_emit
        time = self.times[i]
        for fill in broker.fills:
            t = fill.trade
            if fill.exit:
                emit = True
                pnl = t.pnl
                out.append(self._signal(t, True, fill.reason, t.exit_bar, t.exit_price, time, pnl))
                self.known.pop(t.trade_id, None)
                self.tally.add(pnl)
                a, b = t.entry_bar, t.exit_bar + 1  # for the strategy to read
                t.mfe, t.mae = excursions(
                    t.entry_price, t.is_long, max(broker._h[a:b]), min(broker._l[a:b])
                )
                out.append(self._trade(t, pnl))
            else:
                self.known[t.trade_id] = (t.sl, t.tp)
                out.append(self._signal(t, False, fill.reason, t.entry_bar, t.entry_price, time))
        broker.fills.clear()
        for t in broker.trades:
            levels = (t.sl, t.tp)
            if self.known.get(t.trade_id, levels) != levels:
                self.known[t.trade_id] = levels
                out.append(Levels(self.seq, t.trade_id, time, i + 1, t.sl, t.tp))
                self.seq += 1
        if emit:
            if i == self.next_emit:
                self.next_emit = min(self.next_emit + self.every, self.last)
            out += self._account(i, eq, broker)
        self.cut = min(self.next_emit, i + RUN_BARS)
        return out

    # Records are made with ``tuple.__new__``: a named tuple's own constructor is a Python
    # function, several times slower, and the engine makes one per event.

    def _signal(
        self, t: Trade, exit_: bool, reason: str, bar: int, price: float, time: Any, pnl: Any = None
    ) -> Signal:
        seq = self.seq
        self.seq += 1
        long = t.is_long
        direction = "long" if long else "short"
        if exit_:
            return _new(Signal, (
                seq, time, "EXIT", "SELL" if long else "BUY", price, t.size, t.trade_id, reason,
                t.sl, t.tp, pnl, bar + 1, direction,
            ))  # fmt: skip
        return _new(Signal, (
            seq, time, "ENTRY", "BUY" if long else "SELL", price, t.size, t.trade_id, reason,
            t.sl, t.tp, None, bar + 1, direction,
        ))  # fmt: skip

    def _trade(self, t: Trade, pnl: float) -> TradeRecord:
        seq = self.seq
        self.seq += 1
        times = self.times
        return _new(TradeRecord, (
            seq, t.trade_id, "long" if t.is_long else "short", times[t.entry_bar],
            t.entry_price, times[t.exit_bar], t.exit_price, t.size, pnl,
            pnl / (t.entry_price * t.size) * 100.0, t.entry_commission + t.exit_commission,
            t.exit_reason,
            t.mfe, t.mae, t.exit_bar - t.entry_bar, t.entry_bar + 1, t.exit_bar + 1,
            t.sl, t.tp, t.entry_reason,
        ))  # fmt: skip

    def trade_dict(self, t: Trade) -> dict[str, Any]:
        """A trade (open ones too) as the protocol writes it."""
        closed = t.exit_bar is not None
        times = self.times
        return {
            "trade_id": t.trade_id,
            "direction": t.direction,
            "entry_time": _stamp(times[t.entry_bar]),
            "entry_price": t.entry_price,
            "exit_time": _stamp(times[t.exit_bar]) if closed else None,
            "exit_price": t.exit_price,
            "size": t.size,
            "pnl": t.pnl if closed else None,
            "pnl_percent": t.pnl_percent if closed else None,
            "commission": t.commission,
            "exit_reason": t.exit_reason,
            "mfe": t.mfe,
            "mae": t.mae,
            "bars_held": t.bars_held if closed else None,
            "entry_bar": t.entry_bar + 1,
            "exit_bar": t.exit_bar + 1 if closed else None,
            "stop_loss": t.sl,
            "take_profit": t.tp,
            "entry_reason": t.entry_reason,
        }

    def _account(self, i: int, eq: float, broker: Broker) -> list[Any]:
        seq = self.seq
        self.seq += 2
        s = self.tally
        peak = self.peak
        units = broker.units
        drawdown = (peak - eq) * 100.0 / peak if peak > 0 else 0.0
        win_rate = s.wins * 100.0 / s.total if s.total else 0.0
        return [
            Stats(
                seq,
                s.total,
                s.wins,
                s.losses,
                win_rate,
                eq - self.cash0,
                s.pnl,
                eq,
                drawdown,
                len(broker.trades),
                units,
                i + 1,
            ),  # fmt: skip
            EquityPoint(seq + 1, self.times[i], eq, eq - units * self.closes[i], drawdown, i + 1),
        ]


class Tally:
    """Running counts of closed trades for the live ``stats`` events."""

    __slots__ = ("total", "wins", "losses", "pnl")

    def __init__(self) -> None:
        self.total = self.wins = self.losses = 0
        self.pnl = 0.0

    def add(self, pnl: float) -> None:
        self.total += 1
        self.pnl += pnl
        if pnl > 0:
            self.wins += 1
        elif pnl < 0:
            self.losses += 1
