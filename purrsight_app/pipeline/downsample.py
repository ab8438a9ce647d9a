"""Observations -> compact storage rows, at most one per second (or per event change).

The loop analyses ~10 windows/s; storing them all would grow the database by ~900k rows a day
for no gain on a timeline. Instead each one-second bucket is averaged (head probabilities,
cat scores, audio level, embedding) and written once when the bucket closes, so a brief
spike inside the second is not lost the way "keep the first window" would lose it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from purrsight_app.pipeline.protocols import ObservationLike
from purrsight_app.storage import ObservationRecord
from purrsight_model.schema import UNKNOWN, allowed_values

#: Heads stored as indexed columns, in ``head_probs`` layout order.
STORED_HEADS = ("affective_state", "vocalization", "arousal")


def head_layout() -> list[tuple[str, str]]:
    """(head, class) of every slot of ``ObservationRecord.head_probs``, in order."""
    return [(h, c) for h in STORED_HEADS for c in allowed_values(h)]


def db_to_linear(db: float) -> float:
    """dBFS -> linear RMS (full scale = 1); the store keeps the linear level."""
    return 0.0 if not math.isfinite(db) else float(10.0 ** (db / 20.0))


def _score(value: float) -> float:
    return 0.0 if math.isnan(value) else float(value)


@dataclass
class _Bucket:
    key: tuple[int, str | None]
    ts: float
    n: int = 0
    probs: np.ndarray = field(default_factory=lambda: np.zeros(len(head_layout())))  # [K]
    cat_visible: float = 0.0
    cat_heard: float = 0.0
    level: float = 0.0
    emb_sum: np.ndarray | None = None  # [D]

    def add(self, obs: ObservationLike) -> None:
        self.n += 1
        for i, (head, cls) in enumerate(head_layout()):
            self.probs[i] += float(obs.heads.get(head, {}).get(cls, 0.0))
        self.cat_visible = max(self.cat_visible, _score(obs.cat_visible))
        self.cat_heard = max(self.cat_heard, _score(obs.cat_heard))
        self.level += db_to_linear(obs.audio_level_db)
        if obs.embedding is not None:
            emb = np.asarray(obs.embedding, dtype=np.float32).reshape(-1)  # [D]
            if self.emb_sum is None or self.emb_sum.shape != emb.shape:
                self.emb_sum = emb.copy()
            else:
                self.emb_sum += emb

    def record(self) -> ObservationRecord:
        mean = (self.probs / max(self.n, 1)).astype(np.float32)  # [K]
        tops: dict[str, tuple[str, float]] = {}
        start = 0
        for head in STORED_HEADS:
            classes = allowed_values(head)
            part = mean[start:start + len(classes)]
            start += len(classes)
            best = int(np.argmax(part))
            tops[head] = (classes[best], float(part[best])) if part[best] > 0 else (UNKNOWN, 0.0)
        emb = None
        if self.emb_sum is not None:
            emb = self.emb_sum / max(float(np.linalg.norm(self.emb_sum)), 1e-12)
        return ObservationRecord(
            ts=self.ts, event_id=self.key[1],
            affective_state=tops["affective_state"][0], affective_conf=tops["affective_state"][1],
            vocalization=tops["vocalization"][0], vocalization_conf=tops["vocalization"][1],
            arousal=tops["arousal"][0], arousal_conf=tops["arousal"][1],
            cat_visible=self.cat_visible, cat_heard=self.cat_heard,
            audio_level=self.level / max(self.n, 1), head_probs=mean, embedding=emb,
        )


class ObservationDownsampler:
    """Average windows per ``interval_s`` bucket (and event); emit a record per bucket."""

    def __init__(self, interval_s: float = 1.0) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be > 0")
        self.interval_s = interval_s
        self._bucket: _Bucket | None = None

    def add(self, ts: float, obs: ObservationLike, event_id: str | None) -> ObservationRecord | None:
        """Add one window; return the previous bucket's record when this one starts a new one."""
        key = (math.floor(ts / self.interval_s), event_id)
        out = None
        if self._bucket is not None and self._bucket.key != key:
            out = self._bucket.record()
            self._bucket = None
        if self._bucket is None:
            self._bucket = _Bucket(key, ts)
        self._bucket.add(obs)
        return out

    def flush(self) -> ObservationRecord | None:
        """The open bucket's record (shutdown, source switch), or None."""
        bucket, self._bucket = self._bucket, None
        return None if bucket is None else bucket.record()
