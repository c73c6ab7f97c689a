"""The recorder sink: a run's records as JSON Lines, one write per record, crash-safe."""

import errno
import os
import threading
import zlib
from collections import deque
from pathlib import Path
from typing import Any

from algotui.errors import UserError
from algotui.protocol.encode import Encoder, dumps
from algotui.protocol.records import Candles


class RecordingError(UserError):
    """Writing the recording failed (a full disk, a file-size limit, a vanished folder)."""


def check_target(path: Path, protected: list[Path]) -> None:
    """Refuse a recording path that would destroy one of the user's files: an input (the data
    file, the strategy file) or any existing file that is not a recording."""
    for other in protected:
        try:
            same = path.exists() and other.exists() and os.path.samefile(path, other)
        except OSError:
            same = False
        if same:
            raise UserError(
                f"--record {path}: that is the run's own input ({other}); record elsewhere"
            )
    if path.is_file() and path.stat().st_size > 0 and not _is_recording(path):
        raise UserError(
            f"--record {path}: the file exists and is not an algotui recording; "
            "remove it or record to another name"
        )


def _is_recording(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return False
    if path.suffix == ".gz":
        return head[:2] == b"\x1f\x8b"
    return head.startswith(b'{"type":"metadata"')


class Recorder:
    """Writes each record as JSON lines and hands them to the OS at once.

    Every completed event is in the file even if the process is killed a moment later: a plain
    file gets one unbuffered ``write`` per record (one event, or a run of candles the engine has
    just finished); a ``.gz`` file is sync-flushed per record, so a reader can decompress
    everything up to the last whole event. A write that fails (a full disk, a file-size limit)
    cuts the file back to its last whole event and raises :class:`RecordingError`.
    """

    def __init__(self, path: str | Path, run_id: str, protected: list[Path] | None = None) -> None:
        self.path = Path(path)
        self.encoder = Encoder(run_id)
        folder = self.path.parent
        if not folder.is_dir():
            raise UserError(f"--record {path}: folder {folder} does not exist")
        check_target(self.path, protected or [])
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        except OSError as exc:
            raise UserError(f"--record {path}: cannot write there ({exc.strerror})") from None
        # a special file (a pipe, /dev/stdout) cannot be cut back; a regular one can
        self._regular = os.path.isfile(self.path)
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31) if self.path.suffix == ".gz" else None
        self.last_seq = -1
        self.size = 0  # bytes of whole events written
        self.failed: RecordingError | None = None
        self._columns: Any = None
        # where the last few records began: room for an error event on a full disk
        self._ends: deque[tuple[int, int]] = deque(maxlen=16)
        self.lock = threading.Lock()  # the run's thread and a watchdog may both write

    def write(self, record: Any) -> None:
        """Append one record: one event, or a run of candles."""
        if isinstance(record, Candles):
            origin = record.origin
            if origin is not None and origin is not self._columns:
                # a long run's candle text renders a block ahead, in a child where it can
                if self._columns is not None:
                    self._columns.close()
                self._columns = origin
                origin.render_in_child()
            self.last_seq = record.last_seq
        else:
            self.last_seq = record.seq
        self._write(self.encoder.lines(record))

    def write_error(self, message: str, details: str = "") -> None:
        """End the recording with an ``error`` event. On a full disk (or at a size limit) the
        last few records give way to it if they must: a recording always ends on a whole
        event, and one that did not complete ends with its ``error``."""
        failed, self.failed = self.failed, None
        while True:
            self.last_seq = self.last_seq_written + 1
            event = {
                "type": "error",
                "seq": self.last_seq,
                "run_id": self.encoder.run_id,
                "message": message,
                "details": details,
            }
            try:
                self._write(dumps(event) + "\n")
                break
            except RecordingError:
                self.failed = None
                if not self._ends:
                    break
                self.size, self.last_seq_written = self._ends.pop()
                self._cut_back()
        if failed is not None:
            self.failed = failed

    def _write(self, text: str) -> None:
        if self.failed is not None:
            raise self.failed
        data = text.encode()
        if self._zip is not None:
            data = self._zip.compress(data) + self._zip.flush(zlib.Z_SYNC_FLUSH)
        try:
            written = os.write(self._fd, data)
            if written != len(data):  # a short write (a pipe, a nearly full disk): the rest
                view = memoryview(data)[written:]
                while view:
                    view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self._cut_back()
            reason = {
                errno.ENOSPC: "the disk is full",
                errno.EFBIG: "the file reached the size limit",
                errno.EDQUOT: "the disk quota is used up",
            }.get(exc.errno or 0, exc.strerror or str(exc))
            self.failed = RecordingError(
                f"--record {self.path}: writing failed: {reason}; the recording ends with "
                "an error event after the last whole one"
            )
            self.failed.exit_code = 1
            raise self.failed from None
        self._ends.append((self.size, self.last_seq_written))
        self.size += len(data)
        self.last_seq_written = self.last_seq

    last_seq_written = -1

    def _cut_back(self) -> None:
        """Drop a torn end: the file ends with its last whole event again."""
        if self._regular and self._zip is None:
            try:
                os.ftruncate(self._fd, self.size)
                os.lseek(self._fd, self.size, os.SEEK_SET)
            except OSError:
                pass

    def close(self) -> None:
        """Finish the file (the gzip trailer, for ``.gz``)."""
        if self._columns is not None:
            self._columns.close()
            self._columns = None
        if self._fd < 0:
            return
        try:
            if self._zip is not None and self.failed is None:
                os.write(self._fd, self._zip.flush(zlib.Z_FINISH))
        except OSError:
            pass
        finally:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
