"""The engine's conventions, one story each: fills, sizing, brackets, look-ahead, failures."""

import time
from typing import Any

import numpy as np
import pandas as pd
import pytest

from algotui.engine import BUILTINS, Backtest, LookAheadError, Strategy, load_strategy
from algotui.errors import StrategyError, UserError
from algotui.feed import load_source
from algotui.protocol.encode import Encoder


def bars(rows: list[tuple[float, float, float, float]], freq: str = "D") -> pd.DataFrame:
    """A frame from (open, high, low, close) rows."""
    index = pd.date_range("2024-01-01", periods=len(rows), freq=freq, name="Date")
    df = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"], index=index, dtype=float)
    df["Volume"] = 1000.0
    return df


FLAT = [(100.0, 101.0, 99.0, 100.0)] * 5


class Script(Strategy):
    """Places the orders a test scripts for given bars: {bar: callable(strategy)}."""

    plan: dict = {}

    def next(self):
        action = self.plan.get(self.i)
        if action:
            action(self)


def run(rows, plan, **kwargs) -> Backtest:
    cls = type("S", (Script,), {"plan": plan})
    bt = Backtest(bars(rows), cls, **kwargs)
    bt.run()
    return bt


# -- fills ---------------------------------------------------------------------------------------


def test_market_order_fills_at_the_next_open() -> None:
    rows = [*FLAT[:2], (105.0, 106.0, 104.0, 105.5), *FLAT[:2]]
    bt = run(rows, {1: lambda s: s.buy(units=10), 3: lambda s: s.close()})
    (trade,) = bt.broker.closed
    assert (trade.entry_bar, trade.entry_price) == (2, 105.0)
    assert (trade.exit_bar, trade.exit_price) == (4, 100.0)
    assert trade.pnl == pytest.approx(-50.0)


def test_fill_close_fills_at_the_signal_bar_close() -> None:
    rows = [*FLAT[:2], (105.0, 106.0, 104.0, 105.5), *FLAT[:2]]
    bt = run(rows, {2: lambda s: s.buy(units=10)}, fill="close")
    (trade,) = bt.broker.trades
    assert (trade.entry_bar, trade.entry_price) == (2, 105.5)


def test_an_order_on_the_last_bar_never_fills() -> None:
    bt = run(FLAT, {4: lambda s: s.buy()})
    assert not bt.broker.trades and not bt.broker.closed
    assert bt.metrics["total_trades"] == 0


def test_limit_buy_fills_at_the_limit_or_a_better_open() -> None:
    rows = [FLAT[0], FLAT[0], (99.0, 99.5, 97.0, 98.0), (95.0, 96.0, 94.0, 95.0)]
    bt = run(rows, {1: lambda s: s.buy(units=1, limit=98.0)})
    assert bt.broker.trades[0].entry_price == 98.0
    bt = run(rows[:1] + rows[1:2] + rows[3:], {1: lambda s: s.buy(units=1, limit=98.0)})
    assert bt.broker.trades[0].entry_price == 95.0  # gapped below the limit: the open


def test_stop_buy_triggers_inside_the_bar_or_at_a_gap_open() -> None:
    rows = [FLAT[0], FLAT[0], (100.0, 103.0, 99.0, 102.0)]
    bt = run(rows, {1: lambda s: s.buy(units=1, stop=102.5)})
    assert bt.broker.trades[0].entry_price == 102.5
    rows = [FLAT[0], FLAT[0], (104.0, 105.0, 103.0, 104.0)]
    bt = run(rows, {1: lambda s: s.buy(units=1, stop=102.5)})
    assert bt.broker.trades[0].entry_price == 104.0


def test_stop_loss_gap_fills_at_the_open_and_stop_beats_target_in_one_bar() -> None:
    gap = [FLAT[0], FLAT[0], FLAT[0], (90.0, 91.0, 89.0, 90.0)]
    bt = run(gap, {0: lambda s: s.buy(units=1, sl=95.0, tp=110.0)})
    (trade,) = bt.broker.closed
    assert (trade.exit_price, trade.exit_reason) == (90.0, "stop_loss")
    both = [FLAT[0], FLAT[0], FLAT[0], (100.0, 111.0, 94.0, 100.0)]
    bt = run(both, {0: lambda s: s.buy(units=1, sl=95.0, tp=110.0)})
    (trade,) = bt.broker.closed
    assert (trade.exit_price, trade.exit_reason) == (95.0, "stop_loss")


