"""The strategy API: parameters, indicators declared once, and ``next()`` called per bar.

One class a user subclasses, kept in one piece so that its whole surface reads in one place
(what it sees of the data lives in :mod:`algotui.engine.views`).

A strategy sees the data only up to the bar being processed. Inside ``next()``,
``self.data.Close`` is the closes so far (``[-1]`` is the current bar) and an indicator's
``[-1]`` is its current value; asking for a later bar raises :class:`LookAheadError`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from algotui.engine.broker import Broker, Order
from algotui.engine.checks import finite_number, price_level, user_line
from algotui.engine.trade import Trade
from algotui.engine.views import Data, Indicator, Position
from algotui.errors import StrategyError

if TYPE_CHECKING:  # pandas only for annotations: `algotui strategies` should not load it
    import pandas as pd

PARAM_TYPES = (bool, int, float, str)
COLUMNS = ("Open", "High", "Low", "Close", "Volume")
#: Class attributes a strategy may set that are settings, not parameters.
OVERRIDABLE = frozenset({"name", "fractional"})
#: Attributes every strategy instance has: a parameter may not take their names.
RESERVED = frozenset({"data", "indicators", "position"})


class Strategy:
    """Base class of every strategy.

    Class attributes of type int, float, bool or str are parameters (``-p name=value`` on the
    command line). Override :meth:`init` to declare indicators with :meth:`indicator` and
    :meth:`next` to trade with :meth:`buy`, :meth:`sell` and :meth:`close`.
    """

    #: The name the strategy is listed and recorded under (default: the class name).
    name: ClassVar[str] = ""
    #: Size all-in and fractional orders in fractional units (crypto, FX) instead of whole ones.
    fractional: ClassVar[bool] = False

    def __init__(self, broker: Broker, data: pd.DataFrame, params: dict[str, Any]) -> None:
        # [bars visible, 1 once next() runs]: shared with the data and every indicator.
        self._clock = [len(data), 0]
        self._in_init = True  # the engine clears it before the first next()
        self._broker = broker
        self._closes: Sequence[float] = broker._c
        self.data = Data(data, self._clock)
        self.indicators: list[Indicator] = []
        self._wake: np.ndarray | None = None  # the bars next() runs on, if not every bar
        self.position = Position(broker, lambda: self._closes[self._clock[0] - 1])
        for name, value in params.items():
            setattr(self, name, value)

    @property
    def _in_init(self) -> bool:
        """True until the engine starts calling next() (orders are refused until then)."""
        return self._clock[1] == 0

    @_in_init.setter
    def _in_init(self, value: bool) -> None:
        self._clock[1] = 0 if value else 1

    # -- parameters ----------------------------------------------------------------------------

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """The strategy's parameters and their defaults, in declaration order."""
        params: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            if klass is object or klass is Strategy:
                continue
            for name, value in vars(klass).items():
                if name.startswith("_") or name in OVERRIDABLE:
                    continue
                if name in RESERVED or (hasattr(Strategy, name) and not callable(value)):
                    raise StrategyError(
                        f"{cls.__name__}.{name}: '{name}' is a name of the strategy API; "
                        "give the parameter another name"
                    )
                if type(value) in PARAM_TYPES:
                    params[name] = value
        return params

    @classmethod
    def resolve_params(cls, overrides: dict[str, str | Any]) -> dict[str, Any]:
        """Defaults updated with ``overrides``, coerced to each default's type."""
        params = cls.parameters()
        for name, raw in overrides.items():
            if name not in params:
                known = ", ".join(params) or "none"
                raise StrategyError(
                    f"{cls.__name__} has no parameter {name!r} (parameters: {known})"
                )
            params[name] = coerce(name, raw, params[name])
        cls._check_methods()
        probe = cls.__new__(cls)  # validate() reads the parameters only: no data, no broker
        probe.__dict__.update(params)
        probe.validate()
        return params

    @classmethod
    def _check_methods(cls) -> None:
        """Refuse an ``init``/``next`` the engine would call without running its body."""
        for name in ("init", "next"):
            method = getattr(cls, name)
            if inspect.isgeneratorfunction(method) or inspect.isasyncgenfunction(method):
                kind = "a generator (it contains yield)"
            elif inspect.iscoroutinefunction(method):
                kind = "a coroutine (async def)"
            else:
                continue
            raise StrategyError(
                f"{cls.__name__}.{name}() is {kind}: the engine calls it once per "
                f"{'bar' if name == 'next' else 'run'} and would never run its body; "
                "write a plain def that returns nothing"
            )

    def validate(self) -> None:
        """Refuse parameter values the strategy cannot work with; override it.

        Runs before any data is loaded, with the parameters set as attributes (and nothing
        else: no data, no indicators). Call :meth:`require` for each rule, e.g.
        ``self.require(0 < self.lower < self.upper < 100, "need 0 < lower < upper < 100")``.
        A broken rule stops the command with one line and exit code 2.
        """

    def require(self, condition: object, message: str) -> None:
        """Raise a one-line :class:`StrategyError` with ``message`` unless ``condition``."""
        if not condition:
            shown = " ".join(
                f"{k}={v!r}" for k, v in self.__dict__.items() if not k.startswith("_")
            )
            raise StrategyError(f"{type(self).__name__}: {message} (got {shown})")

    # -- to override ---------------------------------------------------------------------------

    def init(self) -> None:
        """Declare indicators here, once, vectorised over the whole history."""

    def next(self) -> None:
        """Called once per bar, after pending orders were processed on that bar."""

    # -- indicators ----------------------------------------------------------------------------

    def indicator(
        self,
        fn: Callable[..., Any] | Sequence[float] | np.ndarray,
        *args: Any,
        name: str | Sequence[str] | None = None,
        overlay: bool | None = None,
        levels: Sequence[float] = (),
        **kwargs: Any,
    ) -> Any:
        """Compute an indicator once over the full history and record it for plotting.

        ``fn(*args, **kwargs)`` (or an array given directly) must return one array, or a
        tuple of arrays, as long as the data. ``overlay`` draws it over the candles (default:
        true when its values sit near the price). ``levels`` are guide lines drawn across its
        pane (e.g. ``levels=(self.lower, self.upper)`` for an RSI). Returns an
        :class:`Indicator`, or a tuple of them for a tuple result.
        """
        result = fn(*args, **kwargs) if callable(fn) else fn
        outputs = list(result) if isinstance(result, tuple) else [result]
        if isinstance(name, str) or name is None:
            base = name or getattr(fn, "__name__", "indicator")
            names = [base] if len(outputs) == 1 else [f"{base}[{k}]" for k in range(len(outputs))]
        else:
            names = list(name)
            if len(names) != len(outputs):
                raise StrategyError(
                    f"indicator gives {len(outputs)} outputs but {len(names)} names"
                )
        try:
            guides = tuple(float(x) for x in levels)
        except (TypeError, ValueError):
            raise StrategyError(f"levels={levels!r}: give a sequence of numbers") from None
        if not all(math.isfinite(x) for x in guides):
            raise StrategyError(f"levels={levels!r}: every level must be a finite number")
        n = len(self._closes)
        made = []
        for label, out in zip(names, outputs, strict=True):
            values = np.asarray(out, dtype=float).reshape(-1)
            if len(values) != n:
                raise StrategyError(
                    f"indicator {label!r} has {len(values)} values for {n} bars; "
                    "an indicator must return one value per bar"
                )
            if any(ind.name == label for ind in self.indicators):
                raise StrategyError(f"two indicators are named {label!r}; give each its own name")
            is_overlay = _near_price(values, self._closes) if overlay is None else overlay
            ind = Indicator(label, values, is_overlay, self._clock, guides)
            self.indicators.append(ind)
            made.append(ind)
        return made[0] if len(made) == 1 else tuple(made)

    def wake_on(self, bars: Sequence[bool] | Sequence[int] | np.ndarray | None) -> None:
        """Run :meth:`next` only on these bars: a boolean mask with one value per bar, or
        bar indexes (None: every bar, the default). Call it in :meth:`init`.

        For strategies whose decisions are known vectorised (crossings, thresholds): on the
        other bars the engine still fills orders, checks SL/TP and marks equity, but when
        nothing is pending it passes over them in bulk instead of bar by bar. ``next()``
        must not need to run there: anything it would do on those bars is skipped.
        """
        if not self._in_init:
            raise StrategyError("wake_on() belongs in init(), before the first bar")
        if bars is None:
            self._wake = None
            return
        n = len(self._closes)
        marks = np.asarray(bars)
        if marks.dtype == bool:
            if marks.shape != (n,):
                raise StrategyError(
                    f"wake_on() mask has {marks.size} values for {n} bars; give one per bar"
                )
            wake = np.flatnonzero(marks)
        elif marks.size and not np.issubdtype(marks.dtype, np.integer):
            raise StrategyError("wake_on() takes a boolean mask or integer bar indexes")
        elif n > 2 and marks.shape == (n,) and np.isin(marks, (0, 1)).all():
            raise StrategyError(
                "wake_on() got 0s and 1s, one per bar: that reads as bar indexes 0 and 1; "
                "pass a boolean mask (mask.astype(bool)) or the bar indexes"
            )
        else:
            wake = np.unique(marks.astype(np.int64).reshape(-1))
            if wake.size and (wake[0] < 0 or wake[-1] >= n):
                raise StrategyError(f"wake_on() bar indexes must lie in 0..{n - 1}")
        self._wake = wake.astype(np.int64)

    # -- orders --------------------------------------------------------------------------------

    def buy(
        self,
        size: float | None = None,
        *,
        units: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        reason: str = "",
    ) -> Order:
        """Place a buy order (go long, or close a short and go long)."""
        return self._order(True, size, units, limit, stop, sl, tp, reason)

    def sell(
        self,
        size: float | None = None,
        *,
        units: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
        sl: float | None = None,
        tp: float | None = None,
        reason: str = "",
    ) -> Order:
        """Place a sell order (go short, or close a long and go short)."""
        return self._order(False, size, units, limit, stop, sl, tp, reason)

    def close(self, reason: str = "") -> Order | None:
        """Close every open trade at market. Does nothing when flat."""
        self._check_trading()
        if not self._broker.trades:
            return None
        broker = self._broker
        placed = self._clock[0] - 1
        order = Order(
            broker.units < 0, None, None, None, None, None, None, str(reason), placed, True
        )
        return broker.submit(order)

    def cancel_orders(self) -> None:
        """Cancel every pending order."""
        self._broker.cancel_all()

    def _order(
        self,
        is_buy: bool,
        size: float | None,
        units: float | None,
        limit: float | None,
        stop: float | None,
        sl: float | None,
        tp: float | None,
        reason: str,
    ) -> Order:
        if self._in_init:
            raise StrategyError("orders can only be placed in next(), not in init()")
        if size is None and units is None and limit is None and stop is None:
            if sl is None and tp is None:  # a plain all-in market order: nothing to check
                placed = self._clock[0] - 1
                order = Order(is_buy, None, None, None, None, None, None, str(reason), placed)
                return self._broker.submit(order)
        limit = price_level("limit", limit)
        stop = price_level("stop", stop)
        sl = price_level("sl", sl)
        tp = price_level("tp", tp)
        if size is not None and units is not None:
            raise StrategyError(f"give either size= or units=, not both{user_line()}")
        if size is not None:
            size = finite_number("size", size)
            if not (0 < size < 1 or (size >= 1 and size == int(size))):
                raise StrategyError(
                    f"size={size!r}: use 0 < size < 1 for a fraction of equity, a whole number "
                    f"of units, or units= for fractional units{user_line()}"
                )
        if units is not None:
            units = finite_number("units", units)
            if not units > 0:
                raise StrategyError(f"units={units!r} must be positive{user_line()}")
        ref = (
            limit
            if limit is not None
            else stop
            if stop is not None
            else self._closes[self._clock[0] - 1]
        )
        side = "long" if is_buy else "short"
        low, high = (sl, tp) if is_buy else (tp, sl)
        if (low is not None and not low < ref) or (high is not None and not ref < high):
            raise StrategyError(
                f"{side} order needs {'SL < price < TP' if is_buy else 'TP < price < SL'} "
                f"(price {ref:g}, sl {sl}, tp {tp}){user_line()}"
            )
        order = Order(
            is_buy=is_buy,
            size=size,
            units=units,
            limit=limit,
            stop=stop,
            sl=sl,
            tp=tp,
            reason=str(reason),
            placed_bar=self._clock[0] - 1,
        )
        return self._broker.submit(order)

    def _check_trading(self) -> None:
        if self._in_init:
            raise StrategyError("orders can only be placed in next(), not in init()")

    # -- account -------------------------------------------------------------------------------

    @property
    def i(self) -> int:
        """Index of the current bar (0-based)."""
        return self._clock[0] - 1

    @property
    def time(self) -> pd.Timestamp:
        """Timestamp of the current bar."""
        return self.data._index[self._clock[0] - 1]

    @property
    def price(self) -> float:
        """Close of the current bar."""
        return self._closes[self._clock[0] - 1]

    @property
    def equity(self) -> float:
        """Cash plus open trades marked at the current close."""
        return self._broker.equity(self.price)

    @property
    def cash(self) -> float:
        """Money not invested in open positions (short-sale proceeds included)."""
        return self.equity - self._broker.units * self.price

    @property
    def trades(self) -> tuple[Trade, ...]:
        """Open trades, oldest first. Setting a trade's ``sl`` or ``tp`` moves its bracket."""
        # The strategy may move a bracket through these objects: have the broker look at
        # them on the next bar (it forgets again once no trade has a bracket).
        self._broker.has_brackets = True
        return tuple(self._broker.trades)

    @property
    def closed_trades(self) -> tuple[Trade, ...]:
        """Closed trades, in closing order."""
        return tuple(self._broker.closed)

    @property
    def orders(self) -> tuple[Order, ...]:
        """Pending orders."""
        return tuple(self._broker.orders)


