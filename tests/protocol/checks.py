"""Shared by the protocol tests: strategies that show every event, the schema validator,
and the ordering rules of docs/protocol.md as one check of a run's events."""

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from algotui.engine import Backtest, Strategy
from algotui.protocol.encode import Encoder
from algotui.protocol.fields import EVENT_TYPES
from algotui.protocol.records import Candles

ROOT = Path(__file__).resolve().parents[2]
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
