"""Rich styles made from the theme, indexed by small integers so a frame is a grid of ints.

The colours come from :func:`algotui.tui.theming.theme_colors` (the one path from a theme to
colours); this module only turns them into the styles the renderers index.
"""

from typing import Any

from rich.style import Style
from textual.color import Color

from algotui.tui.theming import series_colors

__all__ = ["Palette", "distinct"]


def _readable(color: Color, background: Color, contrast: float) -> Color:
    """``color`` lightened (dark background) or darkened until it stands out enough."""
    for _ in range(8):
        if abs(color.brightness - background.brightness) >= contrast:
            break
        color = color.lighten(0.08) if background.brightness < 0.5 else color.darken(0.08)
    return color


def distinct(a: Color, b: Color) -> bool:
    """True if two colours tell apart as lines: different hues, or grey against colour."""
    ha, hb = a.hsl, b.hsl
    if ha.s > 0.2 and hb.s > 0.2:
        d = abs(ha.h - hb.h)
        return min(d, 1 - d) > 0.07 or abs(ha.l - hb.l) > 0.3
    return (ha.s > 0.2) != (hb.s > 0.2) or abs(ha.l - hb.l) > 0.3


class Palette:
    """The styles of one theme on one background, by index.

    Index 0 is the widget's own style (its background and text colour); the named constants
    below are the others; ``series(i)`` is the style of the i-th indicator line. ``no_color``
    is set when the terminal shows no colour (``NO_COLOR``): renderers then tell things apart
    by shape (hollow rising candles, filled falling ones).
    """

    BASE, BULL, BEAR, MUTED, FG, LONG, SHORT, EXIT_WIN, EXIT_LOSS, WARN = range(10)
    TITLE, BULL_LABEL, BEAR_LABEL, FOLLOW, PAN, FAINT, PRIMARY, CURSOR = range(10, 18)
    BOX, BOX_MUTED, BOX_BULL, BOX_BEAR, BOX_TITLE, SHADE = range(18, 24)
    SERIES = 24
    #: Theme variables tried, in order, for indicator lines when the theme lists no ``series``
    #: (near-duplicates are skipped).
    SERIES_VARIABLES = ("primary", "accent", "secondary", "warning", "foreground")

    def __init__(
        self,
        colors: dict[str, str],
        base: Style,
        background: Color | None,
        no_color: bool = False,
    ) -> None:
        def get(name: str, fallback: str) -> Color:
            try:
                return Color.parse(colors.get(name, fallback))
            except Exception:  # an unparsable theme value: fall back rather than crash
                return Color.parse(fallback)

        bg = background if background is not None and background.a > 0 else None
        if bg is None:
            bg = get("background", "#000000")
        bg = bg.with_alpha(1.0)
        fg = bg + get("foreground", "#e0e0e0")
        self.no_color = no_color

        def color(name: str, fallback: str, contrast: float = 0.25) -> Color:
            return _readable(bg + get(name, fallback), bg, contrast)

        bull, bear = color("success", "#4ebf71"), color("error", "#ba3c5b")
        warning = color("warning", "#ffa62b")
        muted = bg.blend(fg, 0.55)
        faint = bg.blend(fg, 0.3)
        box = bg.blend(fg, 0.14)
        series: list[Color] = []
        for value in series_colors(colors):
            try:
                series.append(_readable(bg + Color.parse(value), bg, 0.3))
            except Exception:  # a bad colour in a theme file: use the theme's others
                continue
        if not series:
            for name in self.SERIES_VARIABLES:
                c = color(name, "#0178d4", 0.3)
                if all(distinct(c, other) for other in (*series, bull, bear)):
                    series.append(c)
            if len(series) < 2:
                series += [muted, warning]
        self.background = bg
        self.series_colors = series

        def st(c: Color, **kw: Any) -> Style:
            return base + Style(color=c.rich_color, **kw)

        def on(c: Color, text: Color = bg) -> Style:
            # A solid cell of colour with the glyph cut out: a marker that reads at a glance.
            return base + Style(color=text.rich_color, bgcolor=c.rich_color, bold=True)

        def boxed(c: Color, **kw: Any) -> Style:
            return base + Style(color=c.rich_color, bgcolor=box.rich_color, **kw)

        self.styles: list[Style] = [
            base,
            st(bull),
            st(bear),
            st(muted),
            st(fg),
            on(bull),
            on(bear),
            on(bull),
            on(bear),
            st(warning),
            st(fg, bold=True),
            on(bull),
            on(bear),
            st(bull, bold=True, reverse=True),
            st(warning, bold=True, reverse=True),
            st(faint),
            st(color("primary", "#0178d4")),
            st(muted),
            boxed(fg),
            boxed(muted),
            boxed(bull),
            boxed(bear),
            boxed(fg, bold=True),
            st(bg.blend(bear, 0.55)),  # drawdown: a shade of the loss colour, under the lines
        ]
        self.styles += [st(c) for c in series]

    def series(self, i: int) -> int:
        """Style index of the i-th indicator line (colours cycle)."""
        return self.SERIES + i % len(self.series_colors)
