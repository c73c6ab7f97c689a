"""What a viewer knows about a run so far, built from the event stream alone.

:class:`RunState` is fed events in order (engine :class:`~algotui.protocol.codec.Event` objects
from a live run, or protocol dicts from a recording or a socket) and keeps what the panes draw:
the bars so far, indicator series, signals, trades, the equity curve, the latest stats and the
final metrics. It imports nothing from the UI; widgets read it on each frame and compare
``version`` to know whether anything changed.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from algotui.protocol.codec import RAW_TYPES, Codec, Event


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


class Payloads:
    """A list of events kept as they came: a live engine's compact events become their
    protocol dicts only when read (most never are: the log shows a screenful)."""

    __slots__ = ("_items", "_state")

    def __init__(self, state: "RunState") -> None:
        self._items: list[Any] = []
        self._state = state

    def append(self, item: Any) -> None:
        self._items.append(item)

    def __len__(self) -> int:
        return len(self._items)

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            return [self[k] for k in range(*key.indices(len(self._items)))]
        item = self._items[key]
        if isinstance(item, Event):
            item = self._items[key] = self._state._payload(item)
        return item

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for k in range(len(self._items)):
            yield self[k]

    def __bool__(self) -> bool:
        return bool(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Payloads | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - a mutable sequence


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
        self.signals = Payloads(self)
        self.markers: list[Marker] = []
        self.trades = Payloads(self)
        self.open_trades: dict[int, OpenTrade] = {}
        self.equity_bar: list[int] = []
        self.equity: list[float] = []
        self.drawdown: list[float] = []
        self._stats_item: Any = {}
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
    def stats(self) -> dict[str, Any]:
        """The latest ``stats`` event's fields."""
        if isinstance(self._stats_item, Event):
            self._stats_item = self._payload(self._stats_item)
        return self._stats_item

    def _payload(self, event: Event) -> dict[str, Any]:
        assert self._codec is not None
        return self._codec.payload(event, self._stamper)

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
        columns = (codec._o, codec._h, codec._l, codec._c, codec._v)
        self._live = tuple(np.asarray(c, dtype=float) for c in columns)  # views, no copies
        self._live_inds = [(name, np.asarray(v, dtype=float)) for name, v in codec._ind]

    def apply(self, items: list[Any], codec: Codec | None = None) -> None:
        """Apply a batch of events (engine stream items or protocol dicts), in order.

        Live candles are copied from the engine's arrays as slices, one slice for all the bars
        of the batch; a live engine's compact events are kept as they are until read.
        """
        if not items:
            return
        run_start = -1  # first bar index of the pending run of consecutive live candles
        run_end = -1
        for item in items:
            if isinstance(item, Event):
                kind = item.type
                if self._codec is None and kind in _LIVE_TYPES:
                    if codec is None:
                        raise ValueError("a live event needs the run's codec")
                    self.attach(codec)
                if kind == "candles" or kind == "candle":
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
                self.last_seq = item.seq
                data = item.data
                if kind in RAW_TYPES and not isinstance(data, dict):
                    _RAW_HANDLERS[kind](self, item)
                    continue
            else:
                if run_start >= 0:  # a dict's handler may read the bars so far
                    self._live_candles(run_start, run_end)
                    run_start = run_end = -1
                data = item
                kind = item.get("type")
                self.last_seq = item.get("seq", self.last_seq)
            handler = _HANDLERS.get(kind)
            if handler is not None:
                handler(self, data)
        if run_start >= 0:
            self._live_candles(run_start, run_end)
        self.version += 1

    # -- a live engine's compact events --------------------------------------------------------

    def _raw_signal(self, event: Event) -> None:
        fill, sl, tp = event.data
        t = fill.trade
        self.signals.append(event)
        if fill.exit:
            self.open_trades.pop(t.trade_id, None)
            self.markers.append(Marker(t.exit_bar, t.exit_price, "exit", t.trade_id))
            return
        direction = "long" if t.is_long else "short"
        bar, price = t.entry_bar, t.entry_price
        self.open_trades[t.trade_id] = OpenTrade(t.trade_id, direction, price, bar, t.size, sl, tp)
        self.markers.append(Marker(bar, price, f"{direction}_entry", t.trade_id))

    def _raw_trade(self, event: Event) -> None:
        self.trades.append(event)

    def _raw_stats(self, event: Event) -> None:
        self._stats_item = event

    def _raw_equity(self, event: Event) -> None:
        i, eq, peak, _ = event.data
        self.equity_bar.append(i)
        self.equity.append(eq)
        self.drawdown.append((peak - eq) * 100.0 / peak if peak > 0 else 0.0)

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
        self._stats_item = d

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

_LIVE_TYPES = RAW_TYPES | {"candle", "candles"}  # events that need the engine's codec
_RAW_HANDLERS = {
    "signal": RunState._raw_signal,
    "trade": RunState._raw_trade,
    "stats": RunState._raw_stats,
    "equity": RunState._raw_equity,
}