def test_short_take_profit() -> None:
    rows = [FLAT[0], FLAT[0], (99.0, 99.5, 89.0, 90.0)]
    bt = run(rows, {0: lambda s: s.sell(units=2, tp=92.0, sl=105.0)})
    (trade,) = bt.broker.closed
    assert trade.direction == "short"
    assert (trade.exit_price, trade.exit_reason) == (92.0, "take_profit")
    assert trade.pnl == pytest.approx(2 * (100.0 - 92.0))


def test_brackets_must_bracket_the_price() -> None:
    with pytest.raises(StrategyError, match="SL < price < TP"):
        run(FLAT, {0: lambda s: s.buy(sl=101.0)})


def test_an_opposite_entry_reverses_the_position() -> None:
    rows = [FLAT[0], FLAT[0], (100.0, 101.0, 99.0, 100.0), FLAT[0]]
    bt = run(rows, {0: lambda s: s.buy(units=3), 1: lambda s: s.sell(units=2)})
    (closed,) = bt.broker.closed
    (short,) = bt.broker.trades
    assert closed.direction == "long" and closed.exit_bar == 2
    assert short.direction == "short" and short.size == 2 and short.entry_bar == 2


# -- sizing, commission, slippage -----------------------------------------------------------------


def test_all_in_sizing_leaves_room_for_commission() -> None:
    bt = run(FLAT, {0: lambda s: s.buy()}, cash=10_000, commission=0.01)
    (trade,) = bt.broker.trades
    # 10,000 / (100 * 1.01) = 99.0099 -> 99 whole units
    assert trade.size == 99
    assert trade.entry_commission == pytest.approx(99 * 100 * 0.01)


def test_fraction_fixed_units_and_fractional_units() -> None:
    assert run(FLAT, {0: lambda s: s.buy(0.5)}).broker.trades[0].size == 50
    assert run(FLAT, {0: lambda s: s.buy(7)}).broker.trades[0].size == 7
    assert run(FLAT, {0: lambda s: s.buy(units=0.25)}).broker.trades[0].size == 0.25
    crypto = type("C", (Script,), {"plan": {0: lambda s: s.buy()}, "fractional": True})
    bt = Backtest(bars(FLAT), crypto, cash=1000.0, commission=0.001)
    bt.run()
    assert bt.broker.trades[0].size == pytest.approx(1000.0 / (100 * 1.001))


def test_an_order_too_big_for_the_account_is_rejected_and_counted() -> None:
    bt = run(FLAT, {0: lambda s: s.buy(500)})
    assert not bt.broker.trades
    assert bt.metrics["rejected_orders"] == 1


def test_fixed_commission_and_slippage_go_against_you() -> None:
    rows = [FLAT[0], FLAT[0], FLAT[0], FLAT[0]]
    bt = run(
        rows,
        {0: lambda s: s.buy(units=10), 1: lambda s: s.close()},
        commission_fixed=1.5,
        slippage=0.01,
    )
    (trade,) = bt.broker.closed
    assert trade.entry_price == pytest.approx(101.0)
    assert trade.exit_price == pytest.approx(99.0)
    assert trade.commission == pytest.approx(3.0)
    assert trade.pnl == pytest.approx(10 * (99.0 - 101.0) - 3.0)
    assert bt.metrics["final_equity"] == pytest.approx(10_000 + trade.pnl)


def test_running_out_of_money_ends_the_run_with_a_reason() -> None:
    rows = [FLAT[0], FLAT[0]] + [
        (100.0 + 60 * k, 101.0 + 60 * k, 99.0 + 60 * k, 100.0 + 60 * k) for k in range(1, 8)
    ]
    bt = run(rows, {0: lambda s: s.sell()})
    m = bt.metrics
    assert m["status"] == "out_of_money"
    assert "out of money at bar" in m["stopped_reason"]
    assert bt.bars_done < len(rows)
    assert bt.status == "completed"


