"""Event protocol v1: real engine output against docs/protocol.schema.json and the rules of
docs/protocol.md (ordering, seq, cadence, determinism, errors, recordings and crash safety)."""

import gzip
import inspect
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from algotui.cli import main as cli_main
from algotui.engine import BUILTINS, Backtest, Strategy
from algotui.feed import load_source
from algotui.protocol.encode import Encoder
from algotui.protocol.fields import EVENT_TYPES
from algotui.protocol.read import open_recording, read_events
from algotui.protocol.records import Candles
from algotui.run.recorder import Recorder

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_PATH = ROOT / "docs" / "protocol.schema.json"
EXIT_REASONS = {"signal", "stop_loss", "take_profit", "end"}

Event = dict[str, Any]


# --- strategies ------------------------------------------------------------------------------


class Bracketed(Strategy):
    """Alternates long and short entries, each with a stop-loss and a take-profit; a trade that
    hits neither within `patience` bars is closed by a signal."""

    stop = 0.03
    target = 0.05
    patience = 15

    def next(self) -> None:
        if self.orders:
            return
        if self.position:
            trade = self.trades[0]
            if self.i - trade.entry_bar == 4 and trade.is_long:  # trail the stop, once
                trade.sl = max(trade.sl, trade.entry_price * (1 - self.stop / 2))
            if self.i - self.trades[0].entry_bar >= self.patience:
                self.close(reason="patience ran out")
            return
        price = self.price
        if len(self.closed_trades) % 2 == 0:
            up, down = price * (1 + self.target), price * (1 - self.stop)
            self.buy(sl=down, tp=up, reason="flat: long with a bracket")
        else:
            up, down = price * (1 + self.stop), price * (1 - self.target)
            self.sell(sl=up, tp=down, reason="flat: short with a bracket")


class ShortTheRally(Strategy):
    """Goes short all-in once and never covers (runs out of money on a rally)."""

    def next(self) -> None:
        if not self.position and not self.orders and not self.closed_trades:
            self.sell(reason="short the rally")


class FailsAtBar50(Strategy):
    """Trades, then raises in next() on bar 50."""

    def next(self) -> None:
        if self.i == 5:
            self.buy(reason="before the failure")
        if self.i == 49:
            raise ValueError("boom at bar 50")


class FailsInInit(Strategy):
    """Raises while declaring its indicators."""

    def init(self) -> None:
        raise RuntimeError("no indicators today")


# --- helpers ---------------------------------------------------------------------------------


def _strict_integer(checker: Any, instance: Any) -> bool:
    # Stock jsonschema accepts 1.0 as an integer; the protocol promises JSON integers there.
    return isinstance(instance, int) and not isinstance(instance, bool)


StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _strict_integer),
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


class EventValidator:
    """The protocol schema, plus one validator per event type for speed.

    The first event of each type (and anything of unknown type) goes through the whole
    schema, so its ``type`` dispatch is exercised; the rest through its own ``$defs`` entry
    with the references inlined: the same check at a fraction of the cost.
    """

    def __init__(self, schema: dict[str, Any]) -> None:
        Draft202012Validator.check_schema(schema)
        self.full = StrictValidator(schema)
        defs = schema["$defs"]
        self.by_type = {t: StrictValidator(_inline(defs[t], defs)) for t in EVENT_TYPES}

    def errors(self, events: list[Event]) -> Iterator[tuple[Event, Any]]:
        seen: set[Any] = set()
        for event in events:
            kind = event.get("type")
            check = self.by_type.get(kind) if kind in seen else None
            seen.add(kind)
            if check is not None and check.is_valid(event):
                continue
            error = best_match(self.full.iter_errors(event))
            if error is not None:
                yield event, error


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    """``node`` with every ``{"$ref": "#/$defs/NAME"}`` replaced by that definition."""
    if isinstance(node, list):
        return [_inline(x, defs) for x in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"$ref"}:
        return _inline(defs[node["$ref"].removeprefix("#/$defs/")], defs)
    assert "$ref" not in node, "a $ref next to other keywords"
    return {k: _inline(v, defs) for k, v in node.items()}


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> EventValidator:
    return EventValidator(schema)


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return load_source("sample")


def run_events(bt: Backtest) -> list[Event]:
    """Drain ``bt``'s records as the recorder does and check every form of each event agrees:
    the recorder's text of a record (candles from the run's columns, a block at a time), the
    text of each candle rendered alone from its own values, and the dicts."""
    out = []
    encode = Encoder(bt.run_id)
    for record in bt.stream():
        text = encode.lines(record)
        dicts = encode.to_dict(record)
        if isinstance(record, Candles):
            alone = Candles(*[getattr(record, k) for k in ("seq", "bar", "time")],
                            (record.open, record.high, record.low, record.close, record.volume),
                            record.names, record.indicators, record.total)  # fmt: skip
            assert encode.lines(alone) == text, "a batch's text is the same from its own values"
            singles = "".join(encode.lines(record.part(k, k + 1)) for k in range(len(record)))
            assert singles == text
        else:
            dicts = [dicts]
        lines = text.splitlines()
        assert len(lines) == len(dicts)
        for line, d in zip(lines, dicts, strict=True):
            obj = json.loads(line)
            assert obj == d, f"the JSON and the dict disagree on {line[:200]}"
            out.append(obj)
    return out


