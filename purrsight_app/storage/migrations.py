"""The database schema as an ordered list of migrations.

``PRAGMA user_version`` holds how many migrations a file has seen. A migration is a function
that takes a ``sqlite_utils.Database`` and changes it; it runs in one transaction together
with the ``user_version`` bump, so a crash mid-migration leaves the previous version intact.
Never edit a released migration: append a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlite_utils

from purrsight_model.schema import SCHEMA_VERSION

Migration = Callable[[sqlite_utils.Database], None]

#: Columns of the per-quarter-hour aggregate the writer maintains (day/week views read it, not
#: the raw observations, so a day view costs ~96 x labels rows whatever the history size).
AGGREGATE_FIELDS = ("affective_state", "vocalization", "arousal")
#: Aggregate bucket length. Every real UTC offset is a multiple of 15 minutes, so local hours
#: and days always start on a bucket boundary.
AGGREGATE_BUCKET_S = 900


def _v1_core(db: sqlite_utils.Database) -> None:
    """Observations, events, reports (+FTS), clips, labels, runs, models, meta, aggregates."""
    db["observations"].create(
        {
            "ts": float, "event_id": str,
            "affective_state": str, "affective_conf": float,
            "vocalization": str, "vocalization_conf": float,
            "arousal": str, "arousal_conf": float,
            "cat_visible": float, "cat_heard": float, "audio_level": float,
            "head_probs": bytes, "embedding": bytes,
        },
        not_null=["ts"],
    )
    db["observations"].create_index(["ts"])
    db["observations"].create_index(["event_id"])
    db.execute(
        "CREATE TABLE obs_agg (bucket INTEGER NOT NULL, field TEXT NOT NULL, "
        "value TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (field, bucket, value)) "
        "WITHOUT ROWID"
    )
    db["events"].create(
        {
            "id": str, "start": float, "end": float, "source": str,
            "dominant_state": str, "dominant_vocalization": str, "max_risk": int,
            "embedding": bytes,
        },
        pk="id",
        not_null=["start"],
    )
    db["events"].create_index(["start"])
    db["reports"].create(
        {
            "id": str, "ts": float, "event_id": str, "json": str,
            "affective_state": str, "vocalization": str, "arousal": str, "risk": int,
            "summary": str, "advice": str,
        },
        pk="id",
        not_null=["ts", "json"],
    )
    for cols in (["ts"], ["event_id"], ["affective_state"], ["vocalization"], ["risk"]):
        db["reports"].create_index(cols)
    # Plain unicode61 tokens + prefix queries on a light stem (see storage.search): the
    # porter stemmer maps "purring" to "pur" but "purr" to "purr", so "purr" found nothing.
    db["reports"].enable_fts(["summary", "advice"], create_triggers=True)
    _v1_clips_labels(db)
    _v1_runs_models_meta(db)


def _v1_clips_labels(db: sqlite_utils.Database) -> None:
    db["clips"].create(
        {
            "id": str, "ts": float, "path": str, "source": str, "duration": float,
            "thumbnail_path": str, "prediction": str, "uncertainty": float,
            "event_id": str, "labeled": int,
        },
        pk="id",
        not_null=["ts", "path"],
        defaults={"labeled": 0},
    )
    db["clips"].create_index(["ts"])
    db["clips"].create_index(["labeled", "uncertainty"])
    db["labels"].create(
        {"clip_id": str, "values_json": str, "description": str, "updated_at": float},
        pk="clip_id",
        not_null=["values_json", "updated_at"],
    )
    db["label_history"].create(
        {
            "id": int, "clip_id": str, "values_json": str, "description": str,
            "updated_at": float,
        },
        pk="id",
        not_null=["clip_id", "values_json", "updated_at"],
    )
    db["label_history"].create_index(["clip_id"])


def _v1_runs_models_meta(db: sqlite_utils.Database) -> None:
    db["runs"].create(
        {
            "id": str, "kind": str, "status": str, "config_json": str, "metrics_json": str,
            "started": float, "finished": float, "path": str,
        },
        pk="id",
    )
    db["models"].create(
        {"id": str, "path": str, "created": float, "active": int, "metrics_json": str},
        pk="id",
        defaults={"active": 0},
    )
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["meta"].insert({"key": "label_schema_version", "value": SCHEMA_VERSION})


#: The schema history. ``len(MIGRATIONS)`` is the current schema version.
MIGRATIONS: Sequence[Migration] = (_v1_core,)


def current_version(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Schema version a fully migrated file has."""
    return len(migrations)
