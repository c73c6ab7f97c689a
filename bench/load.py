"""Loading benchmark: algotui's load + validate against pyarrow and pandas reading the same file.

For N rows (default 1,000,000) of synthetic 1-minute OHLCV bars, written once to a temporary
folder as CSV (``Date,Open,High,Low,Close,Volume``, prices to 4 decimals) and as Parquet (a
DatetimeIndex, as ``DataFrame.to_parquet`` writes it), this prints for each format:

* ``algotui``: :func:`algotui.feed.files.load_file` (read and validate every row);
* ``pyarrow``: ``pyarrow.csv.read_csv`` / ``pyarrow.parquet.ParquetFile(...).read()``
  (read only);
* ``pandas``: ``pandas.read_csv(engine="pyarrow")`` / ``pandas.read_parquet``;

each in a fresh process (imports not timed), taking turns, best of ``--repeat``; the peak RSS
is that process's (``ru_maxrss``, libraries included). Then the whole command
``algotui run FILE.csv --record OUT.jsonl`` once, with its peak RSS (the largest of the
process and the children it waited for).

Goals (issue 14): algotui within 2x of pyarrow on both formats; the whole command's peak RSS
at most 300 MB. The machine is shared and noisy: compare the ratios, which are measured in
the same run.

Run it from the project root::

    uv run python bench/load.py                  # 1,000,000 rows, best of 3
    uv run python bench/load.py --rows 200000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_X = 2.0
GOAL_RSS_MB = 300.0
TIMEOUT_S = 600


def generate(rows: int, folder: Path) -> tuple[Path, Path]:
    """Write the bars as CSV and Parquet into ``folder``; return both paths."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20240601)
    sigma = 0.0003
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, rows)))
    open_ = np.concatenate(([100.0], close[:-1])) * np.exp(rng.normal(0.0, sigma / 5, rows))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0.0, sigma / 2, rows)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0.0, sigma / 2, rows)))
    frame = pd.DataFrame(
        {
            "Open": open_.round(4),
            "High": high.round(4),
            "Low": low.round(4),
            "Close": close.round(4),
            "Volume": rng.integers(100, 10_000, rows),
        },
        index=pd.date_range("2020-01-02", periods=rows, freq="min", name="Date"),
    )
    csv, parquet = folder / "bars.csv", folder / "bars.parquet"
    frame.to_csv(csv)
    frame.to_parquet(parquet)
    return csv, parquet


def case(name: str, path: str) -> dict[str, float]:
    """Run one case in this (fresh) process: imports first, then the timed load."""
    import resource

    if name == "algotui":
        from algotui.feed.files import load_file

        def load() -> object:
            return load_file(path)
    elif name == "pyarrow":
        import pyarrow.csv as pacsv
        import pyarrow.parquet as pq

        def load() -> object:
            if path.endswith(".parquet"):
                # ParquetFile.read(), not read_table(): the latter imports pyarrow's datasets
                # layer on first use (~0.2 s), which would flatter algotui's ratio.
                return pq.ParquetFile(path).read()
            return pacsv.read_csv(path)
    else:
        import pandas as pd

        def load() -> object:
            if path.endswith(".parquet"):
                return pd.read_parquet(path)
            return pd.read_csv(path, engine="pyarrow")

    start = time.perf_counter()
    result = load()
    seconds = time.perf_counter() - start
    rows = len(result)  # type: ignore[arg-type]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mb": rss_mb, "rows": rows}


def run_case(name: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--case", name, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=TIMEOUT_S,
        cwd=ROOT,
    ).stdout
    return json.loads(out.splitlines()[-1])


def run_command(csv: Path, folder: Path) -> tuple[float, float]:
    """Wall time and peak RSS (MB) of ``algotui run CSV --record OUT``."""
    out = folder / "out.jsonl"
    command = [sys.executable, "-m", "algotui", "run", str(csv), "--record", str(out)]
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = start + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            raise SystemExit("algotui run took too long")
        time.sleep(0.01)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"algotui run failed: {proc.stderr.read().decode()[-500:]}")
    out.unlink(missing_ok=True)
    return seconds, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(case(*args.case)))
        return 0
    if args.generate:
        generate(args.rows, Path(args.generate))
        return 0
    with tempfile.TemporaryDirectory(prefix="algotui-bench-") as tmp:
        folder = Path(tmp)
        # Generated in a child: ru_maxrss survives exec, so a parent that held the bars
        # would pass its peak on to every case it starts.
        subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--generate", tmp],
            check=True,
            timeout=TIMEOUT_S,
        )
        csv, parquet = folder / "bars.csv", folder / "bars.parquet"
        print(
            f"{args.rows:,} rows: CSV {csv.stat().st_size / 2**20:.0f} MB, "
            f"Parquet {parquet.stat().st_size / 2**20:.0f} MB; best of {args.repeat}"
        )
        met = True
        for label, path in (("CSV", csv), ("Parquet", parquet)):
            best: dict[str, dict[str, float]] = {}
            for _ in range(args.repeat):
                for name in ("algotui", "pyarrow", "pandas"):  # taking turns
                    result = run_case(name, path)
                    if name not in best or result["seconds"] < best[name]["seconds"]:
                        best[name] = result
            ratio = best["algotui"]["seconds"] / best["pyarrow"]["seconds"]
            met &= ratio <= GOAL_X
            print(f"\n{label:<8} {'seconds':>8} {'vs pyarrow':>11} {'peak RSS':>9}")
            for name, result in best.items():
                x = result["seconds"] / best["pyarrow"]["seconds"]
                print(
                    f"{name:<8} {result['seconds']:>8.3f} {x:>10.2f}x {result['rss_mb']:>6.0f} MB"
                )
            print(f"goal: algotui <= {GOAL_X:g}x pyarrow: {'met' if ratio <= GOAL_X else 'missed'}")
        seconds, rss = run_command(csv, folder)
        met &= rss <= GOAL_RSS_MB
        print(
            f"\nalgotui run {csv.name} --record: {seconds:.2f} s, peak RSS {rss:.0f} MB "
            f"(goal <= {GOAL_RSS_MB:g} MB: {'met' if rss <= GOAL_RSS_MB else 'missed'})"
        )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
