"""What a viewer knows about a run, built from its events alone, and rewindable to any bar.

:class:`RunState` is fed records in order (:mod:`algotui.protocol.records`: from the engine
here, from the engine in a child process, from a recording, from a socket; protocol dicts are
turned into records first) and keeps what the panes draw: the bars, indicator series,
signals, markers, trades, open trades and their levels, the equity curve, the latest stats and
the final metrics. It has one handler per event type and imports nothing from the UI; widgets
read it on each frame and compare ``version`` to know whether anything changed.

:meth:`RunState.rewind` puts the view back to any bar it has seen: everything it shows is
then as of that bar (what came later is kept, out of sight), found by bisection over lists
sorted by bar, and the open trades from a keyframe and the fills after it. :meth:`follow`
shows the newest bar again.

One class on purpose: its handlers and the views a rewind limits are the two sides of the same
lists (what :meth:`apply` appends is what the properties bisect).
"""

from bisect import bisect_right
from typing import Any

import numpy as np

from algotui.protocol.encode import Encoder
from algotui.protocol.read import record_of
from algotui.protocol.records import Candles
from algotui.view.shown import Marker, OpenTrade, Shown, Times

__all__ = ["KEYFRAME_EVERY", "Marker", "OpenTrade", "RunState"]

#: Open trades are remembered every this many fills and level moves (the keyframes of a
#: rewind: the state at any bar is a keyframe plus at most this many changes).
KEYFRAME_EVERY = 256


