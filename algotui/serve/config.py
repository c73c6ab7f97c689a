"""A session's configuration: every field a client may send, validated, in one canonical shape.

Each protocol the server speaks names the same things differently (``initial_balance``,
``initialCapital`` and ``initial_capital`` are all the starting cash). A protocol is a
:class:`FieldMap` from its own names to the canonical ones of :class:`RunConfig`; one
:func:`parse_config` validates any of them, so every protocol refuses the same bad input with
the same message. A :class:`ConfigError` names the field the client sent.

Strategy code never comes from the network: a ``strategy_code`` field is refused, and a
strategy is a built-in name or a ``.py`` file inside the server's ``--strategies-dir``.

One piece on purpose: the field maps of every protocol and the one validation they share sit
together, so that a field's names and its check are read side by side.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from algotui.engine.backtest import FILL_MODES
from algotui.engine.builtin import BUILTINS
from algotui.errors import UserError
from algotui.feed.yahoo_request import INTERVALS, PERIODS, looks_like_ticker

SAMPLE = "sample"
#: Bars per second a client may ask for (as the CLI's --speed).
SPEED_LIMIT = 50_000.0
MAX_CASH = 1e12
_FRAME = re.compile(r"^\d{1,4}(m|h|d|wk|mo)$")
_NAME = re.compile(r"^[\w .:/+-]{1,120}$")
_CODE_REFUSED = (
    "strategy_code is refused: this server never runs code sent over the network; "
    "name a built-in strategy or a file in the server's --strategies-dir with 'strategy'"
)


class ConfigError(UserError):
    """A bad field in a client's request; ``field`` is the name the client used."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


