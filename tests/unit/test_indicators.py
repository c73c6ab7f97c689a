"""Indicators checked against independent pandas / plain-Python reference implementations."""

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from algotui.engine.indicators import atr, bollinger, crossover, ema, macd, rsi, sma

RTOL = 1e-9
# MACD values cross zero, where a relative tolerance alone is meaningless; the EMAs they are
# differences of are ~100, so 1e-10 absolute is still ~1e-12 relative to the inputs.
MACD_ATOL = 1e-10


# --- reference implementations (deliberately independent of the module under test) -------------


def ref_sma(x: np.ndarray, n: int) -> np.ndarray:
    return pd.Series(x).rolling(n).mean().to_numpy()


def ref_ema(x: np.ndarray, n: int) -> np.ndarray:
    """TA-Lib EMA via pandas: seed with the mean of the first n valid values, then ewm."""
    s = pd.Series(x, dtype=float)
    out = np.full(len(s), np.nan)
    start = s.first_valid_index()
    if start is None or len(s) - start < n:
        return out
    tail = s.iloc[start + n - 1 :].copy()
    tail.iloc[0] = s.iloc[start : start + n].mean()
    out[start + n - 1 :] = tail.ewm(alpha=2 / (n + 1), adjust=False).mean().to_numpy()
    return out


def ref_rsi(x: list[float], n: int) -> list[float]:
    """Wilder's RSI with explicit loops (TA-Lib convention)."""
    out = [math.nan] * len(x)
    changes = [x[i] - x[i - 1] for i in range(1, len(x))]
    if len(changes) < n:
        return out
    gain = sum(max(c, 0.0) for c in changes[:n]) / n
    loss = sum(max(-c, 0.0) for c in changes[:n]) / n

    def value(g: float, lo: float) -> float:
        return 100.0 if lo == 0 else 100.0 - 100.0 / (1.0 + g / lo)

    out[n] = value(gain, loss)
    for i in range(n, len(changes)):
        c = changes[i]
        gain = (gain * (n - 1) + max(c, 0.0)) / n
        loss = (loss * (n - 1) + max(-c, 0.0)) / n
        out[i + 1] = value(gain, loss)
    return out


def ref_atr(high: list[float], low: list[float], close: list[float], n: int) -> list[float]:
    """Wilder's ATR with explicit loops (TA-Lib convention)."""
    out = [math.nan] * len(close)
    tr = [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1]))
        for i in range(1, len(close))
    ]
    if len(tr) < n:
        return out
    value = sum(tr[:n]) / n
    out[n] = value
    for i in range(n, len(tr)):
        value = (value * (n - 1) + tr[i]) / n
        out[i + 1] = value
    return out


def ref_bollinger(x: np.ndarray, n: int, k: float) -> tuple[np.ndarray, ...]:
    roll = pd.Series(x).rolling(n)
    mid = roll.mean().to_numpy()
    std = roll.std(ddof=0).to_numpy()
    return mid + k * std, mid, mid - k * std


# --- fixtures --------------------------------------------------------------------------------


def random_walk(size: int = 500, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, size)))


@pytest.fixture
def close() -> np.ndarray:
    return random_walk()


@pytest.fixture
def ohlc() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    c = random_walk(seed=11)
    o = np.concatenate([[c[0]], c[:-1]]) * np.exp(rng.normal(0.0, 0.004, c.size))  # gaps
    high = np.maximum(o, c) * (1 + rng.uniform(0.0, 0.01, c.size))
    low = np.minimum(o, c) * (1 - rng.uniform(0.0, 0.01, c.size))
    return high, low, c


def nan_count(a: np.ndarray) -> int:
    """Number of leading NaNs; asserts there are no NaNs after them."""
    isnan = np.isnan(a)
    lead = int(np.argmin(isnan)) if not isnan.all() else a.size
    assert not isnan[lead:].any(), "unexpected NaN after the warm-up"
    return lead


# --- SMA -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 5, 20, 50, 200, 499, 500])
def test_sma_matches_pandas(close: np.ndarray, n: int) -> None:
    got = sma(close, n)
    assert_allclose(got, ref_sma(close, n), rtol=RTOL, equal_nan=True)
    assert nan_count(got) == n - 1


def test_sma_hand_example() -> None:
    assert_array_equal(sma([1, 2, 3, 4, 5], 3), [np.nan, np.nan, 2.0, 3.0, 4.0])


