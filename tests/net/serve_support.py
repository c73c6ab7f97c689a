"""Shared pieces of the ``algotui serve`` tests: a server on 127.0.0.1 and headless references."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from algotui.engine import BUILTINS, Backtest
from algotui.feed import load_source
from algotui.serve.app import create_app
from algotui.serve.engine import warm_up
from algotui.serve.manager import Settings

warm_up()  # forked session children start with the engine imported and the sample read


def make_app(tmp_path: Path, **overrides: Any):  # noqa: ANN201 - an aiohttp Application
    """The server's application with test settings: full speed, results in ``tmp_path``."""
    options: dict[str, Any] = {
        "default_speed": None,
        "results_dir": tmp_path / "results",
        "db": tmp_path / "runs.db",
        "cleanup_every": 3600.0,
    }
    options.update(overrides)
    return create_app(Settings(**options))


def headless(
    strategy: str = "sma_cross",
    params: dict[str, Any] | None = None,
    *,
    start: str | None = None,
    end: str | None = None,
    last_days: int | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """The final metrics of the same run done headless (``Backtest(...).run()``), as JSON."""
    df = load_source("sample")
    if start:
        df = df[df.index >= start]
    if end:
        df = df[df.index < end]
    if last_days:
        first = (df.index[-1] - __import__("pandas").Timedelta(days=last_days - 1)).normalize()
        df = df[df.index >= first]
    metrics = Backtest(df, BUILTINS[strategy], params, **kwargs).run()
    return json.loads(json.dumps(metrics))


async def wait_for(predicate, timeout: float = 30.0) -> None:  # noqa: ANN001
    """Poll ``predicate`` until true (bounded; fails the test after ``timeout`` s)."""
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached in time")


async def receive_until(ws, stop, limit: int = 100_000) -> list[dict[str, Any]]:  # noqa: ANN001
    """JSON messages from ``ws`` until ``stop(message)`` is true (inclusive), bounded."""
    out: list[dict[str, Any]] = []
    for _ in range(limit):
        msg = await ws.receive_json(timeout=30)
        out.append(msg)
        if stop(msg):
            return out
    raise AssertionError("no final message")
