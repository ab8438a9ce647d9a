"""Plain, JSON-friendly rows that queries return (no sqlite3.Row leaks into the UI)."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from purrsight_app.storage.records import decode_f16, decode_probs_u8
from purrsight_model.schema import Report, parse_report


@dataclass(frozen=True)
class EventRow:
    id: str
    start: float
    end: float | None
    source: str | None
    dominant_state: str | None
    dominant_vocalization: str | None
    max_risk: int | None


@dataclass(frozen=True)
class ReportRow:
    id: str
    ts: float
    event_id: str | None
    affective_state: str | None
    vocalization: str | None
    arousal: str | None
    risk: int | None
    summary: str | None
    advice: str | None
    json: str

    def report(self) -> Report:
        """The full schema-validated report."""
        return parse_report(self.json)


@dataclass(frozen=True)
class ObservationRow:
    ts: float
    event_id: str | None
    affective_state: str | None
    affective_conf: float | None
    vocalization: str | None
    vocalization_conf: float | None
    arousal: str | None
    arousal_conf: float | None
    cat_visible: float | None
    cat_heard: float | None
    audio_level: float | None
    head_probs: np.ndarray | None = None
    """[K] float32 (only when queried ``with_vectors``)."""
    embedding: np.ndarray | None = None
    """[D] float32 (only when queried ``with_vectors``)."""


@dataclass(frozen=True)
class ClipRow:
    id: str
    ts: float
    path: str
    source: str | None
    duration: float | None
    thumbnail_path: str | None
    prediction: dict[str, Any] | None
    uncertainty: float | None
    event_id: str | None
    labeled: bool


@dataclass(frozen=True)
class LabelRow:
    clip_id: str
    values: dict[str, str]
    description: str | None
    updated_at: float


@dataclass(frozen=True)
class RunRow:
    id: str
    kind: str | None
    status: str | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    started: float | None
    finished: float | None
    path: str | None


@dataclass(frozen=True)
class ModelRow:
    id: str
    path: str | None
    created: float | None
    active: bool
    metrics: dict[str, Any]


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def event_row(r: sqlite3.Row) -> EventRow:
    return EventRow(r["id"], r["start"], r["end"], r["source"], r["dominant_state"],
                    r["dominant_vocalization"], r["max_risk"])


def report_row(r: sqlite3.Row) -> ReportRow:
    return ReportRow(r["id"], r["ts"], r["event_id"], r["affective_state"], r["vocalization"],
                     r["arousal"], r["risk"], r["summary"], r["advice"], r["json"])


def observation_row(r: sqlite3.Row, with_vectors: bool = False) -> ObservationRow:
    vectors: dict[str, Any] = {}
    if with_vectors:
        vectors = {"head_probs": decode_probs_u8(r["head_probs"]),
                   "embedding": decode_f16(r["embedding"])}
    return ObservationRow(
        r["ts"], r["event_id"], r["affective_state"], r["affective_conf"], r["vocalization"],
        r["vocalization_conf"], r["arousal"], r["arousal_conf"], r["cat_visible"],
        r["cat_heard"], r["audio_level"], **vectors,
    )


def clip_row(r: sqlite3.Row) -> ClipRow:
    return ClipRow(r["id"], r["ts"], r["path"], r["source"], r["duration"], r["thumbnail_path"],
                   _loads(r["prediction"]), r["uncertainty"], r["event_id"], bool(r["labeled"]))


def label_row(r: sqlite3.Row) -> LabelRow:
    return LabelRow(r["clip_id"], json.loads(r["values_json"]), r["description"], r["updated_at"])


def run_row(r: sqlite3.Row) -> RunRow:
    return RunRow(r["id"], r["kind"], r["status"], _loads(r["config_json"]) or {},
                  _loads(r["metrics_json"]) or {}, r["started"], r["finished"], r["path"])


def model_row(r: sqlite3.Row) -> ModelRow:
    return ModelRow(r["id"], r["path"], r["created"], bool(r["active"]),
                    _loads(r["metrics_json"]) or {})


def to_plain(row: Any) -> dict[str, Any]:
    """Dataclass row -> dict without numpy arrays (arrays become lists) for CSV/JSON."""
    out = asdict(row) if hasattr(row, "__dataclass_fields__") else dict(row)
    for key, value in out.items():
        if isinstance(value, np.ndarray):
            out[key] = [round(float(v), 4) for v in value]
    return out


def column_names(row_type: type) -> list[str]:
    """Field names of a row dataclass, in order (CSV header)."""
    return [f.name for f in fields(row_type)]
