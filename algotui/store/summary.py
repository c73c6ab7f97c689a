"""A stored run's summary row as text: the columns ``runs list`` and the runs screen show."""

from typing import Any

from algotui.format import num, pct

#: Column titles, and whether each is right-aligned (numbers) or not.
LIST_COLUMNS: tuple[tuple[str, bool], ...] = (
    ("id", False),
    ("when (UTC)", False),
    ("strategy", False),
    ("symbol", False),
    ("int", False),
    ("bars", True),
    ("return", True),
    ("sharpe", True),
    ("max DD", True),
    ("trades", True),
    ("status", False),
    ("latest", False),
)


def when(stamp: str | None) -> str:
    """``2024-05-01T10:20:30.1Z`` as ``2024-05-01 10:20``."""
    return (stamp or "")[:16].replace("T", " ")


def list_cells(r: dict[str, Any]) -> list[str]:
    """One text per :data:`LIST_COLUMNS` entry for a summary row of ``Store.runs()``."""
    return [
        r["id"],
        when(r["created_at"]),
        r["strategy"],
        r["symbol"],
        r["interval"],
        f"{r['bars']:,}",
        pct(r["return_pct"]),
        num(r["sharpe"]),
        pct(r["max_drawdown"]),
        str(r["trades"]),
        r["status"],
        "*" if r["latest"] else "",
    ]
