"""Themes are data: TOML files in ``themes/`` (shipped inside the wheel as ``algotui/themes``)."""

import tomllib
from pathlib import Path

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


def themes_dir() -> Path:
    """The folder holding the theme files (inside the installed package, or the source tree)."""
    package = Path(__file__).resolve().parents[1]
    packaged = package / "themes"
    return packaged if packaged.is_dir() else package.parent / "themes"


def load_themes(folder: Path | None = None) -> list[Theme]:
    """Every theme in ``folder``, sorted by name with the default first."""
    themes = []
    for path in sorted((folder or themes_dir()).glob("*.toml")):
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            kwargs = {k: data[k] for k in _FIELDS if k in data}
            themes.append(Theme(name=data["name"], dark=bool(data.get("dark", True)), **kwargs))
        except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
            raise UserError(f"theme file {path} is broken ({exc}); fix or remove it") from None
    themes.sort(key=lambda t: (t.name != DEFAULT_THEME, t.name))
    return themes
