"""The engine reproduces reference engines trade for trade under the same conventions."""

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest as BtBacktest
from backtesting import Strategy as BtStrategy
from backtesting.test import EURUSD, GOOG

from algotui.engine import BUILTINS, Backtest, Strategy
from algotui.engine.indicators import rsi, sma

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def goog() -> pd.DataFrame:
    df = GOOG.copy()
    df.attrs.update(symbol="GOOG", interval="1d", source="backtesting.test")
    return df


def our_trades(bt: Backtest) -> list[tuple]:
    index = bt.data.index
    return [
        (index[t.entry_bar], index[t.exit_bar], t.entry_price, t.exit_price, t.size, t.pnl)
        for t in bt.broker.closed
    ]


def their_trades(stats: pd.Series) -> list[tuple]:
    df = stats["_trades"]
    return [
        (r.EntryTime, r.ExitTime, r.EntryPrice, r.ExitPrice, abs(r.Size), r.PnL)
        for r in df.itertuples()
    ]


def run_bt(data: pd.DataFrame, strategy: type, **kwargs) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return BtBacktest(data, strategy, **kwargs).run()


def assert_same(ours: list[tuple], theirs: list[tuple]) -> None:
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert a[0] == b[0] and a[1] == b[1], (a, b)
        assert a[2:] == pytest.approx(b[2:], rel=1e-9, abs=1e-9), (a, b)


# -- the reference file ------------------------------------------------------------------------


def test_goog_sma_cross_matches_the_reference_trade_for_trade() -> None:
    ref = json.loads((REFERENCE / "goog_sma_cross_10_20.json").read_text())
    bt = Backtest(goog(), BUILTINS["sma_cross"], {"fast": 10, "slow": 20}, cash=10_000)
    metrics = bt.run()
    assert metrics["total_trades"] == ref["closed_trades"] == 46
    assert metrics["open_trades"] == 1
    assert metrics["final_equity"] == pytest.approx(ref["final_equity"], abs=0.005)
    assert round(metrics["final_equity"], 2) == 75645.99
    assert metrics["max_drawdown"] == pytest.approx(ref["max_drawdown_pct"], rel=1e-9)
    assert metrics["total_return_pct"] == pytest.approx(ref["return_pct"], abs=1e-4)
    ours = [
        {
            "entry_time": str(bt.data.index[t.entry_bar]),
            "exit_time": str(bt.data.index[t.exit_bar]),
            "entry_price": t.entry_price,
            "exit_price": t.exit_price,
            "size": t.size,
            "pnl": t.pnl,
        }
        for t in bt.broker.closed
    ]
    assert ours == ref["trades"]


def test_goog_sma_cross_filling_at_the_signal_close_matches_the_reference() -> None:
    ref = json.loads((REFERENCE / "goog_sma_cross_10_20.json").read_text())
    variant = ref["fill_at_signal_close_variant"]
    metrics = Backtest(goog(), BUILTINS["sma_cross"], fill="close").run()
    assert metrics["total_trades"] == variant["closed_trades"]
    assert round(metrics["final_equity"], 2) == variant["final_equity"] == 71924.92
    assert metrics["total_return_pct"] == pytest.approx(variant["return_pct"], abs=1e-2)


# -- live comparisons with backtesting.py ------------------------------------------------------


def bt_sma_cross(fast: int = 10, slow: int = 20, short: bool = False, sl=None, tp=None):
    """backtesting.py's own SmaCross, in its idiom (close, then open)."""

    class SmaCross(BtStrategy):
        def init(self):
            self.a = self.I(sma, self.data.Close, fast)
            self.b = self.I(sma, self.data.Close, slow)

        def next(self):
            a, b = self.a, self.b
            price = self.data.Close[-1]
            if a[-2] < b[-2] and a[-1] > b[-1]:
                self.position.close()
                kw = {}
                if sl:
                    kw["sl"] = price * (1 - sl)
                if tp:
                    kw["tp"] = price * (1 + tp)
                self.buy(**kw)
            elif b[-2] < a[-2] and b[-1] > a[-1]:
                self.position.close()
                if short:
                    self.sell()

    return SmaCross


