"""The pieces of a run state a viewer reads: markers, open trades' levels, and the lists of
signals, trades and bar times as far as they are shown."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from algotui.view.state import RunState


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


class Shown:
    """The first ``n`` records of a list, read as protocol dicts (made on first read: a live
    run's signals are mostly never read, the log shows a screenful)."""

    __slots__ = ("_items", "_dicts", "_n", "_encode")

    def __init__(self, items: list[Any], dicts: list[Any], n: int, encode: Any) -> None:
        self._items, self._dicts, self._n, self._encode = items, dicts, n, encode

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, slice):
            return [self[k] for k in range(*key.indices(self._n))]
        if key < 0:
            key += self._n
        if not 0 <= key < self._n:
            raise IndexError("not shown")
        dicts = self._dicts
        while len(dicts) <= key:
            dicts.append(None)
        d = dicts[key]
        if d is None:
            d = dicts[key] = self._encode(self._items[key])
        return d

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for k in range(self._n):
            yield self[k]

    def __bool__(self) -> bool:
        return self._n > 0

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Shown | list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


class Times:
    """Bar times as ISO 8601 text, formatted on request from epoch seconds."""

    __slots__ = ("_state",)

    def __init__(self, state: "RunState") -> None:
        self._state = state

    def __len__(self) -> int:
        return self._state.bars

    def __getitem__(self, key: int | slice) -> Any:
        state = self._state
        n = state.bars
        if isinstance(key, slice):
            return [state._encoder.stamp(t) for t in state._time[:n][key].tolist()]
        if key < 0:
            key += n
        if not 0 <= key < n:
            raise IndexError("no such bar yet")
        return state._encoder.stamp(int(state._time[key]))
