"""Export a selection of the history to CSV or JSON (the owner's data, in open formats)."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from purrsight_app.storage.rows import (
    ClipRow,
    EventRow,
    ObservationRow,
    ReportRow,
    clip_row,
    column_names,
    event_row,
    observation_row,
    report_row,
    to_plain,
)

Kind = Literal["events", "reports", "observations", "clips"]
_TABLES: dict[str, tuple[str, str, Any, type]] = {
    "events": ("events", "start", event_row, EventRow),
    "reports": ("reports", "ts", report_row, ReportRow),
    "observations": ("observations", "ts", observation_row, ObservationRow),
    "clips": ("clips", "ts", clip_row, ClipRow),
}


class ExportError(ValueError):
    """Unsupported format or kind; the message names the file."""


def _format(path: Path, fmt: str | None) -> str:
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("csv", "json"):
        raise ExportError(f"{path}: export format must be csv or json, not {fmt!r}")
    return fmt


def _json_ready(row: Any) -> dict[str, Any]:
    data = to_plain(row)
    if isinstance(row, ReportRow):
        data["report"] = json.loads(data.pop("json"))
    return data


def export_rows(
    rows: Sequence[Any], path: str | os.PathLike[str], fmt: str | None = None,
    row_type: type | None = None,
) -> Path:
    """Write dataclass rows to ``path`` (format from ``fmt`` or the suffix)."""
    path = Path(path)
    fmt = _format(path, fmt)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "json":
        with path.open("w", encoding="utf-8") as fh:
            json.dump([_json_ready(r) for r in rows], fh, ensure_ascii=False, indent=1)
        return path
    header = column_names(row_type or type(rows[0])) if (rows or row_type) else []
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            plain = to_plain(r)
            writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v
                             for k, v in plain.items()})
    return path


def export_selection(
    conn: sqlite3.Connection,
    path: str | os.PathLike[str],
    *,
    kind: Kind,
    start: float | None = None,
    end: float | None = None,
    ids: Sequence[str] | None = None,
    fmt: str | None = None,
) -> int:
    """Export rows of one kind chosen by time range and/or ids; return how many were written."""
    if kind not in _TABLES:
        raise ExportError(f"{path}: cannot export {kind!r}; choose one of {', '.join(_TABLES)}")
    _format(Path(path), fmt)
    table, ts_col, convert, row_type = _TABLES[kind]
    sql, params = f"SELECT * FROM {table} WHERE 1", []
    if start is not None:
        sql += f" AND {ts_col} >= ?"
        params.append(start)
    if end is not None:
        sql += f" AND {ts_col} < ?"
        params.append(end)
    if ids is not None:
        if kind == "observations":
            raise ExportError(f"{path}: observations are selected by time, not ids")
        sql += f" AND id IN ({','.join('?' for _ in ids)})"
        params.extend(ids)
    rows = [convert(r) for r in conn.execute(sql + f" ORDER BY {ts_col}", params)]
    export_rows(rows, path, fmt, row_type)
    return len(rows)