def assert_valid(validator: EventValidator, events: list[Event]) -> None:
    for event, error in validator.errors(events):
        where = "/".join(str(p) for p in error.absolute_path)
        pytest.fail(f"seq {event.get('seq')} ({event.get('type')}) at {where}: {error.message}")


def strip(events: list[Event]) -> list[Event]:
    """The events without what may differ between identical runs (run_id, created_at)."""
    out = []
    for event in events:
        event = {k: v for k, v in event.items() if k != "run_id"}
        if event["type"] == "metadata":
            del event["created_at"]
        out.append(event)
    return out


def excursions(entry: float, is_long: bool, highs: list[float], lows: list[float]) -> tuple:
    """MFE and MAE in percent of the entry price, from the bars a trade lived through."""
    hi, lo = max(highs), min(lows)
    if is_long:
        return max(0.0, (hi - entry) / entry * 100), min(0.0, (lo - entry) / entry * 100)
    return max(0.0, (entry - lo) / entry * 100), min(0.0, (entry - hi) / entry * 100)


def check_stream(events: list[Event], *, finished: bool = True) -> dict[str, Any]:
    """Assert the ordering, seq and cadence rules of docs/protocol.md on one run's events.

    ``finished=False`` is for a run killed mid-way: no final event, and the last bar may be
    incomplete. Returns what it saw (bars with stats, closed trades, ...).
    """
    assert events, "no events"
    meta = events[0]
    assert meta["type"] == "metadata", "metadata comes first"
    assert [e["seq"] for e in events] == list(range(len(events))), "seq is 0, 1, 2, ... no gaps"
    assert {e["run_id"] for e in events} == {meta["run_id"]}
    types = [e["type"] for e in events]
    assert types.count("metadata") == 1
    n_final = types.count("complete") + types.count("error")
    if finished:
        assert n_final == 1 and types[-1] in ("complete", "error"), "one final event, last"
        body = events[1:-1]
    else:
        assert n_final == 0
        body = events[1:]
    names = [x["name"] for x in meta["indicators"]]
    every, total = meta["emit_every"], meta["total_bars"]

    bar, stamp, close, phase = 0, None, None, "none"
    highs: list[float] = []
    lows: list[float] = []
    entries: dict[int, Event] = {}
    closed: list[Event] = []
    stats_bars: list[int] = []
    exit_bars: set[int] = set()
    next_id = 1
    moves: list[Event] = []
    last_stats = last_equity = None
    k = 0
    while k < len(body):
        e = body[k]
        t = e["type"]
        if t == "candle":
            assert e["bar_number"] == bar + 1, "candles come bar by bar"
            bar, stamp, close, phase = e["bar_number"], e["timestamp"], e["close"], "fills"
            highs.append(e["high"])
            lows.append(e["low"])
            assert list(e["indicators"]) == names, "candle.indicators follow metadata.indicators"
            assert e["progress"] == (bar * 20_000 + total) // (2 * total) / 100
        elif t == "signal":
            assert phase == "fills", f"seq {e['seq']}: a signal after its bar's stats/equity"
            assert (e["bar_number"], e["timestamp"]) == (bar, stamp)
            is_long = e["direction"] == "long"
            if e["action"] == "ENTRY":
                assert e["side"] == ("BUY" if is_long else "SELL")
                assert e["trade_id"] == next_id, "trade ids count up from 1 in order of entry"
                next_id += 1
                entries[e["trade_id"]] = e
            else:
                assert e["side"] == ("SELL" if is_long else "BUY")
                entry = entries.pop(e["trade_id"])
                if k + 1 == len(body) and not finished:
                    break  # killed between the EXIT and its trade
                trade = body[k + 1]
                assert trade["type"] == "trade" and trade["trade_id"] == e["trade_id"], (
                    f"seq {e['seq']}: an EXIT signal is followed by its trade event"
                )
                assert trade["direction"] == e["direction"]
                assert (trade["exit_price"], trade["size"], trade["pnl"]) == (
                    e["price"],
                    e["size"],
                    e["pnl"],
                )
                assert (trade["exit_bar"], trade["exit_time"]) == (bar, stamp)
                assert (trade["entry_bar"], trade["entry_time"], trade["entry_price"]) == (
                    entry["bar_number"],
                    entry["timestamp"],
                    entry["price"],
                )
                assert trade["entry_reason"] == entry["reason"]
                assert (trade["stop_loss"], trade["take_profit"]) == (
                    entry["stop_loss"],
                    entry["take_profit"],
                )
                assert trade["bars_held"] == trade["exit_bar"] - trade["entry_bar"]
                value = trade["entry_price"] * trade["size"]
                assert trade["pnl_percent"] == pytest.approx(trade["pnl"] / value * 100)
                span = slice(trade["entry_bar"] - 1, trade["exit_bar"])
                mfe, mae = excursions(trade["entry_price"], is_long, highs[span], lows[span])
                assert (trade["mfe"], trade["mae"]) == (pytest.approx(mfe), pytest.approx(mae))
                closed.append(trade)
                exit_bars.add(bar)
                k += 1
        elif t == "levels":
            assert phase == "fills", f"seq {e['seq']}: levels after its bar's stats/equity"
            assert (e["bar_number"], e["timestamp"]) == (bar, stamp)
            entry = entries[e["trade_id"]]  # the trade is open
            moved = (e["stop_loss"], e["take_profit"])
            assert moved != (entry["stop_loss"], entry["take_profit"]), "levels only on a move"
            entries[e["trade_id"]] = {**entry, "stop_loss": moved[0], "take_profit": moved[1]}
            moves.append(e)
        elif t == "trade":
            pytest.fail(f"seq {e['seq']}: a trade event without its EXIT signal")
        elif t == "stats":
            assert phase == "fills", f"seq {e['seq']}: stats must close a bar's events"
            if k + 1 == len(body) and not finished:
                break
            eq = body[k + 1]
            assert eq["type"] == "equity", "stats is followed by equity"
            assert (eq["bar_number"], eq["timestamp"]) == (bar, stamp)
            assert (e["equity"], e["drawdown"]) == (eq["equity"], eq["drawdown"])
            assert e["bar_number"] == bar
            assert eq["cash"] == eq["equity"] - e["position"] * close
            assert e["total_trades"] == len(closed)
            assert e["winning_trades"] == sum(t["pnl"] > 0 for t in closed)
            assert e["losing_trades"] == sum(t["pnl"] < 0 for t in closed)
            expected_rate = e["winning_trades"] * 100 / len(closed) if closed else 0.0
            assert e["win_rate"] == pytest.approx(expected_rate)
            assert e["realized_pnl"] == pytest.approx(sum(t["pnl"] for t in closed))
            assert e["open_positions"] == len(entries)
            stats_bars.append(bar)
            last_stats, last_equity = e, eq
            phase = "stats"
            k += 1
        else:
            pytest.fail(f"seq {e['seq']}: unexpected {t} event inside the run")
        k += 1

    last = events[-1]
    ended = finished and last["type"] == "complete"
    candles = [e for e in body if e["type"] == "candle"]
    if candles:
        assert meta["start"] == candles[0]["timestamp"], "metadata.start is the first bar's time"
    if ended and bar == total:
        assert meta["end"] == candles[-1]["timestamp"], "metadata.end is the last bar's time"
    seen = bar if finished else bar - 1  # a killed run's last bar may be incomplete
    expected = {b for b in range(1, seen + 1) if (b - 1) % every == 0 or b in exit_bars}
    if ended:
        expected.add(bar)
    assert [b for b in stats_bars if b <= seen] == sorted(expected), "stats/equity cadence"
    if ended:
        m = last["metrics"]
        assert last["total_bars"] == bar == m["bars"] <= total
        assert m["total_trades"] == len(closed)
        assert last["open_trades"] == m["open_trades"] == len(entries)
        assert [t["trade_id"] for t in m["open_trade_details"]] == sorted(entries)
        for t in m["open_trade_details"]:
            entry = entries[t["trade_id"]]
            assert (t["entry_bar"], t["entry_price"], t["size"], t["entry_reason"]) == (
                entry["bar_number"],
                entry["price"],
                entry["size"],
                entry["reason"],
            )
        assert m["start"].startswith(meta["start"])
        # The last stats/equity describe the final state of the run.
        assert last_stats is not None and last_equity is not None
        assert last_stats["total_trades"] == m["total_trades"], "stale final stats"
        assert last_stats["open_positions"] == m["open_trades"], "stale final stats"
        assert last_equity["equity"] == m["final_equity"], "stale final equity"
    return {
        "bars": bar,
        "stats_bars": stats_bars,
        "closed": closed,
        "exit_bars": exit_bars,
        "moves": moves,
        "types": set(types),
    }


