"""Reads the labeling and fine-tuning panels need (run on a worker thread, own connection)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Literal

from purrsight_app.labels.splits import SplitConfig, assign_splits
from purrsight_app.labels.summary import LabelSummary, SummaryConfig, summarise
from purrsight_app.storage import ClipRow, LabelRow, clips_to_label, get_label, labeled_clips

QueueMode = Literal["todo", "done"]


@dataclass(frozen=True)
class QueueItem:
    clip: ClipRow
    label: LabelRow | None


def label_queue(conn: sqlite3.Connection, mode: QueueMode = "todo",
                limit: int = 200) -> list[QueueItem]:
    """"todo": unlabelled clips, most uncertain first; "done": labelled ones, newest first."""
    if mode == "todo":
        return [QueueItem(c, None) for c in clips_to_label(conn, limit=limit)]
    pairs = labeled_clips(conn)[::-1][:limit]
    return [QueueItem(c, lab) for c, lab in pairs]


def refresh_item(conn: sqlite3.Connection, item: QueueItem) -> QueueItem:
    """The item with its label as stored now."""
    return QueueItem(item.clip, get_label(conn, item.clip.id))


def dataset_summary(conn: sqlite3.Connection, split_config: SplitConfig | None = None,
                    config: SummaryConfig | None = None) -> LabelSummary:
    """Counts per class, held-out size and warnings for the labelled clips."""
    n_clips = conn.execute("SELECT COUNT(*) FROM clips").fetchone()[0]
    pairs = labeled_clips(conn)
    labels = [lab.values for _, lab in pairs]
    splits = assign_splits([c.id for c, _ in pairs], split_config)
    return summarise(n_clips, labels, splits, config)


def clip_sources(conn: sqlite3.Connection) -> set[str]:
    """Every clip's ``source`` (imports record the original file there, for de-duplication)."""
    return {r[0] for r in conn.execute("SELECT DISTINCT source FROM clips") if r[0]}