def test_sma_shorter_than_period_is_all_nan() -> None:
    assert np.isnan(sma([1.0, 2.0, 3.0], 4)).all()
    assert sma([], 3).shape == (0,)


def test_sma_accurate_on_long_series_with_offset() -> None:
    """No cumsum drift: compare sampled windows against exactly rounded sums."""
    rng = np.random.default_rng(3)
    x = 1e6 + np.cumsum(rng.normal(0.0, 1.0, 300_000))
    n = 50
    got = sma(x, n)
    for i in range(n - 1, x.size, 997):
        exact = math.fsum(x[i - n + 1 : i + 1]) / n
        assert got[i] == pytest.approx(exact, rel=1e-12, abs=0)


def test_sma_propagates_nan_only_to_windows_containing_it() -> None:
    x = np.arange(20, dtype=float)
    x[7] = np.nan
    got = sma(x, 4)
    expected = ref_sma(x, 4)
    assert_allclose(got, expected, rtol=RTOL, equal_nan=True)
    assert np.isnan(got[7:11]).all() and not np.isnan(got[11:]).any()


# --- EMA -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 9, 12, 26, 100])
def test_ema_matches_pandas(close: np.ndarray, n: int) -> None:
    got = ema(close, n)
    assert_allclose(got, ref_ema(close, n), rtol=RTOL, equal_nan=True)
    assert nan_count(got) == n - 1


def test_ema_is_seeded_with_sma() -> None:
    # alpha = 0.5; seed = mean(2, 4, 6) = 4; then 0.5*10 + 0.5*4 = 7; 0.5*0 + 0.5*7 = 3.5
    assert_array_equal(ema([2, 4, 6, 10, 0], 3), [np.nan, np.nan, 4.0, 7.0, 3.5])


def test_ema_starts_after_leading_nans(close: np.ndarray) -> None:
    lead = 13
    x = np.concatenate([np.full(lead, np.nan), close])
    got = ema(x, 10)
    assert nan_count(got) == lead + 9
    assert_allclose(got[lead:], ema(close, 10), rtol=RTOL, equal_nan=True)
    assert_allclose(got, ref_ema(x, 10), rtol=RTOL, equal_nan=True)


def test_ema_too_few_values_is_all_nan() -> None:
    assert np.isnan(ema([np.nan, 1.0, 2.0], 3)).all()
    assert np.isnan(ema([np.nan, np.nan], 1)).all()


# --- RSI -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 5, 14, 30])
def test_rsi_matches_loop_reference(close: np.ndarray, n: int) -> None:
    got = rsi(close, n)
    assert_allclose(got, ref_rsi(close.tolist(), n), rtol=RTOL, equal_nan=True)
    assert nan_count(got) == n
    assert ((got[n:] >= 0) & (got[n:] <= 100)).all()


def test_rsi_default_period_is_14(close: np.ndarray) -> None:
    assert_array_equal(rsi(close), rsi(close, 14))
    assert nan_count(rsi(close)) == 14


def test_rsi_hand_example() -> None:
    # changes +1, -1, +2, -1 with n = 2:
    # i=2: gain (1+0)/2 = 0.5, loss (0+1)/2 = 0.5            -> 50
    # i=3: gain (0.5+2)/2 = 1.25, loss (0.5+0)/2 = 0.25      -> 100*1.25/1.5 = 250/3
    # i=4: gain (1.25+0)/2 = 0.625, loss (0.25+1)/2 = 0.625  -> 50
    got = rsi([44, 45, 44, 46, 45], 2)
    assert_allclose(got, [np.nan, np.nan, 50.0, 250.0 / 3.0, 50.0], rtol=1e-12, equal_nan=True)


def test_rsi_extremes() -> None:
    rising = np.arange(1.0, 40.0)
    assert_array_equal(rsi(rising, 14)[14:], 100.0)
    assert_array_equal(rsi(rising[::-1], 14)[14:], 0.0)
    assert_array_equal(rsi(np.full(30, 5.0), 14)[14:], 100.0)  # average loss 0 -> 100
    assert nan_count(rsi(rising, 14)) == 14


def test_rsi_short_input() -> None:
    assert np.isnan(rsi([1.0, 2.0, 3.0], 3)).all()
    assert rsi([1.0], 3).shape == (1,)
    assert rsi([], 3).shape == (0,)


