"""Number formatting shared by the summary table and the stats panel."""


def money(x: float | None) -> str:
    """A money amount with thousands separators, or a dash."""
    return "-" if x is None else f"{x:,.2f}"


def pct(x: float | None) -> str:
    """A percentage, or a dash."""
    return "-" if x is None else f"{x:.2f}%"


def num(x: float | None) -> str:
    """A ratio, or a dash."""
    return "-" if x is None else f"{x:.2f}"