# -- look-ahead ----------------------------------------------------------------------------------


class Peeker(Strategy):
    """Tries to read tomorrow's close."""

    via = "data"

    def init(self):
        self.ma = self.indicator(lambda c: c, self.data.Close, name="close")

    def next(self):
        if self.i == 10:
            if self.via == "data":
                _ = self.data.Close[self.i + 1]
            else:
                _ = self.ma[self.i + 1]


@pytest.mark.parametrize("via", ["data", "indicator"])
def test_a_strategy_cannot_see_the_future(via: str) -> None:
    bt = Backtest(load_source("sample"), Peeker, {"via": via})
    events = list(bt.events())
    assert bt.status == "failed"
    assert events[-1].type == "error"
    assert isinstance(bt.error, IndexError)
    if via == "indicator":
        assert isinstance(bt.error, LookAheadError)
    assert "Peeker.next() raised" in bt.error_message
    assert "test_engine.py" in bt.error_message


def test_next_sees_exactly_the_bars_so_far() -> None:
    seen = []

    class Watcher(Strategy):
        def init(self):
            self.full = len(self.data)
            self.sma = self.indicator(lambda c: c * 2, self.data.Close, name="x2")

        def next(self):
            seen.append((len(self.data), self.data.Close[-1], self.sma[-1], len(self.sma)))

    df = load_source("sample")
    Backtest(df, Watcher).run()
    closes = df["Close"].tolist()
    assert [s[0] for s in seen] == list(range(1, len(df) + 1))
    assert [s[1] for s in seen] == closes
    assert [s[2] for s in seen] == [2 * c for c in closes]
    assert [s[3] for s in seen] == list(range(1, len(df) + 1))


# -- parameters and loading ---------------------------------------------------------------------


def test_parameters_are_typed_from_their_defaults() -> None:
    cls = BUILTINS["sma_cross"]
    assert cls.resolve_params({"fast": "5", "allow_short": "yes"}) == {
        "fast": 5,
        "slow": 20,
        "allow_short": True,
    }
    assert BUILTINS["rsi_reversion"].resolve_params({"lower": "25"})["lower"] == 25.0
    with pytest.raises(StrategyError, match="no parameter 'fats'.*fast, slow, allow_short"):
        cls.resolve_params({"fats": "5"})
    with pytest.raises(StrategyError, match="expected a whole number"):
        cls.resolve_params({"fast": "5.5"})
    with pytest.raises(StrategyError, match="expected true or false"):
        cls.resolve_params({"allow_short": "maybe"})


def test_bad_run_options_are_user_errors() -> None:
    df = load_source("sample")
    for kwargs in (
        {"fill": "tomorrow"},
        {"cash": 0},
        {"commission": 2},
        {"slippage": -1},
        {"emit_every": 0},
    ):
        with pytest.raises(UserError):
            Backtest(df, BUILTINS["sma_cross"], **kwargs)


def test_strategy_files_load_by_path_and_class(tmp_path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "from algotui import Strategy\n"
        "class A(Strategy):\n    n = 3\n"
        "class B(Strategy):\n    pass\n"
    )
    assert load_strategy(f"{path}:A").parameters() == {"n": 3}
    with pytest.raises(StrategyError, match="several strategies"):
        load_strategy(str(path))
    with pytest.raises(StrategyError, match="no Strategy subclass 'C'"):
        load_strategy(f"{path}:C")
    bad = tmp_path / "bad.py"
    bad.write_text("from algotui import Strategy\nclass A(Strategy)\n    pass\n")
    with pytest.raises(StrategyError, match=r"syntax error in .*bad.py:2"):
        load_strategy(str(bad))
    with pytest.raises(StrategyError, match="unknown strategy 'nope'"):
        load_strategy("nope")


def test_every_builtin_runs_on_the_sample_and_trades() -> None:
    df = load_source("sample")
    for name, cls in BUILTINS.items():
        params = {"allow_short": True} if "allow_short" in cls.parameters() else {}
        bt = Backtest(df, cls, params)
        m = bt.run()
        assert m["total_trades"] + m["open_trades"] >= 1, name
        assert np.isfinite(m["final_equity"])
        reasons = [t.entry_reason for t in bt.broker.closed + bt.broker.trades]
        assert all(reasons), name