# --- MACD ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16)])
def test_macd_matches_reference(close: np.ndarray, fast: int, slow: int, signal: int) -> None:
    line, sig, hist = macd(close, fast, slow, signal)
    ref_line = ref_ema(close, fast) - ref_ema(close, slow)
    ref_sig = ref_ema(ref_line, signal)
    assert_allclose(line, ref_line, rtol=RTOL, atol=MACD_ATOL, equal_nan=True)
    assert_allclose(sig, ref_sig, rtol=RTOL, atol=MACD_ATOL, equal_nan=True)
    assert_allclose(hist, ref_line - ref_sig, rtol=RTOL, atol=MACD_ATOL, equal_nan=True)
    assert nan_count(line) == slow - 1
    assert nan_count(sig) == slow - 1 + signal - 1
    assert nan_count(hist) == slow - 1 + signal - 1


def test_macd_defaults(close: np.ndarray) -> None:
    for got, expected in zip(macd(close), macd(close, 12, 26, 9), strict=True):
        assert_array_equal(got, expected)


# --- Bollinger -------------------------------------------------------------------------------


@pytest.mark.parametrize(("n", "k"), [(20, 2.0), (5, 1.5), (50, 3.0), (1, 2.0)])
def test_bollinger_matches_pandas(close: np.ndarray, n: int, k: float) -> None:
    got = bollinger(close, n, k)
    for g, r in zip(got, ref_bollinger(close, n, k), strict=True):
        assert_allclose(g, r, rtol=RTOL, equal_nan=True)
        assert nan_count(g) == n - 1
    upper, middle, lower = got
    assert_array_equal(middle, sma(close, n))
    assert (upper[n - 1 :] >= middle[n - 1 :]).all() and (lower[n - 1 :] <= middle[n - 1 :]).all()


def test_bollinger_uses_population_std() -> None:
    # window [1, 2, 3, 4]: mean 2.5, population variance 1.25
    upper, middle, lower = bollinger([1, 2, 3, 4], 4, 2.0)
    assert middle[3] == 2.5
    assert upper[3] == pytest.approx(2.5 + 2 * math.sqrt(1.25), rel=1e-12)
    assert lower[3] == pytest.approx(2.5 - 2 * math.sqrt(1.25), rel=1e-12)


def test_bollinger_accurate_for_low_volatility_at_high_price() -> None:
    rng = np.random.default_rng(5)
    x = 1e6 + rng.normal(0.0, 1e-3, 2_000)
    n = 20
    upper, middle, _ = bollinger(x, n, 1.0)
    windows = np.lib.stride_tricks.sliding_window_view(x, n)
    expected = np.array([np.std(w) for w in windows])
    assert_allclose((upper - middle)[n - 1 :], expected, rtol=1e-6)


def test_bollinger_constant_series_has_zero_width() -> None:
    upper, middle, lower = bollinger(np.full(30, 7.25), 20)
    assert_array_equal(upper[19:], 7.25)
    assert_array_equal(lower[19:], 7.25)


# --- ATR -------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 3, 14, 30])
def test_atr_matches_loop_reference(ohlc: tuple[np.ndarray, ...], n: int) -> None:
    high, low, c = ohlc
    got = atr(high, low, c, n)
    expected = ref_atr(high.tolist(), low.tolist(), c.tolist(), n)
    assert_allclose(got, expected, rtol=RTOL, equal_nan=True)
    assert nan_count(got) == n


def test_atr_hand_example() -> None:
    # TR: bar1 high-low = 2, bar2 |high - prev close| = |15-10| = 5,
    #     bar3 |low - prev close| = |11-14| = 3, bar4 high-low = 1
    high = [10, 11, 15, 13, 13]
    low = [8, 9, 13, 11, 12]
    close = [9, 10, 14, 12, 12]
    # n = 2: (2+5)/2 = 3.5; (3.5+3)/2 = 3.25; (3.25+1)/2 = 2.125
    assert_array_equal(atr(high, low, close, 2), [np.nan, np.nan, 3.5, 3.25, 2.125])


def test_atr_length_mismatch_raises() -> None:
    with pytest.raises(ValueError):
        atr([1.0, 2.0], [1.0], [1.0, 2.0])


# --- crossover -------------------------------------------------------------------------------


