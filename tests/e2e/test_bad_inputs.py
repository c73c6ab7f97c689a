"""Bad inputs to the real `algotui` command: one clear line on stderr, never a traceback.

Every case runs ``python -m algotui ...`` in a subprocess, in a folder of small hand-written
data and strategy files. The commands are launched once, four at a time, by a module-scoped
fixture; each parametrized test then checks one stored result. Exit codes as in the README:
2 for bad input (stderr is exactly one line, ``algotui: error: ...``), 1 for a strategy that
raises while it runs (the user's own frames, then ``algotui: run failed: ...``).

Nothing here touches the network: ticker cases all fail validation, which comes before any
download (and the proxies point at a closed local port, in case it ever did not).
"""

import json
import os
import random
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

import algotui

PACKAGE_DIR = str(Path(algotui.__file__).resolve().parent)

# --------------------------------------------------------------------------- input files

HEADER = "Date,Open,High,Low,Close,Volume"
ROWS = [
    "2024-01-02,100,105,95,102,1000",
    "2024-01-03,102,106,99,104,1100",
    "2024-01-04,104,108,101,107,900",
    "2024-01-05,107,109,103,105,1200",
    "2024-01-08,105,107,100,101,1000",
]


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def replace(row: int, line: str) -> list[str]:
    """ROWS with data row ``row`` (1-based, as the loader counts) replaced by ``line``."""
    rows = list(ROWS)
    rows[row - 1] = line
    return rows


STRATEGY_HEAD = "from algotui import Strategy\n\n\n"

FILES: dict[str, str | bytes] = {
    # data
    "empty.csv": "",
    "no_close.csv": csv(
        *(r.rsplit(",", 2)[0] + "," + r.rsplit(",", 1)[1] for r in ROWS),
        header="Date,Open,High,Low,Volume",
    ),
    "no_date.csv": csv(*(r.split(",", 1)[1] for r in ROWS), header="Open,High,Low,Close,Volume"),
    "non_numeric.csv": csv(*replace(3, "2024-01-04,104,108,101,abc,900")),
    "high_below_low.csv": csv(*replace(2, "2024-01-03,92,90,95,93,1100")),
    "unsorted.csv": csv(ROWS[0], ROWS[2], ROWS[1], ROWS[3], ROWS[4]),
    "duplicate.csv": csv(*replace(3, "2024-01-03,104,108,101,107,900")),
    "nan_cell.csv": csv(*replace(2, "2024-01-03,nan,106,99,104,1100")),
    "negative.csv": csv(*replace(4, "2024-01-05,107,109,-5,105,1200")),
    "bad_date.csv": csv(*replace(2, "2024-13-45,102,106,99,104,1100")),
    "prices.xlsx": csv(*ROWS),
    "corrupt.parquet": random.Random(7).randbytes(2048),
    "good.csv": csv(*ROWS),
    # strategies
    "syntax_error.py": STRATEGY_HEAD + "class Broken(Strategy)\n    pass\n",
    "import_error.py": "import no_such_module_for_algotui\n\n"
    + STRATEGY_HEAD
    + "class Fine(Strategy):\n    pass\n",
    "no_strategy.py": "def next():\n    return 1\n",
    "two_strategies.py": STRATEGY_HEAD
    + "class First(Strategy):\n    pass\n\n\nclass Second(Strategy):\n    pass\n",
    "divide.py": STRATEGY_HEAD
    + "class Divider(Strategy):\n"
    + "    def next(self):\n"
    + "        if self.i == 5:\n"
    + "            self.ratio = self.price / (self.i - 5)\n",
    "init_raises.py": STRATEGY_HEAD
    + "class Setup(Strategy):\n"
    + "    window = 10\n\n"
    + "    def init(self):\n"
    + "        raise KeyError('no column named Adj')\n",
    # replay
    "not_a_recording.jsonl": '{"hello": "world"}\n{"type": "candle"}\n',
}

# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """``algotui *args`` run in the folder of FILES: its exit code and what the error says."""

    id: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    """Substrings of the error line (``algotui: error: ...`` or ``algotui: run failed: ...``)."""
    code: int = 2
    frame: str | None = None
    """For exit 1: the user's frame that must be shown, ``file", line N``."""


def case(
    name: str, *args: str, says: str | tuple[str, ...], code: int = 2, frame: str | None = None
) -> Case:
    """A row of the table: ``case("id", *argv, says=...)``."""
    return Case(name, args, (says,) if isinstance(says, str) else says, code, frame)


RUN = ("run", "--json")  # headless: no app is started, and stdout stays quiet

