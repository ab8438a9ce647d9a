"""Read helpers for clips, labels, runs, models and raw observations (plain rows out)."""

from __future__ import annotations

import json
import sqlite3

from purrsight_app.storage.rows import (
    ClipRow,
    LabelRow,
    ModelRow,
    ObservationRow,
    ReportRow,
    RunRow,
    clip_row,
    label_row,
    model_row,
    observation_row,
    report_row,
    run_row,
)


def observations_between(
    conn: sqlite3.Connection,
    start: float,
    end: float,
    *,
    with_vectors: bool = False,
    limit: int = 100_000,
) -> list[ObservationRow]:
    """Stored observations in [start, end), oldest first (vectors decoded on request)."""
    rows = conn.execute(
        "SELECT * FROM observations WHERE ts >= ? AND ts < ? ORDER BY ts LIMIT ?",
        (start, end, limit),
    )
    return [observation_row(r, with_vectors) for r in rows]


def observations_of_event(
    conn: sqlite3.Connection, event_id: str, *, with_vectors: bool = False
) -> list[ObservationRow]:
    """Stored observations of one event, oldest first."""
    rows = conn.execute(
        "SELECT * FROM observations WHERE event_id = ? ORDER BY ts", (event_id,)
    )
    return [observation_row(r, with_vectors) for r in rows]


def reports_of_event(conn: sqlite3.Connection, event_id: str) -> list[ReportRow]:
    """Reports written about one event, oldest first."""
    rows = conn.execute("SELECT * FROM reports WHERE event_id = ? ORDER BY ts", (event_id,))
    return [report_row(r) for r in rows]


def get_clip(conn: sqlite3.Connection, clip_id: str) -> ClipRow | None:
    row = conn.execute("SELECT * FROM clips WHERE id = ?", (clip_id,)).fetchone()
    return None if row is None else clip_row(row)


def list_clips(
    conn: sqlite3.Connection,
    *,
    start: float | None = None,
    end: float | None = None,
    labeled: bool | None = None,
    limit: int = 1000,
) -> list[ClipRow]:
    """Clips newest first, optionally only (un)labeled ones."""
    sql, params = "SELECT * FROM clips WHERE 1", []
    if start is not None:
        sql += " AND ts >= ?"
        params.append(start)
    if end is not None:
        sql += " AND ts < ?"
        params.append(end)
    if labeled is not None:
        sql += " AND labeled = ?"
        params.append(int(labeled))
    rows = conn.execute(sql + " ORDER BY ts DESC LIMIT ?", [*params, limit])
    return [clip_row(r) for r in rows]


def clips_to_label(conn: sqlite3.Connection, *, limit: int = 50) -> list[ClipRow]:
    """Unlabeled clips, most uncertain first (smallest top-1/top-2 margin), then newest."""
    rows = conn.execute(
        "SELECT * FROM clips WHERE labeled = 0 "
        "ORDER BY uncertainty IS NULL, uncertainty ASC, ts DESC LIMIT ?",
        (limit,),
    )
    return [clip_row(r) for r in rows]


def get_label(conn: sqlite3.Connection, clip_id: str) -> LabelRow | None:
    row = conn.execute("SELECT * FROM labels WHERE clip_id = ?", (clip_id,)).fetchone()
    return None if row is None else label_row(row)


def label_history(conn: sqlite3.Connection, clip_id: str) -> list[LabelRow]:
    """Every saved version of a clip's label, oldest first."""
    rows = conn.execute(
        "SELECT * FROM label_history WHERE clip_id = ? ORDER BY updated_at, id", (clip_id,)
    )
    return [label_row(r) for r in rows]


def labeled_clips(conn: sqlite3.Connection) -> list[tuple[ClipRow, LabelRow]]:
    """Every labeled clip with its current label (training-set export)."""
    rows = conn.execute(
        "SELECT c.*, l.values_json, l.description AS l_description, l.updated_at "
        "FROM clips c JOIN labels l ON l.clip_id = c.id ORDER BY c.ts"
    )
    out = []
    for r in rows:
        clip = clip_row(r)
        out.append((clip, LabelRow(
            clip.id, json.loads(r["values_json"]), r["l_description"],
            r["updated_at"],
        )))
    return out


def list_runs(conn: sqlite3.Connection, *, limit: int = 100) -> list[RunRow]:
    rows = conn.execute("SELECT * FROM runs ORDER BY started DESC LIMIT ?", (limit,))
    return [run_row(r) for r in rows]


def get_run(conn: sqlite3.Connection, run_id: str) -> RunRow | None:
    row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
    return None if row is None else run_row(row)


def list_models(conn: sqlite3.Connection) -> list[ModelRow]:
    rows = conn.execute("SELECT * FROM models ORDER BY created DESC")
    return [model_row(r) for r in rows]


def active_model(conn: sqlite3.Connection) -> ModelRow | None:
    row = conn.execute("SELECT * FROM models WHERE active = 1 LIMIT 1").fetchone()
    return None if row is None else model_row(row)
