"""A remote run: the bridge's stream as the app's source, and its controls over the socket.

:class:`RemoteRun` has the surface the app reads from a local player (``run`` in a thread,
``drain``, ``done``, ``failure``) and implements :class:`~algotui.run.controls.Controls` by
sending commands (obeyed by the server only with the control token). It reconnects with
exponential backoff and resumes from the last ``seq`` it has, dropping events it already
holds and asking again when it sees a gap, so the app gets every event exactly once.
"""

import asyncio
import itertools
import threading
from collections import deque
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import aiohttp
import orjson

from algotui.errors import UserError
from algotui.run.player import SPEEDS

#: Reconnection waits: from the first, doubling, up to the last.
BACKOFF_FIRST = 0.5
BACKOFF_MAX = 10.0
#: Inbound frames up to this size (a snapshot of a long run is a few MB).
MAX_FRAME = 256 << 20


def ws_endpoint(url: str) -> tuple[str, str | None]:
    """``ws://HOST:PORT`` (or ``http://``, or ``HOST:PORT``) as the stream's URL, and a token
    given in it as ``#token=T``."""
    if "://" not in url:
        url = "ws://" + url
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise UserError(f"{url!r}: give the server as ws://HOST:PORT (e.g. ws://127.0.0.1:8765)")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise UserError(f"{url!r}: the port must be a number") from None
    path = parts.path if parts.path not in ("", "/") else "/ws"
    token = parse_qs(parts.fragment).get("token", [None])[0]
    return urlunsplit((scheme, parts.netloc, path, "", "")), token


