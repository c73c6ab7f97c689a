"""Config validation and each protocol's field mapping, without a server."""

from __future__ import annotations

from pathlib import Path

import pytest

from algotui.serve import seed_envelopes, seed_sessions, seed_stream
from algotui.serve.config import API, Catalog, ConfigError, parse_config
from algotui.serve.engine import load_bars, select_bars


def parse(body: dict, fields=API, catalog: Catalog | None = None):  # noqa: ANN001, ANN201
    return parse_config(body, fields, catalog or Catalog(), default_speed=None)


def test_each_seed_names_the_same_things_its_own_way() -> None:
    a = parse(
        {
            "initial_balance": 5000,
            "start_date": "2023-01-02",
            "end_date": "2023-06-01",
            "timeframe": "1d",
            "config": {"fast": 5},
        },
        seed_stream.FIELDS,
    )
    b = parse(
        {
            "initialCapital": 5000,
            "startDate": "2023-01-02",
            "endDate": "2023-06-01",
            "params": {"fast": 5},
        },
        seed_sessions.FIELDS,
    )
    c = parse(
        {
            "initial_capital": 5000,
            "start_date": "2023-01-02",
            "end_date": "2023-06-01",
            "timeframes": ["1D"],
            "strategy_ids": ["sma_cross"],
            "params": {"fast": 5},
        },
        seed_envelopes.FIELDS,
    )
    for cfg in (a, b, c):
        assert (cfg.cash, cfg.start, cfg.end, cfg.interval) == (
            5000.0,
            "2023-01-02",
            "2023-06-01",
            "1d",
        )
        assert cfg.params == {"fast": 5, "slow": 20, "allow_short": False}


def test_seed_only_fields_are_kept_as_ignored_unless_the_strategy_declares_them() -> None:
    cfg = parse(
        {"positionSizePercent": 0.02, "maxOpenTrades": 3, "useStopOrders": True},
        seed_sessions.FIELDS,
    )
    assert cfg.ignored == {"positionSizePercent": 0.02, "maxOpenTrades": 3, "useStopOrders": True}
    with pytest.raises(ConfigError, match="maxOpenTrades"):
        parse({"maxOpenTrades": "three"}, seed_sessions.FIELDS)
    cfg = parse({"indicators": {"RSI": {"timeperiod": 14}}}, seed_stream.FIELDS)
    assert cfg.ignored == {"indicators": {"RSI": {"timeperiod": 14}}}
    with pytest.raises(ConfigError, match="^indicators: "):
        parse({"indicators": ["RSI"]}, seed_stream.FIELDS)


def test_timeframes_run_the_finest_and_strategy_ids_exactly_one() -> None:
    cfg = parse(
        {"symbol": "AAPL", "timeframes": ["4h", "1H", "15M"], "period": "1mo"},
        seed_envelopes.FIELDS,
    )
    assert cfg.interval == "15m"
    with pytest.raises(ConfigError, match="^timeframes: bad timeframe '4x'"):
        parse({"timeframes": ["4x"]}, seed_envelopes.FIELDS)
    with pytest.raises(ConfigError, match="^strategy_ids: "):
        parse({"strategy_ids": []}, seed_envelopes.FIELDS)
    with pytest.raises(ConfigError, match="^timeframes: .*daily bars only"):
        parse({"timeframes": ["15m"]}, seed_envelopes.FIELDS)


def test_strategy_ids_count_from_one_over_builtins_then_files(tmp_path: Path) -> None:
    (tmp_path / "mine.py").write_text("")
    (tmp_path / "_private.py").write_text("")
    catalog = Catalog(tmp_path)
    names = [e["name"] for e in catalog.entries()]
    assert names[0] == "sma_cross" and names[-1] == "mine.py" and "_private.py" not in names
    cfg = parse({"strategy_id": len(names)}, seed_stream.FIELDS, catalog)
    assert cfg.strategy == "mine.py" and cfg.strategy_spec == f"{tmp_path.resolve()}/mine.py"
    with pytest.raises(ConfigError, match="^strategy_id: no strategy 0"):
        parse({"strategy_id": 0}, seed_stream.FIELDS, catalog)
    with pytest.raises(ConfigError, match="^strategy: .*--strategies-dir"):
        parse({"strategy": "mine.py"})  # no directory served


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": ""}, "symbol"),
        ({"symbol": "a b"}, "symbol"),
        ({"symbol": "sample", "period": "1y", "start": "2023-01-01"}, "period"),
        ({"end": "2023-01-01"}, "end"),
        ({"start": "2023-02-30"}, "start"),
        ({"cash": True}, "cash"),
        ({"cash": float("nan")}, "cash"),
        ({"emit_every": 0}, "emit_every"),
        ({"close_at_end": 1}, "close_at_end"),
        ({"params": {"1x": 2}}, "params.1x"),
        ({"params": {"fast": [1]}}, "params.fast"),
        ({"name": "<script>"}, "name"),
        ({"speed": "fast"}, "speed"),
        ({"strategy_code": ""}, "strategy_code"),
    ],
)
def test_bad_fields_are_named(body: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(body)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


def test_period_start_and_end_select_bars_of_the_sample() -> None:
    whole = load_bars(parse({}))
    assert len(whole) == 782
    last_year = load_bars(parse({"period": "1y"}))
    assert last_year.index[-1] == whole.index[-1]
    assert (last_year.index[-1] - last_year.index[0]).days <= 364
    span = select_bars(whole, parse({"start": "2023-01-02", "end": "2023-01-09"}))
    assert [str(t.date()) for t in span.index] == [
        "2023-01-02",
        "2023-01-03",
        "2023-01-04",
        "2023-01-05",
        "2023-01-06",
    ]
    ytd = select_bars(whole, parse({"period": "ytd"}))
    assert str(ytd.index[0].date()) == "2024-01-01"
    with pytest.raises(Exception, match="no bars of the sample"):
        load_bars(parse({"start": "2030-01-01", "end": "2030-02-01"}))
