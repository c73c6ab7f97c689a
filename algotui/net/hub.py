"""The fan-out: one run's events, encoded once, to every viewer without anyone waiting.

The hub lives in one asyncio loop and is only touched from it. :meth:`Hub.publish` takes
protocol v1 dicts; they go out in time batches (one JSON array per frame, at most
:data:`BATCH_SECONDS` old; ``complete`` and ``error`` at once), encoded once with orjson and
shared by all viewers. The same dicts feed a :class:`~algotui.view.state.RunState`, the one
source of truth for snapshots. A ring buffer of recent frames serves ``resume``.

Each viewer has a bounded queue of frames drained by its own writer task (python-websockets'
"a queue per client" idiom): :meth:`Viewer.offer` never waits. A viewer whose queue fills is
dropped from the live stream and, when its writer gets to it, sent a ``resync`` and a fresh
snapshot; so a laggard costs the others nothing and the server's memory stays bounded by
(queue bound x viewers + ring).
"""

import asyncio
import time
from collections import deque
from datetime import UTC, datetime
from typing import Any

import orjson

from algotui.net.snapshot import snapshot_of
from algotui.protocol.fields import PROTOCOL_VERSION
from algotui.protocol.read import BadEvent, candles_of, record_of
from algotui.view.state import RunState

#: Events wait at most this long to share a frame with the ones that follow.
BATCH_SECONDS = 0.02
#: A frame never carries more events than this (a burst is cut into several frames).
MAX_BATCH_EVENTS = 2_000
#: Events kept for ``resume``; an older ``seq`` gets a fresh snapshot instead.
RING_EVENTS = 20_000
#: A viewer's queue: at most this many frames and bytes before it is resynchronised.
QUEUE_FRAMES = 128
QUEUE_BYTES = 1 << 20
#: A laggard's queued batches are merged into frames of up to about this size.
COALESCE_BYTES = 256 << 10
#: Bridge protocol version (the frames beside protocol v1's events).
BRIDGE_VERSION = 1

_DUMPS = orjson.dumps
_OPTS = orjson.OPT_SERIALIZE_NUMPY
_ENDS = frozenset({"complete", "error"})


def encode(message: Any) -> bytes:
    """One frame's JSON text (UTF-8), the same bytes for every viewer."""
    return _DUMPS(message, option=_OPTS)


def now_iso() -> str:
    """The wall clock in ISO 8601 (UTC), for heartbeats."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Viewer:
    """One connected viewer's outbound queue (frames already encoded)."""

    def __init__(self, peer: str = "", *, can_control: bool = False) -> None:
        self.peer = peer
        self.can_control = can_control
        self.frames: deque[bytes] = deque()
        self.queued_bytes = 0
        self.resync: str | None = None  # why the writer must send a fresh snapshot
        self.closed = False
        self.sent_events = 0
        self.last_push = time.monotonic()
        self._waiter: Any = None  # an asyncio.Future the writer sleeps on

    def push(self, frame: bytes) -> bool:
        """Queue ``frame``; False (and a resync owed) when the queue is full."""
        if self.resync is not None or self.closed:
            return False
        if len(self.frames) >= QUEUE_FRAMES or self.queued_bytes + len(frame) > QUEUE_BYTES:
            self.clear()
            self.resync = "lagging"
            self.wake()
            return False
        self.frames.append(frame)
        self.queued_bytes += len(frame)
        self.last_push = time.monotonic()
        self.wake()
        return True

    def pop(self) -> bytes | None:
        """The next frame to send, if any. A viewer that fell behind gets the event batches
        waiting in its queue coalesced into one frame (one send instead of many)."""
        frames = self.frames
        if not frames:
            return None
        frame = frames.popleft()
        self.queued_bytes -= len(frame)
        if frame[:1] != b"[" or not frames or frames[0][:1] != b"[":
            return frame
        parts = [frame[:-1]]
        size = len(frame)
        while frames and frames[0][:1] == b"[" and size < COALESCE_BYTES:
            more = frames.popleft()
            self.queued_bytes -= len(more)
            size += len(more)
            if len(more) > 2:  # never an empty batch, but "[]" must not leave ",,"
                parts.append(more[1:-1])
        return b",".join(parts) + b"]"

    def clear(self) -> None:
        """Forget the queued event batches (a resume or a resync replaces them); replies to
        the viewer's own messages (acks, errors) stay, in order."""
        kept = [f for f in self.frames if f[:1] != b"["]
        self.frames = deque(kept)
        self.queued_bytes = sum(len(f) for f in kept)

    def wake(self) -> None:
        """Rouse the writer (something is owed)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until a frame or a resync is owed (heartbeats are queued by the server's ticker,
        so an idle writer costs no timer)."""
        if self.frames or self.resync is not None or self.closed:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None

    def close(self) -> None:
        """The connection is gone: drop everything and release the writer."""
        self.closed = True
        self.frames.clear()
        self.queued_bytes = 0
        self.wake()


