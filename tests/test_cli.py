"""The command line: `algotui` alone is `algotui run`, options included."""

import json

import pytest

from algotui.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_options_without_a_command_mean_run(capsys) -> None:
    code, out, err = run(["--json", "-p", "fast=5"], capsys)
    assert code == 0, err
    metrics = json.loads(out)
    assert metrics["bars"] == 782


def test_a_source_without_a_command_means_run(capsys) -> None:
    code, out, _ = run(["sample", "--json", "-s", "buy_and_hold"], capsys)
    assert code == 0
    assert json.loads(out)["open_trades"] == 1


def test_strategies_lists_every_builtin(capsys) -> None:
    code, out, _ = run(["strategies"], capsys)
    assert code == 0
    for name in ("sma_cross", "rsi_reversion", "macd_cross", "bollinger_breakout", "buy_and_hold"):
        assert name in out


def test_headless_summary_table(capsys) -> None:
    code, out, _ = run(["run", "--headless"], capsys)
    assert code == 0
    assert "Final equity" in out and "11,623.17" in out


@pytest.mark.parametrize("param", ["fast=0", "fast=30"])
def test_a_parameter_the_strategy_refuses_is_bad_input(capsys, param) -> None:
    code, out, err = run(["run", "--json", "-p", param], capsys)
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "-p fast=" in err