def test_close_at_end_closes_open_trades_with_reason_end() -> None:
    bt = Backtest(load_source("sample"), BUILTINS["buy_and_hold"], close_at_end=True)
    m = bt.run()
    assert m["open_trades"] == 0
    assert bt.broker.closed[-1].exit_reason == "end"
    assert m["total_trades"] == 1


# -- edge cases found in review ------------------------------------------------------------------


def test_stop_limit_fills_at_the_trigger_not_the_earlier_open() -> None:
    rows = [FLAT[0], FLAT[0], (100.0, 107.0, 99.0, 106.0), (106.0, 107.0, 100.5, 101.0)]
    bt = run(rows, {1: lambda s: s.buy(units=1, stop=105.0, limit=106.0)})
    assert bt.broker.trades[0].entry_price == 105.0
    # A limit below the stop needs the price to come back: not inside the triggering bar.
    bt = run(rows, {1: lambda s: s.buy(units=1, stop=105.0, limit=101.0)})
    (trade,) = bt.broker.trades
    assert (trade.entry_bar, trade.entry_price) == (3, 101.0)


def test_orders_cannot_be_placed_in_init() -> None:
    class Eager(Strategy):
        def init(self):
            self.buy()

    bt = Backtest(bars(FLAT), Eager)
    list(bt.events())
    assert bt.status == "failed" and "only be placed in next()" in bt.error_message


@pytest.mark.parametrize("kwargs", [{"limit": float("nan")}, {"sl": float("inf")}])
def test_order_prices_must_be_finite(kwargs) -> None:
    with pytest.raises(StrategyError, match="finite number"):
        run(FLAT, {1: lambda s: s.buy(**kwargs)})


def test_a_parameter_may_not_shadow_the_strategy_api() -> None:
    for name in ("indicators", "data", "position", "price", "equity"):
        cls = type("S", (Strategy,), {name: 3})
        with pytest.raises(StrategyError, match=f"'{name}' is a name of the strategy API"):
            cls.parameters()


def test_numpy_integer_indexes_are_checked_for_look_ahead_too() -> None:
    class NumpyPeek(Strategy):
        def init(self):
            self.x = self.indicator(lambda c: c, self.data.Close, name="x")

        def next(self):
            if self.i == 3:
                _ = self.x[np.int64(self.i + 1)]

    bt = Backtest(bars(FLAT), NumpyPeek)
    list(bt.events())
    assert isinstance(bt.error, LookAheadError)


def test_system_exit_in_next_fails_the_run_instead_of_leaving() -> None:
    bt = Backtest(bars(FLAT), type("Quit", (Script,), {"plan": {2: lambda s: exit(5)}}))
    events = list(bt.events())
    assert bt.status == "failed" and events[-1].type == "error"


def test_fixed_commission_must_be_finite() -> None:
    with pytest.raises(UserError, match="--commission-fixed"):
        Backtest(bars(FLAT), Script, commission_fixed=float("nan"))


def test_close_at_end_does_not_open_a_trade_on_the_last_close() -> None:
    bt = run(FLAT, {4: lambda s: s.buy(units=1)}, fill="close", close_at_end=True)
    assert not bt.broker.closed and not bt.broker.trades
    assert bt.metrics["total_commissions"] == 0


def test_a_loss_on_the_first_bar_counts_in_the_drawdown() -> None:
    rows = [(100.0, 101.0, 89.0, 90.0), (90.0, 91.0, 89.0, 90.0), (90.0, 91.0, 89.0, 90.0)]
    bt = run(rows, {0: lambda s: s.buy(units=50)}, fill="close", commission=0.01)
    # Bought 50 at 90 (commission 45): equity 9,955 from 10,000 on bar 0.
    assert bt.metrics["max_drawdown"] == pytest.approx(0.45)