# --- the schema itself -----------------------------------------------------------------------


def test_schema_is_strict_draft_2020_12(schema: dict[str, Any]) -> None:
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    defs = schema["$defs"]
    for name in (*EVENT_TYPES, "open_trade"):
        d = defs[name]
        assert d["additionalProperties"] is False, name
        assert set(d["required"]) == set(d["properties"]), f"{name}: every field is required"
        if name != "open_trade":
            assert d["properties"]["type"] == {"const": name}
            assert {"seq", "run_id"} <= set(d["required"])
    metrics = defs["complete"]["properties"]["metrics"]
    assert metrics["additionalProperties"] is False
    assert set(metrics["required"]) == set(metrics["properties"])
    signal_ = defs["signal"]["properties"]
    assert set(signal_["action"]["enum"]) == {"ENTRY", "EXIT"}
    assert set(signal_["side"]["enum"]) == {"BUY", "SELL"}
    assert set(defs["direction"]["enum"]) == {"long", "short"}
    assert set(defs["exit_reason"]["enum"]) == EXIT_REASONS


def test_schema_rejects_malformed_events(validator: EventValidator, sample) -> None:
    events = run_events(Backtest(sample.iloc[:120], Bracketed))
    by_type = {}
    for e in events:
        by_type.setdefault((e["type"], e.get("action")), e)
    candle, entry = by_type[("candle", None)], by_type[("signal", "ENTRY")]
    exit_, trade = by_type[("signal", "EXIT")], by_type[("trade", None)]
    assert_valid(validator, [candle, entry, exit_, trade])
    bad = [
        {**candle, "extra": 1},
        {k: v for k, v in candle.items() if k != "volume"},
        {**candle, "bar_number": float(candle["bar_number"])},
        {**candle, "seq": -1},
        {**candle, "type": "bar"},
        {**candle, "indicators": {"x": "1.0"}},
        {**entry, "action": "BUY"},
        {**entry, "pnl": 1.0},
        {**exit_, "pnl": None},
        {**entry, "direction": "LONG"},
        {**trade, "exit_reason": None},
        {**trade, "exit_reason": "margin_call"},
        {**trade, "mae": 1.0},
        {**events[0], "seq": 1},
        {**events[0], "indicators": [{"name": "x"}]},
        {**events[-1], "metrics": {**events[-1]["metrics"], "status": "failed"}},
        {**events[-1], "metrics": {k: v for k, v in events[-1]["metrics"].items() if k != "daily"}},
    ]
    for event in bad:
        assert not validator.full.is_valid(event), event
    assert not validator.full.is_valid({"type": "error", "seq": 3, "run_id": "x", "message": "m"})