def test_crossover_basic() -> None:
    a = [1.0, 2.0, 3.0, 2.0, 1.0, 3.0]
    b = [2.0, 2.5, 2.5, 2.5, 2.5, 2.5]
    assert_array_equal(crossover(a, b), [False, False, True, False, False, True])


def test_crossover_equality() -> None:
    # touching from below (equal) then going above is a cross; reaching equality is not;
    # staying above after equality is a cross only on the first bar above.
    a = [1.0, 2.0, 3.0, 2.0, 2.0, 2.0, 1.0]
    b = [2.0] * 7
    assert_array_equal(crossover(a, b), [False, False, True, False, False, False, False])
    # equal then equal then above
    assert_array_equal(crossover([5, 5, 6], [5, 5, 5]), [False, False, True])
    # above, equal, above: re-crossing after a touch counts
    assert_array_equal(crossover([6, 5, 6], 5), [False, False, True])


def test_crossover_nan_is_never_a_cross() -> None:
    a = [1.0, np.nan, 3.0, 1.0, 3.0, np.nan]
    b = [2.0, 2.0, 2.0, np.nan, 2.0, 2.0]
    # i=2: previous a is NaN; i=4: previous b is NaN; i=5: a is NaN
    assert_array_equal(crossover(a, b), [False] * 6)


def test_crossover_first_bar_and_scalar() -> None:
    assert not crossover([5.0, 6.0], 1.0)[0]
    got = crossover(np.array([29.0, 31.0, 29.0, 30.0, 30.5]), 30)
    assert_array_equal(got, [False, True, False, False, True])
    assert got.dtype == np.bool_


def test_crossover_of_moving_averages(close: np.ndarray) -> None:
    fast, slow = sma(close, 5), sma(close, 20)
    got = crossover(fast, slow)
    expected = [
        i > 0 and fast[i] > slow[i] and fast[i - 1] <= slow[i - 1] for i in range(close.size)
    ]
    assert_array_equal(got, expected)
    assert got.any() and not got[:20].any()


# --- common behaviour ------------------------------------------------------------------------


def _all_outputs(x: object) -> list[np.ndarray]:
    outs = [sma(x, 10), ema(x, 10), rsi(x, 10), atr(x, x, x, 10)]
    outs += list(macd(x, 5, 10, 4)) + list(bollinger(x, 10))
    return outs


def test_accepts_lists_and_series(close: np.ndarray) -> None:
    expected = _all_outputs(close)
    for variant in (close.tolist(), pd.Series(close, index=range(100, 100 + close.size))):
        for got, exp in zip(_all_outputs(variant), expected, strict=True):
            assert isinstance(got, np.ndarray)
            assert got.dtype == np.float64
            assert got.shape == close.shape
            assert_array_equal(got, exp)


def test_inputs_not_modified(close: np.ndarray) -> None:
    before = close.copy()
    _all_outputs(close)
    assert_array_equal(close, before)


def test_integer_input_is_converted() -> None:
    assert_array_equal(sma(np.array([1, 2, 3, 4]), 2), [np.nan, 1.5, 2.5, 3.5])


@pytest.mark.parametrize("bad", [0, -3])
def test_invalid_period_raises_value_error(bad: int) -> None:
    for call in (
        lambda: sma([1.0, 2.0], bad),
        lambda: ema([1.0, 2.0], bad),
        lambda: rsi([1.0, 2.0], bad),
        lambda: bollinger([1.0, 2.0], bad),
        lambda: atr([1.0], [1.0], [1.0], bad),
        lambda: macd([1.0, 2.0], 12, 26, bad),
    ):
        with pytest.raises(ValueError):
            call()


@pytest.mark.parametrize("bad", [2.5, "3", True, None])
def test_non_integer_period_raises_type_error(bad: object) -> None:
    with pytest.raises(TypeError):
        sma([1.0, 2.0, 3.0], bad)  # type: ignore[arg-type]


def test_two_dimensional_input_rejected() -> None:
    with pytest.raises(ValueError):
        sma(np.ones((3, 3)), 2)
    with pytest.raises(ValueError):
        crossover(np.ones((2, 2)), 1.0)


def test_strict_crossover_needs_the_previous_bar_below() -> None:
    a, b = [5.0, 5.0, 6.0, 4.0, 6.0], [5.0, 5.0, 5.0, 5.0, 5.0]
    assert_array_equal(crossover(a, b), [False, False, True, False, True])
    assert_array_equal(crossover(a, b, strict=True), [False, False, False, False, True])
