"""How fast the app draws while a backtest plays at maximum speed.

Runs the real app headless at 160x45 (Textual's test driver), with the terminal output still
produced for every frame the compositor sends (so the cost of turning a frame into escape
codes is counted), and reports for 1k and 1M bars of history:

- frames/s actually rendered while the engine runs at max speed,
- bars/s the engine got through while the app was drawing,
- key-press latency: from a key reaching the app to the next frame on screen,
- the state's and the process's memory.

Usage: ``uv run python bench/tui.py [--seconds 6] [--sizes 1000,1000000]``. The machine is
shared and noisy: run it more than once before believing a number.
"""

import argparse
import asyncio
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from algotui.tui.clock import paint_on_request  # noqa: E402

paint_on_request()  # as `algotui run` does, before Textual is imported

from algotui.engine import BUILTINS, Backtest  # noqa: E402
from algotui.run.player import Player  # noqa: E402
from algotui.run.process import EngineProcess, can_fork  # noqa: E402
from algotui.tui.app import AlgoApp  # noqa: E402


def minute_bars(n: int, seed: int = 7) -> pd.DataFrame:
    """``n`` synthetic 1-minute bars (a geometric random walk with valid OHLC)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 8e-4, n)))
    open_ = np.concatenate([[100.0], close[:-1]]) * (1 + rng.normal(0, 2e-4, n))
    spread = np.abs(rng.normal(0, 6e-4, n)) * close
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    index = pd.date_range("2020-01-01", periods=n, freq="min", name="Date")
    df = pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": 1000.0}, index=index
    )
    df.attrs.update(symbol="SYN", source="synthetic", interval="1m")
    return df


async def measure(n: int, seconds: float, speed: float | None = None) -> dict[str, float]:
    """With ``n`` bars of history already on screen, play on at ``speed`` (None: max) for
    ``seconds``."""
    bt = Backtest(minute_bars(n + (1_000_000 if speed is None else 20_000)), BUILTINS["sma_cross"])
    source = EngineProcess(bt) if can_fork() else bt.stream()  # as `algotui run` does
    app = AlgoApp(Player(source, speed=speed), run_id=bt.run_id)
    frames: list[float] = []
    pending_keys: list[float] = []
    latencies: list[float] = []
    original = AlgoApp._display

    def display(self, screen, renderable) -> None:  # noqa: ANN001
        if renderable is not None:
            if hasattr(renderable, "render_segments"):
                renderable.render_segments(self.console)  # the escape codes a terminal gets
            now = time.perf_counter()
            frames.append(now)
            while pending_keys:
                latencies.append(now - pending_keys.pop())
        original(self, screen, renderable)

    AlgoApp._display = display  # type: ignore[method-assign]
    try:
        async with app.run_test(size=(160, 45)) as pilot:
            while app.state.bars < n:
                await asyncio.sleep(0.05)
            start = time.perf_counter()
            bars0 = app.state.bars
            frames.clear()
            while time.perf_counter() - start < seconds and not app.state.done:
                await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - start
            bars = app.state.bars - bars0
            drawn = len(frames)
            # Key latency while still playing: zoom, volume and pan keys, each redraws the chart.
            for key in ["left_square_bracket", "right_square_bracket", "v", "v", "left", "end"] * 2:
                await pilot.pause(0.15)
                pending_keys.append(time.perf_counter())
                await pilot.press(key)
                await pilot.pause(0.15)
            state_mb = (
                sum(
                    a.nbytes
                    for a in (app.state.open, app.state.high, app.state.low, app.state.close)
                )
                / 1e6
            )
            await pilot.press("q")
    finally:
        AlgoApp._display = original  # type: ignore[method-assign]
    return {
        "bars": n,
        "speed": "max" if speed is None else f"{speed:g}/s",
        "seconds": elapsed,
        "fps": drawn / elapsed,
        "bars_per_s": bars / elapsed,
        "key_ms_median": statistics.median(latencies) * 1000 if latencies else float("nan"),
        "key_ms_max": max(latencies) * 1000 if latencies else float("nan"),
        "state_mb": state_mb,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--sizes", default="1000,1000000")
    args = parser.parse_args()
    rows = [asyncio.run(measure(int(n), args.seconds)) for n in args.sizes.split(",")]
    rows.append(asyncio.run(measure(0, args.seconds, speed=20)))  # the default pace
    print(
        f"{'history':>10} {'speed':>6} {'fps':>6} {'bars/s':>10} {'key ms (median/max)':>20} "
        f"{'state MB':>9} {'peak RSS MB':>11}"
    )
    for r in rows:
        print(
            f"{r['bars']:>10,} {r['speed']:>6} {r['fps']:>6.1f} {r['bars_per_s']:>10,.0f} "
            f"{r['key_ms_median']:>9.1f} / {r['key_ms_max']:<8.1f} {r['state_mb']:>9.1f} "
            f"{r['rss_mb']:>11.0f}"
        )
    print(
        "goals: >= 45 fps at max speed, same for 1M as 1k history; key < 50 ms; "
        ">= 100k bars/s while drawing >= 30 fps"
    )


if __name__ == "__main__":
    main()