@dataclass
class RunConfig:
    """What one backtest runs: data, strategy, account and pace (all validated)."""

    symbol: str = SAMPLE
    strategy: str = "sma_cross"
    params: dict[str, Any] = field(default_factory=dict)
    cash: float = 10_000.0
    commission: float = 0.0
    commission_fixed: float = 0.0
    slippage: float = 0.0
    fill: str = "next-open"
    close_at_end: bool = False
    emit_every: int | None = None
    period: str | None = None
    interval: str = "1d"
    start: str | None = None
    end: str | None = None
    speed: float | None = 20.0  # bars per second; None is as fast as possible
    name: str = ""
    #: Fields a dashboard sent that this engine has no use for (kept to say so).
    ignored: dict[str, Any] = field(default_factory=dict)
    #: The resolved strategy: a built-in name, or an absolute path (with ``:Class``).
    strategy_spec: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready canonical fields."""
        out = asdict(self)
        out.pop("strategy_spec")
        return out


@dataclass(frozen=True)
class FieldMap:
    """One protocol's field names: ``aliases`` map to canonical names; ``passthrough`` are
    fields the protocol documents that only a strategy declaring a parameter of that name uses;
    ``informational`` are accepted, type-checked and otherwise unused."""

    name: str
    aliases: dict[str, str] = field(default_factory=dict)
    passthrough: dict[str, type | tuple[type, ...]] = field(default_factory=dict)
    informational: dict[str, type | tuple[type, ...]] = field(default_factory=dict)


CANONICAL = tuple(
    f for f in RunConfig.__dataclass_fields__ if f not in ("ignored", "strategy_spec")
)

API = FieldMap("api")


@dataclass
class Catalog:
    """The strategies a client may name: the built-ins, then the files of ``--strategies-dir``."""

    directory: Path | None = None

    def entries(self) -> list[dict[str, Any]]:
        """Every strategy with a 1-based ``id`` (what a dashboard's ``strategy_id`` means)."""
        out: list[dict[str, Any]] = []
        for name, cls in BUILTINS.items():
            out.append({"name": name, "builtin": True, "parameters": cls.parameters()})
        if self.directory is not None:
            root = self.directory.resolve()
            for path in sorted(root.rglob("*.py")):
                rel = path.relative_to(root)
                if any(part.startswith((".", "_")) for part in rel.parts):
                    continue
                if self._inside(path):
                    out.append({"name": rel.as_posix(), "builtin": False, "parameters": None})
        for i, entry in enumerate(out, 1):
            entry["id"] = i
        return out

    def _inside(self, path: Path) -> bool:
        assert self.directory is not None
        try:
            return path.resolve(strict=True).is_relative_to(self.directory.resolve())
        except OSError:
            return False

    def resolve(self, spec: str, field_name: str) -> str:
        """The strategy to load for ``spec``: a built-in name, or the absolute path of a file
        inside the strategies directory (``:Class`` kept). Anything else is refused."""
        if spec in BUILTINS:
            return spec
        path_text, colon, class_name = spec.partition(":")
        names = ", ".join(BUILTINS)
        if not path_text.endswith(".py"):
            raise ConfigError(field_name, f"unknown strategy {spec!r}: use one of {names}")
        if self.directory is None:
            raise ConfigError(
                field_name,
                f"{spec!r}: strategy files are not served (start the server with "
                f"--strategies-dir DIR), use one of {names}",
            )
        if class_name and not class_name.isidentifier():
            raise ConfigError(field_name, f"{class_name!r} is not a class name")
        rel = Path(path_text)
        if rel.is_absolute() or ".." in rel.parts or "\\" in path_text:
            raise ConfigError(field_name, f"{spec!r}: give a file name inside --strategies-dir")
        root = self.directory.resolve()
        try:
            # strict: the file must exist; resolve() follows every symlink, so a link that
            # points outside the directory resolves outside it and is refused below
            real = (root / rel).resolve(strict=True)
        except (OSError, RuntimeError):
            raise ConfigError(
                field_name, f"no strategy file {path_text!r} in --strategies-dir"
            ) from None
        if not real.is_relative_to(root) or not real.is_file() or real.suffix != ".py":
            raise ConfigError(field_name, f"{spec!r} is not a file inside --strategies-dir")
        return f"{real}{colon}{class_name}"

    def by_id(self, value: Any, field_name: str) -> str:
        """A dashboard's ``strategy_id``: a catalog number, or a strategy name."""
        if isinstance(value, str):
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(
                field_name, "give a strategy name or a number from GET /api/strategies"
            )
        entries = self.entries()
        if not 1 <= value <= len(entries):
            raise ConfigError(
                field_name,
                f"no strategy {value}: this server has strategies 1..{len(entries)} "
                "(see GET /api/strategies)",
            )
        return entries[value - 1]["name"]


def parse_config(
    body: Any, fields: FieldMap, catalog: Catalog, *, default_speed: float | None = 20.0
) -> RunConfig:
    """Validate a client's config object (in the protocol's own field names)."""
    if not isinstance(body, dict):
        raise ConfigError("config", "send a JSON object")
    if "strategy_code" in body:
        raise ConfigError("strategy_code", _CODE_REFUSED)
    canon: dict[str, tuple[str, Any]] = {}  # canonical name -> (name the client used, value)
    ignored: dict[str, Any] = {}
    extra_params: dict[str, tuple[str, Any]] = {}
    for key, value in body.items():
        if not isinstance(key, str):
            raise ConfigError("config", "field names must be strings")
        target = fields.aliases.get(key, key if key in CANONICAL else None)
        if target is not None:
            if target in canon:
                raise ConfigError(key, f"given twice (also as {canon[target][0]!r})")
            canon[target] = (key, value)
        elif key in fields.passthrough:
            _check_type(key, value, fields.passthrough[key])
            extra_params[key] = (key, value)
        elif key in fields.informational:
            _check_type(key, value, fields.informational[key])
            ignored[key] = value
        else:
            known = sorted(
                {*CANONICAL, *fields.aliases, *fields.passthrough, *fields.informational}
            )
            raise ConfigError(key, f"unknown field (known fields: {', '.join(known)})")
    cfg = RunConfig(speed=default_speed)
    for target, (key, value) in canon.items():
        setattr(cfg, target, _CHECKS[target](key, value, catalog))
    _check_data(cfg, canon)
    strategy_key = canon.get("strategy", ("strategy", None))[0]
    cfg.strategy_spec = catalog.resolve(cfg.strategy, strategy_key)
    cls = BUILTINS.get(cfg.strategy_spec)
    params_key = canon.get("params", ("params", None))[0]
    if cls is not None:
        declared = cls.parameters()
        for key, (name, value) in extra_params.items():
            if key in declared and key not in cfg.params:
                cfg.params[key] = value
            else:
                ignored[name] = value
        try:
            cfg.params = cls.resolve_params(cfg.params)
        except UserError as exc:
            raise ConfigError(params_key, str(exc)) from None
    else:  # a file: its parameters are known once the run's child imports it
        for _, (name, value) in extra_params.items():
            ignored[name] = value
    cfg.ignored = ignored
    return cfg


def _check_type(key: str, value: Any, kind: type | tuple[type, ...]) -> None:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool) and bool not in kinds:
        raise ConfigError(key, f"expected {_kind_names(kinds)}, got {value!r}")
    if float in kinds and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ConfigError(key, "give a finite number")
        return
    if not isinstance(value, kinds):
        raise ConfigError(key, f"expected {_kind_names(kinds)}, got {type(value).__name__}")
    if isinstance(value, str) and len(value) > 200:
        raise ConfigError(key, "longer than 200 characters")
    if isinstance(value, list | dict) and len(value) > 100:
        raise ConfigError(key, "more than 100 items")


