"""The results store: one SQLite file of finished runs, its schema and its migrations.

Writers take the write lock up front (``BEGIN IMMEDIATE``) and the file is in WAL mode with a
busy timeout, so two runs finishing at once queue for a moment instead of losing one. Every
SQLite or file-system failure becomes a :class:`StoreError` with one line saying what is wrong
with which file; the caller decides whether that stops a command or is only a warning.
"""

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from algotui.errors import UserError

if TYPE_CHECKING:
    from algotui.store.record import RunRecord

#: How long a writer waits for another one before giving up (seconds).
BUSY_SECONDS = 10.0

#: Schema steps: ``MIGRATIONS[k]`` takes a store from version ``k`` to ``k + 1``. A released
#: step is never edited; a change is a new step at the end.
MIGRATIONS: list[list[str]] = [
    # v1: runs with their trades, equity points and daily stats.
    [
        """CREATE TABLE runs (
            pk INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            run_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            saved_at TEXT NOT NULL,
            strategy TEXT NOT NULL,
            symbol TEXT NOT NULL,
            interval TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL DEFAULT '',
            params TEXT NOT NULL DEFAULT '{}',
            config TEXT NOT NULL DEFAULT '{}',
            status TEXT NOT NULL,
            error TEXT,
            bars INTEGER NOT NULL DEFAULT 0,
            total_bars INTEGER NOT NULL DEFAULT 0,
            return_pct REAL,
            sharpe REAL,
            max_drawdown REAL,
            trades INTEGER NOT NULL DEFAULT 0,
            win_rate REAL,
            final_equity REAL,
            metrics TEXT,
            recording TEXT
        )""",
        """CREATE TABLE trades (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            trade_id INTEGER NOT NULL,
            direction TEXT, entry_time TEXT, entry_price REAL, exit_time TEXT,
            exit_price REAL, size REAL, pnl REAL, pnl_percent REAL, commission REAL,
            exit_reason TEXT, mfe REAL, mae REAL, bars_held INTEGER, entry_bar INTEGER,
            exit_bar INTEGER, stop_loss REAL, take_profit REAL, entry_reason TEXT
        )""",
        "CREATE INDEX trades_run ON trades(run_pk)",
        """CREATE TABLE equity (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            bar_number INTEGER NOT NULL,
            timestamp TEXT, equity REAL NOT NULL, cash REAL, drawdown REAL
        )""",
        "CREATE INDEX equity_run ON equity(run_pk)",
        """CREATE TABLE daily (
            run_pk INTEGER NOT NULL REFERENCES runs(pk) ON DELETE CASCADE,
            date TEXT NOT NULL, equity REAL, return_pct REAL, trades INTEGER NOT NULL
        )""",
        "CREATE INDEX daily_run ON daily(run_pk)",
    ],
    # v2: the latest run per (strategy, symbol) is flagged, kept right on every insert.
    [
        "ALTER TABLE runs ADD COLUMN latest INTEGER NOT NULL DEFAULT 0",
        """UPDATE runs SET latest = 1
           WHERE pk IN (SELECT max(pk) FROM runs GROUP BY strategy, symbol)""",
        "CREATE INDEX runs_pair ON runs(strategy, symbol)",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)

TRADE_FIELDS = (
    "trade_id direction entry_time entry_price exit_time exit_price size pnl pnl_percent "
    "commission exit_reason mfe mae bars_held entry_bar exit_bar stop_loss take_profit "
    "entry_reason"
).split()
EQUITY_FIELDS = ("bar_number", "timestamp", "equity", "cash", "drawdown")
DAILY_FIELDS = ("date", "equity", "return_pct", "trades")
#: The columns of a run's summary row, in the order ``runs list`` reads them.
SUMMARY_FIELDS = (
    "id run_id created_at saved_at strategy symbol interval source status error bars "
    "total_bars return_pct sharpe max_drawdown trades win_rate final_equity recording latest"
).split()


class StoreError(UserError):
    """The store cannot be used: locked, damaged, too new or not writable (one line)."""


class UnknownRun(UserError):
    """No stored run matches an id (or the id prefix matches several)."""


def default_path() -> Path:
    """``ALGOTUI_DB``, else ``runs.sqlite`` in the user data folder."""
    env = os.environ.get("ALGOTUI_DB")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return platformdirs.user_data_path("algotui") / "runs.sqlite"


def resolve_path(db: Path | str | None = None) -> Path:
    """The store a command uses: ``--db PATH`` first, then ``ALGOTUI_DB``, then the default."""
    return Path(db).expanduser() if db else default_path()


def describe(exc: BaseException, path: Path) -> str:
    """One line on what is wrong with the store at ``path``."""
    text = str(exc) or type(exc).__name__
    low = text.lower()
    if "locked" in low or "busy" in low:
        return (
            f"the results store {path} is locked by another program; try again, "
            "or use --db PATH for another store"
        )
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in low or "malformed" in low or "corrupt" in low
    ):
        return (
            f"the results store {path} is damaged ({text}); move it away or use --db PATH "
            "for another one"
        )
    return f"the results store {path} cannot be used ({text})"