class Hub:
    """One run's stream: state, ring buffer, batching and the viewers."""

    def __init__(
        self,
        *,
        server: str = "algotui",
        controls: Any = None,
        batch_seconds: float = BATCH_SECONDS,
        ring_events: int = RING_EVENTS,
    ) -> None:
        self.server = server
        self.controls = controls
        self.batch_seconds = batch_seconds
        self.ring_events = ring_events
        self.state = RunState()
        self.seq = -1
        self.viewers: set[Viewer] = set()
        self._ring: deque[tuple[int, int, list[dict[str, Any]], bytes]] = deque()
        self._ring_count = 0
        self._pending: list[dict[str, Any]] = []
        self._flush_handle: Any = None
        self._controls_seen: tuple | None = None
        self.started = time.monotonic()
        self.events_published = 0
        self.events_sent = 0
        self.frames_sent = 0
        self.resyncs = 0
        self.drops = 0
        self.bad_events = 0
        self._snapshot: tuple[tuple[int, int], bytes] | None = None

    @property
    def run_id(self) -> str | None:
        """The run's id (from its metadata), once known."""
        return self.state.meta.get("run_id")

    # -- the source side -----------------------------------------------------------------------

    def publish(self, events: list[dict[str, Any]]) -> None:
        """Take protocol v1 dicts in ``seq`` order; they go out within :data:`BATCH_SECONDS`."""
        if not events:
            return
        self._pending.extend(events)
        if any(e.get("type") in _ENDS for e in events) or len(self._pending) >= MAX_BATCH_EVENTS:
            self.flush()
        elif self._flush_handle is None:
            loop = asyncio.get_running_loop()
            self._flush_handle = loop.call_later(self.batch_seconds, self.flush)

    def flush(self) -> None:
        """Send what is pending now, as frames of at most :data:`MAX_BATCH_EVENTS` events."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        pending, self._pending = self._pending, []
        for a in range(0, len(pending), MAX_BATCH_EVENTS):
            self._send_batch(pending[a : a + MAX_BATCH_EVENTS])
        self.check_controls()

    def _send_batch(self, events: list[dict[str, Any]]) -> None:
        # The state moves with what is sent, so a snapshot taken between two frames holds
        # exactly the events up to the last frame: nothing lost or doubled for a joiner.
        self._apply(events)
        self.seq = int(events[-1].get("seq", self.seq + len(events)))
        frame = encode(events)
        first = int(events[0].get("seq", self.seq - len(events) + 1))
        self._ring.append((first, self.seq, events, frame))
        self._ring_count += len(events)
        while self._ring and self._ring_count - len(self._ring[0][2]) >= self.ring_events:
            self._ring_count -= len(self._ring.popleft()[2])
        self.events_published += len(events)
        n = len(events)
        for viewer in self.viewers:
            behind = viewer.resync is not None
            if viewer.push(frame):
                viewer.sent_events += n
                self.events_sent += n
                self.frames_sent += 1
            elif not behind and not viewer.closed:
                self.drops += 1  # its queue was full: it gets a resync, nobody waits

    def _apply(self, events: list[dict[str, Any]]) -> None:
        """Feed the run state (consecutive candles as one batch: a batch per candle costs
        ~10x more); an event it cannot read is still relayed, and counted."""
        records: list[Any] = []
        run: list[dict[str, Any]] = []

        def close_run() -> None:
            if not run:
                return
            try:
                records.append(candles_of(run))
            except (BadEvent, KeyError, TypeError, ValueError):
                for candle in run:  # find the bad one(s)
                    self._record(candle, records)
            run.clear()

        for event in events:
            if event.__class__ is dict and event.get("type") == "candle":
                if run and event.get("seq") != run[-1].get("seq", -2) + 1:
                    close_run()
                run.append(event)
                continue
            close_run()
            self._record(event, records)
        close_run()
        self.state.apply(records)

    def _record(self, event: Any, records: list[Any]) -> None:
        try:
            if event.get("type") == "metadata":  # the state names its dicts after the run
                self.state.run_id = str(event.get("run_id") or "")
            records.append(record_of(event))
        except (BadEvent, KeyError, TypeError, ValueError, AttributeError):
            self.bad_events += 1

    # -- viewers -------------------------------------------------------------------------------

    def connected_message(self, viewer: Viewer) -> dict[str, Any]:
        """The first frame a viewer gets."""
        return {
            "type": "connected",
            "server": self.server,
            "protocol": PROTOCOL_VERSION,
            "bridge": BRIDGE_VERSION,
            "run_id": self.run_id,
            "seq": self.seq,
            "control": viewer.can_control,
            **self.controls_state(),
        }

    def snapshot_frame(self) -> bytes:
        """A fresh snapshot of the run as of :attr:`seq`, encoded (once per state: viewers
        joining or resynchronised together share it)."""
        key = (self.seq, self.state.version)
        if self._snapshot is None or self._snapshot[0] != key:
            self._snapshot = (key, encode(snapshot_of(self.state, self.seq)))
        return self._snapshot[1]

    def join(self, viewer: Viewer, since: int | None = None) -> None:
        """Register ``viewer``: ``connected``, then a snapshot (or, with ``since``, the events
        after it from the ring), then live frames. No await in here, so no frame slips
        between what the viewer is given and what it is sent next."""
        viewer.push(encode(self.connected_message(viewer)))
        self.viewers.add(viewer)
        if since is None:
            viewer.push(self.snapshot_frame())
        else:
            self.resume(viewer, since, clear=False)

    def leave(self, viewer: Viewer) -> None:
        """Forget ``viewer``."""
        self.viewers.discard(viewer)
        viewer.close()

    def resume(self, viewer: Viewer, since: int, *, clear: bool = True) -> None:
        """Send ``viewer`` the events after ``since``: from the ring, or (too old) a
        ``resync`` and a fresh snapshot. What was queued for it is replaced."""
        if clear:
            viewer.clear()
        if since >= self.seq:
            return
        if not self._ring or since + 1 < self._ring[0][0]:
            self.send_snapshot(viewer, "resume")
            return
        for first, last, events, frame in self._ring:
            if last <= since:
                continue
            if first <= since:
                events = [e for e in events if e.get("seq", -1) > since]
                frame = encode(events)
            viewer.push(frame)

    def send_snapshot(self, viewer: Viewer, reason: str) -> None:
        """Queue a ``resync`` and a fresh snapshot now (what was queued before stays first)."""
        self.resyncs += 1
        viewer.push(encode({"type": "resync", "reason": reason, "seq": self.seq}))
        viewer.push(self.snapshot_frame())

    def take_resync(self, viewer: Viewer) -> list[bytes]:
        """The frames owed to a viewer marked for resync (``resync`` then ``snapshot``); the
        viewer is back on the live stream from this instant."""
        reason = viewer.resync
        viewer.resync = None
        replies = list(viewer.frames)  # acks and errors still owed, then the fresh start
        viewer.frames.clear()
        viewer.queued_bytes = 0
        self.resyncs += 1
        resync = {"type": "resync", "reason": reason, "seq": self.seq}
        return [*replies, encode(resync), self.snapshot_frame()]

    def reply(self, viewer: Viewer, message: dict[str, Any]) -> None:
        """Queue a bridge message (ack, error) for one viewer."""
        viewer.push(encode(message))

    def heartbeat(self) -> bytes:
        """A ``heartbeat`` frame: the stream is alive, here is where it stands."""
        return encode(
            {"type": "heartbeat", "seq": self.seq, "time": now_iso(), **self.controls_state()}
        )

    # -- controls ------------------------------------------------------------------------------

    def controls_state(self) -> dict[str, Any]:
        """How the run plays (paused, speed, finishing), when the hub has controls."""
        c = self.controls
        if c is None:
            return {}
        return {
            "paused": bool(c.paused),
            "speed": c.speed,
            "finishing": bool(getattr(c, "finishing", False)),
        }

    def check_controls(self) -> None:
        """Tell every viewer when the run's pace changed (by any viewer, or a local key)."""
        state = self.controls_state()
        if not state:
            return
        key = tuple(state.values())
        if key == self._controls_seen:
            return
        first = self._controls_seen is None
        self._controls_seen = key
        if first:
            return
        frame = encode({"type": "controls", **state})
        for viewer in self.viewers:
            viewer.push(frame)

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counters for ``GET /status``."""
        lagging = sum(1 for v in self.viewers if v.resync is not None)
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "viewers": len(self.viewers),
            "lagging": lagging,
            "events_published": self.events_published,
            "events_sent": self.events_sent,
            "frames_sent": self.frames_sent,
            "resyncs": self.resyncs,
            "drops": self.drops,
            "bad_events": self.bad_events,
            "ring_events": self._ring_count,
            "queued_bytes": sum(v.queued_bytes for v in self.viewers),
            "done": self.state.done,
        }
