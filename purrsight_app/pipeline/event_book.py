"""EventBook: what the store keeps about an event while it is open and when it closes.

The timeline colors an event by its dominant affective state and searches it by its mean
embedding, so those are accumulated window by window here (counts, a running embedding sum)
instead of re-reading observations later. Thread-safe: windows arrive on the analysis thread,
risk levels from reports on the report thread.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from purrsight_app.pipeline.protocols import ObservationLike, top_or_unknown
from purrsight_app.storage import EventRecord
from purrsight_model.schema import UNKNOWN

_KEEP_CLOSED = 16
"""Closed events whose tallies are kept for late reports (bounded memory)."""


@dataclass
class _Tally:
    start: float
    end: float | None = None
    states: Counter[str] = field(default_factory=Counter)
    vocalizations: Counter[str] = field(default_factory=Counter)
    emb_sum: np.ndarray | None = None  # [D]
    max_risk: int | None = None


def _dominant(counts: Counter[str]) -> str:
    known = {k: v for k, v in counts.items() if k != UNKNOWN}
    return max(known, key=known.__getitem__) if known else UNKNOWN


class EventBook:
    """Per-event tallies -> ``EventRecord`` snapshots for the store writer."""

    def __init__(self, source: str = "") -> None:
        self.source = source
        self._tallies: dict[str, _Tally] = {}
        self._lock = threading.Lock()

    def open(self, event_id: str, start: float) -> EventRecord:
        with self._lock:
            self._tallies[event_id] = _Tally(start)
            return self._record(event_id)

    def add(self, event_id: str, obs: ObservationLike) -> None:
        """Count one window of an open event (only windows that still show a cat)."""
        state, _ = top_or_unknown(obs, "affective_state")
        voc, _ = top_or_unknown(obs, "vocalization")
        with self._lock:
            tally = self._tallies.get(event_id)
            if tally is None:
                return
            tally.states[state] += 1
            tally.vocalizations[voc] += 1
            if obs.embedding is not None:
                emb = np.asarray(obs.embedding, dtype=np.float32).reshape(-1)  # [D]
                if tally.emb_sum is None or tally.emb_sum.shape != emb.shape:
                    tally.emb_sum = emb.copy()
                else:
                    tally.emb_sum += emb

    def note_risk(self, event_id: str | None, risk: int | None) -> EventRecord | None:
        """Raise the event's max risk from a report; the updated record if it changed."""
        if event_id is None or risk is None:
            return None
        with self._lock:
            tally = self._tallies.get(event_id)
            if tally is None or (tally.max_risk is not None and tally.max_risk >= risk):
                return None
            tally.max_risk = risk
            return self._record(event_id)

    def snapshot(self, event_id: str) -> EventRecord | None:
        with self._lock:
            return self._record(event_id) if event_id in self._tallies else None

    def close(self, event_id: str, end: float) -> EventRecord | None:
        """Final record; the tally is kept until ``forget`` so late reports can raise risk."""
        with self._lock:
            tally = self._tallies.get(event_id)
            if tally is None:
                return None
            tally.end = end
            closed = [k for k, v in self._tallies.items() if v.end is not None]
            for old in closed[:-_KEEP_CLOSED]:  # dicts keep insertion order: oldest first
                del self._tallies[old]
            return self._record(event_id)

    def forget(self, event_id: str) -> None:
        with self._lock:
            self._tallies.pop(event_id, None)

    def _record(self, event_id: str) -> EventRecord:
        t = self._tallies[event_id]
        emb = None
        if t.emb_sum is not None:
            emb = t.emb_sum / max(float(np.linalg.norm(t.emb_sum)), 1e-12)  # [D] unit
        return EventRecord(
            id=event_id, start=t.start, end=t.end, source=self.source,
            dominant_state=_dominant(t.states), dominant_vocalization=_dominant(t.vocalizations),
            max_risk=t.max_risk, embedding=emb,
        )
