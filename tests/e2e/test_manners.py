"""What a new user meets first: the README's own strategy, the backtesting.py idiom, --help."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from algotui.cli import main
from algotui.engine import BUILTINS, Backtest, Strategy, load_strategy
from algotui.engine.indicators import crossover, sma
from algotui.feed import load_source

ROOT = Path(__file__).resolve().parents[2]


def readme_pullback(tmp_path: Path) -> Path:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(
        r"```python\n(from algotui import Strategy\n.*?class Pullback.*?)```", text, re.S
    )
    assert code, "the README's Pullback example is gone"
    path = tmp_path / "pullback.py"
    path.write_text(code.group(1), encoding="utf-8")
    return path


def run(strategy: type[Strategy], **params) -> Backtest:
    bt = Backtest(load_source("sample"), strategy, params)
    for _ in bt.stream():
        pass
    assert bt.status == "completed", bt.error_message
    return bt


@pytest.mark.parametrize("params", [{}, {"oversold": "25"}], ids=["defaults", "oversold=25"])
def test_the_readme_example_trades_on_the_sample(tmp_path, params) -> None:
    cls = load_strategy(str(readme_pullback(tmp_path)))
    bt = run(cls, **params)
    assert bt.metrics["total_trades"] >= 3
    assert "-p oversold=25" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_example_refuses_bad_parameters(tmp_path) -> None:
    from algotui.errors import StrategyError

    cls = load_strategy(str(readme_pullback(tmp_path)))
    with pytest.raises(StrategyError, match="oversold lies between 0 and 70"):
        cls.resolve_params({"oversold": "90"})


class CrossInNext(Strategy):
    """backtesting.py's idiom: crossover() of two indicators inside next() is one bool."""

    def init(self) -> None:
        self.fast = self.indicator(sma, self.data.Close, 10, name="fast")
        self.slow = self.indicator(sma, self.data.Close, 20, name="slow")
        self.answers: list[object] = []

    def next(self) -> None:
        up = crossover(self.fast, self.slow)
        self.answers.append(up)
        if up:
            self.buy()
        elif crossover(self.slow, self.fast):
            self.close()


class CrossInInit(Strategy):
    """The vectorised form: crossover() of the same indicators in init(), for wake_on."""

    def init(self) -> None:
        self.fast = self.indicator(sma, self.data.Close, 10, name="fast")
        self.slow = self.indicator(sma, self.data.Close, 20, name="slow")
        self.up = crossover(self.fast, self.slow)
        self.down = crossover(self.slow, self.fast)
        self.wake_on(self.up | self.down)

    def next(self) -> None:
        if self.up[self.i]:
            self.buy()
        elif self.down[self.i]:
            self.close()


def test_crossover_is_a_bool_in_next_and_an_array_in_init() -> None:
    live = run(CrossInNext)
    answers = live.strategy.answers
    assert len(answers) == 782 and all(type(a) is bool for a in answers)
    whole = run(CrossInInit)
    assert isinstance(whole.strategy.up, np.ndarray) and whole.strategy.up.dtype == bool
    # The bool of each bar is the array's value at that bar, and both give the same trades.
    assert answers == whole.strategy.up.tolist()
    assert sum(answers) > 5
    assert live.metrics["total_trades"] == whole.metrics["total_trades"] > 5
    assert live.metrics["final_equity"] == pytest.approx(whole.metrics["final_equity"])


def test_crossover_of_an_indicator_and_a_level_in_next() -> None:
    class Level(Strategy):
        def init(self) -> None:
            self.ma = self.indicator(sma, self.data.Close, 5, name="ma")
            self.seen: list[bool] = []

        def next(self) -> None:
            self.seen.append(crossover(self.ma, 100.0))

    bt = run(Level)
    expected = crossover(sma(bt.data["Close"].to_numpy(), 5), 100.0)
    assert bt.strategy.seen == expected.tolist()


def cli(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    return info.value.code, capsys.readouterr().out


def test_run_help_speaks_of_tickers_and_lists_choices(capsys) -> None:
    code, out = cli(["run", "--help"], capsys)
    assert code == 0
    flat = " ".join(out.split())
    assert "ticker such as AAPL" in flat
    assert "next-open" in flat and "close (this bar's close)" in flat
    for name in ("algotui-dark", "algotui-light", "algotui-amber"):
        assert name in flat.replace("algotui- ", "algotui-")
    assert "--no-no-cache" not in out and "/ --no-" not in out


def test_bool_flags_have_no_negative_twin(capsys) -> None:
    code, _ = cli(["run", "--no-no-cache", "--json"], capsys)
    assert code == 2


def test_builtins_validate_before_any_data_is_read() -> None:
    from algotui.errors import StrategyError

    for name, bad in [
        ("bollinger_breakout", {"k": "-3"}),
        ("bollinger_breakout", {"k": "inf"}),
        ("rsi_reversion", {"lower": "90", "upper": "10"}),
        ("sma_cross", {"fast": "30"}),
        ("macd_cross", {"signal": "0"}),
    ]:
        with pytest.raises(StrategyError):
            BUILTINS[name].resolve_params(bad)
