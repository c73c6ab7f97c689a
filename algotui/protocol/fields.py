"""The field table of protocol v1: every event type, its fields in order, and their schema.

This table is the one definition of the wire format. The records the engine yields
(:mod:`algotui.protocol.records`) are made from it, the encoders (:mod:`algotui.protocol.encode`)
write dicts and JSON text in its order, and ``docs/protocol.schema.json`` is generated from it
(``python -m algotui.protocol.schema``; a test checks the file is up to date).

It is long because it is data, and one piece so that the whole wire format reads in one place.
"""

from dataclasses import dataclass, field
from typing import Any

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


SHARED_DEFS: dict[str, Any] = {
    "seq": {
        "description": "Position in the run: 0 for metadata, +1 per event, no gaps.",
        "type": "integer",
        "minimum": 0,
    },
    "run_id": {
        "description": "Identifier of the run, the same on every event of it.",
        "type": "string",
        "minLength": 1,
    },
    "bar_time": {
        "description": "A bar timestamp: ISO 8601 to the second, no timezone (UTC for file data).",
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}$",
    },
    "iso_time": {
        "description": "ISO 8601 timestamp (pandas isoformat: fractional seconds or an "
        "offset when present).",
        "type": "string",
        "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}",
    },
    "bar_number": {"description": "1-based bar number.", "type": "integer", "minimum": 1},
    "price_or_null": {
        "description": "A price level, or null when not set.",
        "type": ["number", "null"],
    },
    "direction": {"enum": ["long", "short"]},
    "exit_reason": {"enum": ["signal", "stop_loss", "take_profit", "end"]},
    "open_trade": {
        "description": "A trade still open at the end of the run.",
        "type": "object",
        "additionalProperties": False,
        "required": [
            "trade_id",
            "direction",
            "entry_time",
            "entry_price",
            "exit_time",
            "exit_price",
            "size",
            "pnl",
            "pnl_percent",
            "commission",
            "exit_reason",
            "mfe",
            "mae",
            "bars_held",
            "entry_bar",
            "exit_bar",
            "stop_loss",
            "take_profit",
            "entry_reason",
        ],
        "properties": {
            "trade_id": {
                "description": "1-based, in order of entry.",
                "type": "integer",
                "minimum": 1,
            },
            "direction": {"$ref": "#/$defs/direction"},
            "entry_time": {"$ref": "#/$defs/bar_time"},
            "entry_price": {
                "description": "Entry fill price, slippage included.",
                "type": "number",
            },
            "exit_time": {"type": "null"},
            "exit_price": {"type": "null"},
            "size": {
                "description": "Units, always positive.",
                "type": "number",
                "exclusiveMinimum": 0,
            },
            "pnl": {"type": "null"},
            "pnl_percent": {"type": "null"},
            "commission": {
                "description": "Money: entry plus exit commission (entry only while open).",
                "type": "number",
                "minimum": 0,
            },
            "exit_reason": {"type": "null"},
            "mfe": {
                "description": "Maximum favourable excursion while "
                "open, percent of entry price (>= 0).",
                "type": "number",
                "minimum": 0,
            },
            "mae": {
                "description": "Maximum adverse excursion while open, "
                "percent of entry price (<= 0).",
                "type": "number",
                "maximum": 0,
            },
            "bars_held": {"type": "null"},
            "entry_bar": {"$ref": "#/$defs/bar_number"},
            "exit_bar": {"type": "null"},
            "stop_loss": {"$ref": "#/$defs/price_or_null"},
            "take_profit": {"$ref": "#/$defs/price_or_null"},
            "entry_reason": {
                "description": "reason= given with the entry order (may be empty).",
                "type": "string",
            },
        },
    },
}

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
        Field(
            "metrics",
            {
                "description": "Every metric the engine computes.",
                "type": "object",
                "additionalProperties": False,
                "required": [
                    "total_trades",
                    "winning_trades",
                    "losing_trades",
                    "win_rate",
                    "open_trades",
                    "start",
                    "end",
                    "bars",
                    "duration_days",
                    "initial_equity",
                    "final_equity",
                    "peak_equity",
                    "net_profit",
                    "total_return_pct",
                    "cagr_pct",
                    "max_drawdown",
                    "max_drawdown_duration_bars",
                    "max_drawdown_duration_days",
                    "avg_drawdown",
                    "sharpe_ratio",
                    "sortino_ratio",
                    "calmar_ratio",
                    "profit_factor",
                    "expectancy",
                    "average_win",
                    "average_loss",
                    "largest_win",
                    "largest_loss",
                    "avg_trade_pct",
                    "sqn",
                    "exposure_pct",
                    "avg_trade_duration_bars",
                    "avg_trade_duration_days",
                    "max_trade_duration_bars",
                    "total_commissions",
                    "buy_and_hold_return_pct",
                    "long_trades",
                    "short_trades",
                    "max_consecutive_wins",
                    "max_consecutive_losses",
                    "daily",
                    "status",
                    "stopped_reason",
                    "rejected_orders",
                    "open_trade_details",
                ],
                "properties": {
                    "total_trades": {
                        "description": "Closed trades.",
                        "type": "integer",
                        "minimum": 0,
                    },
                    "winning_trades": {
                        "description": "Closed trades with pnl > 0.",
                        "type": "integer",
                        "minimum": 0,
                    },
                    "losing_trades": {
                        "description": "Closed trades with pnl < 0.",
                        "type": "integer",
                        "minimum": 0,
                    },
                    "win_rate": {
                        "description": "winning_trades / total_trades. In "
                        "percent; null when undefined.",
                        "type": ["number", "null"],
                    },
                    "open_trades": {
                        "description": "Trades still open at the end.",
                        "type": "integer",
                        "minimum": 0,
                    },
                    "start": {"$ref": "#/$defs/iso_time"},
                    "end": {"$ref": "#/$defs/iso_time"},
                    "bars": {"description": "Bars processed.", "type": "integer", "minimum": 1},
                    "duration_days": {
                        "description": "Calendar days from start to end.",
                        "type": "number",
                    },
                    "initial_equity": {"type": "number"},
                    "final_equity": {
                        "description": "Equity at the last bar processed.",
                        "type": "number",
                    },
                    "peak_equity": {"type": "number"},
                    "net_profit": {
                        "description": "final_equity - initial_equity.",
                        "type": "number",
                    },
                    "total_return_pct": {
                        "description": "net_profit / initial_equity. In percent.",
                        "type": "number",
                    },
                    "cagr_pct": {
                        "description": "Compound annual growth rate. In "
                        "percent; null when undefined.",
                        "type": ["number", "null"],
                    },
                    "max_drawdown": {
                        "description": "Largest peak-to-trough fall "
                        "of equity (positive). In "
                        "percent.",
                        "type": "number",
                    },
                    "max_drawdown_duration_bars": {"type": "integer", "minimum": 0},
                    "max_drawdown_duration_days": {"type": "number"},
                    "avg_drawdown": {
                        "description": "Mean depth of the drawdown periods. In percent.",
                        "type": "number",
                    },
                    "sharpe_ratio": {
                        "description": "Annualised, daily returns, "
                        "risk-free 0; null when "
                        "undefined.",
                        "type": ["number", "null"],
                    },
                    "sortino_ratio": {
                        "description": "Annualised, daily returns; null when undefined.",
                        "type": ["number", "null"],
                    },
                    "calmar_ratio": {
                        "description": "cagr_pct / max_drawdown; null when undefined.",
                        "type": ["number", "null"],
                    },
                    "profit_factor": {
                        "description": "Gross profit / gross loss; null when no trade lost.",
                        "type": ["number", "null"],
                    },
                    "expectancy": {
                        "description": "Mean pnl per closed trade (money); null without trades.",
                        "type": ["number", "null"],
                    },
                    "average_win": {"type": ["number", "null"]},
                    "average_loss": {"type": ["number", "null"]},
                    "largest_win": {"type": ["number", "null"]},
                    "largest_loss": {"type": ["number", "null"]},
                    "avg_trade_pct": {
                        "description": "Mean pnl_percent of closed "
                        "trades. In percent; null "
                        "when undefined.",
                        "type": ["number", "null"],
                    },
                    "sqn": {
                        "description": "System quality number; null with fewer than 2 trades.",
                        "type": ["number", "null"],
                    },
                    "exposure_pct": {
                        "description": "Share of bars with a position open. In percent.",
                        "type": "number",
                    },
                    "avg_trade_duration_bars": {"type": ["number", "null"]},
                    "avg_trade_duration_days": {"type": ["number", "null"]},
                    "max_trade_duration_bars": {"type": ["integer", "null"], "minimum": 0},
                    "total_commissions": {
                        "description": "Money, open trades' entry commissions included.",
                        "type": "number",
                    },
                    "buy_and_hold_return_pct": {
                        "description": "Last close / first "
                        "close - 1. In "
                        "percent; null when "
                        "undefined.",
                        "type": ["number", "null"],
                    },
                    "long_trades": {"type": "integer", "minimum": 0},
                    "short_trades": {"type": "integer", "minimum": 0},
                    "max_consecutive_wins": {"type": "integer", "minimum": 0},
                    "max_consecutive_losses": {"type": "integer", "minimum": 0},
                    "daily": {
                        "description": "One row per calendar day with bars.",
                        "type": "array",
                        "items": {
                            "description": "A day: its last equity, "
                            "its equity change and the "
                            "trades closed that day.",
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["date", "pnl", "trades", "equity"],
                            "properties": {
                                "date": {
                                    "type": "string",
                                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                                },
                                "pnl": {
                                    "description": "Equity "
                                    "change "
                                    "against "
                                    "the "
                                    "previous "
                                    "day "
                                    "(the "
                                    "first "
                                    "day: "
                                    "against "
                                    "initial_equity).",
                                    "type": "number",
                                },
                                "trades": {
                                    "description": "Trades closed that day.",
                                    "type": "integer",
                                    "minimum": 0,
                                },
                                "equity": {
                                    "description": "Equity at the day's last bar.",
                                    "type": "number",
                                },
                            },
                        },
                    },
                    "status": {"enum": ["completed", "out_of_money"]},
                    "stopped_reason": {
                        "description": "Why the run stopped early (out of money); null otherwise.",
                        "type": ["string", "null"],
                    },
                    "rejected_orders": {
                        "description": "Entry orders rejected (not enough equity or size 0).",
                        "type": "integer",
                        "minimum": 0,
                    },
                    "open_trade_details": {
                        "description": "Trades still open at the end.",
                        "type": "array",
                        "items": {"$ref": "#/$defs/open_trade"},
                    },
                },
                "if": {"properties": {"status": {"const": "out_of_money"}}},
                "then": {"properties": {"stopped_reason": {"type": "string"}}},
                "else": {"properties": {"stopped_reason": {"type": "null"}}},
            },
        ),
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
