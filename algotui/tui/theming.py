"""Themes are data: TOML files in ``themes/`` (shipped inside the wheel as ``algotui/themes``).

This is also the one place where a theme becomes colours for drawing: :func:`theme_colors`
(every variable of the current theme) and :func:`series_colors` (the indicator lines). The
charts make their styles from these in :mod:`algotui.tui.render.palette`.
"""

import tomllib
from pathlib import Path
from typing import Any

from textual.app import App
from textual.theme import Theme

from algotui.errors import UserError

DEFAULT_THEME = "algotui-dark"
_FIELDS = (
    "primary",
    "secondary",
    "accent",
    "foreground",
    "background",
    "surface",
    "panel",
    "success",
    "warning",
    "error",
)
#: Theme variables holding the indicator line colours, in order (from a theme's ``series``).
SERIES_PREFIX = "series-"


def themes_dir() -> Path:
    """The folder holding the theme files (inside the installed package, or the source tree)."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "themes"
    return packaged if packaged.is_dir() else package.parent / "themes"


def load_themes(folder: Path | None = None) -> list[Theme]:
    """Every theme in ``folder``, sorted by name with the default first.

    A theme file may list ``series = ["#..", ...]``: the colours of indicator lines, in order
    (chosen to stay apart from each other and from the candles).
    """
    themes = []
    for path in sorted((folder or themes_dir()).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            kwargs = {k: data[k] for k in _FIELDS if k in data}
            series = data.get("series", [])
            if not isinstance(series, list) or not all(isinstance(c, str) for c in series):
                raise KeyError("series must be a list of colours")
            variables = {f"{SERIES_PREFIX}{i + 1}": c for i, c in enumerate(series)}
            themes.append(
                Theme(
                    name=data["name"],
                    dark=bool(data.get("dark", True)),
                    variables=variables,
                    **kwargs,
                )
            )
        except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"theme file {path} is broken ({exc}); fix or remove it") from None
    themes.sort(key=lambda t: (t.name != DEFAULT_THEME, t.name))
    return themes


def theme_colors(app: App[Any]) -> dict[str, str]:
    """The current theme's colour variables ($primary, $success, $series-1...), as CSS text."""
    theme = app.current_theme
    return {**theme.to_color_system().generate(), **theme.variables}


def series_colors(colors: dict[str, str]) -> list[str]:
    """The theme's own indicator colours (``series-1``, ``series-2``...), in order."""
    out = []
    i = 1
    while f"{SERIES_PREFIX}{i}" in colors:
        out.append(colors[f"{SERIES_PREFIX}{i}"])
        i += 1
    return out