def test_doc_matches_the_schema(schema: dict[str, Any], validator: EventValidator) -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    examples = [
        json.loads(line)
        for block in re.findall(r"```json\n(.*?)```", doc, re.S)
        for line in block.splitlines()
    ]
    assert_valid(validator, examples)
    assert {e["type"] for e in examples} == set(EVENT_TYPES), "an example of every event type"
    defs = schema["$defs"]
    sections = re.split(r"^### `(\w+)`.*$", doc, flags=re.M)
    documented = dict(zip(sections[1::2], sections[2::2], strict=True))
    assert set(documented) == set(EVENT_TYPES)
    for kind, text in documented.items():
        rows = re.findall(r"^\| (`[^|]*) \|", text, re.M)
        fields = {name for row in rows for name in re.findall(r"`(\w+)`", row)}
        expected = set(defs[kind]["properties"]) - {"type", "seq", "run_id"}
        if kind == "complete":
            expected |= set(defs[kind]["properties"]["metrics"]["properties"])
        assert fields == expected, f"{kind}: the doc's tables and the schema disagree"


# --- real runs against the schema and the ordering rules ------------------------------------


@pytest.mark.parametrize("name", list(BUILTINS))
def test_builtin_strategy_stream(name: str, validator, sample) -> None:
    cls = BUILTINS[name]
    params = {"allow_short": True} if "allow_short" in cls.parameters() else {}
    bt = Backtest(sample, cls, params)
    events = run_events(bt)
    assert_valid(validator, events)
    seen = check_stream(events)
    assert bt.status == "completed"
    assert events[-1]["type"] == "complete"
    assert events[0]["strategy"] == name and events[0]["params"] == bt.params
    assert events[0]["total_bars"] == len(sample) == seen["bars"]
    warm_up = [e for e in events if e["type"] == "candle"][0]["indicators"]
    if warm_up:
        assert set(warm_up.values()) == {None}, "indicators are null during warm-up"
    if params:
        assert {t["direction"] for t in seen["closed"]} == {"long", "short"}


def test_bracketed_strategy_shows_every_event_and_exit(validator, sample) -> None:
    bt = Backtest(sample, Bracketed, commission=0.001, commission_fixed=1.0, slippage=0.0005)
    events = run_events(bt)
    assert_valid(validator, events)
    seen = check_stream(events)
    assert seen["types"] == set(EVENT_TYPES) - {"error"}
    assert seen["moves"], "a trailed stop is sent as a levels event"
    reasons = {t["exit_reason"] for t in seen["closed"]}
    assert {"signal", "stop_loss", "take_profit"} <= reasons
    assert {t["direction"] for t in seen["closed"]} == {"long", "short"}
    for t in seen["closed"]:
        assert t["stop_loss"] is not None and t["take_profit"] is not None
        assert t["entry_reason"].startswith("flat: ")
        assert t["commission"] > 2.0  # both fixed fees plus the rate
    meta = events[0]
    assert (meta["commission"], meta["commission_fixed"], meta["slippage"]) == (0.001, 1.0, 0.0005)
    assert meta["params"] == {"stop": 0.03, "target": 0.05, "patience": 15}
    assert meta["strategy"] == "Bracketed" and meta["fill"] == "next-open"
    signals = [e for e in events if e["type"] == "signal" and e["action"] == "EXIT"]
    assert any(s["reason"].startswith("stop loss at ") for s in signals)
    assert any(s["reason"].startswith("take profit at ") for s in signals)


def test_out_of_money_run(validator) -> None:
    n = 80
    close = np.linspace(100.0, 300.0, n)
    df = pd.DataFrame(
        {"Open": close, "High": close + 1, "Low": close - 1, "Close": close, "Volume": 1.0},
        index=pd.date_range("2024-01-01", periods=n, freq="D"),
    )
    bt = Backtest(df, ShortTheRally)
    events = run_events(bt)
    assert_valid(validator, events)
    seen = check_stream(events)
    meta, done = events[0], events[-1]
    assert (meta["symbol"], meta["source"], meta["interval"]) == ("DATA", "dataframe", "")
    m = done["metrics"]
    assert m["status"] == "out_of_money"
    assert m["stopped_reason"].startswith("out of money at bar ")
    assert done["total_bars"] < meta["total_bars"]
    assert [t["exit_reason"] for t in seen["closed"]] == ["end"]
    assert seen["exit_bars"] == {done["total_bars"]}


