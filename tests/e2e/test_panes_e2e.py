"""The real `algotui` in tmux at 80x24, 120x40 and 200x60: the footer's help and quit keys, the
trades view and back, and ctrl+c leaving as q does."""

import os
import sys

import pytest

from tests.e2e.test_e2e import Tmux, bar_count

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_footer_trades_view_and_ctrl_c(size) -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "algotui")
    t = Tmux(f"{exe} run --paused -s rsi_reversion -p allow_short=true", *size)
    try:
        screen = t.wait(lambda s: "PAUSED" in s and "/ 782" in s)
        lines = screen.rstrip("\n").splitlines()
        assert bar_count(screen) == 1
        assert "? Help" in lines[-1] and "q Quit" in lines[-1]
        assert "cash 10,000" in lines[0]

        t.keys("f")
        t.wait(lambda s: "DONE" in s)
        t.keys("T")
        screen = t.wait(lambda s: "Entry time" in s and "closed" in s)
        assert "short" in screen and "long" in screen
        t.keys("Down", "Enter")
        screen = t.wait(lambda s: "DONE" in s and "Entry time" not in s)

        t.keys("C-c")
        t.wait(lambda s: not t.alive(), timeout=15)
    finally:
        t.kill()
