"""LabelService: save, edit and undo the owner's labels through the single store writer.

Every save is queued on the writer at once (committed within its latency, ~0.25 s), so a
crash loses at most the label being typed, and every save also appends to ``label_history``
(the writer's LabelRecord handler does both in one transaction). Undo restores what the clip
had before the last save; when it had no label, a ``ClearLabel`` task removes the label
(and records the clearing in the history as ``{}``). The service remembers the label state
of the clips it has seen (the panel hands it the labels it loaded), so undo never needs a
database read on the GUI thread.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from purrsight_app.storage import LabelRecord, LabelRow
from purrsight_model.schema import LABEL_FIELDS, MAX_TEXT_CHARS, UNKNOWN, validate_labels

MAX_UNDO = 100


class Putter(Protocol):
    """The part of ``StoreWriter`` the service uses."""

    def put(self, item: object) -> None: ...


@dataclass(frozen=True)
class LabelState:
    """One version of a clip's label: a value per schema field plus the description."""

    values: dict[str, str]
    description: str = ""

    @classmethod
    def from_row(cls, row: LabelRow | None) -> LabelState | None:
        if row is None or not row.values:
            return None
        return cls(normalise(row.values), row.description or "")

    def known(self) -> dict[str, str]:
        """Only the fields that are not ``unknown``."""
        return {k: v for k, v in self.values.items() if v != UNKNOWN}


def normalise(values: Mapping[str, Any]) -> dict[str, str]:
    """Schema-checked values for every label field (missing -> unknown); raises ValueError."""
    clean = {k: v for k, v in values.items() if k != "description"}
    checked = validate_labels(clean)
    return {f: checked[f] for f in LABEL_FIELDS}


@dataclass(frozen=True)
class ClearLabel:
    """Writer task: remove a clip's label (undo of its first label), keeping history."""

    clip_id: str
    updated_at: float = field(default_factory=time.time)

    def run(self, conn: sqlite3.Connection) -> bool:
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute("DELETE FROM labels WHERE clip_id = ?", (self.clip_id,))
            conn.execute("UPDATE clips SET labeled = 0 WHERE id = ?", (self.clip_id,))
            conn.execute(
                "INSERT INTO label_history (clip_id, values_json, description, updated_at) "
                "VALUES (?, ?, '', ?)", (self.clip_id, json.dumps({}), self.updated_at))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return cur.rowcount > 0


@dataclass(frozen=True)
class _Undo:
    clip_id: str
    before: LabelState | None


class LabelService:
    """See module docstring. ``writer`` may be swapped in later (the store opens async)."""

    def __init__(self, writer: Putter | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.writer = writer
        self._clock = clock
        self._known: dict[str, LabelState | None] = {}
        self._undo: list[_Undo] = []

    def remember(self, clip_id: str, row: LabelRow | LabelState | None) -> None:
        """Tell the service what a clip's label is now (as loaded from the store)."""
        state = row if isinstance(row, LabelState) or row is None else LabelState.from_row(row)
        self._known.setdefault(clip_id, state)

    def current(self, clip_id: str) -> LabelState | None:
        return self._known.get(clip_id)

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    def save(self, clip_id: str, values: Mapping[str, Any], description: str = "") -> LabelState:
        """Validate and queue a label; raises ValueError for a value outside the schema and
        RuntimeError when the store is not open."""
        state = LabelState(normalise(values), description.strip()[:MAX_TEXT_CHARS])
        self._put(LabelRecord(clip_id, state.values, state.description, self._clock()))
        self._undo.append(_Undo(clip_id, self._known.get(clip_id)))
        del self._undo[:-MAX_UNDO]
        self._known[clip_id] = state
        return state

    def undo(self) -> tuple[str, LabelState | None] | None:
        """Revert the last save; returns (clip id, restored state) or None if nothing to undo."""
        if not self._undo:
            return None
        last = self._undo[-1]
        if last.before is None:
            self._put(ClearLabel(last.clip_id, self._clock()))
        else:
            self._put(LabelRecord(last.clip_id, last.before.values, last.before.description,
                                  self._clock()))
        self._undo.pop()
        self._known[last.clip_id] = last.before
        return last.clip_id, last.before

    def _put(self, item: object) -> None:
        if self.writer is None:
            raise RuntimeError("the history database is not open; labels cannot be saved")
        self.writer.put(item)