class RemoteRun:
    """A run played by a bridge server, seen and (with the token) driven from here."""

    batched = False

    def __init__(self, url: str, token: str | None = None) -> None:
        self.url, url_token = ws_endpoint(url)
        self.token = token or url_token
        self.can_control = False
        self.done = False
        self.failure: BaseException | None = None
        self.connection = "connecting"
        self.last_seq = -1
        self.run_id: str | None = None
        self.reconnects = 0
        self._paused = False
        self._speed: float | None = 20.0
        self._finishing = False
        self._lock = threading.Lock()
        self._out: list[dict[str, Any]] = []
        self._reset: dict[str, Any] | None = None
        self._notices: deque[str] = deque(maxlen=8)
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ws: Any = None
        self._stopped = False
        self._awaiting_snapshot = False

    # -- Controls ------------------------------------------------------------------------------

    @property
    def paused(self) -> bool:
        """As the server last said (or as asked from here, until it answers)."""
        return self._paused

    @property
    def speed(self) -> float | None:
        """Bars per second on the server, None for maximum."""
        return self._speed

    @property
    def finishing(self) -> bool:
        """True once the server runs the rest at full speed."""
        return self._finishing

    def pause(self) -> None:
        """Ask the server to hold before the next bar."""
        self._paused = True
        self.command("pause")

    def resume(self) -> None:
        """Ask the server to play on."""
        self._paused = False
        self.command("resume")

    def toggle(self) -> bool:
        """Pause or resume; True when now (asked to be) paused."""
        if self._paused:
            self.resume()
        else:
            self.pause()
        return self._paused

    def step(self, bars: int = 1) -> None:
        """Ask for ``bars`` more bars (the server pauses first)."""
        self._paused = True
        self.command("step", bars=bars)

    def set_speed(self, speed: float | None) -> None:
        """Ask for ``speed`` bars/s (None: maximum)."""
        self._speed = speed
        self.command("speed", speed=speed)

    def faster(self) -> float | None:
        """Double the speed (as a local player would)."""
        if self._speed is not None:
            self.set_speed(min(self._speed * 2, SPEEDS[-1]))
        return self._speed

    def slower(self) -> float | None:
        """Halve the speed; from maximum, back to the fastest paced level."""
        self.set_speed(SPEEDS[-1] if self._speed is None else max(self._speed / 2, 0.5))
        return self._speed

    def finish(self) -> None:
        """Ask the server to run to the end at once."""
        self._finishing = True
        self.command("finish")

    def seek(self, bar: int) -> None:
        """Ask the server to show the run as of ``bar``."""
        self.command("seek", bar=bar)

    def stop(self) -> None:
        """Leave: close the connection (the run itself goes on on the server)."""
        self._stopped = True
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:
                pass

    def command(self, name: str, **fields: Any) -> None:
        """Send a control command (any thread); the server acks it with its id."""
        message = {"type": "control", "command": name, "id": next(self._ids), **fields}
        self.send(message)

    def send(self, message: dict[str, Any]) -> None:
        """Queue one message for the server (dropped when not connected)."""
        loop, ws = self._loop, self._ws
        if loop is None or ws is None or loop.is_closed():
            return
        text = orjson.dumps(message).decode()

        def go() -> None:
            if not ws.closed:
                task = loop.create_task(ws.send_str(text))
                task.add_done_callback(lambda t: t.cancelled() or t.exception())

        try:
            loop.call_soon_threadsafe(go)
        except RuntimeError:
            pass

    # -- the app's source side -----------------------------------------------------------------

    def drain(self) -> list[dict[str, Any]]:
        """Events received since the last call (none while a fresh snapshot waits)."""
        with self._lock:
            if self._reset is not None:
                return []
            out, self._out = self._out, []
        return out

    def take_reset(self) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        """A fresh snapshot to rebuild the state from, and the events after it; or None."""
        with self._lock:
            if self._reset is None:
                return None
            snap, self._reset = self._reset, None
            out, self._out = self._out, []
        return snap, out

    def take_notices(self) -> list[str]:
        """Messages for the user (a refused command), once each."""
        with self._lock:
            out = list(self._notices)
            self._notices.clear()
        return out

    # -- the connection ------------------------------------------------------------------------

    def run(self) -> None:
        """Connect and keep connected until :meth:`stop` (call in a worker thread)."""
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # the app shows it
            self.failure = exc
        finally:
            self.connection = "closed"
            self.done = True

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stopped:
            return
        backoff = BACKOFF_FIRST
        async with aiohttp.ClientSession() as session:
            while not self._stopped:
                try:
                    if await self._connect(session):
                        backoff = BACKOFF_FIRST
                except aiohttp.WSServerHandshakeError as exc:
                    if exc.status in (401, 403):
                        raise ConnectionRefusedError(refusal(exc.status)) from None
                except (TimeoutError, aiohttp.ClientError, OSError):
                    pass
                if self._stopped:
                    break
                self.connection = f"reconnecting in {backoff:g}s"
                try:
                    await asyncio.wait_for(self._stop.wait(), backoff)
                except TimeoutError:
                    pass
                backoff = min(backoff * 2, BACKOFF_MAX)
                self.reconnects += 1

    async def _connect(self, session: aiohttp.ClientSession) -> bool:
        """One connection, until it ends; True when it got as far as ``connected``."""
        params: dict[str, str] = {}
        if self.token:
            params["token"] = self.token
        if self.last_seq >= 0 and self.run_id is not None:
            params["resume"] = str(self.last_seq)
        self.connection = "connecting"
        got = False
        async with session.ws_connect(
            self.url, params=params, heartbeat=20.0, max_msg_size=MAX_FRAME, compress=0
        ) as ws:
            self._ws = ws
            stop = asyncio.ensure_future(self._stop.wait())
            try:
                while True:
                    receive = asyncio.ensure_future(ws.receive())
                    finished, _ = await asyncio.wait(
                        {receive, stop}, return_when=asyncio.FIRST_COMPLETED
                    )
                    if stop in finished:
                        receive.cancel()
                        await ws.close()
                        break
                    msg = receive.result()
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    got = self.on_frame(msg.data) or got
            finally:
                stop.cancel()
                self._ws = None
        return got

    def on_frame(self, text: str) -> bool:
        """One frame from the server; True for ``connected``."""
        try:
            msg = orjson.loads(text)
        except orjson.JSONDecodeError:
            return False
        if isinstance(msg, list):
            self._events(msg)
            return False
        if not isinstance(msg, dict):
            return False
        kind = msg.get("type")
        if kind == "connected":
            self.can_control = bool(msg.get("control"))
            self._controls(msg)
            self.connection = "live"
            run_id = msg.get("run_id")
            if self.run_id is not None and run_id != self.run_id:
                # Another run (the server restarted): start over from a snapshot.
                self._awaiting_snapshot = True
                self.send({"type": "snapshot"})
            return True
        if kind == "snapshot":
            with self._lock:
                self._reset = msg
                self._out = []
            self.run_id = msg.get("run_id")
            seq = msg.get("seq")
            self.last_seq = seq if isinstance(seq, int) else -1
            self._awaiting_snapshot = False
        elif kind in ("heartbeat", "controls", "ack"):
            self._controls(msg)
        elif kind == "error":
            if msg.get("code") == "forbidden":
                with self._lock:
                    self._notices.append("read-only: the server refused the command")
        return False  # resync (a snapshot follows), pong and unknown types: nothing to do

    def _controls(self, msg: dict[str, Any]) -> None:
        if "paused" in msg:
            self._paused = bool(msg["paused"])
        if "speed" in msg:
            self._speed = msg["speed"]
        if "finishing" in msg:
            self._finishing = bool(msg["finishing"])

    def _events(self, events: list[Any]) -> None:
        """Live events: keep those after :attr:`last_seq`; on a gap, ask to resume."""
        if self._awaiting_snapshot:
            return
        fresh = [e for e in events if isinstance(e, dict) and e.get("seq", -1) > self.last_seq]
        if not fresh:
            return
        if fresh[0].get("seq") != self.last_seq + 1:
            self.send({"type": "resume", "seq": self.last_seq})
            return
        with self._lock:
            self._out.extend(fresh)
        self.last_seq = int(fresh[-1]["seq"])


def refusal(status: int) -> str:
    """What a refused handshake means, and what to do."""
    if status == 401:
        return "the server needs a token to watch: algotui view URL --token T"
    return "the server refused this connection (origin not allowed)"


async def probe(url: str, token: str | None, timeout: float = 5.0) -> dict[str, Any]:
    """Connect once and return the ``connected`` message; a one-line error when impossible."""
    endpoint, url_token = ws_endpoint(url)
    params = {"token": token or url_token} if (token or url_token) else {}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(
                endpoint, params=params, timeout=aiohttp.ClientWSTimeout(ws_close=timeout)
            ) as ws:
                msg = await ws.receive(timeout)
                await ws.close()
    except aiohttp.WSServerHandshakeError as exc:
        if exc.status in (401, 403):
            raise UserError(refusal(exc.status)) from None
        raise UserError(f"{url}: not an algotui bridge (HTTP {exc.status})") from None
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        raise UserError(
            f"cannot reach {endpoint} ({type(exc).__name__}); is `algotui run --serve` running?"
        ) from None
    try:
        hello = orjson.loads(msg.data) if msg.type == aiohttp.WSMsgType.TEXT else None
    except orjson.JSONDecodeError:
        hello = None
    if not isinstance(hello, dict) or hello.get("type") != "connected":
        raise UserError(f"{url}: not an algotui bridge (no 'connected' message)")
    return hello
