"""``docs/protocol.schema.json``, generated from the field table.

Run ``python -m algotui.protocol.schema > docs/protocol.schema.json`` after changing the table.
"""

import json
from typing import Any

from algotui.protocol.defs import SHARED_DEFS
from algotui.protocol.fields import EVENTS


def schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one event of protocol v1."""
    defs: dict[str, Any] = dict(SHARED_DEFS)
    for spec in EVENTS.values():
        defs[spec.type] = {
            "description": spec.description,
            "type": "object",
            "additionalProperties": False,
            "required": ["type", "seq", "run_id", *spec.names],
            "properties": {
                "type": {"const": spec.type},
                "seq": spec.seq,
                "run_id": {"$ref": "#/$defs/run_id"},
                **{f.name: f.schema for f in spec.fields},
            },
            **spec.extra,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:algotui:event-protocol:v1",
        "title": "algotui event protocol v1",
        "description": (
            "One event of a backtest run: a line of a JSON Lines recording or a WebSocket text "
            "frame (docs/protocol.md). `type` selects the event's schema; each forbids unknown "
            "fields and requires all of its own (nullable ones are present, as null)."
        ),
        "type": "object",
        "required": ["type", "seq", "run_id"],
        "properties": {"type": {"enum": list(EVENTS)}},
        "allOf": [
            {"if": {"properties": {"type": {"const": t}}}, "then": {"$ref": f"#/$defs/{t}"}}
            for t in EVENTS
        ],
        "$defs": defs,
    }


def text() -> str:
    """The schema file's text."""
    return json.dumps(schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(text(), end="")