def test_a_trailing_stop_set_on_an_open_trade_is_honoured() -> None:
    def trail(s):
        for trade in s.trades:
            trade.sl = 95.0

    rows = [FLAT[0], FLAT[0], FLAT[0], FLAT[0], (96.0, 97.0, 90.0, 91.0)]
    bt = run(rows, {0: lambda s: s.buy(units=1), 2: trail})
    (trade,) = bt.broker.closed
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (4, 95.0, "stop_loss")


def test_candle_lines_match_candle_dicts_across_blocks() -> None:
    import json

    from algotui.engine.backtest import epoch_seconds
    from algotui.protocol.candle_text import RunColumns
    from algotui.protocol.encode import Encoder
    from algotui.protocol.records import Candles

    n = 80_000
    index = pd.date_range("1969-12-31 23:59:58", periods=n, freq="37s")
    rng = np.random.default_rng(7)
    price = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    price[:6] = [100.0, 1e16, 1.5e-05, 123456789012.0, 0.1, 5e-324]
    volume = rng.integers(0, 10_000, n).astype(float)
    ind = price.copy()
    ind[:3] = [np.nan, np.inf, -0.0]
    ohlcv = (price, price * 1.01, price * 0.99, price.tolist(), volume)
    columns = RunColumns("r1", epoch_seconds(index), ohlcv, ["SMA(3)", 'x"y'], [ind, price / 3])
    encode = Encoder("r1")

    def alone(b: Candles) -> Candles:  # the same values, without the run's columns
        ohlcv = (b.open, b.high, b.low, b.close, b.volume)
        return Candles(b.seq, b.bar, b.time, ohlcv, b.names, b.indicators, b.total)

    expected_stamps = np.datetime_as_string(index.values.astype("datetime64[s]"), unit="s")
    # a run across the block boundary is the same text as its candles one by one
    run = encode.lines(columns.batch(5, 8_180, 8_200))
    one_by_one = "".join(
        encode.lines(alone(columns.batch(5 + k, 8_180 + k, 8_181 + k))) for k in range(20)
    )
    assert run == one_by_one == encode.lines(alone(columns.batch(5, 8_180, 8_200)))
    for i in [*range(8), 8_191, 8_192, 32_767, 32_768, n - 1]:
        batch = columns.batch(9, i, i + 1)
        line = encode.lines(batch)
        parsed = json.loads(line)
        assert parsed == encode.to_dict(batch)[0] == encode.to_dict(alone(batch))[0]
        assert parsed["timestamp"] == expected_stamps[i]
        assert parsed["open"] == price[i] and parsed["volume"] == volume[i]
        assert isinstance(parsed["open"], float) and isinstance(parsed["volume"], float)
        assert parsed["bar_number"] == i + 1
    first = json.loads(encode.lines(columns.batch(1, 0, 1)))
    assert first["indicators"] == {"SMA(3)": None, 'x"y': 100.0 / 3}
    assert json.loads(encode.lines(columns.batch(1, 1, 2)))["indicators"]["SMA(3)"] is None
    assert json.loads(encode.lines(columns.batch(1, 2, 3)))["indicators"]["SMA(3)"] == 0.0


def test_trades_carry_the_excursions_their_events_show() -> None:
    from algotui.engine import BUILTINS
    from algotui.feed import load_source

    bt = Backtest(load_source("sample"), BUILTINS["rsi_reversion"], {"allow_short": True})
    events = [e for e in bt.events() if e.type == "trade"]
    assert len(events) == len(bt.broker.closed) > 5
    for event, trade in zip(events, bt.broker.closed, strict=True):
        assert (event.mfe, event.mae) == (trade.mfe, trade.mae)
        highs = bt.data["High"].iloc[trade.entry_bar : trade.exit_bar + 1]
        lows = bt.data["Low"].iloc[trade.entry_bar : trade.exit_bar + 1]
        up = (highs.max() / trade.entry_price - 1) * 100  # the best and worst moves up
        down = (lows.min() / trade.entry_price - 1) * 100  # and down, in percent
        best, worst = (up, down) if trade.is_long else (-down, -up)
        assert trade.mfe == pytest.approx(max(0.0, best))
        assert trade.mae == pytest.approx(min(0.0, worst))