def _kind_names(kinds: tuple[type, ...]) -> str:
    names = {bool: "true/false", float: "a number", int: "an integer", str: "text"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _number(key: str, value: Any, low: float, high: float, *, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(key, f"give a number, not {value!r}")
    number = float(value)
    if not math.isfinite(number) or number > high or number < low or (low_open and number <= low):
        lo = f"more than {low:g}" if low_open else f"at least {low:g}"
        raise ConfigError(key, f"{value!r} is out of range: give {lo} and below {high:g}")
    return number


def _text(key: str, value: Any, limit: int = 120) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(key, "give a non-empty string")
    if len(value) > limit:
        raise ConfigError(key, f"longer than {limit} characters")
    return value.strip()


def _symbol(key: str, value: Any, _: Catalog) -> str:
    text = _text(key, value, 40)
    if text.lower() == SAMPLE:
        return SAMPLE
    if not looks_like_ticker(text):
        raise ConfigError(
            key,
            f"unknown symbol {text!r}: use 'sample' (the bundled data) or a Yahoo ticker "
            "like AAPL, BTC-USD, EURUSD=X",
        )
    return text.upper()


def _strategy(key: str, value: Any, catalog: Catalog) -> str:
    if key == "strategy_id" or key == "strategy_ids":
        if key == "strategy_ids":
            if not isinstance(value, list) or len(value) != 1:
                raise ConfigError(key, "give a list of exactly one strategy (one per backtest)")
            value = value[0]
        value = catalog.by_id(value, key)
    return _text(key, value, 200)


def _params(key: str, value: Any, _: Catalog) -> dict[str, Any]:
    if not isinstance(value, dict) or len(value) > 50:
        raise ConfigError(key, "give an object of parameter names and values (at most 50)")
    for name, item in value.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigError(f"{key}.{name}", "a parameter name must be an identifier")
        if item is not None and not isinstance(item, bool | int | float | str):
            raise ConfigError(f"{key}.{name}", "give a number, true/false or a string")
        if isinstance(item, float) and not math.isfinite(item):
            raise ConfigError(f"{key}.{name}", "give a finite number")
        if isinstance(item, str) and len(item) > 200:
            raise ConfigError(f"{key}.{name}", "longer than 200 characters")
    return dict(value)


def _fill(key: str, value: Any, _: Catalog) -> str:
    if value not in FILL_MODES:
        raise ConfigError(key, f"{value!r}: use {' or '.join(FILL_MODES)}")
    return value


def _bool(key: str, value: Any, _: Catalog) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(key, f"give true or false, not {value!r}")
    return value


def _emit_every(key: str, value: Any, _: Catalog) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise ConfigError(key, f"{value!r}: give a whole number of bars from 1 to 1,000,000")
    return value


def _period(key: str, value: Any, _: Catalog) -> str | None:
    if value is None:
        return None
    if value not in PERIODS:
        raise ConfigError(key, f"bad period {value!r}: use one of {', '.join(PERIODS)}")
    return value


def _interval(key: str, value: Any, _: Catalog) -> str:
    if key == "timeframes":  # seed 004 lists several; the engine runs the finest of them
        if not isinstance(value, list) or not value or len(value) > 10:
            raise ConfigError(key, 'give a list of one to ten intervals, e.g. ["1d"]')
        ranked = []
        for item in value:
            text = item.lower() if isinstance(item, str) else ""
            if not _FRAME.match(text):
                raise ConfigError(key, f"bad timeframe {item!r}: write it like 15m, 1h, 1d")
            ranked.append(text)
        # several timeframes (a multi-timeframe dashboard): the run uses the finest
        return _one_interval(key, min(ranked, key=_interval_rank))
    return _one_interval(key, value)


def _one_interval(key: str, value: Any) -> str:
    if value not in INTERVALS:
        raise ConfigError(key, f"bad interval {value!r}: use one of {', '.join(INTERVALS)}")
    return value


def _interval_rank(interval: str) -> float:
    unit = {"m": 1, "h": 60, "d": 1440, "wk": 10080, "mo": 43200}
    number = re.match(r"\d+", interval)
    assert number is not None
    return int(number.group()) * unit[interval[number.end() :]]


def _date(key: str, value: Any, _: Catalog) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 40:
        raise ConfigError(key, "give a date as YYYY-MM-DD")
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        raise ConfigError(key, f"bad date {value!r}: give YYYY-MM-DD") from None


def _speed(key: str, value: Any, _: Catalog) -> float | None:
    if value is None or (isinstance(value, str) and value.lower() == "max"):
        return None
    return _number(key, value, 0.1, SPEED_LIMIT)


def _name(key: str, value: Any, _: Catalog) -> str:
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = _text(key, value, 120)
    if not _NAME.match(text):
        raise ConfigError(key, "use letters, digits, spaces and . : / + - _ only")
    return text


_CHECKS = {
    "symbol": _symbol,
    "strategy": _strategy,
    "params": _params,
    "cash": lambda k, v, _: _number(k, v, 0, MAX_CASH, low_open=True),
    "commission": lambda k, v, _: _number(k, v, 0, 0.999999),
    "commission_fixed": lambda k, v, _: _number(k, v, 0, 1e9),
    "slippage": lambda k, v, _: _number(k, v, 0, 0.999999),
    "fill": _fill,
    "close_at_end": _bool,
    "emit_every": _emit_every,
    "period": _period,
    "interval": _interval,
    "start": _date,
    "end": _date,
    "speed": _speed,
    "name": _name,
}


def _check_data(cfg: RunConfig, given: dict[str, tuple[str, Any]]) -> None:
    """Checks across fields: what the sample can serve, and the ticker request Yahoo would get."""

    def key(name: str) -> str:
        return given.get(name, (name, None))[0]

    if cfg.period is not None and (cfg.start is not None or cfg.end is not None):
        raise ConfigError(key("period"), "give either a period or start/end dates, not both")
    if cfg.start and cfg.end and cfg.start >= cfg.end:
        raise ConfigError(key("end"), f"{cfg.end} is not after the start {cfg.start}")
    if cfg.end and not cfg.start:
        raise ConfigError(key("end"), "give a start date with the end date")
    if cfg.symbol == SAMPLE:
        if cfg.interval != "1d":
            raise ConfigError(
                key("interval"),
                f"{cfg.interval!r}: the sample has daily bars only (use 1d, or a ticker)",
            )
        return
    from algotui.feed.yahoo_request import validate_request

    try:
        validate_request(cfg.symbol, cfg.period, cfg.interval, cfg.start, cfg.end)
    except UserError as exc:
        message = str(exc)
        for name in ("interval", "period", "end", "start"):
            if name in message:
                raise ConfigError(key(name), message) from None
        raise ConfigError(key("symbol"), message) from None
