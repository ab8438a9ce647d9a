"""Plain records the app hands to the store, and the compact blob encodings they use.

Records are frozen dataclasses so a record put on the writer queue can never change under the
writer thread. Ids are caller-made strings (uuid hex by default) so the pipeline can refer to
an event or clip (e.g. observations -> event_id) before the writer has stored it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from purrsight_model.schema import UNKNOWN, Report, validate_labels


def new_id() -> str:
    """A fresh opaque id (32 hex chars)."""
    return uuid.uuid4().hex


def encode_f16(vec: np.ndarray | None) -> bytes | None:
    """[D] float -> float16 bytes (halves the size; cosine search is insensitive to it)."""
    if vec is None:
        return None
    return np.asarray(vec, dtype=np.float32).reshape(-1).astype(np.float16).tobytes()


def decode_f16(blob: bytes | None) -> np.ndarray | None:
    """float16 bytes -> [D] float32."""
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=np.float16).astype(np.float32)


def encode_probs_u8(probs: np.ndarray | None) -> bytes | None:
    """[K] probabilities in [0, 1] -> uint8 bytes (1/255 resolution is plenty for a chart)."""
    if probs is None:
        return None
    p = np.clip(np.asarray(probs, dtype=np.float32).reshape(-1), 0.0, 1.0)
    return np.rint(p * 255.0).astype(np.uint8).tobytes()


def decode_probs_u8(blob: bytes | None) -> np.ndarray | None:
    """uint8 bytes -> [K] float32 probabilities."""
    if blob is None:
        return None
    return np.frombuffer(blob, dtype=np.uint8).astype(np.float32) / 255.0


@dataclass(frozen=True, slots=True)
class ObservationRecord:
    """One analysed window, in the compact form the store keeps (downsampled by the writer)."""

    ts: float
    """Wall-clock seconds (``time.time()``) of the window."""
    affective_state: str = UNKNOWN
    affective_conf: float = 0.0
    vocalization: str = UNKNOWN
    vocalization_conf: float = 0.0
    arousal: str = UNKNOWN
    arousal_conf: float = 0.0
    cat_visible: float = 0.0
    """Score in [0, 1] that a cat is in the frame."""
    cat_heard: float = 0.0
    """Score in [0, 1] that a cat is audible."""
    audio_level: float = 0.0
    """RMS of the window's audio (linear, full scale = 1)."""
    event_id: str | None = None
    head_probs: np.ndarray | None = None
    """[K] concatenated head probabilities; the layout is the bundle's (stored as uint8)."""
    embedding: np.ndarray | None = None
    """[D] aligned embedding (stored as float16)."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """A span of cat activity. Re-putting the same id replaces the row (open, then close)."""

    id: str
    start: float
    end: float | None = None
    """None while the event is still open."""
    source: str = ""
    dominant_state: str = UNKNOWN
    dominant_vocalization: str = UNKNOWN
    max_risk: int | None = None
    embedding: np.ndarray | None = None
    """[D] mean aligned embedding of the event's windows (text-to-embedding search)."""


@dataclass(frozen=True, slots=True)
class ReportRecord:
    """An LLM report about an event (or a period when ``event_id`` is None)."""

    report: Report
    ts: float = field(default_factory=time.time)
    event_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(frozen=True, slots=True)
class ClipRecord:
    """Recorded media of an event; ``path`` may be relative to the data dir (preferred)."""

    path: str
    ts: float = field(default_factory=time.time)
    source: str = ""
    duration: float = 0.0
    thumbnail_path: str | None = None
    prediction: Mapping[str, Any] | None = None
    """What the model said about the clip (JSON-able), shown next to the label buttons."""
    uncertainty: float | None = None
    """Top-1 minus top-2 margin (small = worth labeling first)."""
    event_id: str | None = None
    id: str = field(default_factory=new_id)


@dataclass(frozen=True, slots=True)
class LabelRecord:
    """An owner's answer about a clip. Every edit is also appended to ``label_history``."""

    clip_id: str
    values: Mapping[str, Any]
    description: str = ""
    updated_at: float = field(default_factory=time.time)

    def validated(self) -> dict[str, str]:
        """Categorical values checked against the schema (missing fields -> unknown)."""
        values = dict(self.values)
        values.pop("description", None)
        return {k: v for k, v in validate_labels(values).items() if k != "description"}


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A training run; re-putting the same id updates it (status, metrics, finished)."""

    id: str
    kind: str
    status: str
    config: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    started: float | None = None
    finished: float | None = None
    path: str | None = None


@dataclass(frozen=True, slots=True)
class ModelRecord:
    """A registered bundle; re-putting the same id updates it."""

    id: str
    path: str
    created: float = field(default_factory=time.time)
    active: bool = False
    metrics: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SetActiveModel:
    """Make one bundle the active one (all others inactive) in a single transaction."""

    bundle_id: str


@dataclass(frozen=True, slots=True)
class DeleteClip:
    """Explicit owner deletion of a clip (row, label, files). Never issued by pruning."""

    clip_id: str
    data_dir: str | None = None
    """Base for relative clip paths; None = leave files on disk."""