def test_a_strategy_cannot_write_into_the_bars() -> None:
    class Scribbles(Strategy):
        def next(self) -> None:
            self.data.Close[-1] = 1.0

    bt = Backtest(
        pd.DataFrame(FLAT, columns=["Open", "High", "Low", "Close"])
        .assign(Volume=1.0)
        .set_index(pd.date_range("2024-01-01", periods=len(FLAT))),
        Scribbles,
    )
    list(bt.events())
    assert bt.status == "failed" and "read-only" in bt.error_message


# -- bars next() sleeps through ------------------------------------------------------------------


def _awake_every_bar(cls: type[Strategy]) -> type[Strategy]:
    """``cls`` with its wake_on() declaration dropped: next() runs on every bar."""

    def init(self) -> None:
        cls.init(self)
        self.wake_on(None)

    name = cls.name or cls.__name__  # recorded the same
    return type(cls.__name__ + "EveryBar", (cls,), {"init": init, "name": name})


def _walk(n: int, seed: int, drift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(drift, 0.01, n)))
    open_ = np.r_[close[0], close[:-1]] * (1 + rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.004, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.004, n))
    index = pd.date_range("2024-01-01", periods=n, freq="min", name="Date")
    return pd.DataFrame(
        {"Open": open_, "High": high, "Low": low, "Close": close, "Volume": 1.0}, index=index
    )


def _dicts(d: Any) -> list[dict]:
    return d if isinstance(d, list) else [d]


def _everything(bt: Backtest) -> tuple[list, np.ndarray]:
    encode = Encoder(bt.run_id)
    events = [d for e in bt.stream() for d in _dicts(encode.to_dict(e))]
    for e in events:
        e.pop("run_id", None)
        if e["type"] == "metadata":
            e.pop("created_at", None)
    return events, bt.equity_curve


@pytest.mark.parametrize(
    ("name", "params", "options"),
    [
        ("sma_cross", {"fast": 5, "slow": 12}, {"emit_every": 500}),
        ("sma_cross", {"fast": 5, "slow": 12, "allow_short": True}, {"commission": 0.001}),
        ("sma_cross", {"fast": 3, "slow": 7}, {"fill": "close", "emit_every": 7}),
        (
            "macd_cross",
            {"allow_short": True},
            {"slippage": 0.0005, "commission_fixed": 1.0, "emit_every": 100_000},
        ),
    ],
)
def test_sleeping_through_quiet_bars_changes_nothing(name, params, options) -> None:
    """A strategy that declares its wake bars gives the same events, trades and equity per bar
    as the same strategy run on every bar."""
    df = _walk(5000, seed=7)
    cls = BUILTINS[name]
    fast = Backtest(df, cls, params, run_id="x", **options)
    slow = Backtest(df, _awake_every_bar(cls), params, run_id="x", **options)
    events, curve = _everything(fast)
    events_all, curve_all = _everything(slow)
    assert fast.strategy._wake is not None and slow.strategy._wake is None
    assert fast.metrics["total_trades"] > 20
    assert events == events_all
    assert np.array_equal(curve, curve_all)


class ShortOnce(Strategy):
    """Shorts all-in on bar 2, then sleeps: the money runs out while the engine passes over
    the bars in bulk."""

    def init(self):
        self.wake_on([2])

    def next(self):
        if self.i == 2:
            self.sell()


def test_running_out_of_money_is_found_inside_a_quiet_stretch() -> None:
    close = np.r_[np.full(10, 100.0), np.linspace(100, 300, 90)]
    df = pd.DataFrame(
        {"Open": close, "High": close + 0.5, "Low": close - 0.5, "Close": close, "Volume": 1.0},
        index=pd.date_range("2024-01-01", periods=len(close), freq="D", name="Date"),
    )
    fast = Backtest(df, ShortOnce, cash=10_000, run_id="x", emit_every=1000)
    slow = Backtest(df, _awake_every_bar(ShortOnce), cash=10_000, run_id="x", emit_every=1000)
    events, curve = _everything(fast)
    events_all, curve_all = _everything(slow)
    assert events == events_all
    assert np.array_equal(curve, curve_all)
    m = fast.metrics
    assert m["status"] == "out_of_money"
    # 100 units short from 100: 10,000 + 100 * (100 - close) <= 0 from a close of 200 on
    first = int(np.flatnonzero(10_000 + 100 * (100 - close) <= 0)[0])
    assert 10 < first < 99
    assert m["stopped_reason"].startswith(f"out of money at bar {first + 1} ")
    assert len(curve) == first + 1


