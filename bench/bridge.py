"""Bridge fan-out benchmark: 1, 10 and 100 loopback viewers at 1,000 events/s offered.

The server (hub + aiohttp, as ``--serve`` runs it) lives in a child process and publishes
candle events at the offered rate, each stamped with ``time.monotonic()`` (one clock for both
processes on Linux). The viewers run in a few processes, parse every frame as a real viewer
would, and measure latency from publish to parse (each event counted with its frame's oldest
event's latency: an upper bound). Each case is repeated with one
extra, deliberately slow viewer (it reads a frame every 200 ms). The server's RSS is read from
/proc before and after each case. Every loop is bounded in count and time; loopback only.

    uv run python bench/bridge.py [--viewers 1,10,100] [--rate 1000] [--seconds 5]
"""

import argparse
import asyncio
import base64
import multiprocessing
import os
import socket
import statistics
import sys
import time
from typing import Any

import aiohttp
import orjson

WARMUP = 1.0
GRACE = 1.0
CASE_TIMEOUT = 60.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# -- the server process ------------------------------------------------------------------------


def serve(port_out: Any, rate: float, stop_after: float, batch_seconds: float) -> None:
    """Hub + server on a free port, publishing ``rate`` events/s for at most ``stop_after`` s."""
    from algotui.net.hub import Hub
    from algotui.net.server import BridgeServer

    async def main() -> None:
        hub = Hub(server="bench", batch_seconds=batch_seconds)
        server = BridgeServer(hub, "127.0.0.1", 0, control_token="x" * 16, max_per_address=1000)
        await server.start()
        hub.publish(
            [
                {
                    "type": "metadata",
                    "seq": 0,
                    "run_id": "bench",
                    "v": 1,
                    "symbol": "BENCH",
                    "interval": "1m",
                    "total_bars": 1000,
                    "indicators": [],
                }
            ]
        )
        port_out.put(server.port)
        seq = 1
        start = time.monotonic()
        while time.monotonic() - start < stop_after:  # bounded in time
            await asyncio.sleep(0.005)
            now = time.monotonic()
            due = int((now - start) * rate) + 1
            batch = []
            while seq < due:
                price = 100.0 + (seq % 500) * 0.01
                batch.append(
                    {
                        "type": "candle",
                        "seq": seq,
                        "run_id": "bench",
                        "timestamp": "2024-01-02T09:30:00",
                        "open": price,
                        "high": price + 0.5,
                        "low": price - 0.5,
                        "close": price + 0.1,
                        "volume": 1000.0,
                        "bar_number": seq,
                        "progress": 1.0,
                        "indicators": {"SMA(20)": price},
                        "t": now,
                        "due": start + seq / rate,
                    }
                )
                seq += 1
            hub.publish(batch)
        await server.stop()

    asyncio.run(main())


# -- the viewers -------------------------------------------------------------------------------


class Meter:
    """What one viewer saw inside the measuring window."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.events = 0
        self.resyncs = 0


def _number_after(text: str, key: str) -> float:
    i = text.index(key) + len(key)
    j = i
    while text[j] not in ",}":
        j += 1
    return float(text[i:j])


async def viewer(
    url: str, meter: Meter, window: list[float], stop: asyncio.Event, parse: bool = True
) -> None:
    """A viewer that parses every frame (``parse``), or only reads the oldest event's stamps
    from the text (what the server's side alone costs: as if each viewer had its own
    machine). Each event of a frame is given the latency of the frame's oldest event (an
    upper bound; per-event bookkeeping would cost more here than the server's fan-out)."""
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, max_msg_size=0) as ws:
            while not stop.is_set():
                try:
                    msg = await ws.receive(timeout=1.0)
                except TimeoutError:
                    continue
                if msg.type != aiohttp.WSMsgType.TEXT:
                    return
                text = msg.data
                now = time.monotonic()
                if not text.startswith("["):
                    if '"type":"resync"' in text:
                        meter.resyncs += 1
                    continue
                if parse:
                    frame = orjson.loads(text)
                    t, due, count = frame[0]["t"], frame[0].get("due"), len(frame)
                else:
                    t, due = _number_after(text, '"t":'), _number_after(text, '"due":')
                    count = text.count('{"type"')
                if due is not None and window[0] <= due <= window[1]:
                    meter.events += count
                    meter.latencies.extend([now - t] * count)


async def slow_viewer(port: int, stop: asyncio.Event) -> int:
    """A deliberately slow viewer: a tiny receive buffer, 4 KB read every 100 ms. Returns the
    bytes it read."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    read = 0
    try:
        while not stop.is_set():
            await asyncio.sleep(0.1)
            try:
                read += len(sock.recv(4096))
            except BlockingIOError:
                pass
    finally:
        sock.close()
    return read


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def viewers(
    port: int, n: int, window: tuple[float, float], slow: bool, parse: bool
) -> tuple[list[int], list[float], dict[str, Any] | None]:
    """``n`` viewers (and the slow one) until the window's events are in; their counts and
    latencies, and the server's status when ``slow`` (the process that ran it asks)."""
    url = f"ws://127.0.0.1:{port}/ws"
    meters = [Meter() for _ in range(n)]
    stop = asyncio.Event()
    tasks = [asyncio.create_task(viewer(url, m, list(window), stop, parse)) for m in meters]
    if slow:
        tasks.append(asyncio.create_task(slow_viewer(port, stop)))
    # bounded: the window, then a grace for the window's events still on their way; the
    # process with the slow viewer samples the server's queued bytes twice a second
    status = None
    max_queued = 0
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < window[1] + GRACE:
            await asyncio.sleep(0.5)
            if slow:
                async with session.get(f"http://127.0.0.1:{port}/status") as r:
                    status = next(iter((await r.json())["streams"].values()))
                max_queued = max(max_queued, status["queued_bytes"])
    if status is not None:
        status["max_queued_bytes"] = max_queued
    stop.set()
    await asyncio.wait(tasks, timeout=10)
    for t in tasks:
        t.cancel()
    return [m.events for m in meters], [x for m in meters for x in m.latencies], status