class Store:
    """An open results store. Use as a context manager; every method may raise StoreError."""

    def __init__(self, path: Path | str, *, timeout: float | None = None) -> None:
        self.path = Path(path)
        self.timeout = timeout = BUSY_SECONDS if timeout is None else timeout
        self.conn: sqlite3.Connection | None = None
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self.conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA journal_mode = WAL")
            self._migrate()

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite and file-system failures as one-line StoreErrors."""
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise StoreError(describe(exc, self.path)) from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the write lock from its start."""
        assert self.conn is not None
        conn = self.conn
        with self._errors():
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _migrate(self) -> None:
        with self._write() as conn:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the results store {self.path} has schema v{version}, newer than this "
                    f"algotui knows (v{SCHEMA_VERSION}); upgrade algotui or use --db PATH"
                )
            for step in MIGRATIONS[version:]:
                for statement in step:
                    conn.execute(statement)
            if version < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def version(self) -> int:
        """The schema version of the file."""
        assert self.conn is not None
        with self._errors():
            return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    # -- writing -------------------------------------------------------------------------------

    def save(self, rec: "RunRecord") -> str:
        """Insert a run in one transaction; its id (the run's own, unless that is taken)."""
        with self._write() as conn:
            taken = conn.execute("SELECT 1 FROM runs WHERE id = ?", (rec.run_id,)).fetchone()
            run_key = uuid.uuid4().hex[:12] if taken or not rec.run_id else rec.run_id
            conn.execute(
                "UPDATE runs SET latest = 0 WHERE strategy = ? AND symbol = ? AND latest = 1",
                (rec.strategy, rec.symbol),
            )
            summary = rec.summary()
            cur = conn.execute(
                """INSERT INTO runs (id, run_id, created_at, saved_at, strategy, symbol,
                   interval, source, params, config, status, error, bars, total_bars,
                   return_pct, sharpe, max_drawdown, trades, win_rate, final_equity, metrics,
                   recording, latest)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)""",
                (
                    run_key,
                    rec.run_id or run_key,
                    rec.created_at,
                    rec.saved_at,
                    rec.strategy,
                    rec.symbol,
                    rec.interval,
                    rec.source,
                    _dumps(rec.params),
                    _dumps(rec.config),
                    rec.status,
                    rec.error,
                    rec.bars,
                    rec.total_bars,
                    summary["return_pct"],
                    summary["sharpe"],
                    summary["max_drawdown"],
                    summary["trades"],
                    summary["win_rate"],
                    summary["final_equity"],
                    None if rec.metrics is None else _dumps(rec.metrics),
                    rec.recording,
                ),
            )
            pk = cur.lastrowid
            _insert(conn, "trades", TRADE_FIELDS, pk, rec.trades)
            _insert(conn, "equity", EQUITY_FIELDS, pk, rec.equity)
            _insert(conn, "daily", DAILY_FIELDS, pk, rec.daily)
        return run_key

    def delete(self, run_key: str) -> None:
        """Delete one run (its trades and curves go with it); the pair's latest moves back."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT strategy, symbol FROM runs WHERE id = ?", (run_key,)
            ).fetchone()
            if row is None:
                return
            conn.execute("DELETE FROM runs WHERE id = ?", (run_key,))
            conn.execute(
                """UPDATE runs SET latest = 1 WHERE pk = (
                   SELECT max(pk) FROM runs WHERE strategy = ? AND symbol = ?)""",
                (row["strategy"], row["symbol"]),
            )

    # -- reading -------------------------------------------------------------------------------

    def runs(
        self, *, strategy: str | None = None, symbol: str | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Summary rows, newest first (strategy and symbol match case-insensitively)."""
        where, args = [], []
        if strategy:
            where.append("strategy = ? COLLATE NOCASE")
            args.append(strategy)
        if symbol:
            where.append("symbol = ? COLLATE NOCASE")
            args.append(symbol)
        sql = f"SELECT {', '.join(SUMMARY_FIELDS)}, params FROM runs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY pk DESC"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return [self._row(r) for r in self._query(sql, args)]

    def count(self) -> int:
        """How many runs are stored."""
        return int(self._query("SELECT count(*) FROM runs", ())[0][0])

    def resolve(self, ref: str) -> str:
        """The full id of the run whose id starts with ``ref`` (like a git commit)."""
        ref = ref.strip()
        if not ref:
            raise UnknownRun("give a run id (see: algotui runs list)")
        rows = self._query(
            "SELECT id FROM runs WHERE substr(id, 1, ?) = ? ORDER BY pk DESC LIMIT 6",
            (len(ref), ref),
        )
        if not rows:
            if self.count() == 0:
                raise UnknownRun(f"no runs stored yet in {self.path}; `algotui run` saves them")
            raise UnknownRun(f"no stored run has an id starting with {ref!r} (algotui runs list)")
        if len(rows) > 1:
            shown = ", ".join(r[0] for r in rows[:5])
            raise UnknownRun(f"run id {ref!r} is ambiguous ({shown}...): give more characters")
        return str(rows[0][0])

    def get(self, run_key: str) -> dict[str, Any]:
        """A run's summary with its params, config and metrics decoded."""
        rows = self._query(
            f"SELECT {', '.join(SUMMARY_FIELDS)}, params, config, metrics FROM runs WHERE id = ?",
            (run_key,),
        )
        if not rows:
            raise UnknownRun(f"no stored run has the id {run_key!r}")
        row = self._row(rows[0])
        row["config"] = json.loads(row["config"] or "{}")
        row["metrics"] = None if row["metrics"] is None else json.loads(row["metrics"])
        return row

    def trades(self, run_key: str) -> list[dict[str, Any]]:
        """A run's closed trades, in order."""
        return self._children("trades", TRADE_FIELDS, run_key, "trade_id")

    def equity(self, run_key: str) -> list[dict[str, Any]]:
        """A run's equity points, in bar order."""
        return self._children("equity", EQUITY_FIELDS, run_key, "bar_number")

    def daily(self, run_key: str) -> list[dict[str, Any]]:
        """A run's daily stats, by date."""
        return self._children("daily", DAILY_FIELDS, run_key, "date")

    def _children(
        self, table: str, fields: tuple[str, ...] | list[str], run_key: str, order: str
    ) -> list[dict[str, Any]]:
        sql = (
            f"SELECT {', '.join('c.' + f for f in fields)} FROM {table} c "
            f"JOIN runs r ON r.pk = c.run_pk WHERE r.id = ? ORDER BY c.{order}, c.rowid"
        )
        return [dict(r) for r in self._query(sql, (run_key,))]

    def _query(self, sql: str, args: Any) -> list[sqlite3.Row]:
        assert self.conn is not None, "the store is closed"
        with self._errors():
            return self.conn.execute(sql, args).fetchall()

    @staticmethod
    def _row(row: sqlite3.Row) -> dict[str, Any]:
        d = dict(row)
        d["params"] = json.loads(d.get("params") or "{}")
        d["latest"] = bool(d.get("latest"))
        return d


def _dumps(value: Any) -> str:
    return json.dumps(value, default=str)


def _insert(
    conn: sqlite3.Connection,
    table: str,
    fields: tuple[str, ...] | list[str],
    pk: int | None,
    rows: list[dict[str, Any]],
) -> None:
    if not rows:
        return
    sql = (
        f"INSERT INTO {table} (run_pk, {', '.join(fields)}) "
        f"VALUES (?, {', '.join('?' for _ in fields)})"
    )
    conn.executemany(sql, ([pk, *(r.get(f) for f in fields)] for r in rows))


def open_existing(path: Path) -> Store:
    """The store at ``path`` for reading commands: an empty or missing one is a one-line error."""
    if not path.exists():
        raise UnknownRun(f"no runs stored yet: {path} does not exist (`algotui run` saves runs)")
    return Store(path)