@pytest.mark.parametrize(("every", "fill"), [(5, "next-open"), (7, "close")])
def test_stats_cadence_follows_emit_every(every: int, fill: str, validator, sample) -> None:
    bt = Backtest(sample, BUILTINS["sma_cross"], {"allow_short": True}, emit_every=every, fill=fill)
    events = run_events(bt)
    assert_valid(validator, events)
    seen = check_stream(events)  # asserts the exact set of bars with stats + equity
    assert events[0]["emit_every"] == every
    regular = set(range(1, len(sample) + 1, every))
    assert set(seen["stats_bars"]) == regular | seen["exit_bars"] | {len(sample)}
    assert seen["exit_bars"] - regular, "some trades close off the regular cadence"
    assert len(seen["stats_bars"]) < len(sample) / 2


def test_close_at_end_trades_are_followed_by_final_stats(validator, sample) -> None:
    # ENGINE BUG (algotui/engine/backtest.py, the `if self.close_at_end and broker.trades:`
    # block after the bar loop): trades closed by --close-at-end get their EXIT signal and
    # trade event after the last bar's stats/equity, and no stats/equity follow them, so the
    # final stats still show the trade open (stale total_trades, open_positions, equity; with
    # commission the last equity event also differs from metrics.final_equity). Fix: after
    # that loop, emit `stats` + `equity` for the last bar (equity = broker.cash) before
    # `complete`. Expected to fail until then.
    bt = Backtest(sample, Bracketed, close_at_end=True, commission=0.001)
    events = run_events(bt)
    assert_valid(validator, events)
    assert "end" in {e["exit_reason"] for e in events if e["type"] == "trade"}
    assert events[-1]["metrics"]["open_trades"] == 0
    check_stream(events)


def test_timestamps_agree_for_timezone_aware_data(sample) -> None:
    # ENGINE BUG (algotui/engine/events.py `iso()`, used by Backtest._metadata for start/end):
    # with a timezone-aware DataFrame (Python API; files are made naive UTC by the loader),
    # candle timestamps are UTC (Codec.stamps uses the UTC datetime64 values) but
    # metadata.start/end are the local wall-clock time with the offset dropped, i.e. a
    # different instant; metrics.start/end (stats.py, `index[0].isoformat()`) carry the offset
    # ("...T00:00:00-05:00"), a third format. Fix: have Backtest.__init__ convert a tz-aware
    # index to naive UTC once (`data.tz_convert("UTC").tz_localize(None)`, keeping attrs).
    # Expected to fail until then.
    df = sample.iloc[:40].copy()
    df.index = df.index.tz_localize("America/New_York")
    events = run_events(Backtest(df, BUILTINS["buy_and_hold"]))
    candles = [e for e in events if e["type"] == "candle"]
    assert candles[0]["timestamp"] == "2022-01-03T05:00:00"  # midnight New York, in UTC
    assert (events[0]["start"], events[0]["end"]) == (
        candles[0]["timestamp"],
        candles[-1]["timestamp"],
    )
    metrics = events[-1]["metrics"]
    assert (metrics["start"], metrics["end"]) == (events[0]["start"], events[0]["end"])


def test_runs_are_deterministic(sample) -> None:
    first = run_events(Backtest(sample, Bracketed, commission=0.001))
    second = run_events(Backtest(sample, Bracketed, commission=0.001))
    assert first[0]["run_id"] != second[0]["run_id"]
    assert strip(first) == strip(second)
    assert len(first) > 1000


# --- failures --------------------------------------------------------------------------------


def test_next_raising_ends_with_error_event(validator, sample) -> None:
    bt = Backtest(sample, FailsAtBar50)
    events = run_events(bt)
    assert_valid(validator, events)
    check_stream(events)
    assert bt.status == "failed"
    error = events[-1]
    assert error["type"] == "error"
    assert [e["type"] for e in events].count("complete") == 0
    candles = [e["bar_number"] for e in events if e["type"] == "candle"]
    assert candles[-1] == 49, "the failing bar's candle is not sent"
    lines, first = inspect.getsourcelines(FailsAtBar50.next)
    line = first + next(k for k, text in enumerate(lines) if "raise ValueError" in text)
    message = error["message"]
    assert message.startswith("FailsAtBar50.next() raised ValueError: boom at bar 50")
    assert message.endswith(f"{Path(__file__).name}:{line}")
    assert f"line {line}" in error["details"]
    assert "ValueError: boom at bar 50" in error["details"]
    assert "algotui/engine" not in error["details"], "only the user's frames"


def test_init_raising_ends_with_error_event(validator, sample) -> None:
    bt = Backtest(sample, FailsInInit)
    events = run_events(bt)
    assert_valid(validator, events)
    assert [e["type"] for e in events] == ["metadata", "error"]
    check_stream(events)
    assert events[0]["indicators"] == []
    assert events[1]["message"].startswith("FailsInInit.init() raised RuntimeError: no indic")
    assert bt.status == "failed"