def coerce(name: str, raw: Any, default: Any) -> Any:
    """Coerce a command-line value to the type of the parameter's default."""
    kind = type(default)
    if not isinstance(raw, str):
        if kind is float and type(raw) in (int, float):
            if not math.isfinite(raw):
                raise StrategyError(f"parameter {name}={raw!r}: expected a finite number")
            return float(raw)
        if type(raw) is kind:
            return raw
        raw = str(raw)
    text = raw.strip()
    try:
        if kind is bool:
            low = text.lower()
            if low in ("1", "true", "yes", "on", "y"):
                return True
            if low in ("0", "false", "no", "off", "n"):
                return False
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            value = float(text)
            if not math.isfinite(value):
                raise StrategyError(f"parameter {name}={raw!r}: expected a finite number")
            return value
    except ValueError:
        expected = {bool: "true or false", int: "a whole number", float: "a number"}[kind]
        raise StrategyError(f"parameter {name}={raw!r}: expected {expected}") from None
    return text


def _near_price(values: np.ndarray, closes: Sequence[float]) -> bool:
    """True when an indicator's values lie in the price's range (so it overlays the candles)."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return False
    prices = np.asarray(closes)
    lo, hi = float(prices.min()), float(prices.max())
    span = hi - lo or abs(hi) or 1.0
    return bool(np.median(finite) > lo - span and np.median(finite) < hi + span)
