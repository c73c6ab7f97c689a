"""Finding a strategy class: a built-in name, or a local ``file.py[:ClassName]``."""

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

from algotui.engine.builtin import BUILTINS
from algotui.engine.strategy import Strategy
from algotui.errors import StrategyError


def load_strategy(spec: str) -> type[Strategy]:
    """The strategy class named by ``spec``: a built-in name or ``path/to/file.py[:Class]``."""
    if spec in BUILTINS:
        return BUILTINS[spec]
    path_text, _, class_name = spec.partition(":")
    if not path_text.endswith(".py"):
        names = ", ".join(BUILTINS)
        raise StrategyError(
            f"unknown strategy {spec!r}: use one of {names}, or a file such as my_strategy.py"
        )
    path = Path(path_text)
    if not path.is_file():
        raise StrategyError(f"strategy file not found: {path_text}")
    module = _import_file(path)
    found = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == module.__name__
    ]
    if class_name:
        for cls in found:
            if cls.__name__ == class_name:
                return cls
        have = ", ".join(c.__name__ for c in found) or "none"
        raise StrategyError(f"{path_text} has no Strategy subclass {class_name!r} (found: {have})")
    if not found:
        raise StrategyError(
            f"{path_text} defines no Strategy subclass "
            "(write `class MyStrategy(Strategy):` with `from algotui import Strategy`)"
        )
    if len(found) > 1:
        have = ", ".join(c.__name__ for c in found)
        raise StrategyError(
            f"{path_text} defines several strategies ({have}): pick one with {path_text}:NAME"
        )
    return found[0]


def _import_file(path: Path):
    name = f"algotui_user_{path.stem}_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"cannot load {path} as Python code")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise StrategyError(f"syntax error in {path}:{exc.lineno}: {exc.msg}") from None
    except (Exception, SystemExit) as exc:
        target = path.resolve()
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if Path(f.filename).resolve() == target
        ]
        at = f"{path}:{frames[-1].lineno}" if frames else str(path)
        raise StrategyError(
            f"{at}: importing the strategy raised {type(exc).__name__}: {exc}"
        ) from None
    return module