# --- recordings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "params", "options"),
    [
        ("run.jsonl", [], {}, {}),
        (
            "run.jsonl.gz",
            ["-s", "rsi_reversion", "-p", "allow_short=yes", "--emit-every", "7"],
            {"allow_short": True},
            {"emit_every": 7},
        ),
    ],
)
def test_cli_recording(tmp_path, validator, sample, capsys, name, args, params, options) -> None:
    path = tmp_path / name
    with pytest.raises(SystemExit) as exited:
        cli_main(["run", "--record", str(path), *args])
    assert exited.value.code == 0
    assert "recorded to" in capsys.readouterr().out
    with open_recording(path) as f:
        events = list(read_events(f))
    assert_valid(validator, events)
    check_stream(events)
    strategy = BUILTINS[args[1] if args else "sma_cross"]
    reference = run_events(Backtest(sample, strategy, params, **options))
    assert strip(events) == strip(reference), "the file holds exactly the engine's events"
    raw = path.read_bytes()
    if name.endswith(".gz"):
        assert raw[:2] == b"\x1f\x8b"
        text = gzip.decompress(raw).decode()  # a complete gzip member, trailer included
    else:
        text = raw.decode()
    assert text.endswith("\n") and text.count("\n") == len(events)


def test_torn_last_line_is_skipped(tmp_path, sample) -> None:
    path = tmp_path / "torn.jsonl"
    bt = Backtest(sample, BUILTINS["sma_cross"], emit_every=50)
    with Recorder(path, bt.run_id) as recorder:
        for event in bt.events():
            recorder.write(event)
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    full = [json.loads(line) for line in lines]
    assert full[-1]["type"] == "complete"
    for keep in (len(lines) - 1, len(lines) // 2, 0):
        cut = sum(len(line) for line in lines[:keep]) + len(lines[keep]) // 2
        path.write_bytes(data[:cut])
        with open_recording(path) as f:
            assert list(read_events(f)) == full[:keep]


def test_torn_gzip_recording_reads_a_prefix(tmp_path, sample) -> None:
    path = tmp_path / "torn.jsonl.gz"
    bt = Backtest(sample, BUILTINS["sma_cross"], emit_every=50)
    with Recorder(path, bt.run_id) as recorder:
        for event in bt.events():
            recorder.write(event)
    data = path.read_bytes()
    full = [json.loads(line) for line in gzip.decompress(data).splitlines()]
    for fraction in (0.3, 0.7):
        path.write_bytes(data[: int(len(data) * fraction)])
        with open_recording(path) as f:
            got = list(read_events(f))
        assert 0 < len(got) < len(full)
        assert got == full[: len(got)]


# --- killed runs -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    """300,000 one-minute bars (epoch seconds, whole-number prices: quick to write)."""
    n = 300_000
    rng = np.random.default_rng(7)
    close = 10_000 + np.cumsum(rng.integers(-5, 6, n))
    open_ = np.concatenate(([10_000], close[:-1]))
    df = pd.DataFrame(
        {
            "Timestamp": 1_704_067_200 + 60 * np.arange(n),
            "Open": open_,
            "High": np.maximum(open_, close) + 2,
            "Low": np.minimum(open_, close) - 2,
            "Close": close,
            "Volume": 1000,
        }
    )
    path = tmp_path_factory.mktemp("big") / "minutes.csv"
    df.to_csv(path, index=False)
    return path


def _lines_so_far(path: Path) -> int:
    if not path.exists():
        return 0
    if path.suffix == ".gz":
        with open_recording(path) as f:
            return f.read().count(b"\n")
    return path.read_bytes().count(b"\n")


STOPS = {
    "killed.jsonl": signal.SIGKILL,
    "killed.jsonl.gz": signal.SIGKILL,
    "interrupted.jsonl": signal.SIGINT,
}


@pytest.fixture(scope="module")
def stopped_runs(big_csv: Path, tmp_path_factory) -> dict[str, tuple[Path, bool, int, str]]:
    """Headless recordings of ``big_csv``, started together (to share the start-up time), each
    sent its signal in ``STOPS`` as soon as its file holds more than 1,000 lines.

    Gives, per file name: its path, whether the run was still going when signalled, its exit
    code and the end of its stderr.
    """
    folder = tmp_path_factory.mktemp("stopped")
    procs: dict[str, subprocess.Popen] = {}
    signalled: dict[str, bool] = {}
    try:
        for name in STOPS:
            with open(folder / f"{name}.err", "wb") as err:
                procs[name] = subprocess.Popen(
                    [sys.executable, "-m", "algotui", "run", str(big_csv)]
                    + ["--record", str(folder / name)],
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    cwd=ROOT,
                )
        deadline = time.monotonic() + 60
        while len(signalled) < len(procs) and time.monotonic() < deadline:
            for name, proc in procs.items():
                if name in signalled:
                    continue
                if proc.poll() is not None:
                    signalled[name] = False  # ended on its own: the test fails
                elif _lines_so_far(folder / name) > 1000:
                    proc.send_signal(STOPS[name])
                    signalled[name] = True
            time.sleep(0.01)
        results = {}
        for name, proc in procs.items():
            code = proc.wait(timeout=30)
            stderr = (folder / f"{name}.err").read_text(errors="replace")[-500:]
            results[name] = (folder / name, signalled.get(name, False), code, stderr)
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _complete_lines(path: Path) -> list[Event]:
    """Every newline-terminated line parsed; an unterminated (torn) tail is left out."""
    if path.suffix == ".gz":
        with open_recording(path) as f:
            text = f.read().decode()
    else:
        text = path.read_bytes().decode()
    *lines, tail = text.split("\n")
    if tail:
        with pytest.raises(json.JSONDecodeError):
            json.loads(tail)  # a torn line is never a whole event: lines end with "\n"
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("name", ["killed.jsonl", "killed.jsonl.gz"])
def test_killed_run_leaves_a_readable_recording(stopped_runs, validator, name) -> None:
    path, running, code, stderr = stopped_runs[name]
    assert running, f"the run was not going when it was to be killed: {stderr}"
    assert code == -signal.SIGKILL
    events = _complete_lines(path)
    assert len(events) > 1000
    with open_recording(path) as f:
        assert list(read_events(f)) == events
    assert_valid(validator, events)
    check_stream(events, finished=False)  # metadata first, seq gapless, ordering so far
    assert events[0]["total_bars"] == 300_000 and events[0]["interval"] == "1m"


def test_interrupted_run_ends_with_a_gapless_error_event(stopped_runs, validator) -> None:
    path, running, code, stderr = stopped_runs["interrupted.jsonl"]
    assert running, f"the run was not going when it was to be interrupted: {stderr}"
    assert code == 130, stderr
    events = _complete_lines(path)
    last = events[-1]
    assert (last["type"], last["message"]) == ("error", "interrupted")
    assert last["run_id"] == events[0]["run_id"]
    # ENGINE BUG (algotui/headless.py, the `except KeyboardInterrupt:` branch of run_headless):
    # the interrupted-run error event is written with "seq": -1 instead of the next seq (one
    # past the last event written), breaking "seq starts at 0 and has no gaps" and the schema
    # (seq minimum 0). Fix: remember the last written event's seq in the loop and write
    # seq = last + 1 (0 if nothing was written). Expected to fail until then.
    assert last["seq"] == events[-2]["seq"] + 1
    assert_valid(validator, events)


# --- layering --------------------------------------------------------------------------------


def test_engine_import_does_not_load_textual() -> None:
    code = (
        "import sys, algotui.engine.backtest\n"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))\n"
        "print('algotui.engine.backtest' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.split() == ["False", "True"]


