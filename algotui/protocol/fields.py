"""The field table of protocol v1: every event type, its fields in order, and their schema.

This table is the one definition of the wire format. The records the engine yields
(:mod:`algotui.protocol.records`) are made from it, the encoders (:mod:`algotui.protocol.encode`)
write dicts and JSON text in its order, and ``docs/protocol.schema.json`` is generated from it
(``python -m algotui.protocol.schema``; a test checks the file is up to date).

Long because it is data: every event type and field of the wire format, read in one place.
"""

from dataclasses import dataclass, field
from typing import Any

from algotui.protocol.defs import METRICS

PROTOCOL_VERSION = 1


@dataclass(frozen=True, slots=True)
class Field:
    """One field of an event: its name and its JSON Schema."""

    name: str
    schema: dict[str, Any]

    @property
    def is_time(self) -> bool:
        """A bar time: records carry epoch seconds, dicts and JSON carry ISO 8601 text."""
        return self.schema.get("$ref") == "#/$defs/bar_time"

    @property
    def is_number(self) -> bool:
        """A float field: a value that is not finite is written as null."""
        kind = self.schema.get("type")
        return (
            kind == "number"
            or (isinstance(kind, list) and "number" in kind)
            or (self.schema.get("$ref") == "#/$defs/price_or_null")
        )


@dataclass(frozen=True, slots=True)
class EventSpec:
    """An event type: its name, what it means, its fields (after type, seq and run_id)."""

    type: str
    description: str
    seq: dict[str, Any]
    fields: tuple[Field, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


# metadata
_METADATA = EventSpec(
    "metadata",
    "The first event of every run: what runs, on which data, with which settings.",
    seq={"const": 0},
    fields=(
        Field("v", {"description": "Protocol version.", "const": 1}),
        Field("symbol", {"type": "string"}),
        Field("source", {"type": "string"}),
        Field(
            "interval",
            {"description": "Bar interval (1d, 5m, ...); empty when unknown.", "type": "string"},
        ),
        Field("start", {"$ref": "#/$defs/bar_time"}),
        Field("end", {"$ref": "#/$defs/bar_time"}),
        Field(
            "strategy",
            {
                "description": "Strategy name (its `name` attribute or class name).",
                "type": "string",
                "minLength": 1,
            },
        ),
        Field(
            "params",
            {
                "description": "Resolved strategy parameters; a non-finite float is null.",
                "type": "object",
                "additionalProperties": {
                    "type": ["boolean", "integer", "number", "string", "null"]
                },
            },
        ),
        Field("initial_balance", {"type": "number", "exclusiveMinimum": 0}),
        Field(
            "commission",
            {
                "description": "Fraction of traded value.",
                "type": "number",
                "minimum": 0,
                "exclusiveMaximum": 1,
            },
        ),
        Field(
            "commission_fixed", {"description": "Money per order.", "type": "number", "minimum": 0}
        ),
        Field(
            "slippage",
            {
                "description": "Fraction of price.",
                "type": "number",
                "minimum": 0,
                "exclusiveMaximum": 1,
            },
        ),
        Field("fill", {"enum": ["next-open", "close"]}),
        Field("total_bars", {"description": "Bars in the data.", "type": "integer", "minimum": 1}),
        Field(
            "emit_every",
            {"description": "stats/equity cadence in bars.", "type": "integer", "minimum": 1},
        ),
        Field(
            "indicators",
            {
                "type": "array",
                "items": {
                    "description": "An indicator, in the order of candle.indicators.",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["name", "overlay"],
                    "properties": {
                        "name": {"type": "string"},
                        "overlay": {"description": "Drawn over the candles.", "type": "boolean"},
                        "levels": {
                            "description": "Guide lines the strategy "
                            "declared for its pane "
                            "(may be empty).",
                            "type": "array",
                            "items": {"type": "number"},
                        },
                    },
                },
            },
        ),
        Field(
            "status",
            {
                "description": "Always running: the outcome is in complete/error.",
                "const": "running",
            },
        ),
        Field(
            "created_at",
            {
                "description": "Wall-clock UTC time of the run's start (not deterministic).",
                "type": "string",
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
            },
        ),
    ),
    extra={},
)

# candle
_CANDLE = EventSpec(
    "candle",
    "One bar and the indicators' values at it.",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field("timestamp", {"$ref": "#/$defs/bar_time"}),
        Field("open", {"type": "number"}),
        Field("high", {"type": "number"}),
        Field("low", {"type": "number"}),
        Field("close", {"type": "number"}),
        Field("volume", {"type": "number"}),
        Field("bar_number", {"$ref": "#/$defs/bar_number"}),
        Field(
            "progress",
            {
                "description": "bar_number / metadata.total_bars in percent, 2 decimals.",
                "type": "number",
                "minimum": 0,
                "maximum": 100,
            },
        ),
        Field(
            "indicators",
            {
                "description": "Each indicator of metadata.indicators by name; null during "
                "warm-up.",
                "type": "object",
                "additionalProperties": {"type": ["number", "null"]},
            },
        ),
    ),
    extra={},
)