class Marker(Strategy):
    """Trades now and then with brackets and sizes, noting the equity it sees on every bar."""

    def init(self):
        self.seen = []

    def next(self):
        self.seen.append(self.equity)
        i = self.i
        if i % 37 == 5 and not self.position:
            self.buy(size=0.5, sl=self.price * 0.99, tp=self.price * 1.01)
        elif i % 53 == 11:
            self.sell(units=3)
        elif i % 41 == 0:
            self.close()


def test_the_equity_curve_is_the_equity_the_strategy_saw_on_each_bar() -> None:
    bt = Backtest(_walk(3000, seed=3), Marker, commission=0.001, close_at_end=False)
    bt.run()
    assert bt.metrics["total_trades"] > 30
    assert bt.equity_curve.tolist() == bt.strategy.seen


@pytest.mark.parametrize(
    ("bars_", "message"),
    [
        (np.ones(4, dtype=bool), "mask has 4 values for 100 bars"),
        ([0, 100], "must lie in 0..99"),
        ([0.5], "boolean mask or integer bar indexes"),
        (np.r_[np.zeros(50, np.uint8), np.ones(50, np.uint8)], "0s and 1s, one per bar"),
    ],
)
def test_wake_on_refuses_what_it_cannot_use(bars_, message) -> None:
    cls = type("W", (Strategy,), {"init": lambda self: self.wake_on(bars_)})
    bt = Backtest(_walk(100, seed=1), cls)
    with pytest.raises(StrategyError, match=message):
        bt.run()


def test_wake_on_belongs_in_init() -> None:
    cls = type("W", (Strategy,), {"next": lambda self: self.wake_on([1])})
    with pytest.raises(StrategyError, match="belongs in init"):
        Backtest(_walk(10, seed=1), cls).run()


@pytest.mark.parametrize(
    ("cls", "params", "options"),
    [
        (Marker, {}, {"commission": 0.001}),
        (Marker, {}, {"fill": "close", "emit_every": 13}),
        (BUILTINS["sma_cross"], {"fast": 4, "slow": 9, "allow_short": True}, {"emit_every": 37}),
        (_awake_every_bar(BUILTINS["sma_cross"]), {"fast": 4, "slow": 9}, {"emit_every": 500}),
    ],
)
def test_live_drawdown_is_measured_from_the_highest_equity_so_far(cls, params, options) -> None:
    """The engine works out the running peak from stretches of bars at a time; every equity
    event must still show the drawdown from the highest equity of any bar so far."""
    bt = Backtest(_walk(4000, seed=5, drift=0.0002), cls, params, cash=10_000, **options)
    encode = Encoder(bt.run_id)
    events = [encode.to_dict(e) for e in bt.events() if e.type == "equity"]
    curve = bt.equity_curve
    peaks = np.maximum.accumulate(np.maximum(curve, 10_000.0))
    assert len(events) > 20
    for e in events:
        i = e["bar_number"] - 1
        assert e["equity"] == curve[i]
        assert e["drawdown"] == (peaks[i] - curve[i]) * 100.0 / peaks[i]


class FastThenSlow(Strategy):
    """Quick on the first five bars, then 50 ms a bar (heavy work once in a position)."""

    def next(self):
        if self.i >= 5:
            time.sleep(0.05)


def test_a_strategy_that_turns_slow_shows_each_slow_bar_as_it_ends() -> None:
    bt = Backtest(_walk(12, seed=1), FastThenSlow, emit_every=1000)
    runs = [(e.bar, e.bar + len(e)) for e in bt.stream() if e.type == "candle"]
    late = [(a, b) for a, b in runs if b > 6]
    assert late and all(b - a == 1 for a, b in late), runs
