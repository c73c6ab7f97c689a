"""A small disk cache for downloaded bars, so that reruns work offline.

Location: :func:`cache_dir`, i.e. ``platformdirs.user_cache_dir("algotui")/yahoo`` (for example
``~/.cache/algotui/yahoo`` on Linux), or exactly the directory named by the environment variable
``ALGOTUI_CACHE_DIR`` when it is set (tests use this).

One request is one file, named after the request so that a directory listing is readable:
``AAPL_1d_1y.parquet`` (ticker, interval, period) or ``AAPL_1d_2024-01-01_2024-06-30.parquet``
(ticker, interval, start, end; ``now`` for an open end). Characters that are not safe in file
names are replaced by ``_`` and a short hash of the request is appended so that names stay
unique. The file is Parquet holding the frame; its schema metadata (key ``algotui.cache``)
holds a JSON object with ``fetched_at`` (ISO 8601, UTC) and the ``request``. Keeping the
metadata inside the one file means a file is either complete or absent: writes go to a
temporary file in the same directory and are moved into place with :func:`os.replace`.

Reading never raises: a truncated or otherwise unreadable file, bad metadata JSON or a frame
of the wrong shape is deleted and reported as a miss, so the caller simply downloads again.

Cache policy (decided by the caller, :func:`algotui.feed.yahoo.load_ticker`): a cached copy
never expires; it is replaced only when the user asks for ``--refresh``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from algotui.errors import DataError

if TYPE_CHECKING:  # imported where frames are read or written: `cache list` needs no pandas
    import pandas as pd

__all__ = [
    "CacheEntry",
    "CacheKey",
    "ENV_VAR",
    "cache_dir",
    "clear_cache",
    "format_age",
    "list_cache",
    "load_cached",
    "save_cached",
]

ENV_VAR = "ALGOTUI_CACHE_DIR"
SUFFIX = ".parquet"
META_KEY = b"algotui.cache"
FORMAT_VERSION = 1
COLUMNS = ("Open", "High", "Low", "Close", "Volume")
_TEMP_PREFIX = ".tmp-"
_UNSAFE = re.compile(r"[^A-Za-z0-9.\-=^]")


def cache_dir() -> Path:
    """The cache directory: ``$ALGOTUI_CACHE_DIR`` if set, else the user cache dir + ``yahoo``.

    The directory is not created here; :func:`save_cached` creates it on first write.
    """
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("algotui")) / "yahoo"


@dataclass(frozen=True)
class CacheKey:
    """One download request: what identifies a cached file.

    ``start`` and ``end`` are ISO dates (``"2024-01-31"``) or None; ``period`` is None when
    start/end are given.
    """

    ticker: str
    period: str | None
    interval: str
    start: str | None = None
    end: str | None = None

    def request(self) -> dict[str, Any]:
        """The request as a JSON-ready dict (stored in the file's metadata)."""
        return {
            "ticker": self.ticker.upper(),
            "period": self.period,
            "interval": self.interval,
            "start": self.start,
            "end": self.end,
        }

    def label(self) -> str:
        """Human-readable request, e.g. ``"AAPL 1d 1y"`` or ``"AAPL 1d 2024-01-01..now"``."""
        if self.start or self.end:
            span = f"{self.start or '...'}..{self.end or 'now'}"
        else:
            span = self.period or "?"
        return f"{self.ticker.upper()} {self.interval} {span}"

    @property
    def filename(self) -> str:
        """A safe, readable file name such as ``AAPL_1d_1y.parquet``."""
        if self.start or self.end:
            parts = [self.ticker.upper(), self.interval, self.start or "begin", self.end or "now"]
        else:
            parts = [self.ticker.upper(), self.interval, self.period or "default"]
        raw = "_".join(parts)
        stem = "_".join(_UNSAFE.sub("_", part) for part in parts)
        if stem != raw or stem.startswith("."):
            digest = hashlib.sha1(
                json.dumps(self.request(), sort_keys=True).encode(), usedforsecurity=False
            ).hexdigest()[:8]
            stem = f"{stem.lstrip('.') or '_'}-{digest}"
        return stem + SUFFIX


@dataclass(frozen=True)
class CacheEntry:
    """One cached file, as listed by :func:`list_cache`.

    ``rows``, ``fetched_at``, ``age_seconds`` and ``request`` are None when the file cannot
    be read (it will be replaced on the next download).
    """

    name: str
    path: Path
    size: int
    rows: int | None
    fetched_at: datetime | None
    age_seconds: float | None
    request: dict[str, Any] | None


def _now() -> datetime:
    return datetime.now(UTC)


def _age(fetched_at: datetime, now: datetime | None = None) -> float:
    return max(0.0, ((now or _now()) - fetched_at).total_seconds())


def _parse_meta(raw: bytes | None) -> tuple[datetime, dict[str, Any]]:
    """Decode the metadata JSON; raises ValueError/TypeError/KeyError when it is bad."""
    if raw is None:
        raise ValueError("no algotui metadata")
    meta = json.loads(raw.decode("utf-8"))
    fetched_at = datetime.fromisoformat(meta["fetched_at"])
    if fetched_at.tzinfo is None:
        fetched_at = fetched_at.replace(tzinfo=UTC)
    request = meta.get("request")
    if not isinstance(request, dict):
        raise ValueError("bad request metadata")
    return fetched_at, request


def _remove(path: Path) -> bool:
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError:
        return False
    return True


def load_cached(key: CacheKey) -> tuple[pd.DataFrame, float] | None:
    """The cached frame for ``key`` and its age in seconds, or None on a miss.

    Never raises: a corrupt file (truncated Parquet, bad metadata, wrong columns) is deleted
    and reported as a miss.
    """
    try:
        path = cache_dir() / key.filename
        if not path.is_file():
            return None
    except OSError:
        return None
    try:
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        fetched_at, _request = _parse_meta((table.schema.metadata or {}).get(META_KEY))
        frame = table.to_pandas()
        frame = _check_frame(frame)
    except Exception:  # pyarrow raises many types for corrupt files; any failure is a miss
        _remove(path)
        return None
    frame.attrs.clear()
    frame.attrs.update(fetched_at=fetched_at.isoformat())
    return frame, _age(fetched_at)


def _check_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Raise ValueError unless ``frame`` has the common bar shape; return it as float64."""
    import pandas as pd

    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ValueError("index is not a DatetimeIndex")
    if list(frame.columns) != list(COLUMNS):
        raise ValueError(f"unexpected columns {list(frame.columns)}")
    if frame.empty:
        raise ValueError("no rows")
    frame = frame.astype("float64")
    frame.index = pd.DatetimeIndex(frame.index).as_unit("ns")
    frame.index.name = "Date"
    return frame


def save_cached(key: CacheKey, frame: pd.DataFrame, *, fetched_at: datetime | None = None) -> Path:
    """Write ``frame`` for ``key`` atomically (temporary file, then :func:`os.replace`).

    Returns the path written. Raises OSError (with a short message) if the file cannot be
    written; the previous cached copy, if any, is then left untouched.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = cache_dir()
    path = directory / key.filename
    meta = {
        "version": FORMAT_VERSION,
        "fetched_at": (fetched_at or _now()).astimezone(UTC).isoformat(timespec="seconds"),
        "request": key.request(),
    }
    plain = frame.loc[:, list(COLUMNS)].copy()
    plain.attrs = {}
    tmp: str | None = None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(plain, preserve_index=True)
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), META_KEY: json.dumps(meta).encode("utf-8")}
        )
        fd, tmp = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=SUFFIX, dir=directory)
        os.close(fd)
        pq.write_table(table, tmp)
        os.replace(tmp, path)
        tmp = None
    except OSError:
        raise
    except Exception as exc:  # pyarrow conversion errors: report them like I/O errors
        raise OSError(f"cannot write {path.name}: {exc}") from exc
    finally:
        if tmp is not None:
            _remove(Path(tmp))
    return path