# signal
_SIGNAL = EventSpec(
    "signal",
    "A fill: a trade opened (ENTRY) or closed (EXIT).",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field("timestamp", {"$ref": "#/$defs/bar_time"}),
        Field("action", {"enum": ["ENTRY", "EXIT"]}),
        Field("side", {"enum": ["BUY", "SELL"]}),
        Field("price", {"description": "Fill price, slippage included.", "type": "number"}),
        Field(
            "size",
            {"description": "Units, always positive.", "type": "number", "exclusiveMinimum": 0},
        ),
        Field("trade_id", {"type": "integer", "minimum": 1}),
        Field("reason", {"type": "string"}),
        Field("stop_loss", {"$ref": "#/$defs/price_or_null"}),
        Field("take_profit", {"$ref": "#/$defs/price_or_null"}),
        Field(
            "pnl",
            {
                "description": "Net profit of the closed trade on EXIT, null on ENTRY.",
                "type": ["number", "null"],
            },
        ),
        Field("bar_number", {"$ref": "#/$defs/bar_number"}),
        Field("direction", {"$ref": "#/$defs/direction"}),
    ),
    extra={
        "if": {"properties": {"action": {"const": "ENTRY"}}},
        "then": {"properties": {"pnl": {"type": "null"}}},
        "else": {"properties": {"pnl": {"type": "number"}}},
    },
)

# trade
_TRADE = EventSpec(
    "trade",
    "A closed trade, right after its EXIT signal.",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field(
            "trade_id",
            {"description": "1-based, in order of entry.", "type": "integer", "minimum": 1},
        ),
        Field("direction", {"$ref": "#/$defs/direction"}),
        Field("entry_time", {"$ref": "#/$defs/bar_time"}),
        Field(
            "entry_price", {"description": "Entry fill price, slippage included.", "type": "number"}
        ),
        Field("exit_time", {"$ref": "#/$defs/bar_time"}),
        Field(
            "exit_price", {"description": "Exit fill price, slippage included.", "type": "number"}
        ),
        Field(
            "size",
            {"description": "Units, always positive.", "type": "number", "exclusiveMinimum": 0},
        ),
        Field(
            "pnl", {"description": "Net profit in money, both commissions paid.", "type": "number"}
        ),
        Field(
            "pnl_percent",
            {
                "description": "Net profit relative to entry value (entry_price * size). In "
                "percent.",
                "type": "number",
            },
        ),
        Field(
            "commission",
            {
                "description": "Money: entry plus exit commission (entry only while open).",
                "type": "number",
                "minimum": 0,
            },
        ),
        Field("exit_reason", {"$ref": "#/$defs/exit_reason"}),
        Field(
            "mfe",
            {
                "description": "Maximum favourable excursion while open, percent of entry "
                "price (>= 0).",
                "type": "number",
                "minimum": 0,
            },
        ),
        Field(
            "mae",
            {
                "description": "Maximum adverse excursion while open, percent of entry price "
                "(<= 0).",
                "type": "number",
                "maximum": 0,
            },
        ),
        Field(
            "bars_held", {"description": "exit_bar - entry_bar.", "type": "integer", "minimum": 0}
        ),
        Field("entry_bar", {"$ref": "#/$defs/bar_number"}),
        Field("exit_bar", {"$ref": "#/$defs/bar_number"}),
        Field("stop_loss", {"$ref": "#/$defs/price_or_null"}),
        Field("take_profit", {"$ref": "#/$defs/price_or_null"}),
        Field(
            "entry_reason",
            {"description": "reason= given with the entry order (may be empty).", "type": "string"},
        ),
    ),
    extra={},
)

