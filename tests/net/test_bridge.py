"""The WebSocket bridge: late joiners, resume, slow viewers, tokens, malformed frames.

Every server here listens on 127.0.0.1 (port 0) inside the test's own event loop; every loop
is bounded in count and in time.
"""

import asyncio
import random
from typing import Any

import aiohttp
import numpy as np
import orjson
import pytest

from algotui import Strategy
from algotui.net import hub as hub_module
from algotui.net import snapshot as snapshot_module
from algotui.net.hub import Hub, encode
from algotui.net.server import BridgeServer
from algotui.net.session import to_dicts
from algotui.net.snapshot import snapshot_of, state_from_snapshot
from algotui.view.state import RunState

CONTROL = "control-token-for-tests"
VIEWER = "viewer-token-for-tests"


@pytest.fixture(scope="module")
def events() -> list[dict[str, Any]]:
    """A whole run of the sample (sma_cross), as protocol v1 dicts."""
    from algotui.engine import Backtest, load_strategy
    from algotui.feed import load_source
    from algotui.protocol.encode import Encoder

    bt = Backtest(load_source("sample"), load_strategy("sma_cross"), {})
    encoder = Encoder(bt.run_id)
    out: list[dict[str, Any]] = []
    for item in bt.stream():
        out.extend(to_dicts([item], encoder))
    assert out[-1]["type"] == "complete"
    assert [e["seq"] for e in out] == list(range(len(out)))
    return out


class Trailing(Strategy):
    """Long with a stop-loss that trails the close: open trades whose levels move."""

    def next(self) -> None:
        if not self.position:
            self.buy(sl=self.price * 0.95, tp=self.price * 1.2, reason="in")
        elif self.i % 3 == 0:
            trade = self.trades[0]
            trade.sl = max(trade.sl, self.price * 0.96)


@pytest.fixture(scope="module")
def trailing_events() -> list[dict[str, Any]]:
    """A run whose open trades' stops move (``levels`` events)."""
    from algotui.engine import Backtest
    from algotui.feed import load_source
    from algotui.protocol.encode import Encoder

    bt = Backtest(load_source("sample"), Trailing, {})
    encoder = Encoder(bt.run_id)
    out = to_dicts(list(bt.stream()), encoder)
    assert any(e["type"] == "levels" for e in out)
    return out


def reference(events: list[dict[str, Any]]) -> RunState:
    state = RunState()
    state.apply(events)
    return state


def assert_same_state(a: RunState, b: RunState) -> None:
    """Everything a viewer draws is the same in ``a`` and ``b``."""
    assert a.snapshot() == b.snapshot()
    assert a.bars == b.bars and a.total_bars == b.total_bars
    assert a.overlay == b.overlay and a.levels == b.levels


class FakeControls:
    """Controls that remember what they were asked."""

    can_control = True

    def __init__(self) -> None:
        self.paused = False
        self.speed: float | None = 20.0
        self.finishing = False
        self.calls: list[tuple] = []

    def pause(self) -> None:
        self.paused = True
        self.calls.append(("pause",))

    def resume(self) -> None:
        self.paused = False
        self.calls.append(("resume",))

    def step(self, bars: int = 1) -> None:
        self.paused = True
        self.calls.append(("step", bars))

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        self.calls.append(("speed", speed))

    def finish(self) -> None:
        self.finishing = True
        self.calls.append(("finish",))

    def stop(self) -> None:
        self.calls.append(("stop",))


async def start_server(**kwargs: Any) -> BridgeServer:
    hub = Hub(controls=kwargs.pop("controls", None))
    server = BridgeServer(hub, "127.0.0.1", 0, control_token=CONTROL, **kwargs)
    await server.start()
    return server


def ws_url(server: BridgeServer, **query: Any) -> str:
    q = "&".join(f"{k}={v}" for k, v in query.items())
    return f"ws://127.0.0.1:{server.port}/ws" + (f"?{q}" if q else "")


