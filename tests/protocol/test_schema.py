"""The schema itself, the doc beside it, and the field table they come from."""

import json
import re
from typing import Any

from jsonschema import Draft202012Validator

from algotui.engine import Backtest
from algotui.protocol.fields import EVENT_TYPES
from tests.protocol.checks import (
    EXIT_REASONS,
    ROOT,
    SCHEMA_PATH,
    Bracketed,
    EventValidator,
    assert_valid,
    run_events,
)

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
