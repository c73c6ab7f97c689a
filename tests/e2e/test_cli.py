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


@pytest.mark.parametrize("speed", ["0.01", "100000", "fast"])
def test_speed_must_be_a_sensible_pace(capsys, speed) -> None:
    code, _, err = run(["run", "--json", "--speed", speed], capsys)
    assert code == 2 and f"--speed '{speed}'" in err


def test_replay_refuses_to_draw_into_a_pipe(tmp_path, capsys) -> None:
    path = tmp_path / "run.jsonl"
    code, _, _ = run(["run", "--record", str(path)], capsys)
    assert code == 0
    code, out, err = run(["replay", str(path)], capsys)  # pytest's stdout is not a terminal
    assert code == 2 and out == "" and "needs a terminal" in err