async def receive(ws: Any, timeout: float = 10.0) -> Any:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return orjson.loads(msg.data)


async def read_until(ws: Any, done: Any, limit: int = 5000) -> list[Any]:
    """Frames until ``done(frame)`` (bounded in count; each receive bounded in time)."""
    out = []
    for _ in range(limit):
        frame = await receive(ws)
        out.append(frame)
        if done(frame):
            return out
    raise AssertionError("the expected frame never came")


def ends_run(frame: Any) -> bool:
    return isinstance(frame, list) and any(e["type"] == "complete" for e in frame)


def rebuild(frames: list[Any]) -> RunState:
    """A viewer's state from its frames: the snapshot, then the live events, checked gapless."""
    state: RunState | None = None
    seq = None
    for frame in frames:
        if isinstance(frame, dict) and frame["type"] == "snapshot":
            state = state_from_snapshot(frame)
            seq = frame["seq"]
        elif isinstance(frame, list):
            assert state is not None, "events before the snapshot"
            assert [e["seq"] for e in frame] == list(range(seq + 1, seq + 1 + len(frame)))
            seq = frame[-1]["seq"]
            state.apply(frame)
    assert state is not None
    return state


# -- snapshot ------------------------------------------------------------------------------------


def test_snapshot_round_trip_rebuilds_the_same_state(events, trailing_events):
    cuts = [(events, cut) for cut in (1, 40, 1000, len(events))]
    cuts += [(trailing_events, cut) for cut in (500, 1501, 2999, len(trailing_events))]
    for run, cut in cuts:
        events = run
        state = reference(events[:cut])
        snap = orjson.loads(orjson.dumps(snapshot_of(state, cut - 1)))  # as it travels
        assert snap["seq"] == cut - 1
        assert_same_state(state_from_snapshot(snap), state)


