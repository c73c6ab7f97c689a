"""The strategies in examples/ load, pass `algotui check`, and trade on the bundled sample."""

import ast
import json
from pathlib import Path

import pytest

from algotui.cli import main
from algotui.engine import Backtest, load_strategy
from algotui.feed import load_source
from algotui.protocol.encode import Encoder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BRACKETS = EXAMPLES / "breakout_with_brackets.py"
SHORT = EXAMPLES / "short_mean_reversion.py"
COMBO = EXAMPLES / "trend_momentum_combo.py"
ALL = [BRACKETS, SHORT, COMBO]
IDS = [p.stem for p in ALL]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``algotui *argv`` in-process: (exit code, stdout, stderr)."""
    try:
        main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    else:
        code = 0
    out, err = capsys.readouterr()
    return code, out, err


def backtest(path: Path) -> tuple[Backtest, list[dict]]:
    """The example run to the end on the sample, with default parameters, and its signals."""
    bt = Backtest(load_source("sample"), load_strategy(str(path)), {})
    encode = Encoder(bt.run_id)
    signals = [encode.to_dict(event) for event in bt.events() if event.type == "signal"]
    assert bt.status == "completed", bt.error_message
    return bt, signals


def test_the_examples_exist() -> None:
    assert {p.name for p in ALL} <= {p.name for p in EXAMPLES.glob("*.py")}


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_module_docstring_says_how_to_run_it(path: Path) -> None:
    doc = ast.get_docstring(ast.parse(path.read_text()))
    assert doc, f"{path.name} has no module docstring"
    assert f"uv run algotui run -s examples/{path.name}" in doc


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_check_prints_ok(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "check", str(path))
    assert code == 0, err
    assert "OK: ran 200 bars" in out
    assert "Traceback" not in out + err


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_headless_json_run_trades(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "run", "-s", str(path), "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["status"] == "completed"
    assert metrics["bars"] == 782
    assert metrics["total_trades"] + metrics["open_trades"] >= 2


@pytest.mark.parametrize("path", ALL, ids=IDS)
def test_every_order_has_a_reason(path: Path) -> None:
    bt, signals = backtest(path)
    trades = [*bt.broker.closed, *bt.broker.trades]
    assert len(trades) >= 2
    for t in trades:
        assert t.entry_reason.strip(), f"trade {t.trade_id} entered without a reason"
    # Exits too: the strategy's close(reason=...), or the broker's "stop loss at ..." text.
    assert {s["action"] for s in signals} >= {"ENTRY", "EXIT"}
    for s in signals:
        assert s["reason"].strip(), f"{s['action']} of trade {s['trade_id']} has no reason"


def test_brackets_example_exits_by_stop_loss_and_take_profit() -> None:
    bt, _ = backtest(BRACKETS)
    reasons = {t.exit_reason for t in bt.broker.closed}
    assert reasons & {"stop_loss", "take_profit"}, reasons
    # Every entry carried both legs of the bracket, on the right side of the entry price.
    for t in [*bt.broker.closed, *bt.broker.trades]:
        assert t.sl is not None and t.tp is not None
        assert t.sl < t.entry_price < t.tp


def test_brackets_example_parameters_are_class_attributes() -> None:
    params = load_strategy(str(BRACKETS)).parameters()
    assert {"lookback", "stop_atr", "target_atr"} <= set(params)


def test_short_example_sells_short() -> None:
    bt, _ = backtest(SHORT)
    trades = [*bt.broker.closed, *bt.broker.trades]
    assert any(t.direction == "short" for t in trades)


def test_short_example_short_only(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "run", "-s", str(SHORT), "-p", "allow_long=false", "--json")
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["long_trades"] == 0
    assert metrics["short_trades"] >= 2


def test_combo_example_declares_overlay_and_subpane_indicators() -> None:
    bt, _ = backtest(COMBO)
    assert bt.strategy is not None
    where = {ind.name: ind.overlay for ind in bt.strategy.indicators}
    assert any(where.values()), where
    assert not all(where.values()), where
    assert len(where) >= 3
