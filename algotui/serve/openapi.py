"""The OpenAPI 3.1 description of the server's HTTP routes, served at ``GET /api/openapi.json``.

The sockets are described in ``docs/serve.md`` (OpenAPI has no words for them).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from algotui import __version__
from algotui.feed.yahoo_request import INTERVALS, PERIODS

_NUMBER = {"type": "number"}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}", "maxLength": 40}
_SPEED = {
    "oneOf": [
        {"type": "number", "minimum": 0.1, "maximum": 50000},
        {"type": "string", "enum": ["max"]},
    ]
}


def _config_schema(extra: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = {
        "symbol": {"type": "string", "description": "'sample' or a Yahoo ticker", "maxLength": 40},
        "strategy": {
            "type": "string",
            "description": "a built-in name or a file in --strategies-dir (FILE.py[:Class])",
            "maxLength": 200,
        },
        "params": {
            "type": "object",
            "maxProperties": 50,
            "additionalProperties": {"type": ["number", "string", "boolean", "null"]},
        },
        "cash": {"type": "number", "exclusiveMinimum": 0, "maximum": 1e12},
        "commission": {"type": "number", "minimum": 0, "maximum": 0.999999},
        "commission_fixed": {"type": "number", "minimum": 0, "maximum": 1e9},
        "slippage": {"type": "number", "minimum": 0, "maximum": 0.999999},
        "fill": {"type": "string", "enum": ["next-open", "close"]},
        "close_at_end": {"type": "boolean"},
        "emit_every": {"type": ["integer", "null"], "minimum": 1, "maximum": 1_000_000},
        "period": {"type": ["string", "null"], "enum": [*PERIODS, None]},
        "interval": {"type": "string", "enum": list(INTERVALS)},
        "start": _DATE,
        "end": _DATE,
        "speed": _SPEED,
        "name": {"type": "string", "maxLength": 120},
    }
    props.update(extra)
    return {"type": "object", "additionalProperties": False, "properties": props}


_SESSION = {
    "type": "object",
    "required": ["id", "status", "kind", "bars", "total_bars", "progress"],
    "properties": {
        "id": {"type": "string"},
        "kind": {"type": "string", "enum": ["session", "stream"]},
        "protocol": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["created", "running", "paused", "completed", "failed", "stopped"],
        },
        "bars": {"type": "integer"},
        "total_bars": {"type": "integer"},
        "progress": {"type": "number"},
        "speed": {"type": ["number", "null"]},
        "paused": {"type": "boolean"},
    },
}
_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ERROR, "bad field (named in 'field')"),
    "404": _json(_ERROR, "no such session"),
    "409": _json(_ERROR, "the command does not apply in the session's state"),
}


def _command(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": [_ID],
        "responses": {"200": _json(_SESSION), **_ERRORS},
    }
    if body is not None:
        op["requestBody"] = _body(body, required=False)
    return {"post": op}


def document() -> dict[str, Any]:
    """The OpenAPI document."""
    create_body = _config_schema({"autostart": {"type": "boolean"}})
    seed003 = _config_schema(
        {
            "startDate": _DATE,
            "endDate": _DATE,
            "initialCapital": {"type": "number"},
            "positionSizePercent": _NUMBER,
            "maxOpenTrades": {"type": "integer"},
            "useStopOrders": {"type": "boolean"},
            "useTakeProfits": {"type": "boolean"},
            "emitInterval": {"type": "integer", "minimum": 1, "maximum": 100000},
        }
    )
    seed004 = _config_schema(
        {
            "timeframes": {
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "maxItems": 10,
            },
            "start_date": _DATE,
            "end_date": _DATE,
            "initial_capital": {"type": "number"},
            "strategy_ids": {
                "type": "array",
                "items": {"type": ["string", "integer"]},
                "minItems": 1,
                "maxItems": 1,
            },
            "risk_per_trade": _NUMBER,
            "progress_interval": {"type": "integer", "minimum": 1, "maximum": 100000},
        }
    )
    seed_ok = {"type": "object", "required": ["success", "sessionId", "status"]}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "algotui serve",
            "version": __version__,
            "description": "Backtest sessions over HTTP; see docs/serve.md for the sockets.",
        },
        "paths": {
            "/api/sessions": {
                "post": {
                    "summary": "Create a session from a config (autostart: true starts it)",
                    "requestBody": _body(create_body, required=False),
                    "responses": {
                        "201": _json(_SESSION, "created"),
                        "400": _ERRORS["400"],
                        "429": _json(_ERROR, "too many sessions"),
                    },
                },
                "get": {
                    "summary": "List sessions",
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["sessions"],
                                "properties": {"sessions": {"type": "array", "items": _SESSION}},
                            }
                        )
                    },
                },
            },
            "/api/sessions/{id}": {
                "get": {
                    "summary": "A session: status, progress, stats, open trades, recent "
                    "signals, metrics",
                    "parameters": [_ID],
                    "responses": {"200": _json(_SESSION), "404": _ERRORS["404"]},
                },
                "delete": {
                    "summary": "Stop and forget a session",
                    "parameters": [_ID],
                    "responses": {"200": _json({"type": "object"}), "404": _ERRORS["404"]},
                },
            },
            "/api/sessions/{id}/start": _command("Start"),
            "/api/sessions/{id}/pause": _command("Pause"),
            "/api/sessions/{id}/resume": _command("Resume"),
            "/api/sessions/{id}/stop": _command("Stop (stored as stopped)"),
            "/api/sessions/{id}/finish": _command("Run to the end at full speed"),
            "/api/sessions/{id}/step": _command(
                "Step bars (pauses)",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"bars": {"type": "integer", "minimum": 1, "maximum": 1000000}},
                },
            ),
            "/api/sessions/{id}/seek": _command(
                "Show the run as of a bar (pauses)",
                {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["bar"],
                    "properties": {"bar": {"type": "integer", "minimum": 0, "maximum": 10000000}},
                },
            ),
            "/api/sessions/{id}/speed": {
                "patch": {
                    "summary": "Set the pace (bars per second, or max)",
                    "parameters": [_ID],
                    "requestBody": _body(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["speed"],
                            "properties": {"speed": _SPEED},
                        }
                    ),
                    "responses": {"200": _json(_SESSION), **_ERRORS},
                }
            },
            "/api/strategies": {
                "get": {
                    "summary": "Strategies a config may name",
                    "responses": {"200": _json({"type": "object"})},
                }
            },
            "/api/status": {
                "get": {
                    "summary": "Active sessions and viewers per stream",
                    "responses": {"200": _json({"type": "object", "required": ["sessions"]})},
                }
            },
            "/api/backtest/create": {
                "post": {
                    "summary": "Seed 003: create a session",
                    "requestBody": _body(seed003, False),
                    "responses": {
                        "200": _json({"type": "object", "required": ["sessionId"]}),
                        "400": _ERRORS["400"],
                        "429": _json(_ERROR),
                    },
                }
            },
            "/api/backtest": {
                "get": {
                    "summary": "Seed 003: list sessions",
                    "responses": {"200": _json({"type": "array"})},
                }
            },
            "/api/backtest/{id}": {
                "get": {
                    "summary": "Seed 003: a session's state",
                    "parameters": [_ID],
                    "responses": {"200": _json({"type": "object"}), "404": _ERRORS["404"]},
                },
                "delete": {
                    "summary": "Seed 003: delete",
                    "parameters": [_ID],
                    "responses": {"200": _json(seed_ok), "404": _ERRORS["404"]},
                },
            },
            **{
                f"/api/backtest/{{id}}/{action}": {
                    "post": {
                        "summary": f"Seed 003: {action}",
                        "parameters": [_ID],
                        "responses": {
                            "200": _json(seed_ok),
                            "404": _ERRORS["404"],
                            "409": _ERRORS["409"],
                        },
                    }
                }
                for action in ("start", "pause", "resume", "stop")
            },
            "/api/backtesting/start": {
                "post": {
                    "summary": "Seed 004: start a backtest",
                    "requestBody": _body(seed004, False),
                    "responses": {
                        "200": _json({"type": "object", "required": ["backtest_id", "stream_url"]}),
                        "400": _ERRORS["400"],
                        "429": _json(_ERROR),
                    },
                }
            },
            "/api/ws/stream/status": {
                "get": {
                    "summary": "Seed 004: viewers per stream",
                    "responses": {
                        "200": _json(
                            {"type": "object", "required": ["active_connections", "streams"]}
                        )
                    },
                }
            },
        },
    }


async def serve(_: web.Request) -> web.Response:
    return web.json_response(document())


def add_routes(app: web.Application) -> None:
    """``GET /api/openapi.json``."""
    app.router.add_get("/api/openapi.json", serve)