# stats
_STATS = EventSpec(
    "stats",
    "Running account statistics at a bar.",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field(
            "total_trades",
            {"description": "Closed trades so far.", "type": "integer", "minimum": 0},
        ),
        Field("winning_trades", {"type": "integer", "minimum": 0}),
        Field("losing_trades", {"type": "integer", "minimum": 0}),
        Field(
            "win_rate",
            {
                "description": "In percent; 0.0 before the first closed trade.",
                "type": "number",
                "minimum": 0,
                "maximum": 100,
            },
        ),
        Field(
            "pnl",
            {
                "description": "equity - initial_balance (realised and unrealised).",
                "type": "number",
            },
        ),
        Field("realized_pnl", {"description": "Sum of the closed trades' pnl.", "type": "number"}),
        Field("equity", {"type": "number"}),
        Field(
            "drawdown",
            {
                "description": "Below the running equity peak, in percent.",
                "type": "number",
                "minimum": 0,
            },
        ),
        Field("open_positions", {"description": "Open trades.", "type": "integer", "minimum": 0}),
        Field(
            "position", {"description": "Signed net units: > 0 long, < 0 short.", "type": "number"}
        ),
        Field("bar_number", {"$ref": "#/$defs/bar_number"}),
    ),
    extra={},
)

# equity
_EQUITY = EventSpec(
    "equity",
    "A point of the equity curve.",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field("timestamp", {"$ref": "#/$defs/bar_time"}),
        Field(
            "equity",
            {"description": "Cash plus open trades marked at the bar's close.", "type": "number"},
        ),
        Field("cash", {"description": "equity - position * close.", "type": "number"}),
        Field(
            "drawdown",
            {
                "description": "Below the running equity peak, in percent.",
                "type": "number",
                "minimum": 0,
            },
        ),
        Field("bar_number", {"$ref": "#/$defs/bar_number"}),
    ),
    extra={},
)

# complete
_COMPLETE = EventSpec(
    "complete",
    "The last event of a run that finished (or stopped out of money).",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field("total_bars", {"description": "Bars processed.", "type": "integer", "minimum": 1}),
        Field("open_trades", {"type": "integer", "minimum": 0}),
        Field("metrics", METRICS),
    ),
    extra={},
)

# error
_ERROR = EventSpec(
    "error",
    "The last event of a run that failed.",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field(
            "message",
            {"description": "One line: what raised, with the user's file:line.", "type": "string"},
        ),
        Field(
            "details", {"description": "The traceback of the user's own frames.", "type": "string"}
        ),
    ),
    extra={},
)


# levels
_LEVELS = EventSpec(
    "levels",
    "An open trade's stop-loss or take-profit was moved by the strategy (a trailing stop): "
    "the levels in force from this bar on.",
    seq={"$ref": "#/$defs/seq"},
    fields=(
        Field("trade_id", {"type": "integer", "minimum": 1}),
        Field("timestamp", {"$ref": "#/$defs/bar_time"}),
        Field("bar_number", {"$ref": "#/$defs/bar_number"}),
        Field("stop_loss", {"$ref": "#/$defs/price_or_null"}),
        Field("take_profit", {"$ref": "#/$defs/price_or_null"}),
    ),
)

#: Every event type of protocol v1, in the order the schema lists them.
EVENTS: dict[str, EventSpec] = {
    spec.type: spec
    for spec in (_METADATA, _CANDLE, _SIGNAL, _LEVELS, _TRADE, _STATS, _EQUITY, _COMPLETE, _ERROR)
}
EVENT_TYPES = tuple(EVENTS)
