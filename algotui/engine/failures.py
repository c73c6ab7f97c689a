"""A strategy's failure in one line, and its own frames of the traceback (none of algotui's)."""

import traceback
from pathlib import Path

from algotui.errors import UserError

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def describe_error(exc: BaseException, where: str, strategy: type) -> str:
    """One line naming what failed: the user's own error, at their file and line."""
    if isinstance(exc, UserError):
        return str(exc)
    own = _own_frames(exc)
    at = f" at {_short_path(own[-1].filename)}:{own[-1].lineno}" if own else ""
    return f"{strategy.__name__}.{where}() raised {type(exc).__name__}: {exc}{at}"


def user_frames(exc: BaseException) -> str:
    """The traceback of ``exc`` with algotui's own frames left out."""
    text = "".join(traceback.format_list(_own_frames(exc)))
    return text + "".join(traceback.format_exception_only(type(exc), exc))


def _short_path(filename: str) -> str:
    """``filename`` relative to the working folder when it lies inside it."""
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return filename


def _own_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that are not algotui's own code."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not Path(f.filename).resolve().is_relative_to(_PACKAGE_DIR)]
