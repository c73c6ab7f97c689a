"""What a viewer knows about a run so far, built from the event stream alone.

:class:`RunState` is fed events in order (engine :class:`~algotui.engine.events.Event` objects
from a live run, or protocol dicts from a recording or a socket) and keeps what the panes draw:
the bars so far, indicator series, signals, trades, the equity curve, the latest stats and the
final metrics. It imports nothing from the UI; widgets read it on each frame and compare
``version`` to know whether anything changed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from algotui.engine.events import RAW_TYPES, Codec, Event


@dataclass(slots=True)
class Marker:
    """A fill drawn on the chart: ``kind`` is ``long_entry``, ``short_entry`` or ``exit``."""

    bar: int  # 0-based bar index
    price: float
    kind: str
    trade_id: int


@dataclass(slots=True)
class OpenTrade:
    """An open trade's levels, drawn as horizontal lines."""

    trade_id: int
    direction: str
    entry_price: float
    entry_bar: int
    size: float
    stop_loss: float | None
    take_profit: float | None


class Times:
    """Bar timestamps (ISO text): from the live run's codec, or kept from candle events."""

    __slots__ = ("_state", "_list")

    def __init__(self, state: "RunState") -> None:
        self._state = state
        self._list: list[str] = []

    def append(self, stamp: str) -> None:
        self._list.append(stamp)

    def __len__(self) -> int:
        return self._state.bars

    def __getitem__(self, key: int | slice) -> Any:
        n = self._state.bars
        codec = self._state._stamper
        if isinstance(key, slice):
            a, b, step = key.indices(n)
            if codec is None:
                return self._list[a:b:step]
            return [codec(k) for k in range(a, b, step)]
        if key < 0:
            key += n
        if not 0 <= key < n:
            raise IndexError("no such bar yet")
        return codec(key) if codec is not None else self._list[key]


