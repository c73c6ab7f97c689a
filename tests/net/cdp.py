"""Headless Chromium driven over the DevTools protocol (for the bridge's browser tests)."""

import asyncio
import base64
import itertools
import json
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp


def chromium() -> str | None:
    """The Chromium binary, if installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless Chromium with one page, closed by :meth:`close`."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        # chromium's helper processes may still write its profile while it is removed
        self._dir = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        binary = chromium()
        assert binary, "chromium is needed for the browser tests"
        self.proc = subprocess.Popen(
            [
                binary,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--remote-debugging-port=0",
                f"--user-data-dir={self._dir.name}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        self.port = 0
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            found = re.search(r"ws://127\.0\.0\.1:(\d+)/", line or "")
            if found:
                self.port = int(found.group(1))
                break
        assert self.port, "chromium did not start its DevTools endpoint"
        self._ids = itertools.count(1)
        self._session: aiohttp.ClientSession | None = None
        self._ws: Any = None

    async def open(self) -> None:
        """Attach to the browser's page."""
        self._session = aiohttp.ClientSession()
        async with self._session.get(f"http://127.0.0.1:{self.port}/json/list") as r:
            pages = [p for p in await r.json() if p.get("type") == "page"]
        self._ws = await self._session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One DevTools command; its result."""
        cid = next(self._ids)
        await self._ws.send_str(json.dumps({"id": cid, "method": method, "params": params}))
        while True:
            msg = json.loads((await self._ws.receive(timeout=30)).data)
            if msg.get("id") == cid:
                assert "error" not in msg, msg
                return msg["result"]

    async def goto(self, url: str) -> None:
        """Load ``url``."""
        await self.call("Page.enable")
        await self.call("Page.navigate", url=url)

    async def js(self, expression: str) -> Any:
        """The value of a JavaScript expression on the page."""
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 30.0) -> Any:
        """Poll ``expression`` until it is truthy (bounded in time); its last value."""
        deadline = time.monotonic() + timeout
        value = None
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        return value

    async def screenshot(self, path: Path) -> Path:
        """A PNG of the page."""
        shot = await self.call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    async def close(self) -> None:
        """Close the page's socket and the browser."""
        if self._ws is not None:
            await self._ws.close()
        if self._session is not None:
            await self._session.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._dir.cleanup()
