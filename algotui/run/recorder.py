"""The recorder sink: the event stream as JSON Lines, one write per event, crash-safe."""

import io
import zlib
from pathlib import Path
from typing import IO

from algotui.errors import UserError
from algotui.protocol.codec import Codec, Event


class Recorder:
    """Writes each event as one JSON line and hands it to the OS at once.

    Every completed event is in the file even if the process is killed a moment later: a plain
    file gets one unbuffered ``write`` per item of the engine's stream (one event, or a run of
    candles the engine has just finished); a ``.gz`` file is sync-flushed per item, so a reader
    can decompress everything up to the last whole event.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            if self.path.parent and not self.path.parent.exists():
                raise UserError(f"--record {path}: folder {self.path.parent} does not exist")
            raw = open(self.path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise UserError(f"--record {path}: cannot write there ({exc.strerror})") from None
        self._raw: IO[bytes] = raw
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31) if self.path.suffix == ".gz" else None
        self.last_seq = -1
        self._codec: Codec | None = None

    def write(self, codec: Codec, event: Event) -> None:
        """Append one engine stream item: one event, or a run of candles."""
        if event.type == "candles":
            if codec is not self._codec:  # a long run's candles render in a child, ahead
                if self._codec is not None:
                    self._codec.close()
                self._codec = codec
                codec.render_in_child()
            a, b = event.data
            self.last_seq = event.seq + b - a - 1
        else:
            self.last_seq = event.seq
        self._write(codec.lines(event))

    def write_line(self, line: str) -> None:
        """Append one already-serialised event."""
        self._write(line + "\n")

    def _write(self, text: str) -> None:
        data = text.encode()
        if self._zip is not None:
            data = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        self._raw.write(data)

    def close(self) -> None:
        """Finish the file (the gzip trailer, for ``.gz``)."""
        if self._codec is not None:
            self._codec.close()
            self._codec = None
        if self._raw.closed:
            return
        if self._zip is not None:
            self._raw.write(self._zip.flush(zlib.Z_FINISH))
        self._raw.close()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_recording(path: str | Path) -> IO[str]:
    """Open a recording for reading, plain or gzip, tolerant of a torn end (a killed run)."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"no such recording: {path}")
    if p.suffix == ".gz":
        return io.TextIOWrapper(_TolerantGzip(p), encoding="utf-8")
    return open(p, encoding="utf-8")  # noqa: SIM115 - the caller closes it


class _TolerantGzip(io.RawIOBase):
    """Reads a gzip file that may have been cut off mid-stream."""

    def __init__(self, path: Path) -> None:
        self._f = open(path, "rb")  # noqa: SIM115
        self._d = zlib.decompressobj(31)
        self._buf = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray) -> int:  # type: ignore[override]
        while not self._buf and not self._eof:
            chunk = self._f.read(65536)
            if not chunk:
                self._eof = True
                try:
                    self._buf = self._d.flush()
                except zlib.error:
                    pass
                break
            try:
                self._buf = self._d.decompress(chunk)
            except zlib.error:
                self._eof = True
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n

    def close(self) -> None:
        self._f.close()
        super().close()