class RunState:
    """The run as seen through its events. ``bars`` counts the candles shown."""

    def __init__(self, run_id: str = "") -> None:
        self.run_id = run_id
        self.meta: dict[str, Any] = {}
        self.total_bars = 0
        self.received = 0  # candles received
        self.cursor: int | None = None  # candles shown when rewound; None: the newest
        self.capacity = 0
        self.open = self.high = self.low = self.close = self.volume = np.zeros(0)
        self._time = np.zeros(0, dtype=np.int64)
        self.times = Times(self)
        self.indicators: dict[str, np.ndarray] = {}
        self.overlay: dict[str, bool] = {}
        self.levels: dict[str, list[float]] = {}
        self._names: tuple[str, ...] = ()
        self._encoder = Encoder("")
        # everything by bar (0-based), sorted: what a rewind bisects
        self._signals: list[Any] = []
        self._signal_dicts: list[Any] = []
        self._signal_bars: list[int] = []
        self._markers: list[Marker] = []
        self._trades: list[Any] = []
        self._trade_dicts: list[Any] = []
        self._trade_bars: list[int] = []
        self._changes: list[Any] = []  # signals and level moves, in order: the open trades
        self._change_bars: list[int] = []
        self._keyframes: list[dict[int, OpenTrade]] = [{}]
        self._open: dict[int, OpenTrade] = {}
        self.level_changes: list[dict[str, Any]] = []
        self._equity_bar: list[int] = []
        self._equity: list[float] = []
        self._drawdown: list[float] = []
        self._stats: list[Any] = []
        self._stats_bars: list[int] = []
        self._stats_dict: tuple[Any, dict[str, Any]] | None = None
        self._metrics: dict[str, Any] | None = None
        self._error: dict[str, Any] | None = None
        self.last_seq = -1
        self.version = 0
        self._view: dict[str, Any] = {}  # what a rewind shows, found once per rewind

    # -- what is shown -------------------------------------------------------------------------

    @property
    def bars(self) -> int:
        """Candles shown: all received, or as many as the bar rewound to."""
        return self.received if self.cursor is None else self.cursor

    @bars.setter
    def bars(self, n: int) -> None:  # for a state filled by hand (tests, benchmarks)
        self.received = n
        self.cursor = None

    @property
    def rewound(self) -> bool:
        """True while an older bar than the newest is shown."""
        return self.cursor is not None and self.cursor < self.received

    def _count(self, bars: list[int]) -> int:
        return len(bars) if self.cursor is None else bisect_right(bars, self.cursor - 1)

    @property
    def signals(self) -> Shown:
        """The signals shown, as protocol dicts."""
        n = self._count(self._signal_bars)
        return Shown(self._signals, self._signal_dicts, n, self._encoder.to_dict)

    @property
    def markers(self) -> list[Marker]:
        """A marker per fill shown."""
        if self.cursor is None:
            return self._markers
        return self._markers[: self._count(self._signal_bars)]

    @property
    def trades(self) -> Shown:
        """The closed trades shown, as protocol dicts."""
        n = self._count(self._trade_bars)
        return Shown(self._trades, self._trade_dicts, n, self._encoder.to_dict)

    @property
    def open_trades(self) -> dict[int, OpenTrade]:
        """The trades open at the bar shown, with their levels then."""
        if self.cursor is None:
            return self._open
        return self._view.setdefault("open", self._open_at(self._count(self._change_bars)))

    @property
    def equity_bar(self) -> list[int]:
        if self.cursor is None:
            return self._equity_bar
        return self._equity_bar[: self._count(self._equity_bar)]

    @equity_bar.setter
    def equity_bar(self, values: list[int]) -> None:
        self._equity_bar = values

    @property
    def equity(self) -> list[float]:
        if self.cursor is None:
            return self._equity
        return self._equity[: self._count(self._equity_bar)]

    @equity.setter
    def equity(self, values: list[float]) -> None:
        self._equity = values

    @property
    def drawdown(self) -> list[float]:
        if self.cursor is None:
            return self._drawdown
        return self._drawdown[: self._count(self._equity_bar)]

    @drawdown.setter
    def drawdown(self, values: list[float]) -> None:
        self._drawdown = values

    @property
    def stats(self) -> dict[str, Any]:
        """The latest ``stats`` shown."""
        n = self._count(self._stats_bars)
        if not n:
            return {}
        record = self._stats[n - 1]
        if self._stats_dict is None or self._stats_dict[0] is not record:
            self._stats_dict = (record, self._encoder.to_dict(record))
        return self._stats_dict[1]

    @property
    def at_end(self) -> bool:
        """True when the bar shown is the newest."""
        return self.cursor is None or self.cursor >= self.received

    @property
    def metrics(self) -> dict[str, Any] | None:
        """The final metrics, once the run completed and its end is shown."""
        return self._metrics if self.at_end else None

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``error`` event, once the run failed and its end is shown."""
        return self._error if self.at_end else None

    @property
    def failure(self) -> dict[str, Any] | None:
        """The ``error`` event, whatever bar is shown."""
        return self._error

    @property
    def done(self) -> bool:
        """True once the run completed or failed (whatever bar is shown)."""
        return self._metrics is not None or self._error is not None

    @property
    def failed(self) -> bool:
        """True when the run ended with an ``error`` event."""
        return self._error is not None

    @property
    def progress(self) -> float:
        """Percent of bars shown."""
        return self.bars * 100.0 / self.total_bars if self.total_bars else 0.0

    def time(self, bar: int) -> str:
        """ISO timestamp of bar ``bar`` (0-based)."""
        return self.times[bar]

    # -- moving through the run ----------------------------------------------------------------

    def rewind(self, bar: int) -> None:
        """Show the run as of 0-based ``bar`` (clamped to what was received)."""
        self.cursor = max(0, min(bar + 1, self.received))
        self._view = {}
        self.version += 1

    def follow(self) -> None:
        """Show the newest bar again (and every bar as it comes)."""
        if self.cursor is not None:
            self.cursor = None
            self._view = {}
            self.version += 1

    def _open_at(self, n: int) -> dict[int, OpenTrade]:
        """The open trades after the first ``n`` fills and level moves."""
        k = n // KEYFRAME_EVERY
        trades = {tid: _copy(t) for tid, t in self._keyframes[k].items()}
        for record in self._changes[k * KEYFRAME_EVERY : n]:
            _change(trades, record)
        return trades

    # -- feeding -------------------------------------------------------------------------------

    def apply(self, items: list[Any]) -> None:
        """Apply a batch of records (or protocol dicts), in order."""
        if not items:
            return
        handlers = _HANDLERS
        for item in items:
            if item.__class__ is dict:
                if item.get("type") == "metadata":
                    self.run_id = str(item.get("run_id") or self.run_id)
                if "seq" not in item:  # a hand-made event: the next one
                    item = {**item, "seq": self.last_seq + 1}
                item = record_of(item)
            handlers[item.type](self, item)
        self._view = {}
        self.version += 1

    def _metadata(self, r: Any) -> None:
        self._encoder = Encoder(self.run_id)
        self.meta = self._encoder.to_dict(r)
        self.last_seq = r.seq
        self.total_bars = int(r.total_bars or 0)
        # room for the whole run at once (up to a bound: a damaged total is not believed)
        self._grow(max(min(self.total_bars, 2_000_000), 16))
        specs = [x for x in r.indicators or [] if isinstance(x, dict)]
        self._names = tuple(str(x.get("name")) for x in specs)
        for spec in specs:
            name = str(spec.get("name"))
            self.overlay[name] = bool(spec.get("overlay", True))
            self.levels[name] = list(spec.get("levels") or [])
            self.indicators[name] = np.full(self.capacity, np.nan)

    def _grow(self, need: int) -> None:
        if need <= self.capacity:
            return
        cap = max(need, self.capacity * 2, 16)
        n = self.received

        def grown(a: np.ndarray) -> np.ndarray:
            b = np.full(cap, np.nan)
            b[:n] = a[:n]
            return b

        self.open, self.high, self.low = grown(self.open), grown(self.high), grown(self.low)
        self.close, self.volume = grown(self.close), grown(self.volume)
        self.indicators = {k: grown(v) for k, v in self.indicators.items()}
        time = np.zeros(cap, dtype=np.int64)
        time[:n] = self._time[:n]
        self._time = time
        self.capacity = cap

    def _candles(self, batch: Candles) -> None:
        n = self.received
        k = len(batch)
        if n + k > self.capacity:
            self._grow(n + k)
        self._time[n : n + k] = batch.time
        self.open[n : n + k] = batch.open
        self.high[n : n + k] = batch.high
        self.low[n : n + k] = batch.low
        self.close[n : n + k] = batch.close
        self.volume[n : n + k] = batch.volume
        for name, values in zip(batch.names, batch.indicators, strict=True):
            series = self.indicators.get(name)
            if series is None:
                series = self.indicators[name] = np.full(self.capacity, np.nan)
                self.overlay.setdefault(name, True)
            series[n : n + k] = values
        self.received = n + k
        self.last_seq = batch.seq + k - 1

    def _bar_of(self, bar_number: Any) -> int:
        return int(bar_number) - 1 if bar_number else max(self.received - 1, 0)

    def _signal(self, r: Any) -> None:
        bar = self._bar_of(r.bar_number)
        self._signals.append(r)
        self._signal_bars.append(bar)
        if r.action == "ENTRY":
            long = r.direction == "long" if r.direction else r.side == "BUY"
            kind = "long_entry" if long else "short_entry"
        else:
            kind = "exit"
        self._markers.append(Marker(bar, float(r.price), kind, int(r.trade_id)))
        self._changed(r, bar)
        self.last_seq = r.seq

    def _levels(self, r: Any) -> None:
        bar = self._bar_of(r.bar_number)
        self.level_changes.append(self._encoder.to_dict(r))
        self._changed(r, bar)
        self.last_seq = r.seq

    def _changed(self, r: Any, bar: int) -> None:
        """A fill or a level move: the open trades change (a keyframe every so often)."""
        _change(self._open, r)
        self._changes.append(r)
        self._change_bars.append(bar)
        if len(self._changes) % KEYFRAME_EVERY == 0:
            self._keyframes.append({tid: _copy(t) for tid, t in self._open.items()})

    def _trade(self, r: Any) -> None:
        self._trades.append(r)
        self._trade_bars.append(self._bar_of(r.exit_bar))
        self.last_seq = r.seq

    def _stats_event(self, r: Any) -> None:
        self._stats.append(r)
        self._stats_bars.append(self._bar_of(r.bar_number))
        self.last_seq = r.seq

    def _equity_event(self, r: Any) -> None:
        self._equity_bar.append(self._bar_of(r.bar_number))
        self._equity.append(float(r.equity))
        self._drawdown.append(float(r.drawdown or 0.0))
        self.last_seq = r.seq

    def _complete(self, r: Any) -> None:
        self._metrics = r.metrics if isinstance(r.metrics, dict) else {}
        self.last_seq = r.seq

    def _error_event(self, r: Any) -> None:
        self._error = {"type": "error", "seq": r.seq, "message": r.message, "details": r.details}
        self.last_seq = r.seq

    def fail(self, message: str) -> None:
        """End the run as failed, with ``message`` (a damaged stream, a lost engine)."""
        self._error = {"type": "error", "seq": self.last_seq + 1, "message": message}
        self.version += 1

    # -- comparing -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything shown, as plain data: two states that show the same are equal here."""
        n = self.bars
        return {
            "meta": {k: v for k, v in self.meta.items() if k not in ("created_at", "run_id")},
            "bars": n,
            "time": self.times[:n],
            "ohlcv": [_plain(x[:n]) for x in (self.open, self.high, self.low, self.close)]
            + [_plain(self.volume[:n])],
            "indicators": {k: _plain(v[:n]) for k, v in self.indicators.items()},
            "signals": [_without_run(d) for d in self.signals],
            "markers": [(m.bar, m.price, m.kind, m.trade_id) for m in self.markers],
            "trades": [_without_run(d) for d in self.trades],
            "open_trades": {k: _copy(t) for k, t in self.open_trades.items()},
            "equity": (self.equity_bar, self.equity, self.drawdown),
            "stats": _without_run(self.stats),
            "metrics": self.metrics,
            "error": self.error,
        }


