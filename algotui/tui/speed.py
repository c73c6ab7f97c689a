"""The speed ladder that ``+`` and ``-`` walk: the same range as ``--speed`` (0.1 to 50,000
bars per second), then ``max``. Any speed given on the command line lands on it sensibly: the
next rung up or down from wherever it is."""

#: Bars per second, slowest first; ``None`` (as fast as the engine goes) is the rung above.
LADDER: tuple[float, ...] = (
    0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
    1_000, 2_000, 5_000, 10_000, 20_000, 50_000,
)  # fmt: skip


def faster(speed: float | None) -> float | None:
    """The next rung above ``speed``; past the top, maximum speed (None)."""
    if speed is None:
        return None
    for rung in LADDER:
        if rung > speed * (1 + 1e-9):
            return rung
    return None


def slower(speed: float | None) -> float:
    """The next rung below ``speed`` (from maximum speed: the top rung); never below the
    bottom rung."""
    if speed is None:
        return LADDER[-1]
    for rung in reversed(LADDER):
        if rung < speed * (1 - 1e-9):
            return rung
    return LADDER[0]


def speed_text(speed: float | None) -> str:
    """``max``, ``1 bar/s``, ``0.5 bars/s``, ``2,000 bars/s``."""
    if speed is None:
        return "max"
    unit = "bar/s" if speed == 1 else "bars/s"
    return f"{speed:,.0f} {unit}" if speed >= 1 and speed == int(speed) else f"{speed:g} {unit}"
