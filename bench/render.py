"""Frames per second of building a CandleChart frame at 160x45, with 1k and 1M bars of history.

Run: ``uv run python bench/render.py``. The frame builder (``CandleChart.build_frame``: slice the
visible window, draw it with numpy, make the Strips) is called directly in a loop, so the figure
is the chart's own cost, not the terminal's.
"""

import asyncio
import time

import numpy as np
from textual.app import App, ComposeResult

from algotui.tui.widgets.chart import CandleChart
from algotui.view.state import RunState

SIZE = (160, 45)


def synthetic_state(n: int, seed: int = 7) -> RunState:
    """A RunState holding ``n`` random-walk daily bars, two SMAs, an RSI-like pane and fills."""
    rng = np.random.default_rng(seed)
    state = RunState()
    state.apply(
        [
            {
                "type": "metadata",
                "seq": 0,
                "symbol": "SYNTH",
                "interval": "1d",
                "total_bars": n,
                "initial_balance": 10_000.0,
                "indicators": [
                    {"name": "SMA(10)", "overlay": True},
                    {"name": "SMA(20)", "overlay": True},
                    {"name": "OSC", "overlay": False},
                ],
            }
        ]
    )
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    spread = np.abs(rng.normal(0, 0.006, n)) * close
    state.open[:n] = open_
    state.close[:n] = close
    state.high[:n] = np.maximum(open_, close) + spread
    state.low[:n] = np.minimum(open_, close) - spread
    state.volume[:n] = rng.integers(500_000, 2_000_000, n)
    for k in (10, 20):
        sma = np.convolve(close, np.ones(k) / k, mode="full")[:n]
        sma[: k - 1] = np.nan
        state.indicators[f"SMA({k})"][:n] = sma
    state.indicators["OSC"][:n] = np.sin(np.arange(n) / 9) * 40 + 50
    stamps = np.datetime64("1990-01-01") + np.arange(n).astype("timedelta64[D]")
    state.times = np.datetime_as_string(stamps.astype("datetime64[s]")).tolist()
    state.bars = n
    # Fills as the run state takes them: a long in and out every 74 bars, one still open
    # with its stop-loss and take-profit.
    fills = [(b, i % 2 == 0, i // 2 + 1) for i, b in enumerate(range(5, n - 40, 37))]
    if fills and fills[-1][1]:
        fills.pop()  # end flat before the open trade
    signals = [
        {"type": "signal", "action": "ENTRY" if entry else "EXIT",
         "side": "BUY" if entry else "SELL", "price": float(close[b]), "size": 1.0,
         "trade_id": tid, "bar_number": b + 1}
        for b, entry, tid in fills
    ]  # fmt: skip
    signals.append(
        {"type": "signal", "action": "ENTRY", "side": "BUY", "price": float(close[-30]),
         "size": 1.0, "trade_id": len(fills) + 1, "bar_number": n - 29,
         "stop_loss": close[-1] * 0.97, "take_profit": close[-1] * 1.05}
    )  # fmt: skip
    state.apply(signals)
    return state


class _Bench(App[None]):
    def __init__(self, state: RunState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        yield CandleChart(self.state)


async def frames_per_second(n: int, seconds: float = 2.0) -> tuple[float, int]:
    """Frames built per second for ``n`` bars of history, and the bars in view."""
    state = synthetic_state(n)
    app = _Bench(state)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        chart = app.query_one(CandleChart)
        chart.build_frame()  # warm up
        frames = 0
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            chart.build_frame()
            frames += 1
        elapsed = time.perf_counter() - start
        first, last = chart.visible_range
    return frames / elapsed, last - first + 1


def main() -> None:
    """Print frames/s for 1k and 1M bars of history."""
    for n in (1_000, 1_000_000):
        fps, shown = asyncio.run(frames_per_second(n))
        print(
            f"{n:>9,} bars of history, {shown} in view at {SIZE[0]}x{SIZE[1]}: "
            f"{fps:7.1f} frames/s ({1000 / fps:.2f} ms/frame)"
        )


if __name__ == "__main__":
    main()
