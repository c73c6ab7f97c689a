"""Server benchmark: concurrent sessions with a viewer each, against the same runs headless.

What it measures:

1. ``served``: ``algotui serve`` started as a user starts it (its own process, on 127.0.0.1, any
   free port, ``--speed max``). N sessions (20 by default) of ``sma_cross`` on the bundled
   sample are created, a viewer joins each on ``/api/ws/sessions/{id}`` (every protocol v1 event
   as its own frame, parsed by the viewer; then again with ``?batch=1``, a JSON array of events
   per frame), then all are started at once. Timed from the first
   start to the last viewer's ``complete``: sessions completed per second, and events per
   second that reached viewers. The server's peak memory is its ``VmHWM`` (from
   ``/proc/<pid>/status``, read before it stops); each session's engine runs in a child whose
   memory is its own and is not included.
2. ``headless``: the same N runs one after another in one process (``Backtest(...).run()``, the
   engine draining its stream into nothing), after one warm-up run: sessions per second.

Every viewer must see a gapless stream ending in ``complete`` with the headless metrics; the
script prints MATCH or MISMATCH and exits 1 on a mismatch. Every wait is bounded (``--timeout``).

Run it from the project root::

    uv run python bench/serve.py                # 20 sessions, best of 3 rounds
    uv run python bench/serve.py --sessions 5 --rounds 1
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import time
from typing import Any

import aiohttp


def headless(n: int) -> tuple[float, dict[str, Any]]:
    """Seconds for ``n`` runs one after another, and the metrics of the last."""
    from algotui.engine import BUILTINS, Backtest
    from algotui.feed import load_source

    df = load_source("sample")
    Backtest(df, BUILTINS["sma_cross"]).run()  # warm-up: imports, caches
    t0 = time.perf_counter()
    metrics: dict[str, Any] = {}
    for _ in range(n):
        metrics = Backtest(df, BUILTINS["sma_cross"]).run()
    return time.perf_counter() - t0, json.loads(json.dumps(metrics))


def start_server(n: int) -> tuple[subprocess.Popen, str]:
    """``algotui serve`` on a free loopback port; its process and base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "algotui",
            "serve",
            "--port",
            "0",
            "--speed",
            "max",
            "--max-per-client",
            str(n),
            "--max-sessions",
            str(max(64, n)),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r}")
    return proc, f"127.0.0.1:{match.group(1)}"


def peak_kib(pid: int) -> int:
    """A process's peak resident memory (VmHWM), KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def view(ws: aiohttp.ClientWebSocketResponse) -> tuple[list[int], dict[str, Any] | None]:
    """Read a session's frames (single events or arrays of them) to its end: the seqs seen
    and the final metrics."""
    seqs: list[int] = []
    metrics = None
    async for msg in ws:
        frame = json.loads(msg.data)
        for event in frame if isinstance(frame, list) else [frame]:
            if event["type"] in ("connected", "resync"):
                continue
            seqs.append(event["seq"])
            if event["type"] == "complete":
                metrics = event["metrics"]
            if event["type"] in ("complete", "error"):
                return seqs, metrics
    return seqs, metrics


async def served_round(
    base: str, n: int, timeout: float, batch: bool = False
) -> tuple[float, int, list]:
    """One round: seconds from the first start to the last complete, events seen, results."""
    async with aiohttp.ClientSession() as http:
        ids = []
        for _ in range(n):
            async with http.post(f"http://{base}/api/sessions", json={}) as r:
                ids.append((await r.json())["id"])
        sockets = [
            await http.ws_connect(
                f"ws://{base}/api/ws/sessions/{i}{'?batch=1' if batch else ''}", max_msg_size=0
            )
            for i in ids
        ]
        for ws in sockets:
            await ws.receive(timeout=timeout)  # the connected frame
        viewers = [asyncio.ensure_future(view(ws)) for ws in sockets]
        t0 = time.perf_counter()
        for i in ids:
            async with http.post(f"http://{base}/api/sessions/{i}/start") as r:
                assert r.status == 200
        results = await asyncio.wait_for(asyncio.gather(*viewers), timeout)
        elapsed = time.perf_counter() - t0
        for ws in sockets:
            await ws.close()
        for i in ids:
            async with http.delete(f"http://{base}/api/sessions/{i}"):
                pass
    return elapsed, sum(len(seqs) for seqs, _ in results), results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    n = args.sessions

    h_time, expected = headless(n)
    proc, base = start_server(n)
    best: dict[bool, float] = {}
    events = 0
    ok = True
    try:
        for _ in range(args.rounds):
            for batch in (False, True):
                elapsed, events, results = asyncio.run(served_round(base, n, args.timeout, batch))
                best[batch] = min(best.get(batch, elapsed), elapsed)
                for seqs, metrics in results:
                    ok &= seqs == list(range(len(seqs))) and metrics == expected
        peak = peak_kib(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    print(
        f"sessions                    {n} x sma_cross on the sample ({expected['bars']} bars, "
        f"{events // n:,} events each)"
    )
    for batch, label in ((False, "an event per frame"), (True, "?batch=1 (arrays)")):
        t = best[batch]
        print(
            f"served, {label:<20}{n / t:8.2f} sessions/s  ({t:.3f} s, best of "
            f"{args.rounds}; {events / t:,.0f} events/s to viewers; x{h_time / t:.2f} headless)"
        )
    print(f"headless, one after another {n / h_time:8.2f} sessions/s  ({h_time:.3f} s)")
    print(f"server peak memory          {peak / 1024:8.1f} MB (VmHWM; engines run in children)")
    print(f"cores                       {os.cpu_count()}")
    print("MATCH" if ok else "MISMATCH: a viewer's stream or metrics differ from headless")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
