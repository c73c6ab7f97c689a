"""Engine benchmark: algotui against backtesting.py on the same synthetic minute bars.

What it measures, all in one run of this script:

1. ``null sink``: algotui's built-in ``sma_cross`` (fast=10, slow=20) over N bars, draining
   ``Backtest.stream()`` (the engine's event stream, as the app and the recorder read it: batches
   of candles as array slices, the other events as small records) into nothing. Timed from
   ``Backtest()`` construction to the end. ``sma_cross`` declares its crossing bars
   (``wake_on``), so the engine passes over the bars between them in bulk; the ``next() on
   every bar`` row runs the same strategy with that declaration dropped, as any strategy
   without one runs (both must give the same trades and final equity).
2. ``record``: the same run with every event written by :class:`algotui.run.recorder.Recorder` to a
   JSON Lines file in a temporary folder (the file size is reported). On a long run the
   recorder renders candle lines in a forked child: its private memory (sampled from
   ``/proc/<pid>/smaps_rollup``) is added to the recorder's peak RSS for the memory goal.
3. ``backtesting.py``: the same strategy in backtesting.py 0.6.6 (``self.I`` with algotui's
   ``sma``, ``crossover`` from ``backtesting.lib``, ``cash=10_000``). Only ``.run()`` is timed.
4. ``sample --record``: the whole command ``python -m algotui run --record FILE`` on the bundled
   sample (best of 3 wall times), next to the bare import time of the modules that command
   loads (best of 3; the two take turns), so the share of start-up cost is visible. algotui's
   modules are byte-compiled first, as Python does on any first run.

Every case runs in a fresh process (this file re-run with a hidden ``--case`` flag; the bars go
through a temporary ``.npy`` file), so the peak RSS reported (``ru_maxrss`` of that process,
KiB on Linux, shown as MB = KiB / 1024) belongs to that case alone. It includes the loaded
bars and the imported libraries. Generating and loading the bars is never timed. The bars are
generated in a child process too: ``ru_maxrss`` carries over the peak of the image a process
``exec``-ed from, so a parent holding the bars would inflate every child's figure.

The two engines must agree: the same number of closed trades and the same final equity (to
1e-6 relative). The script prints MATCH or MISMATCH and exits with 1 on a mismatch.

Run it from the project root::

    uv run python bench/engine.py                  # 1,000,000 bars, everything
    uv run python bench/engine.py --bars 200000 --repeat 3
    uv run python bench/engine.py --skip-peer      # quick: no backtesting.py, ratios n/a

``--repeat R`` takes the best of R runs (R fresh processes) for the algotui cases; the peer
runs once (it takes tens of seconds per million bars).

The machine this runs on is shared and noisy: absolute seconds move from run to run. The
ratios against backtesting.py are measured in the same run, under the same load, and are the
numbers to compare across runs.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

SEED = 20240601
START = "2020-01-02 00:00"
FAST, SLOW = 10, 20
CASH = 10_000.0
SAMPLE_TRIES = 3
REL_TOL = 1e-6
COLUMNS = ("Open", "High", "Low", "Close", "Volume")

GOAL_NULL_X = 12.0
GOAL_RECORD_X = 6.0
GOAL_RSS_MB = 250.0
GOAL_SAMPLE_S = 1.0

IMPORT_LINE = "import algotui.cli, algotui.engine, algotui.feed, algotui.run.headless"
ROOT = Path(__file__).resolve().parents[1]


# -- data ----------------------------------------------------------------------------------------


def make_bars(n: int, seed: int = SEED) -> "pd.DataFrame":
    """``n`` synthetic 1-minute OHLCV bars: a geometric random walk from 100.

    Prices keep full float precision. Rounded prices (say to 4 decimals) make the fast and slow
    SMAs exactly equal now and then; a cross through such a tie is not a strict crossover, so
    the price can cross up twice with no cross down between, and there the two strategy idioms
    differ by design (algotui's ``buy()`` while long is a rejected add-on, backtesting.py's
    ``position.close(); buy()`` closes and reopens one more trade at the same price).
    """
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    sigma = 0.0003  # per-minute log-return volatility
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, sigma, n)))
    prev = np.concatenate(([100.0], close[:-1]))
    open_ = prev * np.exp(rng.normal(0.0, sigma / 5, n))
    top = np.maximum(open_, close)
    bottom = np.minimum(open_, close)
    high = top * np.exp(np.abs(rng.normal(0.0, sigma / 2, n)))
    low = bottom * np.exp(-np.abs(rng.normal(0.0, sigma / 2, n)))
    volume = rng.integers(100, 10_000, n).astype(float)
    index = pd.date_range(START, periods=n, freq="min")
    df = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": volume}, index=index
    )
    assert (df["High"] >= df[["Open", "Close"]].max(axis=1)).all()
    assert (df["Low"] <= df[["Open", "Close"]].min(axis=1)).all()
    assert (df["Low"] > 0).all()
    return df


def save_bars(df: "pd.DataFrame", folder: Path) -> None:
    """The bars as ``.npy`` files: one per OHLCV column, and the index as datetime64."""
    import numpy as np

    for column in COLUMNS:
        np.save(folder / f"{column}.npy", df[column].to_numpy(dtype=float))
    np.save(folder / "index.npy", df.index.to_numpy())


def load_bars(folder: Path) -> "pd.DataFrame":
    """The bars saved by :func:`save_bars`, as a DataFrame with a ``min``-frequency index.

    Each column stays the array it was loaded as (``copy=False``): no transient copies, so
    the peak RSS of a case is the engine's, not the loader's.
    """
    import numpy as np
    import pandas as pd

    index = pd.DatetimeIndex(np.load(folder / "index.npy"), freq="min")
    columns = {c: np.load(folder / f"{c}.npy") for c in COLUMNS}
    return pd.DataFrame(columns, index=index, copy=False)


# -- the cases, each run in a child process ------------------------------------------------------


def case_gen(folder: Path, tmp: Path, bars: int) -> dict[str, Any]:
    """Generate the bars (in a child too, so that the parent process stays small)."""
    df = make_bars(bars)
    save_bars(df, folder)
    close = df["Close"]
    return {
        "start": str(df.index[0]),
        "end": str(df.index[-1]),
        "first": float(close.iloc[0]),
        "last": float(close.iloc[-1]),
        "min": float(close.min()),
        "max": float(close.max()),
    }


def case_null(folder: Path, tmp: Path, bars: int) -> dict[str, Any]:
    from algotui.engine import BUILTINS, Backtest

    df = load_bars(folder)
    t0 = time.perf_counter()
    bt = Backtest(df, BUILTINS["sma_cross"], {"fast": FAST, "slow": SLOW})
    for _ in bt.stream():
        pass
    seconds = time.perf_counter() - t0
    return _algotui_result(bt, seconds)


def case_every_bar(folder: Path, tmp: Path, bars: int) -> dict[str, Any]:
    """The null sink with ``next()`` called on every bar, as for a strategy that does not
    declare its wake bars (``wake_on``): the engine steps through each bar."""
    from algotui.engine import BUILTINS, Backtest

    class EveryBar(BUILTINS["sma_cross"]):  # type: ignore[misc, valid-type]
        def init(self) -> None:
            super().init()
            self.wake_on(None)

    df = load_bars(folder)
    t0 = time.perf_counter()
    bt = Backtest(df, EveryBar, {"fast": FAST, "slow": SLOW})
    for _ in bt.stream():
        pass
    seconds = time.perf_counter() - t0
    return _algotui_result(bt, seconds)


def case_record(folder: Path, tmp: Path, bars: int) -> dict[str, Any]:
    from algotui.engine import BUILTINS, Backtest
    from algotui.run.recorder import Recorder

    df = load_bars(folder)
    path = tmp / f"run-{os.getpid()}.jsonl"
    t0 = time.perf_counter()
    bt = Backtest(df, BUILTINS["sma_cross"], {"fast": FAST, "slow": SLOW})
    rec = Recorder(path, bt.run_id)
    private = 0  # the renderer child's own memory, looked at now and then
    for k, e in enumerate(bt.stream()):
        rec.write(e)
        child = getattr(bt.columns, "_child", None)
        if k % 4096 == 0 and child is not None:
            private = max(private, private_kib(child.pid))
    rec.close()
    seconds = time.perf_counter() - t0
    result = _algotui_result(bt, seconds)
    result.update(file_bytes=path.stat().st_size, events=rec.last_seq + 1)
    result["child_private_kib"] = private
    result["child_rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    path.unlink()
    return result


def _algotui_result(bt: Any, seconds: float) -> dict[str, Any]:
    if bt.status != "completed":
        raise RuntimeError(f"algotui run {bt.status}: {bt.error_message}")
    m = bt.metrics
    return {
        "seconds": seconds,
        "bars": bt.bars_done,
        "trades": m["total_trades"],
        "open_trades": m["open_trades"],
        "final_equity": m["final_equity"],
    }


def case_peer(folder: Path, tmp: Path, bars: int) -> dict[str, Any]:
    import warnings

    warnings.simplefilter("ignore")
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    from algotui.engine.indicators import sma

    class SmaCross(Strategy):
        fast = FAST
        slow = SLOW

        def init(self) -> None:
            self.a = self.I(sma, self.data.Close, self.fast)
            self.b = self.I(sma, self.data.Close, self.slow)

        def next(self) -> None:
            if crossover(self.a, self.b):
                self.position.close()
                self.buy()
            elif crossover(self.b, self.a):
                self.position.close()

    df = load_bars(folder)
    bt = Backtest(df, SmaCross, cash=CASH)
    t0 = time.perf_counter()
    stats = bt.run()
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "bars": len(df),
        "trades": int(stats["# Trades"]),
        "final_equity": float(stats["Equity Final [$]"]),
    }


CASES = {
    "gen": case_gen,
    "null": case_null,
    "every": case_every_bar,
    "record": case_record,
    "peer": case_peer,
}


def child_main(name: str, folder: Path, tmp: Path, bars: int) -> None:
    """Run one case and print its result, with this process's peak RSS, as one JSON line."""
    result = CASES[name](folder, tmp, bars)
    result["rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result["hwm_kib"] = vm_hwm_kib()
    print(json.dumps(result), flush=True)


def private_kib(pid: int) -> int:
    """Memory a process holds for itself alone (private pages of ``smaps_rollup``): for a
    forked child, what it adds to its parent's RSS; 0 once it has gone."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        pass
    return total


def vm_hwm_kib() -> int | None:
    """Peak RSS of this process's own address space (``VmHWM``), for a cross-check.

    ``ru_maxrss`` also carries the peak of the process image replaced by ``exec``: a child
    started by a process holding a lot of memory would report at least that much. This is why
    the parent process never loads the bars (and why this cross-check exists).
    """
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def run_case(name: str, folder: Path, tmp: Path, bars: int = 0) -> dict[str, Any]:
    """Run one case in a fresh Python process and return what it reported."""
    cmd = [sys.executable, __file__, "--case", name, "--data", str(folder), "--tmp", str(tmp)]
    cmd += ["--bars", str(bars)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"bench: case {name!r} failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(name: str, folder: Path, tmp: Path, repeat: int) -> dict[str, Any]:
    """The fastest of ``repeat`` fresh runs; peak RSS is the largest seen in any of them."""
    runs = []
    for k in range(repeat):
        r = run_case(name, folder, tmp)
        note(f"  {name} run {k + 1}/{repeat}: {r['seconds']:.3f} s, {mb(r['rss_kib']):.0f} MB")
        runs.append(r)
    best = dict(min(runs, key=lambda r: r["seconds"]))
    best["rss_kib"] = max(r["rss_kib"] for r in runs)
    if "child_private_kib" in best:
        best["child_private_kib"] = max(r["child_private_kib"] for r in runs)
        best["child_rss_kib"] = max(r["child_rss_kib"] for r in runs)
    best["all_seconds"] = [r["seconds"] for r in runs]
    return best


# -- whole commands ------------------------------------------------------------------------------


def timed_command(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds of a command and its own peak RSS in KiB (from ``wait4`` on its pid)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err
        )
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        if code != 0:
            err.seek(0)
            sys.stderr.write(err.read().decode(errors="replace"))
            raise SystemExit(f"bench: {' '.join(cmd)} failed (exit {code})")
    return seconds, usage.ru_maxrss


def best_commands(commands: dict[str, list[str]]) -> dict[str, tuple[float, int, list[float]]]:
    """Per command: best wall time of ``SAMPLE_TRIES`` runs, largest peak RSS, all times.

    The commands take turns (a, b, a, b, ...) so that a burst of load on the shared machine
    hits them alike.
    """
    times: dict[str, list[float]] = {label: [] for label in commands}
    rss = dict.fromkeys(commands, 0)
    for k in range(SAMPLE_TRIES):
        for label, cmd in commands.items():
            seconds, kib = timed_command(cmd)
            note(f"  {label} run {k + 1}/{SAMPLE_TRIES}: {seconds:.3f} s")
            times[label].append(seconds)
            rss[label] = max(rss[label], kib)
    return {label: (min(times[label]), rss[label], times[label]) for label in commands}


def sample_bars(recording: Path) -> int:
    """The bar count of a finished recording, from its ``complete`` event."""
    last = recording.read_text(encoding="utf-8").rstrip("\n").rsplit("\n", 1)[-1]
    event = json.loads(last)
    if event.get("type") != "complete":
        raise SystemExit(f"bench: the sample recording ends with {event.get('type')!r}")
    return int(event["total_bars"])


# -- report --------------------------------------------------------------------------------------


def note(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def mb(kib: int) -> float:
    return kib / 1024.0


def fmt_ratio(peer: float | None, seconds: float) -> str:
    return "n/a" if peer is None else f"{peer / seconds:.1f}x"


def verdict(ok: bool | None) -> str:
    return "n/a " if ok is None else ("PASS" if ok else "MISS")


def print_table(rows: list[tuple[str, ...]]) -> None:
    header = ("case", "bars", "seconds", "bars/s", "vs bt.py", "peak RSS MB")
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    line = "  ".join(
        h.ljust(w) if k == 0 else h.rjust(w)
        for k, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for r in rows:
        cells = (
            c.ljust(w) if k == 0 else c.rjust(w)
            for k, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        print("  ".join(cells))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bars", type=int, default=1_000_000, help="bars to generate")
    parser.add_argument("--repeat", type=int, default=1, help="best of R for algotui cases")
    parser.add_argument("--skip-peer", action="store_true", help="skip backtesting.py")
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--tmp", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.case:
        child_main(args.case, args.data, args.tmp, args.bars)
        return 0
    if args.bars < SLOW + 2:
        parser.error(f"--bars must be at least {SLOW + 2}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    n = args.bars
    print(
        f"algotui engine benchmark: {n:,} synthetic 1-minute bars (seed {SEED}), "
        f"sma_cross fast={FAST} slow={SLOW}, cash={CASH:,.0f}"
    )
    print(
        f"python {sys.version.split()[0]}, pid {os.getpid()}, {os.cpu_count()} CPUs, "
        f"best of {args.repeat} for algotui cases"
    )

    with tempfile.TemporaryDirectory(prefix="algotui-bench-") as tmpdir:
        tmp = Path(tmpdir)
        folder = tmp / "bars"
        folder.mkdir()
        note("generating bars ...")
        info = run_case("gen", folder, tmp, n)
        print(
            f"data: {info['start']} .. {info['end']}, close {info['min']:.2f} .. "
            f"{info['max']:.2f} (first {info['first']:.2f}, last {info['last']:.2f})"
        )

        note("null sink ...")
        null = best_of("null", folder, tmp, args.repeat)
        note("null sink, next() on every bar ...")
        every = best_of("every", folder, tmp, args.repeat)
        note("record ...")
        rec = best_of("record", folder, tmp, args.repeat)
        peer = None
        if not args.skip_peer:
            note("backtesting.py (slow) ...")
            peer = run_case("peer", folder, tmp)
            note(f"  peer: {peer['seconds']:.3f} s, {mb(peer['rss_kib']):.0f} MB")

        note("sample --record and imports only, taking turns ...")
        # As after any first run (unless PYTHONDONTWRITEBYTECODE is set, as on some CI
        # machines): algotui's own modules byte-compiled, like the installed packages.
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", str(ROOT / "algotui")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        recording = tmp / "sample.jsonl"
        got = best_commands(
            {
                "sample": [sys.executable, "-m", "algotui", "run", "--record", str(recording)],
                "import": [sys.executable, "-c", IMPORT_LINE],
            }
        )
        sample_s, sample_rss, sample_all = got["sample"]
        import_s, import_rss, import_all = got["import"]
        n_sample = sample_bars(recording)

    peer_s = peer["seconds"] if peer else None
    rows = [
        (
            "algotui null sink",
            f"{n:,}",
            f"{null['seconds']:.3f}",
            f"{n / null['seconds']:,.0f}",
            fmt_ratio(peer_s, null["seconds"]),
            f"{mb(null['rss_kib']):.1f}",
        ),
        (
            "  next() on every bar",
            f"{n:,}",
            f"{every['seconds']:.3f}",
            f"{n / every['seconds']:,.0f}",
            fmt_ratio(peer_s, every["seconds"]),
            f"{mb(every['rss_kib']):.1f}",
        ),
        (
            "algotui record (JSONL)",
            f"{n:,}",
            f"{rec['seconds']:.3f}",
            f"{n / rec['seconds']:,.0f}",
            fmt_ratio(peer_s, rec["seconds"]),
            f"{mb(rec['rss_kib']):.1f}",
        ),
    ]
    if peer:
        rows.append(
            (
                "backtesting.py 0.6.6 .run()",
                f"{n:,}",
                f"{peer_s:.3f}",
                f"{n / peer_s:,.0f}",
                "1.0x",
                f"{mb(peer['rss_kib']):.1f}",
            )
        )
    else:
        rows.append(("backtesting.py 0.6.6 .run()", f"{n:,}", "skipped", "n/a", "n/a", "n/a"))
    rows += [
        (
            "algotui run --record sample",
            f"{n_sample:,}",
            f"{sample_s:.3f}",
            f"{n_sample / sample_s:,.0f}",
            "n/a",
            f"{mb(sample_rss):.1f}",
        ),
        ("  of which: imports only", "-", f"{import_s:.3f}", "-", "n/a", f"{mb(import_rss):.1f}"),
    ]
    print()
    print_table(rows)
    print()
    print(
        f"record file: {rec['file_bytes'] / 1e6:,.1f} MB, {rec['events']:,} events "
        f"({rec['file_bytes'] / n:.0f} bytes/bar)"
    )
    if rec.get("child_rss_kib"):
        print(
            f"record: the candles render in a forked child; its peak RSS "
            f"{mb(rec['child_rss_kib']):.1f} MB is mostly pages shared with the recorder, its "
            f"own (private) memory peaked at {mb(rec['child_private_kib']):.1f} MB (sampled)"
        )
    hwm = ", ".join(
        f"{label} {mb(r['hwm_kib']):.1f}"
        for label, r in (("null", null), ("record", rec), ("peer", peer))
        if r is not None and r.get("hwm_kib") is not None
    )
    parent_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        f"peak RSS cross-check, VmHWM (MB): {hwm or 'n/a'}; this script's parent process "
        f"peaked at {mb(parent_kib):.1f} MB (a floor under every child's ru_maxrss)"
    )
    if args.repeat > 1:
        print(
            "algotui runs (s): null "
            + ", ".join(f"{s:.3f}" for s in null["all_seconds"])
            + "; record "
            + ", ".join(f"{s:.3f}" for s in rec["all_seconds"])
        )
    print(
        "sample runs (s): "
        + ", ".join(f"{s:.3f}" for s in sample_all)
        + "; import-only runs (s): "
        + ", ".join(f"{s:.3f}" for s in import_all)
        + f"; imports are {import_s / sample_s:.0%} of the best sample run"
    )

    # -- agreement ---------------------------------------------------------------------------
    print()
    mismatch = False
    for label, other in (("record", rec), ("every bar", every)):
        if null["trades"] != other["trades"] or null["final_equity"] != other["final_equity"]:
            mismatch = True
            print(
                f"MISMATCH algotui null vs {label}: trades {null['trades']} vs "
                f"{other['trades']}, final equity {null['final_equity']!r} vs "
                f"{other['final_equity']!r}"
            )
    if peer is None:
        print(
            f"engine agreement: n/a (--skip-peer); algotui: {null['trades']} closed trades "
            f"(+{null['open_trades']} open), final equity {null['final_equity']:.6f}"
        )
    else:
        same = null["trades"] == peer["trades"] and close_enough(
            null["final_equity"], peer["final_equity"]
        )
        mismatch |= not same
        rel = abs(null["final_equity"] - peer["final_equity"]) / abs(peer["final_equity"])
        print(
            f"{'MATCH' if same else 'MISMATCH'}: closed trades algotui {null['trades']} / "
            f"backtesting.py {peer['trades']}; final equity {null['final_equity']:.6f} / "
            f"{peer['final_equity']:.6f} (rel diff {rel:.1e}, tolerance {REL_TOL:g})"
        )

    # -- goals -------------------------------------------------------------------------------
    null_x = peer_s / null["seconds"] if peer_s else None
    rec_x = peer_s / rec["seconds"] if peer_s else None
    rec_total = mb(rec["rss_kib"]) + mb(rec.get("child_private_kib", 0))
    rss = max(mb(null["rss_kib"]), rec_total)
    print()
    print("goals:")
    print(
        f"  {verdict(None if null_x is None else null_x >= GOAL_NULL_X)}  null sink >= "
        f"{GOAL_NULL_X:g}x backtesting.py: {'n/a' if null_x is None else f'{null_x:.1f}x'}"
    )
    print(
        f"  {verdict(None if rec_x is None else rec_x >= GOAL_RECORD_X)}  record >= "
        f"{GOAL_RECORD_X:g}x backtesting.py: {'n/a' if rec_x is None else f'{rec_x:.1f}x'}"
    )
    print(
        f"  {verdict(rss <= GOAL_RSS_MB)}  peak RSS <= {GOAL_RSS_MB:g} MB at {n:,} bars: "
        f"{rss:.1f} MB (null {mb(null['rss_kib']):.1f}, record {mb(rec['rss_kib']):.1f}"
        f" + renderer child {mb(rec.get('child_private_kib', 0)):.1f} private)"
    )
    print(
        f"  {verdict(sample_s < GOAL_SAMPLE_S)}  sample record < {GOAL_SAMPLE_S:g} s wall: "
        f"{sample_s:.3f} s (imports alone {import_s:.3f} s)"
    )
    return 1 if mismatch else 0


def close_enough(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(abs(a), abs(b))


if __name__ == "__main__":
    sys.exit(main())
