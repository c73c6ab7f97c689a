"""Number formatting, in one place: the charts' axes and readouts, the panes and the summary."""

import math

__all__ = ["compact", "money", "num", "pct", "price", "size"]


def money(x: float | None) -> str:
    """A money amount with thousands separators, or a dash."""
    return "-" if x is None else f"{x:,.2f}"


def pct(x: float | None) -> str:
    """A percentage, or a dash."""
    return "-" if x is None else f"{x:.2f}%"


def num(x: float | None) -> str:
    """A ratio, or a dash."""
    return "-" if x is None else f"{x:.2f}"


def price(x: float | None) -> str:
    """A price: two decimals from 1 up, five significant digits below (FX, crypto pennies)."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:,.2f}" if abs(x) >= 1 else f"{x:.5g}"


def size(x: float | None) -> str:
    """A position size: whole units without decimals, fractional units to four digits."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:,.0f}" if x == int(x) else f"{x:.4g}"


def compact(value: float, decimals: int = 2, width: int = 9) -> str:
    """A number in at most ``width`` cells: 123.45, 1,234.5, 0.01234, 1.23M (for axes)."""
    if not math.isfinite(value):
        return "-"
    for d in range(decimals, -1, -1):
        s = f"{value:,.{d}f}"
        if len(s) <= width:
            return s
    for div, suffix in ((1e3, "K"), (1e6, "M"), (1e9, "B"), (1e12, "T")):
        v = value / div
        if abs(v) >= 999.5 and suffix != "T":
            continue
        for d in (2, 1, 0):
            s = f"{v:,.{d}f}{suffix}"
            if len(s) <= width:
                return s
    return f"{value:.1e}"
