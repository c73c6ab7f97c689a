"""Whole-command benchmark: `algotui run FILE` against a backtesting.py script, as users run them.

For each size (default 300,000 and 1,000,000 one-minute bars, written once as a CSV to a
temporary folder) this times whole processes, start-up included, taking turns:

* ``algotui --json``: ``python -m algotui run FILE --json`` (sma_cross 10/20);
* ``algotui --record``: ``python -m algotui run FILE --record OUT.jsonl``;
* ``backtesting.py``: a script as its users write it: import pandas and backtesting, read the
  CSV with ``pandas.read_csv``, run the same strategy (long on an SMA 10/20 up-cross, out on
  the down-cross), print the trade count;
* ``imports``: ``python -c "import ..."`` of the modules ``algotui run`` loads, to show how
  much of a run is start-up.

Best of ``--repeat`` wall times. The ratios (backtesting.py's time over algotui's) are the
figures to compare: the machine is shared and noisy, and they are measured in the same run.
Goals (issue 14): ``--json`` at least 6x, ``--record`` at least 3x.

Run it from the project root (backtesting is a dev dependency)::

    uv run python bench/command.py                 # 300k and 1M bars, best of 2
    uv run python bench/command.py --bars 300000 --repeat 3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOALS = {"algotui --json": 6.0, "algotui --record": 3.0}
TIMEOUT_S = 900

PEER = """
import sys
import pandas as pd
from backtesting import Backtest, Strategy
from backtesting.lib import crossover


def SMA(values, n):
    return pd.Series(values).rolling(n).mean()


class SmaCross(Strategy):
    def init(self):
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self):
        if crossover(self.fast, self.slow):
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


data = pd.read_csv(sys.argv[1], index_col=0, parse_dates=True)
stats = Backtest(data, SmaCross, cash=10_000).run()
print(stats["# Trades"])
"""

IMPORTS = (
    "import algotui.cli, algotui.engine.backtest, algotui.feed.files, algotui.run.headless, "
    "algotui.run.recorder"
)


def generate(bars: int, path: Path) -> None:
    """Write ``bars`` synthetic minute bars to ``path`` (in a child: keeps this process small)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); from load import generate; "
        "from pathlib import Path; generate(int(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent), str(bars), str(path)],
        check=True,
        timeout=TIMEOUT_S,
    )


def timed(command: list[str]) -> tuple[float, str]:
    """Wall seconds of ``command`` and its stdout; a failure stops the benchmark."""
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=ROOT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{proc.stderr[-2000:]}")
    return seconds, proc.stdout


def bench(bars: int, repeat: int, folder: Path) -> dict[str, float]:
    csv = folder / f"bars_{bars}.csv"
    out = folder / "out.jsonl"
    generate(bars, folder)
    (folder / "bars.csv").rename(csv)
    (folder / "bars.parquet").unlink(missing_ok=True)
    python = sys.executable
    cases = {
        "algotui --json": [python, "-m", "algotui", "run", str(csv), "--json"],
        "algotui --record": [python, "-m", "algotui", "run", str(csv), "--record", str(out)],
        "backtesting.py": [python, "-c", PEER, str(csv)],
        "imports": [python, "-c", IMPORTS],
    }
    best: dict[str, float] = {}
    trades: dict[str, str] = {}
    for _ in range(repeat):
        for name, command in cases.items():  # taking turns
            seconds, stdout = timed(command)
            best[name] = min(best.get(name, seconds), seconds)
            if name == "algotui --json":
                import json

                metrics = json.loads(stdout)
                trades[name] = str(metrics["total_trades"] + metrics["open_trades"])
            elif name == "backtesting.py":
                trades[name] = stdout.strip()
    size = out.stat().st_size / 2**20 if out.exists() else 0.0
    out.unlink(missing_ok=True)
    csv.unlink()
    peer = best["backtesting.py"]
    print(f"\n{bars:,} bars (best of {repeat})   seconds   backtesting.py / this   goal")
    for name, seconds in best.items():
        ratio = peer / seconds
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"{goal:g}x: {'met' if ratio >= goal else 'missed'}"
        shown = "" if name in ("backtesting.py", "imports") else f"{ratio:.1f}x"
        print(f"  {name:<22} {seconds:8.2f}   {shown:>21}   {verdict}")
    print(
        f"  trades: algotui {trades.get('algotui --json')} (closed + open), backtesting.py "
        f"{trades.get('backtesting.py')}; recording {size:.0f} MB"
    )
    return {name: peer / seconds for name, seconds in best.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, nargs="+", default=[300_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    met = True
    with tempfile.TemporaryDirectory(prefix="algotui-bench-") as tmp:
        for bars in args.bars:
            ratios = bench(bars, args.repeat, Path(tmp))
            met &= all(ratios[name] >= goal for name, goal in GOALS.items())
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