class Bracketed(Strategy):
    """sma_cross long-only with a stop-loss and take-profit in percent of the signal close."""

    sl = 0.03
    tp = 0.06

    def init(self):
        self.a = self.indicator(sma, self.data.Close, 10, name="a")
        self.b = self.indicator(sma, self.data.Close, 20, name="b")

    def next(self):
        if len(self.data) < 2:
            return
        a, b, price = self.a, self.b, self.price
        if a[-2] < b[-2] and a[-1] > b[-1]:
            self.buy(sl=price * (1 - self.sl), tp=price * (1 + self.tp), reason="cross up")
        elif b[-2] < a[-2] and b[-1] > a[-1]:
            self.close(reason="cross down")


@pytest.mark.parametrize("commission", [0.001, 0.01])
def test_commission_matches_backtesting_py(commission: float) -> None:
    theirs = run_bt(GOOG, bt_sma_cross(), cash=10_000, commission=commission)
    bt = Backtest(goog(), BUILTINS["sma_cross"], commission=commission)
    metrics = bt.run()
    assert_same(our_trades(bt), their_trades(theirs))
    assert metrics["final_equity"] == pytest.approx(theirs["Equity Final [$]"], rel=1e-9)
    assert metrics["total_commissions"] == pytest.approx(
        theirs["_trades"]["Commission"].sum() + bt.broker.trades[0].entry_commission, rel=1e-9
    )


def test_allow_short_matches_backtesting_py() -> None:
    theirs = run_bt(GOOG, bt_sma_cross(short=True), cash=10_000, commission=0.002)
    bt = Backtest(goog(), BUILTINS["sma_cross"], {"allow_short": "true"}, commission=0.002)
    metrics = bt.run()
    trades = our_trades(bt)
    assert {t.direction for t in bt.broker.closed} == {"long", "short"}
    assert_same(trades, their_trades(theirs))
    assert metrics["final_equity"] == pytest.approx(theirs["Equity Final [$]"], rel=1e-9)


@pytest.mark.parametrize("sl,tp", [(0.03, 0.06), (0.08, 0.04), (0.02, 0.2)])
def test_stop_loss_and_take_profit_match_backtesting_py(sl: float, tp: float) -> None:
    theirs = run_bt(GOOG, bt_sma_cross(sl=sl, tp=tp), cash=10_000)
    bt = Backtest(goog(), Bracketed, {"sl": sl, "tp": tp})
    metrics = bt.run()
    reasons = {t.exit_reason for t in bt.broker.closed}
    assert {"stop_loss", "take_profit"} <= reasons
    assert_same(our_trades(bt), their_trades(theirs))
    assert metrics["final_equity"] == pytest.approx(theirs["Equity Final [$]"], rel=1e-9)


def test_intraday_fx_data_matches_backtesting_py() -> None:
    data = EURUSD.copy()
    theirs = run_bt(data, bt_sma_cross(short=True), cash=10_000, commission=0.0002)
    bt = Backtest(data, BUILTINS["sma_cross"], {"allow_short": True}, commission=0.0002)
    metrics = bt.run()
    assert len(bt.broker.closed) > 50
    assert_same(our_trades(bt), their_trades(theirs))
    assert metrics["final_equity"] == pytest.approx(theirs["Equity Final [$]"], rel=1e-9)


def test_rsi_reversion_matches_the_same_rules_in_backtesting_py() -> None:
    class RsiBt(BtStrategy):
        def init(self):
            self.r = self.I(rsi, self.data.Close, 14)

        def next(self):
            value = self.r[-1]
            if np.isnan(value):
                return
            if self.position.is_long and value > 50:
                self.position.close()
            elif not self.position and not self.orders and value < 30:
                self.buy()

    theirs = run_bt(GOOG, RsiBt, cash=10_000, commission=0.001)
    bt = Backtest(goog(), BUILTINS["rsi_reversion"], commission=0.001)
    metrics = bt.run()
    assert len(bt.broker.closed) >= 5
    assert_same(our_trades(bt), their_trades(theirs))
    assert metrics["final_equity"] == pytest.approx(theirs["Equity Final [$]"], rel=1e-9)