def list_cache() -> list[CacheEntry]:
    """Every cached file, sorted by name; a folder not made yet lists nothing.

    Raises:
        DataError: the cache folder is a file, or cannot be read.
    """
    directory = _readable_dir()
    if directory is None:
        return []
    import pyarrow.parquet as pq

    paths = sorted(
        p for p in directory.iterdir() if p.suffix == SUFFIX and not _is_temp(p) and p.is_file()
    )
    now = _now()
    entries: list[CacheEntry] = []
    for path in paths:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        rows: int | None = None
        fetched: datetime | None = None
        request: dict[str, Any] | None = None
        try:
            info = pq.read_metadata(path)
            fetched, request = _parse_meta((info.metadata or {}).get(META_KEY))
            rows = info.num_rows
        except Exception:  # unreadable: listed without details
            rows, fetched, request = None, None, None
        entries.append(
            CacheEntry(
                name=path.name,
                path=path,
                size=size,
                rows=rows,
                fetched_at=fetched,
                age_seconds=None if fetched is None else _age(fetched, now),
                request=request,
            )
        )
    return entries


def _is_temp(path: Path) -> bool:
    return path.name.startswith(_TEMP_PREFIX)


def clear_cache() -> int:
    """Delete every cached file (and leftover temporary files); return how many entries went.

    Only files this module writes (``*.parquet``) are touched, never other files or the
    directory itself, since ``ALGOTUI_CACHE_DIR`` may point anywhere.

    Raises:
        DataError: the cache folder is not a folder or cannot be read.
        CacheClearError: some files could not be removed (it names them and why).
    """
    directory = _readable_dir()
    if directory is None:
        return 0
    paths = [p for p in directory.iterdir() if p.suffix == SUFFIX and p.is_file()]
    removed = 0
    failed: list[tuple[str, str]] = []
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue  # gone already: nothing left to do
        except OSError as exc:
            failed.append((path.name, exc.strerror or type(exc).__name__))
            continue
        if not _is_temp(path):
            removed += 1
    if failed:
        names = ", ".join(name for name, _ in failed[:3]) + (", ..." if len(failed) > 3 else "")
        why = failed[0][1].lower()
        raise CacheClearError(
            f"removed {removed} cached files from {directory} but could not remove "
            f"{len(failed)} ({why}): {names}; check the folder's permissions"
        )
    return removed


class CacheClearError(DataError):
    """Some cached files could not be removed: not bad input, but the command failed."""

    exit_code = 1


def _readable_dir() -> Path | None:
    """The cache folder if it exists (None if not yet); a one-line error if it is unusable."""
    directory = cache_dir()
    where = f"{ENV_VAR}={directory}" if os.environ.get(ENV_VAR, "").strip() else str(directory)
    if not directory.exists():
        return None
    if not directory.is_dir():
        raise DataError(
            f"the cache folder {where} is a file, not a folder; point {ENV_VAR} at a folder "
            "(it is created when needed)"
        )
    try:
        next(directory.iterdir(), None)
    except OSError as exc:
        raise DataError(
            f"cannot read the cache folder {where} ({(exc.strerror or str(exc)).lower()}); "
            f"check its permissions or point {ENV_VAR} elsewhere"
        ) from exc
    return directory


def format_age(seconds: float) -> str:
    """A short age: ``"12s"``, ``"5 min"``, ``"3h"``, ``"1 day"``, ``"12 days"``."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{int(seconds)}s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    days = int(seconds // 86400)
    return "1 day" if days == 1 else f"{days} days"
