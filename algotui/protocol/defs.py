"""The larger pieces of the protocol's schema: the definitions events share, and the metrics of
``complete`` (one entry per metric the engine computes). Part of the field table
(:mod:`algotui.protocol.fields`), kept apart so that the table reads as a list of events."""

from typing import Any

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

#: ``complete.metrics``: every metric the engine computes.
METRICS: dict[str, Any] = {
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
            "description": "winning_trades / total_trades. In percent; null when undefined.",
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
            "description": "Compound annual growth rate. In percent; null when undefined.",
            "type": ["number", "null"],
        },
        "max_drawdown": {
            "description": "Largest peak-to-trough fall of equity (positive). In percent.",
            "type": "number",
        },
        "max_drawdown_duration_bars": {"type": "integer", "minimum": 0},
        "max_drawdown_duration_days": {"type": "number"},
        "avg_drawdown": {
            "description": "Mean depth of the drawdown periods. In percent.",
            "type": "number",
        },
        "sharpe_ratio": {
            "description": "Annualised, daily returns, risk-free 0; null when undefined.",
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
            "description": "Mean pnl_percent of closed trades. In percent; null when undefined.",
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
            "description": "Last close / first close - 1. In percent; null when undefined.",
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
}