def _plain(values: np.ndarray) -> list[float | None]:
    """Values as a list, NaN as None (so that equal states compare equal)."""
    return [None if v != v else v for v in values.tolist()]


def _without_run(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "run_id"}


def _copy(t: OpenTrade) -> OpenTrade:
    return OpenTrade(
        t.trade_id, t.direction, t.entry_price, t.entry_bar, t.size, t.stop_loss, t.take_profit
    )


def _change(trades: dict[int, OpenTrade], r: Any) -> None:
    """Apply a fill or a level move to a dict of open trades."""
    tid = int(r.trade_id)
    if r.type == "levels":
        t = trades.get(tid)
        if t is not None:
            t.stop_loss, t.take_profit = r.stop_loss, r.take_profit
    elif r.action == "ENTRY":
        bar = int(r.bar_number) - 1
        direction = r.direction or ("long" if r.side == "BUY" else "short")
        trades[tid] = OpenTrade(
            tid, direction, float(r.price), bar, float(r.size), r.stop_loss, r.take_profit
        )
    else:
        trades.pop(tid, None)


_HANDLERS = {
    "metadata": RunState._metadata,
    "candle": RunState._candles,
    "signal": RunState._signal,
    "levels": RunState._levels,
    "trade": RunState._trade,
    "stats": RunState._stats_event,
    "equity": RunState._equity_event,
    "complete": RunState._complete,
    "error": RunState._error_event,
}