# --- long recordings: candles rendered in a child process ------------------------------------


def _minute_walk(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * 1.001,
            "Low": np.minimum(open_, close) * 0.999,
            "Close": close,
            "Volume": rng.integers(1, 10_000, n).astype(float),
        },
        index=pd.date_range("2024-03-01", periods=n, freq="min", name="Date"),
    )


def _in_process_text(df: pd.DataFrame) -> str:
    bt = Backtest(df, BUILTINS["macd_cross"], run_id="same")
    encode = Encoder(bt.run_id)
    parts = []
    for item in bt.stream():
        parts.append(encode.lines(item))
    return "".join(parts)


def _recorded(df: pd.DataFrame, path: Path, kill_child_after: int | None = None) -> list[int]:
    """Record a run; returns the renderer child's pid(s) seen during it."""
    import os

    bt = Backtest(df, BUILTINS["macd_cross"], run_id="same")
    pids = []
    with Recorder(path, bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
            child = bt.columns._child
            if child is not None and child.pid not in pids:
                pids.append(child.pid)
            if kill_child_after is not None and isinstance(item, Candles):
                if item.bar + len(item) > kill_child_after and child is not None:
                    os.kill(child.pid, signal.SIGKILL)
                    kill_child_after = None
    return pids


def _without_created_at(text: str) -> list[dict]:
    events = [json.loads(line) for line in text.splitlines()]
    events[0].pop("created_at")
    return events


@pytest.mark.skipif(sys.platform == "darwin", reason="the renderer child needs fork")
def test_a_long_recording_renders_candles_in_a_child_with_the_same_text(tmp_path) -> None:
    import os

    df = _minute_walk(45_000, seed=11)  # six blocks of candles
    path = tmp_path / "long.jsonl"
    pids = _recorded(df, path)
    assert len(pids) == 1, "one renderer child for the run"
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)  # reaped when the recording closed
    text = path.read_text()
    assert _without_created_at(text) == _without_created_at(_in_process_text(df))
    assert text.count('"type":"candle"') == 45_000


@pytest.mark.skipif(sys.platform == "darwin", reason="the renderer child needs fork")
def test_a_renderer_child_that_dies_is_taken_over_in_process(tmp_path) -> None:
    df = _minute_walk(45_000, seed=12)
    path = tmp_path / "killed.jsonl"
    pids = _recorded(df, path, kill_child_after=9_000)
    assert len(pids) == 1
    assert _without_created_at(path.read_text()) == _without_created_at(_in_process_text(df))