CASES = [
    # ---- sources
    case("missing-file", *RUN, "missing.csv", says=("no such file", "missing.csv")),
    case("unsupported-extension", *RUN, "prices.xlsx", says=("unsupported file type", ".xlsx")),
    case("empty-csv", *RUN, "empty.csv", says=("empty.csv", "the file is empty")),
    case(
        "missing-close-column", *RUN, "no_close.csv", says=("no_close.csv", "missing column Close")
    ),
    case("no-timestamp-column", *RUN, "no_date.csv", says=("no_date.csv", "no timestamp column")),
    case(
        "non-numeric-cell",
        *RUN,
        "non_numeric.csv",
        says=("non_numeric.csv row 3", "Close is not a number ('abc')"),
    ),
    case(
        "high-below-low",
        *RUN,
        "high_below_low.csv",
        says=("high_below_low.csv row 2", "High (90) is below Low (95)"),
    ),
    case("unsorted", *RUN, "unsorted.csv", says=("unsorted.csv row 3", "ascending time order")),
    case(
        "duplicate-timestamp",
        *RUN,
        "duplicate.csv",
        says=("duplicate.csv row 3", "duplicate timestamp (same as row 2)"),
    ),
    case("nan-cell", *RUN, "nan_cell.csv", says=("nan_cell.csv row 2", "Open is missing ('nan')")),
    case(
        "negative-price", *RUN, "negative.csv", says=("negative.csv row 4", "Low is not positive")
    ),
    case("bad-date", *RUN, "bad_date.csv", says=("bad_date.csv row 2", "'2024-13-45'")),
    case(
        "corrupt-parquet", *RUN, "corrupt.parquet", says=("corrupt.parquet", "cannot read Parquet")
    ),
    # ---- tickers: all fail validation, before any network call
    case("ticker-bad-characters", *RUN, "AA PL!", says="'AA PL!'"),
    case("ticker-bad-interval", *RUN, "AAPL", "--interval", "7m", says=("--interval", "'7m'")),
    case(
        "ticker-1m-for-a-year",
        *RUN,
        "AAPL",
        "--period",
        "1y",
        "--interval",
        "1m",
        says=("1m", "30 days"),
    ),
    case(
        "ticker-period-and-start",
        *RUN,
        "AAPL",
        "--period",
        "1y",
        "--start",
        "2024-01-01",
        says=("--period", "--start", "not both"),
    ),
    case(
        "ticker-start-after-end",
        *RUN,
        "AAPL",
        "--start",
        "2024-06-01",
        "--end",
        "2024-01-01",
        says=("--start 2024-06-01", "--end 2024-01-01"),
    ),
    case("ticker-bad-start-date", *RUN, "AAPL", "--start", "2024-02-30", says="'2024-02-30'"),
    # ---- strategies
    case("unknown-builtin", *RUN, "-s", "no_such_strategy", says="'no_such_strategy'"),
    case(
        "strategy-file-not-found",
        *RUN,
        "-s",
        "missing_strategy.py",
        says=("not found", "missing_strategy.py"),
    ),
    case("syntax-error", *RUN, "-s", "syntax_error.py", says=("syntax error", "syntax_error.py:4")),
    case(
        "import-error",
        *RUN,
        "-s",
        "import_error.py",
        says=("import_error.py:1", "ModuleNotFoundError", "no_such_module_for_algotui"),
    ),
    case("no-strategy-class", *RUN, "-s", "no_strategy.py", says=("no_strategy.py", "no Strategy")),
    case(
        "two-strategies-no-class",
        *RUN,
        "-s",
        "two_strategies.py",
        says=("First, Second", "two_strategies.py:NAME"),
    ),
    case(
        "class-not-found",
        *RUN,
        "-s",
        "two_strategies.py:Third",
        says=("'Third'", "First, Second"),
    ),
    case("unknown-param", *RUN, "-p", "bogus=1", says=("no parameter 'bogus'", "fast, slow")),
    case("mistyped-param", *RUN, "-p", "fast=abc", says=("fast='abc'", "expected a whole number")),
    case("param-without-equals", *RUN, "-p", "fast", says=("-p 'fast'", "NAME=VALUE")),
    case(
        "param-of-a-file-strategy",
        *RUN,
        "-s",
        "init_raises.py",
        "-p",
        "window=wide",
        says="window='wide'",
    ),
    case(
        "next-raises",
        *RUN,
        "-s",
        "divide.py",
        code=1,
        frame='divide.py", line 7',
        says=("Divider.next() raised ZeroDivisionError", "divide.py:7"),
    ),
    case(
        "next-raises-recorded",
        "run",
        "-s",
        "divide.py",
        "--record",
        "failed.jsonl",
        code=1,
        frame='divide.py", line 7',
        says=("Divider.next() raised ZeroDivisionError", "divide.py:7"),
    ),
    case(
        "init-raises",
        *RUN,
        "-s",
        "init_raises.py",
        code=1,
        frame='init_raises.py", line 8',
        says=("Setup.init() raised KeyError", "no column named Adj"),
    ),
    # ---- options
    case("fill-bogus", *RUN, "--fill", "bogus", says=("--fill 'bogus'", "next-open")),
    case("cash-negative", *RUN, "--cash", "-5", says=("--cash -5", "positive")),
    case("cash-word", *RUN, "--cash", "lots", says=("'--cash': 'lots'", "give a number")),
    case("emit-every-word", *RUN, "--emit-every", "x", says=("'--emit-every'", "give a number")),
    case("commission-too-big", *RUN, "--commission", "2", says="--commission 2"),
    case("commission-fixed-negative", *RUN, "--commission-fixed", "-1", says="--commission-fixed"),
    case("slippage-negative", *RUN, "--slippage", "-0.1", says="--slippage -0.1"),
    case("emit-every-zero", *RUN, "--emit-every", "0", says="--emit-every 0"),
    case("speed-zero", *RUN, "--speed", "0", says="--speed '0'"),
    case("speed-word", *RUN, "--speed", "fast", says="--speed 'fast'"),
    case("theme-unknown-app", "run", "--theme", "nope", says=("--theme 'nope'", "algotui-dark")),
    case("theme-unknown-replay", "replay", "good.csv", "--theme", "nope", says="--theme 'nope'"),
    case(
        "record-missing-folder",
        "run",
        "--record",
        "no_such_folder/run.jsonl",
        says=("--record", "no_such_folder", "does not exist"),
    ),
    case("unknown-option", "run", "--bogus", says="--bogus"),
    # ---- replay and check
    case("replay-missing", "replay", "missing.jsonl", says=("no such recording", "missing.jsonl")),
    case(
        "replay-not-a-recording",
        "replay",
        "not_a_recording.jsonl",
        says=("not_a_recording.jsonl", "not an algotui recording"),
    ),
    case("replay-binary", "replay", "corrupt.parquet", says="not an algotui recording"),
    case("check-no-strategy", "check", "no_strategy.py", says=("no_strategy.py", "no Strategy")),
    case("check-too-few-bars", "check", "sma_cross", "--bars", "1", says="--bars 1"),
    case(
        "check-next-raises",
        "check",
        "divide.py",
        code=1,
        frame='divide.py", line 7',
        says="Divider.next() raised ZeroDivisionError",
    ),
]

assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"

# --------------------------------------------------------------------------- running them


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("bad_inputs")
    for name, content in FILES.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


@pytest.fixture(scope="module")
def results(
    workdir: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case's finished process, by case id (run once, four at a time)."""
    env = {
        **os.environ,
        "ALGOTUI_CACHE_DIR": str(tmp_path_factory.mktemp("cache")),
        # A safety net: were a download ever attempted, it would fail at once.
        "HTTP_PROXY": "http://127.0.0.1:9",
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "ALL_PROXY": "http://127.0.0.1:9",
    }
    env.pop("NO_PROXY", None)
    env.pop("no_proxy", None)

    def run(c: Case) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "algotui", *c.args],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip((c.id for c in CASES), pool.map(run, CASES), strict=True))
    return done


def test_there_are_enough_cases() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input(c: Case, results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    proc = results[c.id]
    shown = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == c.code, shown
    assert "Traceback" not in proc.stderr, shown
    lines = proc.stderr.splitlines()
    if c.code == 2:
        # Exactly one non-empty line, and nothing on stdout.
        assert len(lines) == 1 and lines[0].strip(), shown
        assert lines[0].startswith("algotui: error: "), shown
        assert proc.stdout == "", shown
        message = lines[0]
    else:
        failed = [i for i, line in enumerate(lines) if line.startswith("algotui: run failed: ")]
        assert len(failed) == 1, shown
        message = lines[failed[0]]
        # The failure line comes last; with --record it says where the recording is.
        assert failed[0] == len(lines) - 1, shown
        if "--record" in c.args:
            assert f"the recording {c.args[-1]} ends with the error event" in message, shown
        # The user's own frame is shown, none of algotui's.
        assert c.frame is not None and c.frame in proc.stderr, shown
        assert PACKAGE_DIR not in proc.stderr, shown
        assert not re.search(r"/algotui/(engine|feed|cli|run|protocol)", proc.stderr), shown
    for text in c.says:
        assert text in message, shown


def test_a_failed_run_records_the_error_event(
    workdir: Path, results: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    proc = results["next-raises-recorded"]
    assert proc.returncode == 1, proc.stderr
    assert "failed.jsonl" in proc.stderr
    lines = (workdir / "failed.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert events[0]["type"] == "metadata"
    last = events[-1]
    assert last["type"] == "error", last
    assert "ZeroDivisionError" in last["message"]
    assert [e["seq"] for e in events] == list(range(len(events)))
    # next() fails on bar 5 (0-based): the recording stops there.
    assert 5 <= sum(e["type"] == "candle" for e in events) <= 6
