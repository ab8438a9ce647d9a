"""The labeling queue: loading it off the GUI thread and how its rows read."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from purrsight_app.labels import LabelState, QueueItem, label_queue, resolve_clip_path
from purrsight_app.labels.queries import QueueMode
from purrsight_app.ui.labeling.fields import TITLES
from purrsight_model.schema import UNKNOWN

THUMB = QSize(64, 40)
THUMB_SMALL = QSize(44, 30)
UNSURE_MARGIN = 0.2
"""A clip whose mean margin is below this is marked "unsure" (suggested for labeling)."""


@dataclass
class QueueData:
    items: list[QueueItem] = field(default_factory=list)
    thumbs: dict[str, QImage] = field(default_factory=dict)


def load_queue(reader: Callable[[], sqlite3.Connection | None], mode: QueueMode,
               data_dir: Path, limit: int = 300) -> QueueData:
    """Worker thread: the queue rows and their thumbnails (QImage is safe off the GUI
    thread, QPixmap is not)."""
    conn = reader()
    if conn is None:
        return QueueData()
    try:
        items = label_queue(conn, mode, limit)
    finally:
        conn.close()
    thumbs = {}
    for item in items:
        if item.clip.thumbnail_path:
            img = QImage(str(resolve_clip_path(item.clip.thumbnail_path, data_dir)))
            if not img.isNull():
                thumbs[item.clip.id] = img.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                                  Qt.TransformationMode.SmoothTransformation)
    return QueueData(items, thumbs)


def prediction_text(item: QueueItem) -> str:
    pred = item.clip.prediction or {}
    state = pred.get("affective_state")
    if not state or state == UNKNOWN:
        return "no prediction"
    conf = float(pred.get("affective_state_conf") or 0.0)
    unsure = item.clip.uncertainty is not None and item.clip.uncertainty < UNSURE_MARGIN
    return f"model: {state} {conf:.0%}" + (" · unsure" if unsure else "")


def row_text(item: QueueItem, state: LabelState | None, compact: bool = False) -> str:
    """Two short lines: when/how long, then the label (or the model's guess)."""
    clip = item.clip
    if compact:  # narrow screens: time and a mark only (details are beside the player)
        mark = "✓" if state is not None else ("?" if item.clip.uncertainty is not None
                                              and item.clip.uncertainty < UNSURE_MARGIN else "")
        return time.strftime("%H:%M", time.localtime(clip.ts)) + f"\n{clip.duration or 0:.0f} s {mark}"
    when = time.strftime("%d %b %H:%M", time.localtime(clip.ts))
    head = f"{when} · {clip.duration or 0:.0f} s"
    if state is not None:
        known = state.known()
        mood = known.get("affective_state", "")
        extra = len(known) - (1 if mood else 0)
        return f"{head}\n✓ {mood or TITLES['affective_state'].lower() + ' ?'}" + (
            f" +{extra}" if extra else "")
    return f"{head}\n{prediction_text(item)}"


class QueueList(QListWidget):
    """Clip rows with thumbnails; never takes keyboard focus (shortcuts go to the panel)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setIconSize(THUMB)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWordWrap(True)
        self.compact = False

    def set_compact(self, compact: bool) -> None:
        """Small thumbnails and time-only rows (800x480 screens)."""
        self.compact = compact
        self.setIconSize(THUMB_SMALL if compact else THUMB)

    def fill(self, data: QueueData, states: Callable[[str], LabelState | None]) -> None:
        self.clear()
        for item in data.items:
            state = states(item.clip.id)
            row = QListWidgetItem(row_text(item, state, self.compact))
            row.setToolTip(row_text(item, state))
            img = data.thumbs.get(item.clip.id)
            if img is not None:
                row.setIcon(QIcon(QPixmap.fromImage(img)))
            row.setSizeHint(QSize(0, 52))
            self.addItem(row)

    def update_row(self, index: int, item: QueueItem, state: LabelState | None) -> None:
        row = self.item(index)
        if row is not None:
            row.setText(row_text(item, state, self.compact))
            row.setToolTip(row_text(item, state))
