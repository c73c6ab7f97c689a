"""`algotui view` in tmux against a real `algotui run --serve` (loopback, a free port), and the
command line's one-line refusals."""

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from algotui.errors import UserError
from algotui.net.client import probe
from tests.e2e.test_e2e import Tmux

EXE = os.path.join(os.path.dirname(sys.executable), "algotui")
TOKEN = "e2e-control-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``algotui run --serve`` headless in the background; stopped with Ctrl-C (SIGINT)."""

    def __init__(self, port: int, *args: str) -> None:
        self.proc = subprocess.Popen(
            [EXE, "run", "--headless", "--serve", f"127.0.0.1:{port}", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.banner = self.proc.stderr.readline()  # the first line says where (bounded: 1 line)
        assert "serving at" in self.banner, self.banner
        self.port = port

    def status(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status", timeout=5) as r:
            return json.loads(r.read())

    def interrupt(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return self.proc.returncode, err


def bar_count(screen: str) -> int:
    match = re.search(r"Bar\s+([\d,]+) / 782", screen)
    return int(match.group(1).replace(",", "")) if match else -1


@pytest.mark.e2e
def test_view_follows_a_served_run_drives_it_with_the_token_and_reconnects() -> None:
    port = free_port()
    server = Server(port, "--speed", "10", "--control-token", TOKEN)
    assert f"#token={TOKEN}" in server.banner and f"--token {TOKEN}" in server.banner
    driver = Tmux(f"{EXE} view ws://127.0.0.1:{port} --token {TOKEN}")
    reader = Tmux(f"{EXE} view ws://127.0.0.1:{port}")
    restarted = None
    try:
        screen = driver.wait(lambda s: s.lstrip().startswith("live") and bar_count(s) > 0)
        assert "SAMPLE" in screen and "sma_cross" in screen and "read-only" not in screen
        driver.keys("Space")
        driver.wait(lambda s: "PAUSED" in s)
        stream = next(iter(server.status()["streams"].values()))
        assert stream["viewers"] == 2
        # The pause happened on the server: every viewer sees it, and the bars stop.
        screen = reader.wait(lambda s: "PAUSED" in s and "live read-only" in s)
        held = bar_count(screen)
        driver.keys("n")
        reader.wait(lambda s: bar_count(s) == held + 1)
        # Keys of a viewer without the token act on nothing and say so.
        reader.keys("Space")
        reader.wait(lambda s: "no control token" in s)
        # Seeking is local: the read-only viewer goes back to its first bar, then follows again.
        reader.keys("Home")
        reader.wait(lambda s: "bar 1 of " in s)
        reader.keys("End")
        reader.wait(lambda s: "bar 1 of " not in s and bar_count(s) == held + 1)
        assert "PAUSED" in driver.screen()
        driver.keys("Space")
        driver.wait(lambda s: "RUNNING" in s and bar_count(s) > held + 3)
        # The server goes away: the viewer says so, and comes back to a new one on its own.
        code, err = server.interrupt()
        assert code == 130 and "interrupted" in err and "Traceback" not in err
        driver.wait(lambda s: "reconnecting" in s)
        restarted = Server(port, "--speed", "10", "--control-token", TOKEN, "--paused")
        screen = driver.wait(
            lambda s: s.lstrip().startswith("live") and bar_count(s) == 0, timeout=40
        )
        driver.keys("q")
        reader.keys("q")
        driver.wait(lambda s: not driver.alive(), timeout=15)
    finally:
        driver.kill()
        reader.kill()
        if restarted is not None:
            restarted.interrupt()
        if server.proc.poll() is None:
            server.proc.kill()


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [EXE, *args], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("run", "--serve", "0.0.0.0:8765"), "--viewer-token"),
        (("run", "--serve", "nope"), "[HOST:]PORT"),
        (("run", "--serve", "70000"), "[HOST:]PORT"),
        (("run", "--control-token", "abcdefgh1"), "need --serve"),
        (("run", "--serve", "0", "--viewer-token", "short"), "at least 8"),
        (("view", "ws://127.0.0.1:9"), "needs a terminal"),
        (("replay", "missing.jsonl", "--html", "out.html"), "missing.jsonl"),
    ],
)
def test_bad_bridge_options_are_one_line_and_exit_2(args, expected) -> None:
    result = run_cli(*args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_a_port_in_use_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_cli("run", "--headless", "--serve", f"127.0.0.1:{port}")
    assert result.returncode == 2
    assert "cannot listen" in result.stderr and "Traceback" not in result.stderr


def test_view_of_nothing_says_what_is_wrong() -> None:
    with pytest.raises(UserError, match="cannot reach"):
        asyncio.run(probe(f"ws://127.0.0.1:{free_port()}", None))
    with pytest.raises(UserError, match="ws://HOST:PORT"):
        asyncio.run(probe("ftp://x", None))


@pytest.mark.e2e
def test_the_app_serves_its_run_and_obeys_a_remote_viewer_with_the_token() -> None:
    import aiohttp
    import orjson

    port = free_port()
    app = Tmux(f"{EXE} run --paused --serve 127.0.0.1:{port} --control-token {TOKEN}")

    async def drive() -> list:
        async with aiohttp.ClientSession() as session:
            for _ in range(100):  # the app starts listening once it is up (bounded wait)
                try:
                    ws = await session.ws_connect(f"ws://127.0.0.1:{port}/ws?token={TOKEN}")
                    break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.2)
            else:
                raise AssertionError("the app never served")
            hello = orjson.loads((await ws.receive(timeout=10)).data)
            snapshot = orjson.loads((await ws.receive(timeout=10)).data)
            await ws.send_str('{"type":"control","command":"step","bars":3,"id":"s"}')
            frames = []
            for _ in range(200):
                frame = orjson.loads((await ws.receive(timeout=10)).data)
                frames.append(frame)
                seen = [e for f in frames if isinstance(f, list) for e in f]
                if sum(e["type"] == "candle" for e in seen) >= 3:
                    break
            await ws.send_str('{"type":"control","command":"resume","id":"r"}')
            for _ in range(200):
                frame = orjson.loads((await ws.receive(timeout=10)).data)
                if isinstance(frame, dict) and frame.get("id") == "r":
                    break
            await ws.close()
            return [hello, snapshot, frames, frame]

    try:
        app.wait(lambda s: "PAUSED" in s and "Serving at" in s)
        hello, snapshot, frames, ack = asyncio.run(drive())
        assert hello["control"] is True and hello["paused"] is True
        assert snapshot["type"] == "snapshot" and snapshot["metadata"]["symbol"] == "SAMPLE"
        candles = [e for f in frames if isinstance(f, list) for e in f if e["type"] == "candle"]
        # a paused app opens on bar 1 (in the snapshot); the viewer steps the next three
        assert [e["bar_number"] for e in candles][:3] == [2, 3, 4]
        assert ack["type"] == "ack" and ack["paused"] is False
        app.wait(lambda s: "RUNNING" in s and bar_count(s) > 3)  # the app plays on
        app.keys("q")
        app.wait(lambda s: not app.alive(), timeout=15)
    finally:
        app.kill()


def test_a_served_run_is_saved_to_the_store(tmp_path) -> None:
    db = tmp_path / "runs.sqlite"
    port = free_port()
    env_db = {**os.environ, "ALGOTUI_DB": str(db)}
    proc = subprocess.Popen(
        [EXE, "run", "--headless", "--serve", f"127.0.0.1:{port}", "--speed", "max"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_db,
    )  # fmt: skip
    try:
        assert "serving at" in proc.stderr.readline()
        time.sleep(2.0)  # at full speed the sample is done by now; if not, it is saved stopped
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    listed = subprocess.run([EXE, "runs", "list"], capture_output=True, text=True, env=env_db)
    assert "sma_cross" in listed.stdout, listed.stdout + listed.stderr
