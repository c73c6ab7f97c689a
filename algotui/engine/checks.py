"""Checks on the values a strategy hands the engine: refused at the strategy's own line.

A value the broker cannot use (a text stop-loss, a NaN take-profit, an infinite size) would
otherwise fail deep inside the engine, or worse, silently switch a stop off. Numbers of any
numeric type are accepted, numpy scalars included (``np.float32``, ``np.int64``); ``bool`` is
not a number here.
"""

from __future__ import annotations

import math
import sys
from numbers import Real
from pathlib import Path

from algotui.errors import StrategyError

_PACKAGE = Path(__file__).resolve().parent.parent


def user_line() -> str:
    """`` (at my_strategy.py:14)`` for the nearest caller outside algotui, or ``""``."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        try:
            ours = Path(filename).resolve().is_relative_to(_PACKAGE)
        except (OSError, ValueError):
            ours = False
        if not ours and not filename.startswith("<frozen"):
            try:
                shown = str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
            except ValueError:
                shown = filename
            return f" (at {shown}:{frame.f_lineno})"
        frame = frame.f_back
    return ""


def is_number(value: object) -> bool:
    """True for a real number of any numeric type (numpy scalars too), never for a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def finite_number(label: str, value: object) -> float:
    """``value`` as a finite float, or a StrategyError naming ``label`` and the caller's line."""
    if not is_number(value):
        raise StrategyError(f"{label}={value!r}: give a number{user_line()}")
    number = float(value)  # type: ignore[arg-type]
    if not math.isfinite(number):
        raise StrategyError(f"{label}={value!r}: give a finite number{user_line()}")
    return number


def price_level(label: str, value: object) -> float | None:
    """A price (limit, stop, stop-loss, take-profit) as a positive finite float; None stays."""
    if value is None:
        return None
    if not is_number(value):
        raise StrategyError(f"{label}={value!r}: a price must be a number (or None){user_line()}")
    price = float(value)  # type: ignore[arg-type]
    if not (math.isfinite(price) and price > 0):
        raise StrategyError(
            f"{label}={value!r}: a price must be a finite number above 0{user_line()}"
        )
    return price
