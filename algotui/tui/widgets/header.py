"""The header line: the run's state, REPLAY and the file, symbol, speed, strategy and the
assumptions (cash, commission, slippage, fill), so that a screenshot says what it assumed.

Everything is fitted to the width: at 80 columns the strategy's parameters and then the
assumptions are cut with an ellipsis; the state, the replay badge, the symbol and the speed
always show.
"""

from typing import Any

from rich.text import Text
from textual.widgets import Static

SEP = " │ "

#: The badge colour of each state (theme variables).
COLOURS = {
    "FAILED": "error",
    "DONE": "success",
    "PAUSED": "warning",
    "ENDED EARLY": "warning",
    "LOADING": "secondary",
}


def assumptions(meta: dict[str, Any]) -> str:
    """``cash 10,000  comm 0.1%  slip 0.05%  fill next-open`` from the metadata."""
    parts = []
    cash = meta.get("initial_balance")
    if cash is not None:
        parts.append(f"cash {cash:,.0f}")
    rate = float(meta.get("commission") or 0)
    fixed = float(meta.get("commission_fixed") or 0)
    comm = f"{rate * 100:g}%"
    if fixed:
        comm = f"{fixed:,.2f}" if not rate else f"{comm}+{fixed:,.2f}"
    if "commission" in meta or fixed:
        parts.append(f"comm {comm}")
    if "slippage" in meta:
        parts.append(f"slip {float(meta.get('slippage') or 0) * 100:g}%")
    if meta.get("fill"):
        parts.append(f"fill {meta['fill']}")
    return "  ".join(parts)


def cut(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, ending in an ellipsis when cut."""
    if len(text) <= width:
        return text
    return "" if width <= 0 else text[: width - 1].rstrip() + "…"


def header_text(
    meta: dict[str, Any],
    state: str,
    speed: str,
    width: int,
    *,
    replay_of: str | None = None,
    colours: dict[str, str] | None = None,
    prefix: str = "",
) -> Text:
    """The header for ``width`` cells. ``state`` is the badge (``RUNNING``, ``ENDED EARLY at
    bar 412``...), ``speed`` the speed's text, ``colours`` the theme's variables; ``prefix``
    comes first (a remote viewer's connection: ``live``, ``reconnecting``)."""
    colours = colours or {}
    key = next((k for k in COLOURS if state.startswith(k)), "")
    badge_colour = colours.get(COLOURS.get(key, "accent"), "")
    text = Text(no_wrap=True, overflow="ellipsis")
    if prefix:
        text.append(prefix, style="bold")
        text.append(SEP, style="dim")
    text.append(f"{state:<7}", style=f"bold {badge_colour}".strip())
    if replay_of:
        text.append("  ")
        if not state.startswith("REPLAY"):  # a seek back says REPLAY already
            text.append(" REPLAY ", style="bold reverse")
            text.append(" ")
        text.append(cut(replay_of, max(8, width // 4)))
    if not meta:
        text.append(SEP + "waiting for the run's metadata", style="dim")
        return text
    symbol = f"{meta.get('symbol', '')} {meta.get('interval', '')}".strip()
    text.append(SEP, style="dim")
    text.append(symbol, style="bold")
    text.append(SEP, style="dim")
    text.append(speed)
    params = " ".join(f"{k}={v}" for k, v in (meta.get("params") or {}).items())
    strategy = str(meta.get("strategy", ""))
    costs = assumptions(meta)
    room = width - text.cell_len - len(SEP) * (2 if costs else 1)
    # The strategy's name always shows; its parameters and then the assumptions give way.
    wanted = len(strategy) + (1 + len(params) if params else 0)
    if costs and wanted + len(costs) > room:
        costs_room = max(min(len(costs), room // 2), room - wanted)
        strat_room = room - costs_room
        if strat_room < len(strategy) + 2:  # too narrow: the name before the assumptions
            strat_room = min(room, len(strategy) + 2)
            costs_room = room - strat_room
    else:
        strat_room, costs_room = room, room - wanted
    if strat_room < 2:  # no room for even a cut name
        text.append(" …", style="dim")
        return text
    text.append(SEP, style="dim")
    text.append(cut(strategy, strat_room), style="bold")
    if params and strat_room > len(strategy) + 1:
        text.append(" " + cut(params, strat_room - len(strategy) - 1))
    if costs and costs_room > 0:
        text.append(SEP, style="dim")
        text.append(cut(costs, costs_room), style="dim")
    return text


class StatusBar(Static):
    """One line on top: the state, replay, symbol, speed, strategy and assumptions."""

    DEFAULT_CSS = """
    StatusBar {
        dock: top;
        height: 1;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """
