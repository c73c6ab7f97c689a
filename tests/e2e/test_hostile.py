"""A hostile user's battery: values from strategies, odd data files, a broken cache.

Each case runs the real command (``python -m algotui ...``) in a folder of small files; the
commands are launched once, four at a time, by a module-scoped fixture, each bounded by a
timeout. The promises checked for every case: the exit code the README gives, and for bad
input exactly one line on stderr (``algotui: error: ...`` or ``algotui: run failed: ...``)
that says what is wrong, with no traceback, no numpy warning and no raw BOM or NUL byte.
Nothing touches the network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HEADER = "Date,Open,High,Low,Close,Volume"
ROWS = [
    "2024-01-02,100,105,95,102,1000",
    "2024-01-03,102,106,99,104,1100",
    "2024-01-04,104,108,101,107,900",
]


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def strategy(name: str, body: str, imports: str = "") -> str:
    """A strategy file whose ``next()`` is ``body`` (indented by the caller)."""
    return f"{imports}from algotui import Strategy\n\n\nclass {name}(Strategy):\n{body}"


ON_BAR_5 = "    def next(self):\n        if self.i == 5:\n"

FILES: dict[str, str | bytes] = {
    # values from strategies
    "units_inf.py": strategy("UnitsInf", ON_BAR_5 + "            self.buy(units=float('inf'))\n"),
    "size_inf.py": strategy("SizeInf", ON_BAR_5 + "            self.buy(size=float('inf'))\n"),
    "size_nan.py": strategy("SizeNan", ON_BAR_5 + "            self.buy(size=float('nan'))\n"),
    "numpy_ok.py": strategy(
        "NumpyOk",
        ON_BAR_5 + "            self.buy(sl=np.float32(self.price * 0.9), "
        "limit=np.int64(int(self.price) + 1), size=np.int64(3))\n",
        imports="import numpy as np\n\n",
    ),
    "tp_text.py": strategy(
        "TpText",
        ON_BAR_5
        + "            self.buy(sl=self.price * 0.9)\n"
        + "        for trade in self.trades:\n            trade.tp = 'high'\n",
    ),
    "sl_nan.py": strategy(
        "SlNan",
        ON_BAR_5
        + "            self.buy()\n"
        + "        for trade in self.trades:\n            trade.sl = float('nan')\n",
    ),
    "sl_moved_numpy.py": strategy(
        "SlMovedNumpy",
        ON_BAR_5
        + "            self.buy()\n"
        + "        for trade in self.trades:\n"
        + "            trade.sl = np.float32(trade.entry_price * 0.5)\n",
        imports="import numpy as np\n\n",
    ),
    "sl_text_order.py": strategy("SlText", ON_BAR_5 + "            self.buy(sl='low')\n"),
    "generator.py": strategy("Generator", "    def next(self):\n        yield self.buy()\n"),
    "coroutine.py": strategy("Coroutine", "    async def next(self):\n        self.buy()\n"),
    "validated.py": strategy(
        "Validated",
        "    lookback = 20\n\n    def validate(self):\n"
        "        self.require(self.lookback >= 2, 'lookback must be at least 2')\n\n"
        "    def next(self):\n        pass\n",
    ),
    # data files
    "trailing_comma.csv": csv(*(row + "," for row in ROWS)),
    "utf16.csv": csv(*ROWS).encode("utf-16"),
    "utf16_no_bom.csv": csv(*ROWS).encode("utf-16-le"),
    "utf16_no_close.csv": csv(
        *(r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in ROWS),
        header="Date,Open,High,Low,Volume",
    ).encode("utf-16"),
    "nul.csv": b"\x00\x01PK\x03\x04\x00\x00garbage\x00,\x00\n" * 20,
    "ambiguous_dates.csv": csv(
        "01/02/2024,100,105,95,102,1000",
        "02/02/2024,102,106,99,104,1100",
        "03/02/2024,104,108,101,107,900",
    ),
    "day_first.csv": csv(
        "12/02/2024,100,105,95,102,1000",
        "13/02/2024,102,106,99,104,1100",
        "14/02/2024,104,108,101,107,900",
    ),
    "order_decides.csv": csv(
        "01/02/2024,100,105,95,102,1000",
        "01/03/2024,102,106,99,104,1100",
        "02/01/2024,104,108,101,107,900",
    ),
    "decimal_comma.csv": "Date;Open;High;Low;Close;Volume\n"
    + "".join(f"2024-01-0{d};100,5;105,25;95,5;102,75;1000\n" for d in (2, 3, 4)),
    "decimal_comma_commas.csv": csv("2024-01-02,100,5,105,2,95,5,102,7,1000"),
    "span_1678_2261.csv": csv("1678-01-03,100,105,95,102,1000", "2261-12-30,102,106,99,104,1100"),
    "before_1677.csv": csv("1600-01-03,100,105,95,102,1000", "1600-01-04,102,106,99,104,1100"),
    "not_a_folder": "a file where the cache folder should be\n",
}


@dataclass
class Case:
    """One command and what the user must see."""

    name: str
    args: tuple[str, ...]
    code: int
    says: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)


RUN = ("run", "--json")
CASES = [
    # -- values from strategies
    Case("units=inf", (*RUN, "-s", "units_inf.py"), 2, ("units=inf", "finite", "units_inf.py:7")),
    Case("size=inf", (*RUN, "-s", "size_inf.py"), 2, ("size=inf", "finite", "size_inf.py:7")),
    Case("size=nan", (*RUN, "-s", "size_nan.py"), 2, ("size=nan", "finite")),
    Case("numpy scalars are numbers", (*RUN, "-s", "numpy_ok.py"), 0),
    Case("trade.tp = text", (*RUN, "-s", "tp_text.py"), 2, ("trade.tp='high'", "tp_text.py:9")),
    Case("trade.sl = NaN", (*RUN, "-s", "sl_nan.py"), 2, ("trade.sl=nan", "sl_nan.py:9")),
    Case("trade.sl = np.float32", (*RUN, "-s", "sl_moved_numpy.py"), 0),
    Case("sl= text", (*RUN, "-s", "sl_text_order.py"), 2, ("sl='low'", "sl_text_order.py:7")),
    Case("next() a generator", (*RUN, "-s", "generator.py"), 2, ("next() is a generator",)),
    Case("next() a coroutine", (*RUN, "-s", "coroutine.py"), 2, ("next() is a coroutine",)),
    Case("check: generator", ("check", "generator.py"), 2, ("is a generator",)),
    Case(
        "own validate()",
        (*RUN, "-s", "validated.py", "-p", "lookback=1"),
        2,
        ("Validated: lookback must be at least 2", "lookback=1"),
    ),
    Case("own validate() passes", (*RUN, "-s", "validated.py", "-p", "lookback=5"), 0),
    Case("k=inf", (*RUN, "-s", "bollinger_breakout", "-p", "k=inf"), 2, ("k='inf'", "finite")),
    Case("k=-3", (*RUN, "-s", "bollinger_breakout", "-p", "k=-3"), 2, ("k=-3", "above 0")),
    Case(
        "lower above upper",
        (*RUN, "-s", "rsi_reversion", "-p", "lower=90", "-p", "upper=10"),
        2,
        ("lower=90", "upper=10", "lower < exit < upper"),
    ),
    Case("rsi level 150", (*RUN, "-s", "rsi_reversion", "-p", "upper=150"), 2, ("upper=150",)),
    Case("fast = slow", (*RUN, "-p", "fast=20"), 2, ("fast must be shorter than slow",)),
    Case("signal=0", (*RUN, "-s", "macd_cross", "-p", "signal=0"), 2, ("signal=0",)),
    # -- data files
    Case(
        "trailing comma",
        (*RUN, "trailing_comma.csv"),
        2,
        ("has 7 fields but the header has 6", "ends with ','"),
    ),
    Case("utf-16", (*RUN, "utf16.csv", "-s", "buy_and_hold"), 0),
    Case("utf-16 without BOM", (*RUN, "utf16_no_bom.csv", "-s", "buy_and_hold"), 0),
    Case(
        "utf-16 missing column",
        (*RUN, "utf16_no_close.csv"),
        2,
        ("missing column Close", "found: Date, Open, High, Low, Volume"),
    ),
    Case("NUL bytes", (*RUN, "nul.csv"), 2, ("NUL bytes", "not text")),
    Case(
        "ambiguous dates",
        (*RUN, "ambiguous_dates.csv"),
        2,
        ("'01/02/2024'", "day-first and month-first", "YYYY-MM-DD"),
    ),
    Case("day-first dates", (*RUN, "day_first.csv", "-s", "buy_and_hold"), 0),
    Case("time order decides", (*RUN, "order_decides.csv", "-s", "buy_and_hold"), 0),
    Case(
        "decimal comma",
        (*RUN, "decimal_comma.csv"),
        2,
        ("Open is not a number ('100,5')", "decimal mark"),
    ),
    Case(
        "decimal comma --clean",
        (*RUN, "decimal_comma.csv", "--clean"),
        2,
        ("decimals with a comma",),
    ),
    Case(
        "decimal comma, comma separated", (*RUN, "decimal_comma_commas.csv"), 2, ("decimal commas",)
    ),
    Case("--cash 1e308", (*RUN, "--cash", "1e308"), 2, ("--cash 1e+308", "at most")),
    Case(
        "--commission-fixed 1e300",
        (*RUN, "--commission-fixed", "1e300"),
        2,
        ("--commission-fixed",),
    ),
    Case("dates 1678 to 2261", (*RUN, "span_1678_2261.csv", "-s", "buy_and_hold"), 0),
    Case("dates before 1677", (*RUN, "before_1677.csv"), 2, ("not a valid date/time",)),
    # -- cache
    Case(
        "cache dir is a file: list",
        ("cache", "list"),
        2,
        ("is a file, not a folder",),
        env={"ALGOTUI_CACHE_DIR": "not_a_folder"},
    ),
    Case(
        "cache dir is a file: clear",
        ("cache", "clear"),
        2,
        ("is a file, not a folder",),
        env={"ALGOTUI_CACHE_DIR": "not_a_folder"},
    ),
]


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[str, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp("hostile")
    for name, content in FILES.items():
        path = folder / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    base = {**os.environ, "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"}

    def launch(case: Case) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "algotui", *case.args],
            cwd=folder,
            env={**base, **case.env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip((c.name for c in CASES), pool.map(launch, CASES), strict=True))
    return done


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_case(case: Case, results) -> None:
    proc = results[case.name]
    err = proc.stderr
    assert proc.returncode == case.code, err
    for bad in ("Traceback", "Warning", "\x00", "\ufeff"):
        assert bad not in err, err
    if case.code == 2:
        lines = err.strip().splitlines()
        assert len(lines) == 1, err
        assert lines[0].startswith(("algotui: error: ", "algotui: run failed: ")), err
    for text in case.says:
        assert text in err, err
    if case.code == 0 and case.args[:2] == RUN:
        metrics = json.loads(proc.stdout)
        assert metrics["final_equity"] is not None
        if "numpy" in case.name or "np." in case.name:
            assert metrics["total_trades"] + metrics["open_trades"] >= 1
        if case.name == "dates 1678 to 2261":
            assert metrics["duration_days"] > 200_000
        if case.name == "day-first dates":
            assert metrics["start"].startswith("2024-02-12")
        if case.name == "time order decides":
            assert metrics["end"].startswith("2024-02-01")


def test_cache_clear_says_what_it_could_not_remove(tmp_path, monkeypatch, capsys) -> None:
    from algotui.cli import main

    folder = tmp_path / "cache"
    folder.mkdir()
    for name in ("AAPL_1d_1y.parquet", "MSFT_1d_1y.parquet"):
        (folder / name).write_bytes(b"x")
    monkeypatch.setenv("ALGOTUI_CACHE_DIR", str(folder))
    real_unlink = Path.unlink

    def refuse(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith("MSFT"):
            raise PermissionError(13, "Permission denied", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", refuse)
    with pytest.raises(SystemExit) as info:
        main(["cache", "clear"])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err.count("\n") == 1
    assert "removed 1 cached files" in err and "could not remove 1 (permission denied)" in err
    assert "MSFT_1d_1y.parquet" in err
    assert (folder / "MSFT_1d_1y.parquet").exists()
    assert not (folder / "AAPL_1d_1y.parquet").exists()
