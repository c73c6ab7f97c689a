"""What a strategy sees: the bars, its indicators and its position, read-only and only up to
the current bar (a later bar raises :class:`LookAheadError`)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from algotui.engine.broker import Broker

if TYPE_CHECKING:  # pandas only for annotations
    import pandas as pd

COLUMNS = ("Open", "High", "Low", "Close", "Volume")


class LookAheadError(IndexError):
    """A strategy asked for data from a bar that has not happened yet."""


class Indicator:
    """An indicator's values, visible to ``next()`` only up to the current bar.

    ``ind[-1]`` is the current value, ``ind[-2]`` the previous one; ``ind[k]`` with ``k >= 0``
    is bar ``k`` and must not be in the future. ``np.asarray(ind)`` and ``ind.values`` give the
    values so far.
    """

    __slots__ = ("name", "overlay", "levels", "_full", "_list", "_clock")

    def __init__(
        self,
        name: str,
        values: np.ndarray,
        overlay: bool,
        clock: list[int],
        levels: tuple[float, ...] = (),
    ) -> None:
        self.name = name
        self.overlay = overlay
        self.levels = levels  # guide lines the chart draws (e.g. an RSI's own 25/75)
        self._full = _read_only(values)
        self._list = memoryview(np.ascontiguousarray(values, dtype=float))  # fast scalar reads
        self._clock = clock  # [number of visible bars], shared with the strategy

    def __getitem__(self, key: int | slice) -> Any:
        n = self._clock[0]
        if key.__class__ is not int and not isinstance(key, slice):
            key = operator.index(key)  # numpy integers too
        if key.__class__ is int:
            if key < 0:
                key += n
                if key < 0:
                    raise IndexError(f"{self.name}: index out of range")
            elif key >= n:
                raise LookAheadError(
                    f"{self.name}[{key}] is in the future: the current bar is {n - 1}"
                )
            return self._list[key]
        return self._full[:n][key]

    def __len__(self) -> int:
        return self._clock[0]

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        values = self._full[: self._clock[0]]
        return values if dtype is None else values.astype(dtype)

    @property
    def values(self) -> np.ndarray:
        """The values up to and including the current bar."""
        return self._full[: self._clock[0]]

    @property
    def live(self) -> bool:
        """True while ``next()`` runs (the values end at the current bar); False in ``init()``.

        :func:`~algotui.engine.indicators.crossover` reads it: in ``next()`` it answers for
        the current bar with a bool, in ``init()`` it gives the whole history's crossings.
        """
        return self._clock[1] == 1

    def __repr__(self) -> str:
        return f"<Indicator {self.name} bars={self._clock[0]}>"


class _Column:
    """A data column seen up to the current bar (a numpy view, no copy)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.__doc__ = f"{name} values up to and including the current bar."

    def __get__(self, data: Data, owner: type | None = None) -> np.ndarray:
        return data._cols[self.name][: data._clock[0]]


class Data:
    """OHLCV columns as numpy arrays, cut at the current bar while the backtest runs."""

    __slots__ = ("_cols", "_index", "_clock")

    Open = _Column()
    High = _Column()
    Low = _Column()
    Close = _Column()
    Volume = _Column()

    def __init__(self, df: pd.DataFrame, clock: list[int]) -> None:
        self._cols = {c: _read_only(df[c].to_numpy(dtype=float)) for c in COLUMNS}
        self._index = df.index
        self._clock = clock

    @property
    def index(self) -> pd.DatetimeIndex:
        """Timestamps so far."""
        return self._index[: self._clock[0]]

    def __len__(self) -> int:
        return self._clock[0]


def _read_only(values: np.ndarray) -> np.ndarray:
    """A view that cannot be written through: the engine fills orders from the same bars."""
    view = values.view()
    view.flags.writeable = False
    return view


class Position:
    """The net open position, read-only."""

    __slots__ = ("_broker", "_price")

    def __init__(self, broker: Broker, price: Callable[[], float]) -> None:
        self._broker = broker
        self._price = price

    @property
    def size(self) -> float:
        """Signed units: positive long, negative short, 0 flat."""
        return self._broker.units

    @property
    def is_long(self) -> bool:
        """True when long."""
        return self._broker.units > 0

    @property
    def is_short(self) -> bool:
        """True when short."""
        return self._broker.units < 0

    @property
    def pnl(self) -> float:
        """Unrealised profit of the open trades at the current close (after entry commission)."""
        price = self._price()
        return sum(t.pnl_at(price) for t in self._broker.trades)

    def __bool__(self) -> bool:
        return self._broker.units != 0

    def __repr__(self) -> str:
        return f"<Position size={self.size:g}>"
