"""The one key table, the speed ladder, the header's fitting and the trade records: units."""

from pathlib import Path

import numpy as np
import pytest

from algotui.cli import SPEED_LIMIT, parse_speed
from algotui.errors import UserError
from algotui.tui import speed as ladder
from algotui.tui.app import AlgoApp
from algotui.tui.keys import SCOPES, bindings, help_lines, markdown, rows
from algotui.tui.screens.trade_table import trade_records
from algotui.tui.widgets.header import assumptions, header_text
from algotui.view.state import RunState

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_scope_binds_each_key_once() -> None:
    for scope in SCOPES:
        seen: list[str] = []
        for binding in bindings(scope):
            seen += binding.key.split(",")
        assert len(seen) == len(set(seen)), f"{scope}: a key bound twice: {seen}"


def test_every_app_row_has_an_action_or_waits_for_a_capability() -> None:
    for row in rows("app"):
        name = row.name.removeprefix("app.")
        if not row.needs:
            assert hasattr(AlgoApp, f"action_{name}"), row
    # Ctrl-C quits as q does: Textual's own ctrl+c notice is overridden by a priority row.
    ctrl_c = [b for b in AlgoApp.BINDINGS if "ctrl+c" in b.key]
    assert ctrl_c and ctrl_c[0].action == "quit" and ctrl_c[0].priority


def test_help_leaves_out_rows_the_app_cannot_run() -> None:
    class Plain:
        controls = object()

    class Seeks:
        class controls:  # noqa: N801 - a stand-in object with a seek method
            @staticmethod
            def seek(bar: int) -> None: ...

    def keys_of(owner: object) -> set[str]:
        return {k for _, items in help_lines(SCOPES, owner) for k, _ in items}

    assert "PgUp" in keys_of(Seeks()) - keys_of(Plain()) or "g" in keys_of(Seeks())
    assert "g" not in keys_of(Plain())


def test_the_readme_keys_table_is_the_one_table() -> None:
    text = README.read_text(encoding="utf-8")
    block = text.split("<!-- keys: start -->", 1)[1].split("<!-- keys: end -->", 1)[0]
    assert block.strip() == markdown(), "README keys: paste `python -m algotui.tui.keys`"
    described = [r for scope in SCOPES for r in rows(scope) if r.description]
    assert len(described) == len(block.strip().splitlines()) - 2


def test_ladder_spans_what_speed_accepts_and_walks_it() -> None:
    assert ladder.LADDER[0] == 0.1 and ladder.LADDER[-1] == SPEED_LIMIT
    assert parse_speed(str(ladder.LADDER[0])) == 0.1
    with pytest.raises(UserError):
        parse_speed("0.05")
    assert ladder.faster(20) == 50 and ladder.slower(20) == 10
    assert ladder.faster(0.1) == 0.2 and ladder.slower(0.1) == 0.1
    assert ladder.faster(50_000) is None and ladder.faster(None) is None
    assert ladder.slower(None) == 50_000
    # Off-ladder speeds from --speed land on the next rung either way.
    assert ladder.faster(3) == 5 and ladder.slower(3) == 2
    assert ladder.faster(0.3) == 0.5 and ladder.slower(0.3) == 0.2
    assert ladder.faster(49_999) == 50_000


def test_speed_text_says_bar_for_one() -> None:
    assert ladder.speed_text(1) == "1 bar/s"
    assert ladder.speed_text(0.5) == "0.5 bars/s"
    assert ladder.speed_text(2000) == "2,000 bars/s"
    assert ladder.speed_text(None) == "max"


META = {
    "symbol": "SAMPLE",
    "interval": "1d",
    "strategy": "sma_cross",
    "params": {"fast": 10, "slow": 20, "allow_short": False},
    "initial_balance": 10_000,
    "commission": 0.001,
    "commission_fixed": 0,
    "slippage": 0.0005,
    "fill": "next-open",
}


def test_assumptions_read_the_metadata() -> None:
    assert assumptions(META) == "cash 10,000  comm 0.1%  slip 0.05%  fill next-open"


@pytest.mark.parametrize("width", [60, 78, 118, 198])
def test_header_fits_its_width_and_cuts_with_an_ellipsis(width: int) -> None:
    text = header_text(META, "RUNNING", "20 bars/s", width, replay_of="run.jsonl.gz").plain
    assert len(text) <= width
    assert text.startswith("RUNNING") and "REPLAY" in text and "20 bars/s" in text
    assert "sma_cross" in text or width < 78
    full = "fast=10 slow=20 allow_short=False" in text and "fill next-open" in text
    assert full or "…" in text


