"""A stored run written out: trades, equity, daily stats and metrics as CSV, JSON or Parquet.

CSV and Parquet give a folder with one file per table (``trades``, ``equity``, ``daily``,
``metrics``: one row of the run's settings and every scalar metric); JSON gives one file
holding all of it. An existing file is never overwritten unless asked (``force``).
"""

import csv
import json
from pathlib import Path
from typing import Any

from algotui.errors import UserError
from algotui.store.db import DAILY_FIELDS, EQUITY_FIELDS, TRADE_FIELDS, Store

FORMATS = ("csv", "json", "parquet")
TABLES = ("trades", "equity", "daily", "metrics")


def default_out(run_key: str, fmt: str) -> Path:
    """``run-ID.json`` for JSON, the folder ``run-ID-csv`` / ``run-ID-parquet`` otherwise."""
    return Path(f"run-{run_key}.json") if fmt == "json" else Path(f"run-{run_key}-{fmt}")


def targets(out: Path, fmt: str) -> list[Path]:
    """The files an export to ``out`` writes."""
    if fmt == "json":
        return [out]
    return [out / f"{name}.{fmt}" for name in TABLES]


def metrics_row(run: dict[str, Any]) -> dict[str, Any]:
    """One flat row: what ran and how, then every scalar metric (lists such as ``daily`` are
    tables of their own)."""
    row: dict[str, Any] = {
        k: run.get(k)
        for k in (
            "id run_id created_at strategy symbol interval source status bars total_bars recording"
        ).split()
    }
    row["params"] = json.dumps(run.get("params") or {})
    for key, value in (run.get("config") or {}).items():
        row[f"config_{key}"] = value
    for key, value in (run.get("metrics") or {}).items():
        if not isinstance(value, list | dict):
            row[key] = value
    return row


def export_run(
    store: Store, run_key: str, fmt: str, out: Path | None = None, *, force: bool = False
) -> list[Path]:
    """Write run ``run_key`` as ``fmt``; the files written."""
    if fmt not in FORMATS:
        raise UserError(f"--format {fmt!r}: choose csv, json or parquet")
    out = out or default_out(run_key, fmt)
    if fmt != "json" and out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: is a file; {fmt} export writes a folder of files")
    if fmt == "json" and out.is_dir():
        raise UserError(f"--out {out}: is a folder; json export writes one file")
    files = targets(out, fmt)
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise UserError(f"{existing[0]} exists: use --force to overwrite, or --out another path")
    run = store.get(run_key)
    tables = {
        "trades": (store.trades(run_key), TRADE_FIELDS),
        "equity": (store.equity(run_key), EQUITY_FIELDS),
        "daily": (store.daily(run_key), DAILY_FIELDS),
    }
    try:
        if fmt == "json":
            out.parent.mkdir(parents=True, exist_ok=True)
            doc = {
                "run": {k: v for k, v in run.items() if k != "metrics"},
                "metrics": run.get("metrics"),
                **{name: rows for name, (rows, _) in tables.items()},
            }
            out.write_text(json.dumps(doc, indent=1, default=str) + "\n", encoding="utf-8")
            return files
        out.mkdir(parents=True, exist_ok=True)
        row = metrics_row(run)
        tables["metrics"] = ([row], tuple(row))
        for path, name in zip(files, TABLES, strict=True):
            rows, fields = tables[name]
            if fmt == "csv":
                _write_csv(path, rows, fields)
            else:
                _write_parquet(path, rows, fields)
    except OSError as exc:
        raise UserError(f"cannot write the export to {out}: {exc.strerror or exc}") from exc
    return files


def _write_csv(path: Path, rows: list[dict[str, Any]], fields: Any) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(fields), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def _write_parquet(path: Path, rows: list[dict[str, Any]], fields: Any) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {f: [r.get(f) for r in rows] for f in fields}
    pq.write_table(pa.table(columns), path)