class RunState:
    """The run as seen through its events. ``bars`` counts candles received so far."""

    def __init__(self) -> None:
        self.meta: dict[str, Any] = {}
        self.total_bars = 0
        self.bars = 0
        self.capacity = 0
        self.open = self.high = self.low = self.close = self.volume = np.zeros(0)
        self.times = Times(self)
        self.indicators: dict[str, np.ndarray] = {}
        self.overlay: dict[str, bool] = {}
        self.signals: list[dict[str, Any]] = []
        self.markers: list[Marker] = []
        self.trades: list[dict[str, Any]] = []
        self.open_trades: dict[int, OpenTrade] = {}
        self.equity_bar: list[int] = []
        self.equity: list[float] = []
        self.drawdown: list[float] = []
        self.stats: dict[str, Any] = {}
        self.metrics: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.last_seq = -1
        self.version = 0
        self._codec: Codec | None = None
        self._stamper: Callable[[int], str] | None = None
        self._live: tuple | None = None
        self._live_inds: list[tuple[str, list[float]]] = []

    # -- status --------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        """True once the run completed or failed."""
        return self.metrics is not None or self.error is not None

    @property
    def failed(self) -> bool:
        """True when the run ended with an ``error`` event."""
        return self.error is not None

    @property
    def progress(self) -> float:
        """Percent of bars received."""
        return self.bars * 100.0 / self.total_bars if self.total_bars else 0.0

    def time(self, bar: int) -> str:
        """ISO timestamp of bar ``bar`` (0-based)."""
        return self.times[bar]

    # -- feeding -------------------------------------------------------------------------------

    def attach(self, codec: Codec) -> None:
        """Read live candles straight from the engine's codec (no per-bar dicts)."""
        self._codec = codec
        self._stamper = codec.stamp
        self._live = (codec._o, codec._h, codec._l, codec._c, codec._v)
        self._live_inds = list(codec._ind)

    def apply(self, items: list[Any], codec: Codec | None = None) -> None:
        """Apply a batch of events (engine stream items or protocol dicts), in order.

        Runs of live candles are copied from the engine's arrays as slices, not bar by bar.
        """
        if not items:
            return
        run_start = -1  # first bar index of a pending run of consecutive live candles
        run_end = -1
        for item in items:
            if isinstance(item, Event):
                kind = item.type
                if kind == "candles" or kind == "candle":
                    if self._codec is None:
                        if codec is None:
                            raise ValueError("a live candle needs the run's codec")
                        self.attach(codec)
                    if kind == "candle":
                        a = item.data
                        b = a + 1
                    else:
                        a, b = item.data
                    if a == run_end:
                        run_end = b
                    else:
                        if run_start >= 0:
                            self._live_candles(run_start, run_end)
                        run_start, run_end = a, b
                    self.last_seq = item.seq + b - a - 1
                    continue
                if run_start >= 0:
                    self._live_candles(run_start, run_end)
                    run_start = -1
                    run_end = -1
                data = item.data
                if kind in RAW_TYPES and not isinstance(data, dict):
                    if self._codec is None:
                        if codec is None:
                            raise ValueError("a live event needs the run's codec")
                        self.attach(codec)
                    data = self._codec.payload(item, self._stamper)
                self.last_seq = item.seq
            else:
                data = item
                kind = item.get("type")
                self.last_seq = item.get("seq", self.last_seq)
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self, data)
        if run_start >= 0:
            self._live_candles(run_start, run_end)
        self.version += 1

    # -- handlers ------------------------------------------------------------------------------

    def _metadata(self, d: dict[str, Any]) -> None:
        self.meta = dict(d)
        self.total_bars = int(d.get("total_bars") or 0)
        self._grow(max(self.total_bars, 16))
        for spec in d.get("indicators") or []:
            self.overlay[spec["name"]] = bool(spec.get("overlay", True))
            self.indicators[spec["name"]] = np.full(self.capacity, np.nan)

    def _grow(self, need: int) -> None:
        if need <= self.capacity:
            return
        cap = max(need, self.capacity * 2, 16)

        def grown(a: np.ndarray) -> np.ndarray:
            b = np.full(cap, np.nan)
            b[: self.bars] = a[: self.bars]
            return b

        self.open, self.high, self.low = grown(self.open), grown(self.high), grown(self.low)
        self.close, self.volume = grown(self.close), grown(self.volume)
        self.indicators = {k: grown(v) for k, v in self.indicators.items()}
        self.capacity = cap

    def _live_candles(self, a: int, b: int) -> None:
        """Bars ``a..b-1`` of the live run, copied as slices of the engine's arrays."""
        n = self.bars
        k = b - a
        if n + k > self.capacity:
            self._grow(n + k)
        for dest, src in zip(
            (self.open, self.high, self.low, self.close, self.volume), self._live, strict=True
        ):
            dest[n : n + k] = src[a:b]
        for name, values in self._live_inds:
            self.indicators[name][n : n + k] = values[a:b]
        self.bars = n + k

    def _candle(self, d: dict[str, Any]) -> None:
        n = self.bars
        if n >= self.capacity:
            self._grow(n + 1)
        self.open[n] = d["open"]
        self.high[n] = d["high"]
        self.low[n] = d["low"]
        self.close[n] = d["close"]
        self.volume[n] = d.get("volume") or 0.0
        for name, value in (d.get("indicators") or {}).items():
            series = self.indicators.get(name)
            if series is None:
                series = self.indicators[name] = np.full(self.capacity, np.nan)
                self.overlay.setdefault(name, True)
            series[n] = np.nan if value is None else value
        self.times.append(d["timestamp"])
        self.bars = n + 1

    def _signal(self, d: dict[str, Any]) -> None:
        self.signals.append(d)
        bar = int(d.get("bar_number") or self.bars) - 1
        tid = int(d["trade_id"])
        if d["action"] == "ENTRY":
            direction = d.get("direction") or ("long" if d["side"] == "BUY" else "short")
            kind = "long_entry" if direction == "long" else "short_entry"
            self.open_trades[tid] = OpenTrade(
                tid,
                direction,
                float(d["price"]),
                bar,
                float(d["size"]),
                d.get("stop_loss"),
                d.get("take_profit"),
            )
        else:
            kind = "exit"
            self.open_trades.pop(tid, None)
        self.markers.append(Marker(bar, float(d["price"]), kind, tid))

    def _trade(self, d: dict[str, Any]) -> None:
        self.trades.append(d)

    def _stats(self, d: dict[str, Any]) -> None:
        self.stats = d

    def _equity(self, d: dict[str, Any]) -> None:
        self.equity_bar.append(int(d.get("bar_number") or self.bars) - 1)
        self.equity.append(float(d["equity"]))
        self.drawdown.append(float(d.get("drawdown") or 0.0))

    def _complete(self, d: dict[str, Any]) -> None:
        self.metrics = d.get("metrics") or {}

    def _error(self, d: dict[str, Any]) -> None:
        self.error = d


_HANDLERS = {
    "metadata": RunState._metadata,
    "candle": RunState._candle,
    "signal": RunState._signal,
    "trade": RunState._trade,
    "stats": RunState._stats,
    "equity": RunState._equity,
    "complete": RunState._complete,
    "error": RunState._error,
}