def test_a_short_recording_renders_in_process(tmp_path, sample) -> None:
    bt = Backtest(sample, BUILTINS["sma_cross"])
    with Recorder(tmp_path / "short.jsonl", bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
            assert bt.columns._child is None


class Tiny(Strategy):
    """Trades a coin priced in hundred-thousandths, with non-ASCII names and reasons."""

    fractional = True

    def init(self):
        from algotui.engine.indicators import sma

        self.fast = self.indicator(sma, self.data.Close, 5, name="Δ SMA(5)", overlay=True)

    def next(self):
        if self.i % 40 == 10:
            self.buy(reason="über Δ — prix ≥ moyenne")
        elif self.i % 40 == 30:
            self.close(reason="zurück ↓")


def test_tiny_prices_and_non_ascii_text_read_back_exactly(tmp_path) -> None:
    n = 20_000  # three blocks: candles rendered in a child for the recording
    rng = np.random.default_rng(3)
    close = 1.234e-5 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    df = pd.DataFrame(
        {"Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close, "Volume": 7e-7},
        index=pd.date_range("2024-01-01", periods=n, freq="min", name="Date"),
    )
    events = run_events(Backtest(df, Tiny, cash=1.0, run_id="tiny"))
    assert any(e["type"] == "signal" and e["reason"] == "über Δ — prix ≥ moyenne" for e in events)
    candles = [e for e in events if e["type"] == "candle"]
    assert [c["close"] for c in candles] == close.tolist()
    assert candles[-1]["indicators"]["Δ SMA(5)"] == pytest.approx(close[-5:].mean(), rel=1e-12)
    path = tmp_path / "tiny.jsonl"
    bt = Backtest(df, Tiny, cash=1.0, run_id="tiny")
    with Recorder(path, bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
    with open_recording(path) as f:
        assert strip(list(read_events(f))) == strip(events)


class TrailingNumpyStop(Strategy):
    """Trails its stop-loss 3% under the highest close, a numpy number."""

    huge = 123456789012345678901234  # a parameter past 64 bits

    def next(self):
        if self.i == 1:
            self.buy()
        for trade in self.trades:
            trade.sl = np.maximum(trade.sl or 0.0, self.data.Close[-1] * 0.97)


def test_numpy_numbers_and_huge_parameters_are_recorded(tmp_path) -> None:
    close = np.r_[np.linspace(100, 120, 25), np.linspace(120, 90, 25)]
    df = pd.DataFrame(
        {"Open": close, "High": close + 0.1, "Low": close - 0.1, "Close": close, "Volume": 1.0},
        index=pd.date_range("2024-01-01", periods=50, freq="D", name="Date"),
    )
    path = tmp_path / "trail.jsonl"
    bt = Backtest(df, TrailingNumpyStop)
    with Recorder(path, bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
    with open_recording(path) as f:
        events = list(read_events(f))
    assert events[0]["params"]["huge"] == 123456789012345678901234
    (exit_,) = [e for e in events if e["type"] == "signal" and e["action"] == "EXIT"]
    assert exit_["reason"].startswith("stop loss at")
    (trade,) = [e for e in events if e["type"] == "trade"]
    assert trade["exit_reason"] == "stop_loss" and isinstance(trade["stop_loss"], float)
    assert events[-1]["type"] == "complete"


class BadBytes(Strategy):
    def next(self):
        if self.i == 3:
            raise ValueError("name " + b"\xff".decode("utf-8", "surrogateescape"))


def test_an_error_message_that_is_not_valid_utf8_is_still_recorded(tmp_path) -> None:
    path = tmp_path / "bad.jsonl"
    bt = Backtest(load_source("sample"), BadBytes)
    with Recorder(path, bt.run_id) as recorder:
        for item in bt.stream():
            recorder.write(item)
    with open_recording(path) as f:
        events = list(read_events(f))
    assert (
        events[-1]["type"] == "error"
        and "BadBytes.next() raised ValueError" in (events[-1]["message"])
    )


@pytest.mark.skipif(sys.platform == "darwin", reason="the renderer child needs fork")
def test_a_stuck_renderer_child_is_given_up_on(tmp_path, monkeypatch) -> None:
    import os

    from algotui.protocol import candle_text

    parent = os.getpid()
    render = candle_text.RunColumns.render

    def stuck_in_child(self, block):
        if os.getpid() != parent and block >= 2:
            time.sleep(60)  # the child hangs (say, on a lock it inherited)
        return render(self, block)

    monkeypatch.setattr(candle_text.RunColumns, "render", stuck_in_child)
    monkeypatch.setattr(candle_text, "RENDER_TIMEOUT", 0.5)
    df = _minute_walk(45_000, seed=13)
    path = tmp_path / "stuck.jsonl"
    pids = _recorded(df, path)
    assert len(pids) == 1
    assert _without_created_at(path.read_text()) == _without_created_at(_in_process_text(df))


def test_the_schema_file_is_generated_from_the_field_table() -> None:
    from algotui.protocol import schema as generated

    assert SCHEMA_PATH.read_text(encoding="utf-8") == generated.text(), (
        "run: uv run python -m algotui.protocol.schema > docs/protocol.schema.json"
    )


def test_every_record_has_the_fields_of_its_event_type() -> None:
    from algotui.protocol.fields import EVENTS
    from algotui.protocol.records import RECORDS

    for kind, spec in EVENTS.items():
        if kind == "candle":
            continue  # a batch: its columns are the fields of each of its candles
        assert RECORDS[kind]._fields == ("seq", *spec.names), kind
