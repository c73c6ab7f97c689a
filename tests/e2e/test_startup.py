"""Commands that need no data start without importing pandas (it costs 0.3-1.7 s a start)."""

import subprocess
import sys

import pytest

PROBE = """
import atexit, sys
atexit.register(lambda: print("loaded:", *sorted(
    m for m in ("pandas", "pyarrow.csv", "textual", "yfinance") if m in sys.modules
), file=sys.stderr))
from algotui.cli import main
main(sys.argv[1:])
"""


def loaded_modules(*args: str, env_extra: dict[str, str] | None = None) -> list[str]:
    import os

    env = {**os.environ, **(env_extra or {})}
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    line = [ln for ln in proc.stderr.splitlines() if ln.startswith("loaded:")][-1]
    return line.split()[1:]


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("strategies",),
        ("check", "--help"),
        ("run", "--help"),
        ("replay", "--help"),
        ("cache", "list"),
        ("cache", "clear"),
    ],
)
def test_commands_without_data_import_no_pandas(args, tmp_path):
    loaded = loaded_modules(*args, env_extra={"ALGOTUI_CACHE_DIR": str(tmp_path / "cache")})
    assert loaded == []


def test_the_probe_sees_pandas_when_a_run_loads_it():
    # The probe itself works: a run on the sample does import pandas.
    assert "pandas" in loaded_modules("run", "sample", "--json")


def test_strategies_lists_every_builtin_with_parameters():
    out = subprocess.run(
        [sys.executable, "-m", "algotui", "strategies"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    for name in ("sma_cross", "rsi_reversion", "macd_cross", "bollinger_breakout", "buy_and_hold"):
        assert name in out
    assert "fast=10" in out


def test_public_names_still_import():
    import algotui
    import algotui.engine as engine

    assert algotui.Strategy is engine.Strategy
    for name in engine.__all__:
        assert getattr(engine, name) is not None
    with pytest.raises(AttributeError):
        _ = engine.nothing_here


def test_the_engine_loads_no_ui() -> None:
    # algotui.engine loads its modules on first use: import the backtest itself to check.
    code = (
        "import sys, algotui.engine.backtest\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))\n"
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "True"]