def test_snapshot_thins_huge_histories_but_keeps_bar_places(events, monkeypatch):
    monkeypatch.setattr(snapshot_module, "FULL_BARS", 100)
    monkeypatch.setattr(snapshot_module, "MAX_BUCKETS", 50)
    state = reference(events)
    snap = snapshot_of(state, events[-1]["seq"])
    c = snap["candles"]
    k = state.bars - 100
    assert c["full_from"] == k and c["bucket"] == -(-k // 50)
    assert len(c["close"]) == -(-k // c["bucket"]) + 100
    size = c["bucket"]
    assert c["high"][0] == state.high[:size].max() and c["low"][0] == state.low[:size].min()
    assert c["open"][0] == state.open[0] and c["close"][0] == state.close[size - 1]
    assert c["volume"][0] == pytest.approx(state.volume[:size].sum())
    rebuilt = state_from_snapshot(snap)
    assert rebuilt.bars == state.bars
    assert rebuilt.markers == state.markers
    n = state.bars
    np.testing.assert_array_equal(rebuilt.close[k:n], state.close[k:n])
    assert rebuilt.stats == state.stats and rebuilt.metrics == state.metrics


# -- joining, resuming ---------------------------------------------------------------------------


async def test_a_viewer_joining_mid_run_rebuilds_the_state_of_one_there_from_the_start(events):
    server = await start_server()
    hub = server.hub
    try:
        async with aiohttp.ClientSession() as session:
            first = await session.ws_connect(ws_url(server))
            hello = await receive(first)
            assert hello["type"] == "connected" and hello["protocol"] == 1 and hello["seq"] == -1
            half = len(events) // 2
            for a in range(0, half, 37):
                hub.publish(events[a : min(a + 37, half)])
                await asyncio.sleep(0)
            hub.flush()
            late = await session.ws_connect(ws_url(server))
            for a in range(half, len(events), 53):
                hub.publish(events[a : a + 53])
                await asyncio.sleep(0)
            hub.flush()
            early_frames = await read_until(first, ends_run)
            late_frames = await read_until(late, ends_run)
            await first.close()
            await late.close()
    finally:
        await server.stop()
    assert late_frames[0]["type"] == "connected" and late_frames[0]["seq"] == half - 1
    assert late_frames[1]["type"] == "snapshot" and late_frames[1]["seq"] == half - 1
    whole = reference(events)
    assert_same_state(rebuild(early_frames), whole)
    assert_same_state(rebuild(late_frames), whole)


async def test_a_gap_is_healed_by_resume_from_the_ring_or_a_fresh_snapshot(events, monkeypatch):
    server = await start_server()
    hub = server.hub
    try:
        async with aiohttp.ClientSession() as session:
            hub.publish(events[:500])
            hub.flush()
            ws = await session.ws_connect(ws_url(server))
            frames = await read_until(ws, lambda f: isinstance(f, dict) and f["type"] == "snapshot")
            await ws.close()  # a dropped connection: events 500..999 go by unseen
            hub.publish(events[500:1000])
            hub.flush()
            ws = await session.ws_connect(ws_url(server, resume=499))
            assert (await receive(ws))["type"] == "connected"
            missed = await read_until(ws, lambda f: isinstance(f, list) and f[-1]["seq"] == 999)
            assert all(isinstance(f, list) for f in missed)  # from the ring: no snapshot
            # Asking again from an earlier seq over the open connection: the same events.
            await ws.send_str(orjson.dumps({"type": "resume", "seq": 899}).decode())
            again = await read_until(ws, lambda f: isinstance(f, list) and f[-1]["seq"] == 999)
            assert [e["seq"] for f in again for e in f] == list(range(900, 1000))
            hub.publish(events[1000:])
            hub.flush()
            rest = await read_until(ws, ends_run)
            await ws.close()
            state = rebuild(frames + missed + rest)
            assert_same_state(state, reference(events))
            # Too old for the ring: a resync and a fresh snapshot instead.
            monkeypatch.setattr(hub, "ring_events", 100)
            hub.publish([])
            while hub._ring_count - len(hub._ring[0][2]) >= 100:
                hub._ring_count -= len(hub._ring.popleft()[2])
            ws = await session.ws_connect(ws_url(server, resume=10))
            frames = await read_until(ws, lambda f: isinstance(f, dict) and f["type"] == "snapshot")
            assert [f["type"] for f in frames] == ["connected", "resync", "snapshot"]
            assert frames[1]["reason"] == "resume"
            assert_same_state(state_from_snapshot(frames[2]), reference(events))
            await ws.close()
    finally:
        await server.stop()


async def test_a_slow_viewer_is_resynced_and_nobody_waits_for_it(events, monkeypatch):
    monkeypatch.setattr(hub_module, "QUEUE_FRAMES", 8)
    server = await start_server()
    hub = server.hub
    big = "x" * 60_000  # large events fill the slow viewer's socket and queue quickly
    try:
        async with aiohttp.ClientSession() as fast_session, aiohttp.ClientSession() as slow_sess:
            fast = await fast_session.ws_connect(ws_url(server))
            slow = await slow_sess.ws_connect(ws_url(server))  # never reads until the end
            hub.publish(events[:10])
            hub.flush()
            seq = 9
            got: list[Any] = []
            max_queued = 0
            for _ in range(400):  # bounded: stop once the slow viewer was dropped
                e = {"type": "note", "seq": seq + 1, "run_id": "x", "padding": big}
                seq += 1
                hub.publish([e])
                hub.flush()
                got.append(await receive(fast))  # the fast viewer is served at once
                max_queued = max(max_queued, *(v.queued_bytes for v in hub.viewers))
                if hub.drops:
                    break
            assert hub.drops >= 1, "the slow viewer was never found lagging"
            assert max_queued <= hub_module.QUEUE_BYTES
            assert len(hub.viewers) == 2
            hub.publish(events[10:])  # the rest of the run (seqs no longer line up: fine)
            hub.flush()
            # Now the slow viewer reads: somewhere in its stream a resync and a fresh snapshot.
            frames = await read_until(
                slow, lambda f: isinstance(f, dict) and f["type"] == "resync", limit=1000
            )
            snap = await receive(slow)
            assert frames[-1]["reason"] == "lagging" and snap["type"] == "snapshot"
            assert snap["seq"] >= frames[-1]["seq"]
            status = await (await fast_session.get(f"{server.url}status")).json()
            stream = next(iter(status["streams"].values()))
            assert stream["drops"] == hub.drops and stream["viewers"] == 2
            await fast.close()
            await slow.close()
    finally:
        await server.stop()


async def test_idle_viewers_get_heartbeats():
    server = await start_server(heartbeat=0.05)
    try:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(ws_url(server))
            frames = await read_until(
                ws, lambda f: isinstance(f, dict) and f["type"] == "heartbeat"
            )
            assert frames[-1]["seq"] == -1 and "time" in frames[-1]
            await ws.close()
    finally:
        await server.stop()


# -- control and security ------------------------------------------------------------------------


async def test_control_needs_the_control_token_and_is_acked_by_id():
    controls = FakeControls()
    server = await start_server(controls=controls)
    try:
        async with aiohttp.ClientSession() as session:
            for query in ({}, {"token": "wrong-token-123"}):
                ws = await session.ws_connect(ws_url(server, **query))
                hello = await receive(ws)
                assert hello["control"] is False
                await receive(ws)  # snapshot
                await ws.send_str('{"type":"control","command":"pause","id":"a1"}')
                reply = await receive(ws)
                assert reply == {
                    "type": "error",
                    "code": "forbidden",
                    "message": reply["message"],
                    "id": "a1",
                }
                await ws.close()
            assert controls.calls == []
            ws = await session.ws_connect(ws_url(server, token=CONTROL))
            assert (await receive(ws))["control"] is True
            await receive(ws)
            commands = [
                ({"command": "pause"}, ("pause",)),
                ({"command": "step", "bars": 3}, ("step", 3)),
                ({"command": "speed", "speed": 50}, ("speed", 50.0)),
                ({"command": "speed", "speed": None}, ("speed", None)),
                ({"command": "resume"}, ("resume",)),
                ({"command": "finish"}, ("finish",)),
            ]
            for i, (fields, call) in enumerate(commands):
                await ws.send_str(orjson.dumps({"type": "control", "id": i, **fields}).decode())
                frames = await read_until(ws, lambda f: f.get("type") in ("ack", "error"))
                assert frames[-1]["type"] == "ack" and frames[-1]["id"] == i
                assert controls.calls[-1] == call
            assert frames[-1]["finishing"] is True
            # Malformed commands: an error with the id, nothing called.
            before = list(controls.calls)
            for bad in (
                {"command": "step", "bars": 0},
                {"command": "step", "bars": "3"},
                {"command": "speed", "speed": -1},
                {"command": "speed", "speed": True},
                {"command": "seek", "bar": 5},  # FakeControls cannot seek
                {"command": "explode"},
                {},
            ):
                await ws.send_str(orjson.dumps({"type": "control", "id": "b", **bad}).decode())
                reply = (await read_until(ws, lambda f: f.get("type") == "error"))[-1]
                assert reply["type"] == "error" and reply["id"] == "b", bad
            assert controls.calls == before
            await ws.close()
    finally:
        await server.stop()


async def test_viewer_token_origin_and_connection_caps_are_enforced():
    server = await start_server(
        viewer_token=VIEWER, allow_origins=("https://dash.example",), max_per_address=3
    )
    base = f"http://127.0.0.1:{server.port}"
    try:
        async with aiohttp.ClientSession() as session:
            for query in ({}, {"token": "nope-nope-nope"}):
                with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                    await session.ws_connect(ws_url(server, **query))
                assert refused.value.status == 401
            async with session.get(f"{base}/status") as r:
                assert r.status == 401
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(
                    ws_url(server, token=VIEWER), headers={"Origin": "https://evil.example"}
                )
            assert refused.value.status == 403
            same = await session.ws_connect(ws_url(server, token=VIEWER), headers={"Origin": base})
            allowed = await session.ws_connect(
                ws_url(server, token=VIEWER), headers={"Origin": "https://dash.example"}
            )
            third = await session.ws_connect(ws_url(server, token=CONTROL))
            assert (await receive(third))["control"] is True
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(ws_url(server, token=VIEWER))
            assert refused.value.status == 429
            for ws in (same, allowed, third):
                await ws.close()
            async with session.get(f"{base}/status?token={VIEWER}") as r:
                body = await r.json()
            assert body["refused"] == 4 and "uptime_seconds" in body
    finally:
        await server.stop()


async def test_malformed_and_oversized_frames_get_errors_and_never_stop_the_server(events):
    server = await start_server(controls=FakeControls())
    server.hub.publish(events[:100])
    server.hub.flush()
    try:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(ws_url(server, token=CONTROL))
            await receive(ws)
            await receive(ws)
            for bad in (
                "{",
                "[1,2]",
                '"text"',
                "{}",
                '{"type": 5}',
                '{"type":"resume"}',
                '{"type":"resume","seq":"7"}',
            ):
                await ws.send_str(bad)
                reply = await receive(ws)
                assert reply["type"] == "error" and reply["code"] == "malformed", bad
            await ws.send_str('{"type":"from-the-future","x":1}')
            assert (await receive(ws))["code"] == "unknown_type"
            await ws.send_bytes(b"\x00\x01")
            assert (await receive(ws))["code"] == "malformed"
            await ws.send_str('{"type":"ping","id":9}')
            assert await receive(ws) == {"type": "pong", "id": 9, "seq": 99}
            await ws.send_str('{"type":"x","pad":"' + "y" * (70 * 1024) + '"}')
            closed = await ws.receive(timeout=10)
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1009  # message too big
            ws = await session.ws_connect(ws_url(server))
            assert (await receive(ws))["seq"] == 99
            await ws.close()
    finally:
        await server.stop()


async def test_ten_thousand_fuzzed_frames_leave_the_server_serving(events):
    controls = FakeControls()
    server = await start_server(controls=controls)
    server.hub.publish(events[:300])
    server.hub.flush()
    rng = random.Random(12)
    words = [
        "type",
        "control",
        "resume",
        "seq",
        "command",
        "pause",
        "step",
        "bars",
        "speed",
        "id",
        "token",
        "seek",
        "bar",
        "snapshot",
        "ping",
        "null",
        "-1",
        "1e308",
        "{",
        "}",
    ]

    def fuzz() -> str | bytes:
        kind = rng.random()
        if kind < 0.25:
            return bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        if kind < 0.5:
            return "".join(rng.choice(words + [",", ":", '"', "[", "]"]) for _ in range(12))
        message: dict[str, Any] = {"type": rng.choice(words)}
        for _ in range(rng.randrange(4)):
            message[rng.choice(words)] = rng.choice(
                [None, -1, 0, 3, 2**62, 1.5, "x", [], {}, True, "pause", float("1e300")]
            )
        return orjson.dumps(message).decode()

    sent = 0
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(10):  # 10 connections x 1,000 frames, each drained as it goes
                ws = await session.ws_connect(ws_url(server, token=CONTROL))
                for _ in range(1000):
                    frame = fuzz()
                    if isinstance(frame, bytes):
                        await ws.send_bytes(frame)
                    else:
                        await ws.send_str(frame)
                    sent += 1
                    if sent % 100 == 0:
                        await asyncio.sleep(0)
                await ws.send_str('{"type":"ping","id":"end"}')
                await read_until(
                    ws, lambda f: isinstance(f, dict) and f.get("id") == "end", limit=20_000
                )
                await ws.close()
            assert sent == 10_000
            ws = await session.ws_connect(ws_url(server))
            assert (await receive(ws))["type"] == "connected"
            snap = await receive(ws)
            assert_same_state(state_from_snapshot(snap), reference(events[:300]))
            await ws.close()
            async with session.get(f"{server.url}status") as r:
                assert r.status == 200
    finally:
        await server.stop()
    assert server.malformed > 1000


# -- the terminal viewer's socket side -----------------------------------------------------------


def test_a_remote_run_takes_each_event_once_and_asks_to_resume_on_a_gap(events):
    from algotui.net.client import RemoteRun, ws_endpoint

    assert ws_endpoint("127.0.0.1:8765") == ("ws://127.0.0.1:8765/ws", None)
    assert ws_endpoint("http://h:1/#token=abc") == ("ws://h:1/ws", "abc")
    remote = RemoteRun("ws://127.0.0.1:8765")
    sent: list[dict] = []
    remote.send = sent.append  # type: ignore[method-assign] - no socket here
    state = reference(events[:100])
    assert remote.on_frame(encode({"type": "connected", "control": False, "seq": 99}))
    remote.on_frame(encode(snapshot_of(state, 99)))
    assert remote.drain() == []  # a fresh snapshot waits for take_reset
    snap, after = remote.take_reset()
    assert snap["seq"] == 99 and after == []
    remote.on_frame(encode(events[90:120]))  # 90..99 again: dropped
    remote.on_frame(encode(events[120:130]))
    remote.on_frame(encode(events[140:150]))  # 130..139 missing: a gap
    assert sent == [{"type": "resume", "seq": 129}]
    assert [e["seq"] for e in remote.drain()] == list(range(100, 130))
    remote.on_frame(encode(events[130:150]))
    assert [e["seq"] for e in remote.drain()] == list(range(130, 150))
    assert remote.last_seq == 149
    # Read-only: commands still go out (the server refuses them) and a refusal is a notice.
    remote.on_frame(encode({"type": "error", "code": "forbidden", "message": "no"}))
    assert remote.take_notices() and not remote.take_notices()
    remote.on_frame(encode({"type": "controls", "paused": True, "speed": None}))
    assert remote.paused and remote.speed is None
    remote.on_frame(b"not json")
    remote.on_frame(encode({"type": "from-the-future"}))
    assert remote.drain() == []


async def test_every_bridge_frame_matches_the_schema(events):
    import json
    from pathlib import Path

    import jsonschema

    schema = json.loads((Path(__file__).parents[2] / "docs/bridge.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    viewer_message = jsonschema.Draft202012Validator(
        {"$defs": schema["$defs"], "$ref": "#/$defs/viewer_message"}
    )
    controls = FakeControls()
    server = await start_server(controls=controls, heartbeat=0.05)
    hub = server.hub
    hub.publish(events[:400])
    hub.flush()
    seen: dict[str, Any] = {}
    messages = [
        {"type": "control", "command": "step", "bars": 2, "id": "s"},
        {"type": "control", "command": "speed", "speed": None, "id": 3},
        {"type": "ping", "id": "p"},
        {"type": "resume", "seq": 10},
        {"type": "snapshot"},
        {"type": "mystery"},
    ]
    try:
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(ws_url(server, token=CONTROL))
            for m in messages:
                if m["type"] == "mystery":  # not in the schema; the server says so
                    assert not viewer_message.is_valid(m)
                else:
                    viewer_message.validate(m)
                await ws.send_str(orjson.dumps(m).decode())
            hub.publish(events[400:])
            hub.flush()
            for _ in range(200):
                frame = await receive(ws)
                validator.validate(frame)
                seen[frame["type"] if isinstance(frame, dict) else "batch"] = frame
                if len(seen) == 9:
                    break
            await ws.close()
    finally:
        await server.stop()
    assert set(seen) == {
        "connected",
        "snapshot",
        "ack",
        "controls",
        "pong",
        "resync",
        "error",
        "batch",
        "heartbeat",
    }
    assert seen["resync"]["reason"] == "requested"
