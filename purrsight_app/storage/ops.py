"""SQL for each record type the writer accepts (runs inside the writer's transaction).

Consecutive records of one type go through one ``executemany`` — that, plus one transaction
per batch, is what makes the writer cheap. Observations also bump the quarter-hour aggregate
(``obs_agg``) in the same transaction, so the aggregate can never drift from the rows.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from itertools import groupby
from pathlib import Path
from typing import Any

from purrsight_app.storage.migrations import AGGREGATE_BUCKET_S, AGGREGATE_FIELDS
from purrsight_app.storage.records import (
    ClipRecord,
    DeleteClip,
    EventRecord,
    LabelRecord,
    ModelRecord,
    ObservationRecord,
    ReportRecord,
    RunRecord,
    SetActiveModel,
    encode_f16,
    encode_probs_u8,
)

_OBS_SQL = (
    "INSERT INTO observations (ts, event_id, affective_state, affective_conf, vocalization, "
    "vocalization_conf, arousal, arousal_conf, cat_visible, cat_heard, audio_level, "
    "head_probs, embedding) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_AGG_SQL = (
    "INSERT INTO obs_agg (bucket, field, value, n) VALUES (?,?,?,?) "
    "ON CONFLICT(field, bucket, value) DO UPDATE SET n = n + excluded.n"
)

AfterCommit = Callable[[], object]
"""Work that must only happen once the transaction is durable (deleting files)."""


def _observations(conn: sqlite3.Connection, items: Sequence[ObservationRecord]) -> None:
    rows = [
        (
            float(o.ts), o.event_id, o.affective_state, float(o.affective_conf),
            o.vocalization, float(o.vocalization_conf), o.arousal, float(o.arousal_conf),
            float(o.cat_visible), float(o.cat_heard), float(o.audio_level),
            encode_probs_u8(o.head_probs), encode_f16(o.embedding),
        )
        for o in items
    ]
    conn.executemany(_OBS_SQL, rows)
    counts: Counter[tuple[int, str, str]] = Counter()
    for o in items:
        bucket = int(o.ts // AGGREGATE_BUCKET_S)
        for name in AGGREGATE_FIELDS:
            counts[(bucket, name, getattr(o, name))] += 1
    conn.executemany(_AGG_SQL, [(*key, n) for key, n in counts.items()])


def _events(conn: sqlite3.Connection, items: Sequence[EventRecord]) -> None:
    conn.executemany(
        'INSERT OR REPLACE INTO events (id, start, "end", source, dominant_state, '
        "dominant_vocalization, max_risk, embedding) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                e.id, float(e.start), e.end, e.source, e.dominant_state,
                e.dominant_vocalization, e.max_risk, encode_f16(e.embedding),
            )
            for e in items
        ],
    )


def _reports(conn: sqlite3.Connection, items: Sequence[ReportRecord]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO reports (id, ts, event_id, json, affective_state, "
        "vocalization, arousal, risk, summary, advice) VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            (
                r.id, float(r.ts), r.event_id, r.report.to_json(), r.report.affective_state,
                r.report.vocalization, r.report.arousal, r.report.risk_level,
                r.report.summary, r.report.advice,
            )
            for r in items
        ],
    )


def _clips(conn: sqlite3.Connection, items: Sequence[ClipRecord]) -> None:
    # Upsert that keeps the labeled flag: re-saving a clip's metadata must not unlabel it.
    conn.executemany(
        "INSERT INTO clips (id, ts, path, source, duration, thumbnail_path, prediction, "
        "uncertainty, event_id, labeled) VALUES (?,?,?,?,?,?,?,?,?, "
        "EXISTS(SELECT 1 FROM labels WHERE clip_id = ?)) "
        "ON CONFLICT(id) DO UPDATE SET ts=excluded.ts, path=excluded.path, "
        "source=excluded.source, duration=excluded.duration, "
        "thumbnail_path=excluded.thumbnail_path, prediction=excluded.prediction, "
        "uncertainty=excluded.uncertainty, event_id=excluded.event_id",
        [
            (
                c.id, float(c.ts), c.path, c.source, float(c.duration), c.thumbnail_path,
                None if c.prediction is None else json.dumps(dict(c.prediction)),
                c.uncertainty, c.event_id, c.id,
            )
            for c in items
        ],
    )


def _labels(conn: sqlite3.Connection, items: Sequence[LabelRecord]) -> None:
    rows = [
        (lab.clip_id, json.dumps(lab.validated()),
         lab.description or str(lab.values.get("description") or ""), float(lab.updated_at))
        for lab in items
    ]
    conn.executemany(
        "INSERT INTO labels (clip_id, values_json, description, updated_at) VALUES (?,?,?,?) "
        "ON CONFLICT(clip_id) DO UPDATE SET values_json=excluded.values_json, "
        "description=excluded.description, updated_at=excluded.updated_at",
        rows,
    )
    conn.executemany(
        "INSERT INTO label_history (clip_id, values_json, description, updated_at) "
        "VALUES (?,?,?,?)",
        rows,
    )
    conn.executemany("UPDATE clips SET labeled = 1 WHERE id = ?", [(r[0],) for r in rows])


def _runs(conn: sqlite3.Connection, items: Sequence[RunRecord]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO runs (id, kind, status, config_json, metrics_json, started, "
        "finished, path) VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                r.id, r.kind, r.status, json.dumps(dict(r.config)),
                json.dumps(dict(r.metrics)), r.started, r.finished, r.path,
            )
            for r in items
        ],
    )


def _models(conn: sqlite3.Connection, items: Sequence[ModelRecord]) -> None:
    if any(m.active for m in items):
        conn.execute("UPDATE models SET active = 0")
    conn.executemany(
        "INSERT OR REPLACE INTO models (id, path, created, active, metrics_json) "
        "VALUES (?,?,?,?,?)",
        [
            (m.id, m.path, float(m.created), int(m.active), json.dumps(dict(m.metrics)))
            for m in items
        ],
    )


def _set_active(conn: sqlite3.Connection, items: Sequence[SetActiveModel]) -> None:
    for item in items:
        if conn.execute("SELECT 1 FROM models WHERE id = ?", (item.bundle_id,)).fetchone() is None:
            raise KeyError(f"no registered bundle {item.bundle_id!r}")
        conn.execute("UPDATE models SET active = (id = ?)", (item.bundle_id,))


def _delete_clips(conn: sqlite3.Connection, items: Sequence[DeleteClip]) -> list[AfterCommit]:
    after: list[AfterCommit] = []
    for item in items:
        row = conn.execute(
            "SELECT path, thumbnail_path FROM clips WHERE id = ?", (item.clip_id,)
        ).fetchone()
        conn.execute("DELETE FROM clips WHERE id = ?", (item.clip_id,))
        conn.execute("DELETE FROM labels WHERE clip_id = ?", (item.clip_id,))
        if row is not None and item.data_dir is not None:
            base, files = Path(item.data_dir), [row[0], row[1]]
            after.append(lambda base=base, files=files: remove_files(base, files))
    return after


def remove_files(base: Path, paths: Sequence[str | None]) -> int:
    """Delete files (relative paths resolved against ``base``); return bytes freed."""
    freed = 0
    for p in paths:
        if not p:
            continue
        path = Path(p) if Path(p).is_absolute() else base / p
        try:
            size = path.stat().st_size
            path.unlink()
            freed += size
        except FileNotFoundError:
            continue
    return freed


Handler = Callable[[sqlite3.Connection, Sequence[Any]], "list[AfterCommit] | None"]

HANDLERS: dict[type, Handler] = {
    ObservationRecord: _observations,
    EventRecord: _events,
    ReportRecord: _reports,
    ClipRecord: _clips,
    LabelRecord: _labels,
    RunRecord: _runs,
    ModelRecord: _models,
    SetActiveModel: _set_active,
    DeleteClip: _delete_clips,
}


def supported(item: object) -> bool:
    """True when the writer knows how to store ``item``."""
    return type(item) in HANDLERS


def apply_items(conn: sqlite3.Connection, items: Sequence[object]) -> list[AfterCommit]:
    """Apply records in order, one ``executemany`` per run of same-typed records.

    Returns actions to run after COMMIT (file deletions must not precede a rollback).
    """
    after: list[AfterCommit] = []
    for kind, group in groupby(items, key=type):
        after.extend(HANDLERS[kind](conn, list(group)) or ())
    return after