def viewers_process(args: tuple) -> tuple[list[int], list[float], dict[str, Any] | None]:
    """One process's share of the viewers (viewers parse every frame: spread over processes
    so that the viewers' side is not what is measured)."""
    return asyncio.run(asyncio.wait_for(viewers(*args), CASE_TIMEOUT))


def case(
    pool: Any, port: int, n: int, seconds: float, slow: bool, procs: int, parse: bool
) -> dict[str, Any]:
    now = time.monotonic()
    # Joining costs each viewer a snapshot of the run so far (a few MB after a minute at this
    # rate): the window opens once they are in, to measure the steady stream.
    warmup = WARMUP + 0.04 * n
    window = (now + warmup, now + warmup + seconds)
    procs = max(1, min(procs, n))
    shares = [n // procs + (1 if i < n % procs else 0) for i in range(procs)]
    jobs = [(port, k, window, slow and i == 0, parse) for i, k in enumerate(shares)]
    results = pool.map(viewers_process, jobs)
    counts = [c for r in results for c in r[0]]
    lat = [x for r in results for x in r[1]]
    status = results[0][2] or {}
    return {
        "viewers": n,
        "slow": slow,
        "events_per_viewer": statistics.mean(counts) / seconds,
        "p50_ms": percentile(lat, 0.50) * 1000,
        "p99_ms": percentile(lat, 0.99) * 1000,
        "drops": status.get("drops", 0),
        "max_queued_mb": status.get("max_queued_bytes", 0) / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", default="1,10,100")
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--stamps-only",
        action="store_true",
        help="viewers read only each frame's stamps instead of parsing it (the server's cost)",
    )
    parser.add_argument("--procs", type=int, default=4, help="processes the viewers run in")
    parser.add_argument("--batch-ms", type=float, default=20.0, help="the hub's batch window")
    args = parser.parse_args()
    counts = [int(x) for x in args.viewers.split(",")]
    cases = [(n, slow) for n in counts for slow in (False, True)]
    budget = sum(WARMUP + 0.04 * n + GRACE + args.seconds + 12 for n, _ in cases) + 10
    ctx = multiprocessing.get_context("fork")
    port_q = ctx.Queue()
    proc = ctx.Process(
        target=serve, args=(port_q, args.rate, budget, args.batch_ms / 1000), daemon=True
    )
    proc.start()
    port = port_q.get(timeout=30)
    print(
        f"server pid {proc.pid}, port {port}, {args.rate:,.0f} events/s offered, "
        f"{args.seconds:g} s measured per case, {os.cpu_count()} cores",
        file=sys.stderr,
    )
    rows = []
    pool = ctx.Pool(args.procs)
    workers = [w.pid for w in pool._pool]  # noqa: SLF001 - to read their CPU time

    def viewers_cpu() -> float:
        return sum(cpu_seconds(pid) for pid in workers)

    try:
        # A first short case, not reported: the first viewers of a fresh server measured
        # nothing in their window (the server's first joins, not its fan-out, were timed).
        case(pool, port, 1, 1.0, False, 1, not args.stamps_only)
        for n, slow in cases:
            before = rss_mb(proc.pid)
            cpu_server, cpu_viewers = cpu_seconds(proc.pid), viewers_cpu()
            result = case(pool, port, n, args.seconds, slow, args.procs, not args.stamps_only)
            span = WARMUP + 0.04 * n + GRACE + args.seconds
            result["server_cpu"] = (cpu_seconds(proc.pid) - cpu_server) / span * 100
            result["viewers_cpu"] = (viewers_cpu() - cpu_viewers) / span * 100
            result["rss_before"] = before
            result["rss_after"] = rss_mb(proc.pid)
            rows.append(result)
            print(result, file=sys.stderr)
    finally:
        pool.terminate()
        proc.terminate()
        proc.join(5)
    print(
        "| viewers | slow viewer | events/s per viewer | p50 ms | p99 ms | slow viewer drops "
        "| max queued MB | server RSS MB (before -> after) | server CPU % | viewers' CPU % |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['viewers']} | {'yes' if r['slow'] else 'no'} | {r['events_per_viewer']:,.0f} "
            f"| {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['drops'] if r['slow'] else '-'} "
            f"| {r['max_queued_mb']:.2f} "
            f"| {r['rss_before']:.0f} -> {r['rss_after']:.0f} | {r['server_cpu']:.0f} "
            f"| {r['viewers_cpu']:.0f} |"
        )
    for n in counts:
        base = next(r for r in rows if r["viewers"] == n and not r["slow"])
        with_slow = next(r for r in rows if r["viewers"] == n and r["slow"])
        change = (with_slow["p99_ms"] - base["p99_ms"]) / base["p99_ms"] * 100
        print(f"{n} viewers: the slow viewer changes the others' p99 by {change:+.1f}%")


if __name__ == "__main__":
    main()