def test_header_before_metadata_says_it_waits() -> None:
    text = header_text({}, "LOADING", "20 bars/s", 100).plain
    assert "LOADING" in text and "waiting" in text and "0 / 0" not in text


def small_state() -> RunState:
    """A run of ten bars with one closed trade (stop-loss moved once) and one open trade."""
    s = RunState()
    events = [{"type": "metadata", "total_bars": 10, "symbol": "X", "interval": "1d"}]
    for i in range(10):
        price = 100.0 + i
        events.append(
            {
                "type": "candle",
                "timestamp": f"2024-01-{i + 1:02d}T00:00:00",
                "open": price,
                "high": price + 2,
                "low": price - 1,
                "close": price,
                "bar_number": i + 1,
            }
        )
        if i == 1:
            events.append(
                {"type": "signal", "action": "ENTRY", "side": "BUY", "price": 101.0, "size": 2,
                 "trade_id": 1, "reason": "breakout", "stop_loss": 95.0, "take_profit": 120.0,
                 "timestamp": "2024-01-02T00:00:00", "bar_number": 2}
            )  # fmt: skip
        if i == 3:  # the stop-loss moved up
            events.append(
                {"type": "levels", "trade_id": 1, "timestamp": "2024-01-04T00:00:00",
                 "bar_number": 4, "stop_loss": 99.0, "take_profit": 120.0}
            )  # fmt: skip
        if i == 5:
            events.append(
                {"type": "signal", "action": "EXIT", "side": "SELL", "price": 105.0, "size": 2,
                 "trade_id": 1, "reason": "trail", "pnl": 8.0,
                 "timestamp": "2024-01-06T00:00:00", "bar_number": 6}
            )  # fmt: skip
            events.append(
                {"type": "trade", "trade_id": 1, "direction": "long",
                 "entry_time": "2024-01-02T00:00:00", "entry_price": 101.0,
                 "exit_time": "2024-01-06T00:00:00", "exit_price": 105.0, "size": 2, "pnl": 8.0,
                 "pnl_percent": 3.96, "commission": 0.0, "exit_reason": "signal", "mfe": 5.0,
                 "mae": -1.0, "bars_held": 4}
            )  # fmt: skip
        if i == 7:
            events.append(
                {"type": "signal", "action": "ENTRY", "side": "SELL", "price": 107.0, "size": 1,
                 "trade_id": 2, "reason": "fade", "stop_loss": None, "take_profit": None,
                 "timestamp": "2024-01-08T00:00:00", "bar_number": 8}
            )  # fmt: skip
    s.apply(events)
    return s


def test_trade_records_closed_and_open_with_level_history() -> None:
    state = small_state()
    closed, opened = trade_records(state)
    assert (closed.trade_id, closed.is_open, closed.entry_bar, closed.exit_bar) == (1, False, 1, 5)
    assert closed.entry_note == "breakout" and closed.exit_note == "trail"
    assert [(c.bar, c.stop_loss, c.take_profit) for c in closed.levels] == [
        (1, 95.0, 120.0),
        (3, 99.0, 120.0),
    ]
    assert closed.levels[1].note == "moved stop-loss"
    assert closed.focus_bar == 3
    # The open short is marked at the last close (109): 2 points against it.
    assert opened.is_open and opened.direction == "short" and opened.entry_bar == 7
    assert opened.pnl == pytest.approx(-2.0) and opened.bars_held == 2
    assert opened.mfe == pytest.approx((107 - 106) / 1.07)  # lows 106.. since bar 8
    assert opened.mae == pytest.approx(-(111 - 107) / 1.07)  # highs up to 111
    assert np.isfinite(opened.pnl_percent)


def test_every_level_change_the_state_keeps_is_read() -> None:
    state = small_state()
    state.level_changes.append(  # a second move, as the run state keeps them
        {"type": "levels", "trade_id": 1, "timestamp": "2024-01-05T00:00:00", "bar_number": 5,
         "stop_loss": 102.0, "take_profit": 118.0}
    )  # fmt: skip
    closed = trade_records(state)[0]
    assert [c.stop_loss for c in closed.levels] == [95.0, 99.0, 102.0]
    assert closed.levels[-1].note == "moved stop-loss and target"
