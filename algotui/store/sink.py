"""Feeding the store: a sink of the event stream, and the same from a viewer's run state.

:class:`StoreSink` takes protocol v1 dicts as they come (candles only counted) and writes the
run in one transaction at :meth:`StoreSink.finish`. A store that cannot be used never fails
the run: one line goes to stderr and ``finish`` returns None.
"""

import sys
from pathlib import Path
from typing import Any, TextIO

from algotui.store.db import Store, StoreError, resolve_path
from algotui.store.record import RunRecord, build_record

#: Equity event fields kept as a curve point.
_POINT = ("bar_number", "timestamp", "equity", "cash", "drawdown")
#: The event types the store keeps (signals, stats and level moves are not stored).
_KEPT = frozenset({"metadata", "trade", "equity", "complete", "error"})


def save_record(
    rec: RunRecord, db: Path | str | None = None, *, err: TextIO | None = None
) -> str | None:
    """Save ``rec`` to the store; its id, or None after one line on ``err`` (never raises)."""
    path = resolve_path(db)
    try:
        with Store(path) as store:
            return store.save(rec)
    except StoreError as exc:
        print(f"algotui: warning: run not saved: {exc}", file=err or sys.stderr)
    except Exception as exc:  # noqa: BLE001 - whatever goes wrong here, the run has succeeded
        why = f"{type(exc).__name__}: {exc}"
        print(f"algotui: warning: run not saved to {path} ({why})", file=err or sys.stderr)
    return None


class StoreSink:
    """Collects one run's events and saves it when told the run ended.

    Feed it protocol v1 dicts (:meth:`add`: a recording, a socket) or the engine's records
    (:meth:`add_record`: ``run_headless(..., sinks=[sink.add_record])``); candles are only
    counted.
    """

    def __init__(
        self, db: Path | str | None = None, *, run_id: str = "", err: TextIO | None = None
    ) -> None:
        self.db = db
        self.err = err
        self.run_id = run_id
        self.meta: dict[str, Any] | None = None
        self.trades: list[dict[str, Any]] = []
        self.equity: list[dict[str, Any]] = []
        self.metrics: dict[str, Any] | None = None
        self.error: dict[str, Any] | None = None
        self.bars = 0
        self.saved_id: str | None = None
        self._encoder: Any = None

    def add(self, event: dict[str, Any]) -> None:
        """Take one protocol v1 dict; candles are only counted."""
        kind = event.get("type")
        if kind == "candle":
            self.bars += 1
        elif kind == "equity":
            self.equity.append({k: event.get(k) for k in _POINT})
        elif kind == "trade":
            self.trades.append(event)
        elif kind == "metadata":
            self.meta = event
        elif kind == "complete":
            self.metrics = event.get("metrics") or {}
            self.bars = int(event.get("total_bars") or self.bars)
        elif kind == "error":
            self.error = event

    def add_record(self, record: Any) -> None:
        """Take one of the engine's records (:mod:`algotui.protocol.records`): a batch of
        candles is counted, and only what the store keeps becomes a dict."""
        kind = record.type
        if kind == "candle":
            self.bars += len(record)
        elif kind in _KEPT:
            if self._encoder is None:
                from algotui.protocol.encode import Encoder

                self._encoder = Encoder(self.run_id)
            self.add(self._encoder.to_dict(record))

    def record(
        self,
        status: str | None = None,
        recording: Path | str | None = None,
        config: dict[str, Any] | None = None,
    ) -> RunRecord | None:
        """The run collected so far as a record (None before its metadata)."""
        if self.meta is None:
            return None
        return build_record(
            self.meta,
            trades=self.trades,
            equity=self.equity,
            metrics=self.metrics,
            error=self.error,
            bars=self.bars,
            status=status,
            recording=None if recording is None else str(recording),
            config=config,
        )

    def finish(
        self,
        status: str | None = None,
        recording: Path | str | None = None,
        config: dict[str, Any] | None = None,
    ) -> str | None:
        """Write the run in one transaction; its id, or None (after one line on stderr)."""
        rec = self.record(status, recording, config)
        if rec is None:
            print("algotui: warning: run not saved: no metadata event", file=self.err or sys.stderr)
            return None
        self.saved_id = save_record(rec, self.db, err=self.err)
        return self.saved_id


def state_record(
    state: Any,
    *,
    status: str | None = None,
    recording: Path | str | None = None,
    config: dict[str, Any] | None = None,
    run_id: str | None = None,
) -> RunRecord | None:
    """A record from a :class:`~algotui.view.state.RunState` (None before its metadata).

    A live run's state keeps its metadata without ``run_id``: pass it to keep the engine's.
    """
    if not state.meta:
        return None
    if getattr(state, "cursor", None) is not None:
        state.follow()  # the whole run, whatever bar the viewer was looking at
    meta = dict(state.meta)
    meta["run_id"] = run_id or getattr(state, "run_id", "") or meta.get("run_id") or ""
    points = []
    for bar, eq, dd in zip(state.equity_bar, state.equity, state.drawdown, strict=False):
        try:
            stamp = state.times[bar]
        except IndexError:
            stamp = None
        points.append(
            {"bar_number": bar + 1, "timestamp": stamp, "equity": eq, "cash": None, "drawdown": dd}
        )
    return build_record(
        meta,
        trades=list(state.trades),
        equity=points,
        metrics=state.metrics,
        error=state.error,
        bars=state.bars,
        status=status,
        recording=None if recording is None else str(recording),
        config=config,
    )


def save_state(
    state: Any,
    db: Path | str | None = None,
    *,
    status: str | None = None,
    recording: Path | str | None = None,
    config: dict[str, Any] | None = None,
    run_id: str | None = None,
    err: TextIO | None = None,
) -> str | None:
    """Save the run a viewer's state holds; its id, or None (after one line on stderr)."""
    rec = state_record(state, status=status, recording=recording, config=config, run_id=run_id)
    if rec is None:
        print("algotui: warning: run not saved: it had not started", file=err or sys.stderr)
        return None
    return save_record(rec, db, err=err)
